import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isDaemonError } from '../errors.js';
import type { BlockDevice } from './block-device.js';
import { BLOCK_SIZE, IO_EINVAL, IO_OK } from './constants.js';
import { MemoryBlockDevice } from './memory-device.js';
import { SqliteBlockDevice } from './sqlite-device.js';
import { formatDiskFile } from './sqlite-format.js';

const dir = mkdtempSync(join(tmpdir(), `xn-disk-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
console.log(`block-device properties: SEED=${seed}`);

function pattern(block: number, salt: number): Uint8Array {
  const b = new Uint8Array(BLOCK_SIZE);
  for (let i = 0; i < BLOCK_SIZE; i += 4) {
    b[i] = block & 0xff;
    b[i + 1] = (block >> 8) & 0xff;
    b[i + 2] = salt & 0xff;
    b[i + 3] = (i >> 2) & 0xff;
  }
  return b;
}

/** The contract, run against every implementation. */
function describeBlockDevice(name: string, make: (blocks: number) => Promise<BlockDevice>): void {
  describe(`BlockDevice contract: ${name}`, () => {
    it('reads never-written blocks as zeros and reads back what was written', async () => {
      const d = await make(128);
      try {
        const z = new Uint8Array(BLOCK_SIZE * 2).fill(0xee);
        await d.read(10, 2, z);
        expect(z.every((x) => x === 0)).toBe(true);
        const w = new Uint8Array(BLOCK_SIZE * 3);
        w.set(pattern(20, 1), 0);
        w.set(pattern(21, 1), BLOCK_SIZE);
        w.set(pattern(22, 1), 2 * BLOCK_SIZE);
        await d.write(20, 3, w);
        const r = new Uint8Array(BLOCK_SIZE * 3);
        await d.read(20, 3, r);
        expect(Buffer.compare(r, w)).toBe(0);
        // Writing zeros makes the block read as zeros again.
        await d.write(21, 1, new Uint8Array(BLOCK_SIZE));
        await d.read(21, 1, r);
        expect(r.subarray(0, BLOCK_SIZE).every((x) => x === 0)).toBe(true);
        await d.flush();
      } finally {
        await d.close();
      }
    });

    it('refuses out-of-range runs and foreign pages with IO_EINVAL, never a throw', async () => {
      const d = await make(16);
      try {
        const p = d.pool.alloc();
        const st = await Promise.all([
          new Promise<number>((r) => d.readPages(16, [p], r)),
          new Promise<number>((r) => d.readPages(-1, [p], r)),
          new Promise<number>((r) => d.readPages(0, [], r)),
          new Promise<number>((r) => d.writePages(15, [p, p], r)),
          new Promise<number>((r) => d.writePages(0, [d.pool.pageCount], r)),
          new Promise<number>((r) => d.writePages(1.5, [p], r)),
          new Promise<number>((r) => d.writeGroup([], r)),
        ]);
        expect(st).toEqual(new Array(7).fill(IO_EINVAL));
        expect(d.stats().invalid).toBe(7);
        d.pool.free(p);
        await expect(d.read(0, 2, new Uint8Array(BLOCK_SIZE))).rejects.toSatisfy((e) => isDaemonError(e, 'DISK_ERR_RANGE'));
      } finally {
        await d.close();
      }
    });

    it('serves many concurrent page requests (more than one queue of them) in order per block', async () => {
      const d = await make(1024);
      try {
        const n = 600;
        const pages: number[] = [];
        for (let i = 0; i < n; i++) {
          const p = d.pool.alloc();
          d.pool.page(p).set(pattern(i, 7));
          pages.push(p);
        }
        const st = await Promise.all(pages.map((p, i) => new Promise<number>((r) => d.writePages(i, [p], r))));
        expect(st.every((s) => s === IO_OK)).toBe(true);
        for (const p of pages) d.pool.page(p).fill(0);
        const rs = await Promise.all(pages.map((p, i) => new Promise<number>((r) => d.readPages(i, [p], r))));
        expect(rs.every((s) => s === IO_OK)).toBe(true);
        for (let i = 0; i < n; i++) expect(Buffer.compare(d.pool.page(pages[i] as number), pattern(i, 7))).toBe(0);
        // A long run (> 64 blocks) and a write group spanning two runs.
        const big = pages.slice(0, 150);
        expect(await new Promise<number>((r) => d.readPages(300, big, r))).toBe(IO_OK);
        expect(Buffer.compare(d.pool.page(big[149] as number), pattern(449, 7))).toBe(0);
        expect(await new Promise<number>((r) => d.writeGroup([{ block: 900, pages: big.slice(0, 70) }, { block: 5, pages: [big[0] as number] }], r))).toBe(IO_OK);
        const out = new Uint8Array(BLOCK_SIZE);
        await d.read(969, 1, out);
        expect(Buffer.compare(out, pattern(369, 7))).toBe(0);
        for (const p of pages) d.pool.free(p);
        expect(d.stats().inFlight).toBe(0);
      } finally {
        await d.close();
      }
    });

    it('matches a model under random write/read sequences (property)', async () => {
      const d = await make(64);
      try {
        const model = new Map<number, number>();
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.record({ w: fc.boolean(), b: fc.integer({ min: 0, max: 60 }), n: fc.integer({ min: 1, max: 4 }), salt: fc.integer({ min: 1, max: 255 }) }), { maxLength: 12 }),
            async (ops) => {
              for (const o of ops) {
                const buf = new Uint8Array(o.n * BLOCK_SIZE);
                if (o.w) {
                  for (let i = 0; i < o.n; i++) {
                    buf.set(pattern(o.b + i, o.salt), i * BLOCK_SIZE);
                    model.set(o.b + i, o.salt);
                  }
                  await d.write(o.b, o.n, buf);
                } else {
                  await d.read(o.b, o.n, buf);
                  for (let i = 0; i < o.n; i++) {
                    const salt = model.get(o.b + i);
                    const want = salt === undefined ? new Uint8Array(BLOCK_SIZE) : pattern(o.b + i, salt);
                    expect(Buffer.compare(buf.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE), want)).toBe(0);
                  }
                }
              }
            },
          ),
          { seed, numRuns: 40 },
        );
      } finally {
        await d.close();
      }
    });

    it('fails requests after close with DISK_ERR_CLOSED', async () => {
      const d = await make(8);
      await d.close();
      await expect(d.read(0, 1, new Uint8Array(BLOCK_SIZE))).rejects.toSatisfy((e) => isDaemonError(e, 'DISK_ERR_CLOSED'));
    });
  });
}

let fileNo = 0;
describeBlockDevice('memory', async (blocks) => new MemoryBlockDevice({ blockCount: blocks }));
describeBlockDevice('memory with write cache', async (blocks) => new MemoryBlockDevice({ blockCount: blocks, writeCache: true }));
describeBlockDevice('sqlite', async (blocks) => {
  const path = join(dir, `d${fileNo++}.db`);
  formatDiskFile(path, { blockCount: blocks });
  return SqliteBlockDevice.open(path, { poolPages: 1024 });
});

describe('SqliteBlockDevice', () => {
  it('persists across close and reopen, batches queued requests into few transactions', async () => {
    const path = join(dir, 'persist.db');
    formatDiskFile(path, { blockCount: 256 });
    const d = await SqliteBlockDevice.open(path, { poolPages: 512 });
    const pages: number[] = [];
    for (let i = 0; i < 200; i++) {
      const p = d.pool.alloc();
      d.pool.page(p).set(pattern(i, 3));
      pages.push(p);
    }
    await Promise.all(pages.map((p, i) => new Promise<number>((r) => d.writePages(i, [p], r))));
    const s = d.stats();
    expect(s['rowsWritten']).toBe(200);
    expect(s['transactions']).toBeLessThan(200); // queued writes shared transactions
    await d.close();
    const d2 = await SqliteBlockDevice.open(path);
    const out = new Uint8Array(BLOCK_SIZE);
    await d2.read(199, 1, out);
    expect(Buffer.compare(out, pattern(199, 3))).toBe(0);
    await d2.close();
  });

  it('refuses a missing, foreign, non-ExoLinux SQLite, wrong-version or corrupt file at open', async () => {
    const code = async (p: string) => SqliteBlockDevice.open(p).then(async (d) => { await d.close(); return 'opened'; }, (e: unknown) => (isDaemonError(e) ? e.code : String(e)));
    expect(await code(join(dir, 'nope.db'))).toBe('DISK_ERR_NOT_FOUND');
    const txt = join(dir, 'foreign.txt');
    writeFileSync(txt, 'hello, I am a text file and not a disk\n'.repeat(10));
    expect(await code(txt)).toBe('DISK_ERR_FOREIGN');
    const other = join(dir, 'other.db');
    const o = new Database(other);
    o.exec('CREATE TABLE t (x)');
    o.close();
    expect(await code(other)).toBe('DISK_ERR_FOREIGN');
    const v2 = join(dir, 'v2.db');
    formatDiskFile(v2, { blockCount: 8 });
    const dv = new Database(v2);
    dv.prepare("UPDATE meta SET value = 2 WHERE key = 'format_version'").run();
    dv.close();
    expect(await code(v2)).toBe('DISK_ERR_VERSION');
    // Corrupt: trash pages in the middle of a real disk file.
    const bad = join(dir, 'bad.db');
    formatDiskFile(bad, { blockCount: 64 });
    const d = await SqliteBlockDevice.open(bad);
    const buf = new Uint8Array(BLOCK_SIZE * 32);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7 + 1) & 0xff;
    await d.write(0, 32, buf);
    await d.close();
    const cp = new Database(bad);
    cp.pragma('wal_checkpoint(TRUNCATE)');
    cp.close();
    const { openSync, writeSync, closeSync } = await import('node:fs');
    const fd = openSync(bad, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 4096);
    writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, 4096 * 5);
    closeSync(fd);
    expect(await code(bad)).toBe('DISK_ERR_CORRUPT');
  });

  it('routes out-of-order completions (C-LOOK under the latency model) to the right requests', async () => {
    const path = join(dir, 'ooo.db');
    formatDiskFile(path, { blockCount: 2048 });
    const d = await SqliteBlockDevice.open(path, { poolPages: 1024, latency: { seekMinUs: 5, seekMaxUs: 50, rpm: 600000, blocksPerTrack: 16, timeScale: 1 } });
    const n = 700; // more than one queue's worth, so slots are reused while others are pending
    const pages: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = d.pool.alloc();
      d.pool.page(p).set(pattern((i * 7919) % 2048, 5));
      pages.push(p);
    }
    const blockOf = (i: number) => (i * 7919) % 2048;
    expect((await Promise.all(pages.map((p, i) => new Promise<number>((r) => d.writePages(blockOf(i), [p], r))))).every((s) => s === IO_OK)).toBe(true);
    for (const p of pages) d.pool.page(p).fill(0);
    expect((await Promise.all(pages.map((p, i) => new Promise<number>((r) => d.readPages(blockOf(i), [p], r))))).every((s) => s === IO_OK)).toBe(true);
    for (let i = 0; i < n; i++) expect(Buffer.compare(d.pool.page(pages[i] as number), pattern(blockOf(i), 5))).toBe(0);
    expect(d.stats().inFlight).toBe(0);
    await d.close();
  });

  it('reproduces the modeled disk: sequential runs cost less than scattered ones', async () => {
    const path = join(dir, 'latency.db');
    formatDiskFile(path, { blockCount: 4096 });
    const d = await SqliteBlockDevice.open(path, { latency: { seekMinUs: 100, seekMaxUs: 1000, rpm: 60000, blocksPerTrack: 32, timeScale: 1 } });
    const buf = new Uint8Array(BLOCK_SIZE);
    for (const b of [0, 4000, 10, 3000]) await d.read(b, 1, buf);
    const s = d.stats();
    expect(s['modeledUs']).toBeGreaterThan(4 * 100); // at least the seeks were modeled
    await d.close();
  });
});
