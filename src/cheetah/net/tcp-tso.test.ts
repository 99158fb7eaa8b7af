/**
 * Segmentation offload from the sender's side: when the windows allow two or more full segments
 * of new data the stack hands over ONE super-segment (`TxFrame.tsoSegmentBytes` = MSS) and the
 * harness cuts it as a card would (testing/tso.ts, which also checks the frame contract). What
 * must hold: the segments on the wire are what the segment-by-segment path sends (same bytes,
 * sequence numbers, consecutive IP ids, PSH/FIN only on the last), no super-segment reaches past
 * the peer's window or cwnd or carries more than `tsoMaxSegments`, retransmissions are single
 * segments, and the counters count segments. Every scenario runs with mid-space ISNs and near wrap.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveTcpConfig } from './config.js';
import { seqAdd, seqLe } from './seqnum.js';
import { precomputeChecksums } from './send-queue.js';
import { ISN_CASES, MSS, brief, established, flagsOf, type Sent } from './testing/harness.js';
import { useSeed } from './testing/seed.js';
import type { TxFrame } from './tx-frame.js';

const SEG = MSS - 12; // payload per segment with timestamps

function bytes(n: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

function payloadOf(sent: readonly Sent[]): number[] {
  return sent.flatMap((s) => Array.from(s.seg.payload));
}

/** One frame as the stack handed it over: its TSO segment size, first sequence number, payload bytes. */
interface Handed {
  tso: number;
  seq: number;
  len: number;
}

function recorder(): { frames: Handed[]; onTransmit: (f: TxFrame) => void } {
  const frames: Handed[] = [];
  return {
    frames,
    onTransmit: (f) => {
      const at = f.headerOffset + 34;
      const h = f.header;
      const seq = ((h[at + 4]! << 24) | (h[at + 5]! << 16) | (h[at + 6]! << 8) | h[at + 7]!) >>> 0;
      frames.push({ tso: f.tsoSegmentBytes, seq, len: f.length - f.headerLen });
    },
  };
}

