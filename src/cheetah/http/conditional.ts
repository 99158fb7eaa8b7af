/**
 * Validators and conditional requests: the strong ETag Cheetah makes from size and mtime, entity-tag
 * list matching, and the precondition order of RFC 9110 §13.2.2 for GET and HEAD.
 *
 * Read first: RFC 9110 §8.8.1–§8.8.3 (validators, Last-Modified, ETag), §13.1 (preconditions),
 * §13.2.2 (precedence), §15.4.5 (304), §15.5.13 (412).
 */
import { parseHttpDate } from './http-date.js';

/**
 * A strong entity-tag (with its quotes) from size and modification time in ms: any change of
 * the file that the docroot can see changes one of them (RFC 9110 §8.8.3 lets the origin choose how).
 */
export function makeEtag(sizeBytes: number, mtimeMs: number): string {
  return `"${sizeBytes.toString(16)}-${Math.max(0, Math.floor(mtimeMs)).toString(16)}"`;
}

/**
 * Whether an entity-tag list (If-Match / If-None-Match value, RFC 9110 §13.1.1–§13.1.2) names
 * `etag` (a strong tag, quotes included). `weak` selects weak comparison (§8.8.3.2: opaque tags
 * equal); strong comparison never matches a `W/` tag. A malformed list matches nothing.
 */
export function etagListMatches(list: string, etag: string, weak: boolean): boolean {
  let i = 0;
  const n = list.length;
  for (;;) {
    while (i < n && (list[i] === ' ' || list[i] === '\t' || list[i] === ',')) i++;
    if (i >= n) return false;
    let isWeak = false;
    if (list.startsWith('W/', i)) {
      isWeak = true;
      i += 2;
    }
    if (list[i] !== '"') return false;
    const close = list.indexOf('"', i + 1);
    if (close < 0) return false;
    if ((weak || !isWeak) && close + 1 - i === etag.length && list.startsWith(etag, i)) return true;
    i = close + 1;
    // After a tag only OWS and a comma may follow.
    while (i < n && (list[i] === ' ' || list[i] === '\t')) i++;
    if (i < n && list[i] !== ',') return false;
  }
}

/** The request fields preconditions look at; undefined = field absent. */
export interface ConditionalFields {
  readonly ifMatch: string | undefined;
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
  readonly ifUnmodifiedSince: string | undefined;
}

/** The selected representation's validators. */
export interface Validators {
  /** Strong ETag, quotes included. */
  readonly etag: string;
  /** Last-Modified in whole seconds since the epoch, as sent. */
  readonly lastModifiedSeconds: number;
}

/** Result of evaluating preconditions: go on (maybe with a range), 304, or 412. */
export type PreconditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/**
 * RFC 9110 §13.2.2 steps 1–4 for a GET or HEAD whose unconditional answer would be 200 (the
 * caller applies §13.2.1: preconditions are ignored for other outcomes). Step 5 (If-Range) is
 * `ifRangeHolds`.
 */
export function evaluatePreconditions(f: ConditionalFields, v: Validators, nowSeconds: number): PreconditionOutcome {
  if (f.ifMatch !== undefined) {
    // Step 1, §13.1.1: "*" matches any current representation; otherwise strong comparison.
    if (f.ifMatch.trim() !== '*' && !etagListMatches(f.ifMatch, v.etag, false)) return 'precondition-failed';
  } else if (f.ifUnmodifiedSince !== undefined) {
    // Step 2, §13.1.4: an invalid date is ignored.
    const date = parseHttpDate(f.ifUnmodifiedSince.trim(), nowSeconds);
    if (!Number.isNaN(date) && v.lastModifiedSeconds > date) return 'precondition-failed';
  }
  if (f.ifNoneMatch !== undefined) {
    // Step 3, §13.1.2: weak comparison; "*" matches any current representation.
    if (f.ifNoneMatch.trim() === '*' || etagListMatches(f.ifNoneMatch, v.etag, true)) return 'not-modified';
  } else if (f.ifModifiedSince !== undefined) {
    // Step 4, §13.1.3: ignored when If-None-Match is present (above) or the date is invalid.
    const date = parseHttpDate(f.ifModifiedSince.trim(), nowSeconds);
    if (!Number.isNaN(date) && v.lastModifiedSeconds <= date) return 'not-modified';
  }
  return 'proceed';
}

/**
 * RFC 9110 §13.1.5: whether an If-Range value lets the Range apply. An entity-tag must match
 * strongly; a date must equal Last-Modified exactly and Last-Modified must be strong, i.e. at
 * least one second before the response's Date (§8.8.2.2).
 */
export function ifRangeHolds(value: string, v: Validators, nowSeconds: number): boolean {
  const t = value.trim();
  if (t.startsWith('"') || t.startsWith('W/')) {
    return t === v.etag;
  }
  const date = parseHttpDate(t, nowSeconds);
  return date === v.lastModifiedSeconds && v.lastModifiedSeconds <= nowSeconds - 1;
}
