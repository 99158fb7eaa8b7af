/**
 * One HTTP connection as pure logic: bytes in, response descriptions out, in request order,
 * with timeouts driven by the engine's clock. The server glue owns the TCP connection and
 * calls `receive` with data, `endOfInput` on the peer's FIN, `poll` when the timer armed at
 * `nextDeadline()` fires, and `destroy` when the TCP connection is gone.
 *
 * Pipelining (RFC 9112 §9.3.2): requests are answered strictly in order; a document that has
 * to be loaded holds back the answers behind it. At most `maxPipelinedRequests` parsed requests
 * wait; beyond that `receive` takes fewer bytes than offered (the rest stays in TCP's receive
 * buffer, which shrinks the window) and `sink.resume()` says when to offer them again.
 *
 * Timeouts (RFC 9112 §9.5): a request must be complete `headerTimeoutMs` after its first byte,
 * else 408 and close (slowloris); a new connection that sends nothing, or an idle persistent
 * one (`keepAliveTimeoutMs`), is closed without a response. No timer runs while the engine
 * is loading a document for this connection.
 */
import { HttpResponse, type HttpEngine } from './engine.js';
import { RequestParser, type ParseEvent } from './parser.js';

/** Why the connection asks to be closed without a (further) response. */
export type HttpCloseReason = 'idle-timeout' | 'end-of-input';

/** Where a connection's output goes; implemented by the server glue. Calls may happen inside `receive`/`poll` or later (after a load). */
export interface HttpConnectionSink {
  /**
   * The next response, in request order. The sink takes the response; it calls
   * `response.release()` once TCP no longer needs its bytes. If `response.close`, no more
   * responses follow and the connection is to be closed after these bytes.
   */
  send(response: HttpResponse): void;
  /** No more responses will come: close after what was sent (graceful close, RFC 9112 §9.6). */
  close(reason: HttpCloseReason): void;
  /** Input refused by `receive` may be offered again. */
  resume(): void;
}

/** Lifecycle: `open`, `closing` (no more responses), `destroyed` (the glue is done with it). */
export type HttpConnectionState = 'open' | 'closing' | 'destroyed';

/** Per-connection HTTP state. Create with `new HttpConnection(engine, sink)`. */
export class HttpConnection {
  readonly #engine: HttpEngine;
  readonly #sink: HttpConnectionSink;
  readonly #parser: RequestParser;
  readonly #queue: ParseEvent[] = [];
  readonly #openedAtMs: number;
  /** A response is being loaded for the head of the queue. */
  #busy = false;
  #state: HttpConnectionState = 'open';
  #inputEnded = false;
  #blocked = false;
  /** When the first byte of the request now being received arrived. */
  #requestStartMs: number | undefined;
  #lastResponseAtMs: number | undefined;

  constructor(engine: HttpEngine, sink: HttpConnectionSink) {
    this.#engine = engine;
    this.#sink = sink;
    this.#parser = new RequestParser(engine.options);
    this.#openedAtMs = engine.clock();
    engine.stats.connectionsOpened++;
  }

  get state(): HttpConnectionState {
    return this.#state;
  }

  /** Parsed requests waiting for their response (including one being loaded). */
  get pendingRequests(): number {
    return this.#queue.length + (this.#busy ? 1 : 0);
  }

  /**
   * Takes bytes from the peer and answers every request they complete. Returns how many bytes
   * were taken; fewer than `chunk.length` means back-pressure (offer the rest after
   * `sink.resume()`). Once closing, bytes are dropped (and counted) but reported as taken.
   * `chunk` is copied; the caller keeps ownership.
   */
  receive(chunk: Uint8Array): number {
    const stats = this.#engine.stats;
    if (this.#state !== 'open' || this.#inputEnded) {
      stats.bytesAfterClose += chunk.length;
      return chunk.length;
    }
    const now = this.#engine.clock();
    let off = 0;
    while (off < chunk.length) {
      this.#requestStartMs ??= now;
      const n = this.#parser.write(chunk, off);
      off += n;
      stats.bytesReceived += n;
      this.#pump(now);
      if (this.#state !== 'open') {
        stats.bytesAfterClose += chunk.length - off;
        return chunk.length;
      }
      if (n === 0) {
        // The parser's buffer is full and the pipeline too: stop taking bytes.
        this.#blocked = true;
        stats.inputRefusals++;
        return off;
      }
    }
    return off;
  }

