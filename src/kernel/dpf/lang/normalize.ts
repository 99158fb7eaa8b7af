/**
 * Rewrites happen after this point. `normalize` turns a verified filter into its canonical
 * form, so that every spelling of the same conjunction gives the same atoms (and so the same
 * trie path and the same generated code):
 *
 * - `shifti` skips are folded into the offsets of every later atom;
 * - `eq` becomes `meq` with the identity mask, `shift` becomes `mshift`;
 * - within a segment (the atoms between two shifts, which share one base) the eq atoms are
 *   rebuilt from their bytes: identical constraints merge, and each run of consecutively
 *   constrained bytes is cut, from its start, into loads of at most 4 bytes — abutting atoms
 *   coalesce (Xok's `dpf_coalesce`, in big-endian order), so `eq16 26 A; eq16 28 B` and
 *   `eq32 26 A<<16|B` are one 32-bit atom. This can give 24-bit loads.
 * - the furthest byte any eq atom of the segment reads stays required, as a byte with an empty
 *   mask when nothing else constrains it, so frame-length semantics never change;
 * - eq atoms come first in offset order, then the segment's shift atom.
 *
 * Canonical atoms are ordered among siblings by {@link compareField}; that order decides which
 * of two overlapping filters wins (see docs/dpf.md, "Which filter wins").
 */
import { fullMask, hex } from './ast.js';
import { SegmentBytes } from './bytes.js';
import type { VerifiedFilter } from './verify.js';

/** Kind of a canonical atom: a comparison. */
export const ATOM_EQ = 0;
/** Kind of a canonical atom: a variable shift of the base. */
export const ATOM_SHIFT = 1;

/** Width of a canonical load, in bits (coalescing can give 24). */
export type NormalWidth = 8 | 16 | 24 | 32;

/**
 * A canonical atom. `eq`: `(load(offset, width) & mask) == value`; `shift`:
 * `base += (load(offset, width) & mask) << shift`. Offsets are relative to the segment's base;
 * `value` is 0 for shifts, `shift` 0 for comparisons; numbers are unsigned.
 */
export interface NormalAtom {
  readonly kind: typeof ATOM_EQ | typeof ATOM_SHIFT;
  readonly width: NormalWidth;
  readonly offset: number;
  readonly mask: number;
  readonly value: number;
  readonly shift: number;
}

/** A filter in canonical form. */
export interface NormalFilter {
  readonly atoms: readonly NormalAtom[];
}

/** The fields that identify what an atom loads and compares (all but the compared value). */
export interface AtomField {
  readonly kind: number;
  readonly width: number;
  readonly offset: number;
  readonly mask: number;
  readonly shift: number;
}

/**
 * The sibling order of the trie (its or-lists) and so the priority between overlapping
 * filters: comparisons before shifts, then lower offset, then wider load, then wider mask,
 * then smaller shift. 0 means "the same field" (a comparison of it with another constant is a
 * hash-table entry, not a sibling). Any kind other than {@link ATOM_SHIFT} counts as a comparison.
 */
export function compareField(a: AtomField, b: AtomField): number {
  const ka = a.kind === ATOM_SHIFT ? 1 : 0;
  const kb = b.kind === ATOM_SHIFT ? 1 : 0;
  if (ka !== kb) return ka - kb;
  if (a.offset !== b.offset) return a.offset - b.offset;
  if (a.width !== b.width) return b.width - a.width;
  if (a.mask !== b.mask) return b.mask - a.mask;
  return a.shift - b.shift;
}

function chunks(seg: SegmentBytes, out: NormalAtom[]): void {
  const members = [...seg.offsets()];
  const last = members[members.length - 1];
  if (seg.extent > 0 && (last === undefined || last < seg.extent - 1)) members.push(seg.extent - 1);
  let i = 0;
  while (i < members.length) {
    const start = members[i] as number;
    let j = i;
    while (j + 1 < members.length && members[j + 1] === (members[j] as number) + 1 && j - i < 3) j++;
    let mask = 0;
    let value = 0;
    for (let at = start; at <= (members[j] as number); at++) {
      const mv = seg.get(at);
      mask = mask * 256 + (mv >> 8);
      value = value * 256 + (mv & 0xff);
    }
    out.push({ kind: ATOM_EQ, width: ((j - i + 1) * 8) as NormalWidth, offset: start, mask, value, shift: 0 });
    i = j + 1;
  }
}

/** The canonical form of a verified filter. Pure. */
export function normalize(filter: VerifiedFilter): NormalFilter {
  return normalizeWithSegments(filter).normal;
}

/**
 * {@link normalize}, also returning the byte constraints of each segment (segment k lies after
 * the k-th shift atom) — what the protection check compares, computed once.
 */
export function normalizeWithSegments(filter: VerifiedFilter): { normal: NormalFilter; segments: SegmentBytes[] } {
  const out: NormalAtom[] = [];
  const segments = [new SegmentBytes()];
  let skip = 0;
  let seg = segments[0] as SegmentBytes;
  for (const a of filter.atoms) {
    switch (a.op) {
      case 'shifti':
        skip += a.bytes;
        break;
      case 'eq':
      case 'meq':
        seg.add(skip + a.offset, a.width, a.op === 'meq' ? a.mask : fullMask(a.width), a.value);
        break;
      case 'shift':
      case 'mshift':
        chunks(seg, out);
        seg = new SegmentBytes();
        segments.push(seg);
        out.push({
          kind: ATOM_SHIFT,
          width: a.width,
          offset: skip + a.offset,
          mask: a.op === 'mshift' ? a.mask : fullMask(a.width),
          value: 0,
          shift: a.shift,
        });
    }
  }
  chunks(seg, out);
  return { normal: { atoms: out }, segments };
}

/**
 * One canonical atom (or trie node) as text: `eq16 @12 0x0800`, `eq24 @12 &0xfffff0 =0x080040`,
 * `shift8 @14 &0x0f <<2`. `base` names the base the offset is relative to (`b1+`), if not 0.
 */
export function formatNormalAtom(a: AtomField & { readonly value: number }, base = ''): string {
  const full = a.mask === fullMask(a.width);
  const at = `@${base}${a.offset}`;
  if (a.kind === ATOM_SHIFT) return `shift${a.width} ${at} ${full ? '' : `&${hex(a.mask, a.width)} `}<<${a.shift}`;
  return full ? `eq${a.width} ${at} ${hex(a.value, a.width)}` : `eq${a.width} ${at} &${hex(a.mask, a.width)} =${hex(a.value, a.width)}`;
}

/** A canonical filter as text, on one line: atoms joined by `; `. */
export function formatNormalFilter(f: NormalFilter): string {
  return f.atoms.map((a) => formatNormalAtom(a)).join('; ');
}
