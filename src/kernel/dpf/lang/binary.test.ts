import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyAst, runSeed, vf } from '../testing/arbitraries.js';
import { DPF_MAX_FILTER_BYTES, encodeFilterBinary, parseFilterBinary } from './binary.js';
import { DPF_BOGUSOP, DPF_MAX_ATOMS, DPF_NILFILTER, DPF_TOOMANYELEMS } from './codes.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('binary encoding', () => {
  it('encodes a TCP connection filter compactly, byte-exact', () => {
    const f = vf('eq16 12 0x0800; eq8 23 6; eq32 26 0xc6120001; eq32 30 0xc6120002; mshift8 14 0x0f 2; eq32 14 0x9c400050; shifti 3');
    const b = encodeFilterBinary(f);
    expect(hex(b)).toBe(
      [
        '4450010000' + '07', // "DP", version 1, flags 0, 7 atoms
        '11000c0800', // eq16 12 0x0800
        '100017' + '06', // eq8 23 6
        '12001a' + 'c6120001', // eq32 26
        '12001e' + 'c6120002', // eq32 30
        '40000e' + '0f' + '02', // mshift8 14 0x0f 2
        '12000e' + '9c400050', // eq32 14
        '50' + '0003', // shifti 3
      ].join(''),
    );
    expect(b.length).toBe(44);
    expect(parseFilterBinary(b)).toEqual({ ok: true, ast: { atoms: f.atoms } });
  });

  it('the largest valid filter fits DPF_MAX_FILTER_BYTES', () => {
    const atoms = Array.from({ length: DPF_MAX_ATOMS }, () => ({ op: 'meq' as const, width: 32 as const, offset: 0, mask: 0xffffffff, value: 1 }));
    expect(encodeFilterBinary({ atoms }).length).toBe(DPF_MAX_FILTER_BYTES);
  });

  it.each([
    ['', DPF_BOGUSOP, 'shorter than the 6-byte header'],
    ['4451010000 01', DPF_BOGUSOP, 'bad magic'],
    ['4450020000 01', DPF_BOGUSOP, 'unsupported encoding version 2'],
    ['4450010100 01', DPF_BOGUSOP, 'header flags must be 0'],
    ['4450010000 00', DPF_NILFILTER, 'no atoms'],
    ['4450010001 01', DPF_TOOMANYELEMS, 'declares 257 atoms'],
    ['4450010000 01', DPF_BOGUSOP, 'truncated: atom 0 of 1 starts past the end'],
    ['4450010000 01 11000c08', DPF_BOGUSOP, 'truncated: atom 0 at byte 6 needs 5 bytes'],
    ['4450010000 01 13000c0800', DPF_BOGUSOP, 'bad width code 3'],
    ['4450010000 01 51000c', DPF_BOGUSOP, 'bad width code 1'],
    ['4450010000 01 60000c08', DPF_BOGUSOP, 'unknown op 6'],
    ['4450010000 01 00000c08', DPF_BOGUSOP, 'unknown op 0'],
    ['4450010000 01 11000c0800 00', DPF_BOGUSOP, '1 trailing bytes'],
  ])('refuses %s', (h, code, reason) => {
    const r = parseFilterBinary(Uint8Array.from(Buffer.from(h.replace(/ /g, ''), 'hex')));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(code);
    expect(r.reason).toContain(reason);
  });

  it('refuses oversized input before reading it', () => {
    const big = new Uint8Array(DPF_MAX_FILTER_BYTES + 1);
    big.set([0x44, 0x50, 1, 0, 0, 1]);
    const r = parseFilterBinary(big);
    expect(!r.ok && r.reason).toContain('more than any valid filter');
  });

  it('round-trips exactly: parse(encode(ast)) = ast (property)', () => {
    fc.assert(
      fc.property(anyAst(30).filter((a) => a.atoms.length > 0), (ast) => {
        expect(parseFilterBinary(encodeFilterBinary(ast))).toEqual({ ok: true, ast });
      }),
      { seed: runSeed('binary round trip'), numRuns: 2000 },
    );
  });

  it('never throws on random or mutated bytes; what it accepts re-encodes to the same bytes (property)', () => {
    const valid = anyAst(8)
      .filter((a) => a.atoms.length > 0)
      .map((a) => encodeFilterBinary(a));
    const mutated = fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }), fc.nat(100)).map(([b, edits, cut]) => {
      const c = b.slice(0, Math.max(6, b.length - (cut % 4 === 0 ? cut % 7 : 0)));
      for (const [at, v] of edits) c[at % c.length] = v;
      return c;
    });
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), (bytes) => {
        const r = parseFilterBinary(bytes);
        if (!r.ok) {
          expect(r.reason.length).toBeGreaterThan(0);
          return;
        }
        accepted++;
        expect(hex(encodeFilterBinary(r.ast))).toBe(hex(bytes));
      }),
      { seed: runSeed('binary fuzz'), numRuns: 5000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });
});
