/**
 * The machine's disk booted in-process (memory NICs, no root): created and formatted when
 * missing, XN online, the XN and raw-device system calls reachable from processes, the admin
 * routes, a clean stop that writes back what processes left dirty, persistence across a restart
 * (same type ids, roots, data), and refusal of foreign or damaged disk files.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { formatDiskFile, SqliteBlockDevice } from '../src/disk/index.js';
import { isDaemonError } from '../src/errors.js';
import { O_DIRECT } from '../src/kernel/abi/blkdev.js';
import { O_RDWR } from '../src/kernel/abi/layout.js';
import { XnClient } from '../src/kernel/abi/xn-client.js';
import { XN, XN_DB } from '../src/kernel/abi/xn.js';
import type { Libc } from '../src/kernel/abi/libc.js';
import { dataBlock, fileMods, FILE_PTR_OFF } from '../src/kernel/xn/testing/libfs-format.js';
import { dirTypeOf, makeFile, makeRootDir, mountRootDir } from '../src/kernel/xn/testing/libfs-user.js';
import { runXnProcess } from '../src/kernel/xn/testing/stack.js';
import { bootMachine, type Machine } from '../src/machine.js';
import { rootLogger } from '../src/util/log.js';

const dir = mkdtempSync(join(tmpdir(), `machine-disk-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (over: Record<string, unknown> = {}) =>
  loadConfig({ overrides: { nicBackend: 'memory', admin: { port: 0 }, log: { level: 'silent' }, disk: { formatBlocks: 1024, poolPages: 512, cachePages: 256, quickCheck: false, ...over } } });

const runAs = <T>(m: Machine, uid: number, body: (xc: XnClient, sys: Libc) => Promise<T>): Promise<T> => runXnProcess(m.kernel, uid, body, { memoryBytes: 1 << 20 });

const get = async (m: Machine, path: string) => (await fetch(`${m.adminUrl}${path}`)).json() as Promise<Record<string, any>>;

describe('the machine’s disk', () => {
  it('is created under the base folder, serves XN and the raw device to processes, and keeps types, roots and data across a restart', async () => {
    const base = join(dir, 'a');
    const m1 = await bootMachine(config(), { log: rootLogger(), baseDir: base });
    const path = join(base, 'var', 'exolinux-disk.db');
    let ids: { dir: number; root: number; file: number; dirty: number };
    try {
      expect(m1.disk).toMatchObject({ path, created: true, ephemeral: false });
      expect(m1.disk.boot).toMatchObject({ code: XN.SUCCESS, formatted: true });
      // Every XN and raw-device call the table declares is implemented in the running machine.
      expect(m1.kernel.syscallTable().filter((d) => (d.owner === 'xn' || d.owner === 'blockdev') && !d.implemented).map((d) => d.name)).toEqual([]);
      ids = await runAs(m1, 0, async (xc) => {
        const d = await dirTypeOf(xc);
        const root = await makeRootDir(xc, 'www', d, 0o644);
        const file = await makeFile(xc, root, 0, 7, 2);
        // A file written but not written back: the machine's stop must write it.
        const dirty = xc.findFree(0, 1);
        expect(xc.alloc(root * 4096, { db: dirty, nelem: 1, type: XN_DB, slot: 1, mods: fileMods(1, dirty, 1) })).toBe(XN.SUCCESS);
        expect(xc.bind(dirty)).toBe(XN.SUCCESS);
        expect(xc.writeb(dirty * 4096, dataBlock(99 * 16))).toBe(XN.SUCCESS);
        return { dir: d, root, file, dirty };
      });
      // The raw device beside XN: a block XN does not use, through an O_DIRECT descriptor.
      const raw = await runAs(m1, 0, async (_xc, sys) => {
        const fd = sys.call('blkdev_open', O_RDWR | O_DIRECT);
        const buf = sys.malloc(4096);
        sys.mem.fill(0xab, buf, buf + 4096);
        return [await sys.call('blkdev_pwrite', fd, buf, 4096, 1000 * 4096), await sys.call('blkdev_pread', fd, buf, 4096, ids.file * 4096)];
      });
      expect(raw).toEqual([4096, -16]); // XN's registered block: EBUSY
      expect(await get(m1, '/v1/disk')).toMatchObject({ kind: 'sqlite', path, blockCount: 1024 });
      expect(await get(m1, '/v1/xn')).toMatchObject({ online: true, boot: { formatted: true }, processes: 0, completions: { xn: { pending: 0 } } });
      const roots = await get(m1, '/v1/xn/roots');
      expect(roots.roots.map((r: { name: string }) => r.name).sort()).toEqual(['libfs-dir', 'www']);
      const block = await get(m1, `/v1/xn/blocks/${ids.file}?source=disk`);
      expect(block).toMatchObject({ db: ids.file, allocated: true, source: 'disk', registry: { parentDb: ids.root } });
      expect(block.hexdump[0]).toMatch(/^0000: 70 00 00 00/);
    } finally {
      await m1.stop();
    }

    const m2 = await bootMachine(config(), { log: rootLogger(), baseDir: base });
    try {
      expect(m2.disk).toMatchObject({ created: false, boot: { code: XN.SUCCESS, wasClean: true, formatted: false } });
      const got = await runAs(m2, 1000, async (xc) => {
        const root = await mountRootDir(xc, 'www');
        const ptrs = new Uint8Array(16);
        xc.readb(root * 4096 + FILE_PTR_OFF, ptrs);
        const dv = new DataView(ptrs.buffer);
        const read = async (db: number, n: number) => {
          expect(xc.insertAttr(root * 4096, { db, nelem: n, type: XN_DB, slot: db === ids.file ? 0 : 1 })).toBe(XN.SUCCESS);
          expect(await xc.readinSync(db, n)).toBe(XN.SUCCESS);
          const b = new Uint8Array(4096 * n);
          xc.readb(db * 4096, b);
          return b;
        };
        const file = await read(ids.file, 2);
        const dirty = await read(ids.dirty, 1);
        return {
          type: xc.typeMount('libfs-dir'),
          root,
          slots: [dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true)],
          file: Buffer.compare(file.subarray(4096), dataBlock(7 * 16 + 1)) === 0,
          dirty: Buffer.compare(dirty, dataBlock(99 * 16)) === 0,
        };
      });
      expect(got).toEqual({ type: ids.dir, root: ids.root, slots: [ids.file, 2, ids.dirty], file: true, dirty: true });
      const fsck = await (await fetch(`${m2.adminUrl}/v1/xn/fsck`, { method: 'POST' })).json();
      expect(fsck).toMatchObject({ ok: true, dangling: 0, doublyOwned: 0, leaked: 0 });
    } finally {
      await m2.stop();
    }
    expect(existsSync(path)).toBe(true);
  });

  it('without a base folder the disk is ephemeral: in a temporary folder, removed at stop', async () => {
    const m = await bootMachine(config(), { log: rootLogger() });
    expect(m.disk.ephemeral).toBe(true);
    expect(existsSync(m.disk.path)).toBe(true);
    await m.stop();
    expect(existsSync(m.disk.path)).toBe(false);
  });

  it('refuses a foreign file (DISK_ERR_FOREIGN), a disk whose XN superblock is damaged (XN_ERR_INIT) and a cache budget that leaves no bounce pages', async () => {
    const broken = join(dir, 'broken.db');
    formatDiskFile(broken, { blockCount: 256 });
    const dev = await SqliteBlockDevice.open(broken, { poolPages: 128 });
    await dev.write(1, 1, new Uint8Array(4096).fill(0x77)); // block 1 is XN's superblock
    await dev.close();
    const xnErr = await bootMachine(config({ path: broken }), { log: rootLogger(), baseDir: dir }).catch((e: unknown) => e);
    expect(isDaemonError(xnErr, 'XN_ERR_INIT')).toBe(true);
    const foreign = join(dir, 'foreign.db');
    writeFileSync(foreign, 'this is not a disk'.repeat(400));
    const err = await bootMachine(config({ path: foreign }), { log: rootLogger(), baseDir: dir }).catch((e: unknown) => e);
    expect(isDaemonError(err, 'DISK_ERR_FOREIGN')).toBe(true);
    const bad = await bootMachine(config({ cachePages: 500 }), { log: rootLogger(), baseDir: dir }).catch((e: unknown) => e);
    expect(isDaemonError(bad, 'CONFIG_ERR_INVALID')).toBe(true);
  });
});
