/**
 * The filter shape cache: decode, verify and normalize once per *shape* of filter, not once per
 * filter. A per-connection filter (Cheetah's, one per accepted TCP connection) differs from the
 * previous one only in the compared values of a few atoms — the peer's address and port — so
 * everything the verifier and the normalizer decide from the rest of the encoding is the same.
 *
 * Key: the binary encoding with the bytes of every compared value blanked (its *skeleton*:
 * header, opcodes, offsets, masks, shifts, skips — all that decides the structure). Which bytes
 * are values follows from the opcodes alone, so the skeleton is hashed in one pass over the
 * bytes that decodes nothing and allocates nothing; a hit is confirmed by comparing the whole
 * skeleton, byte for byte, with the one the plan was made from.
 *
 * What a plan keeps, made from the first filter of the shape that was accepted by the verifier:
 * the canonical atoms of that filter (a template), and for every value byte of the encoding
 * which canonical byte it constrains and under which mask. On a hit, the value-dependent checks
 * of the verifier run on the new values, per byte, exactly as the verifier runs them — no value
 * bit outside its mask; no two atoms of a segment demanding different bits of one byte — and
 * the canonical values are rebuilt from the bytes. When a value check fails, the caller takes
 * the full path, which refuses the filter with the verifier's own code, reason and log. Every
 * other verifier check depends on the skeleton only, and the skeleton matched one that passed.
 *
 * Nothing else is cached: the protection check and the merge run in full on every filter, so
 * the trie and the overlap rule are exactly as without the cache. A plan depends on nothing but
 * its skeleton (the verifier and normalizer are pure), so no change of the trie invalidates it;
 * the cache is bounded (oldest plan out first).
 */
import { fullMask } from './lang/ast.js';
import { DPF_BINARY_HEADER_BYTES, DPF_MAX_FILTER_BYTES, binaryAtomBytes, binaryValueAt } from './lang/binary.js';
import { ATOM_EQ, ATOM_SHIFT, type NormalAtom, type NormalFilter } from './lang/normalize.js';
import type { VerifiedFilter } from './lang/verify.js';

/** Counters of a {@link FilterShapeCache}. */
export interface FilterShapeCacheStats {
  /** Binary filters whose shape was cached: not decoded, verified or normalized again. */
  hits: number;
  /** Binary filters whose shape was not cached (a plan is made when the verifier accepts it). */
  misses: number;
  /** Hits whose values the value checks refused: taken through the full path (which refused them). */
  valueRefusals: number;
  /** Plans held now, and at most. */
  entries: number;
  maxEntries: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 16777619;

/**
 * FNV-1a hash of the skeleton of a binary filter (value bytes counted as 0), or -1 when the
 * bytes are not a walkable sequence of atoms (the full decoder then says why). Allocates nothing.
 */
export function skeletonHash(bytes: Uint8Array): number {
  const len = bytes.length;
  // No valid filter is longer: the work stays bounded whatever the caller hands in.
  if (len < DPF_BINARY_HEADER_BYTES || len > DPF_MAX_FILTER_BYTES) return -1;
  let h = FNV_OFFSET ^ len;
  for (let i = 0; i < DPF_BINARY_HEADER_BYTES; i++) h = Math.imul(h ^ (bytes[i] as number), FNV_PRIME);
  const count = ((bytes[4] as number) << 8) | (bytes[5] as number);
  let at = DPF_BINARY_HEADER_BYTES;
  for (let k = 0; k < count; k++) {
    if (at >= len) return -1;
    const opcode = bytes[at] as number;
    const size = binaryAtomBytes(opcode);
    if (size === 0 || at + size > len) return -1;
    const vFrom = binaryValueAt(opcode);
    const vTo = vFrom === 0 ? 0 : vFrom + (1 << (opcode & 0x0f));
    for (let j = 0; j < size; j++) h = Math.imul(h ^ (j >= vFrom && j < vTo ? 0 : (bytes[at + j] as number)), FNV_PRIME);
    at += size;
  }
  return at === len ? h >>> 0 : -1;
}

/** What one shape's filters share, and scratch space to rebuild one filter's canonical atoms. */
class ShapePlan {
  /** The encoding of the first filter, value bytes zeroed. */
  readonly skeleton: Uint8Array;
  /** 1 where a byte of the encoding is part of a compared value. */
  readonly isValue: Uint8Array;
  /** Canonical atoms of the first filter. */
  readonly template: readonly NormalAtom[];
  /** Per value byte of the encoding, in encoding order: its position, its mask byte, its canonical byte (-1: mask 0). */
  readonly vPos: Int32Array;
  readonly vMask: Int32Array;
  readonly vTarget: Int32Array;
  /** Per canonical byte: its canonical atom and the weight of the byte in that atom's value (256^k). */
  readonly tAtom: Int32Array;
  readonly tWeight: Float64Array;
  /** Scratch: the mask and value gathered so far per canonical byte; the value per canonical atom. */
  readonly accMask: Int32Array;
  readonly accValue: Int32Array;
  readonly values: Float64Array;

