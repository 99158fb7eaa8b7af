/**
 * The raw block device on the one buffer cache (thesis §3.3.1, the minimal alternative to XN:
 * asynchrony without protection) — the thick layer under the `blkdev_*`, `prefetch` and
 * `commit` system calls (`blkdev.ts`).
 *
 * - `rawPrefetch(…, block, n, requestId, notify)` reads the blocks of a range that are not cached
 *   into the cache and reports one completion `(requestId, block, status)` when all are in.
 * - `rawCommit(…)` writes the dirty cached blocks of a range back; one completion when durable.
 * - `rawRead(…, dst)` copies a range out: cached blocks (prefetched, or written through the
 *   cache and not yet committed) from their pages, the others straight from the disk without
 *   caching them — so reads always see the newest data.
 * - `rawWrite(…, src, direct)` copies a range in: `direct` (O_DIRECT) writes through to the disk
 *   and drops stale clean copies from the cache; otherwise the data goes into cache pages,
 *   dirty, for `rawCommit` to write.
 *
 * Plain numbers and kernel buffers in, `0`/negative Linux errno out. Only root (the device's
 * opener) may use it (`EPERM`); blocks XN has registered are refused (`EBUSY`): raw access under
 * a mounted XN would bypass its ordering rules. A block with I/O in flight, pinned, or — for a
 * direct write — dirty in the cache is `EBUSY` too (commit it first).
 */
import { BLOCK_SIZE, IO_OK } from '../../disk/index.js';
import { isDaemonError } from '../../errors.js';
import { EBUSY, EINVAL, EIO, ENOMEM, EPERM } from '../abi/errno.js';
import type { BufEntry, BufferCache } from './buffer-cache.js';

/** Who is calling: the process and its user (root = uid 0). */
export interface Caller {
  readonly pid: number;
  readonly uid: number;
}

/** Completion report: request id, first block of the request, status (0 or -errno / XN code). */
export type CompletionSink = (requestId: number, db: number, status: number) => void;

/** Largest run one prefetch/commit may name (blocks): bounds kernel work per call. */
export const RAW_MAX_BLOCKS = 4096;
/** Blocks one direct transfer moves through the device's bounce pages at a time. */
const BOUNCE_BLOCKS = 64;

function checkRange(cache: BufferCache, caller: Caller, block: number, n: number): number {
  if (caller.uid !== 0) return -EPERM;
  if (!Number.isInteger(block) || !Number.isInteger(n) || block < 0 || n < 1 || n > RAW_MAX_BLOCKS || block + n > cache.device.blockCount) {
    return -EINVAL;
  }
  for (let b = block; b < block + n; b++) if (cache.peek(b)?.reg != null) return -EBUSY;
  return 0;
}

/** Join several completions into one report. */
function joiner(parts: number, requestId: number, block: number, notify: CompletionSink): (st: number) => void {
  let left = parts;
  let status = 0;
  return (st) => {
    if (st !== IO_OK && status === 0) status = -EIO;
    if (--left === 0) notify(requestId, block, status);
  };
}

/** Read `[block, block+n)` into the cache; one completion when all are in. Returns 0 or -errno. */
export function rawPrefetch(cache: BufferCache, caller: Caller, block: number, n: number, requestId: number, notify: CompletionSink): number {
  const bad = checkRange(cache, caller, block, n);
  if (bad !== 0) return bad;
  // Runs of consecutive blocks that are not cached and not busy.
  const runs: BufEntry[][] = [];
  let run: BufEntry[] = [];
  const created: BufEntry[] = [];
  for (let b = block; b < block + n; b++) {
    const had = cache.peek(b);
    if (had !== undefined && (had.page >= 0 || had.locked)) {
      if (run.length > 0) runs.push(run);
      run = [];
      continue;
    }
    const e = cache.ensure(b);
    cache.pin(e); // hold the page until its read completes
    if (!cache.attachPage(e)) {
      for (const c of [...created, e]) {
        cache.unpin(c);
        cache.remove(c);
      }
      return -ENOMEM;
    }
    created.push(e);
    run.push(e);
  }
  if (run.length > 0) runs.push(run);
  if (runs.length === 0) {
    queueMicrotask(() => notify(requestId, block, 0));
    return 0;
  }
  const done = joiner(runs.length, requestId, block, notify);
  for (const r of runs) {
    cache.readRun(r, (st) => {
      for (const e of r) {
        cache.unpin(e);
        if (st !== IO_OK) cache.remove(e);
      }
      done(st);
    });
  }
  return 0;
}

/** Write back the dirty cached blocks of `[block, block+n)`; one completion when durable. */
export function rawCommit(cache: BufferCache, caller: Caller, block: number, n: number, requestId: number, notify: CompletionSink): number {
  const bad = checkRange(cache, caller, block, n);
  if (bad !== 0) return bad;
  const runs: BufEntry[][] = [];
  let run: BufEntry[] = [];
  for (let b = block; b < block + n; b++) {
    const e = cache.peek(b);
    if (e === undefined || !e.dirty || e.page < 0) {
      if (run.length > 0) runs.push(run);
      run = [];
      continue;
    }
    if (e.locked) return -EBUSY;
    run.push(e);
  }
  if (run.length > 0) runs.push(run);
  if (runs.length === 0) {
    queueMicrotask(() => notify(requestId, block, 0));
    return 0;
  }
  const done = joiner(runs.length, requestId, block, notify);
  for (const r of runs) cache.writeRuns([r], done);
  return 0;
}

/**
 * Kernel-internal: write every dirty cached block XN has not registered (raw buffered writes not
 * yet committed) as atomic groups of consecutive runs, and wait. What a sync does before the
 * disk is closed. Resolves to the number of blocks written (failures are counted by the cache).
 */
