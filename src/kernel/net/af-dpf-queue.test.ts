import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dpfRecordBytes } from '../abi/layout.js';
import { runSeed } from '../dpf/testing/arbitraries.js';
import { FrameQueue } from './af-dpf-queue.js';

/** Parse a packed record ring as a process would. */
function parseRecords(b: Uint8Array, count: number): { len: number; card: number; frame: number[]; pad: number[] }[] {
  const out = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const len = b[at]! | (b[at + 1]! << 8);
    const card = b[at + 2]! | (b[at + 3]! << 8);
    out.push({ len, card, frame: [...b.subarray(at + 4, at + 4 + len)], pad: [...b.subarray(at + 4 + len, at + dpfRecordBytes(len))] });
    at += dpfRecordBytes(len);
  }
  return out;
}

describe('FrameQueue (the AF_DPF receive ring)', () => {
  it('is a FIFO of whole frames with their cards under any push/take/read/drop sequence, bounded in frames and bytes (model-based property)', () => {
    type Op = { k: 'push'; len: number; card: number; fill: number } | { k: 'take'; room: number; max: number } | { k: 'read'; room: number } | { k: 'shift' } | { k: 'trim' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ k: fc.constant('push' as const), len: fc.oneof(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 700 })), card: fc.integer({ min: 0, max: 2 }), fill: fc.integer({ min: 0, max: 255 }) }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('take' as const), room: fc.integer({ min: 0, max: 2000 }), max: fc.integer({ min: 0, max: 6 }) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('read' as const), room: fc.integer({ min: 0, max: 800 }) }) },
      { weight: 1, arbitrary: fc.constant({ k: 'shift' as const }) },
      { weight: 1, arbitrary: fc.constant({ k: 'trim' as const }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 200, max: 3000 }), fc.integer({ min: 4, max: 3000 }), fc.array(op, { maxLength: 200 }), (capFrames, capBytesRaw, initialRaw, ops) => {
        const capBytes = capBytesRaw & ~3;
        // A ring that starts smaller than its bound grows on demand: the model must not see it.
        const q = new FrameQueue(capFrames, capBytes, initialRaw & ~3);
        const model: { frame: Uint8Array; card: number }[] = [];
        let maxRec = 0;
        for (const o of ops) {
          if (o.k === 'push') {
            const frame = new Uint8Array(o.len).map((_, i) => (o.fill + i * 7) & 0xff);
            const rec = dpfRecordBytes(o.len);
            const used = q.usedBytes;
            const ok = q.push(frame, o.card);
            frame.fill(0xee); // the queue holds a copy, never the caller's bytes
            if (ok) {
              model.push({ frame: new Uint8Array(o.len).map((_, i) => (o.fill + i * 7) & 0xff), card: o.card });
              maxRec = Math.max(maxRec, rec);
            } else {
              // Refused only when full in frames, or when the bytes are nearly used up (the
              // ring wastes less than one record at its end).
              const full = model.length >= capFrames || used + rec + Math.max(rec, maxRec) > capBytes;
              expect(full).toBe(true);
            }
          } else if (o.k === 'take') {
            const dst = new Uint8Array(o.room + 8).fill(0xaa);
            const n = q.takeRecords(dst, 4, o.room, o.max);
            const limit = o.max === 0 ? model.length : Math.min(o.max, model.length);
            let fits = 0;
            let bytes = 0;
            for (let i = 0; i < limit; i++) {
              const r = dpfRecordBytes(model[i]!.frame.length);
              if (bytes + r > o.room) break;
              bytes += r;
              fits++;
            }
            expect(n).toBe(fits);
            const got = parseRecords(dst.subarray(4), n);
            const want = model.splice(0, n);
            expect(got.map((r) => [r.len, r.card, r.frame])).toEqual(want.map((w) => [w.frame.length, w.card, [...w.frame]]));
            for (const r of got) expect(r.pad.every((x) => x === 0)).toBe(true);
            expect(dst.subarray(0, 4).every((x) => x === 0xaa)).toBe(true);
            expect(dst.subarray(4 + bytes).every((x) => x === 0xaa)).toBe(true);
          } else if (o.k === 'read') {
            const head = model[0];
            expect(q.peekLength()).toBe(head === undefined ? -1 : head.frame.length);
            expect(q.peekCard()).toBe(head === undefined ? -1 : head.card);
            if (head !== undefined) {
              const n = Math.min(o.room, head.frame.length);
              const dst = new Uint8Array(o.room);
              q.copyOldest(0, dst, 0, n);
              expect([...dst.subarray(0, n)]).toEqual([...head.frame.subarray(0, n)]);
              const half = head.frame.length >> 1;
              const tail = new Uint8Array(head.frame.length - half);
              q.copyOldest(half, tail, 0, tail.length);
              expect([...tail]).toEqual([...head.frame.subarray(half)]);
            }
          } else if (o.k === 'trim') {
            const before = q.allocatedBytes;
            const trimmed = q.trim();
            // Only an empty ring shrinks, and only back to where it started.
            expect(trimmed).toBe(model.length === 0 && before > Math.min(capBytes, Math.max(4, initialRaw & ~3)));
            if (trimmed) expect(q.allocatedBytes).toBe(Math.min(capBytes, Math.max(4, initialRaw & ~3)));
          } else {
            q.shift();
            model.shift();
          }
          expect(q.frames).toBe(model.length);
          expect(q.usedBytes).toBe(model.reduce((s, m) => s + dpfRecordBytes(m.frame.length), 0));
          expect(q.frames).toBeLessThanOrEqual(capFrames);
          expect(q.usedBytes).toBeLessThanOrEqual(capBytes);
          expect(q.allocatedBytes).toBeLessThanOrEqual(capBytes);
        }
      }),
      { seed: runSeed('af-dpf queue'), numRuns: 400 },
    );
  });

  it('an empty queue takes a record as large as the ring; empty frames and frames over 65535 bytes are refused', () => {
    const q = new FrameQueue(4, 1504);
    expect(q.push(new Uint8Array(1500), 1)).toBe(true);
    expect(q.push(new Uint8Array(1), 1)).toBe(false);
    q.shift();
    expect(q.push(new Uint8Array(0), 0)).toBe(false);
    expect(new FrameQueue(1, 70_000).push(new Uint8Array(65_536), 0)).toBe(false);
    expect(q.frames).toBe(0);
  });

  it('a batch across the wrap point comes out in order, in two copies', () => {
    const q = new FrameQueue(16, 64);
    const f = (n: number, v: number) => new Uint8Array(n).fill(v);
    expect(q.push(f(20, 1), 0)).toBe(true); // [0, 24)
    expect(q.push(f(20, 2), 1)).toBe(true); // [24, 48)
    q.shift();
    expect(q.push(f(20, 3), 2)).toBe(true); // does not fit in [48, 64): wraps to [0, 24)
    expect(q.push(f(1, 4), 0)).toBe(false); // [24, …) is the oldest record
    const dst = new Uint8Array(64);
    expect(q.takeRecords(dst, 0, 64, 0)).toBe(2);
    expect(parseRecords(dst, 2).map((r) => [r.card, r.frame[0]])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(q.frames).toBe(0);
  });

  it('starts small, grows only as far as the frames it holds need, and trims back when empty (a quiet socket costs a few KiB, not its bound)', () => {
    const q = new FrameQueue(512, 256 * 1024);
    expect(q.allocatedBytes).toBe(8192);
    for (let i = 0; i < 4; i++) expect(q.push(new Uint8Array(1514).fill(i), 0)).toBe(true);
    expect(q.allocatedBytes).toBe(8192);
    for (let i = 0; i < 100; i++) expect(q.push(new Uint8Array(1514).fill(i), 1)).toBe(true);
    expect(q.allocatedBytes).toBe(256 * 1024);
    const dst = new Uint8Array(2000);
    expect(q.takeRecords(dst, 0, dst.length, 1)).toBe(1);
    expect(dst[4]).toBe(0); // the oldest frame survived every growth, first in line
    expect(q.trim()).toBe(false); // frames still queued: the ring stays
    while (q.frames > 0) q.shift();
    expect(q.trim()).toBe(true);
    expect(q.allocatedBytes).toBe(8192);
    expect(q.push(new Uint8Array(1514), 2)).toBe(true);
  });
});
