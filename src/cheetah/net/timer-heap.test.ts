import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useSeed } from './testing/seed.js';
import { TimerHeap, type TimerOwner } from './timer-heap.js';

useSeed('timer-heap');

describe('TimerHeap', () => {
  it('always yields the earliest deadline under random updates (model: a plain array)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(19), fc.oneof(fc.nat(1000), fc.constant(Infinity))), { maxLength: 200 }), (ops) => {
        const heap = new TimerHeap<TimerOwner>();
        const owners: TimerOwner[] = Array.from({ length: 20 }, () => ({ deadline: Infinity, heapIndex: -1 }));
        for (const [who, d] of ops) {
          heap.update(owners[who]!, d);
          const min = Math.min(...owners.map((o) => o.deadline));
          expect(heap.peekDeadline()).toBe(min);
          expect(heap.size).toBe(owners.filter((o) => o.deadline !== Infinity).length);
          for (const o of owners) expect(o.heapIndex >= 0).toBe(o.deadline !== Infinity);
        }
      }),
      { numRuns: 300 },
    );
  });
});