  constructor(skeleton: Uint8Array, isValue: Uint8Array, template: readonly NormalAtom[], contribs: readonly number[], targets: readonly number[]) {
    this.skeleton = skeleton;
    this.isValue = isValue;
    this.template = template;
    const n = contribs.length / 3;
    this.vPos = new Int32Array(n);
    this.vMask = new Int32Array(n);
    this.vTarget = new Int32Array(n);
    for (let c = 0; c < n; c++) {
      this.vPos[c] = contribs[3 * c] as number;
      this.vMask[c] = contribs[3 * c + 1] as number;
      this.vTarget[c] = contribs[3 * c + 2] as number;
    }
    const t = targets.length / 2;
    this.tAtom = new Int32Array(t);
    this.tWeight = new Float64Array(t);
    for (let k = 0; k < t; k++) {
      this.tAtom[k] = targets[2 * k] as number;
      this.tWeight[k] = 2 ** (targets[2 * k + 1] as number);
    }
    this.accMask = new Int32Array(t);
    this.accValue = new Int32Array(t);
    this.values = new Float64Array(template.length);
  }

  /** Whether `bytes` has exactly this plan's skeleton. */
  matches(bytes: Uint8Array): boolean {
    const s = this.skeleton;
    if (bytes.length !== s.length) return false;
    const v = this.isValue;
    for (let i = 0; i < s.length; i++) if (v[i] === 0 && bytes[i] !== s[i]) return false;
    return true;
  }

