import { describe, expect, it } from 'vitest';
import { partialSum } from './checksum.js';
import { WireError } from './error.js';
import { hexBytes } from './hex.js';
import { TCP_HEADER_LEN, TcpFlag, TcpPacket, TcpRepr, emitTcpOptions, parseTcpOptions, tcpOptionsLen } from './tcp.js';

const CLIENT = 0xc0000201;
const SERVER = 0xc0000202;

// A Linux SYN (curl-like client), IP header removed: MSS, SACK-permitted, timestamps, window scale.
const SYN_BYTES = hexBytes(`
  af d6 1f 90 6e 0c 5d ad 00 00 00 00 a0 02 fa f0 57 4f 00 00
  02 04 05 b4  04 02 08 0a f4 3f e2 58 00 00 00 00  01 03 03 0a`);
const SYN_REPR: TcpRepr = {
  ...TcpRepr.create(),
  srcPort: 45014,
  dstPort: 8080,
  control: 'syn',
  seqNumber: 0x6e0c5dad,
  windowLen: 64240,
  maxSegSize: 1460,
  windowScale: 10,
  sackPermitted: true,
  timestamp: { tsVal: 0xf43fe258, tsEcr: 0 },
};
// The client's request segment: PSH|ACK, NOP NOP timestamps, 6 bytes of data.
const DATA_BYTES = hexBytes(`
  af d6 1f 90 6e 0c 5d ae 2d bc f1 8e 80 18 00 3f b4 5b 00 00
  01 01 08 0a f4 3f e2 58 eb 2b f7 6f
  47 45 54 20 2f 0a`);
const DATA_PAYLOAD = DATA_BYTES.subarray(32);
const DATA_REPR: TcpRepr = {
  ...TcpRepr.create(),
  srcPort: 45014,
  dstPort: 8080,
  push: true,
  seqNumber: 0x6e0c5dae,
  ackNumber: 0x2dbcf18e,
  windowLen: 63,
  timestamp: { tsVal: 0xf43fe258, tsEcr: 0xeb2bf76f },
  payload: DATA_PAYLOAD,
};

/** A 20-byte header plus `opts` (padded to 4 by the caller), valid checksum. */
function withOptions(opts: number[], flags: number = TcpFlag.Ack): Uint8Array {
  const b = new Uint8Array(TCP_HEADER_LEN + opts.length);
  const p = TcpPacket.unchecked(b);
  p.srcPort = 1000;
  p.dstPort = 80;
  p.headerLen = b.length;
  p.flags = flags;
  b.set(opts, TCP_HEADER_LEN);
  p.fillChecksum(CLIENT, SERVER);
  return b;
}

