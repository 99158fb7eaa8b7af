import { describe, expect, it } from 'vitest';
import { WireError, isWireError } from './error.js';
import { ETHERNET_HEADER_LEN, EtherType, EthernetFrame, EthernetRepr, etherTypeName } from './ethernet.js';
import { hexBytes } from './hex.js';

// An ICMP echo request frame captured from Linux (veth, 192.0.2.1 → 192.0.2.2).
const FRAME_BYTES = hexBytes(`
  02 00 00 00 00 02  02 00 00 00 00 01  08 00
  45 00 00 28 bc 80 40 00 40 01 fa 50 c0 00 02 01 c0 00 02 02
  08 00 b0 06 29 d4 00 01 00 01 02 03 04 05 06 07 08 09 0a 0b`);
const PAYLOAD_BYTES = FRAME_BYTES.subarray(14);
const REPR: EthernetRepr = { dstAddr: 0x020000000002, srcAddr: 0x020000000001, ethertype: EtherType.Ipv4 };

describe('Ethernet II', () => {
  it('deconstruct', () => {
    const f = EthernetFrame.checked(FRAME_BYTES) as EthernetFrame;
    expect(f.dstAddr).toBe(0x020000000002);
    expect(f.srcAddr).toBe(0x020000000001);
    expect(f.ethertype).toBe(0x0800);
    expect(f.payload()).toEqual(PAYLOAD_BYTES);
    expect(f.payloadOffset).toBe(14);
    expect(f.payloadLen).toBe(PAYLOAD_BYTES.length);
  });

  it('construct', () => {
    const buf = new Uint8Array(FRAME_BYTES.length).fill(0xa5);
    const f = EthernetFrame.unchecked(buf);
    f.dstAddr = 0x020000000002;
    f.srcAddr = 0x020000000001;
    f.ethertype = EtherType.Ipv4;
    buf.set(PAYLOAD_BYTES, f.payloadOffset);
    expect(buf).toEqual(FRAME_BYTES);
  });

  it('parse', () => {
    expect(EthernetRepr.parse(EthernetFrame.checked(FRAME_BYTES) as EthernetFrame)).toEqual(REPR);
  });

  it('emit', () => {
    const buf = new Uint8Array(EthernetRepr.bufferLen());
    EthernetRepr.emit(REPR, EthernetFrame.unchecked(buf));
    expect(buf).toEqual(FRAME_BYTES.subarray(0, ETHERNET_HEADER_LEN));
  });

  it('truncated', () => {
    expect(EthernetFrame.checked(FRAME_BYTES.subarray(0, 13))).toBe(WireError.Truncated);
    expect(EthernetFrame.checked(new Uint8Array(0))).toBe(WireError.Truncated);
    expect(isWireError(EthernetFrame.checked(FRAME_BYTES.subarray(0, 14)))).toBe(false);
  });

  it('impossible lengths: reset clamps a window past the buffer instead of reading out of it', () => {
    const f = new EthernetFrame().reset(FRAME_BYTES, 41, 1000);
    expect(f.length).toBe(FRAME_BYTES.length - 41);
    expect(f.check()).toBe(WireError.Truncated);
    expect(new EthernetFrame().reset(FRAME_BYTES, 10_000).length).toBe(0);
    expect(new EthernetFrame().reset(FRAME_BYTES, -5, 3).offset).toBe(0);
  });

  it('re-pointing one view at another frame reads the new frame', () => {
    const f = new EthernetFrame().reset(FRAME_BYTES);
    const other = new Uint8Array(20);
    other[14] = 0x08;
    other[15] = 0x06;
    f.reset(other, 2, 16);
    expect(f.ethertype).toBe(EtherType.Arp);
    expect(f.offset).toBe(2);
    expect(f.payloadLen).toBe(2);
  });

  it('names known EtherTypes and prints unknown ones as numbers', () => {
    expect(etherTypeName(0x0806)).toBe('Arp');
    expect(etherTypeName(0x88cc)).toBe('0x88cc');
  });
});
