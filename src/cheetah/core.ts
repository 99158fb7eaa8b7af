/**
 * Cheetah's server core: the TCP/IP stack, the HTTP engine and the sessions joining them, for
 * every card, with no I/O of its own. The process (`server.ts`) feeds it received frames inside
 * `batch`, sends the frames it gets through `transmit`, runs `poll` at `nextDeadline`, and
 * installs and removes the per-connection DPF filters when told a connection opened or closed.
 * Tests drive the same core from a second TCP stack.
 *
 * Read first: DESIGN.md §7, docs/tcp.md (passes, merging, send by reference), docs/http.md (the
 * engine, its sink and timeouts), docs/cheetah.md.
 */
import { ChecksumCache } from './checksum-cache.js';
import { HttpConnection, HttpEngine, type DocumentSource, type HttpMemory, type HttpOptions } from './http/index.js';
import {
  TcpStack,
  type CloseReason,
  type Rng,
  type TcpConfig,
  type TcpConnection,
  type TcpInterface,
  type TcpListener,
  type TxFrame,
} from './net/index.js';
import { Session, type SessionHost } from './session.js';

/** Memory the core places bytes in that TCP sends by reference (the process's own, in Cheetah). */
export type CheetahMemory = HttpMemory;

/** Told when a connection is handed to HTTP and when it is gone (per-connection DPF filters). */
export interface ConnectionHooks {
  opened?(s: Session): void;
  closed?(s: Session, reason: CloseReason): void;
}

export interface CheetahCoreInit {
  /** One per card, indexed like the `nic` argument of received and transmitted frames. */
  interfaces: readonly TcpInterface[];
  /** TCP port served on every card's address. */
  port: number;
  source: DocumentSource;
  http?: Partial<HttpOptions>;
  tcp?: Partial<TcpConfig>;
  rng: Rng;
  /** Monotonic time in ms (TCP timers). */
  now(): number;
  /** Wall-clock time in ms since the epoch (HTTP dates, HTTP timeouts). */
  wallNow(): number;
  /** Send one frame; consume it before returning (see `TxFrame`). */
  transmit(frame: TxFrame): void;
  /** Where TCP header buffers and HTTP heads live. Default: the JS heap. */
  memory?: CheetahMemory;
  hooks?: ConnectionHooks;
  /** Keep precomputed checksums of document bodies (facts §3.2 item 3). Default true. */
  precomputeChecksums?: boolean;
}

/** Connections the core has seen end, by TCP's close reason. */
export type ClosedByReason = Record<CloseReason, number>;

/** HTTP timeouts are coarse (seconds): sweep the sessions at most this often. */
const HTTP_SWEEP_MS = 100;
/** Bytes read from TCP per call into the parser. */
const READ_SCRATCH_BYTES = 16 * 1024;

export class CheetahCore implements SessionHost {
  readonly stack: TcpStack;
  readonly engine: HttpEngine;
  /** One listener per card, same order as the interfaces. */
  readonly listeners: readonly TcpListener[];
  readonly sessions = new Set<Session>();
  readonly closedByReason: ClosedByReason = { closed: 0, reset: 0, refused: 0, timeout: 0, aborted: 0, unreachable: 0 };
  readonly readScratch = new Uint8Array(READ_SCRATCH_BYTES);
  readonly checksums: ChecksumCache | undefined;
  #draining = false;
  /** Earliest HTTP deadline of any session (wall clock), or Infinity. */
  #httpDue = Infinity;
  #lastSweep = -Infinity;
  readonly #now: () => number;
  readonly #wallNow: () => number;
  readonly #hooks: ConnectionHooks;

