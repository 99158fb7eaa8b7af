import { describe, expect, it, vi } from 'vitest';
import { RealClock, VirtualClock } from './clock.js';

describe('clocks', () => {
  it('virtual: timers fire in deadline order, cancelled ones never, timers set while firing still fire in the same advance', () => {
    const c = new VirtualClock(100);
    const fired: string[] = [];
    c.setTimer(30, () => fired.push('b'));
    c.setTimer(10, () => {
      fired.push('a');
      c.setTimer(5, () => fired.push('a+5'));
    });
    const x = c.setTimer(20, () => fired.push('x'));
    x.cancel();
    c.advance(50);
    expect(fired).toEqual(['a', 'a+5', 'b']);
    expect(c.now()).toBe(150);
    expect(c.pending()).toBe(0);
  });

  it('real: a delay beyond what setTimeout takes is chained, not fired at once', () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      const c = new RealClock();
      let fired = false;
      c.setTimer(30 * 24 * 3600 * 1000, () => {
        fired = true;
      });
      // Node fires a setTimeout above 2^31-1 ms after 1 ms: each armed delay must stay below it.
      expect(spy.mock.calls.every(([, ms]) => (ms ?? 0) <= 0x7fff_ffff)).toBe(true);
      vi.advanceTimersByTime(0x7fff_ffff);
      expect(fired).toBe(false);
      expect(spy.mock.calls.length).toBe(2); // re-armed for the rest
    } finally {
      spy.mockRestore();
      vi.useRealTimers();
    }
  });
});
