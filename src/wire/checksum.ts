/**
 * The Internet checksum.
 *
 * Read first: RFC 1071 (computation, and why partial sums may be kept unfolded and combined
 * later), RFC 1624 (incremental update, eqn. 3), RFC 793/9293 §3.1 and RFC 768 (pseudo-header).
 *
 * A *partial sum* here is the plain integer sum of 16-bit big-endian words, not yet folded or
 * complemented. Partial sums of consecutive byte ranges add up as long as every range but the
 * last has an even length (see {@link combineSums} for odd ones) — this is what lets Cheetah
 * store per-segment sums with its documents and finish a segment's checksum from them by adding
 * only the pseudo-header and TCP header (facts §3.2 item 3).
 */

/** Bytes summed before the accumulator is folded, so it stays a small integer (32768 words · 0xffff < 2^31). */
const CHUNK_BYTES = 65_536;

/**
 * Add the 16-bit big-endian words of `buf[offset, offset + length)` to `initial` and return the
 * unfolded partial sum. An odd trailing byte counts as a word padded with a zero low byte
 * (RFC 1071 §4.1). The result is a non-negative integer, exact for any input length.
 */
export function partialSum(buf: Uint8Array, offset: number, length: number, initial = 0): number {
  let total = initial;
  let i = offset;
  const end = offset + length;
  while (i < end) {
    const chunkEnd = Math.min(end, i + CHUNK_BYTES);
    const pairsEnd = chunkEnd - ((chunkEnd - i) & 1);
    let s = 0;
    // Two words per step: fewer loop-carried branches on the hot path (every sent segment).
    const quadEnd = pairsEnd - ((pairsEnd - i) & 3);
    for (; i < quadEnd; i += 4) s += ((buf[i]! << 8) | buf[i + 1]!) + ((buf[i + 2]! << 8) | buf[i + 3]!);
    for (; i < pairsEnd; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
    if (i < chunkEnd) {
      s += buf[i]! << 8;
      i++;
    }
    total += s;
  }
  return total;
}

/** Fold a partial sum to 16 bits with end-around carry (RFC 1071 §4.1). */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum field value for a partial sum: folded and complemented (RFC 1071). */
export function finishSum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/** Swap the two bytes of a folded 16-bit sum (RFC 1071 §2(B): byte-order independence). */
export function swapSum16(folded: number): number {
  return ((folded & 0xff) << 8) | (folded >>> 8);
}

/**
 * Combine the partial sum `a` of a range of `aLength` bytes with the partial sum `b` of the
 * range that directly follows it. When `aLength` is odd, `b`'s words straddle the other byte
 * lanes, so it is folded and byte-swapped first (RFC 1071 §2(B)).
 */
export function combineSums(a: number, b: number, aLength: number): number {
  return (aLength & 1) === 0 ? a + b : a + swapSum16(foldSum(b));
}

/**
 * Partial sum of the IPv4 pseudo-header (RFC 9293 §3.1, RFC 768): source and destination
 * address, zero, protocol, and the transport length (header + data) in bytes.
 */
export function pseudoHeaderSum(srcAddr: number, dstAddr: number, protocol: number, transportLength: number): number {
  return (srcAddr >>> 16) + (srcAddr & 0xffff) + (dstAddr >>> 16) + (dstAddr & 0xffff) + protocol + transportLength;
}

/** True when a range including its own checksum field (plus `initial`, e.g. a pseudo-header) sums to all ones. */
export function sumVerifies(buf: Uint8Array, offset: number, length: number, initial = 0): boolean {
  return foldSum(partialSum(buf, offset, length, initial)) === 0xffff;
}

/**
 * RFC 1624 eqn. 3: the new checksum after one 16-bit word covered by `checksum` changed from
 * `oldWord` to `newWord`: HC' = ~(~HC + ~m + m'). Eqn. 3 (not eqn. 2) so a result that should
 * be 0xffff-equivalent does not turn into -0.
 */
export function updateChecksum16(checksum: number, oldWord: number, newWord: number): number {
  return ~foldSum((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** {@link updateChecksum16} for a 32-bit field (an address or a sequence number). */
export function updateChecksum32(checksum: number, oldValue: number, newValue: number): number {
  const s =
    (~checksum & 0xffff) +
    (~(oldValue >>> 16) & 0xffff) +
    (~oldValue & 0xffff) +
    (newValue >>> 16) +
    (newValue & 0xffff);
  return ~foldSum(s) & 0xffff;
}
