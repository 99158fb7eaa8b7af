/**
 * ESTABLISHED: data transfer, ACK policy, segment acceptability, RST/SYN/ACK validation
 * (RFC 5961), PAWS, options on any segment, ICMP errors, windows (unsigned, zero, shrink, SWS),
 * segment size, Nagle, TTL, Diffserv and option encoding, retransmission (RFC 6298, Karn,
 * congestion avoidance, per-connection R2), fast retransmit and NewReno, and the
 * send-by-reference path. Every scenario runs with mid-space ISNs and with ISNs near the 2^32
 * wrap.
 */
import { describe, expect, it } from 'vitest';
import { Icmpv4Packet, Icmpv4Repr, Icmpv4Unreachable, IpProtocol } from '../../wire/index.js';
import { seqAdd } from './seqnum.js';
import { precomputeChecksums } from './send-queue.js';
import {
  CLIENT_IP,
  CLIENT_MAC,
  CLIENT_PORT,
  Host,
  ISN_CASES,
  MSS,
  SERVER_INTERFACE,
  SERVER_PORT,
  brief,
  clientIpFrame,
  established,
  flagsOf,
  rawOptionsFrame,
  type Sent,
} from './testing/harness.js';
import type { TxFrame } from './tx-frame.js';
import { TcpState } from './types.js';

const SEG = MSS - 12; // payload per segment with timestamps

function bytes(n: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

function payloadOf(sent: readonly Sent[]): number[] {
  return sent.flatMap((s) => Array.from(s.seg.payload));
}

const lengths = (sent: readonly Sent[]) => sent.map((s) => s.seg.payload.length);

/** A 32-bit value as four option bytes (network order). */
const u32 = (v: number) => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** An ICMP error from a router on the link about `about` (the IP header and 8 bytes it quotes). */
function icmpErrorFrame(icmp: { kind: 'dst-unreachable' | 'time-exceeded'; code: number } | { kind: 'other'; msgType: number; code: number }, about: Sent): Uint8Array {
  const quoted = about.bytes.subarray(14, 14 + 20 + 8);
  const repr: Icmpv4Repr =
    icmp.kind === 'other'
      ? { kind: 'other', msgType: icmp.msgType, code: icmp.code, restOfHeader: 0, data: quoted }
      : icmp.kind === 'dst-unreachable'
        ? { kind: 'dst-unreachable', code: icmp.code, nextHopMtu: 0, quoted }
        : { kind: 'time-exceeded', code: icmp.code, quoted };
  const len = Icmpv4Repr.bufferLen(repr);
  const { frame, at } = clientIpFrame(IpProtocol.Icmp, len, { src: ((CLIENT_IP & ~0xff) | 0xfe) >>> 0 });
  Icmpv4Repr.emit(repr, Icmpv4Packet.unchecked(frame, at, len));
  return frame;
}

describe.each(ISN_CASES)('ESTABLISHED: receiving ($name)', ({ clientIsn, serverIss }) => {
  it('MUST-40: data is acknowledged by a delayed ACK well within 500 ms', () => {
    const { host, peer } = established({ clientIsn, serverIss });
    peer.send({ flags: 'PA', data: bytes(100) });
    expect(host.take()).toEqual([]);
    host.advance(39);
    expect(host.take()).toEqual([]);
    host.advance(1);
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 1), peer.nxt, 0]]);
    expect(host.stack.counters().delayedAcks).toBe(1);
  });

  it('MUST-58: every second full-sized segment is acknowledged at once', () => {
    const { host, peer } = established({ clientIsn, serverIss });
    peer.send({ flags: 'A', data: bytes(SEG) });
    expect(host.take()).toEqual([]);
    peer.send({ flags: 'A', data: bytes(SEG) });
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 1), peer.nxt, 0]]);
  });

  it('out-of-order data: an immediate duplicate ACK with a SACK block; filling the gap: an immediate ACK', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    const data = bytes(300);
    peer.send({ flags: 'A', seqOff: 100, data: data.subarray(100, 200) }, { advance: false });
    const [dup] = host.take();
    expect(dup!.seg.ackNumber).toBe(peer.nxt);
    expect(dup!.seg.sackRanges).toEqual([{ left: seqAdd(peer.nxt, 100), right: seqAdd(peer.nxt, 200) }]);
    peer.send({ flags: 'A', seqOff: 200, data: data.subarray(200, 300) }, { advance: false });
    expect(host.take()[0]!.seg.sackRanges).toEqual([{ left: seqAdd(peer.nxt, 100), right: seqAdd(peer.nxt, 300) }]);
    expect(conn.readable).toBe(0);
    peer.send({ flags: 'A', data: data.subarray(0, 100) }, { advance: false });
    peer.nxt = seqAdd(peer.nxt, 300);
    const [ack] = host.take();
    expect(ack!.seg.ackNumber).toBe(peer.nxt);
    expect(ack!.seg.sackRanges).toEqual([]);
    const got = new Uint8Array(300);
    expect(conn.read(got)).toBe(300);
    expect(got).toEqual(data);
  });

  it('MUST-59: segments received in one batch are acknowledged by one ACK', () => {
    const { host, peer } = established({ clientIsn, serverIss });
    host.stack.batch(() => {
      for (const off of [100, 200, 300]) peer.send({ flags: 'A', seqOff: off, data: bytes(50) }, { advance: false });
    });
    const acks = host.take();
    expect(acks).toHaveLength(1);
    expect(acks[0]!.seg.sackRanges).toHaveLength(3);
  });

  it('SACK blocks never push a frame past the MTU: a full data segment carries none', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    peer.send({ flags: 'A', seqOff: 100, data: bytes(10) }, { advance: false });
    expect(host.take()[0]!.seg.sackRanges).toHaveLength(1);
    conn.send(bytes(SEG + 10));
    const out = host.take();
    expect(out.map((s) => [s.seg.payload.length, s.seg.sackRanges.length])).toEqual([
      [SEG, 0],
      [10, 1],
    ]);
    expect(Math.max(...out.map((s) => s.bytes.length))).toBe(1514);
  });

  it('reassembly is bounded: a segment needing more ranges than allowed is dropped and counted', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss, config: { reassemblyMaxRanges: 2 } });
    for (const off of [100, 300, 500]) peer.send({ flags: 'A', seqOff: off, data: bytes(50) }, { advance: false });
    expect(host.stack.counters().drops.reassemblyLimit).toBe(1);
    peer.send({ flags: 'A', data: bytes(100) }, { advance: false });
    expect(conn.readable).toBe(150);
  });

  it('a FIN that arrives out of order is processed once the gap is filled', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    peer.send({ flags: 'FA', seqOff: 10, data: bytes(10) }, { advance: false });
    expect(conn.state).toBe(TcpState.Established);
    peer.send({ flags: 'A', data: bytes(10) }, { advance: false });
    expect(conn.state).toBe(TcpState.CloseWait);
    expect(host.take().at(-1)!.seg.ackNumber).toBe(seqAdd(peer.nxt, 21));
    expect(conn.readable).toBe(20);
    conn.read(new Uint8Array(20));
    expect(conn.readEnded).toBe(true);
  });
});

