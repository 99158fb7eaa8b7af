import { describe, expect, it } from 'vitest';
import { Xoshiro128, halfSipHash } from './rng.js';

describe('HalfSipHash-2-4 (32-bit output)', () => {
  // Reference test vectors: key = bytes 00..07, message = bytes 00..(n-1), output read little-endian.
  const K0 = 0x03020100;
  const K1 = 0x07060504;
  it('matches the reference vectors for 0, 4 and 8-byte messages', () => {
    expect(halfSipHash(K0, K1, 0, 0)).toBe(0x5b9f35a9);
    expect(halfSipHash(K0, K1, 1, 0x03020100)).toBe(0x89466e2a);
    expect(halfSipHash(K0, K1, 2, 0x03020100, 0x07060504)).toBe(0x8f84b8d0);
  });

  it('changes with the key', () => {
    expect(halfSipHash(1, 2, 1, 5)).not.toBe(halfSipHash(1, 3, 1, 5));
  });
});

describe('xoshiro128**', () => {
  it('replays from a seed and differs between seeds', () => {
    const a = new Xoshiro128(42);
    const b = new Xoshiro128(42);
    const c = new Xoshiro128(43);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(xs);
    for (const x of xs) expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
  });

  it('has balanced bits over many draws', () => {
    const r = new Xoshiro128(7);
    const ones = new Array<number>(32).fill(0);
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const x = r.nextU32();
      for (let bit = 0; bit < 32; bit++) ones[bit]! += (x >>> bit) & 1;
    }
    for (const c of ones) expect(Math.abs(c / n - 0.5)).toBeLessThan(0.02);
  });
});
