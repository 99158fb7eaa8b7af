import { describe, expect, it } from 'vitest';
import { RttEstimator } from './rtt.js';

describe('RFC 6298 estimator', () => {
  it('first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4·RTTVAR (§2.2)', () => {
    const e = new RttEstimator(1000, 200, 60_000);
    e.sample(100);
    expect([e.srttMs, e.rttvarMs, e.rtoMs]).toEqual([100, 50, 300]);
  });

  it('later samples smooth with α = 1/8, β = 1/4 (§2.3)', () => {
    const e = new RttEstimator(1000, 1, 60_000);
    e.sample(100);
    e.sample(200);
    expect(e.rttvarMs).toBeCloseTo(0.75 * 50 + 0.25 * 100);
    expect(e.srttMs).toBeCloseTo(0.875 * 100 + 0.125 * 200);
    expect(e.rtoMs).toBeCloseTo(e.srttMs + 4 * e.rttvarMs);
  });

  it('clamps to the minimum and maximum, doubles on backoff, and a sample cancels the backoff', () => {
    const e = new RttEstimator(1000, 200, 60_000);
    e.sample(1);
    expect(e.rtoMs).toBe(200);
    for (let i = 0; i < 12; i++) e.backoff();
    expect(e.rtoMs).toBe(60_000);
    e.sample(10);
    expect(e.rtoMs).toBe(200);
  });

  it('§5.7: 3 s after a retransmitted SYN, unless a sample exists', () => {
    const e = new RttEstimator(1000, 200, 60_000);
    e.resetAfterSynRetransmit();
    expect(e.rtoMs).toBe(3000);
    e.sample(50);
    e.resetAfterSynRetransmit();
    expect(e.rtoMs).toBe(200);
  });
});