describe.each(ISN_CASES)('ESTABLISHED: options and the IP layer ($name)', ({ clientIsn, serverIss }) => {
  it('MUST-5/6: options are read on any segment: SYN-only ones on a data segment change nothing, unknown ones are skipped, the data is taken', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    const mss = conn.mss;
    // prettier-ignore
    host.inject(rawOptionsFrame(peer.seg({ flags: 'PA', data: 'hello' }), [
      2, 4, 0, 64, // MSS 64: meaningful only on a SYN (RFC 9293 §3.7.1)
      1, 3, 3, 14, // window scale 14: only on a SYN (RFC 7323 §2.2)
      253, 4, 0, 0, // experimental: unknown to us
      1, 1, 8, 10, ...u32(peer.tsVal + 1), ...u32(peer.tsRecent), // timestamps, newer
    ]));
    peer.nxt = seqAdd(peer.nxt, 5);
    expect(conn.readable).toBe(5);
    expect(conn.mss).toBe(mss);
    expect(conn.stats().sndWnd).toBe(65_535 << 7);
    conn.send(bytes(2 * mss));
    const out = peer.take();
    expect(lengths(out)).toEqual([mss, mss]);
    expect(out[0]!.seg.ackNumber).toBe(peer.nxt);
    expect(out[0]!.seg.timestamp?.tsEcr).toBe(peer.tsVal + 1);
  });

  it('MUST-54/55/56: ICMP errors about the connection (unreachable 0/1/5, source quench, time exceeded, parameter problem) never abort it: ICMP is not the stack\'s, each is dropped and counted', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    conn.send(bytes(100));
    const [seg] = peer.take();
    const errors = [
      { kind: 'dst-unreachable', code: Icmpv4Unreachable.NetUnreachable },
      { kind: 'dst-unreachable', code: Icmpv4Unreachable.HostUnreachable },
      { kind: 'dst-unreachable', code: Icmpv4Unreachable.SrcRouteFailed },
      { kind: 'other', msgType: 4, code: 0 }, // source quench (deprecated, RFC 6633)
      { kind: 'time-exceeded', code: 0 },
      { kind: 'other', msgType: 12, code: 0 }, // parameter problem
    ] as const;
    for (const e of errors) host.inject(icmpErrorFrame(e, seg!));
    expect(host.take()).toEqual([]);
    expect(conn.state).toBe(TcpState.Established);
    expect(host.stack.counters().drops.ipProtocol).toBe(errors.length);
    peer.send({ flags: 'A' });
    expect(conn.unackedBytes).toBe(0);
    expect(host.log.closed).toEqual([]);
  });
});

