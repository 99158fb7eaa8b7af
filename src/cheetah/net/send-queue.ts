/**
 * The send side of a connection, by reference: the application queues byte ranges of buffers
 * it keeps alive (a prebuilt header, cached document bytes) and the stack never copies them.
 * Segments are cut from these ranges when they are sent and cut again from the same ranges when
 * they are retransmitted — the merged file cache and retransmission pool of Cheetah (facts §3.2
 * item 1): there is no retransmission buffer.
 *
 * Positions are *stream offsets*: byte 0 is the first data byte of the connection (sequence
 * number ISS + 1). A range stays referenced until every byte of it is acknowledged.
 */
import { combineSums, partialSum } from '../../wire/index.js';
import type { TxFrame } from './tx-frame.js';

/**
 * Precomputed checksums for a range (facts §3.2 item 3): `sums[k]` is the unfolded partial
 * Internet checksum (RFC 1071) of bytes `[k·chunkBytes, (k+1)·chunkBytes)` of the range (the
 * last chunk may be shorter). Used when a segment covers exactly one such chunk.
 */
export interface RangeChecksums {
  chunkBytes: number;
  sums: ArrayLike<number>;
}

interface Range {
  buf: Uint8Array;
  offset: number;
  length: number;
  /** Stream offset of the range's first byte. */
  start: number;
  checksums: RangeChecksums | undefined;
}

export class SendQueue {
  readonly #ranges: Range[] = [];
  #head = 0;
  #end = 0;
  #base = 0;

  /** Stream offset just past the last queued byte. */
  get end(): number {
    return this.#end;
  }

  /** Stream offset of the first byte still held (everything before is acknowledged). */
  get base(): number {
    return this.#base;
  }

  /** Ranges still referenced. */
  get rangeCount(): number {
    return this.#ranges.length - this.#head;
  }

  /** Queue `length` bytes of `buf` from `offset`, by reference. */
  push(buf: Uint8Array, offset: number, length: number, checksums?: RangeChecksums): void {
    if (length <= 0) return;
    this.#ranges.push({ buf, offset, length, start: this.#end, checksums });
    this.#end += length;
  }

  /** Forget every byte before stream offset `upTo` (acknowledged); drops whole ranges only. */
  release(upTo: number): void {
    const rs = this.#ranges;
    while (this.#head < rs.length) {
      const r = rs[this.#head]!;
      if (r.start + r.length > upTo) break;
      rs[this.#head] = undefined as unknown as Range;
      this.#head++;
    }
    if (this.#head > 32 && this.#head * 2 > rs.length) {
      rs.splice(0, this.#head);
      this.#head = 0;
    }
    this.#base = Math.min(Math.max(this.#base, upTo), this.#end);
  }

  /**
   * Add the pieces covering stream bytes `[from, from + len)` to `frame` and return their
   * partial checksum (from precomputed sums where a piece is exactly one chunk, counted in
   * `stats.precomputedChecksums`). With `sum` false nothing is summed and 0 is returned: a
   * super-segment's payload is summed per segment by whoever cuts it.
   */
  gather(from: number, len: number, frame: TxFrame, stats: { precomputedChecksums: number }, sum = true): number {
    const rs = this.#ranges;
    let i = this.#head;
    while (i < rs.length && rs[i]!.start + rs[i]!.length <= from) i++;
    let total = 0;
    let done = 0;
    let at = from;
    while (done < len && i < rs.length) {
      const r = rs[i]!;
      const rel = at - r.start;
      const n = Math.min(len - done, r.length - rel);
      frame.addPiece(r.buf, r.offset + rel, n);
      const c = r.checksums;
      let s: number;
      if (!sum) {
        s = 0;
      } else if (c !== undefined && rel % c.chunkBytes === 0 && (n === c.chunkBytes || rel + n === r.length) && rel / c.chunkBytes < c.sums.length) {
        s = c.sums[rel / c.chunkBytes]!;
        stats.precomputedChecksums++;
      } else {
        s = partialSum(r.buf, r.offset + rel, n);
      }
      total = combineSums(total, s, done);
      done += n;
      at += n;
      i++;
    }
    return total;
  }

  /** Drop all ranges (connection gone). */
  clear(): void {
    this.#ranges.length = 0;
    this.#head = 0;
    this.#base = this.#end;
  }
}

/** Partial sums of consecutive `chunkBytes` pieces of `buf[offset, offset + length)`, for {@link RangeChecksums}. */
export function precomputeChecksums(buf: Uint8Array, offset: number, length: number, chunkBytes: number): RangeChecksums {
  const n = Math.ceil(length / chunkBytes);
  const sums = new Float64Array(n);
  for (let k = 0; k < n; k++) sums[k] = partialSum(buf, offset + k * chunkBytes, Math.min(chunkBytes, length - k * chunkBytes));
  return { chunkBytes, sums };
}
