import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveMac, formatMac, isUsableUnicastMac, parseMac } from './addr.js';
import { testSeed } from './testing/describe-net-device.js';

const seed = testSeed();

describe('MAC addresses', () => {
  it('format/parse round-trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (mac) => {
        expect(parseMac(formatMac(mac))).toEqual(mac);
        expect(parseMac(formatMac(mac).toUpperCase().replaceAll(':', '-'))).toEqual(mac);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('rejects malformed text', () => {
    for (const t of ['', '02:00:00:00:00', '02:00:00:00:00:00:00', '0g:00:00:00:00:00', '2:0:0:0:0:0', '02:00:00:00:00:001']) {
      expect(parseMac(t)).toBeUndefined();
    }
  });

  it('derived MACs are stable, locally administered unicast, and differ by name', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 15 }), fc.string({ minLength: 1, maxLength: 15 }), (a, b) => {
        const ma = deriveMac(a);
        expect(deriveMac(a)).toEqual(ma);
        expect(isUsableUnicastMac(ma)).toBe(true);
        expect(ma[0]! & 0x02).toBe(0x02);
        if (a !== b) expect(formatMac(deriveMac(b))).not.toBe(formatMac(ma));
      }),
      { seed, numRuns: 300 },
    );
  });

  it('only unicast, non-zero MACs are usable', () => {
    expect(isUsableUnicastMac(Uint8Array.of(1, 0, 0, 0, 0, 1))).toBe(false);
    expect(isUsableUnicastMac(new Uint8Array(6))).toBe(false);
    expect(isUsableUnicastMac(Uint8Array.of(2, 0, 0, 0, 0, 1))).toBe(true);
  });
});
