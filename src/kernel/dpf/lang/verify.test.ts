import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyAst, runSeed, vf } from '../testing/arbitraries.js';
import type { FilterAst } from './ast.js';
import { DPF_BOGUSOP, DPF_NILFILTER, DPF_TOOMANYELEMS } from './codes.js';
import { parseFilterText } from './text.js';
import { verify } from './verify.js';

const ast = (text: string): FilterAst => {
  const r = parseFilterText(text);
  if (!r.ok) throw new Error(r.reason);
  return r.ast;
};

describe('verify', () => {
  it('accepts a good filter, with a log line per atom, and returns a frozen copy', () => {
    const input = ast('eq16 12 0x0800; shifti 2; meq8 12 0xf0 0x40; mshift8 12 0x0f 2; eq16 14 80');
    const r = verify(input);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.log).toEqual([
      'atom 0: eq16 12 0x0800: ok, bytes 12…13 of segment 0',
      'atom 1: shifti 2: ok, later offsets +2 in all',
      'atom 2: meq8 12 0xf0 0x40: ok, bytes 14…14 of segment 0',
      'atom 3: mshift8 12 0x0f 2: ok, base of segment 1 = base + (bytes 14…14 & mask) << 2',
      'atom 4: eq16 14 0x0050: ok, bytes 16…17 of segment 1',
      'verified: 5 atoms, 2 segments',
    ]);
    expect(r.filter.atoms).toEqual(input.atoms);
    expect(r.filter.atoms).not.toBe(input.atoms);
    expect(Object.isFrozen(r.filter) && Object.isFrozen(r.filter.atoms) && Object.isFrozen(r.filter.atoms[0])).toBe(true);
  });

  it.each([
    [{ atoms: [] }, DPF_NILFILTER, 'no atoms'],
    [{ atoms: [{ op: 'shifti', bytes: 4 }] }, DPF_NILFILTER, 'constrains nothing'],
    [{ atoms: Array.from({ length: 257 }, () => ({ op: 'eq', width: 8, offset: 0, value: 0 })) }, DPF_TOOMANYELEMS, '257 atoms'],
    [{}, DPF_BOGUSOP, '"atoms" array'],
    [null, DPF_BOGUSOP, '"atoms" array'],
    [{ atoms: 'eq8 0 0' }, DPF_BOGUSOP, '"atoms" array'],
    [{ atoms: [null] }, DPF_BOGUSOP, 'atom 0: not an atom object: null'],
    [{ atoms: [{ op: 'constructor' }] }, DPF_BOGUSOP, 'unknown op "constructor"'],
    [{ atoms: [{ op: '__proto__', width: 8 }] }, DPF_BOGUSOP, 'unknown op "__proto__"'],
    [{ atoms: [{ op: 'eq', width: 24, offset: 0, value: 0 }] }, DPF_BOGUSOP, 'width 24 is not 8, 16 or 32'],
    [{ atoms: [{ op: 'eq', width: '8', offset: 0, value: 0 }] }, DPF_BOGUSOP, 'width "8" is not'],
    [{ atoms: [{ op: 'eq', width: 8, offset: -1, value: 0 }] }, DPF_BOGUSOP, 'offset -1 is not an integer in 0…65535'],
    [{ atoms: [{ op: 'eq', width: 8, offset: 1.5, value: 0 }] }, DPF_BOGUSOP, 'offset 1.5'],
    [{ atoms: [{ op: 'eq', width: 8, offset: Number.NaN, value: 0 }] }, DPF_BOGUSOP, 'offset NaN is not'],
    [{ atoms: [{ op: 'eq', width: 8, offset: -0, value: 0 }] }, DPF_BOGUSOP, 'offset -0 is not'],
    [{ atoms: [{ op: 'eq', width: 8, offset: 65536, value: 0 }] }, DPF_BOGUSOP, 'offset 65536'],
    [{ atoms: [{ op: 'eq', width: 16, offset: 65535, value: 0 }] }, DPF_BOGUSOP, 'past the largest frame'],
    [{ atoms: [{ op: 'shifti', bytes: 65535 }, { op: 'eq', width: 8, offset: 1, value: 0 }] }, DPF_BOGUSOP, 'past the largest frame'],
    [{ atoms: [{ op: 'shifti', bytes: 65535 }, { op: 'shifti', bytes: 1 }] }, DPF_BOGUSOP, 'constant skips add up to 65536'],
    [{ atoms: [{ op: 'eq', width: 8, offset: 0, value: 256 }] }, DPF_BOGUSOP, 'value 0x100 is wider than the 8-bit load'],
    [{ atoms: [{ op: 'eq', width: 32, offset: 0, value: 2 ** 32 }] }, DPF_BOGUSOP, 'wider than the 32-bit load'],
    [{ atoms: [{ op: 'eq', width: 8, offset: 0, value: '1' }] }, DPF_BOGUSOP, 'value "1" is not'],
    [{ atoms: [{ op: 'meq', width: 8, offset: 0, mask: 0x1f0, value: 0 }] }, DPF_BOGUSOP, 'mask 0x1f0 is wider than the 8-bit load'],
    [{ atoms: [{ op: 'meq', width: 8, offset: 0, mask: 0x0f, value: 0x10 }] }, DPF_BOGUSOP, 'bits outside mask 0x0f, so it can never match'],
    [{ atoms: [{ op: 'meq', width: 32, offset: 0, mask: 0xffff0000, value: 0x80000001 }] }, DPF_BOGUSOP, 'bits outside mask'],
    [{ atoms: [{ op: 'shift', width: 8, offset: 0, shift: 32 }] }, DPF_BOGUSOP, 'shift 32 is not an integer in 0…31'],
    [{ atoms: [{ op: 'mshift', width: 16, offset: 0, mask: 0x10000, shift: 1 }] }, DPF_BOGUSOP, 'mask 0x10000 is wider'],
    [{ atoms: [{ op: 'eq', width: 16, offset: 12, value: 0x800 }, { op: 'eq', width: 8, offset: 13, value: 1 }] }, DPF_BOGUSOP, 'atom 1: contradicts atom 0 on byte 13 of segment 0'],
    [{ atoms: [{ op: 'eq', width: 8, offset: 23, value: 6 }, { op: 'shifti', bytes: 3 }, { op: 'eq', width: 8, offset: 20, value: 17 }] }, DPF_BOGUSOP, 'contradicts atom 0 on byte 23'],
  ])('refuses %j', (input, code, reason) => {
    const r = verify(input as unknown as FilterAst);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(code);
    expect(r.reason).toContain(reason);
  });

  it('sees no contradiction across a shift (different bases) or under disjoint masks', () => {
    expect(verify(ast('eq8 14 0x45; mshift8 14 0x0f 2; eq8 14 0x11')).ok).toBe(true);
    expect(verify(ast('meq8 14 0xf0 0x40; meq8 14 0x0f 0x05; eq8 14 0x45')).ok).toBe(true);
  });

  it('logs where a refusal happened', () => {
    const r = verify(ast('eq16 12 0x0800; meq8 14 0x0f 0x10'));
    expect(!r.ok && r.log).toEqual(['atom 0: eq16 12 0x0800: ok, bytes 12…13 of segment 0', 'atom 1: refused: meq8: value 0x10 has bits outside mask 0x0f, so it can never match']);
  });

  it('never throws, and what it accepts stays accepted after a text round trip (property)', () => {
    fc.assert(
      fc.property(anyAst(20), (a) => {
        const r = verify(a);
        if (r.ok) expect(verify(r.filter)).toEqual(r);
        else expect(r.reason.length).toBeGreaterThan(0);
      }),
      { seed: runSeed('verify'), numRuns: 3000 },
    );
    expect(vf('eq8 0 1').atoms).toHaveLength(1);
  });
});
