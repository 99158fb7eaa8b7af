import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HEAP_START } from './layout.js';
import { Heap, HeapCorruption, readHeapStats } from './malloc.js';

const SEED = process.env['SEED'] !== undefined ? Number(process.env['SEED']) : Date.now() % 2 ** 31;

describe('user allocator (boundary tags, size classes, in process memory)', () => {
  it(`never hands out overlapping or out-of-heap blocks, keeps exact counters, and coalesces back to one block (seed ${SEED})`, () => {
    console.log(`malloc property: SEED=${SEED}`);
    const MEM = 1 << 18;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('malloc' as const), bytes: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 20_000 })) }),
      fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const dv = new DataView(new ArrayBuffer(MEM));
        const heap = new Heap(dv, true);
        const largest = heap.malloc(MEM); // too big: NULL
        expect(largest).toBe(0);
        const live = new Map<number, number>(); // ptr → requested bytes
        for (const o of ops) {
          if (o.kind === 'malloc') {
            const p = heap.malloc(o.bytes);
            if (p === 0) continue;
            expect(p % 8).toBe(0);
            expect(p).toBeGreaterThan(HEAP_START);
            expect(p + o.bytes).toBeLessThanOrEqual(MEM);
            expect(heap.usableSize(p)).toBeGreaterThanOrEqual(o.bytes);
            for (const [q, n] of live) expect(p + Math.max(o.bytes, 1) <= q || q + Math.max(n, 1) <= p).toBe(true);
            new Uint8Array(dv.buffer, p, o.bytes).fill(0xcc); // the payload is the user's to scribble on
            live.set(p, o.bytes);
          } else if (live.size > 0) {
            const ptrs = [...live.keys()];
            const p = ptrs[o.pick % ptrs.length]!;
            heap.free(p);
            live.delete(p);
          }
          expect(heap.stats().inUseBlocks).toBe(live.size);
        }
        for (const p of live.keys()) heap.free(p);
        const st = readHeapStats(dv)!;
        expect(st).toMatchObject({ inUseBytes: 0, inUseBlocks: 0 });
        // Everything coalesced: one allocation of nearly the whole heap succeeds again.
        expect(heap.malloc(MEM - HEAP_START - 128)).not.toBe(0);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('detects double free and foreign pointers', () => {
    const dv = new DataView(new ArrayBuffer(1 << 16));
    const heap = new Heap(dv, true);
    const p = heap.malloc(100);
    heap.free(p);
    expect(() => heap.free(p)).toThrow(HeapCorruption);
    expect(() => heap.free(p + 8)).toThrow(HeapCorruption);
    expect(() => heap.free(12)).toThrow(HeapCorruption);
    expect(() => heap.free(1.5)).toThrow(HeapCorruption);
    heap.free(0);
  });

  it('reads no stats from memory without a formatted heap', () => {
    expect(readHeapStats(new DataView(new ArrayBuffer(1 << 16)))).toBeNull();
  });
});
