/**
 * Response heads (status line + header section) as bytes, Cheetah-style: a head is built once
 * with the Date value at a fixed offset and padded to an even length, and afterwards only the
 * 29 date bytes change, once per second. Padding keeps the body that follows 16-bit aligned in
 * the TCP stream, so checksums precomputed over the document's bytes stay valid (facts §3.2).
 *
 * Unlike Cheetah, which patched the date in place, a new second makes a new copy: a head handed
 * to TCP is never rewritten under it, so a retransmission resends exactly the bytes first sent.
 *
 * Where the bytes live is the caller's choice (`HttpMemory`): the Cheetah process puts them in
 * its own memory so TCP can send them by reference with a gather list; each copy is counted by
 * the responses holding it (`HeadBytes`) and given back when the last one is released and the
 * template has moved on.
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
 * Memory for the bytes the engine hands to TCP (response heads, error pages). The Cheetah
 * process allocates them in its own memory so that TCP can send them by reference.
 */
export interface HttpMemory {
  /** `bytes` bytes, or undefined when none are left (the engine then falls back to the JS heap). */
  alloc(bytes: number): Uint8Array | undefined;
  /** Gives back bytes that came from `alloc`; nothing references them any more. */
  free(bytes: Uint8Array): void;
}

/** The default: the JS heap, reclaimed by the garbage collector. */
export const HEAP_MEMORY: HttpMemory = {
  alloc: (bytes) => new Uint8Array(bytes),
  free: () => {},
};

/** Copies `src` into `memory` (into a JS array when `memory` has no room); the second value says whether `memory` holds it. */
export function placeBytes(memory: HttpMemory, src: Uint8Array): [bytes: Uint8Array, placed: boolean] {
  const dst = memory.alloc(src.length);
  if (dst === undefined) return [src.slice(), false];
  dst.set(src);
  return [dst, true];
}

/**
 * Head bytes shared by the responses that carry them. They go back to their memory once
 * `retire()` was called (no new response will use them) and every `retain()` is matched by a
 * `release()`.
 */
export class HeadBytes {
  readonly bytes: Uint8Array;
  readonly #memory: HttpMemory | undefined;
  #refs = 0;
  #retired = false;

  /** `memory`: where `bytes` came from (undefined: the JS heap, nothing to give back). */
  constructor(bytes: Uint8Array, memory: HttpMemory | undefined) {
    this.bytes = bytes;
    this.#memory = memory;
  }

  /** Encoded bytes placed in `memory`, for one response only (retired at once). */
  static once(memory: HttpMemory, bytes: Uint8Array): HeadBytes {
    const [b, placed] = placeBytes(memory, bytes);
    const h = new HeadBytes(b, placed ? memory : undefined);
    h.#retired = true;
    return h;
  }

  /** Responses holding these bytes. */
  get refs(): number {
    return this.#refs;
  }

  /** No new response will be given these bytes. */
  get retired(): boolean {
    return this.#retired;
  }

  /** A response now refers to these bytes. */
  retain(): void {
    this.#refs++;
  }

  /** A response no longer refers to them. */
  release(): void {
    if (this.#refs > 0 && --this.#refs === 0 && this.#retired) this.#free();
  }

  /** No new response will use these bytes; they go back once unreferenced. Idempotent. */
  retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    if (this.#refs === 0) this.#free();
  }

  #free(): void {
    this.#memory?.free(this.bytes);
  }
}

/**
 * A precomputed head: `at()` returns bytes whose Date is the current second, copying the
 * template at most once per second. Bytes handed out are never modified afterwards.
 */
export class HeadTemplate {
  /** The encoded head on the JS heap with the latest date: what every copy is made from. */
  readonly #master: Uint8Array;
  #current: HeadBytes;
  readonly #dateOffset: number;
  #date: Uint8Array;
  readonly #memory: HttpMemory;

  constructor(head: EncodedHead, date: Uint8Array, memory: HttpMemory = HEAP_MEMORY) {
    this.#memory = memory;
    this.#master = head.bytes;
    this.#dateOffset = head.dateOffset;
    this.#date = date;
    this.#current = this.#copy();
  }

  #copy(): HeadBytes {
    const [bytes, placed] = placeBytes(this.#memory, this.#master);
    return new HeadBytes(bytes, placed ? this.#memory : undefined);
  }

  /** The head at time `nowMs` (`clock` caches the date string per second); retain it while in use. */
  at(clock: HttpDateClock, nowMs: number): HeadBytes {
    const date = clock.at(nowMs);
    // The clock hands out a new array each second, so identity says whether the date changed.
    if (date !== this.#date || this.#current.retired) {
      this.#master.set(date, this.#dateOffset);
      this.#date = date;
      const old = this.#current;
      this.#current = this.#copy();
      old.retire();
    }
    return this.#current;
  }

  /** Length in bytes (fixed: the date has a fixed width). */
  get length(): number {
    return this.#master.length;
  }

  /** Not used for now (its document left the cache): the current copy goes back once unreferenced. */
  retire(): void {
    this.#current.retire();
  }
}
