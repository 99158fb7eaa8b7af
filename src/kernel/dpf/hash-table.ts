/**
 * The table behind a hash node: masked field value (an int32) → trie node, by open addressing
 * with linear probing in a power-of-two array. Generated code calls `get` on every frame that
 * reaches the node, so `get` allocates nothing and has one probe when there is no collision.
 *
 * Hash: Knuth's multiplicative hash as in Xok's `hash.h` (`val * 1737350767`, top bits) — one
 * function for insert and lookup (Xok's stale `gen.c` used another at lookup). The table doubles
 * at 50 % load and halves below 12.5 % (never under {@link MIN_SLOTS} slots).
 */

const MULTIPLIER = 1737350767;
/** Smallest table, in slots. */
export const MIN_SLOTS = 8;

/** An open-addressing map from int32 keys to values. */
export class HashTable<T> {
  #keys: Int32Array;
  #vals: (T | undefined)[];
  /** 32 − log2(slots): the right shift that keeps the top bits of the product. */
  #shift: number;
  #count = 0;

  constructor(slots = MIN_SLOTS) {
    this.#keys = new Int32Array(slots);
    this.#vals = new Array<T | undefined>(slots).fill(undefined);
    this.#shift = 32 - Math.log2(slots);
  }

  /** Number of entries. */
  get size(): number {
    return this.#count;
  }

  /** Number of slots (a power of two). */
  get slots(): number {
    return this.#keys.length;
  }

  /** The value stored under `key` (an int32), or undefined. */
  get(key: number): T | undefined {
    const mask = this.#keys.length - 1;
    let i = Math.imul(key, MULTIPLIER) >>> this.#shift;
    for (;;) {
      const v = this.#vals[i];
      if (v === undefined || this.#keys[i] === key) return v;
      i = (i + 1) & mask;
    }
  }

  /** Store `value` under `key` (an int32), replacing any old value. */
  set(key: number, value: T): void {
    if ((this.#count + 1) * 2 > this.#keys.length) this.#resize(this.#keys.length * 2);
    const mask = this.#keys.length - 1;
    let i = Math.imul(key, MULTIPLIER) >>> this.#shift;
    for (;;) {
      if (this.#vals[i] === undefined) {
        this.#keys[i] = key;
        this.#vals[i] = value;
        this.#count++;
        return;
      }
      if (this.#keys[i] === key) {
        this.#vals[i] = value;
        return;
      }
      i = (i + 1) & mask;
    }
  }

  /** Remove `key`; returns whether it was there. Backward-shift deletion keeps probes short. */
  delete(key: number): boolean {
    const mask = this.#keys.length - 1;
    let i = Math.imul(key, MULTIPLIER) >>> this.#shift;
    for (;;) {
      if (this.#vals[i] === undefined) return false;
      if (this.#keys[i] === key) break;
      i = (i + 1) & mask;
    }
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = this.#vals[j];
      if (v === undefined) break;
      const home = Math.imul(this.#keys[j] as number, MULTIPLIER) >>> this.#shift;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        this.#keys[hole] = this.#keys[j] as number;
        this.#vals[hole] = v;
        hole = j;
      }
    }
    this.#vals[hole] = undefined;
    this.#count--;
    if (this.#keys.length > MIN_SLOTS && this.#count * 8 < this.#keys.length) this.#resize(this.#keys.length / 2);
    return true;
  }

  /** Every value, in slot order. */
  *values(): IterableIterator<T> {
    for (const v of this.#vals) if (v !== undefined) yield v;
  }

  /** Every `[key, value]`, in slot order. */
  *entries(): IterableIterator<[number, T]> {
    for (let i = 0; i < this.#vals.length; i++) {
      const v = this.#vals[i];
      if (v !== undefined) yield [this.#keys[i] as number, v];
    }
  }

  /** Probe length of the longest chain (1 = every key in its home slot); for tests and stats. */
  maxProbe(): number {
    let worst = 0;
    const mask = this.#keys.length - 1;
    for (let i = 0; i < this.#vals.length; i++) {
      if (this.#vals[i] === undefined) continue;
      const home = Math.imul(this.#keys[i] as number, MULTIPLIER) >>> this.#shift;
      worst = Math.max(worst, ((i - home) & mask) + 1);
    }
    return worst;
  }

  #resize(slots: number): void {
    const keys = this.#keys;
    const vals = this.#vals;
    this.#keys = new Int32Array(slots);
    this.#vals = new Array<T | undefined>(slots).fill(undefined);
    this.#shift = 32 - Math.log2(slots);
    this.#count = 0;
    for (let i = 0; i < vals.length; i++) {
      const v = vals[i];
      if (v !== undefined) this.set(keys[i] as number, v);
    }
  }
}
