/**
 * Hex text ⇄ bytes, for fixtures, logs and the admin API (not for packet paths).
 */

/**
 * Bytes from hex text. Whitespace, `:` separators and `//`/`#` comments to the end of a line
 * are ignored, so fixtures can be laid out like a packet dump. Throws a RangeError on an odd
 * digit count or a non-hex character — the input is program text, never a received packet.
 */
export function hexBytes(text: string): Uint8Array {
  const digits = text.replace(/(?:\/\/|#)[^\n]*/g, '').replace(/[\s:]/g, '');
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) throw new RangeError(`bad hex text: ${text}`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lower-case hex of `bytes`, bytes separated by `separator` (default one space). */
export function toHex(bytes: Uint8Array, separator = ' '): string {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join(separator);
}
