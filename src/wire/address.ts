/**
 * IPv4 and Ethernet MAC addresses as numbers, with text and byte conversions.
 *
 * Read first: RFC 791 §3.2 (addresses), RFC 1112 §4 (multicast, 224.0.0.0/4), RFC 919/922
 * (broadcast), RFC 1122 §3.2.1.3 (addresses a host must not accept as a source), IEEE 802
 * (the group bit of a MAC).
 *
 * An IPv4 address is an unsigned 32-bit integer (`198.18.0.2` is 0xc6120002); a MAC is a 48-bit
 * integer (exact in a double). Numbers compare with `===`, key maps, and are written into
 * headers without allocating.
 */
import { get48, set48 } from './bytes.js';

/** An IPv4 address as an unsigned 32-bit integer. */
export type Ipv4Addr = number;
/** An Ethernet MAC address as a 48-bit unsigned integer. */
export type MacAddr = number;

/** 0.0.0.0 */
export const IPV4_UNSPECIFIED: Ipv4Addr = 0;
/** 255.255.255.255, the limited broadcast (RFC 919). */
export const IPV4_BROADCAST: Ipv4Addr = 0xffff_ffff;
/** ff:ff:ff:ff:ff:ff */
export const MAC_BROADCAST: MacAddr = 0xffff_ffff_ffff;

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Parse a dotted quad (`198.18.0.2`). Strict: four decimal octets ≤ 255, no leading zeros
 * (they would be octal to inet_aton), nothing else. Returns undefined on anything else.
 */
export function parseIpv4(text: string): Ipv4Addr | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let a = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    a = a * 256 + v;
  }
  return a;
}

/** Format an IPv4 address as a dotted quad. */
export function ipv4ToString(addr: Ipv4Addr): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** Parse `a.b.c.d/len`; undefined unless the address is valid and 0 ≤ len ≤ 32. */
export function parseIpv4Cidr(text: string): { addr: Ipv4Addr; prefixLen: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIpv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (addr === undefined || !/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(lenText)) return undefined;
  return { addr, prefixLen: Number(lenText) };
}

/** The netmask of a prefix length (0..32) as an address. */
export function ipv4Netmask(prefixLen: number): Ipv4Addr {
  return prefixLen <= 0 ? 0 : (0xffff_ffff << (32 - Math.min(prefixLen, 32))) >>> 0;
}

/** The directed broadcast address of `addr`'s subnet (RFC 922). */
export function ipv4SubnetBroadcast(addr: Ipv4Addr, prefixLen: number): Ipv4Addr {
  return (addr | ~ipv4Netmask(prefixLen)) >>> 0;
}

/** 224.0.0.0/4 (RFC 1112). */
export function isIpv4Multicast(addr: Ipv4Addr): boolean {
  return addr >>> 28 === 0xe;
}

/** 127.0.0.0/8 (RFC 1122 §3.2.1.3(g)). */
export function isIpv4Loopback(addr: Ipv4Addr): boolean {
  return addr >>> 24 === 127;
}

/**
 * True for addresses a host must never accept as the *source* of a datagram that opens a
 * connection or deserves a reply (RFC 1122 §3.2.1.3, §4.2.3.10): unspecified, limited
 * broadcast, multicast, class E (240.0.0.0/4), loopback arriving on a wire.
 */
export function isIpv4MartianSource(addr: Ipv4Addr): boolean {
  return addr === IPV4_UNSPECIFIED || addr >>> 28 >= 0xe || isIpv4Loopback(addr);
}

/**
 * Parse `aa:bb:cc:dd:ee:ff` (also `-` as separator, any case). Returns undefined on anything
 * else.
 */
export function parseMac(text: string): MacAddr | undefined {
  if (!/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(?:\1[0-9a-fA-F]{2}){4}$/.test(text)) return undefined;
  return Number.parseInt(text.replace(/[:-]/g, ''), 16);
}

/** Format a MAC as lower-case `aa:bb:cc:dd:ee:ff`. */
export function macToString(mac: MacAddr): string {
  return mac.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

/** Read a MAC from 6 bytes of `buf` at `offset` (caller checks bounds). */
export function macFromBytes(buf: Uint8Array, offset = 0): MacAddr {
  return get48(buf, offset);
}

/** The 6 bytes of a MAC (allocates; for setup code, not per packet). */
export function macToBytes(mac: MacAddr): Uint8Array {
  const b = new Uint8Array(6);
  set48(b, 0, mac);
  return b;
}

/** The IEEE 802 group bit (I/G, least significant bit of the first octet): multicast or broadcast. */
export function isMacMulticast(mac: MacAddr): boolean {
  return Math.floor(mac / 0x100_0000_0000) % 2 === 1;
}
