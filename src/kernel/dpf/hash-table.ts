/**
 * The table behind a hash node: masked field value (an int32) → entry, by open addressing with
 * linear probing over `[key, index + 1]` pairs in one Int32Array. Each entry keeps a stable
 * *index* for its life, under which the code generator stores that entry's unit: a row of
 * int32 constants in `rows` (`stride` per entry: the shape number, the filter ids and compared
 * values of the entry's unit), the shape functions in `shapes`, and the entry unit's own nested
 * tables in `tabs`. A frame that reaches a hash node thus touches one probe line and one row
 * line per connection, whatever the number of entries — the layout that keeps demultiplexing
 * cost flat. `find` allocates nothing.
 *
 * Hash: Knuth's multiplicative hash as in Xok's `hash.h` (`val * 1737350767`, top bits) — one
 * function for insert and lookup (Xok's stale `gen.c` used another at lookup). The probe array
 * doubles at 50 % load and halves below 12.5 % (never under {@link MIN_SLOTS} slots).
 */

const MULTIPLIER = 1737350767;
/** Smallest probe array, in slots. */
export const MIN_SLOTS = 8;

/**
 * A unit function as the generated code calls it: frame `p` of `n` bytes, base offset `b`, and
 * the unit's entry `i` of table `h` (its row is `h.rows[i * h.stride …]`).
 */
export type UnitFn = (p: Uint8Array, n: number, b: number, h: HashTable<unknown>, i: number) => number;

/** An open-addressing map from int32 keys to entries with stable indexes and code rows. */
export class HashTable<T> {
  /** `[key, index + 1]` per slot; index + 1 = 0 marks an empty slot. */
  #slots: Int32Array;
  /** 32 − log2(slots): the right shift that keeps the top bits of the product. */
  #shift: number;
  #count = 0;
  readonly #entries: (T | undefined)[] = [];
  readonly #freeIndexes: number[] = [];
  /** Rows of int32 constants, `stride` per entry index (written by the code generator). */
  rows = new Int32Array(0);
  /** Row length per entry, in int32s. */
  stride = 0;
  /** Unit functions, numbered by the first int32 of each row. */
  readonly shapes: UnitFn[] = [];
  /** Nested tables of each entry's unit, by entry index. */
  readonly tabs: (readonly HashTable<unknown>[] | null)[] = [];

  constructor(slots = MIN_SLOTS) {
    this.#slots = new Int32Array(2 * slots);
    this.#shift = 32 - Math.log2(slots);
  }

  /** Number of entries. */
  get size(): number {
    return this.#count;
  }

  /** Number of probe slots (a power of two). */
  get slots(): number {
    return this.#slots.length / 2;
  }

  /** The index of the entry under `key` (an int32), or -1. */
  find(key: number): number {
    const s = this.#slots;
    const mask = (s.length >> 1) - 1;
    let i = Math.imul(key, MULTIPLIER) >>> this.#shift;
    for (;;) {
      const idx = s[2 * i + 1] as number;
      if (idx === 0) return -1;
      if (s[2 * i] === key) return idx - 1;
      i = (i + 1) & mask;
    }
  }

  /** The entry under `key`, or undefined. */
  get(key: number): T | undefined {
    const idx = this.find(key);
    return idx < 0 ? undefined : this.#entries[idx];
  }

  /** The entry with index `idx`, or undefined. */
  at(idx: number): T | undefined {
    return this.#entries[idx];
  }

