/**
 * One client connection as Cheetah serves it: the TCP connection (`src/cheetah/net`) joined to
 * the HTTP connection (`src/cheetah/http`). The session is the HTTP layer's sink: responses are
 * queued on TCP by reference (head, then body — both in the process's memory) and released when
 * TCP has them acknowledged; the close flag rides on the last byte (FIN merged into the last data
 * segment). Received bytes go from TCP's receive ring through one scratch buffer into the HTTP
 * parser; bytes the parser refuses (pipeline full) are kept until it asks for them again.
 */
import type { ChecksumCache } from './checksum-cache.js';
import type { HttpCloseReason, HttpConnection, HttpConnectionSink, HttpResponse } from './http/index.js';
import type { CloseReason, TcpConnection } from './net/index.js';

/** What a session needs from the server core (narrow, so the session never reaches past it). */
export interface SessionHost {
  /** Scratch for reading from TCP (its contents are handed to the HTTP parser, which copies). */
  readonly readScratch: Uint8Array;
  /** Run `fn` as one TCP pass, so everything it queues leaves merged at its end. */
  batch(fn: () => void): void;
  /** The session's HTTP deadline may have moved. */
  deadlineChanged(s: Session): void;
  /** Precomputed checksums of document bodies (undefined: the stack sums every segment). */
  readonly checksums: ChecksumCache | undefined;
  /** The server is draining (SIGTERM): close once idle. */
  readonly draining: boolean;
}

const CLOSE = { close: true } as const;
const KEEP = { close: false } as const;

export class Session implements HttpConnectionSink {
  readonly tcp: TcpConnection;
  /** Card the connection runs on. */
  readonly nic: number;
  /** Set once, right after construction (the HTTP connection needs the session as its sink). */
  http!: HttpConnection;
  /** Descriptor of the connection's DPF socket, or -1 (its frames then come through the listener). */
  fd = -1;
  /** The DPF filter id of that socket (0: none). */
  filterId = 0;
  /** Why TCP ended the connection, once it has. */
  closeReason: CloseReason | undefined = undefined;
  /** HTTP requests answered on this connection. */
  responses = 0;
  readonly #host: SessionHost;
  /** Responses queued on TCP, not yet released (released when everything is acknowledged). */
  readonly #unacked: HttpResponse[] = [];
  /** Bytes the HTTP parser refused (back-pressure), offered again on `resume()`. */
  #refused: Uint8Array | undefined;
  #inputEnded = false;

  constructor(host: SessionHost, tcp: TcpConnection) {
    this.#host = host;
    this.tcp = tcp;
    this.nic = tcp.nic;
  }

  /** Responses whose bytes TCP still holds. */
  get unreleased(): number {
    return this.#unacked.length;
  }

  // ---- TCP events (called by the core inside the stack's pass) ----

  /** New bytes (or the peer's FIN) in TCP's receive buffer: feed the parser until it stops. */
  readable(): void {
    if (this.#refused !== undefined || this.closeReason !== undefined) return;
    const scratch = this.#host.readScratch;
    for (;;) {
      const n = this.tcp.read(scratch, 0, scratch.length);
      if (n === 0) break;
      const chunk = scratch.subarray(0, n);
      const taken = this.http.receive(chunk);
      if (taken < n) {
        this.#refused = chunk.slice(taken);
        break;
      }
    }
    if (this.#refused === undefined && !this.#inputEnded && this.tcp.readEnded) {
      this.#inputEnded = true;
      this.http.endOfInput();
    }
    this.#host.deadlineChanged(this);
  }

  /** Everything queued is acknowledged: the responses' bytes may go back to the cache. */
  drained(): void {
    this.#releaseAll();
    if (this.#host.draining && this.http.pendingRequests === 0) this.tcp.close();
  }

  /** TCP is gone (any reason): no more events; every held response is released. */
  closed(reason: CloseReason): void {
    this.closeReason = reason;
    this.#refused = undefined;
    this.http.destroy();
    this.#releaseAll();
  }

  // ---- HttpConnectionSink ----

  send(r: HttpResponse): void {
    this.#host.batch(() => {
      const tcp = this.tcp;
      const body = r.body;
      const headLen = r.header.length;
      const end = r.close ? CLOSE : KEEP;
      let res;
      if (body.length === 0) {
        res = tcp.send(r.header, 0, headLen, end);
      } else {
        tcp.send(r.header, 0, headLen, KEEP);
        const sums = this.#host.checksums?.lookup(body, headLen, tcp.mss);
        if (sums === undefined) {
          res = tcp.send(body, 0, body.length, end);
        } else {
          // The first segment's body bytes, then the rest in chunks the table sums (see checksum-cache.ts).
          const first = tcp.mss - headLen;
          tcp.send(body, 0, first, KEEP);
          res = tcp.send(body, first, body.length - first, { close: r.close, checksums: sums });
        }
      }
      if (res !== 'ok') {
        // The connection went away (or was closed) while the document loaded: nothing to send.
        r.release();
        return;
      }
      this.responses++;
      this.#unacked.push(r);
      // After a document load the keep-alive timer starts only now.
      this.#host.deadlineChanged(this);
    });
  }

  close(_reason: HttpCloseReason): void {
    this.#host.batch(() => void this.tcp.close());
  }

  resume(): void {
    const refused = this.#refused;
    if (refused === undefined) return;
    this.#host.batch(() => {
      this.#refused = undefined;
      const taken = this.http.receive(refused);
      if (taken < refused.length) this.#refused = refused.subarray(taken);
      else this.readable();
      this.#host.deadlineChanged(this);
    });
  }

  #releaseAll(): void {
    const q = this.#unacked;
    for (let i = 0; i < q.length; i++) q[i]!.release();
    q.length = 0;
  }
}