  constructor(init: CheetahCoreInit) {
    this.#now = init.now;
    this.#wallNow = init.wallNow;
    this.#hooks = init.hooks ?? {};
    this.checksums = init.precomputeChecksums === false ? undefined : new ChecksumCache();
    const memory = init.memory;
    this.engine = new HttpEngine({ source: init.source, clock: init.wallNow, options: init.http ?? {}, ...(memory !== undefined ? { memory } : {}) });
    this.stack = new TcpStack({
      interfaces: init.interfaces,
      io: {
        now: init.now,
        transmit: init.transmit,
        ...(memory !== undefined ? { alloc: (n: number) => memory.alloc(n) ?? new Uint8Array(n), free: (b: Uint8Array) => memory.free(b) } : {}),
      },
      rng: init.rng,
      // The kernel answers ARP for the machine's addresses (Cheetah shares them, as on Linux).
      config: { answerArp: false, ...init.tcp },
      events: {
        onAccept: (conn) => this.#accept(conn),
        onReadable: (conn) => (conn.user as Session | undefined)?.readable(),
        onDrain: (conn) => (conn.user as Session | undefined)?.drained(),
        onClose: (conn, reason) => this.#closed(conn, reason),
      },
    });
    this.listeners = init.interfaces.map((itf) => {
      const l = this.stack.listen({ addr: itf.addr, port: init.port });
      if (typeof l === 'string') throw new RangeError(`cannot listen on port ${init.port} of interface ${itf.addr}: ${l}`);
      return l;
    });
  }

  /** Stopping: no new connections, sessions close once idle. */
  get draining(): boolean {
    return this.#draining;
  }

  /** The session of a connection handed to HTTP (undefined during the handshake). */
  sessionOf(conn: TcpConnection): Session | undefined {
    return conn.user instanceof Session ? conn.user : undefined;
  }

  batch(fn: () => void): void {
    this.stack.batch(fn);
  }

  /** Feed one received frame from card `nic` (call inside `batch` for a batch of frames). */
  input(frame: Uint8Array, nic: number): void {
    this.stack.input(frame, nic);
  }

  /** When `poll` must next run, on the monotonic clock (ms); Infinity when nothing is pending. */
  nextDeadline(): number {
    const tcp = this.stack.nextDeadline();
    if (this.#httpDue === Infinity) return tcp;
    const http = Math.max(this.#httpDue, this.#lastSweep + HTTP_SWEEP_MS) - this.#wallNow() + this.#now();
    return Math.min(tcp, http);
  }

  /** Run every TCP timer and HTTP timeout that is due. */
  poll(): void {
    if (this.stack.nextDeadline() <= this.#now()) this.stack.poll();
    const wall = this.#wallNow();
    if (this.#httpDue !== Infinity && wall >= this.#httpDue && wall >= this.#lastSweep + HTTP_SWEEP_MS) this.stack.batch(() => this.#sweep(wall));
  }

  deadlineChanged(s: Session): void {
    const d = s.http.nextDeadline();
    if (d !== undefined && d < this.#httpDue) this.#httpDue = d;
  }

  /**
   * Stop accepting (new SYNs are answered with RST by the stack) and close every idle session;
   * sessions busy with a response close once it is acknowledged.
   */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    for (const l of this.listeners) l.close();
    this.stack.batch(() => {
      for (const s of this.sessions) if (s.http.pendingRequests === 0 && s.unreleased === 0) s.tcp.close();
    });
  }

  /** Reset every connection (RST) and close the listeners; sessions end with `aborted`. */
  abort(): void {
    this.stack.shutdown();
  }

  #accept(conn: TcpConnection): void {
    const s = new Session(this, conn);
    s.http = new HttpConnection(this.engine, s);
    conn.user = s;
    this.sessions.add(s);
    this.deadlineChanged(s);
    this.#hooks.opened?.(s);
  }

  #closed(conn: TcpConnection, reason: CloseReason): void {
    this.closedByReason[reason]++;
    const s = conn.user as Session | undefined;
    if (s === undefined) return;
    conn.user = undefined;
    this.sessions.delete(s);
    s.closed(reason);
    this.#hooks.closed?.(s, reason);
  }

  /** Act on due HTTP timeouts and find the next one. */
  #sweep(wall: number): void {
    this.#lastSweep = wall;
    let next = Infinity;
    for (const s of this.sessions) {
      let d = s.http.nextDeadline();
      if (d !== undefined && d <= wall) {
        s.http.poll();
        d = s.http.nextDeadline();
      }
      if (d !== undefined && d < next) next = d;
    }
    this.#httpDue = next;
  }
}
