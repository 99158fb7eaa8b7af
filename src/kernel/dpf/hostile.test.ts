/**
 * Hostile filters end to end: random bytes, random and JavaScript-laden text, huge counts and
 * out-of-range fields go through parse → verify → insert. Nothing throws, every refusal carries
 * a code and a reason, whatever is accepted only ever puts templates and numbers into generated
 * code, and no global or prototype changes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkGeneratedSource } from './codegen-check.js';
import { DpfEngine } from './engine.js';
import { encodeFilterBinary, parseFilterBinary } from './lang/binary.js';
import { DPF_BOGUSOP, DPF_NILFILTER, DPF_TOOMANYELEMS } from './lang/codes.js';
import { parseFilterText } from './lang/text.js';
import { verify } from './lang/verify.js';
import { anyAst, runSeed } from './testing/arbitraries.js';

const CANARY = '__dpfCanary';
const INJECTIONS = [
  'eq8 0 1; }); globalThis.__dpfCanary = 1; ({',
  "eq8 0 1 // '; process.exit()",
  'eq8 0 `${globalThis.__dpfCanary = 1}`',
  'eq8 0 "\\u2028"',
  'eq8 0 1\u2028globalThis.__dpfCanary=1',
  'eq8 0 1\\',
  'constructor 0 1',
  '__proto__ 0 1',
  'eq8 __proto__ 1',
  'eq8 0 constructor',
  'eq8 0 0x1; eq8 0 0x1 /* */',
  'eq16 12 0x0800 && eval("1")',
  'toString 1 2',
];

function pipeline(engine: DpfEngine, input: Uint8Array | string): { ok: boolean; reason: string } {
  const parsed = typeof input === 'string' ? parseFilterText(input) : parseFilterBinary(input);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const v = verify(parsed.ast);
  if (!v.ok) return { ok: false, reason: v.reason };
  const r = engine.tryInsert(v.filter, { pid: 7, uid: 7 });
  return r.ok ? { ok: true, reason: '' } : { ok: false, reason: r.reason };
}

function generatedWords(engine: DpfEngine): string[] {
  const code = engine.printCode().replace(/\/\/.*$/gm, '').replace(/\/\*.*?\*\//g, '').replace(/\b0x[0-9a-f]+\b/g, '');
  return [...new Set(code.match(/[A-Za-z_$][\w$]*/g))].sort();
}

const TEMPLATE_WORDS = new Set(['K', 'T', 'b', 'const', 'find', 'h', 'i', 'if', 'n', 'o', 'p', 'r', 'return', 'rows', 'shapes', 'strict', 'stride', 't', 'tabs', 'use', 'x']);

describe('hostile filters', () => {
  it('text with JavaScript, quotes, backslashes, U+2028, constructor and __proto__ is refused with a reason', () => {
    const e = new DpfEngine();
    for (const text of INJECTIONS) {
      const r = pipeline(e, text);
      expect([text, r.ok]).toEqual([text, false]);
      expect(r.reason).toMatch(/^\d+:\d+: /);
    }
    expect(CANARY in globalThis).toBe(false);
  });

  it('huge counts and out-of-range fields are refused with their DPF codes', () => {
    const big = { atoms: Array.from({ length: 100_000 }, () => ({ op: 'eq', width: 8, offset: 0, value: 0 })) };
    expect(verify(big as never)).toMatchObject({ ok: false, code: DPF_TOOMANYELEMS });
    expect(parseFilterBinary(Uint8Array.from([0x44, 0x50, 1, 0, 0xff, 0xff]))).toMatchObject({ ok: false, code: DPF_TOOMANYELEMS });
    expect(verify({ atoms: [] })).toMatchObject({ ok: false, code: DPF_NILFILTER });
    for (const atom of [
      { op: 'eq', width: 8, offset: 2 ** 53, value: 0 },
      { op: 'eq', width: 8, offset: 0, value: Number.POSITIVE_INFINITY },
      { op: 'meq', width: 32, offset: 0, mask: 2 ** 40, value: 0 },
      { op: 'mshift', width: 8, offset: 0, mask: 1, shift: 1e9 },
      { op: 'shifti', bytes: -1 },
      { op: 'eq', width: 8, offset: '0', value: 0 },
      { op: 'eq', width: 8, offset: { valueOf: () => 1 }, value: 0 },
    ]) {
      const r = verify({ atoms: [atom] } as never);
      expect(r).toMatchObject({ ok: false, code: DPF_BOGUSOP });
      expect(r.ok || r.reason.length > 10).toBe(true);
    }
  });

  it('random and mutated bytes and text never throw, and generated code stays templates and numbers (property)', () => {
    const engine = new DpfEngine({ maxFilters: 100_000 });
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).join();
    const globalsBefore = Object.keys(globalThis).join();
    let accepted = 0;
    const encoded = anyAst(6)
      .filter((a) => a.atoms.length > 0)
      .map((a) => encodeFilterBinary(a));
    const mutated = fc.tuple(encoded, fc.nat(), fc.nat(255)).map(([b, at, v]) => {
      const c = b.slice();
      c[at % c.length] = v;
      return c;
    });
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      encoded,
      mutated,
      fc.string({ unit: 'binary', maxLength: 120 }),
      fc.constantFrom(...INJECTIONS),
      fc.array(fc.constantFrom('eq8', 'eq16', 'meq32', 'mshift8', 'shifti', '0', '12', '0xffffffff', '65535', '31', ';', '\n', 'constructor', '"'), { maxLength: 12 }).map((w) => w.join(' ')),
    );
    fc.assert(
      fc.property(input, (x) => {
        const r = pipeline(engine, x);
        if (r.ok) accepted++;
        else expect(r.reason.length).toBeGreaterThan(0);
      }),
      { seed: runSeed('hostile'), numRuns: 1500 },
    );
    expect(accepted).toBeGreaterThan(50);
    expect(engine.checkTrie()).toEqual([]);
    expect(engine.stats().codegen.checkFailures).toBe(0);
    for (const w of generatedWords(engine)) expect(TEMPLATE_WORDS.has(w) || /^b\d+$/.test(w)).toBe(true);
    for (const source of engine.printCode().split(/^\/\/ unit .*$/m).slice(1)) {
      if (source.trim() !== '/* interpreted */') expect(checkGeneratedSource(source.trim())).toBeNull();
    }
    expect(Object.getOwnPropertyNames(Object.prototype).join()).toBe(protoBefore);
    expect(Object.keys(globalThis).join()).toBe(globalsBefore);
    expect(CANARY in globalThis).toBe(false);
    // Frames through whatever was accepted: no throw, and the interpreter agrees.
    const frame = new Uint8Array(200);
    for (let i = 0; i < 200; i++) {
      frame[i] = (i * 37) & 0xff;
      expect(engine.demux(frame, i)).toBe(engine.interpret(frame, i));
    }
  });
});