  /** Store `value` under `key` (an int32): replaces an entry in place, or adds one. Returns its index. */
  set(key: number, value: T): number {
    const old = this.find(key);
    if (old >= 0) {
      this.#entries[old] = value;
      return old;
    }
    if ((this.#count + 1) * 2 > this.slots) this.#resize(this.slots * 2);
    const idx = this.#freeIndexes.pop() ?? this.#entries.length;
    this.#entries[idx] = value;
    this.tabs[idx] = null;
    this.#place(key, idx);
    this.#count++;
    return idx;
  }

  /** Remove `key`; returns whether it was there. Backward-shift deletion keeps probes short. */
  delete(key: number): boolean {
    const s = this.#slots;
    const mask = this.slots - 1;
    let hole = Math.imul(key, MULTIPLIER) >>> this.#shift;
    for (;;) {
      const idx = s[2 * hole + 1] as number;
      if (idx === 0) return false;
      if (s[2 * hole] === key) {
        this.#entries[idx - 1] = undefined;
        this.tabs[idx - 1] = null;
        this.#freeIndexes.push(idx - 1);
        break;
      }
      hole = (hole + 1) & mask;
    }
    for (let j = (hole + 1) & mask; s[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = Math.imul(s[2 * j] as number, MULTIPLIER) >>> this.#shift;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        s[2 * hole] = s[2 * j] as number;
        s[2 * hole + 1] = s[2 * j + 1] as number;
        hole = j;
      }
    }
    s[2 * hole + 1] = 0;
    this.#count--;
    if (this.slots > MIN_SLOTS && this.#count * 8 < this.slots) this.#resize(this.slots / 2);
    return true;
  }

  /** Every entry, in index order. */
  *values(): IterableIterator<T> {
    for (const v of this.#entries) if (v !== undefined) yield v;
  }

  /** Every `[key, entry]`, in slot order. */
  *entries(): IterableIterator<[number, T]> {
    const s = this.#slots;
    for (let i = 0; i < this.slots; i++) {
      const idx = s[2 * i + 1] as number;
      if (idx !== 0) yield [s[2 * i] as number, this.#entries[idx - 1] as T];
    }
  }

  /** Probe length of the longest chain (1 = every key in its home slot); for tests and stats. */
  maxProbe(): number {
    let worst = 0;
    const s = this.#slots;
    const mask = this.slots - 1;
    for (let i = 0; i < this.slots; i++) {
      if (s[2 * i + 1] === 0) continue;
      const home = Math.imul(s[2 * i] as number, MULTIPLIER) >>> this.#shift;
      worst = Math.max(worst, ((i - home) & mask) + 1);
    }
    return worst;
  }

  /**
   * The row of entry `idx` as a writable view, after making rows at least `length` int32s long
   * (growing every row's stride, or the row array, as needed; existing rows are kept).
   */
  row(idx: number, length: number): Int32Array {
    const capacity = Math.max(this.#entries.length, idx + 1);
    if (length > this.stride || capacity * this.stride > this.rows.length) {
      const stride = Math.max(this.stride, length);
      const rows = new Int32Array(Math.max(8, capacity * 2) * stride);
      for (let e = 0; e * this.stride < this.rows.length && this.stride > 0; e++) {
        rows.set(this.rows.subarray(e * this.stride, (e + 1) * this.stride), e * stride);
      }
      this.rows = rows;
      this.stride = stride;
    }
    return this.rows.subarray(idx * this.stride, idx * this.stride + length);
  }

  /** The number under which `fn` is listed in `shapes` (added if new). */
  shapeNumber(fn: UnitFn): number {
    const at = this.shapes.indexOf(fn);
    return at >= 0 ? at : this.shapes.push(fn) - 1;
  }

  #place(key: number, idx: number): void {
    const s = this.#slots;
    const mask = this.slots - 1;
    let i = Math.imul(key, MULTIPLIER) >>> this.#shift;
    while (s[2 * i + 1] !== 0) i = (i + 1) & mask;
    s[2 * i] = key;
    s[2 * i + 1] = idx + 1;
  }

  #resize(slots: number): void {
    const old = this.#slots;
    this.#slots = new Int32Array(2 * slots);
    this.#shift = 32 - Math.log2(slots);
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== 0) this.#place(old[i] as number, (old[i + 1] as number) - 1);
  }
}
