/**
 * Wait queues and sleeps: how readiness travels from kernel objects to the calls that wait.
 *
 * Every pollable object owns a `WaitQueue`. When its state changes in a way that may make it
 * readable/writable/hung-up, it calls `wake(mask)` with the events that may now hold (a hint:
 * waiters re-check with `poll()`). Entries are callbacks: a `Sleep` (one blocked system call,
 * possibly on many queues, as select/poll need) or an epoll item (a persistent registration).
 *
 * Re-entrancy: `wake` runs entries synchronously inside the waker's call. A `Sleep` only records
 * that it was woken and settles its promise; the woken call retries in its own continuation,
 * never inside the waker — so no object is re-entered while it is mid-operation.
 */
import type { Clock, Timer } from '../../util/clock.js';

/** Something registered on a wait queue. `owner` is the pid it belongs to (0: the kernel). */
export interface WaitEntry {
  readonly owner: number;
  wake(mask: number): void;
}

/** The waiters of one object. */
export class WaitQueue {
  readonly #entries = new Set<WaitEntry>();

  add(e: WaitEntry): void {
    this.#entries.add(e);
  }
  remove(e: WaitEntry): void {
    this.#entries.delete(e);
  }
  /** Tell every entry that the events in `mask` may now hold. */
  wake(mask: number): void {
    if (this.#entries.size === 0) return;
    for (const e of this.#entries) e.wake(mask);
  }
  get size(): number {
    return this.#entries.size;
  }
  /** Entries (for invariant checks and the admin view). */
  entries(): IterableIterator<WaitEntry> {
    return this.#entries.values();
  }
}

/** Why a sleep ended. */
export const WOKEN = 0;
export const TIMED_OUT = 1;
export const INTERRUPTED = 2;
export type WakeReason = typeof WOKEN | typeof TIMED_OUT | typeof INTERRUPTED;

/** The set of sleeps a process is in, so signals can interrupt them and exit can cancel them. */
export interface SleepOwner {
  readonly pid: number;
  readonly sleeps: Set<Sleep>;
}

/**
 * One blocked system call: registered on one or more queues, with an optional deadline.
 * It settles exactly once — woken by an event in `mask`, timed out, or interrupted by a signal —
 * or never, when `cancel()` (process exit) drops it.
 */
export class Sleep implements WaitEntry {
  readonly owner: number;
  readonly promise: Promise<WakeReason>;
  readonly #mask: number;
  readonly #proc: SleepOwner;
  readonly #queues: WaitQueue[] = [];
  #resolve!: (r: WakeReason) => void;
  #timer: Timer | null = null;
  #done = false;

  /**
   * `deadlineMs`: absolute time on `clock` (Infinity: none). The sleep registers itself with the
   * process; add queues with `on()`.
   */
  constructor(proc: SleepOwner, mask: number, clock: Clock, deadlineMs: number) {
    this.owner = proc.pid;
    this.#proc = proc;
    this.#mask = mask;
    this.promise = new Promise<WakeReason>((resolve) => {
      this.#resolve = resolve;
    });
    proc.sleeps.add(this);
    if (deadlineMs !== Infinity) this.#timer = clock.setTimer(Math.max(0, deadlineMs - clock.now()), () => this.#finish(TIMED_OUT));
  }

  /** Also wait on `q`. */
  on(q: WaitQueue): void {
    q.add(this);
    this.#queues.push(q);
  }

  wake(mask: number): void {
    if ((mask & this.#mask) !== 0) this.#finish(WOKEN);
  }

  /** A signal arrived for the owner. */
  interrupt(): void {
    this.#finish(INTERRUPTED);
  }

  /** The owner is gone: unregister everything and never settle. */
  cancel(): void {
    this.#unregister();
  }

  #finish(reason: WakeReason): void {
    if (this.#done) return;
    this.#unregister();
    this.#resolve(reason);
  }

  #unregister(): void {
    this.#done = true;
    for (const q of this.#queues) q.remove(this);
    this.#queues.length = 0;
    this.#timer?.cancel();
    this.#timer = null;
    this.#proc.sleeps.delete(this);
  }
}
