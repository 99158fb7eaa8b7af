/**
 * Counters of the HTTP engine: plain numbers bumped on the data path and read by the admin API
 * (through the server glue). Nothing here logs; counters come first.
 */

/** Every status the engine can send (RFC 9110 §15, RFC 6585 §5 for 431). */
export const HTTP_STATUSES = [200, 206, 301, 304, 400, 403, 404, 405, 408, 412, 413, 414, 416, 431, 500, 501, 505] as const;
export type HttpStatus = (typeof HTTP_STATUSES)[number];

/** Why a request was refused before it reached a document, one counter each. */
export const PARSE_ERROR_REASONS = [
  'request-line-too-long',
  'header-section-too-large',
  'too-many-header-fields',
  'bad-request-line',
  'bad-method',
  'bad-target',
  'bad-version',
  'unsupported-version',
  'http09-refused',
  'bare-cr',
  'obs-fold',
  'bad-field-name',
  'space-before-colon',
  'bad-field-value',
  'missing-host',
  'multiple-host',
  'bad-host',
  'bad-content-length',
  'conflicting-content-length',
  'transfer-encoding-with-content-length',
  'transfer-encoding-in-http10',
  'chunked-not-final',
  'unknown-transfer-coding',
  'bad-chunk',
  'body-too-large',
  'bad-percent-encoding',
  'nul-in-path',
  'backslash-in-path',
  'bad-utf8-path',
  'path-escapes-root',
] as const;
export type ParseErrorReason = (typeof PARSE_ERROR_REASONS)[number];

/** Counters of the document cache. */
export interface HttpCacheStats {
  /** Lookups answered from a fresh entry without calling the source. */
  hits: number;
  /** Lookups that had to call the source (absent or stale entry). */
  misses: number;
  /** Misses that joined a load already in flight for the same path. */
  coalesced: number;
  /** Stale entries checked with `stat` and found unchanged. */
  revalidated: number;
  /** Entries dropped to stay within the byte budget. */
  evictions: number;
  /** Documents read from the source. */
  loads: number;
  /** Source calls that failed (I/O error or rejected promise): answered with 500. */
  loadErrors: number;
  /** Files bigger than `maxDocumentBytes`: answered with 500. */
  documentTooLarge: number;
  /** Entries now in the cache (files, directories, absent paths). */
  entries: number;
  /** Bytes now charged against the budget. */
  bytes: number;
  /** Documents referenced by responses not yet released. */
  pinnedDocuments: number;
  /** Documents served without being cached (bigger than the budget allows, or replaced while in use). */
  transientDocuments: number;
}

/** All counters of one HTTP engine. */
export interface HttpStats {
  connectionsOpened: number;
  connectionsClosed: number;
  /** Requests fully parsed (including ones then answered with an error). */
  requests: number;
  requestsByMethod: { GET: number; HEAD: number; other: number };
  http09Requests: number;
  responsesByStatus: Record<`${HttpStatus}`, number>;
  /** Responses whose header came from a precomputed per-document template. */
  precomputedHeaders: number;
  /** Responses whose header was built for that response (ranges, errors with varying fields, redirects). */
  builtHeaders: number;
  headerBytesSent: number;
  bodyBytesSent: number;
  bytesReceived: number;
  /** Request body bytes read and thrown away (RFC 9112 §6). */
  bodyBytesDiscarded: number;
  /** Input refused because the pipeline was full (back-pressure to TCP). */
  inputRefusals: number;
  /** Bytes received after the connection decided to close, dropped. */
  bytesAfterClose: number;
  headerTimeouts: number;
  idleTimeouts: number;
  parseErrors: Record<ParseErrorReason, number>;
  cache: HttpCacheStats;
}

/** A zeroed set of counters. */
export function createHttpStats(): HttpStats {
  return {
    connectionsOpened: 0,
    connectionsClosed: 0,
    requests: 0,
    requestsByMethod: { GET: 0, HEAD: 0, other: 0 },
    http09Requests: 0,
    responsesByStatus: Object.fromEntries(HTTP_STATUSES.map((s) => [`${s}`, 0])) as Record<`${HttpStatus}`, number>,
    precomputedHeaders: 0,
    builtHeaders: 0,
    headerBytesSent: 0,
    bodyBytesSent: 0,
    bytesReceived: 0,
    bodyBytesDiscarded: 0,
    inputRefusals: 0,
    bytesAfterClose: 0,
    headerTimeouts: 0,
    idleTimeouts: 0,
    parseErrors: Object.fromEntries(PARSE_ERROR_REASONS.map((r) => [r, 0])) as Record<ParseErrorReason, number>,
    cache: {
      hits: 0,
      misses: 0,
      coalesced: 0,
      revalidated: 0,
      evictions: 0,
      loads: 0,
      loadErrors: 0,
      documentTooLarge: 0,
      entries: 0,
      bytes: 0,
      pinnedDocuments: 0,
      transientDocuments: 0,
    },
  };
}
