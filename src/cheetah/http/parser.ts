/**
 * Incremental HTTP/1.x request parser for one connection. Bytes may arrive split anywhere;
 * pipelined requests come out in order. Lines are handled as soon as their LF arrives, so
 * only the current line (never the whole head) has to sit in the buffer, and limits are
 * enforced before a line is complete: a request-line that cannot end within the limit is a
 * 414, a header section that cannot end within its limit a 431.
 *
 * A request with a body (GET with Content-Length, say) has the body read and thrown away
 * (RFC 9112 §6.3) and only then comes out, so responses stay in step with the byte stream; a
 * body beyond the discard limit stops the parser, and the connection answers and closes.
 * After any framing error the parser is dead: the stream is no longer in step (RFC 9112 §9.3).
 *
 * Read first: RFC 9112 §2.2 (message parsing), §2.3 (version), §3 (request line), §5 (field
 * lines), §6 (body), §7.1 (chunked), §9.3 (persistence); RFC 9110 §5.5 (field values), §6.2
 * (version), §7.2 (Host), §7.6.1 (Connection), §8.6 (Content-Length), §10.1.1 (Expect);
 * RFC 1945 §4.1, §5 (HTTP/0.9 simple request, HTTP/1.0 request).
 */
import {
  CR,
  COLON,
  HTAB,
  LF,
  SP,
  allTchar,
  equalsLower,
  hexValue,
  isFieldValueByte,
  isTargetByte,
  latin1,
} from './ascii.js';
import type { HttpOptions } from './options.js';
import type { ParseErrorReason } from './stats.js';

/** Protocol version of a request, as the engine handles it. `1.1` also stands for 1.x, x > 1 (RFC 9110 §6.2). */
export type HttpVersion = '0.9' | '1.0' | '1.1';

/** One parsed request: only the fields the engine acts on are kept. */
export interface HttpRequest {
  readonly kind: 'request';
  /** The method token as sent (case-sensitive, RFC 9110 §9.1). */
  readonly method: string;
  /** The request-target as sent (RFC 9112 §3.2); bytes already checked. */
  readonly target: string;
  readonly version: HttpVersion;
  /** Whether the client asked to keep the connection open afterwards (RFC 9112 §9.3). */
  readonly keepAlive: boolean;
  /** The Host field value (RFC 9110 §7.2), if present. */
  readonly host: string | undefined;
  readonly ifMatch: string | undefined;
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
  readonly ifUnmodifiedSince: string | undefined;
  readonly range: string | undefined;
  readonly ifRange: string | undefined;
  /** Bytes of the request line and header section, line ends included. */
  readonly headBytes: number;
  /** Bytes of body read and thrown away. */
  readonly bodyBytes: number;
  /**
   * The body was not (fully) read: bigger than the discard limit, or held back by
   * `Expect: 100-continue`. The stream is out of step; the answer must close the connection.
   */
  readonly bodyUnread: boolean;
}

/** A request the parser refused. The stream is out of step after it: the answer closes the connection. */
export interface HttpParseError {
  readonly kind: 'error';
  readonly status: 400 | 414 | 431 | 501 | 505;
  readonly reason: ParseErrorReason;
  /** Version of the request line, when it was read far enough to know. */
  readonly version: HttpVersion | undefined;
  /** The method was HEAD (the answer then has no body). */
  readonly head: boolean;
}

/** What `next()` produces: a request or a refusal, told apart by `kind`. */
export type ParseEvent = HttpRequest | HttpParseError;

type Phase = 'line' | 'headers' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailer' | 'dead';

/** Transfer codings a chunked body may also carry; we only throw the body away, so none is decoded (RFC 9112 §7). */
const KNOWN_CODINGS = new Set(['chunked', 'gzip', 'x-gzip', 'deflate', 'compress', 'x-compress']);

/** Starting size of the line buffer; it grows (doubling) to the longest line a limit allows. */
const INITIAL_BUFFER_BYTES = 1024;

/** Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): reg-name or IP literal, optional port. */
const HOST_RE = /^(?:\[[0-9A-Fa-f:.vV\-_~!$&'()*+,;=]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/**
 * The parser of one connection. Feed bytes with `write`, take events with `next` until it
 * returns undefined (more bytes needed). Owns a buffer of at most the longest allowed line.
 */
export class RequestParser {
  readonly #o: HttpOptions;
  #buf = new Uint8Array(INITIAL_BUFFER_BYTES);
  readonly #maxBufferBytes: number;
  #start = 0;
  #end = 0;
  /** Where to resume the search for LF in the current line. */
  #scan = 0;
  #phase: Phase = 'line';

  // The request being parsed.
  #method = '';
  #target = '';
  #version: HttpVersion = '1.1';
  #emptyLinesSkipped = 0;
  #headBytes = 0;
  #fields = 0;
  #hostCount = 0;
  #host: string | undefined;
  #connection: string | undefined;
  #contentLength: string | undefined;
  #transferEncoding: string | undefined;
  #expect: string | undefined;
  #ifMatch: string | undefined;
  #ifNoneMatch: string | undefined;
  #ifModifiedSince: string | undefined;
  #ifUnmodifiedSince: string | undefined;
  #range: string | undefined;
  #ifRange: string | undefined;
  #requestLineBytes = 0;
  #requestsEmitted = 0;
  /** The line being handled, without its line end (for naming a bare CR after a failure). */
  #lineStart = 0;
  #lineEnd = 0;
  #bodyLeft = 0;
  #bodyBytes = 0;
  #trailerBytes = 0;

  constructor(options: HttpOptions) {
    this.#o = options;
    this.#maxBufferBytes = Math.max(options.maxRequestLineBytes, options.maxHeaderBytes, options.maxChunkLineBytes) + 1;
  }

  /** Unparsed bytes held. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** True when part of a request (any byte of it, or its body) has been received but it has not come out yet. */
  get inRequest(): boolean {
    return this.#phase !== 'dead' && (this.#phase !== 'line' || this.#end > this.#start || this.#emptyLinesSkipped > 0);
  }

  /** True after an error or an unread body: nothing more will be parsed. */
  get dead(): boolean {
    return this.#phase === 'dead';
  }

  /**
   * Copies as many bytes of `chunk[offset…]` as fit into the buffer and returns how many
   * (`chunk` is not kept). Returns 0 when the buffer is full: with a line at the longest a limit
   * allows (`next()` then refuses it), or with input not parsed yet because the caller stopped
   * calling `next()` (back-pressure). A dead parser swallows everything (the connection is closing).
   */
  write(chunk: Uint8Array, offset = 0): number {
    const avail = chunk.length - offset;
    if (this.#phase === 'dead') return avail;
    if (this.#start === this.#end) {
      this.#start = this.#end = this.#scan = 0;
    } else if (this.#end + avail > this.#buf.length && this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#scan -= this.#start;
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length && this.#scan >= this.#end && this.#buf.length < this.#maxBufferBytes) {
      // Every buffered byte was scanned and no line ended: the line is longer than the buffer,
      // so grow (limits are checked in next()). Unscanned bytes (pipelined requests waiting
      // for the connection to take them) never make the buffer grow: that is back-pressure.
      const bigger = new Uint8Array(Math.min(this.#maxBufferBytes, this.#buf.length * 2));
      bigger.set(this.#buf.subarray(0, this.#end));
      this.#buf = bigger;
    }
    const n = Math.min(avail, this.#buf.length - this.#end);
    this.#buf.set(n === avail && offset === 0 ? chunk : chunk.subarray(offset, offset + n), this.#end);
    this.#end += n;
    return n;
  }

  /** The next request or error, or undefined when more bytes are needed (or the parser is dead). */
  next(): ParseEvent | undefined {
    for (;;) {
      switch (this.#phase) {
        case 'dead':
          return undefined;
        case 'body': {
          const n = Math.min(this.#bodyLeft, this.#end - this.#start);
          this.#start += n;
          this.#scan = this.#start;
          this.#bodyLeft -= n;
          this.#bodyBytes += n;
          if (this.#bodyLeft > 0) return undefined;
          return this.#emit(false);
        }
        case 'chunk-data': {
          const n = Math.min(this.#bodyLeft, this.#end - this.#start);
          this.#start += n;
          this.#scan = this.#start;
          this.#bodyLeft -= n;
          if (this.#bodyLeft > 0) return undefined;
          this.#phase = 'chunk-end';
          continue;
        }
        default: {
          const event = this.#nextLine();
          if (event !== null) return event;
        }
      }
    }
  }

  /**
   * Finds and handles one line of the current phase. Returns an event, undefined (need bytes),
   * or null (line handled, go on).
   */
  #nextLine(): ParseEvent | undefined | null {
    const buf = this.#buf;
    const start = this.#start;
    let lf = buf.indexOf(LF, this.#scan);
    // Bytes past #end are stale; a hit there is no hit.
    if (lf >= this.#end) lf = -1;
    const limit = this.#lineLimitBytes();
    if (lf < 0) {
      if (this.#end - start >= limit) return this.#lineTooLong();
      this.#scan = this.#end;
      return undefined;
    }
    const lineBytes = lf + 1 - start;
    if (lineBytes > limit) return this.#lineTooLong();
    let lineEnd = lf;
    if (lineEnd > start && buf[lineEnd - 1] === CR) lineEnd--;
    this.#start = this.#scan = lf + 1;
    // A bare CR (RFC 9112 §2.2) fails the byte checks of every kind of line; #fail names it.
    this.#lineStart = start;
    this.#lineEnd = lineEnd;
    switch (this.#phase) {
      case 'line':
        return this.#requestLine(start, lineEnd, lineBytes);
      case 'headers':
        this.#headBytes += lineBytes;
        return this.#fieldLine(start, lineEnd);
      case 'chunk-size':
        return this.#chunkSize(start, lineEnd);
      case 'chunk-end':
        if (lineEnd !== start) return this.#fail(400, 'bad-chunk');
        this.#phase = 'chunk-size';
        return null;
      default: // 'trailer'
        this.#trailerBytes += lineBytes;
        return this.#trailerLine(start, lineEnd);
    }
  }

  /** How long the current line may get, in bytes with its line end. */
  #lineLimitBytes(): number {
    switch (this.#phase) {
      case 'line':
        return this.#o.maxRequestLineBytes;
      case 'headers':
        // The header-section limit counts the field lines (and final CRLF), not the request-line.
        return this.#o.maxHeaderBytes - (this.#headBytes - this.#requestLineBytes);
      case 'trailer':
        return Math.min(this.#o.maxChunkLineBytes, this.#o.maxHeaderBytes - this.#trailerBytes);
      default:
        return this.#o.maxChunkLineBytes;
    }
  }

  /** The error for a line over `#lineLimitBytes()`: 414 (RFC 9112 §3), 431 (RFC 6585 §5) or a bad chunk. */
  #lineTooLong(): ParseEvent {
    this.#lineEnd = this.#lineStart;
    if (this.#phase === 'line') return this.#fail(414, 'request-line-too-long');
    if (this.#phase === 'headers') return this.#fail(431, 'header-section-too-large');
    return this.#fail(400, 'bad-chunk');
  }

  #requestLine(s: number, e: number, lineBytes: number): ParseEvent | null {
    const buf = this.#buf;
    if (s === e) {
      // RFC 9112 §2.2: ignore at least one empty line before the request-line. We ignore a
      // few; a stream of them is not a client being robust.
      if (++this.#emptyLinesSkipped > 8) return this.#fail(400, 'bad-request-line');
      return null;
    }
    this.#resetRequest();
    this.#requestLineBytes = this.#headBytes = lineBytes;
    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version. One SP each (we do
    // not use the MAY of splitting on any whitespace).
    let sp1 = buf.indexOf(SP, s);
    if (sp1 >= e) sp1 = -1;
    if (sp1 <= s) return this.#fail(400, 'bad-request-line');
    if (!allTchar(buf, s, sp1)) return this.#fail(400, 'bad-method');
    this.#method = methodString(buf, s, sp1);
    let sp2 = buf.indexOf(SP, sp1 + 1);
    if (sp2 >= e) sp2 = -1;
    const targetEnd = sp2 < 0 ? e : sp2;
    if (targetEnd === sp1 + 1) return this.#fail(400, 'bad-request-line');
    for (let i = sp1 + 1; i < targetEnd; i++) if (!isTargetByte(buf[i]!)) return this.#fail(400, 'bad-target');
    this.#target = latin1(buf, sp1 + 1, targetEnd);
    if (sp2 < 0) {
      // RFC 1945 §4.1: Simple-Request = "GET" SP Request-URI CRLF, no header section. An
      // HTTP/0.9 client sends one request per connection, so after a 1.x request such a line
      // is garbage, not 0.9.
      if (!this.#o.allowHttp09 || this.#method !== 'GET' || this.#requestsEmitted > 0) return this.#fail(400, 'http09-refused');
      this.#version = '0.9';
      return this.#emit(false);
    }
    // RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT, HTTP-name = %s"HTTP" (case-sensitive).
    const v = sp2 + 1;
    if (
      e - v !== 8 ||
      buf[v] !== 0x48 || buf[v + 1] !== 0x54 || buf[v + 2] !== 0x54 || buf[v + 3] !== 0x50 || buf[v + 4] !== 0x2f ||
      !isDigit(buf[v + 5]!) || buf[v + 6] !== 0x2e || !isDigit(buf[v + 7]!)
    ) {
      return this.#fail(400, 'bad-version');
    }
    const major = buf[v + 5]! - 0x30;
    const minor = buf[v + 7]! - 0x30;
    // RFC 9110 §6.2: a higher minor version of a major version we implement is handled as the
    // highest we know; another major version gets 505 (§15.6.6).
    if (major !== 1) return this.#fail(505, 'unsupported-version');
    this.#version = minor === 0 ? '1.0' : '1.1';
    this.#phase = 'headers';
    return null;
  }

  #fieldLine(s: number, e: number): ParseEvent | null {
    const buf = this.#buf;
    if (s === e) return this.#endOfHead();
    // RFC 9112 §5.2: obs-fold in a request → reject with 400 (also covers whitespace
    // between the request-line and the first field, §2.2).
    if (buf[s] === SP || buf[s] === HTAB) return this.#fail(400, 'obs-fold');
    if (++this.#fields > this.#o.maxHeaderFields) return this.#fail(431, 'too-many-header-fields');
    let colon = buf.indexOf(COLON, s);
    if (colon >= e) colon = -1;
    if (colon <= s) return this.#fail(400, 'bad-field-name');
    // RFC 9112 §5.1: whitespace between field name and colon MUST be rejected with 400.
    const beforeColon = buf[colon - 1]!;
    if (beforeColon === SP || beforeColon === HTAB) return this.#fail(400, 'space-before-colon');
    if (!allTchar(buf, s, colon)) return this.#fail(400, 'bad-field-name');
    // field-value with leading and trailing OWS stripped (RFC 9112 §5.1).
    let vs = colon + 1;
    let ve = e;
    while (vs < ve && (buf[vs] === SP || buf[vs] === HTAB)) vs++;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    for (let i = vs; i < ve; i++) if (!isFieldValueByte(buf[i]!)) return this.#fail(400, 'bad-field-value');
    this.#storeField(s, colon, vs, ve);
    return null;
  }

  /** Keeps the fields the engine acts on. Repeated fields are joined with ", " (RFC 9110 §5.3). */
  #storeField(ns: number, ne: number, vs: number, ve: number): void {
    const buf = this.#buf;
    switch (ne - ns) {
      case 4:
        if (equalsLower(buf, ns, ne, 'host')) {
          this.#hostCount++;
          this.#host = latin1(buf, vs, ve);
        }
        return;
      case 5:
        if (equalsLower(buf, ns, ne, 'range')) this.#range = join(this.#range, latin1(buf, vs, ve));
        return;
      case 6:
        if (equalsLower(buf, ns, ne, 'expect')) this.#expect = join(this.#expect, latin1(buf, vs, ve));
        return;
      case 8:
        if (equalsLower(buf, ns, ne, 'if-match')) this.#ifMatch = join(this.#ifMatch, latin1(buf, vs, ve));
        else if (equalsLower(buf, ns, ne, 'if-range')) this.#ifRange = join(this.#ifRange, latin1(buf, vs, ve));
        return;
      case 10:
        if (equalsLower(buf, ns, ne, 'connection')) this.#connection = join(this.#connection, latin1(buf, vs, ve));
        return;
      case 13:
        if (equalsLower(buf, ns, ne, 'if-none-match')) this.#ifNoneMatch = join(this.#ifNoneMatch, latin1(buf, vs, ve));
        return;
      case 14:
        if (equalsLower(buf, ns, ne, 'content-length')) this.#contentLength = join(this.#contentLength, latin1(buf, vs, ve));
        return;
      case 17:
        if (equalsLower(buf, ns, ne, 'if-modified-since')) this.#ifModifiedSince = join(this.#ifModifiedSince, latin1(buf, vs, ve));
        else if (equalsLower(buf, ns, ne, 'transfer-encoding')) this.#transferEncoding = join(this.#transferEncoding, latin1(buf, vs, ve));
        return;
      case 19:
        if (equalsLower(buf, ns, ne, 'if-unmodified-since')) this.#ifUnmodifiedSince = join(this.#ifUnmodifiedSince, latin1(buf, vs, ve));
        return;
      default:
        return;
    }
  }

  /** The empty line after the fields: check Host and framing, then emit or read the body. */
  #endOfHead(): ParseEvent | null {
    // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, with several, or an invalid one.
    if (this.#version === '1.1') {
      if (this.#hostCount === 0) return this.#fail(400, 'missing-host');
    }
    if (this.#hostCount > 1) return this.#fail(400, 'multiple-host');
    if (this.#host !== undefined && !HOST_RE.test(this.#host)) return this.#fail(400, 'bad-host');
    if (this.#transferEncoding !== undefined) {
      // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
      if (this.#version === '1.0') return this.#fail(400, 'transfer-encoding-in-http10');
      // RFC 9112 §6.3 rule 3: TE and CL together may be smuggling; we take the MAY to reject.
      if (this.#contentLength !== undefined) return this.#fail(400, 'transfer-encoding-with-content-length');
      const codings = this.#transferEncoding
        .split(',')
        .map((c) => c.split(';')[0]!.trim().toLowerCase())
        .filter((c) => c !== '');
      // §6.3 rule 4: chunked must be final, else 400; §7.1: chunked at most once.
      if (codings.at(-1) !== 'chunked' || codings.indexOf('chunked') !== codings.length - 1) {
        return this.#fail(400, 'chunked-not-final');
      }
      // §6.1: an unknown transfer coding SHOULD get 501.
      if (!codings.every((c) => KNOWN_CODINGS.has(c))) return this.#fail(501, 'unknown-transfer-coding');
      if (this.#expectsContinue()) return this.#emit(true);
      this.#bodyBytes = 0;
      this.#phase = 'chunk-size';
      return null;
    }
    if (this.#contentLength !== undefined) {
      // RFC 9110 §8.6: Content-Length = 1*DIGIT; a list of identical values MAY be taken as
      // one, differing values are an unrecoverable error (RFC 9112 §6.3 rule 5).
      let length = -1;
      for (const part of this.#contentLength.split(',')) {
        const t = part.trim();
        if (!/^[0-9]+$/.test(t)) return this.#fail(400, 'bad-content-length');
        // Saturate: anything with more than 15 digits is over every limit anyway.
        const n = t.length > 15 ? Number.MAX_SAFE_INTEGER : Number(t);
        if (length >= 0 && n !== length) return this.#fail(400, 'conflicting-content-length');
        length = n;
      }
      if (length > 0) {
        if (length > this.#o.maxDiscardBodyBytes || this.#expectsContinue()) return this.#emit(true);
        this.#bodyLeft = length;
        this.#bodyBytes = 0;
        this.#phase = 'body';
        return null;
      }
    }
    return this.#emit(false);
  }

  /**
   * RFC 9110 §10.1.1: with `Expect: 100-continue` the client may wait before sending the body.
   * We answer at once with the final status without reading it, and close (we cannot know
   * whether the body follows).
   */
  #expectsContinue(): boolean {
    return this.#expect !== undefined && this.#version === '1.1' && this.#expect.toLowerCase().includes('100-continue');
  }

  #chunkSize(s: number, e: number): ParseEvent | null {
    const buf = this.#buf;
    // RFC 9112 §7.1: chunk-size = 1*HEXDIG, then chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ).
    let size = 0;
    let i = s;
    for (; i < e; i++) {
      const h = hexValue(buf[i]!);
      if (h < 0) break;
      size = size * 16 + h;
      if (size > this.#o.maxDiscardBodyBytes) return this.#tooLarge();
    }
    if (i === s) return this.#fail(400, 'bad-chunk');
    while (i < e && (buf[i] === SP || buf[i] === HTAB)) i++;
    if (i < e && buf[i] !== 0x3b) return this.#fail(400, 'bad-chunk');
    for (; i < e; i++) if (!isFieldValueByte(buf[i]!)) return this.#fail(400, 'bad-chunk');
    if (size === 0) {
      this.#trailerBytes = 0;
      this.#phase = 'trailer';
      return null;
    }
    if (this.#bodyBytes + size > this.#o.maxDiscardBodyBytes) return this.#tooLarge();
    this.#bodyBytes += size;
    this.#bodyLeft = size;
    this.#phase = 'chunk-data';
    return null;
  }

  #trailerLine(s: number, e: number): ParseEvent | null {
    if (s === e) return this.#emit(false);
    // RFC 9112 §7.1.2: trailer fields are field lines; we check their syntax and drop them.
    const buf = this.#buf;
    let colon = buf.indexOf(COLON, s);
    if (colon >= e) colon = -1;
    if (colon <= s || !allTchar(buf, s, colon)) return this.#fail(400, 'bad-chunk');
    for (let i = colon + 1; i < e; i++) if (!isFieldValueByte(buf[i]!)) return this.#fail(400, 'bad-chunk');
    return null;
  }

  /** The chunked body grew past the discard limit: emit the request as unread and stop. */
  #tooLarge(): ParseEvent {
    return this.#emit(true);
  }

  #emit(bodyUnread: boolean): ParseEvent {
    const version = this.#version;
    const conn = this.#connection;
    // RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive" (Appendix C.2.2);
    // 0.9 never. Connection options are case-insensitive tokens (RFC 9110 §7.6.1).
    let keepAlive = version === '1.1';
    if (conn !== undefined && version !== '0.9') {
      for (const opt of conn.split(',')) {
        const t = opt.trim().toLowerCase();
        if (t === 'close') {
          keepAlive = false;
          break;
        }
        if (t === 'keep-alive') keepAlive = true;
      }
    }
    const request: HttpRequest = {
      kind: 'request',
      method: this.#method,
      target: this.#target,
      version,
      keepAlive: keepAlive && !bodyUnread,
      host: this.#host,
      ifMatch: this.#ifMatch,
      ifNoneMatch: this.#ifNoneMatch,
      ifModifiedSince: this.#ifModifiedSince,
      ifUnmodifiedSince: this.#ifUnmodifiedSince,
      range: this.#range,
      ifRange: this.#ifRange,
      headBytes: this.#headBytes,
      bodyBytes: this.#bodyBytes,
      bodyUnread,
    };
    this.#phase = bodyUnread || version === '0.9' ? 'dead' : 'line';
    this.#requestsEmitted++;
    this.#emptyLinesSkipped = 0;
    this.#resetRequest();
    return request;
  }

  #fail(status: HttpParseError['status'], reason: ParseErrorReason): ParseEvent {
    // RFC 9112 §2.2: a bare CR (not part of CRLF) is invalid; we reject rather than replace.
    // Checked only once a line failed, so good lines are scanned once.
    if (status === 400) {
      const cr = this.#buf.indexOf(CR, this.#lineStart);
      if (cr >= 0 && cr < this.#lineEnd) reason = 'bare-cr';
    }
    const error: HttpParseError = {
      kind: 'error',
      status,
      reason,
      version: this.#phase === 'line' ? undefined : this.#version,
      head: this.#method === 'HEAD',
    };
    this.#phase = 'dead';
    this.#start = this.#end = this.#scan = 0;
    return error;
  }

  #resetRequest(): void {
    this.#method = '';
    this.#target = '';
    this.#version = '1.1';
    this.#headBytes = 0;
    this.#requestLineBytes = 0;
    this.#fields = 0;
    this.#hostCount = 0;
    this.#host = undefined;
    this.#connection = undefined;
    this.#contentLength = undefined;
    this.#transferEncoding = undefined;
    this.#expect = undefined;
    this.#ifMatch = undefined;
    this.#ifNoneMatch = undefined;
    this.#ifModifiedSince = undefined;
    this.#ifUnmodifiedSince = undefined;
    this.#range = undefined;
    this.#ifRange = undefined;
    this.#bodyLeft = 0;
    this.#bodyBytes = 0;
  }
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function join(prev: string | undefined, value: string): string {
  return prev === undefined ? value : `${prev}, ${value}`;
}

/** The method as a string, without allocating for the two methods every request uses. */
function methodString(buf: Uint8Array, s: number, e: number): string {
  const n = e - s;
  if (n === 3 && buf[s] === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54) return 'GET';
  if (n === 4 && buf[s] === 0x48 && buf[s + 1] === 0x45 && buf[s + 2] === 0x41 && buf[s + 3] === 0x44) return 'HEAD';
  return latin1(buf, s, e);
}
