/**
 * The table behind a hash node: masked field value (an int32) → entry, by open addressing with
 * linear probing. Each slot is a span of `stride` int32s in one array, `rows`: an occupied flag,
 * the key, then from {@link ROW_START} on the *row* of the entry's unit — int32 constants the
 * code generator writes (the shape number, the filter ids and compared values of the unit).
 * The shape functions are in `shapes`, the entry unit's nested tables in `tabs` (by slot).
 * A frame that reaches a hash node thus finds the key and the row it needs in the same place,
 * whatever the number of entries — the layout that keeps demultiplexing cost flat. `find`
 * allocates nothing. Slots move when the table resizes or deletes; nothing keeps a slot number
 * across a mutation.
 *
 * Hash: Knuth's multiplicative hash as in Xok's `hash.h` (`val * 1737350767`, top bits) — one
 * function for insert and lookup (Xok's stale `gen.c` used another at lookup). The table doubles
 * at 50 % load and halves below 1/{@link SHRINK_BELOW} load (never under {@link MIN_SLOTS} slots).
 */

const MULTIPLIER = 1737350767;
/**
 * A table halves when fewer than `slots / SHRINK_BELOW` entries are left. Far below the grow
 * point on purpose: a per-connection table (a client's ports) rises and falls by a few entries
 * all the time, and with a narrow band (it was 8) each swing reallocated the whole table on the
 * attach or the detach of a connection. Memory stays bounded: ≤ 32 slots per entry.
 */
export const SHRINK_BELOW = 32;
/** Smallest table, in slots. */
export const MIN_SLOTS = 8;
/** Where a slot's row starts, in int32s from the slot's start (after the flag and the key). */
export const ROW_START = 2;
/** Row capacity of a new table, in int32s (grown on demand). */
const INITIAL_ROW = 2;

/**
 * A unit function as the generated code calls it: frame `p` of `n` bytes, base offset `b`, and
 * the unit's slot `i` of table `h` (its row starts at `h.rows[i * h.stride + ROW_START]`).
 */
export type UnitFn = (p: Uint8Array, n: number, b: number, h: HashTable<unknown>, i: number) => number;

/** An open-addressing map from int32 keys to entries, each slot carrying its entry's code row. */
export class HashTable<T> {
  /** Per slot: the occupied flag, the key, then the row (`stride - ROW_START` int32s). */
  rows: Int32Array;
  /** Int32s per slot. */
  stride = INITIAL_ROW + ROW_START;
  /** 32 − log2(slots): the right shift that keeps the top bits of the product. */
  #shift: number;
  #slots: number;
  #count = 0;
  #entries: (T | undefined)[];
  /** Unit functions, numbered by the first int32 of each row. */
  readonly shapes: UnitFn[] = [];
  /** Nested tables of each entry's unit, by slot. */
  tabs: (readonly HashTable<unknown>[] | null)[];

  constructor(slots = MIN_SLOTS) {
    this.#slots = slots;
    this.#shift = 32 - Math.log2(slots);
    this.rows = new Int32Array(slots * this.stride);
    this.#entries = new Array<T | undefined>(slots).fill(undefined);
    this.tabs = new Array<readonly HashTable<unknown>[] | null>(slots).fill(null);
  }

  /** Number of entries. */
  get size(): number {
    return this.#count;
  }

  /** Number of slots (a power of two). */
  get slots(): number {
    return this.#slots;
  }

  /** The slot of the entry under `key` (an int32), or -1. */
  find(key: number): number {
    const d = this.rows;
    const w = this.stride;
    const mask = this.#slots - 1;
    let i = Math.imul(key, MULTIPLIER) >>> this.#shift;
    for (;;) {
      const at = i * w;
      if (d[at] === 0) return -1;
      if (d[at + 1] === key) return i;
      i = (i + 1) & mask;
    }
  }

  /** The entry under `key`, or undefined. */
  get(key: number): T | undefined {
    const slot = this.find(key);
    return slot < 0 ? undefined : this.#entries[slot];
  }

  /** The entry in slot `slot`, or undefined. */
  at(slot: number): T | undefined {
    return this.#entries[slot];
  }