describe.each(ISN_CASES)('ESTABLISHED: acceptability and validation ($name)', ({ clientIsn, serverIss }) => {
  /** A connection whose receive window is exactly full (1024-byte buffer, nothing read). */
  function zeroWindow() {
    const e = established({ clientIsn, serverIss, config: { rcvBufBytes: 1024 } });
    e.peer.send({ flags: 'A', data: bytes(1024) });
    e.host.advance(100);
    const [ack] = e.peer.take();
    expect(ack!.seg.windowLen).toBe(0);
    return e;
  }

  it('RFC 9293 §3.4 table, window > 0: in-window segments are taken, others answered <SEQ=SND.NXT><ACK=RCV.NXT>', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss, config: { rcvBufBytes: 4096 } });
    // Zero length, in window: accepted, no reply.
    peer.send({ flags: 'A', seqOff: 100 }, { advance: false });
    expect(host.take()).toEqual([]);
    // Zero length, past the window: ACK.
    peer.send({ flags: 'A', seqOff: 5000 }, { advance: false });
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 1), peer.nxt, 0]]);
    // Data overlapping the left edge: trimmed and taken.
    peer.send({ flags: 'A', seqOff: -10, data: bytes(30) }, { advance: false });
    expect(conn.readable).toBe(20);
    expect(host.stack.counters().drops.outOfWindow).toBe(1);
  });

  it('RFC 9293 §3.4 table, window = 0: only a zero-length segment at RCV.NXT is acceptable; data gets an ACK', () => {
    const { host, peer, conn } = zeroWindow();
    peer.send({ flags: 'A', data: bytes(10) }, { advance: false });
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 1), peer.nxt, 0]]);
    expect(conn.readable).toBe(1024);
    peer.send({ flags: 'A' }, { advance: false });
    expect(host.take()).toEqual([]);
  });

  it('MUST-66: a RST at RCV.NXT is processed at a zero window', () => {
    const { host, peer } = zeroWindow();
    peer.send({ flags: 'R' }, { advance: false });
    expect(host.log.closed.map((c) => c.reason)).toEqual(['reset']);
  });

  it('RFC 5961 §3.2: RST at RCV.NXT resets; in window but inexact gets a challenge ACK; out of window nothing', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    peer.send({ flags: 'R', seqOff: 500 }, { advance: false });
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 1), peer.nxt, 0]]);
    peer.send({ flags: 'R', seqOff: 0x4000_0000 }, { advance: false });
    expect(host.take()).toEqual([]);
    expect(conn.state).toBe(TcpState.Established);
    peer.send({ flags: 'R' }, { advance: false });
    expect(host.take()).toEqual([]);
    expect(conn.state).toBe(TcpState.Closed);
    expect(host.log.closed).toEqual([{ conn, reason: 'reset' }]);
    expect(host.stack.counters()).toMatchObject({ challengeAcks: 1, resetsReceived: 1 });
  });

  it('RFC 5961 §7: challenge ACKs are limited per connection (one per 500 ms)', () => {
    const { host, peer } = established({ clientIsn, serverIss });
    peer.send({ flags: 'R', seqOff: 1 }, { advance: false });
    peer.send({ flags: 'R', seqOff: 2 }, { advance: false });
    expect(host.take()).toHaveLength(1);
    host.advance(500);
    peer.send({ flags: 'R', seqOff: 3 }, { advance: false });
    expect(host.take()).toHaveLength(1);
    expect(host.stack.counters().invalidAcksSuppressed).toBe(1);
  });

  it('RFC 5961 §4: a SYN in ESTABLISHED gets a challenge ACK and changes nothing', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    peer.send({ flags: 'S', seqOff: 7 }, { advance: false });
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 1), peer.nxt, 0]]);
    expect(conn.state).toBe(TcpState.Established);
  });

  it('an ACK for data never sent is answered and dropped; so is one older than the window allows (RFC 5961 §5)', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    peer.send({ flags: 'PA', ackOff: 10, data: 'xyz' }, { advance: false });
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 1), peer.nxt, 0]]);
    expect(conn.readable).toBe(0);
    host.advance(500);
    peer.send({ flags: 'A', ack: seqAdd(serverIss, -0x4000_0000) }, { advance: false });
    expect(host.take()).toHaveLength(1);
    expect(host.stack.counters().drops).toMatchObject({ ackUnsent: 1, ackTooOld: 1 });
  });

  it('PAWS (RFC 7323 §5): a segment with an older timestamp is dropped and answered', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    peer.tsVal = 5000;
    peer.send({ flags: 'A', data: bytes(10) });
    peer.send({ flags: 'A', data: bytes(10), ts: { tsVal: 4000, tsEcr: 0 } }, { advance: false });
    expect(conn.readable).toBe(10);
    expect(host.stack.counters().drops.paws).toBe(1);
    expect(flagsOf(host.take()[0]!.seg)).toBe('A');
  });

  it('old data (a lost ACK) is re-acknowledged every time; bare out-of-window segments at most once per 500 ms', () => {
    const { host, peer } = established({ clientIsn, serverIss });
    peer.send({ flags: 'A', data: bytes(10) });
    host.advance(100);
    peer.take();
    for (let i = 0; i < 3; i++) peer.send({ flags: 'A', seqOff: -10, data: bytes(10) }, { advance: false });
    expect(host.take()).toHaveLength(3);
    for (let i = 0; i < 3; i++) peer.send({ flags: 'A', seqOff: 100_000 }, { advance: false });
    expect(host.take()).toHaveLength(1);
  });
});

