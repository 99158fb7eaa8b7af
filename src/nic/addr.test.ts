import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveMac, formatIpv4, formatMac, isUsableUnicastMac, parseIpv4, parseIpv4Cidr, parseMac } from './addr.js';
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

describe('IPv4 addresses', () => {
  it('format/parse round-trip for every address and prefix', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (a, len) => {
        expect(parseIpv4(formatIpv4(a))).toBe(a);
        expect(parseIpv4Cidr(`${formatIpv4(a)}/${len}`)).toEqual({ address: a, prefixLen: len });
      }),
      { seed, numRuns: 500 },
    );
  });

  it('rejects malformed text', () => {
    for (const t of ['198.18.0.1', '198.18.0/24', '198.18.0.256/24', '198.18.0.1/33', '198.18.0.01/24', '1.2.3.4/', ' 1.2.3.4/8', '1.2.3.4/08']) {
      expect(parseIpv4Cidr(t)).toBeUndefined();
    }
    expect(parseIpv4('198.18.0.1')).toBe(0xc6120001);
  });
});
