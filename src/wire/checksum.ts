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

/** Bytes summed by the byte loop before its accumulator is added to the total (32768 words · 0xffff < 2^31, so it stays a small integer). */
const CHUNK_BYTES = 65_536;
/** Bytes summed by the word loop per accumulator: 8192 words of two 16-bit lanes · 0xffff < 2^31. */
const WORD_CHUNK_BYTES = 32_768;
/**
 * Ranges shorter than this take the byte loop: the word loop creates a `Uint32Array` view per
 * call, which costs more than it saves on a header.
 */
const WORD_PATH_MIN_BYTES = 512;
/** The word loop reads 16-bit lanes in the platform's order; it is written for little-endian (every platform Node runs on here). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Add the 16-bit big-endian words of `buf[offset, offset + length)` to `initial` and return the
 * partial sum. An odd trailing byte counts as a word padded with a zero low byte (RFC 1071 §4.1).
 * The result is a non-negative integer congruent, modulo 0xffff, to the plain word sum (ranges of
 * {@link WORD_PATH_MIN_BYTES} or more are summed folded), and zero only when every word is: so it
 * folds to the same checksum, and partial sums still add (see {@link combineSums}).
 */
export function partialSum(buf: Uint8Array, offset: number, length: number, initial = 0): number {
  if (length < WORD_PATH_MIN_BYTES || !LITTLE_ENDIAN) return partialSumBytewise(buf, offset, length, initial);
  // Bytes up to the first 4-byte-aligned address, then aligned words, then what is left.
  const head = (4 - ((buf.byteOffset + offset) & 3)) & 3;
  const words = (length - head) >>> 2;
  const body = wordSum(new Uint32Array(buf.buffer, buf.byteOffset + offset + head, words));
  const headAndBody = combineSums(partialSumBytewise(buf, offset, head, 0), body, head);
  const done = head + words * 4;
  return initial + combineSums(headAndBody, partialSumBytewise(buf, offset + done, length - done, 0), done);
}

/**
 * The plain (unfolded, exact) word sum, two bytes at a time: {@link partialSum} uses it for short
 * ranges and the unaligned ends of long ones; bench/wire compares the two.
 */
export function partialSumBytewise(buf: Uint8Array, offset: number, length: number, initial = 0): number {
  let total = initial;
  let i = offset;
  const end = offset + length;
  while (i < end) {
    const chunkEnd = Math.min(end, i + CHUNK_BYTES);
    const pairsEnd = chunkEnd - ((chunkEnd - i) & 1);
    let s = 0;
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

/**
 * The folded word sum of whole 32-bit words read little-endian. Each 16-bit lane is a
 * byte-swapped big-endian word, and a sum of byte-swapped words folds to the byte-swapped sum
 * (RFC 1071 §2(B)), so one swap at the end gives the big-endian sum: 4 bytes per load instead of 1.
 */
function wordSum(w: Uint32Array): number {
  let total = 0;
  const n = w.length;
  const perChunk = WORD_CHUNK_BYTES >>> 2;
  for (let i = 0; i < n; ) {
    const chunkEnd = Math.min(n, i + perChunk);
    const pairEnd = chunkEnd - ((chunkEnd - i) & 1);
    let s = 0;
    for (; i < pairEnd; i += 2) {
      const a = w[i]!;
      const b = w[i + 1]!;
      s += (a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16);
    }
    if (i < chunkEnd) {
      const a = w[i]!;
      s += (a & 0xffff) + (a >>> 16);
      i++;
    }
    total += s;
  }
  return swapSum16(foldSum(total));
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
