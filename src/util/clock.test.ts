import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { TokenBucket } from './token-bucket.js';

describe('ManualClock', () => {
  it('fires due timers in time order, including timers armed by timers, and honours cancel', () => {
    const c = new ManualClock(100);
    const fired: string[] = [];
    c.setTimer(30, () => fired.push(`b@${c.nowMs()}`));
    c.setTimer(10, () => {
      fired.push(`a@${c.nowMs()}`);
      c.setTimer(5, () => fired.push(`c@${c.nowMs()}`));
    });
    const d = c.setTimer(20, () => fired.push('d'));
    d.cancel();
    c.advance(25);
    expect(fired).toEqual(['a@110', 'c@115']);
    expect(c.nowMs()).toBe(125);
    c.advance(10);
    expect(fired).toEqual(['a@110', 'c@115', 'b@130']);
    expect(c.pendingTimers).toBe(0);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then the rate', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(50)).toBe(false); // half a token
    expect(b.take(100)).toBe(true); // one token after 100 ms at 10/s
    expect(b.take(100)).toBe(false);
    expect(b.take(10_000)).toBe(true); // refilled, capped at burst
    expect([b.take(10_000), b.take(10_000), b.take(10_000)]).toEqual([true, true, false]);
  });

  it('rate 0 never allows', () => {
    expect(new TokenBucket(0, 5, 0).take(0)).toBe(false);
  });
});