describe.each(ISN_CASES)('ESTABLISHED: sending ($name)', ({ clientIsn, serverIss }) => {
  it('knowledge-based merging: the reply carries the ACK of the request and the FIN rides on its last segment', () => {
    const doc = bytes(3 * SEG + 100);
    const { host, peer } = established({
      clientIsn,
      serverIss,
      events: { onReadable: (c) => void c.send(doc, 0, doc.length, { close: true }) },
    });
    peer.send({ flags: 'PA', data: 'GET / HTTP/1.0\r\n\r\n' });
    const out = host.take();
    expect(out.map((s) => flagsOf(s.seg))).toEqual(['A', 'A', 'A', 'FPA']);
    expect(out.every((s) => s.seg.ackNumber === peer.nxt)).toBe(true);
    expect(payloadOf(out)).toEqual(Array.from(doc));
    expect(out.every((s) => s.seg.maxSegSize === undefined)).toBe(true); // MUST-65
  });

  it('with merging off: a separate ACK before the reply and a separate FIN after it', () => {
    const doc = bytes(100);
    const { host, peer } = established({
      clientIsn,
      serverIss,
      config: { mergeAck: false, mergeFin: false },
      events: { onReadable: (c) => void c.send(doc, 0, doc.length, { close: true }) },
    });
    peer.send({ flags: 'PA', data: 'GET /' });
    expect(host.take().map((s) => [flagsOf(s.seg), s.seg.payload.length])).toEqual([
      ['A', 0],
      ['PA', 100],
      ['FA', 0],
    ]);
  });

  it('sends by reference: frame pieces are the application buffer; retransmissions are cut from it again', () => {
    const doc = bytes(2 * SEG);
    const pieces: [Uint8Array, number, number][] = [];
    // Segment by segment (no super-segments), so each frame's pieces can be listed.
    const { host, conn } = established({
      clientIsn,
      serverIss,
      config: { rtoMinMs: 1000, tsoMaxSegments: 0 },
      onTransmit: (f: TxFrame) => {
        for (let i = 0; i < f.pieces; i++) pieces.push([f.pieceBuf[i]!, f.pieceOffset[i]!, f.pieceLength[i]!]);
      },
    });
    conn.send(doc);
    expect(payloadOf(host.take())).toEqual(Array.from(doc));
    host.advance(1000);
    const rtx = host.take();
    expect(rtx).toHaveLength(1);
    expect(Array.from(rtx[0]!.seg.payload)).toEqual(Array.from(doc.subarray(0, SEG)));
    expect(pieces).toEqual([
      [doc, 0, SEG],
      [doc, SEG, SEG],
      [doc, 0, SEG],
    ]);
    expect(pieces.every(([b]) => b === doc)).toBe(true);
    expect(host.stack.counters().retransmittedSegments).toBe(1);
  });

  it('a response made of a prebuilt header and document ranges goes out as one gather list per segment', () => {
    const header = new TextEncoder().encode('HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n');
    const doc = bytes(2000);
    const shapes: number[][] = [];
    const { host, peer } = established({
      clientIsn,
      serverIss,
      onTransmit: (f: TxFrame) => shapes.push(f.pieceLength.slice(0, f.pieces)),
      events: {
        onReadable: (c) => {
          c.send(header);
          c.send(doc, 0, doc.length, { close: true });
        },
      },
    });
    peer.send({ flags: 'PA', data: 'GET /' });
    const out = host.take();
    expect(payloadOf(out)).toEqual([...header, ...doc]);
    expect(shapes.filter((p) => p.length > 0)).toEqual([
      [header.length, SEG - header.length],
      [2000 - (SEG - header.length)],
    ]);
  });

  it('precomputed partial checksums are used for MSS-aligned chunks and give valid checksums', () => {
    const doc = bytes(3 * SEG + 11);
    const sums = precomputeChecksums(doc, 0, doc.length, SEG);
    // Without super-segments: a TSO frame carries no payload sum (see the TSO tests).
    const { host, conn } = established({ clientIsn, serverIss, config: { tsoMaxSegments: 0 } });
    conn.send(doc, 0, doc.length, { checksums: sums, close: true });
    const out = host.take(); // parseSent verified every checksum
    expect(payloadOf(out)).toEqual(Array.from(doc));
    expect(host.stack.counters().precomputedChecksums).toBe(4);
  });

  it('drain fires once everything is acknowledged', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    conn.send(bytes(SEG * 2));
    peer.take();
    expect(conn.unackedBytes).toBe(2 * SEG);
    peer.send({ flags: 'A' });
    expect(host.log.drained).toBe(1);
    expect(conn.unackedBytes).toBe(0);
  });

  it('the initial window is 10 segments (RFC 6928) and slow start grows it per ACK', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    conn.send(bytes(30 * SEG));
    expect(peer.take()).toHaveLength(10);
    peer.send({ flags: 'A', ackOff: -5 * SEG });
    expect(host.take()).toHaveLength(6); // 5 acked → 5 more, plus one MSS of growth
  });
});

