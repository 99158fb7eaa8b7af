/**
 * The DPF filter language as a process writes it: a conjunction of atoms, in order.
 *
 * - `eq`/`meq`: `(load(offset, width) & mask) == value` (`eq` has the identity mask).
 * - `shift`/`mshift`: `base += (load(offset, width) & mask) << shift` — the variable-length
 *   header atom (IPv4 IHL: `mshift8 14 0x0f 2`). Later offsets are relative to the new base; the
 *   atom fails when the load is out of the frame or the new base lies past its end.
 * - `shifti`: a constant skip, added at build time to the offsets of every later atom.
 *
 * Loads and constants are in network byte order (big-endian), the one order used everywhere.
 * Offsets are in bytes relative to the current base; widths in bits.
 *
 * Deviation: Xok does not add a pending `shifti` to a shift atom's own offset and drops it at
 * the shift; here a `shifti` applies to every later atom, shift atoms included, and is never
 * dropped — one rule, no quirk to remember.
 */

/** Width of a load, in bits. */
export type LoadWidth = 8 | 16 | 32;

/** `load(offset, width) == value`. */
export interface EqAtom {
  readonly op: 'eq';
  readonly width: LoadWidth;
  readonly offset: number;
  readonly value: number;
}

/** `(load(offset, width) & mask) == value`. */
export interface MeqAtom {
  readonly op: 'meq';
  readonly width: LoadWidth;
  readonly offset: number;
  readonly mask: number;
  readonly value: number;
}

/** `base += load(offset, width) << shift`. */
export interface ShiftAtom {
  readonly op: 'shift';
  readonly width: LoadWidth;
  readonly offset: number;
  readonly shift: number;
}

/** `base += (load(offset, width) & mask) << shift`. */
export interface MshiftAtom {
  readonly op: 'mshift';
  readonly width: LoadWidth;
  readonly offset: number;
  readonly mask: number;
  readonly shift: number;
}

/** A constant skip of `bytes`, folded into later offsets at build time. */
export interface ShiftiAtom {
  readonly op: 'shifti';
  readonly bytes: number;
}

/** One atom of a filter. */
export type FilterAtom = EqAtom | MeqAtom | ShiftAtom | MshiftAtom | ShiftiAtom;

/** A filter as written: its atoms in order (a conjunction). */
export interface FilterAst {
  readonly atoms: readonly FilterAtom[];
}

/** The identity mask of a load of `widthBits` (0xff, 0xffff, 0xffffff, 0xffffffff). */
export function fullMask(widthBits: number): number {
  return widthBits >= 32 ? 0xffffffff : (1 << widthBits) - 1;
}

/** `n` as `0x…` hex, zero-padded to `widthBits / 4` digits. */
export function hex(n: number, widthBits: number): string {
  return `0x${n.toString(16).padStart(Math.ceil(widthBits / 4), '0')}`;
}