  /**
   * The verifier's value checks on `bytes` (of this shape), then the canonical atoms: null when
   * a check fails. Template atoms whose value is unchanged are shared, not copied.
   */
  canonical(bytes: Uint8Array): NormalAtom[] | null {
    const accMask = this.accMask;
    const accValue = this.accValue;
    accMask.fill(0);
    accValue.fill(0);
    for (let c = 0; c < this.vPos.length; c++) {
      const v = bytes[this.vPos[c] as number] as number;
      const m = this.vMask[c] as number;
      if ((v & ~m) !== 0) return null; // a value bit outside the mask: it can never match
      const t = this.vTarget[c] as number;
      if (t < 0) continue;
      if (((accValue[t] as number) ^ v) & (accMask[t] as number) & m) return null; // contradicts an earlier atom
      accMask[t] = (accMask[t] as number) | m;
      accValue[t] = (accValue[t] as number) | v;
    }
    const values = this.values;
    values.fill(0);
    for (let t = 0; t < this.tAtom.length; t++) {
      const k = this.tAtom[t] as number;
      values[k] = (values[k] as number) + (accValue[t] as number) * (this.tWeight[t] as number);
    }
    const out: NormalAtom[] = [];
    for (let k = 0; k < this.template.length; k++) {
      const a = this.template[k] as NormalAtom;
      const value = values[k] as number;
      out.push(a.kind !== ATOM_EQ || value === a.value ? a : { kind: a.kind, width: a.width, offset: a.offset, mask: a.mask, value, shift: a.shift });
    }
    return out;
  }
}

/**
 * The plan of the shape of `bytes` (accepted by the verifier as `filter`, canonical form
 * `normal`), or null when the bytes do not line up with the filter (never for a decoded one).
 */
function makePlan(bytes: Uint8Array, filter: VerifiedFilter, normal: NormalFilter): ShapePlan | null {
  // Canonical bytes: segment * 2^16 + offset → [atom index, bit position].
  const canonicalByte = new Map<number, readonly [number, number]>();
  let seg = 0;
  normal.atoms.forEach((a, k) => {
    if (a.kind === ATOM_SHIFT) {
      seg++;
      return;
    }
    const n = a.width / 8;
    for (let b = 0; b < n; b++) canonicalByte.set(seg * 0x10000 + a.offset + b, [k, 8 * (n - 1 - b)]);
  });
  const targetOf = new Map<number, number>();
  const targets: number[] = [];
  const contribs: number[] = [];
  const skeleton = bytes.slice();
  const isValue = new Uint8Array(bytes.length);
  let at = DPF_BINARY_HEADER_BYTES;
  let skip = 0;
  seg = 0;
  for (const a of filter.atoms) {
    if (at >= bytes.length) return null;
    const opcode = bytes[at] as number;
    const size = binaryAtomBytes(opcode);
    if (size === 0) return null;
    if (a.op === 'shifti') {
      skip += a.bytes;
    } else if (a.op === 'shift' || a.op === 'mshift') {
      seg++;
    } else {
      const n = a.width / 8;
      const mask = a.op === 'meq' ? a.mask : fullMask(a.width);
      const from = at + binaryValueAt(opcode);
      for (let j = 0; j < n; j++) {
        const m = (mask >>> (8 * (n - 1 - j))) & 0xff;
        let t = -1;
        if (m !== 0) {
          const key = seg * 0x10000 + skip + a.offset + j;
          const where = canonicalByte.get(key);
          if (where === undefined) return null;
          t = targetOf.get(key) ?? -1;
          if (t < 0) {
            t = targets.length / 2;
            targetOf.set(key, t);
            targets.push(where[0], where[1]);
          }
        }
        contribs.push(from + j, m, t);
        skeleton[from + j] = 0;
        isValue[from + j] = 1;
      }
    }
    at += size;
  }
  return at === bytes.length ? new ShapePlan(skeleton, isValue, normal.atoms, contribs, targets) : null;
}

/** A bounded map from filter skeletons to plans; one per engine. */
export class FilterShapeCache {
  readonly #plans = new Map<number, ShapePlan>();
  readonly stats: FilterShapeCacheStats;

  constructor(maxEntries: number) {
    this.stats = { hits: 0, misses: 0, valueRefusals: 0, entries: 0, maxEntries };
  }

  /**
   * The canonical atoms of binary filter `bytes` when its shape is cached and its values pass
   * the verifier's value checks — exactly what decode, verify and normalize would give — else
   * null (the caller takes the full path, then {@link learn}s). Counts a hit or a miss.
   */
  lookup(bytes: Uint8Array): NormalAtom[] | null {
    const h = skeletonHash(bytes);
    const plan = h < 0 ? undefined : this.#plans.get(h);
    if (plan === undefined || !plan.matches(bytes)) {
      this.stats.misses++;
      return null;
    }
    this.stats.hits++;
    const atoms = plan.canonical(bytes);
    if (atoms === null) this.stats.valueRefusals++;
    return atoms;
  }

  /** Remember the shape of `bytes`, which the full path decoded and verified as `filter` (canonical form `normal`). */
  learn(bytes: Uint8Array, filter: VerifiedFilter, normal: NormalFilter): void {
    const h = skeletonHash(bytes);
    if (h < 0 || this.stats.maxEntries === 0) return;
    const plan = makePlan(bytes, filter, normal);
    if (plan === null) return;
    if (!this.#plans.has(h) && this.#plans.size >= this.stats.maxEntries) {
      this.#plans.delete(this.#plans.keys().next().value as number);
    }
    // A colliding skeleton replaces the plan under its hash: the newest shape is the likelier one.
    this.#plans.set(h, plan);
    this.stats.entries = this.#plans.size;
  }
}
