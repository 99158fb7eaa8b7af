/**
 * TCP sequence-number arithmetic, modulo 2^32.
 *
 * Read first: RFC 9293 §3.4 ("all arithmetic dealing with sequence numbers must be performed
 * modulo 2**32"), RFC 1982 (serial number arithmetic). Sequence numbers are unsigned 32-bit
 * integers; `a` is "before" `b` when the signed 32-bit difference a − b is negative, which is
 * meaningful while the two are less than 2^31 apart (the window never comes close).
 */

/** `(a + n) mod 2^32`. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance `a − b` in (−2^31, 2^31]: positive when `a` is after `b`. */
export function seqSub(a: number, b: number): number {
  return (a - b) | 0;
}

/** `a` before `b`. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** `a` before or equal to `b`. */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** `a` after `b`. */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** `a` after or equal to `b`. */
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** The later of `a` and `b`. */
export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}

/** The earlier of `a` and `b`. */
export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}

/** `lo ≤ x < lo + size` (a window of `size` bytes starting at `lo`; empty when size is 0). */
export function seqInWindow(x: number, lo: number, size: number): boolean {
  const d = (x - lo) >>> 0;
  return d < size;
}
