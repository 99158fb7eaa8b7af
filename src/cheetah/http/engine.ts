/**
 * The HTTP engine of one Cheetah process: options, counters, the date clock, the document
 * cache and the rules that turn a parsed request into a response description. Connections
 * (`connection.ts`) feed it requests in order.
 *
 * Read first: RFC 9110 §9.3.1–§9.3.2 (GET, HEAD), §13.2 (conditional requests), §14 (ranges),
 * §15 (status codes); RFC 9112 §9.3 (persistence); RFC 1945 §6 (Simple-Response).
 */
import { latin1Bytes } from './ascii.js';
import { evaluatePreconditions, ifRangeHolds } from './conditional.js';
import { DocumentCache, type CacheEntry, type DocumentSource } from './document-cache.js';
import {
  HEAP_MEMORY,
  HeadBytes,
  HeadTemplate,
  REASON_PHRASES,
  connectionModeIndex,
  encodeHead,
  placeBytes,
  type ConnectionMode,
  type HeadField,
  type HttpMemory,
} from './head.js';
import { HttpDateClock, formatHttpDate } from './http-date.js';
import { resolveHttpOptions, type HttpOptions } from './options.js';
import type { HttpParseError, HttpRequest } from './parser.js';
import { evaluateRange } from './range.js';
import { createHttpStats, type HttpStats, type HttpStatus } from './stats.js';
import { documentKey, encodePath, resolveTarget, targetForm, type ResolvedTarget } from './target.js';

/** Milliseconds since the epoch, from the caller (a virtual clock in tests). */
export type HttpClock = () => number;

const EMPTY = new Uint8Array(0);

/**
 * A response, described by reference: `header` then `body` are the bytes to send, in that
 * order; TCP may segment them as it likes and resend any part of them until it calls
 * `release()`, and must not modify them. `body` of a document response is a subarray of the
 * cached document. After sending, if `close` is set, the connection must be closed (after the
 * bytes are delivered, RFC 9112 §9.6). `header` and an error page's `body` live in the engine's
 * `HttpMemory` (the process's memory, in Cheetah).
 */
export class HttpResponse {
  readonly status: HttpStatus;
  /** Status line and header section; empty for an HTTP/0.9 Simple-Response. */
  readonly header: Uint8Array;
  /** Content bytes; empty for HEAD, 304 and the like. */
  readonly body: Uint8Array;
  readonly close: boolean;
  readonly #head: HeadBytes | undefined;
  readonly #entry: CacheEntry | undefined;
  readonly #cache: DocumentCache | undefined;
  #released = false;

  /**
   * `head`: the status line and header section (held until `release()`; none for HTTP/0.9).
   * `entry` and `cache`: the cached document `body` views, pinned until `release()`.
   */
  constructor(status: HttpStatus, head: HeadBytes | undefined, body: Uint8Array, close: boolean, entry?: CacheEntry, cache?: DocumentCache) {
    this.status = status;
    this.header = head?.bytes ?? EMPTY;
    this.body = body;
    this.close = close;
    this.#head = head;
    this.#entry = entry;
    this.#cache = cache;
    head?.retain();
    if (entry !== undefined) cache?.pin(entry);
  }

