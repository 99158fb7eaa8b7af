import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COALESCE_GAP_BYTES, MAX_RANGES, evaluateRange } from './range.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
const fcOpts = { seed, numRuns: 500 };
console.log(`range.test fast-check seed=${seed} (SEED=${seed} reproduces)`);

const full = { kind: 'full' };
const unsat = { kind: 'unsatisfiable' };
const part = (first: number, last: number) => ({ kind: 'partial', first, last });

describe('Range (RFC 9110 §14.1.2, §14.2)', () => {
  it.each([
    ['bytes=0-499', 1000, part(0, 499)],
    ['bytes=500-999', 1000, part(500, 999)],
    ['bytes=500-', 1000, part(500, 999)],
    ['bytes=-500', 1000, part(500, 999)],
    ['bytes=-5000', 1000, part(0, 999)], // §14.1.2: suffix longer than the representation → whole
    ['bytes=0-99999', 1000, part(0, 999)], // last-pos beyond the end is clamped
    ['bytes=999-999', 1000, part(999, 999)],
    ['Bytes=0-0', 1000, part(0, 0)], // §14.1: units are case-insensitive
    [' bytes = 1-2 ', 1000, part(1, 2)],
    ['bytes=0-1,,', 1000, part(0, 1)], // #rule: empty elements ignored
    ['bytes=1000-', 1000, unsat], // §14.1.1: first-pos ≥ length is unsatisfiable
    ['bytes=1000-2000', 1000, unsat],
    ['bytes=-0', 1000, unsat], // zero-length suffix
    ['bytes=1000-,-0', 1000, unsat],
    ['bytes=5-1', 1000, full], // last < first: invalid field → ignored
    ['bytes=a-1', 1000, full],
    ['bytes=1', 1000, full],
    ['bytes=', 1000, full],
    ['bytes=--1', 1000, full],
    ['items=0-1', 1000, full], // unknown unit → ignored
    ['0-1', 1000, full],
    ['bytes=0-0', 0, full], // zero-length representation: Range ignored (see range.ts)
    ['bytes=-5', 0, full],
  ] as const)('%j on %d bytes', (value, length, expected) => {
    expect(evaluateRange(value, length)).toEqual(expected);
  });

  it('several ranges: overlapping/adjacent/near ones coalesce into one 206, distant ones give the full 200', () => {
    expect(evaluateRange('bytes=0-99,100-199', 1000)).toEqual(part(0, 199));
    expect(evaluateRange('bytes=100-199,0-149', 1000)).toEqual(part(0, 199));
    expect(evaluateRange(`bytes=0-9,${10 + COALESCE_GAP_BYTES}-200`, 1000)).toEqual(part(0, 200));
    expect(evaluateRange(`bytes=0-9,${11 + COALESCE_GAP_BYTES}-200`, 1000)).toEqual(full);
    expect(evaluateRange('bytes=0-0,-1', 1000)).toEqual(full);
    expect(evaluateRange('bytes=2000-,0-9', 1000)).toEqual(part(0, 9)); // unsatisfiable spec dropped
  });

  it(`more than ${MAX_RANGES} specs: ignored (RFC 9110 §14.2 denial-of-service note)`, () => {
    const many = Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i}-${i}`).join(',');
    expect(evaluateRange(`bytes=${many}`, 1000)).toEqual(full);
  });

  it('huge numbers saturate instead of losing precision', () => {
    expect(evaluateRange('bytes=0-99999999999999999999999', 10)).toEqual(part(0, 9));
    expect(evaluateRange('bytes=99999999999999999999999-', 10)).toEqual(unsat);
  });

  it('property: a single int-range is 206 with the clamped range iff first < length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.nat(6000), fc.option(fc.nat(6000)), (len, first, maybeLast) => {
        const last = maybeLast === null ? undefined : first + maybeLast;
        const r = evaluateRange(`bytes=${first}-${last ?? ''}`, len);
        if (first >= len) expect(r).toEqual(unsat);
        else expect(r).toEqual(part(first, Math.min(last ?? Infinity, len - 1)));
      }),
      fcOpts,
    );
  });

  it('property: a partial result always lies inside the representation', () => {
    const spec = fc.oneof(
      fc.tuple(fc.nat(3000), fc.option(fc.nat(3000))).map(([a, b]) => `${a}-${b === null ? '' : a + b}`),
      fc.nat(3000).map((n) => `-${n}`),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.nat(2000), fc.array(spec, { minLength: 1, maxLength: 5 }), (len, specs) => {
        const r = evaluateRange(`bytes=${specs.join(',')}`, len);
        if (r.kind === 'partial') {
          expect(r.first).toBeGreaterThanOrEqual(0);
          expect(r.first).toBeLessThanOrEqual(r.last);
          expect(r.last).toBeLessThan(len);
        }
      }),
      fcOpts,
    );
  });
});
