import { describe, expect, it } from 'vitest';
import {
  ipv4Netmask,
  ipv4SubnetBroadcast,
  ipv4ToString,
  isIpv4Loopback,
  isIpv4MartianSource,
  isIpv4Multicast,
  isMacMulticast,
  macFromBytes,
  macToBytes,
  macToString,
  parseIpv4,
  parseIpv4Cidr,
  parseMac,
} from './address.js';

describe('IPv4 addresses', () => {
  it('parses and formats dotted quads', () => {
    expect(parseIpv4('198.18.0.2')).toBe(0xc6120002);
    expect(parseIpv4('0.0.0.0')).toBe(0);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToString(0xc6120002)).toBe('198.18.0.2');
    expect(ipv4ToString(0xffffffff)).toBe('255.255.255.255');
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', '1.2.3.4 ', 'a.b.c.d', '1..2.3', '1.2.3.0x4'])(
    'refuses %j',
    (t) => expect(parseIpv4(t)).toBeUndefined(),
  );

  it('parses CIDR and computes netmask and directed broadcast', () => {
    expect(parseIpv4Cidr('198.18.1.1/24')).toEqual({ addr: 0xc6120101, prefixLen: 24 });
    expect(parseIpv4Cidr('198.18.1.1/33')).toBeUndefined();
    expect(parseIpv4Cidr('198.18.1.1')).toBeUndefined();
    expect(ipv4Netmask(24)).toBe(0xffffff00);
    expect(ipv4Netmask(0)).toBe(0);
    expect(ipv4Netmask(32)).toBe(0xffffffff);
    expect(ipv4ToString(ipv4SubnetBroadcast(0xc6120101, 24))).toBe('198.18.1.255');
  });

  it('classifies multicast, loopback and martian sources', () => {
    expect(isIpv4Multicast(parseIpv4('224.0.0.1')!)).toBe(true);
    expect(isIpv4Multicast(parseIpv4('239.255.255.255')!)).toBe(true);
    expect(isIpv4Multicast(parseIpv4('240.0.0.1')!)).toBe(false);
    expect(isIpv4Loopback(parseIpv4('127.0.0.1')!)).toBe(true);
    for (const a of ['0.0.0.0', '255.255.255.255', '224.1.2.3', '240.0.0.1', '127.0.0.1']) {
      expect(isIpv4MartianSource(parseIpv4(a)!)).toBe(true);
    }
    expect(isIpv4MartianSource(parseIpv4('198.18.0.1')!)).toBe(false);
  });
});

describe('MAC addresses', () => {
  it('parses, formats and round-trips through bytes', () => {
    const m = parseMac('02:00:5E:10:00:01')!;
    expect(m).toBe(0x02005e100001);
    expect(macToString(m)).toBe('02:00:5e:10:00:01');
    expect(macToString(0)).toBe('00:00:00:00:00:00');
    expect(parseMac('02-00-5e-10-00-01')).toBe(m);
    expect(macFromBytes(macToBytes(m))).toBe(m);
    expect(Array.from(macToBytes(0xffffffffffff))).toEqual([255, 255, 255, 255, 255, 255]);
  });

  it.each(['', '02:00:5e:10:00', '02:00:5e:10:00:01:02', '02:00-5e:10:00:01', 'g2:00:5e:10:00:01', '0200.5e10.0001'])(
    'refuses %j',
    (t) => expect(parseMac(t)).toBeUndefined(),
  );

  it('reads the group bit', () => {
    expect(isMacMulticast(0xffffffffffff)).toBe(true);
    expect(isMacMulticast(0x01005e000001)).toBe(true);
    expect(isMacMulticast(0x02005e100001)).toBe(false);
  });
});
