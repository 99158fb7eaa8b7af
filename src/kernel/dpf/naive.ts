/**
 * The naive demultiplexer: every filter evaluated on its own, one after the other — what BPF
 * does with one program per socket. It defines, independently of the trie, which filter must
 * win, and is the baseline the benchmark compares the trie against.
 *
 * Which filter wins (the trie's semantics, stated without the trie): compare the canonical
 * atom lists of two matching filters; at the first position where they differ, a filter that
 * goes on beats one that has ended (longest match), else the atom first in `compareField`
 * order wins. Two filters that differ first in the value of the same field cannot both match.
 */
import { and32, loadBE } from './interp.js';
import { ATOM_SHIFT, type NormalAtom, compareField } from './lang/normalize.js';

/** True when the filter `atoms` alone accepts frame `p` of `len` bytes. */
export function matchesAlone(atoms: readonly NormalAtom[], p: Uint8Array, len: number): boolean {
  let base = 0;
  for (const a of atoms) {
    const bytes = a.width / 8;
    const at = base + a.offset;
    if (at + bytes > len) return false;
    const x = and32(loadBE(p, at, bytes), a.mask);
    if (a.kind === ATOM_SHIFT) {
      base += x * 2 ** a.shift;
      if (base > len) return false;
    } else if (x !== a.value) {
      return false;
    }
  }
  return true;
}

/** Negative when filter `a` wins over filter `b`, positive when `b` wins, 0 when they exclude each other. */
export function compareFilters(a: readonly NormalAtom[], b: readonly NormalAtom[]): number {
  for (let i = 0; ; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return y === undefined ? 0 : 1;
    if (y === undefined) return -1;
    const c = compareField(x, y);
    if (c !== 0) return c;
    if (x.value !== y.value) return 0;
  }
}

/** A list of filters tried one by one. */
export class NaiveMatcher {
  readonly #ids: number[] = [];
  readonly #atoms: (readonly NormalAtom[])[] = [];

  /** Add filter `id` (> 0). */
  add(id: number, atoms: readonly NormalAtom[]): void {
    this.#ids.push(id);
    this.#atoms.push(atoms);
  }

  /** Remove filter `id`; returns whether it was there. */
  remove(id: number): boolean {
    const i = this.#ids.indexOf(id);
    if (i < 0) return false;
    this.#ids.splice(i, 1);
    this.#atoms.splice(i, 1);
    return true;
  }

  /** Id of the winning filter for frame `p` of `len` bytes, or 0. */
  demux(p: Uint8Array, len: number): number {
    let best = 0;
    let bestAtoms: readonly NormalAtom[] | undefined;
    for (let i = 0; i < this.#ids.length; i++) {
      const atoms = this.#atoms[i] as readonly NormalAtom[];
      if (!matchesAlone(atoms, p, len)) continue;
      if (bestAtoms === undefined || compareFilters(atoms, bestAtoms) < 0) {
        best = this.#ids[i] as number;
        bestAtoms = atoms;
      }
    }
    return best;
  }
}