describe.each(ISN_CASES)('ESTABLISHED: segment size, Nagle, TTL, option encoding ($name)', ({ clientIsn, serverIss }) => {
  it.each([
    ['the peer\'s MSS', 1000, 1500, 1000 - 12],
    ['our MTU', 9000, 1500, 1460 - 12],
    ['our smaller MTU', 1460, 1280, 1240 - 12],
  ])('MUST-16: a full segment is min(peer MSS, our MTU − 40) less the timestamp option (limited by %s)', (_n, peerMss, mtuBytes, want) => {
    const { host, conn } = established({ clientIsn, serverIss, interfaces: [{ ...SERVER_INTERFACE, mtuBytes }], synOpts: { mss: peerMss } });
    expect(conn.mss).toBe(want);
    conn.send(bytes(3 * want + 5));
    const out = host.take();
    expect(lengths(out)).toEqual([want, want, want, 5]);
    expect(Math.max(...out.map((s) => s.bytes.length - 14))).toBeLessThanOrEqual(mtuBytes);
  });

  it('MUST-17: the application switches Nagle per connection: on, a small write waits for the ACK of data in flight; off, it goes at once', () => {
    const { peer, conn } = established({ clientIsn, serverIss, config: { nagle: true } });
    conn.send(bytes(100));
    expect(lengths(peer.take())).toEqual([100]);
    conn.send(bytes(50, 2));
    expect(peer.take()).toEqual([]);
    peer.send({ flags: 'A' });
    expect(lengths(peer.take())).toEqual([50]);
    conn.send(bytes(20, 3));
    expect(peer.take()).toEqual([]);
    // Switched off: what it held goes now, and later small writes go with data in flight.
    expect(conn.setNagle(false)).toBe('ok');
    expect(lengths(peer.take())).toEqual([20]);
    conn.send(bytes(30, 4));
    expect(lengths(peer.take())).toEqual([30]);
  });

  it('MUST-49: the TTL of everything sent is configurable (handshake, data, RST)', () => {
    const { host, peer, conn, synAck } = established({ clientIsn, serverIss, config: { ttl: 17 } });
    conn.send(bytes(10));
    conn.abort();
    peer.send({ flags: 'A' });
    const out = [synAck, ...host.take()];
    expect(out.map((s) => flagsOf(s.seg))).toEqual(['SA', 'PA', 'R', 'R']);
    expect(out.map((s) => s.ip.hopLimit)).toEqual([17, 17, 17, 17]);
  });

  it('MUST-48: the application sets the Diffserv field per connection; every later segment carries it, RST included', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    expect(conn.setDiffServ(64)).toBe('invalid');
    expect(conn.setDiffServ(-1)).toBe('invalid');
    conn.send(bytes(10));
    expect(conn.setDiffServ(46)).toBe('ok'); // EF
    peer.send({ flags: 'PA', data: 'x' });
    conn.send(bytes(10));
    conn.abort();
    const out = host.take();
    expect(out.map((s) => [flagsOf(s.seg), s.ip.dscp, s.ip.ecn])).toEqual([
      ['PA', 0, 0],
      ['PA', 46, 0],
      ['R', 46, 0],
    ]);
    expect(conn.setDiffServ(0)).toBe('invalid-state');
  });

  it('MUST-68/69: every option we send carries its length (but NOP and EOL) and the options fill the header exactly', () => {
    const frames: Sent[] = [];
    const active = new Host({ serverIss });
    active.stack.connect({ nic: 0, remoteAddr: CLIENT_IP, remotePort: CLIENT_PORT, localPort: SERVER_PORT, remoteMac: CLIENT_MAC });
    frames.push(...active.take());
    for (const ts of [true, false]) {
      for (const wscale of [7, undefined]) {
        for (const sackPermitted of [true, false]) {
          const { host, peer, conn, synAck } = established({ clientIsn, serverIss, ts, wscale, synOpts: { sackPermitted } });
          frames.push(synAck);
          // Two islands of out-of-order data: SACK blocks when permitted.
          peer.send({ flags: 'A', seqOff: 100, data: bytes(10) }, { advance: false });
          peer.send({ flags: 'A', seqOff: 300, data: bytes(10) }, { advance: false });
          conn.send(bytes(SEG + 10));
          conn.abort();
          frames.push(...host.take());
        }
      }
    }
    expect(frames.some((s) => s.seg.sackRanges.length === 2)).toBe(true);
    expect(frames.some((s) => s.seg.maxSegSize !== undefined && s.seg.windowScale !== undefined && s.seg.timestamp !== undefined)).toBe(true);
    for (const s of frames) {
      const b = s.bytes;
      const end = 34 + (b[34 + 12]! >>> 4) * 4;
      let i = 34 + 20;
      while (i < end) {
        const kind = b[i]!;
        if (kind === 0) {
          expect(Array.from(b.subarray(i, end)).every((x) => x === 0), 'padding after EOL').toBe(true);
          i = end;
        } else if (kind === 1) {
          i++;
        } else {
          expect([2, 3, 4, 5, 8]).toContain(kind);
          expect(b[i + 1]!).toBeGreaterThanOrEqual(2);
          i += b[i + 1]!;
        }
      }
      expect(i, `options of ${flagsOf(s.seg)} end at the data offset`).toBe(end);
    }
  });
});

