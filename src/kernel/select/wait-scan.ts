/**
 * The engine select and poll share: a list of (fd, interest) pairs copied in once, a scan that
 * asks every file for its readiness, and — when nothing is ready and the caller may wait — one
 * `Sleep` registered on every file's wait queue, re-scanning after each wake-up (as Linux's
 * do_select/do_poll do). Scans are O(n) by nature; epoll exists for the O(ready) case.
 */
import { EINTR } from '../abi/errno.js';
import type { Clock } from '../../util/clock.js';
import type { Process } from '../proc/process.js';
import { INTERRUPTED, Sleep, TIMED_OUT } from '../proc/wait.js';

/** Interest list of one call. `fds`/`interest` have room for at least `n` entries. */
export interface ScanList {
  n: number;
  fds: Int32Array;
  /** POLL* bits the caller asked for (POLLERR|POLLHUP are always reported). */
  interest: Uint16Array;
  /** Filled by a scan: reported events per entry. */
  revents: Uint16Array;
}

/** A reusable interest list for the calls that return without waiting. */
export class ScanScratch implements ScanList {
  n = 0;
  fds = new Int32Array(64);
  interest = new Uint16Array(64);
  revents = new Uint16Array(64);
  #bits = new Uint8Array(3 * 128);

  /** Kernel room (≥ 3 × `setBytes`) for three select bitmaps, copied here once. */
  bitmaps(setBytes: number): Uint8Array {
    if (this.#bits.length < 3 * setBytes) this.#bits = new Uint8Array(3 * setBytes);
    return this.#bits;
  }

  /** Make room for `n` entries and set the count. */
  reset(n: number): void {
    if (this.fds.length < n) {
      const cap = Math.max(n, 2 * this.fds.length);
      this.fds = new Int32Array(cap);
      this.interest = new Uint16Array(cap);
      this.revents = new Uint16Array(cap);
    }
    this.n = n;
  }

  /** An independent copy, for a call that is going to wait (the scratch is reused meanwhile). */
  snapshot(): ScanList {
    return { n: this.n, fds: this.fds.slice(0, this.n), interest: this.interest.slice(0, this.n), revents: this.revents.slice(0, this.n) };
  }
}

/**
 * Wait until `rescan()` reports something (> 0) or fails (< 0), the deadline passes (returns
 * `rescan()`'s last result, i.e. 0) or a signal interrupts (-EINTR). The files waited on are
 * looked up again before every sleep, so a descriptor closed meanwhile is seen by the scan.
 */
export async function waitAndRescan(p: Process, clock: Clock, list: ScanList, deadlineMs: number, rescan: () => number): Promise<number> {
  for (;;) {
    const sleep = new Sleep(p, 0xffff, clock, deadlineMs);
    for (let i = 0; i < list.n; i++) {
      const fd = list.fds[i]!;
      const f = fd >= 0 ? p.fds.get(fd) : undefined;
      if (f !== undefined) sleep.on(f.waitq);
    }
    const why = await sleep.promise;
    if (why === INTERRUPTED) return -EINTR;
    const r = rescan();
    if (r !== 0 || why === TIMED_OUT) return r;
  }
}

/** Absolute deadline on `clock` for a timeout in ms (-1 or any negative: forever). */
export function deadlineOf(clock: Clock, timeoutMs: number): number {
  return timeoutMs < 0 ? Infinity : clock.now() + timeoutMs;
}
