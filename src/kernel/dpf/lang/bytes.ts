/**
 * Byte-level view of a filter segment (the atoms between two shifts, all relative to one base):
 * for every constrained byte, the bits that must be set and cleared. Verify uses it to find
 * contradictions, normalize to rebuild canonical atoms, the overlap check to compare filters.
 */

/** Constraints on the bytes of one segment. */
export class SegmentBytes {
  /** Constrained byte offsets, ascending (filters constrain few bytes: a sorted array beats a Map). */
  readonly #offsets: number[] = [];
  /** `mask << 8 | value` of each offset in `#offsets` (mask ≠ 0). */
  readonly #bytes: number[] = [];
  /** Bytes every matching frame must have beyond the base: the largest `offset + width/8` seen. */
  extent = 0;

  /**
   * Add `(load(offset, widthBits) & mask) == value` (big-endian). Returns the first byte offset
   * where it contradicts what is already there (the segment can then never match), else -1.
   */
  add(offset: number, widthBits: number, mask: number, value: number): number {
    const n = widthBits / 8;
    if (offset + n > this.extent) this.extent = offset + n;
    let conflict = -1;
    for (let i = 0; i < n; i++) {
      // mask and value are < 2^32, so `>>>` sees every bit.
      const shift = 8 * (n - 1 - i);
      const m = (mask >>> shift) & 0xff;
      if (m === 0) continue;
      const v = (value >>> shift) & m;
      const at = offset + i;
      const k = this.#find(at);
      if (k === this.#offsets.length) {
        // The common case: atoms come in offset order.
        this.#offsets.push(at);
        this.#bytes.push((m << 8) | v);
        continue;
      }
      if (this.#offsets[k] !== at) {
        this.#offsets.splice(k, 0, at);
        this.#bytes.splice(k, 0, (m << 8) | v);
        continue;
      }
      const old = this.#bytes[k] as number;
      const om = old >> 8;
      const ov = old & 0xff;
      if (((ov ^ v) & om & m) !== 0 && conflict < 0) conflict = at;
      this.#bytes[k] = ((om | m) << 8) | ov | v;
    }
    return conflict;
  }

  /** `mask << 8 | value` of a byte, or 0 when the byte is unconstrained. */
  get(offset: number): number {
    const k = this.#find(offset);
    return this.#offsets[k] === offset ? (this.#bytes[k] as number) : 0;
  }

  /** Constrained byte offsets, ascending (a read-only view). */
  offsets(): readonly number[] {
    return this.#offsets;
  }

  /** Index of the first offset ≥ `at`. */
  #find(at: number): number {
    const n = this.#offsets.length;
    if (n === 0 || (this.#offsets[n - 1] as number) < at) return n;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#offsets[mid] as number) < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * True when `(load(offset, widthBits) & mask) == value` can hold together with the constraints
 * in `seg` (no byte demands a bit both set and clear). Lengths never conflict: frames can be long.
 */
export function compatibleWith(seg: SegmentBytes, offset: number, widthBits: number, mask: number, value: number): boolean {
  const n = widthBits / 8;
  for (let i = 0; i < n; i++) {
    const old = seg.get(offset + i);
    if (old === 0) continue;
    const shift = 8 * (n - 1 - i);
    const m = (mask >>> shift) & 0xff;
    const v = (value >>> shift) & 0xff;
    if (((old ^ v) & (old >> 8) & m) !== 0) return false;
  }
  return true;
}

/**
 * The value `(load(offset, widthBits) & mask)` must have under `seg`, when `seg` fixes every
 * bit of `mask` on those bytes; else -1.
 */
export function determinedValue(seg: SegmentBytes, offset: number, widthBits: number, mask: number): number {
  const n = widthBits / 8;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const m = (mask >>> (8 * (n - 1 - i))) & 0xff;
    const c = seg.get(offset + i);
    if ((m & ~(c >> 8)) !== 0) return -1;
    value = value * 256 + (c & m);
  }
  return value;
}
