/**
 * fast-check arbitraries and helpers for the DPF tests (not used at run time). Filters are drawn
 * from a small vocabulary of fields so that random filters share prefixes, collide in hash
 * nodes, coalesce and shift — the interesting cases — instead of being unrelated.
 */
import fc from 'fast-check';
import type { FilterAtom, FilterAst, LoadWidth } from '../lang/ast.js';
import { fullMask } from '../lang/ast.js';
import { ATOM_SHIFT, type NormalAtom } from '../lang/normalize.js';
import { parseFilterText } from '../lang/text.js';
import { type VerifiedFilter, verify } from '../lang/verify.js';

/** The seed of this run: `SEED=` from the environment, else random; printed so a failure can be replayed. */
export function runSeed(name: string): number {
  const env = process.env['SEED'];
  const seed = env !== undefined && env !== '' ? Number(env) : (Math.random() * 2 ** 31) | 0;
  console.log(`[${name}] fast-check seed=${seed} (replay: SEED=${seed})`);
  return seed;
}

/** Parse and verify filter text, or throw with the reason (test input is trusted to be valid). */
export function vf(text: string): VerifiedFilter {
  const p = parseFilterText(text);
  if (!p.ok) throw new Error(`parse: ${p.reason}`);
  const v = verify(p.ast);
  if (!v.ok) throw new Error(`verify: ${v.reason}\n${v.log.join('\n')}`);
  return v.filter;
}

const width = fc.constantFrom<LoadWidth>(8, 16, 32);

/** Any well-formed atom with fields in range (offsets up to `maxOffset`). */
export function anyAtom(maxOffset = 65530): fc.Arbitrary<FilterAtom> {
  return fc.oneof(
    width.chain((w) => fc.record({ op: fc.constant('eq' as const), width: fc.constant(w), offset: fc.nat(maxOffset), value: fc.nat({ max: fullMask(w) }) })),
    width.chain((w) =>
      fc.tuple(fc.nat(maxOffset), fc.nat({ max: fullMask(w) }), fc.nat({ max: fullMask(w) })).map(
        ([offset, mask, v]): FilterAtom => ({ op: 'meq', width: w, offset, mask, value: (v & mask) >>> 0 }),
      ),
    ),
    width.chain((w) => fc.record({ op: fc.constant('shift' as const), width: fc.constant(w), offset: fc.nat(maxOffset), shift: fc.nat(31) })),
    width.chain((w) =>
      fc.record({ op: fc.constant('mshift' as const), width: fc.constant(w), offset: fc.nat(maxOffset), mask: fc.nat({ max: fullMask(w) }), shift: fc.nat(31) }),
    ),
    fc.record({ op: fc.constant('shifti' as const), bytes: fc.nat(65535) }),
  );
}

/** Any AST of well-formed atoms (it may still be refused: too long, contradictory, past the frame). */
export function anyAst(maxAtoms = 12): fc.Arbitrary<FilterAst> {
  return fc.array(anyAtom(), { minLength: 0, maxLength: maxAtoms }).map((atoms) => ({ atoms }));
}

/** One atom from the small shared vocabulary (protocol-like fields, few values, short shifts). */
const vocabAtom: fc.Arbitrary<FilterAtom> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('eq' as const), width: fc.constant<LoadWidth>(16), offset: fc.constantFrom(0, 12, 14, 20, 34, 36), value: fc.constantFrom(0, 1, 0x0800, 0x0806, 80, 0x4500) }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('eq' as const), width: fc.constant<LoadWidth>(8), offset: fc.constantFrom(1, 14, 15, 23, 24), value: fc.constantFrom(0, 1, 6, 17, 0x45) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('eq' as const), width: fc.constant<LoadWidth>(32), offset: fc.constantFrom(2, 26, 30), value: fc.constantFrom(0, 1, 0xc6120001, 0xc6120002, 0xffffffff) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('meq' as const), width: fc.constant<LoadWidth>(8), offset: fc.constantFrom(14, 23, 25), mask: fc.constantFrom(0x0f, 0xf0, 0x01, 0), value: fc.constant(0) }).map((a): FilterAtom => ({ ...a, value: a.mask & 0x41 })) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('meq' as const), width: fc.constant<LoadWidth>(16), offset: fc.constantFrom(20, 24), mask: fc.constantFrom(0x1fff, 0xff00), value: fc.constant(0) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mshift' as const), width: fc.constant<LoadWidth>(8), offset: fc.constantFrom(0, 14), mask: fc.constantFrom(0x0f, 0x03), shift: fc.constantFrom(0, 2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('shift' as const), width: fc.constant<LoadWidth>(8), offset: fc.constantFrom(1, 15), shift: fc.constantFrom(0, 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('shifti' as const), bytes: fc.constantFrom(0, 2, 14) }) },
);

/** A filter from the shared vocabulary (1…`maxAtoms` atoms). */
export function vocabAst(maxAtoms = 7): fc.Arbitrary<FilterAst> {
  return fc.array(vocabAtom, { minLength: 1, maxLength: maxAtoms }).map((atoms) => ({ atoms }));
}

/** Random frame bytes: mostly small (so loads hit and miss the end), zero-heavy so masks match. */
export const anyFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc.uint8Array({ minLength: 0, maxLength: 120 }).map((b) => b.map((x) => (x < 160 ? 0 : x))),
);

/**
 * Write a canonical filter's constraints into `frame` (in place), following its shifts as the
 * frame then reads: a frame that (nearly) matches, for differential tests. Returns `frame`.
 */
export function imprint(atoms: readonly NormalAtom[], frame: Uint8Array): Uint8Array {
  let base = 0;
  for (const a of atoms) {
    const bytes = a.width / 8;
    const at = base + a.offset;
    if (at + bytes > frame.length) return frame;
    if (a.kind === ATOM_SHIFT) {
      let x = 0;
      for (let k = 0; k < bytes; k++) x = x * 256 + (frame[at + k] as number);
      base += ((x & a.mask) >>> 0) * 2 ** a.shift;
      continue;
    }
    for (let k = 0; k < bytes; k++) {
      const s = 8 * (bytes - 1 - k);
      const m = Math.floor(a.mask / 2 ** s) & 0xff;
      const v = Math.floor(a.value / 2 ** s) & 0xff;
      frame[at + k] = ((frame[at + k] as number) & ~m) | v;
    }
  }
  return frame;
}

/**
 * Evaluate an AST as written — an independent reading of the language (ast.ts): `shifti`
 * adds to every later offset, a shift moves the base. The oracle for `normalize`.
 */
export function evalAst(ast: FilterAst, p: Uint8Array, len: number): boolean {
  let base = 0;
  let skip = 0;
  for (const a of ast.atoms) {
    if (a.op === 'shifti') {
      skip += a.bytes;
      continue;
    }
    const at = base + skip + a.offset;
    const bytes = a.width / 8;
    if (at + bytes > len) return false;
    let x = 0;
    for (let k = 0; k < bytes; k++) x = x * 256 + (p[at + k] as number);
    const mask = a.op === 'meq' || a.op === 'mshift' ? a.mask : fullMask(a.width);
    const masked = Number(BigInt(x) & BigInt(mask));
    if (a.op === 'eq' || a.op === 'meq') {
      if (masked !== a.value) return false;
    } else {
      base += masked * 2 ** a.shift;
      if (base > len) return false;
    }
  }
  return true;
}
