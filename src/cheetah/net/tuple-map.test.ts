import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useSeed } from './testing/seed.js';
import { TupleMap } from './tuple-map.js';

useSeed('tuple-map');

describe('TupleMap', () => {
  it('behaves as a map of 4-tuples under random operations (model: a Map of string keys)', () => {
    const tuple = fc.tuple(fc.constantFrom(1, 0xc6120002), fc.constantFrom(80, 8080), fc.constantFrom(7, 0xc6120001, 0xffffffff), fc.constantFrom(1, 2, 40_000, 65_535));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('set', 'delete', 'get'), tuple, fc.nat()), { maxLength: 200 }), (ops) => {
        const m = new TupleMap<number>();
        const model = new Map<string, number>();
        for (const [op, [la, lp, ra, rp], v] of ops) {
          const k = `${la}:${lp}:${ra}:${rp}`;
          if (op === 'set') {
            m.set(la, lp, ra, rp, v);
            model.set(k, v);
          } else if (op === 'delete') {
            expect(m.delete(la, lp, ra, rp)).toBe(model.delete(k));
          }
          expect(m.get(la, lp, ra, rp)).toBe(model.get(k));
          expect(m.size).toBe(model.size);
        }
        expect([...m.values()].sort()).toEqual([...model.values()].sort());
      }),
    );
  });
});
