/**
 * Time as an injected dependency: protocol and kernel code never read the wall clock or arm
 * timers directly, so tests can drive them on a virtual clock.
 */

/** An armed timer; `cancel` is idempotent. */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional allowed). */
  nowMs(): number;
  /** Run `fn` once after `delayMs`. */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

/** The real clock: `performance.now()` and Node timers (unref'd: a timer never keeps the daemon alive by itself). */
export const systemClock: Clock = {
  nowMs: () => performance.now(),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/** A virtual clock for tests: time moves only when `advance` is called; due timers fire in order. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  nowMs(): number {
    return this.#now;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, delayMs), fn });
    return { cancel: () => this.#timers.delete(id) };
  }

  /** Move time forward by `ms`, firing every timer that falls due (including ones armed by fired timers). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.#timers) {
        if (t.at < nextAt || (t.at === nextAt && id < nextId)) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0 || nextAt > end) break;
      const t = this.#timers.get(nextId) as { at: number; fn: () => void };
      this.#timers.delete(nextId);
      this.#now = Math.max(this.#now, t.at);
      t.fn();
    }
    this.#now = end;
  }

  /** Timers still armed. */
  get pendingTimers(): number {
    return this.#timers.size;
  }
}
