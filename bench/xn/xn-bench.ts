/**
 * Thesis Figures 4-3 and 4-4: 4 MB read, then written, at random block-aligned locations with
 * request sizes 4 KB…256 KB, on the SQLite disk:
 *
 * - raw:       `device.read/write` of each request, one at a time (a raw-device read(2)/write(2):
 *              a copy between the caller's buffer and the medium, no cache);
 * - xn-sync:   readin (or writeb + writeback) of each request, waiting for its completion
 *              callback before the next (the "synchronous" call);
 * - xn-semi:   the same, but the completion goes through a record queue the caller then reads
 *              (the channel-notification path of the thesis's "semi-synchronous" curve);
 * - xn-async:  every request of the 4 MB issued first, then all completions awaited.
 *
 * Method (BENCHMARKING.md): contenders interleaved A B C D per round, ≥ 5 rounds, the same
 * random locations for every contender of a round, medians and per-round ratios to raw.
 *
 *   node --import tsx bench/xn/xn-bench.ts [--latency] [--rounds N] [--out DIR]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, release } from 'node:os';
import { join } from 'node:path';
import { BLOCK_SIZE, formatDiskFile, SqliteBlockDevice, THESIS_DISK, xorshift32 } from '../../src/disk/index.js';
import { BufferCache } from '../../src/kernel/bcache/index.js';
import { XN, XN_DB, XN_ZERO_FILL, Xn, type XnContext } from '../../src/kernel/xn/index.js';
import { dataBlock, dirType, fileMods, makeRootDir, writebackWait } from '../../src/kernel/xn/testing/libfs.js';

const argv = process.argv.slice(2);
const latency = argv.includes('--latency');
const rounds = Number(argv[argv.indexOf('--rounds') + 1] ?? 5) || 5;
const outDir = argv.includes('--out') ? (argv[argv.indexOf('--out') + 1] as string) : join('bench', 'xn', 'results');
const SIZES_KB = [4, 8, 16, 32, 64, 128, 256];
const TOTAL = 4 * 1024 * 1024;
const SLOTS = 32;
const EXTENT = 256; // blocks per file extent: 32 × 1 MiB = 32 MiB of data
const CONTENDERS = ['raw', 'xn-sync', 'xn-semi', 'xn-async'] as const;
type Contender = (typeof CONTENDERS)[number];

/** A record queue standing in for a record-mode channel: push from the kernel, read by the process. */
class RecordQueue {
  readonly #q: number[] = [];
  #waiter: ((st: number) => void) | null = null;
  push = (_id: number, _db: number, st: number): void => {
    if (this.#waiter !== null) {
      const w = this.#waiter;
      this.#waiter = null;
      w(st);
    } else this.#q.push(st);
  };
  read(): Promise<number> {
    const v = this.#q.shift();
    if (v !== undefined) return Promise.resolve(v);
    return new Promise((r) => (this.#waiter = r));
  }
}

const nextU32 = xorshift32(12345);
const rand = (): number => nextU32() / 4294967296;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `xn-bench-${process.pid}-`));
  const disk = join(dir, 'bench.db');
  const blocks = SLOTS * EXTENT + 4096;
  formatDiskFile(disk, { blockCount: blocks });
  const scale = 0.05;
  const dev = await SqliteBlockDevice.open(disk, { poolPages: 4096, latency: latency ? { ...THESIS_DISK, timeScale: scale } : null });
  const cache = new BufferCache(dev, 3000);
  const xn = new Xn(cache);
  if ((await xn.init()).code !== XN.SUCCESS) throw new Error('xn init');
  const ctx: XnContext = xn.context(1, 0);
  const dtype = await dirType(xn, ctx);
  const root = await makeRootDir(xn, ctx, 'bench', dtype);
  // Lay out 32 extents of 256 blocks, written once (untimed).
  const extents: number[] = [];
  for (let s = 0; s < SLOTS; s++) {
    const db = xn.findFree(0, EXTENT);
    if (xn.alloc(ctx, root * BLOCK_SIZE, { db, nelem: EXTENT, type: XN_DB, slot: s, mods: fileMods(s, db, EXTENT) }) !== XN.SUCCESS) throw new Error(ctx.lastError);
    for (let k = 0; k < EXTENT; k++) {
      xn.bind(ctx, db + k, XN_ZERO_FILL);
      xn.writeb(ctx, (db + k) * BLOCK_SIZE, dataBlock(db + k));
    }
    if ((await writebackWait(xn, ctx, [{ db, n: EXTENT }])) !== XN.SUCCESS) throw new Error('setup writeback');
    for (let k = 0; k < EXTENT; k++) xn.unbind(ctx, db + k);
    extents.push(db);
  }
  if ((await writebackWait(xn, ctx, [{ db: root, n: 1 }])) !== XN.SUCCESS) throw new Error('root writeback');

  const userBuf = new Uint8Array(256 * 1024);
  for (let i = 0; i < userBuf.length; i++) userBuf[i] = i & 0xff;

  /** Non-overlapping random aligned request positions covering 4 MB. */
  function positions(sizeBlocks: number): number[] {
    const perExtent = EXTENT / sizeBlocks;
    const all: number[] = [];
    for (const e of extents) for (let i = 0; i < perExtent; i++) all.push(e + i * sizeBlocks);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [all[i], all[j]] = [all[j] as number, all[i] as number];
    }
    return all.slice(0, TOTAL / (sizeBlocks * BLOCK_SIZE));
  }

  const chan = new RecordQueue();
  const direct = (resolve: (st: number) => void) => (_id: number, _db: number, st: number) => resolve(st);
  const unbindAll = (db: number, n: number) => {
    for (let k = 0; k < n; k++) xn.unbind(ctx, db + k);
  };
  function xnStart(op: 'read' | 'write', db: number, n: number, sink: (id: number, db: number, st: number) => void): number {
    if (op === 'read') return xn.readin(ctx, db, n, db, sink);
    for (let k = 0; k < n; k++) {
      xn.bind(ctx, db + k, XN_ZERO_FILL);
      xn.writeb(ctx, (db + k) * BLOCK_SIZE, userBuf.subarray(k * BLOCK_SIZE, (k + 1) * BLOCK_SIZE));
    }
    return xn.writeback(ctx, db, n, db, sink);
  }

  async function run(c: Contender, op: 'read' | 'write', pos: number[], n: number): Promise<number> {
    const t0 = performance.now();
    if (c === 'raw') {
      for (const db of pos) {
        if (op === 'read') await dev.read(db, n, userBuf);
        else await dev.write(db, n, userBuf);
      }
    } else if (c === 'xn-sync') {
      for (const db of pos) {
        const st = await new Promise<number>((resolve) => {
          const code = xnStart(op, db, n, direct(resolve));
          if (code !== XN.SUCCESS) resolve(code);
        });
        if (st !== XN.SUCCESS) throw new Error(`xn ${op} ${st}`);
        unbindAll(db, n);
      }
    } else if (c === 'xn-semi') {
      for (const db of pos) {
        if (xnStart(op, db, n, chan.push) !== XN.SUCCESS) throw new Error('semi start');
        if ((await chan.read()) !== XN.SUCCESS) throw new Error('semi io');
        unbindAll(db, n);
      }
    } else {
      for (const db of pos) if (xnStart(op, db, n, chan.push) !== XN.SUCCESS) throw new Error('async start');
      for (let i = 0; i < pos.length; i++) if ((await chan.read()) !== XN.SUCCESS) throw new Error('async io');
      for (const db of pos) unbindAll(db, n);
    }
    return performance.now() - t0;
  }

  const raw: { op: string; sizeKB: number; round: number; contender: Contender; ms: number }[] = [];
  for (const op of ['read', 'write'] as const) {
    for (const kb of SIZES_KB) {
      const n = kb / 4;
      await run('xn-sync', op, positions(n).slice(0, 8), n); // warm-up
      for (let r = 0; r < rounds; r++) {
        const pos = positions(n);
        const order = [...CONTENDERS];
        for (let k = 0; k < r % order.length; k++) order.push(order.shift() as Contender);
        for (const c of order) raw.push({ op, sizeKB: kb, round: r, contender: c, ms: await run(c, op, pos, n) });
      }
      process.stderr.write(`${op} ${kb} KB done\n`);
    }
  }
  await xn.shutdown();
  const stats = dev.stats();
  await dev.close();
  rmSync(dir, { recursive: true, force: true });

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  };
  const lines = [
    `# XN vs raw disk (thesis Figures 4-3, 4-4)${latency ? ` — latency model: 1998 SCSI disk ×${scale}` : ' — no latency model (SQLite in the page cache)'}`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Linux ${release()}, Node ${process.version}, ${new Date().toISOString()}. ${rounds} interleaved rounds; 4 MiB per run; medians (ms) and median of per-round ratios to raw (< 1 = faster than raw).`,
    '',
    '| op | size | raw ms | xn-sync ms | ×raw | xn-semi ms | ×raw | xn-async ms | ×raw | raw/async |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const summary: Record<string, unknown>[] = [];
  for (const op of ['read', 'write']) {
    for (const kb of SIZES_KB) {
      const get = (c: Contender) => raw.filter((x) => x.op === op && x.sizeKB === kb && x.contender === c);
      const rawRuns = get('raw');
      const ratio = (c: Contender) => median(get(c).map((x) => x.ms / (rawRuns.find((y) => y.round === x.round) as { ms: number }).ms));
      const m = (c: Contender) => median(get(c).map((x) => x.ms));
      const row = { op, sizeKB: kb, rawMs: m('raw'), syncMs: m('xn-sync'), syncRatio: ratio('xn-sync'), semiMs: m('xn-semi'), semiRatio: ratio('xn-semi'), asyncMs: m('xn-async'), asyncRatio: ratio('xn-async') };
      summary.push(row);
      lines.push(`| ${op} | ${kb} KB | ${row.rawMs.toFixed(1)} | ${row.syncMs.toFixed(1)} | ${row.syncRatio.toFixed(2)} | ${row.semiMs.toFixed(1)} | ${row.semiRatio.toFixed(2)} | ${row.asyncMs.toFixed(1)} | ${row.asyncRatio.toFixed(2)} | ${(1 / row.asyncRatio).toFixed(2)}× |`);
    }
  }
  lines.push('', `Device counters at the end: ${JSON.stringify(stats)}`);
  mkdirSync(outDir, { recursive: true });
  const tag = latency ? 'latency' : 'nolatency';
  writeFileSync(join(outDir, `xn-bench-${tag}.json`), JSON.stringify({ latency, scale: latency ? scale : null, rounds, command: `node --import tsx bench/xn/xn-bench.ts ${argv.join(' ')}`, machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release(), node: process.version }, summary, raw }, null, 2));
  writeFileSync(join(outDir, `xn-bench-${tag}.md`), `${lines.join('\n')}\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
