/**
 * The stack's only source of randomness: an injected, seedable generator, so tests replay
 * exactly. The daemon seeds it from the kernel's random source; tests from `SEED`.
 */

/** A source of uniformly distributed unsigned 32-bit integers. */
export interface Rng {
  nextU32(): number;
}

/**
 * xoshiro128** (Blackman & Vigna, 2018): small, fast, good statistical quality. Not a CSPRNG —
 * it only picks secrets, offsets and ports; security of ISNs and cookies rests on the keyed PRF
 * ({@link halfSipHash}) whose key the daemon should draw from a real entropy source.
 */
export class Xoshiro128 implements Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /** Seed from one integer, expanded with splitmix32 so nearby seeds give unrelated streams. */
  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next() | 1;
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }
}

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

/** HalfSipHash state v0..v3, kept in one place so the round is written once (no allocation per call). */
const V = new Int32Array(4);

/** `n` SipRounds of HalfSipHash on {@link V}. */
function sipRounds(n: number): void {
  let v0 = V[0]!;
  let v1 = V[1]!;
  let v2 = V[2]!;
  let v3 = V[3]!;
  for (let r = 0; r < n; r++) {
    v0 = (v0 + v1) | 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
  }
  V[0] = v0;
  V[1] = v1;
  V[2] = v2;
  V[3] = v3;
}

/**
 * HalfSipHash-2-4 with a 64-bit key and 32-bit output (Aumasson & Bernstein), over a message of
 * whole 32-bit words (each word taken as 4 little-endian bytes, as the reference reads bytes).
 * A keyed PRF: the ISN generator of RFC 6528 §3 and the SYN-cookie MAC. Allocation-free.
 *
 * @param k0 key bytes 0..3 as a little-endian word
 * @param k1 key bytes 4..7 as a little-endian word
 * @param count how many of the message words `w0..w4` (0..5) are used
 */
export function halfSipHash(k0: number, k1: number, count: number, w0: number, w1 = 0, w2 = 0, w3 = 0, w4 = 0): number {
  V[0] = k0;
  V[1] = k1;
  V[2] = 0x6c796765 ^ k0;
  V[3] = 0x74656462 ^ k1;
  for (let i = 0; i <= count; i++) {
    // The last "word" is the length block: byte length in the top byte (no tail bytes here).
    const m = i === count ? (count * 4) << 24 : i === 0 ? w0 : i === 1 ? w1 : i === 2 ? w2 : i === 3 ? w3 : w4;
    V[3] = V[3]! ^ m;
    sipRounds(2);
    V[0] = V[0]! ^ m;
  }
  V[2] = V[2]! ^ 0xff;
  sipRounds(4);
  return (V[1]! ^ V[3]!) >>> 0;
}
