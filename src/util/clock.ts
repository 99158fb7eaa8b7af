/**
 * Time as an injected dependency: kernel and protocol code never read ambient time; they ask the
 * `Clock` they were built with, so tests drive timeouts with a `VirtualClock` and never sleep.
 */

/** A cancellable timer handle. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional), arbitrary origin. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (for CLOCK_REALTIME). */
  wallNow(): number;
  /** Run `cb` once, `delayMs` from now (≥ 0). */
  setTimer(delayMs: number, cb: () => void): Timer;
}

/** Longest delay one `setTimeout` can take (Node fires longer ones after 1 ms). */
const MAX_TIMEOUT_MS = 0x7fff_ffff;

/**
 * Real time: `performance.now()` and `setTimeout` (unref'd: a pending timeout never keeps the
 * daemon alive). Delays beyond ~24.8 days are chained, since Node would otherwise fire them at once.
 */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }
  wallNow(): number {
    return Date.now();
  }
  setTimer(delayMs: number, cb: () => void): Timer {
    const deadline = this.now() + delayMs;
    let t: NodeJS.Timeout;
    const arm = (ms: number): void => {
      t = setTimeout(ms > MAX_TIMEOUT_MS ? () => arm(deadline - this.now()) : cb, Math.min(Math.max(0, ms), MAX_TIMEOUT_MS));
      t.unref();
    };
    arm(delayMs);
    return { cancel: () => clearTimeout(t) };
  }
}

interface VirtualTimer extends Timer {
  at: number;
  seq: number;
  cb: () => void;
  live: boolean;
}

/**
 * Time that moves only when told (`advance`). Timers fire in deadline order (ties in creation
 * order); a timer set by a firing timer for a deadline inside the same advance also fires.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: VirtualTimer[] = [];
  readonly #wallOrigin: number;

  constructor(startMs = 0, wallOriginMs = 1_700_000_000_000) {
    this.#now = startMs;
    this.#wallOrigin = wallOriginMs - startMs;
  }
  now(): number {
    return this.#now;
  }
  wallNow(): number {
    return this.#wallOrigin + this.#now;
  }
  setTimer(delayMs: number, cb: () => void): Timer {
    const t: VirtualTimer = {
      at: this.#now + Math.max(0, delayMs),
      seq: this.#seq++,
      cb,
      live: true,
      cancel: () => {
        t.live = false;
      },
    };
    this.#timers.push(t);
    return t;
  }
  /** Timers not yet fired or cancelled. */
  pending(): number {
    this.#timers = this.#timers.filter((t) => t.live);
    return this.#timers.length;
  }
  /** Move time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => t.live);
      let next: VirtualTimer | undefined;
      for (const t of this.#timers) if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (next === undefined) break;
      this.#now = next.at;
      next.live = false;
      next.cb();
    }
    this.#now = target;
  }
}
