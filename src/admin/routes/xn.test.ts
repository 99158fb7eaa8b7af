import { describe, expect, it } from 'vitest';
import { createAdminApp } from '../index.js';
import { BLOCK_SIZE, MemoryBlockDevice } from '../../disk/index.js';
import { BufferCache } from '../../kernel/bcache/index.js';
import { XN, XN_DB, XN_ZERO_FILL, Xn } from '../../kernel/xn/index.js';
import { dataBlock, dirType, fileMods, makeRootDir, writebackWait } from '../../kernel/xn/testing/libfs.js';
import { diskRoutes } from './disk.js';
import { xnRoutes } from './xn.js';

async function app() {
  const device = new MemoryBlockDevice({ blockCount: 512 });
  const cache = new BufferCache(device, 128);
  const xn = new Xn(cache);
  await xn.init();
  const ctx = xn.context(1, 0);
  const dir = await dirType(xn, ctx);
  const root = await makeRootDir(xn, ctx, 'www', dir);
  const f = xn.findFree(0, 1);
  expect(xn.alloc(ctx, root * BLOCK_SIZE, { db: f, nelem: 1, type: XN_DB, slot: 0, mods: fileMods(0, f, 1) })).toBe(XN.SUCCESS);
  xn.bind(ctx, f, XN_ZERO_FILL);
  xn.writeb(ctx, f * BLOCK_SIZE, dataBlock(3));
  await writebackWait(xn, ctx, [{ db: f, n: 1 }]);
  const a = await createAdminApp();
  await a.register(diskRoutes, { device, cache });
  await a.register(xnRoutes, { xn });
  return { a, xn, root, f, dir };
}

describe('admin routes: disk, bcache, xn', () => {
  it('shows the disk and the cache', async () => {
    const { a } = await app();
    const d = await a.inject({ method: 'GET', url: '/v1/disk' });
    expect(d.statusCode).toBe(200);
    expect(d.json()).toMatchObject({ kind: 'memory', blockCount: 512, blockSizeBytes: 4096, writeThrough: true });
    expect(d.json().stats.blocksWritten).toBeGreaterThan(0);
    const c = await a.inject({ method: 'GET', url: '/v1/bcache' });
    expect(c.json()).toMatchObject({ maxPages: 128 });
    expect(c.json().registered).toBeGreaterThan(0);
  });

  it('lists roots and types with disassembled UDFs', async () => {
    const { a, dir } = await app();
    const r = (await a.inject({ method: 'GET', url: '/v1/xn/roots' })).json();
    expect(r.roots.map((x: { name: string }) => x.name).sort()).toEqual(['libfs-dir', 'www']);
    const t = (await a.inject({ method: 'GET', url: '/v1/xn/types' })).json();
    const d = t.types.find((x: { id: number }) => x.id === dir);
    expect(d).toMatchObject({ name: 'libfs-dir', class: 'base', nslots: 96, allocatable: true });
    expect(d.owns[0]).toMatch(/bgei r1, 64/);
    expect(d.readSets[0]).toEqual([{ off: 64, len: 8 }]);
  });

  it('shows one block: registry entry, parents, hexdump; 404 and 400 with the error shape', async () => {
    const { a, f, root } = await app();
    const b = (await a.inject({ method: 'GET', url: `/v1/xn/blocks/${f}` })).json();
    expect(b).toMatchObject({ db: f, allocated: true, inCore: true, registry: { parentDb: root, initialized: true, dirty: false } });
    expect(b.parents[0].db).toBe(root);
    expect(b.hexdump[0]).toMatch(/^0000: 03 00 00 00/);
    const nf = await a.inject({ method: 'GET', url: '/v1/xn/blocks/999999' });
    expect(nf.statusCode).toBe(404);
    expect(nf.json().error.code).toBe('ADMIN_ERR_NOT_FOUND');
    const bad = await a.inject({ method: 'GET', url: '/v1/xn/blocks/abc' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('ADMIN_ERR_BAD_REQUEST');
  });

  it('runs an online fsck', async () => {
    const { a } = await app();
    const r = await a.inject({ method: 'POST', url: '/v1/xn/fsck', payload: {} });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, dangling: 0, doublyOwned: 0, leaked: 0, source: 'memory' });
    const bad = await a.inject({ method: 'POST', url: '/v1/xn/fsck', payload: { repair: true } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('ADMIN_ERR_BAD_REQUEST');
  });
});
