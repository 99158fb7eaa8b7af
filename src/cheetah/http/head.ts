/**
 * Response heads (status line + header section) as bytes, Cheetah-style: a head is built once
 * with the Date value at a fixed offset and padded to an even length, and afterwards only the
 * 29 date bytes change, once per second. Padding keeps the body that follows 16-bit aligned in
 * the TCP stream, so checksums precomputed over the document's bytes stay valid (facts §3.2).
 *
 * Unlike Cheetah, which patched the date in place, a new second makes a new copy: a head handed
 * to TCP is never rewritten under it, so a retransmission resends exactly the bytes first sent.
 *
 * Read first: RFC 9112 §4 (status line), §5 (field lines); RFC 9110 §6.6.1 (Date), §10.2.4
 * (Server), §15 (status codes); RFC 6585 §5 (431).
 */
import { latin1Bytes } from './ascii.js';
import { IMF_FIXDATE_LENGTH, type HttpDateClock } from './http-date.js';
import type { HttpStatus } from './stats.js';

/** Reason phrases (RFC 9110 §15; RFC 6585 §5). */
export const REASON_PHRASES: Readonly<Record<HttpStatus, string>> = {
  200: 'OK',
  206: 'Partial Content',
  301: 'Moved Permanently',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  416: 'Range Not Satisfiable',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};

/**
 * How a response ends the exchange, which decides its Connection field (RFC 9112 §9.3, §9.6):
 * `persist` (HTTP/1.1 default, no field), `keep-alive` (an HTTP/1.0 client that asked for it
 * must be told), `close`.
 */
export type ConnectionMode = 'persist' | 'keep-alive' | 'close';

/** Index of a mode in per-mode arrays. */
export function connectionModeIndex(mode: ConnectionMode): 0 | 1 | 2 {
  return mode === 'persist' ? 0 : mode === 'keep-alive' ? 1 : 2;
}

/** A header field; name and value are ASCII chosen by the engine (never raw client bytes). */
export type HeadField = readonly [name: string, value: string];

/** An encoded head and where its Date value sits. */
export interface EncodedHead {
  readonly bytes: Uint8Array;
  readonly dateOffset: number;
}

/**
 * Encodes `HTTP/1.1 <status> <reason>`, Date, Server, `fields`, the Connection field for `mode`
 * and the final CRLF, padded to an even length with one extra SP of OWS after `Server:`
 * (RFC 9112 §5.1 allows OWS before a field value). The status line always says HTTP/1.1: a
 * server sends the highest version it conforms to (RFC 9110 §6.2).
 */
export function encodeHead(
  status: HttpStatus,
  serverName: string,
  fields: readonly HeadField[],
  mode: ConnectionMode,
  date: Uint8Array,
): EncodedHead {
  const statusLine = `HTTP/1.1 ${status} ${REASON_PHRASES[status]}\r\n`;
  const datePrefix = 'Date: ';
  let rest = '';
  for (const [name, value] of fields) rest += `${name}: ${value}\r\n`;
  if (mode === 'close') rest += 'Connection: close\r\n';
  else if (mode === 'keep-alive') rest += 'Connection: keep-alive\r\n';
  rest += '\r\n';
  let server = `\r\nServer: ${serverName}\r\n`;
  const length = statusLine.length + datePrefix.length + IMF_FIXDATE_LENGTH + server.length + rest.length;
  if (length % 2 === 1) server = `\r\nServer:  ${serverName}\r\n`;
  const dateOffset = statusLine.length + datePrefix.length;
  const text = statusLine + datePrefix + ' '.repeat(IMF_FIXDATE_LENGTH) + server + rest;
  const bytes = latin1Bytes(text);
  bytes.set(date, dateOffset);
  return { bytes, dateOffset };
}

/**
 * A precomputed head: `at()` returns bytes whose Date is the current second, copying the
 * template at most once per second. Returned arrays are never modified afterwards.
 */
export class HeadTemplate {
  #bytes: Uint8Array;
  readonly #dateOffset: number;
  #date: Uint8Array;

  constructor(head: EncodedHead, date: Uint8Array) {
    this.#bytes = head.bytes;
    this.#dateOffset = head.dateOffset;
    this.#date = date;
  }

  /** Bytes of the head at time `nowMs`; `clock` caches the date string per second. */
  at(clock: HttpDateClock, nowMs: number): Uint8Array {
    const date = clock.at(nowMs);
    // The clock hands out a new array each second, so identity says whether the date changed.
    if (date !== this.#date) {
      const copy = this.#bytes.slice();
      copy.set(date, this.#dateOffset);
      this.#bytes = copy;
      this.#date = date;
    }
    return this.#bytes;
  }

  /** Length in bytes (fixed: the date has a fixed width). */
  get length(): number {
    return this.#bytes.length;
  }
}
