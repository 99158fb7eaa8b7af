/**
 * The retransmission timeout estimator.
 *
 * Read first: RFC 6298 §2 (SRTT/RTTVAR with α = 1/8, β = 1/4, K = 4, clock granularity G),
 * §5 (backoff), RFC 7323 §4 (samples from timestamps).
 */

/** RFC 6298 §2: α = 1/8, β = 1/4, K = 4. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;
/** Clock granularity G of our millisecond clock (RFC 6298 §2). */
const GRANULARITY_MS = 1;

export class RttEstimator {
  /** Smoothed RTT (ms); 0 before the first sample. */
  srttMs = 0;
  /** RTT variation (ms). */
  rttvarMs = 0;
  /** Current RTO (ms), backoff included. */
  rtoMs: number;
  /** Number of samples taken. */
  samples = 0;
  readonly #minMs: number;
  readonly #maxMs: number;

  constructor(initialRtoMs: number, minMs: number, maxMs: number) {
    this.rtoMs = initialRtoMs;
    this.#minMs = minMs;
    this.#maxMs = maxMs;
  }

  /** Feed one RTT measurement `r` (ms) and recompute the RTO (RFC 6298 §2.2–2.4); drops any backoff. */
  sample(r: number): void {
    const rtt = Math.max(r, 0);
    if (this.samples === 0) {
      this.srttMs = rtt;
      this.rttvarMs = rtt / 2;
    } else {
      this.rttvarMs = (1 - BETA) * this.rttvarMs + BETA * Math.abs(this.srttMs - rtt);
      this.srttMs = (1 - ALPHA) * this.srttMs + ALPHA * rtt;
    }
    this.samples++;
    this.rtoMs = this.#clamp(this.srttMs + Math.max(GRANULARITY_MS, K * this.rttvarMs));
  }

  /** RFC 6298 §5.5: double the RTO after a timeout (up to the maximum). */
  backoff(): void {
    this.rtoMs = this.#clamp(this.rtoMs * 2);
  }

  /** RFC 6298 §5.7: after a retransmitted SYN, start data transfer with an RTO of at least 3 s. */
  resetAfterSynRetransmit(): void {
    if (this.samples === 0) this.rtoMs = this.#clamp(Math.max(this.rtoMs, 3000));
  }

  #clamp(v: number): number {
    return Math.min(this.#maxMs, Math.max(this.#minMs, v));
  }
}
