import { describe, expect, it } from 'vitest';
import { SequenceSecrets } from './isn.js';
import { Xoshiro128 } from './rng.js';

const L = 0xc6120002;
const R = 0xc6120001;

describe('ISN (RFC 6528, RFC 9293 MUST-8 / SHLD-1)', () => {
  it('MUST-8: for one 4-tuple the ISN advances with the clock (4 µs ticks)', () => {
    const s = new SequenceSecrets(new Xoshiro128(1));
    const a = s.isn(1000, L, 80, R, 40000);
    expect((s.isn(1001, L, 80, R, 40000) - a) >>> 0).toBe(250);
    expect((s.isn(5000, L, 80, R, 40000) - a) >>> 0).toBe(1_000_000);
  });

  it('SHLD-1: ISNs of neighbouring 4-tuples at one instant have no fixed offset and balanced low bits', () => {
    const s = new SequenceSecrets(new Xoshiro128(2));
    const isns = Array.from({ length: 10_000 }, (_, i) => s.isn(12345, L, 80, R, 1024 + i));
    const diffs = new Set(isns.slice(1).map((x, i) => (x - isns[i]!) >>> 0));
    expect(diffs.size).toBeGreaterThan(9_990);
    for (let bit = 0; bit < 8; bit++) {
      const ones = isns.filter((x) => (x >>> bit) & 1).length;
      expect(Math.abs(ones / isns.length - 0.5)).toBeLessThan(0.03);
    }
  });

  it('depends on the secret', () => {
    expect(new SequenceSecrets(new Xoshiro128(3)).isn(0, L, 80, R, 1)).not.toBe(new SequenceSecrets(new Xoshiro128(4)).isn(0, L, 80, R, 1));
  });
});

describe('SYN cookies (RFC 4987 §3.6)', () => {
  const s = new SequenceSecrets(new Xoshiro128(9));
  const peer = { mss: 1460, windowScale: 7, sackPermitted: true };

  it('a valid cookie returns MSS, window scale and SACK (the last two through the echoed TSval)', () => {
    const { isn, tsVal } = s.makeCookie(100_000, 5_000_000, peer, L, 80, R, 40000, 777);
    expect(tsVal).toBeLessThanOrEqual(5_000_000);
    expect(5_000_000 - tsVal).toBeLessThan(128);
    expect(s.checkCookie(100_500, isn, tsVal, L, 80, R, 40000, 777)).toEqual(peer);
  });

  it('without timestamps only the MSS survives (rounded down to the table)', () => {
    const { isn } = s.makeCookie(0, 0, { mss: 1450, windowScale: undefined, sackPermitted: false }, L, 80, R, 40000, 5);
    expect(s.checkCookie(0, isn, undefined, L, 80, R, 40000, 5)).toEqual({ mss: 1440, windowScale: undefined, sackPermitted: false });
  });

  it('is refused for another tuple, another client ISN, a tampered TSecr, or after two periods', () => {
    const { isn, tsVal } = s.makeCookie(100_000, 5_000_000, peer, L, 80, R, 40000, 777);
    expect(s.checkCookie(100_000, isn, tsVal, L, 80, R, 40001, 777)).toBeUndefined();
    expect(s.checkCookie(100_000, isn, tsVal, L, 80, R, 40000, 778)).toBeUndefined();
    expect(s.checkCookie(100_000, isn ^ 1, tsVal, L, 80, R, 40000, 777)).toBeUndefined();
    expect(s.checkCookie(100_000, isn, tsVal ^ 0x10, L, 80, R, 40000, 777)).toBeUndefined();
    expect(s.checkCookie(100_000 + 64_000 * 2, isn, tsVal, L, 80, R, 40000, 777)).toEqual(peer);
    expect(s.checkCookie(100_000 + 64_000 * 3, isn, tsVal, L, 80, R, 40000, 777)).toBeUndefined();
  });

  it('random third-step ACKs essentially never pass (24-bit MAC)', () => {
    const r = new Xoshiro128(11);
    let passed = 0;
    for (let i = 0; i < 20_000; i++) if (s.checkCookie(0, r.nextU32() & 0x07ffffff, undefined, L, 80, R, 40000, 1) !== undefined) passed++;
    expect(passed).toBeLessThan(3);
  });
});
