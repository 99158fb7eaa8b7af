import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashTable, MIN_SLOTS } from './hash-table.js';
import { runSeed } from './testing/arbitraries.js';

describe('HashTable', () => {
  it('behaves like a Map under any sequence of set/delete/get, and keeps its load between 1/8 and 1/2 (property)', () => {
    const key = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 40 }), fc.constantFrom(0, -1, 2 ** 31 - 1, -(2 ** 31)));
    const op = fc.tuple(fc.constantFrom('set', 'delete', 'get'), key);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const t = new HashTable<string>();
        const m = new Map<number, string>();
        ops.forEach(([o, k], i) => {
          if (o === 'set') {
            t.set(k, `v${i}`);
            m.set(k, `v${i}`);
          } else if (o === 'delete') {
            expect(t.delete(k)).toBe(m.delete(k));
          }
          expect(t.get(k)).toBe(m.get(k));
          expect(t.size).toBe(m.size);
          expect(t.size * 2).toBeLessThanOrEqual(t.slots);
          if (t.slots > MIN_SLOTS) expect(t.size * 8).toBeGreaterThanOrEqual(t.slots / 2);
        });
        expect(new Map(t.entries())).toEqual(m);
        for (const [k, v] of m) expect(t.get(k)).toBe(v);
      }),
      { seed: runSeed('hash table'), numRuns: 500 },
    );
  });

  it('keeps probes short for sequential keys (addresses and ports of many connections)', () => {
    const t = new HashTable<number>();
    for (let i = 0; i < 10_000; i++) t.set((0xc6120000 + i) | 0, i);
    expect(t.size).toBe(10_000);
    expect(t.maxProbe()).toBeLessThan(12);
    for (let i = 0; i < 10_000; i++) expect(t.get((0xc6120000 + i) | 0)).toBe(i);
  });
});
