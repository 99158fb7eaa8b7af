/**
 * The thesis's minimal alternative to XN (§3.3.1): asynchronous access to a raw block device
 * through the one buffer cache, with no protection beyond "only root opens the raw device".
 *
 * - `prefetch(caller, block, n, requestId, notify)` reads the blocks not yet cached into the
 *   cache and reports one completion `(requestId, block, status)` when all are in.
 * - `commit(caller, block, n, requestId, notify)` writes back the dirty cached blocks of the
 *   range and reports one completion when they are durable.
 * - `copyOut` / `copyIn` move bytes between a cached block and a kernel buffer (the syscall glue
 *   copies to and from user memory; the thesis used mmap after the prefetch notification).
 *
 * Thick layer: plain numbers and kernel buffers in, `0`/negative Linux errno out; the thin
 * syscall wrappers (fd → device, copyin/copyout, channel notification) are added by the kernel
 * boundary. Blocks XN has registered are refused (`EBUSY`): raw writes under a mounted XN
 * would bypass its ordering rules.
 */
import { BLOCK_SIZE, IO_OK } from '../../disk/index.js';
import type { BufEntry, BufferCache } from './buffer-cache.js';

/** Linux errno values returned (negated). (To be taken from src/kernel/abi once it exists.) */
export const RAW_EPERM = 1;
export const RAW_EIO = 5;
export const RAW_EAGAIN = 11;
export const RAW_ENOMEM = 12;
export const RAW_EBUSY = 16;
export const RAW_EINVAL = 22;

/** Who is calling: the process and its user (root = uid 0). */
export interface Caller {
  readonly pid: number;
  readonly uid: number;
}

/** Completion report: request id, first block of the request, status (0 or -errno / XN code). */
export type CompletionSink = (requestId: number, db: number, status: number) => void;

/** Largest run one prefetch/commit may name (blocks): bounds kernel work per call. */
export const RAW_MAX_BLOCKS = 4096;

function checkRange(cache: BufferCache, caller: Caller, block: number, n: number): number {
  if (caller.uid !== 0) return -RAW_EPERM;
  if (!Number.isInteger(block) || !Number.isInteger(n) || block < 0 || n < 1 || n > RAW_MAX_BLOCKS || block + n > cache.device.blockCount) {
    return -RAW_EINVAL;
  }
  for (let b = block; b < block + n; b++) if (cache.peek(b)?.reg != null) return -RAW_EBUSY;
  return 0;
}

/** Join several completions into one report. */
function joiner(parts: number, requestId: number, block: number, notify: CompletionSink): (st: number) => void {
  let left = parts;
  let status = 0;
  return (st) => {
    if (st !== IO_OK && status === 0) status = -RAW_EIO;
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
      return -RAW_ENOMEM;
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
    if (e.locked) return -RAW_EAGAIN;
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

/** Checks shared by the copies: caller, block, and `[offset, offset+len)` inside one block. */
function checkCopy(cache: BufferCache, caller: Caller, block: number, offset: number, len: number): number {
  const bad = checkRange(cache, caller, block, 1);
  if (bad !== 0) return bad;
  return Number.isInteger(offset) && offset >= 0 && offset + len <= BLOCK_SIZE ? 0 : -RAW_EINVAL;
}

/** Copy `dst.length` bytes of cached block `block` from `offset`. -EAGAIN when not cached. */
export function rawCopyOut(cache: BufferCache, caller: Caller, block: number, offset: number, dst: Uint8Array): number {
  const bad = checkCopy(cache, caller, block, offset, dst.length);
  if (bad !== 0) return bad;
  const e = cache.lookup(block);
  if (e === undefined || e.page < 0 || e.locked) return -RAW_EAGAIN;
  dst.set(cache.bytes(e).subarray(offset, offset + dst.length));
  return 0;
}

/** Copy `src` into cached block `block` at `offset` and mark it dirty (caches the block if
 * the write covers it whole; otherwise it must be cached: -EAGAIN). */
export function rawCopyIn(cache: BufferCache, caller: Caller, block: number, offset: number, src: Uint8Array): number {
  const bad = checkCopy(cache, caller, block, offset, src.length);
  if (bad !== 0) return bad;
  let e = cache.lookup(block);
  if (e !== undefined && e.locked) return -RAW_EAGAIN;
  if (e === undefined || e.page < 0) {
    if (src.length !== BLOCK_SIZE) return -RAW_EAGAIN;
    e = cache.ensure(block);
    if (!cache.attachPage(e)) {
      if (e.page < 0 && e.reg === null) cache.remove(e);
      return -RAW_ENOMEM;
    }
  }
  cache.bytes(e).set(src, offset);
  cache.setDirty(e, true);
  return 0;
}
