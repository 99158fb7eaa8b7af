import { describe, expect, it } from 'vitest';
import { WireError } from './error.js';
import { hexBytes } from './hex.js';
import { Icmpv4Packet, Icmpv4Repr, Icmpv4Type, Icmpv4Unreachable } from './icmpv4.js';

// Echo request (ping -s 12) captured from Linux, IP header removed.
const ECHO_BYTES = hexBytes('08 00 b0 06 29 d4 00 01  00 01 02 03 04 05 06 07 08 09 0a 0b');
const ECHO_DATA = ECHO_BYTES.subarray(8);
const ECHO_REPR: Icmpv4Repr = { kind: 'echo-request', ident: 0x29d4, seqNo: 1, data: ECHO_DATA };
// Linux's port unreachable for a UDP datagram to a closed port: quotes the whole datagram.
const UNREACH_BYTES = hexBytes(`
  03 03 81 22 00 00 00 00
  45 00 00 24 60 80 40 00 40 11 56 45 c0 00 02 01 c0 00 02 02
  13 88 27 0f 00 10 98 eb 75 64 70 64 61 74 61 0a`);

describe('ICMPv4', () => {
  it('deconstruct', () => {
    const p = Icmpv4Packet.checked(ECHO_BYTES) as Icmpv4Packet;
    expect(p.msgType).toBe(Icmpv4Type.EchoRequest);
    expect(p.code).toBe(0);
    expect(p.checksum).toBe(0xb006);
    expect(p.echoIdent).toBe(0x29d4);
    expect(p.echoSeqNo).toBe(1);
    expect(p.data()).toEqual(ECHO_DATA);
    expect(p.verifyChecksum()).toBe(true);
  });

  it('construct', () => {
    const buf = new Uint8Array(ECHO_BYTES.length).fill(0xa5);
    const p = Icmpv4Packet.unchecked(buf);
    p.msgType = 8;
    p.code = 0;
    p.restOfHeader = 0x29d40001;
    buf.set(ECHO_DATA, p.dataOffset);
    p.fillChecksum();
    expect(buf).toEqual(ECHO_BYTES);
  });

  it('parse', () => {
    expect(Icmpv4Repr.parse(Icmpv4Packet.checked(ECHO_BYTES) as Icmpv4Packet)).toEqual(ECHO_REPR);
    const u = Icmpv4Repr.parse(Icmpv4Packet.checked(UNREACH_BYTES) as Icmpv4Packet);
    expect(u).toEqual({ kind: 'dst-unreachable', code: Icmpv4Unreachable.PortUnreachable, nextHopMtu: 0, quoted: UNREACH_BYTES.subarray(8) });
  });

  it('emit: echo reply as the kernel answers a ping, and port unreachable as Linux sent it', () => {
    const reply: Icmpv4Repr = { ...ECHO_REPR, kind: 'echo-reply' };
    const buf = new Uint8Array(Icmpv4Repr.bufferLen(reply));
    Icmpv4Repr.emit(reply, Icmpv4Packet.unchecked(buf));
    // Linux's reply to the same request (captured).
    expect(buf).toEqual(hexBytes('00 00 b8 06 29 d4 00 01  00 01 02 03 04 05 06 07 08 09 0a 0b'));
    const unreach: Icmpv4Repr = { kind: 'dst-unreachable', code: 3, nextHopMtu: 0, quoted: UNREACH_BYTES.subarray(8) };
    const out = new Uint8Array(Icmpv4Repr.bufferLen(unreach));
    Icmpv4Repr.emit(unreach, Icmpv4Packet.unchecked(out));
    expect(out).toEqual(UNREACH_BYTES);
  });

  it('fragmentation needed carries the next-hop MTU (RFC 1191)', () => {
    const r: Icmpv4Repr = { kind: 'dst-unreachable', code: Icmpv4Unreachable.FragRequired, nextHopMtu: 1400, quoted: UNREACH_BYTES.subarray(8) };
    const b = new Uint8Array(Icmpv4Repr.bufferLen(r));
    Icmpv4Repr.emit(r, Icmpv4Packet.unchecked(b));
    expect(Icmpv4Repr.parse(Icmpv4Packet.checked(b) as Icmpv4Packet)).toEqual(r);
  });

  it('time exceeded and unknown types round-trip as values', () => {
    for (const r of [
      { kind: 'time-exceeded', code: 0, quoted: UNREACH_BYTES.subarray(8, 36) },
      { kind: 'other', msgType: 13, code: 0, restOfHeader: 0x12345678, data: new Uint8Array([1, 2, 3]) },
    ] as Icmpv4Repr[]) {
      const b = new Uint8Array(Icmpv4Repr.bufferLen(r));
      Icmpv4Repr.emit(r, Icmpv4Packet.unchecked(b));
      expect(Icmpv4Repr.parse(Icmpv4Packet.checked(b) as Icmpv4Packet)).toEqual(r);
    }
  });

  it('truncated', () => {
    expect(Icmpv4Packet.checked(ECHO_BYTES.subarray(0, 7))).toBe(WireError.Truncated);
    // An error quoting less than an IP header + 8 bytes (RFC 792).
    const short = UNREACH_BYTES.slice(0, 8 + 27);
    (Icmpv4Packet.unchecked(short) as Icmpv4Packet).fillChecksum();
    expect(Icmpv4Repr.parse(Icmpv4Packet.checked(short) as Icmpv4Packet)).toBe(WireError.Truncated);
  });

  it('impossible lengths: a quoted header with IHL < 5 or past the quote', () => {
    for (const [ihl, err] of [
      [0x44, WireError.Malformed],
      [0x4f, WireError.Truncated],
      [0x55, WireError.Malformed],
    ] as const) {
      const b = UNREACH_BYTES.slice();
      b[8] = ihl;
      Icmpv4Packet.unchecked(b).fillChecksum();
      expect(Icmpv4Repr.parse(Icmpv4Packet.checked(b) as Icmpv4Packet)).toBe(err);
    }
  });

  it('a bad checksum is refused unless checking is off', () => {
    const b = ECHO_BYTES.slice();
    b[19] = b[19]! ^ 0xff;
    expect(Icmpv4Repr.parse(Icmpv4Packet.checked(b) as Icmpv4Packet)).toBe(WireError.BadChecksum);
    expect(Icmpv4Repr.parse(Icmpv4Packet.checked(b) as Icmpv4Packet, false)).toMatchObject({ kind: 'echo-request' });
  });
});
