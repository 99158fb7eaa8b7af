/**
 * Big-endian (network order) field access on a Uint8Array. Plain byte arithmetic instead of a
 * DataView, so a view can be re-pointed at another buffer without allocating one.
 * Callers check bounds first (a view's `check()`); these do not.
 */

/** Read an unsigned 16-bit big-endian value at `i`. */
export function get16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

/** Read an unsigned 32-bit big-endian value at `i`. */
export function get32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

/** Write the low 16 bits of `v` big-endian at `i`. */
export function set16(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 8;
  b[i + 1] = v;
}

/** Write `v` (taken mod 2^32) big-endian at `i`. */
export function set32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

/** Read a 48-bit big-endian value (a MAC address) at `i` as a safe integer. */
export function get48(b: Uint8Array, i: number): number {
  return get16(b, i) * 0x1_0000_0000 + get32(b, i + 2);
}

/** Write a 48-bit value (0 ≤ v < 2^48) big-endian at `i`. */
export function set48(b: Uint8Array, i: number, v: number): void {
  set16(b, i, Math.floor(v / 0x1_0000_0000));
  set32(b, i + 2, v % 0x1_0000_0000);
}