describe.each(ISN_CASES)('TSO ($name)', ({ clientIsn, serverIss }) => {
  it('new data the windows allow as ≥ 2 segments leaves as one super-segment: consecutive segments and IP ids on the wire, PSH and FIN on the last, no payload summed', () => {
    const rec = recorder();
    const { host, peer, conn } = established({ clientIsn, serverIss, onTransmit: rec.onTransmit });
    const doc = bytes(3 * SEG + 11);
    const before = host.stack.counters();
    conn.send(doc, 0, doc.length, { close: true, checksums: precomputeChecksums(doc, 0, doc.length, SEG) });
    const out = host.take();
    expect(rec.frames.filter((f) => f.len > 0)).toEqual([{ tso: SEG, seq: seqAdd(serverIss, 1), len: doc.length }]);
    const ack = out[0]!.seg.ackNumber;
    expect(brief(out)).toEqual([
      ['A', seqAdd(serverIss, 1), ack, SEG],
      ['A', seqAdd(serverIss, 1 + SEG), ack, SEG],
      ['A', seqAdd(serverIss, 1 + 2 * SEG), ack, SEG],
      ['FPA', seqAdd(serverIss, 1 + 3 * SEG), ack, 11],
    ]);
    expect(payloadOf(out)).toEqual(Array.from(doc));
    const ids = out.map((s) => s.ip.ident);
    expect(ids).toEqual(ids.map((_, i) => (ids[0]! + i) & 0xffff));
    // Same options on every segment: the timestamps of the super-segment, no SACK.
    expect(new Set(out.map((s) => s.seg.timestamp?.tsVal)).size).toBe(1);
    const after = host.stack.counters();
    expect(after.segmentsOut - before.segmentsOut).toBe(4);
    expect(after.tsoFrames - before.tsoFrames).toBe(1);
    expect(after.precomputedChecksums).toBe(before.precomputedChecksums);
    expect(after.bytesOut - before.bytesOut).toBe(doc.length);
    expect(conn.stats().segmentsOut).toBe(1 + 4); // the SYN-ACK and the four
    // The next frame's IP id follows the last segment's: a super-segment used up its ids.
    peer.observe(out[3]!.seg);
    peer.send({ flags: 'FA' });
    expect(host.take().map((s) => s.ip.ident)).toEqual([(ids[3]! + 1) & 0xffff]);
  });

  it('the same segments as with TSO off, byte for byte but for the TCP checksum (computed by the segmenter instead)', () => {
    const run = (tsoMaxSegments: number) => {
      const { peer, conn } = established({ clientIsn, serverIss, config: { tsoMaxSegments } });
      const doc = bytes(25 * SEG + 100);
      conn.send(doc, 0, doc.length, { close: true });
      const out: Sent[] = [];
      for (let i = 0; i < 10 && !out.some((s) => s.seg.control === 'fin'); i++) {
        const got = peer.take();
        out.push(...got);
        peer.send({ flags: 'A' });
      }
      return out;
    };
    const on = run(44);
    const off = run(0);
    expect(on.map((s) => Array.from(s.bytes))).toEqual(off.map((s) => Array.from(s.bytes)));
  });

  it('the initial window caps the first super-segment; each ACK lets out the next one', () => {
    const rec = recorder();
    const { peer, conn } = established({ clientIsn, serverIss, onTransmit: rec.onTransmit });
    const doc = bytes(40 * SEG);
    conn.send(doc);
    const got: Sent[] = peer.take();
    expect(rec.frames.filter((f) => f.len > 0)).toEqual([{ tso: SEG, seq: seqAdd(serverIss, 1), len: 10 * SEG }]);
    for (let i = 0; i < 10 && got.length < 40; i++) {
      peer.send({ flags: 'A' });
      got.push(...peer.take());
    }
    expect(payloadOf(got)).toEqual(Array.from(doc));
    expect(rec.frames.every((f) => f.tso === SEG || f.len === 0)).toBe(true);
    expect(rec.frames.every((f) => f.len <= 44 * SEG)).toBe(true);
  });

  it('tsoMaxSegments bounds a super-segment; 0 and 1 send none', () => {
    for (const [max, shape] of [
      [3, [3 * SEG, 3 * SEG, 3 * SEG, SEG]],
      [1, Array(10).fill(SEG)],
      [0, Array(10).fill(SEG)],
    ] as const) {
      const rec = recorder();
      const { host, conn } = established({ clientIsn, serverIss, config: { tsoMaxSegments: max }, onTransmit: rec.onTransmit });
      conn.send(bytes(10 * SEG));
      expect(host.take()).toHaveLength(10);
      const data = rec.frames.filter((f) => f.len > 0);
      expect(data.map((f) => f.len), `tsoMaxSegments ${max}`).toEqual(shape);
      expect(data.map((f) => (f.len > SEG ? f.tso : 0))).toEqual(data.map((f) => f.tso));
    }
  });

  it('a small peer window: the super-segment stops at its edge, the rest waits for the window (sender SWS)', () => {
    const rec = recorder();
    const { peer, conn } = established({ clientIsn, serverIss, wscale: undefined, onTransmit: rec.onTransmit });
    peer.send({ flags: 'A', win: 2 * SEG + SEG / 2 });
    conn.send(bytes(10 * SEG));
    const out = peer.take();
    expect(out.map((s) => s.seg.payload.length)).toEqual([SEG, SEG]);
    expect(rec.frames.filter((f) => f.len > 0)).toEqual([{ tso: SEG, seq: seqAdd(serverIss, 1), len: 2 * SEG }]);
  });

  it('zero window: nothing but one-byte probes (never a super-segment); when it opens, the data flows again', () => {
    const rec = recorder();
    const { host, peer, conn } = established({ clientIsn, serverIss, wscale: undefined, onTransmit: rec.onTransmit });
    const una = peer.serverNxt;
    peer.send({ flags: 'A', win: 0 });
    const doc = bytes(6 * SEG);
    conn.send(doc);
    expect(peer.take()).toEqual([]);
    host.advance(host.stack.nextDeadline() - host.clock.now);
    const probe = peer.take();
    expect(probe.map((s) => s.seg.payload.length)).toEqual([1]);
    expect(rec.frames.every((f) => f.tso === 0)).toBe(true);
    // The peer opens its window without taking the probe byte.
    peer.send({ flags: 'A', ack: una, win: 65_535 });
    const got = peer.take();
    const frames = rec.frames.filter((f) => f.len > 1);
    // The probe's byte is resent inside a plain segment first, then new data as one super-segment.
    expect(frames).toEqual([
      { tso: 0, seq: una, len: SEG },
      { tso: SEG, seq: seqAdd(una, SEG), len: 5 * SEG },
    ]);
    expect(payloadOf(got)).toEqual(Array.from(doc));
  });

  it('a peer MSS of 536: segmentBytes is the connection MSS (536 − 12 with timestamps)', () => {
    const rec = recorder();
    const { host, conn } = established({ clientIsn, serverIss, synOpts: { mss: 536 }, onTransmit: rec.onTransmit });
    expect(conn.mss).toBe(524);
    const doc = bytes(5000);
    conn.send(doc);
    const out = host.take();
    expect(payloadOf(out)).toEqual(Array.from(doc));
    expect(out.every((s) => s.seg.payload.length <= 524)).toBe(true);
    expect(rec.frames.filter((f) => f.len > 0)).toEqual([{ tso: 524, seq: seqAdd(serverIss, 1), len: 5000 }]);
  });

  it('a peer without timestamps: segmentBytes 1460, 54-byte headers', () => {
    const rec = recorder();
    const { host, conn } = established({ clientIsn, serverIss, ts: false, onTransmit: rec.onTransmit });
    const doc = bytes(4 * MSS);
    conn.send(doc);
    const out = host.take();
    expect(out.map((s) => [s.seg.payload.length, s.bytes.length, s.seg.timestamp])).toEqual(Array(4).fill([MSS, MSS + 54, undefined]));
    expect(rec.frames.filter((f) => f.len > 0)).toEqual([{ tso: MSS, seq: seqAdd(serverIss, 1), len: 4 * MSS }]);
  });

  it("Nagle holds a super-segment's short tail while data is in flight", () => {
    const rec = recorder();
    const { peer, conn } = established({ clientIsn, serverIss, config: { nagle: true }, onTransmit: rec.onTransmit });
    conn.send(bytes(3 * SEG + 11));
    expect(peer.take().map((s) => s.seg.payload.length)).toEqual([SEG, SEG, SEG]);
    peer.send({ flags: 'A' });
    expect(peer.take().map((s) => [flagsOf(s.seg), s.seg.payload.length])).toEqual([['PA', 11]]);
    expect(rec.frames.filter((f) => f.len > 0).map((f) => f.tso)).toEqual([SEG, 0]);
  });

  it('retransmissions are single segments: the RTO resends one MSS, go-back-N resends MSS by MSS up to SND.MAX, then super-segments resume', () => {
    const rec = recorder();
    const { host, peer, conn } = established({ clientIsn, serverIss, config: { rtoMinMs: 1000 }, onTransmit: rec.onTransmit });
    const doc = bytes(20 * SEG);
    conn.send(doc);
    const first = peer.take();
    expect(first).toHaveLength(10);
    const sndMax = peer.serverNxt;
    rec.frames.length = 0;
    host.advance(1000);
    expect(peer.take().map((s) => s.seg.payload.length)).toEqual([SEG]);
    expect(rec.frames).toEqual([{ tso: 0, seq: seqAdd(serverIss, 1), len: SEG }]);
    expect(host.stack.counters().retransmittedSegments).toBe(1);
    const got: Sent[] = [...first];
    for (let i = 0; i < 20 && got.length < 40; i++) {
      peer.send({ flags: 'A', ack: peer.serverNxt });
      got.push(...peer.take());
    }
    for (const f of rec.frames) {
      if (seqLe(seqAdd(f.seq, f.len), sndMax)) expect(f.tso, `frame at ${f.seq}`).toBe(0);
    }
    expect(rec.frames.some((f) => f.tso > 0)).toBe(true);
    const delivered = new Map<number, number>();
    for (const s of got) s.seg.payload.forEach((b, i) => delivered.set(seqAdd(s.seg.seqNumber, i), b));
    expect(Array.from(doc, (_, i) => delivered.get(seqAdd(serverIss, 1 + i)))).toEqual(Array.from(doc));
  });

  it('fast retransmit resends one segment, not a super-segment', () => {
    const rec = recorder();
    const { host, peer, conn } = established({ clientIsn, serverIss, onTransmit: rec.onTransmit });
    conn.send(bytes(10 * SEG));
    peer.take();
    const una = seqAdd(serverIss, 1);
    rec.frames.length = 0;
    for (let i = 0; i < 3; i++) peer.send({ flags: 'A', ack: una });
    const rtx = peer.take();
    expect(rtx.map((s) => [s.seg.seqNumber, s.seg.payload.length])).toEqual([[una, SEG]]);
    expect(rec.frames).toEqual([{ tso: 0, seq: una, len: SEG }]);
    expect(host.stack.counters().fastRetransmits).toBe(1);
  });
});

