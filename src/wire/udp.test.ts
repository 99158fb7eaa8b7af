import { describe, expect, it } from 'vitest';
import { WireError } from './error.js';
import { hexBytes } from './hex.js';
import { UDP_HEADER_LEN, UdpPacket, UdpRepr } from './udp.js';

const SRC = 0xc0000201;
const DST = 0xc0000202;
// `echo udpdata | nc -u -p 5000 192.0.2.2 9999`, captured from Linux, IP header removed.
const PACKET_BYTES = hexBytes('13 88 27 0f 00 10 98 eb  75 64 70 64 61 74 61 0a');
const PAYLOAD_BYTES = PACKET_BYTES.subarray(8);
const REPR: UdpRepr = { srcPort: 5000, dstPort: 9999, payload: PAYLOAD_BYTES };

describe('UDP', () => {
  it('deconstruct', () => {
    const p = UdpPacket.checked(PACKET_BYTES) as UdpPacket;
    expect([p.srcPort, p.dstPort, p.lengthField, p.checksum]).toEqual([5000, 9999, 16, 0x98eb]);
    expect(p.payload()).toEqual(PAYLOAD_BYTES);
    expect(p.verifyChecksum(SRC, DST)).toBe(true);
    expect(p.verifyChecksum(SRC, DST + 1)).toBe(false);
  });

  it('construct', () => {
    const buf = new Uint8Array(PACKET_BYTES.length).fill(0xa5);
    const p = UdpPacket.unchecked(buf);
    p.srcPort = 5000;
    p.dstPort = 9999;
    p.lengthField = 16;
    buf.set(PAYLOAD_BYTES, p.payloadOffset);
    p.fillChecksum(SRC, DST);
    expect(buf).toEqual(PACKET_BYTES);
  });

  it('parse', () => {
    expect(UdpRepr.parse(UdpPacket.checked(PACKET_BYTES) as UdpPacket, SRC, DST)).toEqual(REPR);
  });

  it('emit', () => {
    const buf = new Uint8Array(UdpRepr.bufferLen(REPR));
    UdpRepr.emit(REPR, UdpPacket.unchecked(buf), SRC, DST);
    expect(buf).toEqual(PACKET_BYTES);
  });

  it('a zero checksum means none; a computed zero is sent as 0xffff (RFC 768)', () => {
    const b = PACKET_BYTES.slice();
    b[6] = 0;
    b[7] = 0;
    expect(UdpRepr.parse(UdpPacket.checked(b) as UdpPacket, SRC, DST)).toEqual(REPR);
    // Choose a payload word that makes the one's-complement sum all ones, so the checksum computes to 0.
    const z = new Uint8Array(10);
    const p = UdpPacket.unchecked(z);
    p.srcPort = 1;
    p.dstPort = 2;
    p.lengthField = 10;
    p.fillChecksum(0, 0);
    const need = p.checksum; // the word that, added, completes the sum to 0xffff
    z[8] = need >>> 8;
    z[9] = need & 0xff;
    p.fillChecksum(0, 0);
    expect(p.checksum).toBe(0xffff);
    expect(p.verifyChecksum(0, 0)).toBe(true);
  });

  it('truncated', () => {
    expect(UdpPacket.checked(PACKET_BYTES.subarray(0, 7))).toBe(WireError.Truncated);
    expect(UdpPacket.checked(PACKET_BYTES.subarray(0, 15))).toBe(WireError.Truncated);
  });

  it('impossible lengths: a Length field below the header is malformed; trailing bytes are ignored', () => {
    const b = PACKET_BYTES.slice();
    b[5] = UDP_HEADER_LEN - 1;
    expect(UdpPacket.checked(b)).toBe(WireError.Malformed);
    const long = new Uint8Array(20);
    long.set(PACKET_BYTES);
    expect((UdpPacket.checked(long) as UdpPacket).payloadLen).toBe(8);
  });

  it('destination port 0 and a bad checksum are refused', () => {
    const b = PACKET_BYTES.slice();
    b[2] = 0;
    b[3] = 0;
    expect(UdpRepr.parse(UdpPacket.checked(b) as UdpPacket, SRC, DST, false)).toBe(WireError.Malformed);
    const c = PACKET_BYTES.slice();
    c[15] = c[15]! ^ 1;
    expect(UdpRepr.parse(UdpPacket.checked(c) as UdpPacket, SRC, DST)).toBe(WireError.BadChecksum);
  });
});
