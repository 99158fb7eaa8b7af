/**
 * Issue #6 on the real daemon (built `dist/`, in a namespace of its own): the disk is created
 * and formatted when missing; on a disk holding an XN library file system the admin API answers
 * GET /v1/disk, /v1/bcache, /v1/xn, /v1/xn/roots, /v1/xn/types, /v1/xn/blocks/:db and POST
 * /v1/xn/fsck; the disk survives a clean restart (same type ids, roots, data) and a kill -9 (the
 * next boot rebuilds the freemap and finds no damage). `exolinuxd disk format|info|check` needs
 * no root and runs first.
 *
 * The library file system is written beforehand by a user process of an in-process kernel on
 * the same file (the daemon's shell can start only its built-in programs, and none of them
 * speaks XN yet).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiskFile, SqliteBlockDevice } from '../../src/disk/index.js';
import { XN } from '../../src/kernel/abi/xn.js';
import { runXnProcess, xnStack } from '../../src/kernel/xn/testing/stack.js';
import { dirTypeOf, makeFile, makeRootDir } from '../../src/kernel/xn/testing/libfs-user.js';
import { packageRoot } from '../../src/util/package-root.js';
import { startTestMachine, type TestMachine } from '../support/machine.js';
import { rootSkipReason } from '../support/root.js';

const skip = rootSkipReason();
const dir = mkdtempSync(join(tmpdir(), `xn-system-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const main = join(packageRoot(), 'dist', 'src', 'main.js');
const cli = async (...args: string[]) =>
  promisify(execFile)(process.execPath, [main, 'disk', ...args]).then(
    (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
  );

describe('exolinuxd disk format|info|check (the daemon binary)', () => {
  it('formats, describes and checks a disk file; refuses to overwrite and foreign files', async () => {
    const f = join(dir, 'cli.db');
    expect(await cli('format', f, '--blocks', '128')).toMatchObject({ code: 0, out: expect.stringContaining('128 blocks') });
    expect((await cli('format', f)).code).toBe(1);
    expect(JSON.parse((await cli('info', f)).out)).toMatchObject({ blockCount: 128, blockSizeBytes: 4096, formatVersion: 1 });
    expect(await cli('check', f)).toMatchObject({ code: 0, out: expect.stringContaining('ok') });
    expect(await cli('info', main)).toMatchObject({ code: 1, err: expect.stringContaining('DISK_ERR_FOREIGN') });
  });
});

interface Root {
  name: string;
  db: number;
  templateOf: number | null;
  type: number | string;
}

describe.skipIf(skip !== undefined)('XN on the running machine (issue #6)', () => {
  const disk = join(dir, 'xn.db');
  let ids: { type: number; root: number; file: number };
  let m: TestMachine | undefined;
  const start = async (name: string, config?: Record<string, unknown>) => {
    m = await startTestMachine({ name, config: { disk: { path: disk, quickCheck: false, poolPages: 1024, cachePages: 512 }, ...config } });
    return m;
  };
  const stop = async (kill = false) => {
    if (kill) m?.daemon.kill('SIGKILL');
    const code = await m?.stop();
    await m?.destroy();
    m = undefined;
    return code;
  };

  beforeAll(async () => {
    formatDiskFile(disk, { blockCount: 4096 });
    const dev = await SqliteBlockDevice.open(disk, { poolPages: 512 });
    const { kernel } = xnStack(dev, 256);
    ids = await runXnProcess(kernel, 0, async (xc) => {
      expect((await xc.init()).code).toBe(XN.SUCCESS);
      const type = await dirTypeOf(xc);
      const root = await makeRootDir(xc, 'www', type, 0o644);
      const file = await makeFile(xc, root, 3, 0x51, 2);
      expect(await xc.shutdown()).toBe(XN.SUCCESS);
      return { type, root, file };
    });
    await dev.close();
  });
  afterAll(async () => {
    await m?.destroy();
  });

  it('creates and formats a missing disk under the configuration’s folder', async () => {
    const t = await startTestMachine({ name: 'xnfresh', config: { disk: { formatBlocks: 256, quickCheck: false, poolPages: 512, cachePages: 256 } } });
    try {
      const d = await t.admin<{ path: string; blockCount: number }>('/v1/disk');
      expect(d.body).toMatchObject({ path: join(t.dir, 'var', 'exolinux-disk.db'), blockCount: 256 });
      expect(t.logs()).toContain('created and formatted');
      expect((await t.admin<{ boot: { formatted: boolean } }>('/v1/xn')).body.boot.formatted).toBe(true);
      expect(await t.stop()).toBe(0);
      expect(t.logs()).toContain('xn shut down cleanly');
    } finally {
      await t.destroy();
    }
  });

  it('answers every disk and XN route on the running machine', async () => {
    const t = await start('xnroutes');
    const disk0 = await t.admin<Record<string, unknown>>('/v1/disk');
    expect(disk0).toMatchObject({ status: 200, body: { kind: 'sqlite', path: disk, blockCount: 4096, blockSizeBytes: 4096, writeThrough: true } });
    expect((await t.admin<Record<string, number>>('/v1/bcache')).body).toMatchObject({ maxPages: 512, inFlight: 0 });
    expect((await t.admin('/v1/xn')).body).toMatchObject({ online: true, boot: { formatted: false, wasClean: true } });
    const roots = (await t.admin<{ roots: Root[] }>('/v1/xn/roots')).body.roots;
    expect(roots.find((r) => r.name === 'www')).toMatchObject({ db: ids.root, type: ids.type });
    expect(roots.find((r) => r.name === 'libfs-dir')).toMatchObject({ templateOf: ids.type });
    const types = (await t.admin<{ types: { id: number; name: string; owns: string[] }[] }>('/v1/xn/types')).body.types;
    expect(types.find((x) => x.id === ids.type)).toMatchObject({ name: 'libfs-dir', owns: expect.arrayContaining([expect.stringMatching(/bgei r1, 64/)]) });
    const blk = (await t.admin<{ hexdump: string[]; allocated: boolean; source: string }>(`/v1/xn/blocks/${ids.file + 1}?source=disk`)).body;
    expect(blk).toMatchObject({ allocated: true, source: 'disk' });
    expect(blk.hexdump[0]).toMatch(/^0000: 11 05 00 00/); // dataBlock(0x51 · 16 + 1)
    expect((await t.admin('/v1/xn/blocks/99999')).status).toBe(404);
    expect((await t.admin('/v1/xn/fsck', { method: 'POST' })).body).toMatchObject({ ok: true, dangling: 0, doublyOwned: 0, leaked: 0, roots: 2 });
    expect(await stop()).toBe(0);
  });

  it('survives a clean restart with the same type ids, roots and data, and a kill -9 with a rebuilt, undamaged freemap', async () => {
    let t = await start('xnagain');
    expect((await t.admin('/v1/xn')).body).toMatchObject({ boot: { wasClean: true } });
    expect((await t.admin<{ types: { id: number; name: string }[] }>('/v1/xn/types')).body.types.find((x) => x.name === 'libfs-dir')?.id).toBe(ids.type);
    await stop(true);
    t = await start('xnkilled');
    const xn = (await t.admin<{ boot: { wasClean: boolean; fsck: { dangling: number; doublyOwned: number; reachableBlocks: number } } }>('/v1/xn')).body;
    expect(xn.boot).toMatchObject({ wasClean: false, fsck: { dangling: 0, doublyOwned: 0, reachableBlocks: 1 + 1 + 2 } });
    const roots = (await t.admin<{ roots: Root[] }>('/v1/xn/roots')).body.roots;
    expect(roots.map((r) => r.name).sort()).toEqual(['libfs-dir', 'www']);
    const blk = (await t.admin<{ hexdump: string[] }>(`/v1/xn/blocks/${ids.file}?source=disk`)).body;
    expect(blk.hexdump[0]).toMatch(/^0000: 10 05 00 00/);
    expect((await t.admin('/v1/xn/fsck', { method: 'POST' })).body).toMatchObject({ ok: true });
    expect(await stop()).toBe(0);
  });
});
