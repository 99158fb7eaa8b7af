/**
 * The verifier: checks a filter exactly as written, before anything is built from it (the
 * classic-BPF `bpf_check_classic` / eBPF `bpf_check` position). Pure; never throws, whatever
 * the input (an AST from the text or binary parser, or a JSON object from anywhere).
 *
 * Checks, in order: the atom list exists and has 1…{@link DPF_MAX_ATOMS} atoms; each atom has a
 * known op and width; offsets, masks, values and shifts are integers in range (the mask no
 * wider than the load, the value no bits outside the mask, shifts 0…{@link DPF_MAX_SHIFT}); no
 * load reaches past the largest frame after constant skips; no two atoms contradict each other
 * on a byte of one segment (the filter could never match); and the filter constrains something.
 *
 * The result is a frozen copy branded {@link VerifiedFilter} — only this function mints one — and
 * a log with one line per atom saying what it checks or why it was refused.
 */
import { type FilterAst, type FilterAtom, type LoadWidth, fullMask, hex } from './ast.js';
import { SegmentBytes } from './bytes.js';
import {
  DPF_BOGUSOP,
  DPF_MAX_ATOMS,
  DPF_MAX_FRAME_BYTES,
  DPF_MAX_SHIFT,
  DPF_NILFILTER,
  DPF_TOOMANYELEMS,
  type DpfErrorCode,
  type DpfRefusal,
  refuse,
} from './codes.js';
import { formatAtom } from './text.js';

declare const verifiedBrand: unique symbol;

/** A filter that passed {@link verify}: immutable, every field in range. */
export type VerifiedFilter = FilterAst & { readonly [verifiedBrand]: true };

/** Result of {@link verify}. */
export type VerifyResult =
  | { readonly ok: true; readonly filter: VerifiedFilter; readonly log: readonly string[] }
  | DpfRefusal;

/** Largest constant skip, in bytes (the encoding's u16). */
const MAX_SKIP = 0xffff;

function isInt(x: unknown, min: number, max: number): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= min && x <= max && !Object.is(x, -0);
}

function isWidth(x: unknown): x is LoadWidth {
  return x === 8 || x === 16 || x === 32;
}

