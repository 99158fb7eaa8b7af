/**
 * A connection's receive buffer: a ring of `capacity` bytes holding in-order data the
 * application has not read yet, followed by out-of-order data placed where it belongs, with an
 * assembler of at most `maxRanges` disjoint ranges (after smoltcp's `Assembler`).
 *
 * Reassembly costs no memory beyond the ring: an out-of-order segment is copied straight into
 * its final position, so the bound on out-of-order data is the window itself plus the range
 * limit (a segment that would need one more range is refused and counted by the caller).
 *
 * Positions past the in-order data are *relative*: 0 is the byte RCV.NXT names.
 */

export class RxBuffer {
  readonly capacity: number;
  #buf: Uint8Array | undefined;
  #head = 0;
  #readable = 0;
  readonly #maxRanges: number;
  /** Out-of-order ranges [starts[i], ends[i]) relative to RCV.NXT, sorted, disjoint, non-adjacent. */
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  /** Start of the range that took the most recent segment (first SACK block, RFC 2018 §4). */
  #recent = -1;
  readonly #alloc: (bytes: number) => Uint8Array;

  /** @param alloc where the ring comes from (called once, on the first byte received) */
  constructor(capacity: number, maxRanges: number, alloc: (bytes: number) => Uint8Array) {
    this.capacity = capacity;
    this.#maxRanges = maxRanges;
    this.#alloc = alloc;
  }

  /** In-order bytes ready for the application. */
  get readable(): number {
    return this.#readable;
  }

  /** Bytes the ring can still take past the in-order data (the largest window we may offer). */
  get free(): number {
    return this.capacity - this.#readable;
  }

  /** Number of out-of-order ranges held. */
  get oooRanges(): number {
    return this.#starts.length;
  }

  /** The ring, if one was allocated (for returning it to a pool). */
  get storage(): Uint8Array | undefined {
    return this.#buf;
  }

  /**
   * Place `len` bytes of `src` at `rel` bytes past RCV.NXT. The caller has trimmed the data to
   * the window, so `rel + len ≤ free`. Returns how far RCV.NXT advances (0 for a pure
   * out-of-order segment, more when it fills the gap before held ranges), or −1 when the
   * segment would need more than `maxRanges` ranges and was not stored.
   */
  write(rel: number, src: Uint8Array, srcOffset: number, len: number): number {
    if (len <= 0) return 0;
    if (!this.#insert(rel, rel + len)) return -1;
    this.#buf ??= this.#alloc(this.capacity);
    const cap = this.capacity;
    const pos = (this.#head + this.#readable + rel) % cap;
    const first = Math.min(len, cap - pos);
    this.#buf.set(src.subarray(srcOffset, srcOffset + first), pos);
    if (first < len) this.#buf.set(src.subarray(srcOffset + first, srcOffset + len), 0);
    if (this.#starts[0] !== 0) return 0;
    const advance = this.#ends[0]!;
    this.#starts.shift();
    this.#ends.shift();
    for (let i = 0; i < this.#starts.length; i++) {
      this.#starts[i]! -= advance;
      this.#ends[i]! -= advance;
    }
    this.#recent -= advance;
    this.#readable += advance;
    return advance;
  }

  /** Merge [a, b) into the ranges; false when it would exceed the range limit. */
  #insert(a: number, b: number): boolean {
    const starts = this.#starts;
    const ends = this.#ends;
    let i = 0;
    while (i < starts.length && ends[i]! < a) i++;
    let j = i;
    while (j < starts.length && starts[j]! <= b) j++;
    // Ranges i..j-1 overlap or touch [a, b).
    if (i === j) {
      // A range at 0 is consumed at once, so it never counts against the limit.
      if (a !== 0 && starts.length >= this.#maxRanges) return false;
      starts.splice(i, 0, a);
      ends.splice(i, 0, b);
    } else {
      const s = Math.min(a, starts[i]!);
      const e = Math.max(b, ends[j - 1]!);
      starts.splice(i, j - i, s);
      ends.splice(i, j - i, e);
    }
    this.#recent = starts[i]!;
    return true;
  }

  /** Copy up to `len` in-order bytes into `dst[offset…]` and consume them; returns the count. */
  read(dst: Uint8Array, offset = 0, len = dst.length - offset): number {
    const n = Math.min(len, this.#readable);
    if (n <= 0 || this.#buf === undefined) return 0;
    const cap = this.capacity;
    const first = Math.min(n, cap - this.#head);
    dst.set(this.#buf.subarray(this.#head, this.#head + first), offset);
    if (first < n) dst.set(this.#buf.subarray(0, n - first), offset + first);
    this.#head = (this.#head + n) % cap;
    this.#readable -= n;
    return n;
  }

  /**
   * Write the out-of-order ranges as SACK blocks (absolute sequence numbers) into `out`, most
   * recent first (RFC 2018 §4), at most `max`; returns the count. Reuses `out`'s objects.
   */
  sackBlocks(rcvNxt: number, out: { left: number; right: number }[], max: number): number {
    const n = Math.min(max, this.#starts.length);
    if (n <= 0) return 0;
    let k = 0;
    const put = (i: number): void => {
      const blk = out[k] ?? (out[k] = { left: 0, right: 0 });
      blk.left = (rcvNxt + this.#starts[i]!) >>> 0;
      blk.right = (rcvNxt + this.#ends[i]!) >>> 0;
      k++;
    };
    const r = this.#starts.indexOf(this.#recent);
    if (r >= 0) put(r);
    for (let i = 0; i < this.#starts.length && k < n; i++) if (i !== r) put(i);
    return k;
  }

  /** Drop everything (connection gone); returns the ring for reuse. */
  clear(): Uint8Array | undefined {
    const b = this.#buf;
    this.#buf = undefined;
    this.#head = 0;
    this.#readable = 0;
    this.#starts.length = 0;
    this.#ends.length = 0;
    this.#recent = -1;
    return b;
  }
}