export async function rawSync(cache: BufferCache): Promise<number> {
  const dirty = [...cache.entries()].filter((e) => e.reg === null && e.dirty && e.page >= 0 && !e.locked).sort((a, b) => a.db - b.db);
  const runs: BufEntry[][] = [];
  for (const e of dirty) {
    const last = runs[runs.length - 1];
    if (last !== undefined && (last[last.length - 1] as BufEntry).db === e.db - 1 && last.length < RAW_MAX_BLOCKS) last.push(e);
    else runs.push([e]);
  }
  const sts = await Promise.all(runs.map((r) => new Promise<number>((resolve) => cache.writeRuns([r], resolve))));
  return runs.reduce((n, r, i) => n + (sts[i] === IO_OK ? r.length : 0), 0);
}

/**
 * Kernel-internal: drop the pages of every clean, idle block XN has not registered — what
 * `echo 1 > /proc/sys/vm/drop_caches` does for a raw disk's page cache (a benchmark runs it before
 * each timed run, so earlier runs' prefetched pages serve nothing). Dirty, locked, pinned and
 * registered blocks keep theirs. Returns how many pages were dropped.
 */
export function rawDropClean(cache: BufferCache): number {
  let dropped = 0;
  for (const e of cache.entries()) {
    if (e.reg !== null || e.page < 0 || e.dirty || e.locked || e.pins > 0) continue;
    cache.detachPage(e); // deleting the current entry does not disturb a Map iterator
    dropped++;
  }
  return dropped;
}

/** A cached page whose contents are current: not a read still in flight. */
function current(e: BufEntry | undefined): e is BufEntry {
  return e !== undefined && e.page >= 0 && (e.dirty || !e.locked);
}

/** -errno of a failed buffer-level device request. */
function errnoOf(err: unknown): number {
  if (isDaemonError(err, 'DISK_ERR_NO_PAGES')) return -ENOMEM;
  if (isDaemonError(err, 'DISK_ERR_RANGE')) return -EINVAL;
  return -EIO;
}

/** Move `[block, block+n)` between the disk and `buf` in bounce-sized pieces, one after another. */
async function direct(cache: BufferCache, write: boolean, block: number, n: number, buf: Uint8Array): Promise<number> {
  try {
    for (let k = 0; k < n; k += BOUNCE_BLOCKS) {
      const m = Math.min(BOUNCE_BLOCKS, n - k);
      const piece = buf.subarray(k * BLOCK_SIZE, (k + m) * BLOCK_SIZE);
      if (write) await cache.device.write(block + k, m, piece);
      else await cache.device.read(block + k, m, piece);
    }
    return 0;
  } catch (err) {
    return errnoOf(err);
  }
}

/**
 * Copy `[block, block+n)` into `dst` (n·4096 bytes): current cached blocks from their pages, runs
 * of the others from the disk (not cached). Resolves to 0 or -errno.
 */
export async function rawRead(cache: BufferCache, caller: Caller, block: number, n: number, dst: Uint8Array): Promise<number> {
  const bad = checkRange(cache, caller, block, n);
  if (bad !== 0) return bad;
  const reads: Promise<number>[] = [];
  let runStart = -1;
  for (let b = block; b < block + n; b++) {
    const e = cache.lookup(b);
    if (!current(e)) {
      if (runStart < 0) runStart = b;
      continue;
    }
    if (runStart >= 0) reads.push(direct(cache, false, runStart, b - runStart, dst.subarray((runStart - block) * BLOCK_SIZE, (b - block) * BLOCK_SIZE)));
    runStart = -1;
    dst.set(cache.bytes(e), (b - block) * BLOCK_SIZE);
  }
  if (runStart >= 0) reads.push(direct(cache, false, runStart, block + n - runStart, dst.subarray((runStart - block) * BLOCK_SIZE, n * BLOCK_SIZE)));
  const sts = await Promise.all(reads);
  return sts.find((s) => s !== 0) ?? 0;
}

/**
 * Copy `src` (n·4096 bytes) to `[block, block+n)`. `directIo`: write through to the disk (durable
 * when it resolves) after dropping clean cached copies; else into cache pages, dirty, at once
 * (all or nothing; -ENOMEM when the cache has no pages). 0 or -errno.
 */
export function rawWrite(cache: BufferCache, caller: Caller, block: number, n: number, src: Uint8Array, directIo: boolean): number | Promise<number> {
  const bad = checkRange(cache, caller, block, n);
  if (bad !== 0) return bad;
  for (let b = block; b < block + n; b++) {
    const e = cache.peek(b);
    if (e !== undefined && (e.locked || e.pins > 0 || (directIo && e.dirty && e.page >= 0))) return -EBUSY;
  }
  if (directIo) {
    for (let b = block; b < block + n; b++) {
      const e = cache.peek(b);
      if (e !== undefined) cache.detachPage(e);
    }
    return direct(cache, true, block, n, src);
  }
  const fresh: BufEntry[] = [];
  for (let b = block; b < block + n; b++) {
    const e = cache.ensure(b);
    if (e.page >= 0) continue;
    if (!cache.attachPage(e)) {
      for (const x of [...fresh, e]) cache.remove(x);
      return -ENOMEM;
    }
    cache.setDirty(e, true); // dirty at once: a clean fresh page could be evicted by the next attach
    fresh.push(e);
  }
  for (let b = block; b < block + n; b++) {
    const e = cache.peek(b) as BufEntry;
    cache.bytes(e).set(src.subarray((b - block) * BLOCK_SIZE, (b - block + 1) * BLOCK_SIZE));
    cache.setDirty(e, true);
  }
  return 0;
}
