/**
 * Link addresses a card needs as bytes: MAC parsing/formatting (text rules from src/wire), and
 * the stable locally administered MAC derived from a card's name.
 * Read first: IEEE 802 (I/G and U/L bits of the first octet).
 */
import { createHash } from 'node:crypto';
import { macFromBytes, macToBytes, macToString, parseMac as parseMacText } from '../wire/address.js';

/** Bit 0 of the first octet: group (multicast) address. */
const GROUP_BIT = 0x01;
/** Bit 1 of the first octet: locally administered. */
const LOCAL_BIT = 0x02;

/** Parse `aa:bb:cc:dd:ee:ff` into 6 bytes; undefined if malformed. */
export function parseMac(text: string): Uint8Array | undefined {
  const mac = parseMacText(text);
  return mac === undefined ? undefined : macToBytes(mac);
}

/** Lower-case colon-separated form of a 6-byte MAC. */
export function formatMac(mac: Uint8Array): string {
  return macToString(macFromBytes(mac));
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
