/**
 * Byte classes and ASCII helpers for parsing and emitting HTTP/1.x messages without
 * allocating per byte: classification is one table lookup, strings are made only for the
 * few values the engine keeps.
 *
 * Read first: RFC 9110 §5.6.2 (token), §5.5 (field values); RFC 9112 §3.2 (request-target);
 * RFC 3986 §2 (URI characters).
 */

/** Space (RFC 5234 B.1 SP). */
export const SP = 0x20;
/** Horizontal tab (RFC 5234 B.1 HTAB). */
export const HTAB = 0x09;
/** Carriage return (RFC 5234 B.1 CR). */
export const CR = 0x0d;
/** Line feed (RFC 5234 B.1 LF). */
export const LF = 0x0a;
/** ":" between field name and value (RFC 9112 §5.1). */
export const COLON = 0x3a;

/** Class bits of one byte. */
const TCHAR = 1;
const FIELD_VALUE = 2;
const TARGET = 4;
const HEX = 8;

const CLASS = new Uint8Array(256);
{
  // RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
  for (const c of "!#$%&'*+-.^_`|~") CLASS[c.charCodeAt(0)]! |= TCHAR;
  for (let b = 0x30; b <= 0x39; b++) CLASS[b]! |= TCHAR | HEX;
  for (let b = 0x41; b <= 0x5a; b++) CLASS[b]! |= TCHAR;
  for (let b = 0x61; b <= 0x7a; b++) CLASS[b]! |= TCHAR;
  for (const c of 'abcdefABCDEF') CLASS[c.charCodeAt(0)]! |= HEX;
  // RFC 9110 §5.5: field-vchar = VCHAR / obs-text, plus SP and HTAB inside a value.
  // CR, LF, NUL and the other controls are invalid (§5.5 "MUST either reject … or replace"): we reject.
  CLASS[SP]! |= FIELD_VALUE;
  CLASS[HTAB]! |= FIELD_VALUE;
  for (let b = 0x21; b <= 0x7e; b++) CLASS[b]! |= FIELD_VALUE;
  for (let b = 0x80; b <= 0xff; b++) CLASS[b]! |= FIELD_VALUE;
  // Request-target (RFC 9112 §3.2 → RFC 3986): visible ASCII. Deviation: RFC 3986 forbids
  // `{ } | ^ [ ] \`` outside their places, but browsers send `| ^ [ ] { } \`` unencoded in paths,
  // so we accept every VCHAR except the ones no conforming client sends raw: `"` `#` `<` `>` and
  // `\` (a backslash is refused so that no Windows-style separator ever reaches path handling).
  for (let b = 0x21; b <= 0x7e; b++) CLASS[b]! |= TARGET;
  for (const c of '"#<>\\') CLASS[c.charCodeAt(0)]! &= ~TARGET;
}

/** True if `b` is a tchar (RFC 9110 §5.6.2). */
export function isTchar(b: number): boolean {
  return (CLASS[b]! & TCHAR) !== 0;
}

/** True if `b` may appear inside a field value (RFC 9110 §5.5). */
export function isFieldValueByte(b: number): boolean {
  return (CLASS[b]! & FIELD_VALUE) !== 0;
}

/** True if `b` may appear in a request-target (see the deviation note above). */
export function isTargetByte(b: number): boolean {
  return (CLASS[b]! & TARGET) !== 0;
}

/** Value of a hex digit, or -1. */
export function hexValue(b: number): number {
  if ((CLASS[b]! & HEX) === 0) return -1;
  return b <= 0x39 ? b - 0x30 : (b | 0x20) - 0x61 + 10;
}

/** True if every byte of `buf[start, end)` satisfies the class test. */
export function allTchar(buf: Uint8Array, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) if ((CLASS[buf[i]!]! & TCHAR) === 0) return false;
  return true;
}

/** The bytes `buf[start, end)` as a Latin-1 string (one char per byte). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  if (end - start <= 64) {
    // Field values are short: a plain loop beats apply() over a subarray (no view allocated).
    for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
    return s;
  }
  // Chunks keep the argument list of fromCharCode small.
  for (let i = start; i < end; i += 1024) {
    s += String.fromCharCode.apply(null, buf.subarray(i, Math.min(end, i + 1024)) as unknown as number[]);
  }
  return s;
}

/**
 * Case-insensitive comparison of `buf[start, end)` with a lower-case ASCII literal made of
 * letters, digits and `-`. Safe on tchar input: OR-ing 0x20 maps only upper-case letters onto
 * lower-case letters among tchars.
 */
export function equalsLower(buf: Uint8Array, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((buf[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** Writes the Latin-1 string `s` at `buf[offset]`; returns the offset after it. The caller sized `buf`. */
export function writeLatin1(buf: Uint8Array, offset: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[offset + i] = s.charCodeAt(i);
  return offset + s.length;
}

/** Encodes a Latin-1/ASCII string into a new array. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  writeLatin1(out, 0, s);
  return out;
}
