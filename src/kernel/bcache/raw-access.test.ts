/** The raw device on the one buffer cache (thesis §3.3.1): prefetch, commit, coherent read/write. */
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, MemoryBlockDevice } from '../../disk/index.js';
import { EBUSY, EINVAL, ENOMEM, EPERM } from '../abi/errno.js';
import { BufferCache } from './buffer-cache.js';
import { rawCommit, rawDropClean, rawPrefetch, rawRead, rawWrite } from './raw-access.js';

const root = { pid: 1, uid: 0 };
const sink = () => undefined;
const block = (v: number, n = 1) => new Uint8Array(n * BLOCK_SIZE).fill(v);
const call = (f: (done: (...a: [number, number, number]) => void) => number) =>
  new Promise<[number, number, number]>((resolve, reject) => {
    const r = f((...a) => resolve(a));
    if (r !== 0) reject(new Error(`refused ${r}`));
  });

describe('raw device access through the cache', () => {
  it('buffered writes land in the cache, reads see them, commit makes them durable and notifies once', async () => {
    const dev = new MemoryBlockDevice({ blockCount: 32 });
    const c = new BufferCache(dev, 16);
    expect(rawWrite(c, root, 7, 2, block(0x42, 2), false)).toBe(0);
    expect(dev.durableImage().get(7)).toBeUndefined(); // not on the disk yet
    const out = new Uint8Array(3 * BLOCK_SIZE);
    expect(await rawRead(c, root, 6, 3, out)).toBe(0);
    expect([out[0], out[BLOCK_SIZE], out[3 * BLOCK_SIZE - 1]]).toEqual([0, 0x42, 0x42]);
    expect(await call((d) => rawCommit(c, root, 0, 32, 99, d))).toEqual([99, 0, 0]);
    expect(dev.durableImage().get(8)?.[5]).toBe(0x42);
    expect(c.peek(7)?.dirty).toBe(false);
  });

  it('prefetch brings blocks into the cache; a read then takes them from there without disk I/O', async () => {
    const dev = new MemoryBlockDevice({ blockCount: 32 });
    const c = new BufferCache(dev, 16);
    await dev.write(5, 4, block(9, 4));
    expect(await call((d) => rawPrefetch(c, root, 5, 4, 7, d))).toEqual([7, 5, 0]);
    const reads = dev.stats().readRequests;
    const out = new Uint8Array(4 * BLOCK_SIZE);
    expect(await rawRead(c, root, 5, 4, out)).toBe(0);
    expect(out.every((v) => v === 9)).toBe(true);
    expect(dev.stats().readRequests).toBe(reads);
    expect(c.stats().hits).toBe(4);
  });

  it('direct writes go to the disk and drop stale clean copies; a dirty cached block must be committed first', async () => {
    const dev = new MemoryBlockDevice({ blockCount: 32 });
    const c = new BufferCache(dev, 16);
    await call((d) => rawPrefetch(c, root, 3, 1, 1, d));
    expect(await rawWrite(c, root, 3, 1, block(5), true)).toBe(0);
    expect(c.peek(3)).toBeUndefined();
    expect(dev.durableImage().get(3)?.[0]).toBe(5);
    expect(rawWrite(c, root, 4, 1, block(6), false)).toBe(0);
    expect(rawWrite(c, root, 4, 1, block(7), true)).toBe(-EBUSY);
    const out = new Uint8Array(2 * BLOCK_SIZE);
    expect(await rawRead(c, root, 3, 2, out)).toBe(0);
    expect([out[0], out[BLOCK_SIZE]]).toEqual([5, 6]);
  });

  it('large direct transfers go through bounded bounce pages', async () => {
    const dev = new MemoryBlockDevice({ blockCount: 512, poolPages: 80 });
    const c = new BufferCache(dev, 8);
    const data = new Uint8Array(300 * BLOCK_SIZE).map((_v, i) => i * 7);
    expect(await rawWrite(c, root, 10, 300, data, true)).toBe(0);
    const out = new Uint8Array(300 * BLOCK_SIZE);
    expect(await rawRead(c, root, 10, 300, out)).toBe(0);
    expect(Buffer.compare(out, data)).toBe(0);
  });

  it('refuses non-root callers, bad ranges, XN-registered blocks, and buffered writes beyond the cache', async () => {
    const dev = new MemoryBlockDevice({ blockCount: 8 });
    const c = new BufferCache(dev, 4);
    expect(rawPrefetch(c, { pid: 2, uid: 1000 }, 0, 1, 0, sink)).toBe(-EPERM);
    expect(rawPrefetch(c, root, 7, 2, 0, sink)).toBe(-EINVAL);
    expect(rawPrefetch(c, root, 0, 0, 0, sink)).toBe(-EINVAL);
    expect(await rawRead(c, root, -1, 1, new Uint8Array(BLOCK_SIZE))).toBe(-EINVAL);
    c.ensure(3).reg = { type: 4, parentDb: -1, parentOff: 0, parentSlot: 0, initialized: true, uninitChildren: 0 };
    expect(rawCommit(c, root, 0, 8, 0, sink)).toBe(-EBUSY);
    expect(rawWrite(c, root, 3, 1, block(1), false)).toBe(-EBUSY);
    expect(await rawRead(c, root, 2, 2, new Uint8Array(2 * BLOCK_SIZE))).toBe(-EBUSY);
    expect(rawWrite(c, root, 4, 4, block(1, 4), false)).toBe(0);
    expect(rawWrite(c, root, 0, 2, block(1, 2), false)).toBe(-ENOMEM); // 4 pages, all dirty
    expect(c.peek(0)).toBeUndefined(); // all or nothing
  });

  it('drop-clean releases the pages of clean idle raw blocks only: dirty, pinned and XN-registered blocks keep theirs, and reads stay correct', async () => {
    const dev = new MemoryBlockDevice({ blockCount: 32 });
    const c = new BufferCache(dev, 16);
    await dev.write(0, 8, block(3, 8));
    await call((d) => rawPrefetch(c, root, 0, 4, 1, d)); // 0..3 clean
    expect(rawWrite(c, root, 4, 1, block(8), false)).toBe(0); // 4 dirty
    c.pin(c.ensure(5));
    expect(c.attachPage(c.peek(5)!)).toBe(true); // 5 pinned
    const reg = c.ensure(6);
    reg.reg = { type: 4, parentDb: -1, parentOff: 0, parentSlot: 0, initialized: true, uninitChildren: 0 };
    expect(c.attachPage(reg)).toBe(true); // 6 registered
    expect(rawDropClean(c)).toBe(4);
    expect([0, 1, 2, 3].map((b) => c.peek(b))).toEqual([undefined, undefined, undefined, undefined]);
    expect([4, 5, 6].map((b) => (c.peek(b)?.page ?? -1) >= 0)).toEqual([true, true, true]);
    expect(c.stats().pages).toBe(3);
    const out = new Uint8Array(5 * BLOCK_SIZE);
    expect(await rawRead(c, root, 0, 5, out)).toBe(0);
    expect([out[0], out[4 * BLOCK_SIZE]]).toEqual([3, 8]);
  });
});
