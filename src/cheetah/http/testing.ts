/**
 * Helpers for tests of this layer and of the server glue that drives it: a sink that records
 * what a connection emits, and readers for response heads. Pure: no I/O, no timers.
 */
import type { HttpCloseReason, HttpConnectionSink } from './connection.js';
import type { HttpResponse } from './engine.js';
import { latin1, latin1Bytes } from './ascii.js';

/** Records every response and close request of one connection. */
export class RecordingSink implements HttpConnectionSink {
  readonly responses: HttpResponse[] = [];
  closed: HttpCloseReason | undefined;
  resumes = 0;

  send(response: HttpResponse): void {
    this.responses.push(response);
  }
  close(reason: HttpCloseReason): void {
    this.closed = reason;
  }
  resume(): void {
    this.resumes++;
  }
}

/** A response's head as text. */
export function headText(r: HttpResponse): string {
  return latin1(r.header, 0, r.header.length);
}

/** Header fields of a response head, names lower-cased; the status line under `:status`. */
export function headFields(r: HttpResponse): Map<string, string> {
  const lines = headText(r).split('\r\n');
  const out = new Map<string, string>([[':status', lines[0] ?? '']]);
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) out.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return out;
}

/** ASCII/Latin-1 text as bytes (request fixtures). */
export function bytes(text: string): Uint8Array {
  return latin1Bytes(text);
}