function parseOk(b: Uint8Array): TcpRepr {
  const r = TcpRepr.parse(TcpPacket.checked(b) as TcpPacket, CLIENT, SERVER);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

describe('TCP header', () => {
  it('deconstruct', () => {
    const p = TcpPacket.checked(SYN_BYTES) as TcpPacket;
    expect([p.srcPort, p.dstPort, p.seqNumber, p.ackNumber, p.headerLen]).toEqual([45014, 8080, 0x6e0c5dad, 0, 40]);
    expect([p.syn, p.ack, p.fin, p.rst, p.psh, p.urg]).toEqual([true, false, false, false, false, false]);
    expect([p.windowLen, p.checksum, p.urgentPointer]).toEqual([64240, 0x574f, 0]);
    expect([p.optionsOffset, p.optionsLen, p.payloadLen]).toEqual([20, 20, 0]);
    expect(p.verifyChecksum(CLIENT, SERVER)).toBe(true);
    expect(p.verifyChecksum(SERVER, CLIENT + 1)).toBe(false);
  });

  it('construct', () => {
    const buf = new Uint8Array(DATA_BYTES.length).fill(0xa5);
    const p = TcpPacket.unchecked(buf);
    p.srcPort = 45014;
    p.dstPort = 8080;
    p.seqNumber = 0x6e0c5dae;
    p.ackNumber = 0x2dbcf18e;
    p.headerLen = 32;
    p.flags = TcpFlag.Psh | TcpFlag.Ack;
    p.windowLen = 63;
    p.urgentPointer = 0;
    buf.set([1, 1, 8, 10, 0xf4, 0x3f, 0xe2, 0x58, 0xeb, 0x2b, 0xf7, 0x6f], p.optionsOffset);
    buf.set(DATA_PAYLOAD, p.payloadOffset);
    p.fillChecksum(CLIENT, SERVER);
    expect(buf).toEqual(DATA_BYTES);
  });

  it('parse', () => {
    expect(parseOk(SYN_BYTES)).toEqual(SYN_REPR);
    expect(parseOk(DATA_BYTES)).toEqual(DATA_REPR);
  });

  it('emit: the same bytes Linux put on the wire, option layout included', () => {
    for (const [repr, bytes] of [
      [SYN_REPR, SYN_BYTES],
      [DATA_REPR, DATA_BYTES],
    ] as const) {
      const buf = new Uint8Array(TcpRepr.bufferLen(repr));
      TcpRepr.emit(repr, TcpPacket.unchecked(buf), CLIENT, SERVER);
      expect(buf).toEqual(bytes);
    }
  });

  it('emitHeader with the payload elsewhere and its precomputed partial sum gives the same checksum (gather send)', () => {
    const hdr = new Uint8Array(TcpRepr.headerLen(DATA_REPR));
    TcpRepr.emitHeader(DATA_REPR, TcpPacket.unchecked(hdr), CLIENT, SERVER, DATA_PAYLOAD.length, partialSum(DATA_PAYLOAD, 0, DATA_PAYLOAD.length));
    expect(hdr).toEqual(DATA_BYTES.subarray(0, 32));
  });

  it('parseInto reuses the target record and clears options the new segment lacks', () => {
    const out = TcpRepr.create();
    const p = new TcpPacket();
    expect(TcpRepr.parseInto(p.reset(SYN_BYTES), CLIENT, SERVER, out)).toBeUndefined();
    const ts = out.timestamp;
    expect(TcpRepr.parseInto(p.reset(DATA_BYTES), CLIENT, SERVER, out)).toBeUndefined();
    expect(out.timestamp).toBe(ts);
    expect(out).toEqual(DATA_REPR);
    expect(TcpRepr.parseInto(p.reset(withOptions([])), CLIENT, SERVER, out)).toBeUndefined();
    expect(out).toMatchObject({ timestamp: undefined, maxSegSize: undefined, sackPermitted: false, payload: new Uint8Array(0) });
  });

  it('truncated', () => {
    expect(TcpPacket.checked(SYN_BYTES.subarray(0, 19))).toBe(WireError.Truncated);
    expect(TcpPacket.checked(SYN_BYTES.subarray(0, 39))).toBe(WireError.Truncated);
  });

  it('impossible lengths: a data offset below 5 words is malformed', () => {
    for (const off of [0, 1, 4]) {
      const b = SYN_BYTES.slice();
      b[12] = off << 4;
      expect(TcpPacket.checked(b)).toBe(WireError.Malformed);
    }
  });

  it.each([
    ['SYN+FIN', TcpFlag.Syn | TcpFlag.Fin],
    ['SYN+RST', TcpFlag.Syn | TcpFlag.Rst],
    ['FIN+RST', TcpFlag.Fin | TcpFlag.Rst | TcpFlag.Ack],
  ])('%s is malformed', (_n, flags) => {
    expect(TcpRepr.parse(TcpPacket.checked(withOptions([], flags)) as TcpPacket, CLIENT, SERVER)).toBe(WireError.Malformed);
  });

  it('port 0 is malformed; a bad checksum is refused unless checking is off', () => {
    const z = DATA_BYTES.slice();
    z[0] = 0;
    z[1] = 0;
    expect(TcpRepr.parse(TcpPacket.checked(z) as TcpPacket, CLIENT, SERVER, false)).toBe(WireError.Malformed);
    const c = DATA_BYTES.slice();
    c[37] = c[37]! ^ 0x20;
    expect(TcpRepr.parse(TcpPacket.checked(c) as TcpPacket, CLIENT, SERVER)).toBe(WireError.BadChecksum);
    expect(TcpRepr.parse(TcpPacket.checked(c) as TcpPacket, CLIENT, SERVER, false)).toMatchObject({ push: true });
  });

  it('RST carries its ACK number only with the ACK flag; URG and ECN bits are ignored', () => {
    expect(parseOk(withOptions([], TcpFlag.Rst))).toMatchObject({ control: 'rst', ackNumber: undefined });
    expect(parseOk(withOptions([], TcpFlag.Rst | TcpFlag.Ack))).toMatchObject({ control: 'rst', ackNumber: 0 });
    expect(parseOk(withOptions([], TcpFlag.Urg | TcpFlag.Ece | TcpFlag.Cwr | TcpFlag.Fin))).toMatchObject({ control: 'fin' });
  });
});

describe('TCP options (RFC 9293 MUST-4..7, MUST-64)', () => {
  it('MUST-6: unknown options are skipped by their length', () => {
    const r = parseOk(withOptions([0xfe, 4, 0xaa, 0xbb, 2, 4, 0x02, 0x18]));
    expect(r.maxSegSize).toBe(536);
  });

  it('MUST-7: option length 0 stops parsing instead of looping', () => {
    const r = parseOk(withOptions([2, 4, 5, 0xb4, 0xfe, 0, 3, 3]));
    expect(r.maxSegSize).toBe(1460);
    expect(r.windowScale).toBeUndefined();
  });

  it('MUST-7: option length 1 stops parsing', () => {
    expect(parseOk(withOptions([4, 1, 2, 4, 5, 0xb4, 0, 0]))).toMatchObject({ sackPermitted: false, maxSegSize: undefined });
  });

  it('MUST-7: a length running past the data offset stops parsing', () => {
    expect(parseOk(withOptions([1, 1, 8, 10, 0, 0, 0, 1]))).toMatchObject({ timestamp: undefined });
    expect(parseOk(withOptions([1, 1, 1, 2]))).toMatchObject({ maxSegSize: undefined });
  });

  it('EOL ends the list; bytes after it are not options', () => {
    expect(parseOk(withOptions([0, 2, 4, 5]))).toMatchObject({ maxSegSize: undefined });
  });

  it('MUST-64: options need no alignment', () => {
    const r = parseOk(withOptions([1, 3, 3, 7, 2, 4, 1, 0, 4, 2, 1, 1]));
    expect([r.windowScale, r.maxSegSize, r.sackPermitted]).toEqual([7, 256, true]);
  });

  it('a known option with the wrong size is ignored, later options still count', () => {
    const r = parseOk(withOptions([2, 3, 5, 3, 2, 1, 1, 1, 1, 1, 3, 3, 2, 1, 1, 1]));
    expect([r.maxSegSize, r.windowScale]).toEqual([undefined, 2]);
  });

  it('RFC 7323 §2.3: a window scale above 14 is used as 14', () => {
    expect(parseOk(withOptions([1, 3, 3, 200])).windowScale).toBe(14);
  });

  it('SACK blocks (RFC 2018): 1..4 blocks; a malformed length is ignored', () => {
    const r = parseOk(withOptions([1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 5]));
    expect(r.sackRanges).toEqual([
      { left: 1, right: 2 },
      { left: 0xffffffff, right: 5 },
    ]);
    expect(parseOk(withOptions([1, 1, 5, 6, 0, 0, 0, 1])).sackRanges).toEqual([]);
  });

  it('parseTcpOptions never reads outside its range', () => {
    const b = new Uint8Array([9, 9, 2, 4, 1, 2, 3, 4]);
    const out = TcpRepr.create();
    parseTcpOptions(b, 2, 5, out);
    expect(out.maxSegSize).toBeUndefined();
  });

  it('emit sizes: SYN options 20 bytes; SACK blocks limited by the room left (3 with timestamps, 4 alone)', () => {
    expect(tcpOptionsLen(SYN_REPR)).toBe(20);
    const blocks = [1, 2, 3, 4].map((i) => ({ left: i * 100, right: i * 100 + 50 }));
    const withTs = { ...TcpRepr.create(), timestamp: { tsVal: 1, tsEcr: 2 }, sackRanges: blocks };
    expect(tcpOptionsLen(withTs)).toBe(12 + 4 + 24);
    expect(tcpOptionsLen({ ...TcpRepr.create(), sackRanges: blocks })).toBe(4 + 32);
    const buf = new Uint8Array(60);
    expect(emitTcpOptions(withTs, buf, 20)).toBe(40);
    const r = TcpRepr.create();
    parseTcpOptions(buf, 20, 60, r);
    expect(r.sackRanges).toEqual(blocks.slice(0, 3));
    expect(r.timestamp).toEqual({ tsVal: 1, tsEcr: 2 });
  });
});
