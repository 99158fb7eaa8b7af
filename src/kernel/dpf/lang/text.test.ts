import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyAst, runSeed } from '../testing/arbitraries.js';
import { DPF_BOGUSOP, DPF_MAX_ATOMS } from './codes.js';
import { formatFilterText, parseFilterText } from './text.js';

describe('text syntax', () => {
  it('parses every mnemonic, separators and comments', () => {
    const r = parseFilterText(
      '# a TCP listener\neq16 12 0x0800 ; meq8 14 0xf0 0x40 && eq8 23 6\r\n  shifti 0\nshift8 0 0\nmshift8 14 0x0f 2 # IHL\neq16 16 80\n;;\n',
    );
    expect(r).toEqual({
      ok: true,
      ast: {
        atoms: [
          { op: 'eq', width: 16, offset: 12, value: 0x800 },
          { op: 'meq', width: 8, offset: 14, mask: 0xf0, value: 0x40 },
          { op: 'eq', width: 8, offset: 23, value: 6 },
          { op: 'shifti', bytes: 0 },
          { op: 'shift', width: 8, offset: 0, shift: 0 },
          { op: 'mshift', width: 8, offset: 14, mask: 0x0f, shift: 2 },
          { op: 'eq', width: 16, offset: 16, value: 80 },
        ],
      },
    });
  });

  it('prints the canonical spelling', () => {
    const r = parseFilterText('eq16 12 2048; meq32 26 4294967040 3323068416; mshift8 14 15 2; shifti 4; shift16 0 1');
    if (!r.ok) throw new Error(r.reason);
    expect(formatFilterText(r.ast)).toBe('eq16 12 0x0800; meq32 26 0xffffff00 0xc6120000; mshift8 14 0x0f 2; shifti 4; shift16 0 1');
  });

  it.each([
    ['eq16 12', '1:1: eq16 takes 2 numbers, got 1'],
    ['eq16 12 1 2', '1:1: eq16 takes 2 numbers, got 3'],
    ['eq24 0 1', '1:1: unknown atom "eq24"'],
    ['\n  constructor 1 2', '2:3: unknown atom "constructor"'],
    ['eq8 0 012', '1:7: "012" is not a number'],
    ['eq8 0 1e3', '1:7: "1e3" is not a number'],
    ['eq8 0 0x', '1:7: "0x" is not a number'],
    ['eq8 0 99999999999999999999', '1:7: "99999999999999999999" is not a number'],
    ['eq8 0 -1', '1:7: unexpected character "-"'],
    ['eq8 0 1; alert("x")', '1:15: unexpected character "("'],
    ["eq8 0 '1'", "1:7: unexpected character \"'\""],
    ['eq8 0 `${1}`', '1:7: unexpected character "`"'],
    ['eq8 0 1\\', '1:8: unexpected character "\\\\"'],
    ['eq8 0 1\u2028eq8 1 1', '1:8: unexpected character "\u2028"'],
    ['__proto__ 1', '1:1: unknown atom "__proto__"'],
    ['}}; return globalThis', '1:1: unexpected character "}"'],
  ])('refuses %j with a positioned reason', (text, reason) => {
    const r = parseFilterText(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(DPF_BOGUSOP);
    expect(r.reason.startsWith(reason)).toBe(true);
  });

  it('bounds its work: overlong text is refused, parsing stops after the atom limit', () => {
    expect(parseFilterText('#'.repeat(70000)).ok).toBe(false);
    const many = parseFilterText('eq8 0 0\n'.repeat(5000));
    expect(many.ok && many.ast.atoms.length).toBe(DPF_MAX_ATOMS + 1);
  });

  it('round-trips exactly: parse(format(ast)) = ast (property)', () => {
    fc.assert(
      fc.property(anyAst(20), (ast) => {
        const r = parseFilterText(formatFilterText(ast));
        expect(r).toEqual({ ok: true, ast });
      }),
      { seed: runSeed('text round trip'), numRuns: 2000 },
    );
  });

  it('never throws on arbitrary text, and pollutes nothing (property)', () => {
    const protoKeys = Object.getOwnPropertyNames(Object.prototype).join();
    const globals = Object.keys(globalThis).join();
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 200 })), (text) => {
        const r = parseFilterText(text);
        if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
      }),
      { seed: runSeed('text fuzz'), numRuns: 3000 },
    );
    expect(Object.getOwnPropertyNames(Object.prototype).join()).toBe(protoKeys);
    expect(Object.keys(globalThis).join()).toBe(globals);
  });
});
