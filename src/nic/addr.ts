/**
 * Link and host addresses a card needs: MAC parsing/formatting, the stable locally administered
 * MAC derived from a card's name, and IPv4 `a.b.c.d/len` parsing for the host side of a TAP.
 * Read first: IEEE 802 (I/G and U/L bits of the first octet).
 */
import { createHash } from 'node:crypto';

/** Bit 0 of the first octet: group (multicast) address. */
const GROUP_BIT = 0x01;
/** Bit 1 of the first octet: locally administered. */
const LOCAL_BIT = 0x02;

/** Parse `aa:bb:cc:dd:ee:ff` (or `-` separated); undefined if malformed. */
export function parseMac(text: string): Uint8Array | undefined {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text);
  if (m === null) return undefined;
  return Uint8Array.from(m.slice(1), (h) => parseInt(h, 16));
}

/** Lower-case colon-separated form of a 6-byte MAC. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** True for a unicast MAC (I/G bit clear) that is not all zeros: the only kind a card may own. */
export function isUsableUnicastMac(mac: Uint8Array): boolean {
  return mac.length === 6 && ((mac[0] ?? 0) & GROUP_BIT) === 0 && mac.some((b) => b !== 0);
}

/**
 * A stable, locally administered unicast MAC derived from `seed` (a card name), so a card keeps
 * its MAC across restarts and host ARP caches stay valid. Different seeds give different MACs
 * except for a 2^-46 chance.
 */
export function deriveMac(seed: string): Uint8Array {
  const mac = Uint8Array.from(createHash('sha256').update(`exolinux-mac:${seed}`).digest().subarray(0, 6));
  mac[0] = ((mac[0] ?? 0) & ~GROUP_BIT & 0xff) | LOCAL_BIT;
  if (!isUsableUnicastMac(mac)) mac[5] = 1;
  return mac;
}

/** An IPv4 address in host byte order (an unsigned 32-bit number) with a prefix length. */
export interface Ipv4Cidr {
  address: number;
  prefixLen: number;
}

/** Parse a dotted quad; undefined if malformed (no leading zeros beyond `0`, each octet ≤ 255). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const octet = Number(p);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Parse `a.b.c.d/len`; undefined if malformed. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIpv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (address === undefined || !/^(0|[1-9][0-9]?)$/.test(lenText)) return undefined;
  const prefixLen = Number(lenText);
  return prefixLen <= 32 ? { address, prefixLen } : undefined;
}

/** Dotted-quad form of a host-order IPv4 address. */
export function formatIpv4(address: number): string {
  return [address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff].join('.');
}
