import { describe, expect, it } from 'vitest';
import { WireError } from './error.js';
import { hexBytes } from './hex.js';
import { IPV4_HEADER_LEN, IpProtocol, Ipv4Packet, Ipv4Repr } from './ipv4.js';

// A TCP SYN's IP datagram captured from Linux; TCP part follows the header.
const PACKET_BYTES = hexBytes(`
  45 00 00 3c b1 bd 40 00 40 06 04 fb c0 00 02 01 c0 00 02 02
  af d6 1f 90 6e 0c 5d ad 00 00 00 00 a0 02 fa f0 57 4f 00 00
  02 04 05 b4 04 02 08 0a f4 3f e2 58 00 00 00 00 01 03 03 0a`);
const PAYLOAD_BYTES = PACKET_BYTES.subarray(20);
const REPR: Ipv4Repr = {
  srcAddr: 0xc0000201,
  dstAddr: 0xc0000202,
  protocol: IpProtocol.Tcp,
  payloadLen: 40,
  hopLimit: 64,
  dscp: 0,
  ecn: 0,
  ident: 0xb1bd,
  dontFrag: true,
  moreFrags: false,
  fragOffset: 0,
  options: new Uint8Array(0),
};

// The same header with a 4-byte option (Router Alert, RFC 2113) and a fragment offset.
const OPTIONS_BYTES = hexBytes(`
  46 00 00 1c 12 34 20 b9 01 11 00 00 0a 00 00 01 0a 00 00 02
  94 04 00 00
  de ad be ef`);

describe('IPv4', () => {
  it('deconstruct', () => {
    const p = Ipv4Packet.checked(PACKET_BYTES) as Ipv4Packet;
    expect(p.version).toBe(4);
    expect(p.headerLen).toBe(20);
    expect(p.dscp).toBe(0);
    expect(p.ecn).toBe(0);
    expect(p.totalLen).toBe(60);
    expect(p.ident).toBe(0xb1bd);
    expect(p.dontFrag).toBe(true);
    expect(p.moreFrags).toBe(false);
    expect(p.fragOffset).toBe(0);
    expect(p.hopLimit).toBe(64);
    expect(p.protocol).toBe(6);
    expect(p.checksum).toBe(0x04fb);
    expect(p.srcAddr).toBe(0xc0000201);
    expect(p.dstAddr).toBe(0xc0000202);
    expect(p.verifyChecksum()).toBe(true);
    expect(p.payload()).toEqual(PAYLOAD_BYTES);
  });

  it('construct', () => {
    const buf = new Uint8Array(PACKET_BYTES.length).fill(0xa5);
    const p = Ipv4Packet.unchecked(buf);
    p.setVersionAndHeaderLen(20);
    p.setDscpEcn(0, 0);
    p.totalLen = 60;
    p.ident = 0xb1bd;
    p.setFragment(true, false, 0);
    p.hopLimit = 64;
    p.protocol = 6;
    p.srcAddr = 0xc0000201;
    p.dstAddr = 0xc0000202;
    p.fillChecksum();
    buf.set(PAYLOAD_BYTES, p.payloadOffset);
    expect(buf).toEqual(PACKET_BYTES);
  });

  it('parse', () => {
    expect(Ipv4Repr.parse(Ipv4Packet.checked(PACKET_BYTES) as Ipv4Packet)).toEqual(REPR);
  });

  it('emit', () => {
    const buf = new Uint8Array(IPV4_HEADER_LEN);
    Ipv4Repr.emit(REPR, Ipv4Packet.unchecked(buf));
    expect(buf).toEqual(PACKET_BYTES.subarray(0, 20));
  });

  it('parse and emit with options and fragment fields', () => {
    const p = Ipv4Packet.checked(OPTIONS_BYTES) as Ipv4Packet;
    p.fillChecksum();
    const r = Ipv4Repr.parse(p) as Ipv4Repr;
    expect(r).toMatchObject({ moreFrags: true, dontFrag: false, fragOffset: 0xb9 * 8, payloadLen: 4, hopLimit: 1, protocol: 17 });
    expect(Array.from(r.options)).toEqual([0x94, 0x04, 0x00, 0x00]);
    expect(Ipv4Repr.isFragment(r)).toBe(true);
    expect(Ipv4Repr.isFragment(REPR)).toBe(false);
    const out = new Uint8Array(Ipv4Repr.bufferLen(r));
    Ipv4Repr.emit(r, Ipv4Packet.unchecked(out));
    expect(out).toEqual(OPTIONS_BYTES.subarray(0, 24));
  });

  it('emit pads options to a word with End-of-List and cuts them at 40 bytes', () => {
    const r = { ...REPR, options: new Uint8Array([1, 1, 1, 1, 1]) };
    expect(Ipv4Repr.bufferLen(r)).toBe(28);
    const out = new Uint8Array(28).fill(0xee);
    Ipv4Repr.emit(r, Ipv4Packet.unchecked(out));
    expect(Array.from(out.subarray(20))).toEqual([1, 1, 1, 1, 1, 0, 0, 0]);
    expect(Ipv4Repr.bufferLen({ ...REPR, options: new Uint8Array(44) })).toBe(60);
  });

  it('truncated', () => {
    expect(Ipv4Packet.checked(PACKET_BYTES.subarray(0, 19))).toBe(WireError.Truncated);
    expect(Ipv4Packet.checked(PACKET_BYTES.subarray(0, 59))).toBe(WireError.Truncated);
    expect(Ipv4Packet.checked(OPTIONS_BYTES.subarray(0, 22))).toBe(WireError.Truncated);
  });

  it('impossible lengths: IHL < 5, Total Length < header are malformed', () => {
    const ihl = PACKET_BYTES.slice();
    ihl[0] = 0x44;
    expect(Ipv4Packet.checked(ihl)).toBe(WireError.Malformed);
    const tl = PACKET_BYTES.slice();
    tl[2] = 0;
    tl[3] = 19;
    expect(Ipv4Packet.checked(tl)).toBe(WireError.Malformed);
  });

  it('ignores Ethernet padding past Total Length', () => {
    const padded = new Uint8Array(80);
    padded.set(PACKET_BYTES);
    const p = Ipv4Packet.checked(padded) as Ipv4Packet;
    expect(p.payloadLen).toBe(40);
    expect(p.payload().length).toBe(40);
  });

  it('refuses another version and a bad checksum, unless checksum checking is off', () => {
    const v6 = PACKET_BYTES.slice();
    v6[0] = 0x65;
    expect(Ipv4Repr.parse(Ipv4Packet.checked(v6) as Ipv4Packet)).toBe(WireError.Malformed);
    const bad = PACKET_BYTES.slice();
    bad[11] = bad[11]! ^ 1;
    expect(Ipv4Repr.parse(Ipv4Packet.checked(bad) as Ipv4Packet)).toBe(WireError.BadChecksum);
    expect(Ipv4Repr.parse(Ipv4Packet.checked(bad) as Ipv4Packet, false)).toMatchObject({ protocol: 6 });
  });
});
