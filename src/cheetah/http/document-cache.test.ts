import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DocumentCache, ENTRY_OVERHEAD_BYTES, type CacheEntry, type DocumentSource, type SourceError, type SourceStat } from './document-cache.js';
import { resolveHttpOptions, type HttpOptions } from './options.js';
import { createHttpStats } from './stats.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
const fcOpts = { seed, numRuns: 200 };
console.log(`document-cache.test fast-check seed=${seed} (SEED=${seed} reproduces)`);

/** A source that hands out a fresh copy per read and checks the release contract. */
class CheckingSource implements DocumentSource {
  files = new Map<string, { size: number; mtimeMs: number }>();
  outstanding = new Set<Uint8Array>();
  released: Uint8Array[] = [];
  stats = { stat: 0, read: 0 };
  failStat = false;
  failRead: SourceError | 'throw' | undefined;

  stat(path: string): Promise<SourceStat | SourceError> {
    this.stats.stat++;
    if (this.failStat) return Promise.reject(new Error('disk on fire'));
    const f = this.files.get(path);
    if (f !== undefined) return Promise.resolve({ kind: 'file', sizeBytes: f.size, mtimeMs: f.mtimeMs });
    if (path === '/dir') return Promise.resolve({ kind: 'directory' });
    if (path === '/dev') return Promise.resolve({ kind: 'other' });
    return Promise.resolve(path === '/secret' ? 'forbidden' : 'not-found');
  }
  read(path: string): Promise<Uint8Array | SourceError> {
    this.stats.read++;
    if (this.failRead === 'throw') throw new Error('sync throw');
    if (this.failRead !== undefined) return Promise.resolve(this.failRead);
    const f = this.files.get(path);
    if (f === undefined) return Promise.resolve('not-found');
    const b = new Uint8Array(f.size).fill(path.length);
    this.outstanding.add(b);
    return Promise.resolve(b);
  }
  release(bytes: Uint8Array): void {
    if (!this.outstanding.delete(bytes)) throw new Error('released twice or never handed out');
    this.released.push(bytes);
  }
}

function setup(opts: Partial<HttpOptions> = {}) {
  const source = new CheckingSource();
  const stats = createHttpStats().cache;
  const cache = new DocumentCache(source, resolveHttpOptions({ revalidateAfterMs: 1000, ...opts }), stats);
  return { source, stats, cache };
}

