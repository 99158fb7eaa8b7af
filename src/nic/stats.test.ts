import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchBucketLabel, DROP_REASONS, NicStats } from './stats.js';
import { testSeed } from './testing/describe-net-device.js';

describe('NicStats', () => {
  it('lists every drop reason, zeros included, and counts each under its own name', () => {
    const s = new NicStats();
    s.drop('tx_queue_full');
    s.drop('rx_oversize', 3);
    s.drop('rx_runt', 0);
    const c = s.snapshot(5);
    expect(Object.keys(c.drops).sort()).toEqual([...DROP_REASONS].sort());
    expect(c.drops['tx_queue_full']).toBe(1);
    expect(c.drops['rx_oversize']).toBe(3);
    expect(c.drops['rx_runt']).toBe(0);
    expect(c.txQueueFrames).toBe(5);
  });

  it('labels batch buckets by powers of two', () => {
    expect([1, 2, 3, 4, 7, 8, 64, 65, 127, 128].map(batchBucketLabel)).toEqual([
      '1', '2-3', '2-3', '4-7', '4-7', '8-15', '64-127', '64-127', '64-127', '128-255',
    ]);
  });

  it('histogram: every batch in exactly one bucket whose range holds its size', () => {
    const seed = testSeed();
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 200 }), (sizes) => {
        const s = new NicStats();
        for (const n of sizes) s.rxBatch(n);
        s.rxBatch(0); // not a batch
        const c = s.snapshot(0);
        expect(c.rxBatches).toBe(sizes.length);
        expect(Object.values(c.rxBatchSizes).reduce((a, b) => a + b, 0)).toBe(sizes.length);
        for (const n of sizes) {
          const [lo, hi] = batchBucketLabel(n).split('-').map(Number);
          expect(n).toBeGreaterThanOrEqual(lo!);
          expect(n).toBeLessThanOrEqual(hi ?? lo!);
        }
      }),
      { seed, numRuns: 200 },
    );
  });
});
