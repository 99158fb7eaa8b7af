import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpDateClock, formatHttpDate, parseHttpDate } from './http-date.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
const fcOpts = { seed, numRuns: 300 };
console.log(`http-date.test fast-check seed=${seed} (SEED=${seed} reproduces)`);

const NOW = 1_700_000_000; // 2023-11-14

describe('HTTP-date (RFC 9110 §5.6.7)', () => {
  it('formats IMF-fixdate: the RFC example', () => {
    expect(formatHttpDate(784111777)).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(formatHttpDate(0)).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
  });

  it('clamps times outside 1970…9999 instead of producing a malformed date', () => {
    expect(formatHttpDate(-5)).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
    expect(formatHttpDate(1e15)).toBe('Fri, 31 Dec 9999 23:59:59 GMT');
  });

  it('parses all three formats a recipient MUST accept', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(784111777);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(784111777);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994', NOW)).toBe(784111777);
    expect(parseHttpDate('Sun Nov 16 08:49:37 1994', NOW)).toBe(784111777 + 10 * 86400);
  });

  it('rfc850 two-digit years more than 50 years ahead mean the past century', () => {
    // now = 2023: "73" → 2073 is exactly 50 years ahead (kept), "74" → 1974.
    expect(parseHttpDate('Monday, 01-Jan-73 00:00:00 GMT', NOW)).toBe(Date.UTC(2073, 0, 1) / 1000);
    expect(parseHttpDate('Tuesday, 01-Jan-74 00:00:00 GMT', NOW)).toBe(Date.UTC(1974, 0, 1) / 1000);
  });

  it.each([
    '',
    'garbage',
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 06 Nov 1994 08:49:37 GMT ',
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'Sun, 31 Feb 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Sun, 06 Nov 1994 08:60:00 GMT',
    'sun, 06 Nov 1994 08:49:37 GMT',
    'Sun, 06 Nov 94 08:49:37 GMT',
    'Sunday, 06-Nov-1994 08:49:37 GMT',
    'Sun Nov 6 08:49:37 1994',
    '1994-11-06T08:49:37Z',
  ])('rejects %j', (v) => {
    expect(parseHttpDate(v, NOW)).toBeNaN();
  });

  it('property: parse(format(t)) = t and format agrees with Date#toUTCString', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799 }), (t) => {
        const s = formatHttpDate(t);
        expect(s).toBe(new Date(t * 1000).toUTCString());
        expect(parseHttpDate(s, NOW)).toBe(t);
      }),
      fcOpts,
    );
  });

  it('property: any string parses to NaN or an integer, never throws', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const v = parseHttpDate(s, NOW);
        expect(Number.isNaN(v) || Number.isInteger(v)).toBe(true);
      }),
      fcOpts,
    );
  });

  it('the clock makes a new 29-byte array once per second and reuses it within the second', () => {
    const c = new HttpDateClock();
    const a = c.at(1000_000);
    expect(c.at(1000_999)).toBe(a);
    const b = c.at(1001_000);
    expect(b).not.toBe(a);
    expect(b.length).toBe(29);
    expect(new TextDecoder().decode(a)).toBe('Thu, 01 Jan 1970 00:16:40 GMT');
  });
});