describe('document cache', () => {
  it('a miss loads through the source, then hits stay in memory until revalidation is due', async () => {
    const { source, stats, cache } = setup();
    source.files.set('/a.html', { size: 10, mtimeMs: 5000 });
    expect(cache.lookup('/a.html', 0)).toBeUndefined();
    const e = await cache.fetch('/a.html', 0);
    expect(e).toMatchObject({ kind: 'file', contentType: 'text/html; charset=utf-8', lastModifiedSeconds: 0 });
    expect(e.bytes.length).toBe(10);
    expect(cache.lookup('/a.html', 999)).toBe(e);
    expect(cache.lookup('/a.html', 1000)).toBeUndefined();
    expect(stats).toMatchObject({ hits: 1, misses: 1, loads: 1, entries: 1, bytes: 10 + ENTRY_OVERHEAD_BYTES + 2 * 7 });
  });

  it('Last-Modified is never later than the time the document was loaded (RFC 9110 §8.8.2.1)', async () => {
    const { source, cache } = setup();
    source.files.set('/f', { size: 1, mtimeMs: 10_000 });
    expect((await cache.fetch('/f', 4_500)).lastModifiedSeconds).toBe(4);
  });

  it('concurrent misses for one path share one load', async () => {
    const { source, stats, cache } = setup();
    source.files.set('/x', { size: 3, mtimeMs: 1 });
    const [a, b, c] = await Promise.all([cache.fetch('/x', 0), cache.fetch('/x', 0), cache.fetch('/x', 0)]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(source.stats).toEqual({ stat: 1, read: 1 });
    expect(stats.coalesced).toBe(2);
  });

  it('revalidation: unchanged size+mtime → same entry, stat only; changed → reloaded, old bytes released', async () => {
    const { source, stats, cache } = setup();
    source.files.set('/x', { size: 3, mtimeMs: 1 });
    const a = await cache.fetch('/x', 0);
    const a2 = await cache.fetch('/x', 2000);
    expect(a2).toBe(a);
    expect(source.stats).toEqual({ stat: 2, read: 1 });
    expect(stats.revalidated).toBe(1);
    expect(cache.lookup('/x', 2500)).toBe(a);
    source.files.set('/x', { size: 3, mtimeMs: 2 });
    const b = await cache.fetch('/x', 4000);
    expect(b).not.toBe(a);
    expect(b.etag).not.toBe(a.etag);
    expect(source.released).toEqual([a.bytes]);
    expect(stats.entries).toBe(1);
  });

  it('directories, absent and forbidden paths are cached as such', async () => {
    const { source, cache } = setup();
    expect((await cache.fetch('/dir', 0)).kind).toBe('directory');
    expect((await cache.fetch('/nope', 0)).kind).toBe('missing');
    expect((await cache.fetch('/secret', 0)).kind).toBe('forbidden');
    expect((await cache.fetch('/dev', 0)).kind).toBe('forbidden');
    expect(cache.lookup('/nope', 10)?.kind).toBe('missing');
    expect(source.stats.read).toBe(0);
  });

  it('source failures give an uncached error entry; a rejected promise or a throw is caught', async () => {
    const { source, stats, cache } = setup();
    source.files.set('/x', { size: 3, mtimeMs: 1 });
    source.failStat = true;
    expect((await cache.fetch('/x', 0)).kind).toBe('error');
    source.failStat = false;
    source.failRead = 'io-error';
    expect((await cache.fetch('/x', 0)).kind).toBe('error');
    source.failRead = 'throw';
    expect((await cache.fetch('/x', 0)).kind).toBe('error');
    expect(stats.loadErrors).toBe(3);
    expect(cache.lookup('/x', 0)).toBeUndefined();
    source.failRead = 'not-found'; // vanished between stat and read
    expect((await cache.fetch('/x', 0)).kind).toBe('missing');
  });

  it('documents over maxDocumentBytes are not read', async () => {
    const { source, stats, cache } = setup({ maxDocumentBytes: 100 });
    source.files.set('/big', { size: 101, mtimeMs: 1 });
    expect((await cache.fetch('/big', 0)).kind).toBe('too-large');
    expect(source.stats.read).toBe(0);
    expect(stats.documentTooLarge).toBe(1);
  });

  it('LRU: the least recently used entry is evicted to stay within the budget', async () => {
    const per = 1000 + ENTRY_OVERHEAD_BYTES + 4;
    const { source, stats, cache } = setup({ cacheBudgetBytes: 3 * per });
    for (const k of ['/a', '/b', '/c', '/d']) source.files.set(k, { size: 1000, mtimeMs: 1 });
    const a = await cache.fetch('/a', 0);
    await cache.fetch('/b', 0);
    await cache.fetch('/c', 0);
    cache.lookup('/a', 1); // a is now most recent; b is the LRU
    await cache.fetch('/d', 2);
    expect([...cache.entries()].map((e) => e.key)).toEqual(['/d', '/a', '/c']);
    expect(stats).toMatchObject({ evictions: 1, entries: 3, bytes: 3 * per });
    expect(source.released).toHaveLength(1);
    expect(cache.lookup('/a', 3)).toBe(a);
  });

  it('a pinned entry is evicted from the cache at once, its bytes released only after the last unpin', async () => {
    const per = 1000 + ENTRY_OVERHEAD_BYTES + 4;
    const { source, stats, cache } = setup({ cacheBudgetBytes: per });
    source.files.set('/a', { size: 1000, mtimeMs: 1 });
    source.files.set('/b', { size: 1000, mtimeMs: 1 });
    const a = await cache.fetch('/a', 0);
    cache.pin(a);
    cache.pin(a);
    await cache.fetch('/b', 0);
    expect(a.cached).toBe(false);
    expect(source.released).toEqual([]);
    cache.unpin(a);
    expect(source.released).toEqual([]);
    cache.unpin(a);
    expect(source.released).toEqual([a.bytes]);
    expect(a.released).toBe(true);
    cache.unpin(a); // extra unpin is harmless
    cache.drop(a);
    expect(stats.pinnedDocuments).toBe(0);
  });

  it('a document bigger than the whole budget is served transiently and released when unused', async () => {
    const { source, stats, cache } = setup({ cacheBudgetBytes: 600 });
    source.files.set('/big', { size: 1000, mtimeMs: 1 });
    const e = await cache.fetch('/big', 0);
    expect(e.cached).toBe(false);
    expect(stats).toMatchObject({ transientDocuments: 1, entries: 0, bytes: 0 });
    cache.pin(e);
    cache.unpin(e);
    expect(source.released).toEqual([e.bytes]);
  });

  it('property: under any sequence of fetches, pins and unpins the budget holds and every byte array is released exactly once, never while pinned', async () => {
    const keys = ['/a', '/b', '/c', '/d', '/e', '/f'];
    const op = fc.oneof(
      fc.record({ t: fc.constant('fetch' as const), k: fc.constantFrom(...keys), dt: fc.nat(1500) }),
      fc.record({ t: fc.constant('pin' as const), i: fc.nat(50) }),
      fc.record({ t: fc.constant('unpin' as const), i: fc.nat(50) }),
      fc.record({ t: fc.constant('touch' as const), k: fc.constantFrom(...keys) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.array(fc.nat(3000), { minLength: 6, maxLength: 6 }), async (ops, sizes) => {
        const { source, stats, cache } = setup({ cacheBudgetBytes: 5000, maxDocumentBytes: 100_000 });
        keys.forEach((k, i) => source.files.set(k, { size: sizes[i]!, mtimeMs: 1 }));
        let now = 0;
        const seen: CacheEntry[] = [];
        const pins: CacheEntry[] = [];
        for (const o of ops) {
          if (o.t === 'fetch') {
            now += o.dt;
            if (o.dt % 7 === 0) source.files.set(o.k, { size: sizes[keys.indexOf(o.k)]!, mtimeMs: now }); // the file changes
            const e = cache.lookup(o.k, now) ?? (await cache.fetch(o.k, now));
            seen.push(e);
            if (!e.cached) {
              // What the engine does with an entry it got: use (pin) or drop.
              cache.pin(e);
              pins.push(e);
            }
          } else if (o.t === 'pin' && seen.length > 0) {
            const e = seen[o.i % seen.length]!;
            if (!e.released) {
              cache.pin(e);
              pins.push(e);
            }
          } else if (o.t === 'unpin' && pins.length > 0) {
            const [e] = pins.splice(o.i % pins.length, 1);
            cache.unpin(e!);
          } else if (o.t === 'touch') {
            cache.lookup(o.k, now);
          }
          expect(stats.bytes).toBeLessThanOrEqual(5000);
          const listed = [...cache.entries()];
          expect(listed.length).toBe(stats.entries);
          expect(listed.reduce((s, e) => s + e.cost, 0)).toBe(stats.bytes);
          for (const e of pins) expect(e.released).toBe(false);
        }
        while (pins.length > 0) cache.unpin(pins.pop()!);
        // Everything not cached went back; everything cached did not.
        const cachedBytes = new Set([...cache.entries()].map((e) => e.bytes));
        for (const b of source.outstanding) expect(cachedBytes.has(b)).toBe(true);
        expect(stats.pinnedDocuments).toBe(0);
      }),
      fcOpts,
    );
  });
});