  /** TCP no longer needs the bytes (all acknowledged, or the connection is gone). Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#head?.release();
    if (this.#entry !== undefined) this.#cache?.unpin(this.#entry);
  }
}

/** Methods defined by RFC 9110 §9 and RFC 5789 (PATCH): known but not allowed here → 405; others → 501. */
const KNOWN_METHODS = new Set(['POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
/** RFC 9110 §10.2.1: a 405 lists the methods the resource supports. */
const ALLOW: HeadField = ['Allow', 'GET, HEAD'];
const HTML_TYPE = 'text/html; charset=utf-8';

/** One line of explanation per error page. */
const ERROR_TEXT: Partial<Record<HttpStatus, string>> = {
  301: 'The document has moved to a directory of the same name.',
  400: 'The request could not be understood by the server.',
  403: 'You do not have permission to read this document.',
  404: 'The requested document does not exist on this server.',
  405: 'This server only answers GET and HEAD requests.',
  408: 'The server timed out waiting for the request.',
  412: 'A precondition of the request did not hold.',
  413: 'The request carries more content than the server accepts.',
  414: 'The request-line is longer than the server accepts.',
  416: 'The requested range lies outside the document.',
  431: 'The request header section is larger than the server accepts.',
  500: 'The server could not read the document.',
  501: 'The server does not implement this method or transfer coding.',
  505: 'This server speaks HTTP/1.0 and HTTP/1.1 only.',
};

/** Precomputed error pages: body plus one head per connection mode. */
interface ErrorPage {
  readonly body: Uint8Array;
  readonly heads: (HeadTemplate | undefined)[];
}

/** What a request and its connection state decide about the Connection field. */
function modeFor(version: HttpRequest['version'] | undefined, close: boolean): ConnectionMode {
  if (close) return 'close';
  return version === '1.0' ? 'keep-alive' : 'persist';
}

/** Fields of a document's 200 or 304 head. RFC 9110 §15.4.5: a 304 repeats the ETag; other metadata is left out. */
function docFields(e: CacheEntry, status: 200 | 304): HeadField[] {
  if (status === 304) return [['ETag', e.etag]];
  return [
    ['Content-Type', e.contentType],
    ['Content-Length', `${e.bytes.length}`],
    ['Last-Modified', formatHttpDate(e.lastModifiedSeconds)],
    ['ETag', e.etag],
    ['Accept-Ranges', 'bytes'],
  ];
}

/** Options of an engine. */
export interface HttpEngineInit {
  source: DocumentSource;
  clock: HttpClock;
  options?: Partial<HttpOptions>;
  /** Where response heads and error pages are placed. Default: the JS heap. */
  memory?: HttpMemory;
}

/**
 * The engine. One per Cheetah process; `connection.ts` creates per-connection state around
 * it. Everything here is synchronous except document loads, which go through the cache.
 */
export class HttpEngine {
  readonly options: HttpOptions;
  readonly stats: HttpStats = createHttpStats();
  readonly cache: DocumentCache;
  readonly clock: HttpClock;
  readonly dates = new HttpDateClock();
  readonly memory: HttpMemory;
  readonly #errorPages = new Map<HttpStatus, ErrorPage>();

  constructor(init: HttpEngineInit) {
    this.options = resolveHttpOptions(init.options);
    this.clock = init.clock;
    this.memory = init.memory ?? HEAP_MEMORY;
    this.cache = new DocumentCache(init.source, this.options, this.stats.cache);
  }

  /**
   * The response to a parsed request: synchronous on a cache hit or an error, a promise when
   * the document must come from the source. The promise never rejects.
   */
  respond(req: HttpRequest, now: number = this.clock()): HttpResponse | Promise<HttpResponse> {
    const s = this.stats;
    s.requests++;
    s.bodyBytesDiscarded += req.bodyBytes;
    if (req.version === '0.9') s.http09Requests++;
    const head = req.method === 'HEAD';
    if (req.method === 'GET') s.requestsByMethod.GET++;
    else if (head) s.requestsByMethod.HEAD++;
    else {
      s.requestsByMethod.other++;
      // RFC 9110 §15.5.6 / §15.6.2; an unread body leaves the stream out of step → close.
      return this.error(KNOWN_METHODS.has(req.method) ? 405 : 501, req.version, false, !req.keepAlive || req.bodyUnread);
    }
    if (req.bodyUnread) {
      s.parseErrors['body-too-large']++;
      return this.error(413, req.version, head, true);
    }
    const form = targetForm(req.target);
    const target = form === 'origin' || form === 'absolute' ? resolveTarget(req.target) : 'bad-target';
    if (typeof target === 'string') {
      s.parseErrors[target]++;
      return this.error(400, req.version, head, !req.keepAlive);
    }
    const key = documentKey(target);
    const hit = this.cache.lookup(key, now);
    if (hit !== undefined) return this.#fromEntry(req, target, hit, now);
    return this.cache.fetch(key, now).then(
      (entry) => this.#fromEntry(req, target, entry, this.clock()),
      () => this.error(500, req.version, head, !req.keepAlive),
    );
  }

  /** The answer to a request the parser refused (always closes: the stream is out of step). */
  parseError(e: HttpParseError): HttpResponse {
    this.stats.parseErrors[e.reason]++;
    return this.error(e.status, e.version, e.head, true);
  }

  /** The 408 sent when a request does not arrive in time (RFC 9110 §15.5.9); closes. */
  timeout(version: HttpRequest['version'] | undefined): HttpResponse {
    return this.error(408, version, false, true);
  }

  /** An error page response (also used for 301/416 bodies). `extra` fields make the head per-response. */
  error(status: HttpStatus, version: HttpRequest['version'] | undefined, head: boolean, close: boolean, extra?: readonly HeadField[]): HttpResponse {
    const page = this.#errorPage(status);
    const body = head ? EMPTY : page.body;
    // RFC 1945 §6: an HTTP/0.9 client gets the entity alone, and the connection closes.
    if (version === '0.9') return this.#count(new HttpResponse(status, undefined, page.body, true));
    const mode = modeFor(version, close);
    const now = this.clock();
    let header: HeadBytes;
    if (extra === undefined) {
      const i = connectionModeIndex(mode);
      let t = page.heads[i];
      if (t === undefined) {
        const fields: HeadField[] = [['Content-Type', HTML_TYPE], ['Content-Length', `${page.body.length}`]];
        if (status === 405) fields.push(ALLOW);
        const date = this.dates.at(now);
        t = page.heads[i] = new HeadTemplate(encodeHead(status, this.options.serverName, fields, mode, date), date, this.memory);
      }
      header = t.at(this.dates, now);
      this.stats.precomputedHeaders++;
    } else {
      const fields: HeadField[] = [...extra, ['Content-Type', HTML_TYPE], ['Content-Length', `${page.body.length}`]];
      header = HeadBytes.once(this.memory, encodeHead(status, this.options.serverName, fields, mode, this.dates.at(now)).bytes);
      this.stats.builtHeaders++;
    }
    return this.#count(new HttpResponse(status, header, body, close));
  }

  #errorPage(status: HttpStatus): ErrorPage {
    let page = this.#errorPages.get(status);
    if (page === undefined) {
      const title = `${status} ${REASON_PHRASES[status]}`;
      const html =
        `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>\n` +
        `<body><h1>${title}</h1>\n<p>${ERROR_TEXT[status] ?? ''}</p>\n<hr><address>${this.options.serverName}</address></body></html>\n`;
      // Error pages live as long as the engine: placed once, never given back.
      page = { body: placeBytes(this.memory, latin1Bytes(html))[0], heads: [] };
      this.#errorPages.set(status, page);
    }
    return page;
  }

  #fromEntry(req: HttpRequest, target: ResolvedTarget, e: CacheEntry, now: number): HttpResponse {
    const head = req.method === 'HEAD';
    const close = !req.keepAlive;
    switch (e.kind) {
      case 'missing':
        return this.#unused(e, this.error(404, req.version, head, close));
      case 'forbidden':
        return this.#unused(e, this.error(403, req.version, head, close));
      case 'error':
      case 'too-large':
        return this.#unused(e, this.error(500, req.version, head, close));
      case 'directory': {
        // A directory named without its trailing slash: redirect to the slash form so relative
        // links in its index resolve (RFC 9110 §15.4.2). The path is re-encoded, never echoed.
        if (target.directory) return this.error(404, req.version, head, close);
        const location = `${encodePath(target.path)}/${target.query === '' ? '' : `?${target.query}`}`;
        return this.error(301, req.version, head, close, [['Location', location]]);
      }
      case 'file':
        break;
    }
    if (e.released) return this.error(500, req.version, head, close);
    if (req.version === '0.9') return this.#count(new HttpResponse(200, undefined, e.bytes, true, e, this.cache));
    const nowSeconds = Math.floor(now / 1000);
    // RFC 9110 §13.2.1: preconditions apply because the unconditional answer would be 200.
    const pre = evaluatePreconditions(req, e, nowSeconds);
    const mode = modeFor(req.version, close);
    if (pre === 'precondition-failed') return this.error(412, req.version, head, close);
    if (pre === 'not-modified') return this.#count(new HttpResponse(304, this.#docHead(e, 304, mode, now), EMPTY, close, e, this.cache));
    // RFC 9110 §14.2: Range applies to GET only; §13.2.2 step 5: If-Range decides whether it does.
    if (req.range !== undefined && !head && (req.ifRange === undefined || ifRangeHolds(req.ifRange, e, nowSeconds))) {
      const r = evaluateRange(req.range, e.bytes.length);
      const total = e.bytes.length;
      if (r.kind === 'unsatisfiable') {
        // RFC 9110 §15.5.17: 416 carries the current length.
        return this.error(416, req.version, head, close, [['Content-Range', `bytes */${total}`]]);
      }
      if (r.kind === 'partial') {
        const fields: HeadField[] = [
          ['Content-Type', e.contentType],
          ['Content-Length', `${r.last - r.first + 1}`],
          ['Content-Range', `bytes ${r.first}-${r.last}/${total}`],
          ['Last-Modified', formatHttpDate(e.lastModifiedSeconds)],
          ['ETag', e.etag],
          ['Accept-Ranges', 'bytes'],
        ];
        const header = HeadBytes.once(this.memory, encodeHead(206, this.options.serverName, fields, mode, this.dates.at(now)).bytes);
        this.stats.builtHeaders++;
        return this.#count(new HttpResponse(206, header, e.bytes.subarray(r.first, r.last + 1), close, e, this.cache));
      }
    }
    return this.#count(new HttpResponse(200, this.#docHead(e, 200, mode, now), head ? EMPTY : e.bytes, close, e, this.cache));
  }

  /** The precomputed 200 or 304 head of a document for a connection mode (made on first use). */
  #docHead(e: CacheEntry, status: 200 | 304, mode: ConnectionMode, now: number): HeadBytes {
    if (!this.options.precomputeHeaders) {
      this.stats.builtHeaders++;
      return HeadBytes.once(this.memory, encodeHead(status, this.options.serverName, docFields(e, status), mode, this.dates.at(now)).bytes);
    }
    const i = connectionModeIndex(mode) + (status === 304 ? 3 : 0);
    let t = e.heads[i];
    if (t === undefined) {
      const date = this.dates.at(now);
      t = e.heads[i] = new HeadTemplate(encodeHead(status, this.options.serverName, docFields(e, status), mode, date), date, this.memory);
    }
    this.stats.precomputedHeaders++;
    return t.at(this.dates, now);
  }

  /** An entry the response does not reference: let the cache give back its bytes if it was transient. */
  #unused(e: CacheEntry, r: HttpResponse): HttpResponse {
    this.cache.drop(e);
    return r;
  }

  #count(r: HttpResponse): HttpResponse {
    this.stats.responsesByStatus[`${r.status}`]++;
    this.stats.headerBytesSent += r.header.length;
    this.stats.bodyBytesSent += r.body.length;
    return r;
  }
}