describe.each(ISN_CASES)('ESTABLISHED: windows ($name)', ({ clientIsn, serverIss }) => {
  it('MUST-35/36: a zero window is probed with backoff for as long as the peer answers, then data flows', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss, config: { rtoMinMs: 1000 } });
    peer.send({ flags: 'A', win: 0 });
    const doc = bytes(5000);
    conn.send(doc);
    expect(host.take()).toEqual([]);
    const start = host.clock.now;
    const probes: number[] = [];
    // Answer every probe with a zero window for ten minutes of virtual time.
    while (host.clock.now - start < 600_000) {
      host.advance(Math.max(1, host.stack.nextDeadline() - host.clock.now));
      for (const s of host.take()) {
        probes.push(Math.round(s.at - start));
        expect(s.seg.payload.length).toBe(1);
        expect(s.seg.seqNumber).toBe(seqAdd(serverIss, 1));
        peer.send({ flags: 'A', win: 0 }, { advance: false });
      }
    }
    expect(probes.slice(0, 5)).toEqual([1000, 3000, 7000, 15_000, 31_000]);
    expect(conn.state).toBe(TcpState.Established);
    peer.send({ flags: 'A', win: 65_535 });
    const out = host.take();
    expect(payloadOf(out)).toEqual(Array.from(doc));
  });

  it('MUST-1: the window is unsigned: a field above 0x7FFF, and 0xFFFF scaled by 14 (1 GiB), are taken as such', () => {
    const a = established({ clientIsn, serverIss, wscale: undefined });
    a.peer.send({ flags: 'A', win: 0xfff0 });
    expect(a.conn.stats().sndWnd).toBe(0xfff0);
    const b = established({ clientIsn, serverIss, wscale: 14 });
    b.peer.send({ flags: 'A', win: 0xffff });
    expect(b.conn.stats().sndWnd).toBe(0xffff * 2 ** 14);
    b.conn.send(bytes(10 * SEG));
    expect(b.host.take()).toHaveLength(10);
  });

  it('MUST-34: a shrinking window (right edge moving left) stops new data without harm', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss, wscale: 0 });
    const doc = bytes(20 * SEG);
    peer.send({ flags: 'A', win: 4 * SEG });
    conn.send(doc);
    expect(host.take()).toHaveLength(4);
    // ACK one segment but move the right edge left of SND.NXT.
    peer.send({ flags: 'A', ackOff: -3 * SEG, win: 100 });
    expect(host.take()).toEqual([]);
    peer.send({ flags: 'A', win: 60_000 });
    const rest = host.take();
    expect(rest.length).toBeGreaterThan(0);
    expect(rest[0]!.seg.seqNumber).toBe(seqAdd(serverIss, 1 + 4 * SEG));
    expect(conn.state).toBe(TcpState.Established);
  });

  it('MUST-38: sender SWS avoidance waits on a small window, then its override timer sends what fits', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss, wscale: 0 });
    peer.send({ flags: 'A', win: 300 });
    conn.send(bytes(5000));
    expect(host.take()).toEqual([]);
    host.advance(host.stack.nextDeadline() - host.clock.now);
    expect(host.take().map((s) => s.seg.payload.length)).toEqual([300]);
  });

  it('MUST-39: receiver SWS avoidance opens the window in useful steps only', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss, config: { rcvBufBytes: 4096 } });
    peer.send({ flags: 'A', data: bytes(4096) });
    host.advance(100);
    expect(peer.take().at(-1)!.seg.windowLen).toBe(0);
    conn.read(new Uint8Array(100));
    expect(host.take()).toEqual([]);
    conn.read(new Uint8Array(2000));
    const [upd] = host.take();
    expect(upd!.seg.windowLen << 0).toBeGreaterThanOrEqual(2048);
  });
});