  /** Store `value` under `key` (an int32): replaces an entry in place (its row kept), or adds one. */
  set(key: number, value: T): void {
    const old = this.find(key);
    if (old >= 0) {
      this.#entries[old] = value;
      return;
    }
    if ((this.#count + 1) * 2 > this.#slots) this.#resize(this.#slots * 2, this.stride);
    const slot = this.#free(key);
    const at = slot * this.stride;
    this.rows.fill(0, at, at + this.stride);
    this.rows[at] = 1;
    this.rows[at + 1] = key;
    this.#entries[slot] = value;
    this.tabs[slot] = null;
    this.#count++;
  }

  /** Remove `key`; returns whether it was there. Backward-shift deletion keeps probes short. */
  delete(key: number): boolean {
    let hole = this.find(key);
    if (hole < 0) return false;
    const d = this.rows;
    const w = this.stride;
    const mask = this.#slots - 1;
    for (let j = (hole + 1) & mask; d[j * w] !== 0; j = (j + 1) & mask) {
      const home = Math.imul(d[j * w + 1] as number, MULTIPLIER) >>> this.#shift;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        d.copyWithin(hole * w, j * w, (j + 1) * w);
        this.#entries[hole] = this.#entries[j];
        this.tabs[hole] = this.tabs[j] ?? null;
        hole = j;
      }
    }
    d[hole * w] = 0;
    this.#entries[hole] = undefined;
    this.tabs[hole] = null;
    this.#count--;
    if (this.#slots > MIN_SLOTS && this.#count * SHRINK_BELOW < this.#slots) this.#resize(this.#slots / 2, this.stride);
    return true;
  }

  /** Every entry, in slot order. */
  *values(): IterableIterator<T> {
    for (const v of this.#entries) if (v !== undefined) yield v;
  }

  /** Every `[key, entry]`, in slot order. */
  *entries(): IterableIterator<[number, T]> {
    const w = this.stride;
    for (let i = 0; i < this.#slots; i++) {
      const v = this.#entries[i];
      if (v !== undefined) yield [this.rows[i * w + 1] as number, v];
    }
  }

  /** Probe length of the longest chain (1 = every key in its home slot); for tests and stats. */
  maxProbe(): number {
    let worst = 0;
    const w = this.stride;
    const mask = this.#slots - 1;
    for (let i = 0; i < this.#slots; i++) {
      if (this.rows[i * w] === 0) continue;
      const home = Math.imul(this.rows[i * w + 1] as number, MULTIPLIER) >>> this.#shift;
      worst = Math.max(worst, ((i - home) & mask) + 1);
    }
    return worst;
  }

  /**
   * The row of the entry under `key` as a writable view of `length` int32s (rows of every slot
   * grow when `length` exceeds them; contents are kept), or undefined when there is no such key.
   */
  row(key: number, length: number): Int32Array | undefined {
    if (length > this.stride - ROW_START) this.#resize(this.#slots, length + ROW_START);
    const slot = this.find(key);
    if (slot < 0) return undefined;
    const at = slot * this.stride + ROW_START;
    return this.rows.subarray(at, at + length);
  }

  /** The number under which `fn` is listed in `shapes` (added if new). */
  shapeNumber(fn: UnitFn): number {
    const at = this.shapes.indexOf(fn);
    return at >= 0 ? at : this.shapes.push(fn) - 1;
  }

  /** The empty slot where `key` goes. */
  #free(key: number): number {
    const d = this.rows;
    const w = this.stride;
    const mask = this.#slots - 1;
    let i = Math.imul(key, MULTIPLIER) >>> this.#shift;
    while (d[i * w] !== 0) i = (i + 1) & mask;
    return i;
  }

  /** Re-lay the table out with `slots` slots of `stride` int32s; rows, entries and tabs move with their keys. */
  #resize(slots: number, stride: number): void {
    const old = this.rows;
    const oldStride = this.stride;
    const oldSlots = this.#slots;
    const entries = this.#entries;
    const tabs = this.tabs;
    this.#slots = slots;
    this.#shift = 32 - Math.log2(slots);
    this.stride = stride;
    this.rows = new Int32Array(slots * stride);
    this.#entries = new Array<T | undefined>(slots).fill(undefined);
    this.tabs = new Array<readonly HashTable<unknown>[] | null>(slots).fill(null);
    for (let i = 0; i < oldSlots; i++) {
      const at = i * oldStride;
      if (old[at] === 0) continue;
      const slot = this.#free(old[at + 1] as number);
      this.rows.set(old.subarray(at, at + oldStride), slot * stride);
      this.#entries[slot] = entries[i];
      this.tabs[slot] = tabs[i] ?? null;
    }
  }
}
