/**
 * Thesis Figures 4-3 and 4-4, through the system-call boundary: a user process reads, then
 * writes, 4 MiB at random block-aligned locations with request sizes 4 KiB … 256 KiB on the
 * SQLite disk, eight ways:
 *
 * - raw:      `blkdev_pread` / `blkdev_pwrite` on an O_DIRECT raw-disk descriptor, one request at
 *             a time (the thesis's read(2)/write(2) on the raw SCSI disk: a copy between the
 *             caller's buffer and the medium, no cache) — on a 32 MiB area right after XN's
 *             files with the same layout and the same random positions (the raw device refuses
 *             the blocks XN has registered, as a partition of its own would be);
 * - xn-sync:  `xn_readin_sync` then `xn_readb` (copy out) and `xn_unbind`; writes `xn_bind` with
 *             XN_BIND_CONTENTS (copy in), `xn_writeback_sync`, `xn_unbind` — the call returns
 *             when done;
 * - xn-sync1: the same request in one call, `xn_read_sync` / `xn_write_sync` (not in Appendix A):
 *             the copy and the unbind happen inside the call, so it crosses the boundary once,
 *             as raw does;
 * - xn-semi:  the same with `xn_readin`/`xn_writeback` on a record-mode channel, then
 *             `read_wait` for the record (the thesis's semi-synchronous curve: notification cost);
 * - xn-counter: the same with Xok's notification instead: a counter in the caller's memory that
 *             the kernel decrements on completion, polled between `sched_yield`s (Xok slept on a
 *             wakeup predicate; here a process has no other way to wait on its memory);
 * - xn-async: every request of the 4 MiB issued on the channel first, then all records awaited;
 * - pc-semi:  the thesis's minimal alternative to XN (§3.3.1) on the raw device's area: reads
 *             `prefetch(fd, block, n, chan)`, the record, then `blkdev_pread` from the cache;
 *             writes `blkdev_pwrite` into the cache (a buffered descriptor), `commit`, the record;
 * - pc-async: the same with every request issued first, then all records awaited.
 *
 * Every contender copies the data out of (into) the cache or the medium once, so the comparison
 * moves the same bytes the same number of times. Before each timed run the harness drops the
 * clean raw pages from the buffer cache (what `echo 1 > /proc/sys/vm/drop_caches` does before a
 * run on Linux): otherwise pc's prefetched pages would serve later runs, and the O_DIRECT raw
 * reads too, from memory. XN's contenders unbind their pages after each request anyway.
 *
 * Method (../shared/BENCHMARKING.md): contenders interleaved A B C D per round with a rotating
 * start, ≥ 5 rounds, the same random locations for every contender of a round, medians and the
 * median of per-round ratios to raw; machine, load and command recorded; JSON (every run) and
 * markdown.
 *
 *   npm run build && node dist/bench/xn/xn-bench.js [--latency] [--rounds N] [--sizes 4,64] [--ops read,write]
 *                                                 [--contenders xn-sync,pc-async] [--out DIR]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { formatDiskFile, SqliteBlockDevice, THESIS_DISK, xorshift32 } from '../../src/disk/index.js';
import { O_DIRECT } from '../../src/kernel/abi/blkdev.js';
import { O_RDWR } from '../../src/kernel/abi/layout.js';
import { rawDropClean } from '../../src/kernel/bcache/index.js';
import { median } from '../lib/common.js';
import { CHAN_MODE_RECORD, CHAN_REC_BYTES, CHAN_REC_OFF_STATUS } from '../../src/kernel/abi/layout.js';
import type { Libc } from '../../src/kernel/abi/libc.js';
import type { XnClient } from '../../src/kernel/abi/xn-client.js';
import { XN, XN_BIND_CONTENTS, XN_DB, XN_NO_CHAN, XN_ZERO_FILL } from '../../src/kernel/abi/xn.js';
import { fileMods } from '../../src/kernel/xn/testing/libfs-format.js';
import { dirTypeOf, makeRootDir, must } from '../../src/kernel/xn/testing/libfs-user.js';
import { runXnProcess, xnStack } from '../../src/kernel/xn/testing/stack.js';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const latency = argv.includes('--latency');
const rounds = Math.max(1, Number(arg('--rounds') ?? 5) || 5);
const outDir = arg('--out') ?? join('bench', 'xn', 'results');
const SIZES_KB = (arg('--sizes') ?? '4,8,16,32,64,128,256').split(',').map(Number);
const TOTAL = 4 * 1024 * 1024;
const BLOCK = 4096;
const SLOTS = 32;
const EXTENT = 256; // blocks per file: 32 files × 1 MiB
const ALL_CONTENDERS = ['raw', 'xn-sync', 'xn-sync1', 'xn-semi', 'xn-counter', 'xn-async', 'pc-semi', 'pc-async'] as const;
type Contender = (typeof ALL_CONTENDERS)[number];
/** `--contenders raw,xn-sync` and `--ops write` narrow a run (for profiling); raw stays in as the baseline. */
const CONTENDERS = ALL_CONTENDERS.filter((c) => c === 'raw' || (arg('--contenders')?.split(',') ?? ALL_CONTENDERS).includes(c));
const OPS = (['read', 'write'] as const).filter((o) => (arg('--ops')?.split(',') ?? ['read', 'write']).includes(o));
const SCALE = 0.05;

