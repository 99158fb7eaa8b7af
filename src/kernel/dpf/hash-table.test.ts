import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashTable, MIN_SLOTS, SHRINK_BELOW } from './hash-table.js';
import { runSeed } from './testing/arbitraries.js';

describe('HashTable', () => {
  it('behaves like a Map under any sequence of set/delete/get, and keeps its load between 1/(2·SHRINK_BELOW) and 1/2 (property)', () => {
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
          if (t.slots > MIN_SLOTS) expect(t.size * SHRINK_BELOW).toBeGreaterThanOrEqual(t.slots / 2);
        });
        expect(new Map(t.entries())).toEqual(m);
        for (const [k, v] of m) expect(t.get(k)).toBe(v);
      }),
      { seed: runSeed('hash table'), numRuns: 500 },
    );
  });

  it('does not reallocate while a per-connection table swings by a few entries, and still shrinks when emptied', () => {
    const t = new HashTable<number>();
    for (let k = 0; k < 9; k++) t.set(k, k);
    const slots = t.slots;
    const rows = t.rows;
    for (let swing = 0; swing < 10; swing++) {
      for (let k = 8; k >= 3; k--) t.delete(k);
      for (let k = 3; k < 9; k++) t.set(k, k);
    }
    expect(t.slots).toBe(slots);
    expect(t.rows).toBe(rows);
    for (let k = 0; k < 9; k++) t.delete(k);
    expect(t.slots).toBeLessThan(slots);
  });

  it('keeps each entry’s row, nested tables and entry with its key through growth, shrinking, deletion and wider rows (property)', () => {
    const op = fc.tuple(fc.constantFrom('set', 'set', 'delete', 'widen'), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 12 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const t = new HashTable<string>();
        const model = new Map<number, { row: number[]; tabs: HashTable<unknown>[] }>();
        for (const [o, key, len] of ops) {
          if (o === 'delete') {
            expect(t.delete(key)).toBe(model.delete(key));
          } else if (o === 'set' && !model.has(key)) {
            t.set(key, `e${key}`);
            const row = Array.from({ length: len }, (_, k) => key * 100 + k);
            (t.row(key, len) as Int32Array).set(row);
            const tabs = [new HashTable<unknown>()];
            t.tabs[t.find(key)] = tabs;
            model.set(key, { row, tabs });
          } else if (o === 'widen' && model.has(key)) {
            const m = model.get(key) as { row: number[] };
            const view = t.row(key, m.row.length + len) as Int32Array;
            for (let k = m.row.length; k < view.length; k++) view[k] = -k;
            m.row = [...view];
          }
        }
        for (const [key, m] of model) {
          const slot = t.find(key);
          expect(t.at(slot)).toBe(`e${key}`);
          expect([...(t.row(key, m.row.length) as Int32Array)]).toEqual(m.row);
          expect(t.tabs[slot]).toBe(m.tabs);
        }
        expect(t.size).toBe(model.size);
      }),
      { seed: runSeed('hash table rows'), numRuns: 300 },
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