describe.each(ISN_CASES)('ESTABLISHED: retransmission ($name)', ({ clientIsn, serverIss }) => {
  it('MUST-19 / RFC 6298: lost data is retransmitted at 1, 3, 7, 15 s (exponential backoff)', () => {
    const { host, conn } = established({ clientIsn, serverIss, ts: false, config: { rtoMinMs: 1000 } });
    conn.send(bytes(100));
    const start = host.clock.now;
    host.take();
    host.advance(16_000);
    expect(host.take().map((s) => Math.round(s.at - start))).toEqual([1000, 3000, 7000, 15_000]);
    expect(host.stack.counters().timeouts).toBe(4);
  });

  it('MUST-18 Karn: an ACK of a retransmitted segment gives no RTT sample (no timestamps)', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss, ts: false, config: { rtoMinMs: 1000 } });
    conn.send(bytes(100));
    peer.take();
    host.advance(80);
    peer.send({ flags: 'A' });
    const srtt = conn.stats().srttMs;
    expect(srtt).toBeCloseTo(80 * 0.125, 5); // first sample was 0 at the handshake, then 80
    conn.send(bytes(100));
    peer.take();
    host.advance(1000); // retransmission
    host.advance(700);
    peer.send({ flags: 'A' });
    expect(conn.stats().srttMs).toBe(srtt);
    expect(conn.stats().rtoMs).toBe(2000); // the backed-off RTO stays until a valid sample
  });

  it('with timestamps the RTT comes from the echoed TSval, even across a retransmission (RFC 7323 §4)', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    conn.send(bytes(100));
    const [seg] = peer.take();
    host.advance(30);
    peer.send({ flags: 'A', ts: { tsVal: 2000, tsEcr: seg!.seg.timestamp!.tsVal } });
    expect(conn.stats().srttMs).toBeGreaterThan(0);
  });

  it('MUST-20: unacknowledged data gives up after ≥ 100 s and reports a timeout', () => {
    const { host, conn } = established({ clientIsn, serverIss, config: { dataGiveUpMs: 100_000 } });
    conn.send(bytes(100));
    host.advance(99_000);
    expect(conn.state).toBe(TcpState.Established);
    host.advance(200_000);
    expect(host.log.closed).toEqual([{ conn, reason: 'timeout' }]);
  });

  it('MUST-19: after a timeout cwnd restarts at one segment, grows by one per ACK up to ssthresh (slow start), then by one per window (congestion avoidance)', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss, ts: false, config: { rtoMinMs: 1000 } });
    conn.send(bytes(40 * MSS));
    expect(peer.take()).toHaveLength(10);
    host.advance(1000);
    expect(lengths(peer.take())).toEqual([MSS]);
    expect(conn.stats()).toMatchObject({ cwnd: MSS, ssthresh: 5 * MSS });
    const base = seqAdd(serverIss, 1);
    const cwnds: number[] = [];
    for (let k = 1; k <= 10; k++) {
      peer.send({ flags: 'A', ack: seqAdd(base, k * MSS) });
      peer.take();
      cwnds.push(conn.stats().cwnd / MSS);
    }
    expect(cwnds).toEqual([2, 3, 4, 5, 5, 5, 5, 5, 6, 6]);
  });

  it('MUST-21: the application sets R2 per connection: sooner than the stack\'s, or never', () => {
    const soon = established({ clientIsn, serverIss, config: { rtoMinMs: 1000 } });
    expect(soon.conn.setGiveUpMs(0)).toBe('invalid');
    expect(soon.conn.setGiveUpMs(Number.NaN)).toBe('invalid');
    expect(soon.conn.setGiveUpMs(20_000)).toBe('ok');
    soon.conn.send(bytes(100));
    soon.host.advance(16_000);
    expect(soon.conn.state).toBe(TcpState.Established);
    // Retransmissions at 1, 3, 7, 15, 31 s: the one at 31 s is 30 s after the first timeout.
    soon.host.advance(16_000);
    expect(soon.host.log.closed).toEqual([{ conn: soon.conn, reason: 'timeout' }]);
    expect(soon.conn.setGiveUpMs(1000)).toBe('invalid-state');
    const never = established({ clientIsn, serverIss });
    expect(never.conn.setGiveUpMs(Infinity)).toBe('ok');
    never.conn.send(bytes(100));
    never.host.advance(600_000);
    expect(never.conn.state).toBe(TcpState.Established);
    expect(never.host.stack.counters().timeouts).toBeGreaterThan(10);
  });

  it('RFC 5681 fast retransmit after three duplicate ACKs, NewReno partial ACK, full ACK leaves recovery', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    conn.send(bytes(10 * SEG));
    expect(peer.take()).toHaveLength(10);
    const base = seqAdd(serverIss, 1);
    // Segments 2 and 5 are lost: the peer ACKs segment 1, then duplicates.
    peer.send({ flags: 'A', ack: seqAdd(base, SEG) });
    host.take();
    for (let i = 0; i < 2; i++) peer.send({ flags: 'A', ack: seqAdd(base, SEG) });
    expect(host.take()).toEqual([]);
    peer.send({ flags: 'A', ack: seqAdd(base, SEG) });
    const [fr] = host.take();
    expect(fr!.seg.seqNumber).toBe(seqAdd(base, SEG));
    expect(host.stack.counters().fastRetransmits).toBe(1);
    // Partial ACK up to segment 5: retransmit segment 5 at once.
    peer.send({ flags: 'A', ack: seqAdd(base, 4 * SEG) });
    const partial = host.take();
    expect(partial[0]!.seg.seqNumber).toBe(seqAdd(base, 4 * SEG));
    // Full ACK: ssthresh was set to half the flight (9 segments) at the third duplicate; cwnd
    // leaves recovery as min(ssthresh, FlightSize + MSS) with nothing left in flight.
    peer.send({ flags: 'A', ack: seqAdd(base, 10 * SEG) });
    const st = conn.stats();
    expect(st.ssthresh).toBe(Math.floor((9 * SEG) / 2));
    expect(st.cwnd).toBe(2 * SEG);
    expect(host.stack.counters().timeouts).toBe(0);
  });
});