interface Run {
  op: 'read' | 'write';
  sizeKB: number;
  round: number;
  contender: Contender;
  ms: number;
}

/**
 * The user program: lays out the files, then runs every (op, size, round, contender).
 * `dropCaches` is the harness's, run before each timed run (not a system call of the program).
 */
async function benchmark(xc: XnClient, sys: Libc, dropCaches: () => void, log: (s: string) => void): Promise<Run[]> {
  const init = await xc.init();
  if (init.code !== XN.SUCCESS) throw new Error(`xn_init ${init.code}`);
  const root = await makeRootDir(xc, 'bench', await dirTypeOf(xc));
  const buf = sys.malloc(256 * 1024);
  for (let i = 0; i < 256 * 1024; i++) sys.mem[buf + i] = i & 0xff;
  const extents: number[] = [];
  for (let s = 0; s < SLOTS; s++) {
    const db = xc.findFree(0, EXTENT);
    must(xc.alloc(root * BLOCK, { db, nelem: EXTENT, type: XN_DB, slot: s, mods: fileMods(s, db, EXTENT) }), 'alloc');
    must(xc.bind(db, EXTENT, XN_ZERO_FILL), 'bind');
    for (let k = 0; k < EXTENT; k += 64) must(sys.call('xn_writeb', (db + k) * BLOCK, buf, 64 * BLOCK), 'writeb');
    must(await xc.writebackSync(db, EXTENT), 'writeback');
    must(xc.unbind(db, EXTENT), 'unbind');
    extents.push(db);
  }
  must(await xc.writebackSync(root, 1), 'writeback root');
  const fd = sys.call('blkdev_open', O_RDWR | O_DIRECT);
  // prefetch/commit go through the cache: a buffered descriptor.
  const fdCached = sys.call('blkdev_open', O_RDWR);
  const chan = sys.channel(CHAN_MODE_RECORD, 2048);
  const recs = sys.malloc(256 * CHAN_REC_BYTES);
  const counter = sys.calloc(4);
  if (fd < 0 || fdCached < 0 || chan < 0 || counter === 0) throw new Error(`open ${fd} ${fdCached} ${chan}`);
  // The raw contender's area: the same layout right after XN's (contiguous) files, written with
  // data too (a never-written block is an absent row, which SQLite reads faster).
  const rawShift = SLOTS * EXTENT;
  if (extents.some((e, i) => e !== (extents[0] as number) + i * EXTENT)) throw new Error('XN files are not contiguous');
  for (let b = 0; b < SLOTS * EXTENT; b += 64) {
    if ((await sys.call('blkdev_pwrite', fd, buf, 64 * BLOCK, ((extents[0] as number) + rawShift + b) * BLOCK)) !== 64 * BLOCK) throw new Error('raw layout');
  }
  const rand = xorshift32(12345);

  /** Non-overlapping random aligned positions covering 4 MiB. */
  const positions = (n: number): number[] => {
    const all: number[] = [];
    for (const e of extents) for (let i = 0; i < EXTENT / n; i++) all.push(e + i * n);
    for (let i = all.length - 1; i > 0; i--) {
      const j = rand() % (i + 1);
      [all[i], all[j]] = [all[j] as number, all[i] as number];
    }
    return all.slice(0, TOTAL / (n * BLOCK));
  };
  /** Wait for `count` channel records; throw on a failed one. */
  const drain = async (count: number): Promise<void> => {
    for (let got = 0; got < count; ) {
      const bytes = await sys.read_wait(chan, recs, 256 * CHAN_REC_BYTES, -1);
      if (bytes < 0) throw new Error(`read_wait ${bytes}`);
      for (let at = 0; at < bytes; at += CHAN_REC_BYTES, got++) must(sys.view.getInt32(recs + at + CHAN_REC_OFF_STATUS, true), 'request');
    }
  };
  /**
   * Start one XN request notifying `on` (XN_NO_CHAN and no counter: synchronously) and return
   * when it is in flight or done.
   */
  const xnStart = async (op: 'read' | 'write', db: number, n: number, on: number, cnt = 0): Promise<void> => {
    const sync = on === XN_NO_CHAN && cnt === 0;
    if (op === 'read') {
      if (sync) must(await sys.call('xn_readin_sync', db, n), 'readin_sync');
      else if (sys.call('xn_readin', db, n, on, cnt) < 0) throw new Error('readin');
      return;
    }
    must(sys.call('xn_bind', db, n, XN_BIND_CONTENTS, buf), 'bind');
    if (sync) must(await sys.call('xn_writeback_sync', db, n), 'writeback_sync');
    else if (sys.call('xn_writeback', db, n, on, cnt) < 0) throw new Error('writeback');
  };
  /** Wait until the counter reaches zero (it says "done", not "how": xnFinish's readb/unbind fail if the I/O did). */
  const counted = async (): Promise<void> => {
    while (sys.view.getInt32(counter, true) > 0) await sys.sched_yield();
  };
  /** The minimal alternative: start a prefetch (read) or a buffered write and its commit, on the raw area. */
  const pcStart = async (op: 'read' | 'write', db: number, n: number): Promise<void> => {
    const at = db + rawShift;
    if (op === 'write' && (await sys.call('blkdev_pwrite', fdCached, buf, n * BLOCK, at * BLOCK)) !== n * BLOCK) throw new Error('pwrite');
    const id = op === 'read' ? sys.call('prefetch', fdCached, at, n, chan) : sys.call('commit', fdCached, at, n, chan);
    if (id < 0) throw new Error(`${op === 'read' ? 'prefetch' : 'commit'}: ${id}`);
  };
  /** After a prefetch: copy the blocks out of the cache. */
  const pcFinish = async (op: 'read' | 'write', db: number, n: number): Promise<void> => {
    if (op === 'read' && (await sys.call('blkdev_pread', fdCached, buf, n * BLOCK, (db + rawShift) * BLOCK)) !== n * BLOCK) throw new Error('pread');
  };
  /** After the I/O: copy a read out, and drop the pages. */
  const xnFinish = (op: 'read' | 'write', db: number, n: number): void => {
    if (op === 'read') must(sys.call('xn_readb', buf, db * BLOCK, n * BLOCK), 'readb');
    must(sys.call('xn_unbind', db, n), 'unbind');
  };

  const run = async (c: Contender, op: 'read' | 'write', pos: number[], n: number): Promise<number> => {
    dropCaches();
    const t0 = sys.nowMs();
    if (c === 'raw') {
      for (const db of pos) {
        const at = (db + rawShift) * BLOCK;
        const r = op === 'read' ? await sys.call('blkdev_pread', fd, buf, n * BLOCK, at) : await sys.call('blkdev_pwrite', fd, buf, n * BLOCK, at);
        if (r !== n * BLOCK) throw new Error(`raw ${op} ${r}`);
      }
    } else if (c === 'xn-sync' || c === 'xn-semi' || c === 'xn-counter') {
      for (const db of pos) {
        if (c === 'xn-counter') sys.view.setInt32(counter, 1, true);
        await xnStart(op, db, n, c === 'xn-semi' ? chan : XN_NO_CHAN, c === 'xn-counter' ? counter : 0);
        if (c === 'xn-semi') await drain(1);
        if (c === 'xn-counter') await counted();
        xnFinish(op, db, n);
      }
    } else if (c === 'xn-sync1') {
      for (const db of pos) must(op === 'read' ? await sys.call('xn_read_sync', buf, db, n) : await sys.call('xn_write_sync', db, n, buf), `${op}_sync`);
    } else if (c === 'xn-async') {
      for (const db of pos) await xnStart(op, db, n, chan);
      await drain(pos.length);
      for (const db of pos) xnFinish(op, db, n);
    } else if (c === 'pc-semi') {
      for (const db of pos) {
        await pcStart(op, db, n);
        await drain(1);
        await pcFinish(op, db, n);
      }
    } else {
      for (const db of pos) await pcStart(op, db, n);
      await drain(pos.length);
      for (const db of pos) await pcFinish(op, db, n);
    }
    return sys.nowMs() - t0;
  };

  const out: Run[] = [];
  for (const op of OPS) {
    for (const kb of SIZES_KB) {
      const n = kb / 4;
      await run('xn-sync', op, positions(n).slice(0, 8), n); // warm-up
      for (let r = 0; r < rounds; r++) {
        const pos = positions(n);
        const order = [...CONTENDERS];
        for (let k = 0; k < r % order.length; k++) order.push(order.shift() as Contender);
        for (const c of order) out.push({ op, sizeKB: kb, round: r, contender: c, ms: await run(c, op, pos, n) });
      }
      log(`${op} ${kb} KB done\n`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `xn-bench-${process.pid}-`));
  const disk = join(dir, 'bench.db');
  formatDiskFile(disk, { blockCount: 2 * SLOTS * EXTENT + 4096 });
  const dev = await SqliteBlockDevice.open(disk, { poolPages: 4096, latency: latency ? { ...THESIS_DISK, timeScale: SCALE } : null });
  const load0 = loadavg();
  let runs: Run[];
  try {
    const { kernel, xn, cache } = xnStack(dev, 3000);
    runs = await runXnProcess(kernel, 0, (xc, sys) => benchmark(xc, sys, () => rawDropClean(cache), (s) => process.stderr.write(s)), { memoryBytes: 64 << 20 });
    await xn.flushAll();
    await xn.shutdown();
  } finally {
    await dev.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const stats = dev.stats();
  const load1 = loadavg();

  const lines = [
    `# XN vs the raw disk through system calls (thesis Figures 4-3, 4-4)${latency ? ` — latency model: 1998 SCSI disk ×${SCALE}` : ' — no latency model (SQLite in the page cache)'}`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Linux ${release()}, Node ${process.version}, ${new Date().toISOString()}; load average ${load0[0]?.toFixed(2)} → ${load1[0]?.toFixed(2)} (shared machine). ${rounds} interleaved rounds; 4 MiB per run; medians (ms) and the median of per-round ratios to raw (< 1 = faster than raw).`,
    '',
    `Each cell: median ms (median of per-round ratios to raw). counter/semi: xn-counter over xn-semi per round (Xok's counter against the channel); raw/… : how many times faster than raw.`,
    '',
    `| op | size | ${CONTENDERS.join(' | ')} | semi/sync | counter/semi | raw/xn-async | raw/pc-async |`,
    `|---|---|${CONTENDERS.map(() => '---|').join('')}---|---|---|---|`,
  ];
  const summary: Record<string, unknown>[] = [];
  for (const op of OPS) {
    for (const kb of SIZES_KB) {
      const of = (c: Contender) => runs.filter((x) => x.op === op && x.sizeKB === kb && x.contender === c);
      const perRound = (c: Contender, base: Contender) => of(c).map((x) => x.ms / (of(base).find((y) => y.round === x.round) as Run).ms);
      const ratio = (c: Contender, base: Contender) => (CONTENDERS.includes(c) && CONTENDERS.includes(base) ? median(perRound(c, base)) : Number.NaN);
      const row = {
        op,
        sizeKB: kb,
        ms: Object.fromEntries(CONTENDERS.map((c) => [c, median(of(c).map((x) => x.ms))])),
        toRaw: Object.fromEntries(CONTENDERS.map((c) => [c, ratio(c, 'raw')])),
        semiOverSync: ratio('xn-semi', 'xn-sync'),
        counterOverSemi: ratio('xn-counter', 'xn-semi'),
        perRoundToRaw: Object.fromEntries(CONTENDERS.map((c) => [c, perRound(c, 'raw')])),
      };
      summary.push(row);
      const cell = (c: Contender) => `${(row.ms[c] as number).toFixed(1)} (${(row.toRaw[c] as number).toFixed(2)})`;
      const x = (v: number, inv = false) => (Number.isNaN(v) ? '–' : inv ? `${(1 / v).toFixed(2)}×` : v.toFixed(2));
      lines.push(`| ${op} | ${kb} KB | ${CONTENDERS.map(cell).join(' | ')} | ${x(row.semiOverSync)} | ${x(row.counterOverSemi)} | ${x(ratio('xn-async', 'raw'), true)} | ${x(ratio('pc-async', 'raw'), true)} |`);
    }
  }
  lines.push('', `Device counters at the end: ${JSON.stringify(stats)}`);
  mkdirSync(outDir, { recursive: true });
  const tag = latency ? 'latency' : 'nolatency';
  const command = `node ${relative(process.cwd(), process.argv[1] ?? 'xn-bench')} ${argv.join(' ')}`.trim();
  writeFileSync(
    join(outDir, `xn-bench-${tag}.json`),
    JSON.stringify({ latency, scale: latency ? SCALE : null, rounds, command, machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release(), node: process.version, loadavg: [load0, load1] }, summary, runs }, null, 2),
  );
  writeFileSync(join(outDir, `xn-bench-${tag}.md`), `${lines.join('\n')}\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
