import { describe, expect, it } from 'vitest';
import { ARP_ETHERNET_IPV4_LEN, ArpOperation, ArpPacket, ArpRepr } from './arp.js';
import { WireError } from './error.js';
import { hexBytes } from './hex.js';

// "Who has 192.0.2.2? Tell 192.0.2.1", captured from Linux (Ethernet header removed).
const PACKET_BYTES = hexBytes(`
  00 01 08 00 06 04 00 01
  02 00 00 00 00 01 c0 00 02 01
  00 00 00 00 00 00 c0 00 02 02`);
const REPR: ArpRepr = {
  operation: ArpOperation.Request,
  senderHardwareAddr: 0x020000000001,
  senderProtocolAddr: 0xc0000201,
  targetHardwareAddr: 0,
  targetProtocolAddr: 0xc0000202,
};

describe('ARP', () => {
  it('deconstruct', () => {
    const p = ArpPacket.checked(PACKET_BYTES) as ArpPacket;
    expect([p.hardwareType, p.protocolType, p.hardwareLen, p.protocolLen, p.operation]).toEqual([1, 0x0800, 6, 4, 1]);
    expect(p.senderHardwareAddr).toBe(0x020000000001);
    expect(p.senderProtocolAddr).toBe(0xc0000201);
    expect(p.targetHardwareAddr).toBe(0);
    expect(p.targetProtocolAddr).toBe(0xc0000202);
  });

  it('construct', () => {
    const buf = new Uint8Array(ARP_ETHERNET_IPV4_LEN).fill(0xa5);
    const p = ArpPacket.unchecked(buf);
    p.hardwareType = 1;
    p.protocolType = 0x0800;
    p.hardwareLen = 6;
    p.protocolLen = 4;
    p.operation = 1;
    p.senderHardwareAddr = 0x020000000001;
    p.senderProtocolAddr = 0xc0000201;
    p.targetHardwareAddr = 0;
    p.targetProtocolAddr = 0xc0000202;
    expect(buf).toEqual(PACKET_BYTES);
  });

  it('parse', () => {
    expect(ArpRepr.parse(ArpPacket.checked(PACKET_BYTES) as ArpPacket)).toEqual(REPR);
  });

  it('emit', () => {
    const buf = new Uint8Array(ArpRepr.bufferLen());
    ArpRepr.emit(REPR, ArpPacket.unchecked(buf));
    expect(buf).toEqual(PACKET_BYTES);
  });

  it('truncated', () => {
    expect(ArpPacket.checked(PACKET_BYTES.subarray(0, 7))).toBe(WireError.Truncated);
    expect(ArpPacket.checked(PACKET_BYTES.subarray(0, 27))).toBe(WireError.Truncated);
  });

  it('impossible lengths: address sizes that run past the packet are truncated, odd pairs unsupported', () => {
    const big = PACKET_BYTES.slice();
    big[4] = 255;
    expect(ArpPacket.checked(big)).toBe(WireError.Truncated);
    const odd = new Uint8Array(8 + 2 * (8 + 16));
    odd.set([0, 6, 0x86, 0xdd, 8, 16, 0, 1]);
    const p = ArpPacket.checked(odd) as ArpPacket;
    expect(p.targetProtocolOffset).toBe(8 + 8 + 16 + 8);
    expect(ArpRepr.parse(p)).toBe(WireError.Unsupported);
  });

  it('keeps an unknown operation as a value', () => {
    const b = PACKET_BYTES.slice();
    b[7] = 9;
    expect(ArpRepr.parse(ArpPacket.checked(b) as ArpPacket)).toMatchObject({ operation: 9 });
  });
});