function describe(x: unknown): string {
  if (typeof x === 'number') return Object.is(x, -0) ? '-0' : String(x);
  let s: string;
  try {
    s = JSON.stringify(x) ?? String(x);
  } catch {
    s = Object.prototype.toString.call(x);
  }
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

/** Check one atom's own fields; returns a clean copy or the reason it is malformed. */
function checkAtom(raw: unknown): FilterAtom | string {
  if (typeof raw !== 'object' || raw === null) return `not an atom object: ${describe(raw)}`;
  const r = raw as Record<string, unknown>;
  const op = r['op'];
  if (op === 'shifti') {
    const bytes = r['bytes'];
    if (!isInt(bytes, 0, MAX_SKIP)) return `shifti: skip ${describe(bytes)} is not an integer in 0…${MAX_SKIP}`;
    return Object.freeze({ op, bytes });
  }
  if (op !== 'eq' && op !== 'meq' && op !== 'shift' && op !== 'mshift') {
    return `unknown op ${describe(op)} (eq, meq, shift, mshift or shifti)`;
  }
  const width = r['width'];
  if (!isWidth(width)) return `${op}: width ${describe(width)} is not 8, 16 or 32`;
  const offset = r['offset'];
  if (!isInt(offset, 0, DPF_MAX_FRAME_BYTES - 1)) {
    return `${op}${width}: offset ${describe(offset)} is not an integer in 0…${DPF_MAX_FRAME_BYTES - 1}`;
  }
  const max = fullMask(width);
  let mask = max;
  if (op === 'meq' || op === 'mshift') {
    const m = r['mask'];
    if (!isInt(m, 0, Number.MAX_SAFE_INTEGER)) return `${op}${width}: mask ${describe(m)} is not a non-negative integer`;
    if (m > max) return `${op}${width}: mask ${hex(m, width)} is wider than the ${width}-bit load`;
    mask = m;
  }
  if (op === 'eq' || op === 'meq') {
    const value = r['value'];
    if (!isInt(value, 0, Number.MAX_SAFE_INTEGER)) return `${op}${width}: value ${describe(value)} is not a non-negative integer`;
    if (value > max) return `${op}${width}: value ${hex(value, width)} is wider than the ${width}-bit load`;
    // Both are < 2^32 here, so the 32-bit bitwise operators see every bit.
    if ((value & ~mask) !== 0) {
      return `${op}${width}: value ${hex(value, width)} has bits outside mask ${hex(mask, width)}, so it can never match`;
    }
    return Object.freeze(op === 'eq' ? { op, width, offset, value } : { op, width, offset, mask, value });
  }
  const shift = r['shift'];
  if (!isInt(shift, 0, DPF_MAX_SHIFT)) return `${op}${width}: shift ${describe(shift)} is not an integer in 0…${DPF_MAX_SHIFT}`;
  return Object.freeze(op === 'shift' ? { op, width, offset, shift } : { op, width, offset, mask, shift });
}

/** Outcome of one pass over the atoms, without the log. */
type Checked = { readonly ok: true; readonly filter: VerifiedFilter } | { readonly ok: false; readonly code: DpfErrorCode; readonly reason: string };

/**
 * The verifier's one pass. `note`, when given, receives the log lines; the common path (an
 * accepted filter, no log wanted yet) builds no text at all.
 */
function check(ast: FilterAst, note?: (line: string) => void): Checked {
  const fail = (code: DpfErrorCode, reason: string): Checked => ({ ok: false, code, reason });
  const raw: unknown = typeof ast === 'object' && ast !== null ? (ast as { atoms?: unknown }).atoms : undefined;
  if (!Array.isArray(raw)) return fail(DPF_BOGUSOP, 'a filter is an object with an "atoms" array');
  if (raw.length === 0) return fail(DPF_NILFILTER, 'the filter has no atoms');
  if (raw.length > DPF_MAX_ATOMS) return fail(DPF_TOOMANYELEMS, `the filter has ${raw.length} atoms, more than ${DPF_MAX_ATOMS}`);
  const atoms: FilterAtom[] = [];
  let skip = 0;
  let segment = 0;
  /** Index of the first atom of the current segment. */
  let segmentStart = 0;
  let constrains = false;
  let seg = new SegmentBytes();
  const refused = (i: number, text: string, why: string): Checked => {
    note?.(`atom ${i}: ${text}: refused: ${why}`);
    return fail(DPF_BOGUSOP, `atom ${i}: ${why}`);
  };
  for (let i = 0; i < raw.length; i++) {
    const a = checkAtom(raw[i]);
    if (typeof a === 'string') {
      note?.(`atom ${i}: refused: ${a}`);
      return fail(DPF_BOGUSOP, `atom ${i}: ${a}`);
    }
    if (a.op === 'shifti') {
      skip += a.bytes;
      if (skip > DPF_MAX_FRAME_BYTES - 1) {
        return refused(i, formatAtom(a), `constant skips add up to ${skip} bytes, past the largest frame (${DPF_MAX_FRAME_BYTES} bytes)`);
      }
      note?.(`atom ${i}: ${formatAtom(a)}: ok, later offsets +${skip} in all`);
      atoms.push(a);
      continue;
    }
    const at = skip + a.offset;
    const end = at + a.width / 8;
    if (end > DPF_MAX_FRAME_BYTES) {
      return refused(i, formatAtom(a), `reads bytes ${at}…${end - 1} of segment ${segment}, past the largest frame (${DPF_MAX_FRAME_BYTES} bytes)`);
    }
    constrains = true;
    if (a.op === 'shift' || a.op === 'mshift') {
      note?.(`atom ${i}: ${formatAtom(a)}: ok, base of segment ${segment + 1} = base + (bytes ${at}…${end - 1} & mask) << ${a.shift}`);
      segment++;
      segmentStart = i + 1;
      seg = new SegmentBytes();
      atoms.push(a);
      continue;
    }
    const clash = seg.add(at, a.width, a.op === 'meq' ? a.mask : fullMask(a.width), a.value);
    if (clash >= 0) {
      const first = firstAtomOn(atoms, segmentStart, clash);
      return refused(i, formatAtom(a), `contradicts atom ${first} on byte ${clash} of segment ${segment}, so the filter can never match`);
    }
    note?.(`atom ${i}: ${formatAtom(a)}: ok, bytes ${at}…${end - 1} of segment ${segment}`);
    atoms.push(a);
  }
  if (!constrains) return fail(DPF_NILFILTER, 'the filter only skips: it constrains nothing and would match every frame');
  note?.(`verified: ${atoms.length} atoms, ${segment + 1} segment${segment > 0 ? 's' : ''}`);
  return { ok: true, filter: Object.freeze({ atoms: Object.freeze(atoms) }) as VerifiedFilter };
}

/** Index of the first eq atom from `from` on that reads byte `byte` (offsets after skips). */
function firstAtomOn(atoms: readonly FilterAtom[], from: number, byte: number): number {
  let skip = 0;
  for (let i = 0; i < atoms.length; i++) {
    const a = atoms[i] as FilterAtom;
    if (a.op === 'shifti') skip += a.bytes;
    else if (i >= from && (a.op === 'eq' || a.op === 'meq') && skip + a.offset <= byte && byte < skip + a.offset + a.width / 8) return i;
  }
  return -1;
}

/** The verifier log of `ast`: one line per atom, then the verdict. */
function logOf(ast: FilterAst): string[] {
  const lines: string[] = [];
  check(ast, (line) => lines.push(line));
  return lines;
}

/**
 * Verify a filter. Never throws. On success the filter is a deep, frozen copy holding only the
 * known fields, and `log` (built when first read) says what each atom checks; on refusal the
 * code is `DPF_NILFILTER`, `DPF_TOOMANYELEMS` or `DPF_BOGUSOP`, with the log up to the fault.
 */
export function verify(ast: FilterAst): VerifyResult {
  const r = check(ast);
  if (!r.ok) return refuse(r.code, r.reason, logOf(ast));
  let log: readonly string[] | undefined;
  return {
    ok: true,
    filter: r.filter,
    get log(): readonly string[] {
      log ??= logOf(r.filter);
      return log;
    },
  };
}