  /** The peer will send no more (FIN): answer what is complete, then ask to close. */
  endOfInput(): void {
    if (this.#inputEnded) return;
    this.#inputEnded = true;
    if (this.#state === 'open') this.#pump(this.#engine.clock());
  }

  /**
   * When `poll()` next has work, in ms on the engine's clock, or undefined when no timer is
   * needed (closing, or waiting for a document load). Recompute after every call.
   */
  nextDeadline(): number | undefined {
    if (this.#state !== 'open' || this.#busy || this.#queue.length > 0) return undefined;
    const o = this.#engine.options;
    if (this.#requestStartMs !== undefined) {
      // Time spent waiting for our own earlier responses does not count against the client.
      return Math.max(this.#requestStartMs, this.#lastResponseAtMs ?? this.#requestStartMs) + o.headerTimeoutMs;
    }
    if (this.#lastResponseAtMs === undefined) return this.#openedAtMs + o.headerTimeoutMs;
    return this.#lastResponseAtMs + o.keepAliveTimeoutMs;
  }

  /** Acts on an expired deadline: 408 for a request in progress, a silent close for an idle connection. */
  poll(): void {
    const deadline = this.nextDeadline();
    if (deadline === undefined || this.#engine.clock() < deadline) return;
    const stats = this.#engine.stats;
    if (this.#requestStartMs !== undefined && this.#parser.inRequest) {
      stats.headerTimeouts++;
      this.#deliver(this.#engine.timeout(undefined), this.#engine.clock());
    } else {
      stats.idleTimeouts++;
      this.#state = 'closing';
      this.#sink.close('idle-timeout');
    }
  }

  /** The TCP connection is gone. Responses still being loaded are released when they arrive. */
  destroy(): void {
    if (this.#state === 'destroyed') return;
    this.#state = 'destroyed';
    this.#queue.length = 0;
    this.#engine.stats.connectionsClosed++;
  }

  /** Answers queued requests in order and parses more while the pipeline has room. */
  #pump(now: number): void {
    const max = this.#engine.options.maxPipelinedRequests;
    for (;;) {
      while (!this.#busy && this.#queue.length > 0 && this.#state === 'open') {
        const ev = this.#queue.shift()!;
        const r = ev.kind === 'request' ? this.#engine.respond(ev, now) : this.#engine.parseError(ev);
        if (r instanceof HttpResponse) {
          this.#deliver(r, now);
        } else {
          this.#busy = true;
          // The engine's promise does not reject; if a bug made it, the client still gets a 500.
          void r.then(
            (res) => this.#loaded(res),
            () => this.#loaded(this.#engine.error(500, undefined, false, true)),
          );
        }
      }
      if (this.#state !== 'open' || this.#queue.length >= max) return;
      const ev = this.#parser.next();
      if (ev === undefined) break;
      this.#requestStartMs = this.#parser.inRequest ? now : undefined;
      this.#queue.push(ev);
    }
    if (this.#inputEnded && !this.#busy && this.#queue.length === 0) {
      this.#state = 'closing';
      this.#sink.close('end-of-input');
    }
  }

  #loaded(res: HttpResponse): void {
    this.#busy = false;
    if (this.#state !== 'open') {
      res.release();
      return;
    }
    const now = this.#engine.clock();
    this.#deliver(res, now);
    this.#pump(now);
    if (this.#blocked && this.#state === 'open' && this.#queue.length < this.#engine.options.maxPipelinedRequests) {
      this.#blocked = false;
      this.#sink.resume();
    }
  }

  #deliver(res: HttpResponse, now: number): void {
    this.#lastResponseAtMs = now;
    if (res.close) {
      this.#state = 'closing';
      this.#queue.length = 0;
    }
    this.#sink.send(res);
  }
}
