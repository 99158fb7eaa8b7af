/**
 * A token bucket: `ratePerSecond` tokens accrue continuously up to `burst`; `take()` spends one
 * if available. Used to rate-limit ICMP errors (RFC 1812 §4.3.2.8, RFC 1122 §3.2.2).
 */
export class TokenBucket {
  #tokens: number;
  #lastMs: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    nowMs: number,
  ) {
    this.#tokens = burst;
    this.#lastMs = nowMs;
  }

  /** Spend one token at time `nowMs`; false when the bucket is empty (or the rate is 0). */
  take(nowMs: number): boolean {
    if (this.ratePerSecond <= 0) return false;
    const elapsed = nowMs - this.#lastMs;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSecond) / 1000);
      this.#lastMs = nowMs;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
