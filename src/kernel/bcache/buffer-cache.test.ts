import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from '../../disk/index.js';
import { BufferCache } from './buffer-cache.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
console.log(`buffer-cache properties: SEED=${seed}`);

describe('BufferCache', () => {
  it('never exceeds its page budget, never evicts dirty, pinned or locked pages, and lists exactly the evictable ones (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ op: fc.constantFrom('attach', 'dirty', 'clean', 'pin', 'unpin', 'detach'), db: fc.integer({ min: 0, max: 40 }) }), { maxLength: 200 }),
        (ops) => {
          const dev = new MemoryBlockDevice({ blockCount: 64, poolPages: 80 });
          const c = new BufferCache(dev, 8);
          for (const { op, db } of ops) {
            const e = c.ensure(db);
            if (op === 'attach') {
              const busy = [...c.entries()].filter((x) => x.page >= 0 && (x.dirty || x.pins > 0)).map((x) => [x.db, x.page] as const);
              c.attachPage(e);
              for (const [b, p] of busy) expect(c.peek(b)?.page).toBe(p);
            } else if (op === 'dirty' && e.page >= 0) c.setDirty(e, true);
            else if (op === 'clean') c.setDirty(e, false);
            else if (op === 'pin') c.pin(e);
            else if (op === 'unpin') c.unpin(e);
            else if (op === 'detach' && e.pins === 0) c.detachPage(e);
            const s = c.stats();
            expect(s.pages).toBeLessThanOrEqual(8);
            expect(s.pages).toBe([...c.entries()].filter((x) => x.page >= 0).length);
            // The LRU list holds exactly the evictable pages.
            expect(s.evictable).toBe([...c.entries()].filter((x) => x.page >= 0 && !x.dirty && !x.locked && x.pins === 0).length);
          }
        },
      ),
      { seed, numRuns: 200 },
    );
  });

  it('evicts the least recently used clean page first and keeps registered entries without a page', () => {
    const dev = new MemoryBlockDevice({ blockCount: 16 });
    const c = new BufferCache(dev, 2);
    const a = c.ensure(1);
    const b = c.ensure(2);
    a.reg = { type: 4, parentDb: -1, parentOff: 0, parentSlot: 0, initialized: true, uninitChildren: 0 };
    c.attachPage(a);
    c.attachPage(b);
    c.lookup(1); // a is now more recent than b
    const x = c.ensure(3);
    expect(c.attachPage(x)).toBe(true);
    expect(c.peek(2)).toBeUndefined(); // unregistered b evicted and forgotten
    const y = c.ensure(4);
    expect(c.attachPage(y)).toBe(true);
    expect(c.peek(1)?.page).toBe(-1); // registered a keeps its entry
    c.setDirty(x, true);
    c.setDirty(y, true);
    expect(c.attachPage(c.ensure(5))).toBe(false);
    expect(c.stats().pageAllocFailures).toBe(1);
  });
});
