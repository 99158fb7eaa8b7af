/**
 * Byte-level view of a filter segment (the atoms between two shifts, all relative to one base):
 * for every constrained byte, the bits that must be set and cleared. Verify uses it to find
 * contradictions, normalize to rebuild canonical atoms, the overlap check to compare filters.
 */

/** Constraints on the bytes of one segment. */
export class SegmentBytes {
  /** byte offset → `mask << 8 | value` (mask ≠ 0). */
  readonly #bytes = new Map<number, number>();
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
      const shift = 8 * (n - 1 - i);
      const m = Math.floor(mask / 2 ** shift) & 0xff;
      if (m === 0) continue;
      const v = Math.floor(value / 2 ** shift) & m;
      const at = offset + i;
      const old = this.#bytes.get(at);
      if (old === undefined) {
        this.#bytes.set(at, (m << 8) | v);
        continue;
      }
      const om = old >> 8;
      const ov = old & 0xff;
      if (((ov ^ v) & om & m) !== 0 && conflict < 0) conflict = at;
      this.#bytes.set(at, ((om | m) << 8) | ov | v);
    }
    return conflict;
  }

  /** `mask << 8 | value` of a byte, or 0 when the byte is unconstrained. */
  get(offset: number): number {
    return this.#bytes.get(offset) ?? 0;
  }

  /** Constrained byte offsets, ascending. */
  offsets(): number[] {
    return [...this.#bytes.keys()].sort((a, b) => a - b);
  }

  /** True when no byte is constrained and no extent is required. */
  get empty(): boolean {
    return this.#bytes.size === 0 && this.extent === 0;
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
    const m = Math.floor(mask / 2 ** shift) & 0xff;
    const v = Math.floor(value / 2 ** shift) & 0xff;
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
    const m = Math.floor(mask / 2 ** (8 * (n - 1 - i))) & 0xff;
    const c = seg.get(offset + i);
    if ((m & ~(c >> 8)) !== 0) return -1;
    value = value * 256 + (c & m);
  }
  return value;
}