describe('TSO configuration', () => {
  it('tsoMaxSegments defaults to 44 and is clamped to an integer in 0..64', () => {
    expect(resolveTcpConfig().tsoMaxSegments).toBe(44);
    expect(resolveTcpConfig({ tsoMaxSegments: 100 }).tsoMaxSegments).toBe(64);
    expect(resolveTcpConfig({ tsoMaxSegments: -3 }).tsoMaxSegments).toBe(0);
    expect(resolveTcpConfig({ tsoMaxSegments: 2.7 }).tsoMaxSegments).toBe(2);
    expect(resolveTcpConfig({ tsoMaxSegments: Number.NaN }).tsoMaxSegments).toBe(0);
  });

  it('property: under random windows, ACK patterns and limits, no segment passes the peer window, super-segments hold 2..tsoMaxSegments segments of the MSS, and the stream arrives byte-exact', () => {
    useSeed('tcp-tso');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 64, max: 1460 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 120_000 }),
        fc.array(fc.record({ win: fc.integer({ min: 0, max: 65_535 }), ackFraction: fc.double({ min: 0, max: 1, noNaN: true }) }), { minLength: 1, maxLength: 40 }),
        (tsoMaxSegments, peerMss, ts, size, rounds) => {
          const rec = recorder();
          const { host, peer, conn, synAck } = established({ ts, wscale: undefined, synOpts: { mss: peerMss }, config: { tsoMaxSegments }, onTransmit: rec.onTransmit });
          const mss = conn.mss;
          const doc = bytes(size, 3);
          let una = peer.serverNxt;
          let wnd = 65_535;
          const delivered = new Map<number, number>();
          const check = (out: Sent[]) => {
            for (const s of out) {
              const end = seqAdd(s.seg.seqNumber, s.seg.payload.length);
              // A 1-byte zero-window probe may pass the edge (MUST-35); nothing else may.
              if (s.seg.payload.length > 1) expect(seqLe(end, seqAdd(una, wnd)), `segment ending ${end} past ${una}+${wnd}`).toBe(true);
              expect(s.seg.payload.length).toBeLessThanOrEqual(mss);
              s.seg.payload.forEach((b, i) => delivered.set(seqAdd(s.seg.seqNumber, i), b));
            }
            for (const f of rec.frames.splice(0)) {
              if (f.tso === 0) continue;
              expect(f.tso).toBe(mss);
              expect(f.len).toBeGreaterThan(mss);
              expect(Math.ceil(f.len / mss)).toBeLessThanOrEqual(tsoMaxSegments);
            }
          };
          conn.send(doc);
          check(peer.take());
          for (const r of rounds) {
            const ahead = ((peer.serverNxt - una) >>> 0) * r.ackFraction;
            una = seqAdd(una, Math.floor(ahead));
            wnd = r.win;
            peer.send({ flags: 'A', ack: una, win: wnd });
            check(peer.take());
            host.advance(50);
            check(peer.take());
          }
          // Then a generous peer that ACKs everything until the stream is through.
          wnd = 65_535;
          for (let i = 0; i < 400 && conn.unackedBytes > 0; i++) {
            una = peer.serverNxt;
            peer.send({ flags: 'A', ack: una, win: wnd });
            check(peer.take());
            if (conn.unackedBytes > 0 && peer.serverNxt === una) {
              host.advance(1000);
              check(peer.take());
            }
          }
          expect(conn.unackedBytes).toBe(0);
          const first = seqAdd(synAck.seg.seqNumber, 1);
          expect(Array.from(doc, (_, i) => delivered.get(seqAdd(first, i)))).toEqual(Array.from(doc));
          expect(host.stack.checkInvariants()).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
  });
});
