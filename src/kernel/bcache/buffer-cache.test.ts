import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, MemoryBlockDevice } from '../../disk/index.js';
import { BufferCache } from './buffer-cache.js';
import { rawCommit, rawCopyIn, rawCopyOut, rawPrefetch, RAW_EBUSY, RAW_EPERM } from './raw-access.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
console.log(`buffer-cache properties: SEED=${seed}`);
const root = { pid: 1, uid: 0 };

describe('BufferCache', () => {
  it('never exceeds its page budget and never evicts dirty, pinned or locked pages (property)', () => {
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

describe('raw device access through the cache (thesis §3.3.1)', () => {
  it('prefetches, copies, commits durably, and notifies once per request', async () => {
    const dev = new MemoryBlockDevice({ blockCount: 32 });
    const c = new BufferCache(dev, 16);
    const data = new Uint8Array(BLOCK_SIZE).fill(0x42);
    expect(rawCopyIn(c, root, 7, 0, data)).toBe(0);
    const done = await new Promise<[number, number, number]>((r) => expect(rawCommit(c, root, 0, 32, 99, (...a) => r(a))).toBe(0));
    expect(done).toEqual([99, 0, 0]);
    expect(dev.durableImage().get(7)?.[5]).toBe(0x42);
    c.detachPage(c.peek(7)!);
    const got = await new Promise<[number, number, number]>((r) => expect(rawPrefetch(c, root, 5, 4, 7, (...a) => r(a))).toBe(0));
    expect(got[2]).toBe(0);
    const out = new Uint8Array(16);
    expect(rawCopyOut(c, root, 7, 100, out)).toBe(0);
    expect(out.every((v) => v === 0x42)).toBe(true);
  });

  it('refuses non-root callers, bad ranges and XN-registered blocks', () => {
    const dev = new MemoryBlockDevice({ blockCount: 8 });
    const c = new BufferCache(dev, 4);
    const sink = () => undefined;
    expect(rawPrefetch(c, { pid: 2, uid: 1000 }, 0, 1, 0, sink)).toBe(-RAW_EPERM);
    expect(rawPrefetch(c, root, 7, 2, 0, sink)).toBeLessThan(0);
    expect(rawPrefetch(c, root, 0, 0, 0, sink)).toBeLessThan(0);
    c.ensure(3).reg = { type: 4, parentDb: -1, parentOff: 0, parentSlot: 0, initialized: true, uninitChildren: 0 };
    expect(rawCommit(c, root, 0, 8, 0, sink)).toBe(-RAW_EBUSY);
    expect(rawCopyIn(c, root, 3, 0, new Uint8Array(BLOCK_SIZE))).toBe(-RAW_EBUSY);
  });
});
