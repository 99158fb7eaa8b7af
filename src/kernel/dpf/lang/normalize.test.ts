import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesAlone } from '../naive.js';
import { anyFrame, evalAst, imprint, runSeed, vf, vocabAst } from '../testing/arbitraries.js';
import { formatNormalFilter, normalize } from './normalize.js';
import { verify } from './verify.js';

const canon = (text: string): string => formatNormalFilter(normalize(vf(text)));

describe('normalize', () => {
  it('folds skips, merges identical constraints and coalesces abutting bytes (big-endian)', () => {
    expect(canon('eq16 26 0xc612; eq16 28 0x0001')).toBe('eq32 @26 0xc6120001');
    expect(canon('eq8 26 198; eq8 27 18; eq8 28 0; eq8 29 1; eq8 26 198')).toBe('eq32 @26 0xc6120001');
    expect(canon('shifti 26; eq32 0 0xc6120001')).toBe('eq32 @26 0xc6120001');
    expect(canon('meq32 26 0xffffffff 0xc6120001')).toBe('eq32 @26 0xc6120001');
    expect(canon('eq8 23 6; eq16 12 0x0800')).toBe('eq16 @12 0x0800; eq8 @23 0x06');
    // A run longer than 4 bytes is cut from its start: addresses and ports stay whole.
    expect(canon('eq32 26 1; eq32 30 2; eq16 34 3; eq16 36 4')).toBe('eq32 @26 0x00000001; eq32 @30 0x00000002; eq32 @34 0x00030004');
    // Coalescing can give 24-bit loads; partial masks stay partial.
    expect(canon('eq16 12 0x0800; meq8 14 0xf0 0x40')).toBe('eq24 @12 &0xfffff0 =0x080040');
  });

  it('keeps the furthest byte read: a frame-length requirement never changes', () => {
    expect(canon('meq16 36 0xff00 0x1200')).toBe('eq16 @36 &0xff00 =0x1200');
    expect(canon('meq32 26 0xffff0000 0xc6120000')).toBe('eq16 @26 0xc612; eq8 @29 &0x00 =0x00');
    expect(canon('meq8 99 0 0')).toBe('eq8 @99 &0x00 =0x00');
  });

  it('keeps segments apart: eq atoms before their shift, offsets relative to their base', () => {
    expect(canon('eq8 23 6; eq16 12 0x0800; mshift8 14 0x0f 2; eq16 16 80')).toBe(
      'eq16 @12 0x0800; eq8 @23 0x06; shift8 @14 &0x0f <<2; eq16 @16 0x0050',
    );
    // Atoms written after a shift belong to the new base, wherever they "look" like they point.
    expect(canon('mshift8 14 0x0f 2; eq16 16 80; eq16 12 0x0800')).toBe('shift8 @14 &0x0f <<2; eq16 @12 0x0800; eq16 @16 0x0050');
    expect(canon('shifti 14; mshift8 0 0x0f 2; eq16 2 80')).toBe('shift8 @14 &0x0f <<2; eq16 @16 0x0050');
    expect(canon('shift16 0 1')).toBe('shift16 @0 <<1');
  });

  it('accepts exactly the frames the filter as written accepts (property)', () => {
    const filters = vocabAst(8).filter((a) => verify(a).ok);
    fc.assert(
      fc.property(filters, fc.array(anyFrame, { minLength: 4, maxLength: 4 }), (ast, frames) => {
        const v = verify(ast);
        if (!v.ok) return;
        const n = normalize(v.filter);
        for (const raw of frames) {
          for (const f of [raw, imprint(n.atoms, raw.slice())]) {
            for (const len of [f.length, Math.max(0, f.length - 1)]) {
              expect(matchesAlone(n.atoms, f, len)).toBe(evalAst(ast, f, len));
            }
          }
        }
        expect(normalize(v.filter)).toEqual(n);
      }),
      { seed: runSeed('normalize semantics'), numRuns: 3000 },
    );
  });
});
