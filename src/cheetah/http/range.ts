/**
 * Byte ranges: parsing a Range field and resolving it against a representation length.
 *
 * Read first: RFC 9110 §14.1.1 (range specifiers), §14.1.2 (byte ranges), §14.2 (Range),
 * §14.4 (Content-Range), §15.3.7 (206), §15.5.17 (416).
 *
 * Policy (RFC 9110 §14.2 lets a server ignore a Range field or coalesce ranges):
 * - one satisfiable range → 206 with that range;
 * - several → sorted and coalesced when they overlap or lie at most `COALESCE_GAP_BYTES` apart;
 *   if that leaves one range → 206 with it, else the full 200. Deviation: no
 *   multipart/byteranges, because every body is one slice of the cached document, sent by
 *   reference; a multipart body would be a copy.
 * - a syntactically invalid field, an unknown unit or more than `MAX_RANGES` specs → ignored (200);
 * - none satisfiable → 416 with `Content-Range: bytes *\/length`;
 * - a zero-length representation → Range ignored (200): no byte range can name its content
 *   (§14.1.1 leaves only a suffix-range, whose Content-Range could not be written).
 */

/** Ranges closer than this many bytes are merged (about the overhead of one extra multipart part). */
export const COALESCE_GAP_BYTES = 80;
/** More range specs than this in one field and the field is ignored (§14.2 denial-of-service note). */
export const MAX_RANGES = 100;

/** Outcome of a Range field for one representation. `first`/`last` are inclusive byte offsets. */
export type RangeOutcome =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly first: number; readonly last: number }
  | { readonly kind: 'unsatisfiable' };

const FULL: RangeOutcome = Object.freeze({ kind: 'full' });
const UNSATISFIABLE: RangeOutcome = Object.freeze({ kind: 'unsatisfiable' });

/** Decimal digits → number; more than 15 digits saturate at MAX_SAFE_INTEGER (bigger than any document). NaN if not all digits. */
function digits(s: string): number {
  if (s.length === 0 || !/^[0-9]+$/.test(s)) return NaN;
  return s.length > 15 ? Number.MAX_SAFE_INTEGER : Number(s);
}

/** Resolves a Range field value against a representation of `length` bytes. */
export function evaluateRange(value: string, length: number): RangeOutcome {
  const eq = value.indexOf('=');
  if (eq < 0) return FULL;
  // §14.1: range units are compared case-insensitively; only "bytes" is known here.
  if (value.slice(0, eq).trim().toLowerCase() !== 'bytes') return FULL;
  if (length === 0) return FULL;
  const ranges: number[] = []; // flat [first, last, first, last, …] of satisfiable specs
  let specs = 0;
  for (const raw of value.slice(eq + 1).split(',')) {
    const spec = raw.trim();
    if (spec === '') continue; // #rule: empty list elements are allowed and ignored
    if (++specs > MAX_RANGES) return FULL;
    const dash = spec.indexOf('-');
    if (dash < 0) return FULL;
    if (dash === 0) {
      // suffix-range: "-" suffix-length; satisfiable if the length is not zero
      const n = digits(spec.slice(1));
      if (Number.isNaN(n)) return FULL;
      if (n > 0) ranges.push(Math.max(0, length - n), length - 1);
      continue;
    }
    const first = digits(spec.slice(0, dash));
    const lastText = spec.slice(dash + 1);
    const last = lastText === '' ? Number.MAX_SAFE_INTEGER : digits(lastText);
    // §14.1.1: a range-spec with last-pos < first-pos is invalid, which invalidates the field.
    if (Number.isNaN(first) || Number.isNaN(last) || last < first) return FULL;
    if (first < length) ranges.push(first, Math.min(last, length - 1));
  }
  if (specs === 0) return FULL;
  if (ranges.length === 0) return UNSATISFIABLE;
  if (ranges.length === 2) return { kind: 'partial', first: ranges[0]!, last: ranges[1]! };
  // Coalesce: sort by first byte, then merge neighbours within the gap.
  const order = Array.from({ length: ranges.length / 2 }, (_, i) => i).sort((a, b) => ranges[2 * a]! - ranges[2 * b]!);
  const first = ranges[2 * order[0]!]!;
  let last = ranges[2 * order[0]! + 1]!;
  for (let k = 1; k < order.length; k++) {
    const f = ranges[2 * order[k]!]!;
    const l = ranges[2 * order[k]! + 1]!;
    if (f > last + 1 + COALESCE_GAP_BYTES) return FULL;
    if (l > last) last = l;
  }
  return { kind: 'partial', first, last };
}
