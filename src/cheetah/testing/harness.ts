/**
 * Test support (not used by the server): Cheetah's core on three virtual cards, with a second
 * TCP stack as the host side playing the clients, joined by an in-memory wire on a manual clock.
 * Frames cross as copies (as a TAP would), every frame is counted per direction and card, and
 * responses are parsed as an HTTP/1.x client would (status line, fields, Content-Length or
 * close-delimited body).
 */
import { CheetahCore, type CheetahCoreInit, type CheetahMemory } from '../core.js';
import type { DocumentSource, HttpOptions } from '../http/index.js';
import { TcpStack, Xoshiro128, type TcpConfig, type TcpConnection, type TcpInterface, type TxFrame } from '../net/index.js';
import type { Session } from '../session.js';
import { wireFrames } from '../net/testing/tso.js';

/** Card n: the machine is 198.18.n.2 (MAC 02:65:78:00:0n:02), the host side 198.18.n.1. */
export const CARDS = [0, 1, 2].map((n) => ({
  server: { mac: 0x02_65_78_00_00_02 + n * 0x100, addr: (198 << 24) | (18 << 16) | (n << 8) | 2, prefixLen: 24, mtuBytes: 1500 },
  client: { mac: 0x0a_00_00_00_00_01 + n * 0x100, addr: ((198 << 24) | (18 << 16) | (n << 8) | 1) >>> 0, prefixLen: 24, mtuBytes: 1500 },
}));
for (const c of CARDS) c.server.addr >>>= 0;

/** One HTTP response as a client read it. */
export interface ParsedResponse {
  status: number;
  statusLine: string;
  /** Field names lower-cased. */
  fields: Map<string, string>;
  head: string;
  body: Uint8Array;
}

/** A client connection and everything it received. */
export class ClientConnection {
  readonly conn: TcpConnection;
  readonly #chunks: Uint8Array[] = [];
  received = 0;
  /** The server's FIN arrived (and we closed our side). */
  ended = false;
  closed: string | undefined;

  constructor(conn: TcpConnection) {
    this.conn = conn;
  }

  /** @internal */
  push(b: Uint8Array): void {
    this.#chunks.push(b);
    this.received += b.length;
  }

  /** All bytes received so far. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.received);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /**
   * The responses in the received bytes; `heads` says which requests were HEAD (no body). A last
   * response without Content-Length is close-delimited.
   */
  responses(heads: readonly boolean[] = []): ParsedResponse[] {
    const all = this.bytes();
    const out: ParsedResponse[] = [];
    let at = 0;
    while (at < all.length) {
      let end = -1;
      for (let i = at; i + 3 < all.length; i++) {
        if (all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 && all[i + 3] === 10) {
          end = i + 4;
          break;
        }
      }
      if (end < 0) break;
      const head = Buffer.from(all.subarray(at, end)).toString('latin1');
      const lines = head.split('\r\n');
      const statusLine = lines[0]!;
      const fields = new Map<string, string>();
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':');
        if (c > 0) fields.set(l.slice(0, c).toLowerCase(), l.slice(c + 1).trim());
      }
      const status = Number(statusLine.split(' ')[1]);
      const isHead = heads[out.length] === true;
      const noBody = isHead || status === 304 || (status >= 100 && status < 200);
      const cl = fields.get('content-length');
      const len = noBody ? 0 : cl === undefined ? all.length - end : Number(cl);
      if (end + len > all.length) break;
      out.push({ status, statusLine, fields, head, body: all.slice(end, end + len) });
      at = end + len;
    }
    return out;
  }
}

/** Clients on the host side of the cards: one TCP stack, connections that collect what they receive. */
export class HttpTestClient {
  readonly stack: TcpStack;
  readonly #byConn = new Map<TcpConnection, ClientConnection>();
  readonly #servers: readonly { mac: number; addr: number }[];

  /**
   * `interfaces[n]` is the host side of card n and `servers[n]` the machine on it; frames go out
   * through `transmit` (consume before returning), time comes from `now` (ms).
   */
  constructor(opts: {
    interfaces: readonly TcpInterface[];
    servers: readonly { mac: number; addr: number }[];
    now: () => number;
    transmit: (f: TxFrame) => void;
    config?: Partial<TcpConfig>;
    seed?: number;
  }) {
    this.#servers = opts.servers;
    this.stack = new TcpStack({
      interfaces: opts.interfaces,
      io: { now: opts.now, transmit: opts.transmit },
      rng: new Xoshiro128(opts.seed ?? 8),
      config: { answerArp: true, ...opts.config },
      events: {
        onReadable: (conn) => {
          const c = this.#byConn.get(conn);
          if (c === undefined) return;
          const buf = new Uint8Array(65536);
          for (let n = conn.read(buf); n > 0; n = conn.read(buf)) c.push(buf.slice(0, n));
          if (conn.readEnded && !c.ended) {
            c.ended = true;
            conn.close();
          }
        },
        onClose: (conn, reason) => {
          const c = this.#byConn.get(conn);
          if (c !== undefined) c.closed = reason;
        },
      },
    });
  }

  /** Open a connection to port 80 of the machine on card `nic` and queue `request` on it. */
  open(nic: number, request: string | Uint8Array = '', localPort?: number): ClientConnection {
    const server = this.#servers[nic]!;
    const conn = this.stack.connect({ nic, remoteAddr: server.addr, remotePort: 80, remoteMac: server.mac, ...(localPort !== undefined ? { localPort } : {}) });
    if (typeof conn === 'string') throw new Error(`connect: ${conn}`);
    const c = new ClientConnection(conn);
    this.#byConn.set(conn, c);
    if (request.length > 0) conn.send(typeof request === 'string' ? Buffer.from(request, 'latin1') : request);
    return c;
  }

  /** Send more request bytes on an open connection. */
  send(c: ClientConnection, request: string): void {
    c.conn.send(Buffer.from(request, 'latin1'));
  }
}

export interface HarnessOptions {
  source: DocumentSource;
  http?: Partial<HttpOptions>;
  tcp?: Partial<TcpConfig>;
  clientTcp?: Partial<TcpConfig>;
  memory?: CheetahMemory;
  precomputeChecksums?: boolean;
  /** Drop (and count) frames this returns true for, per direction. */
  lose?: (toServer: boolean, frame: Uint8Array) => boolean;
  /** Look at each frame the server hands to its card (before it is cut into segments). */
  onServerFrame?: (f: TxFrame) => void;
}

interface InFlight {
  toServer: boolean;
  nic: number;
  frame: Uint8Array;
}

const WALL_OFFSET_MS = 1_700_000_000_000;

export class CoreHarness {
  now = 1000;
  readonly core: CheetahCore;
  readonly clients: HttpTestClient;
  /** Frames each side handed to its card (one `dpf_send`/`dpf_send_tso` each), per card. */
  readonly framesFromServer = [0, 0, 0];
  readonly framesFromClient = [0, 0, 0];
  /** Of the server's frames, the super-segments; and the segments the wire carried. */
  readonly tsoFramesFromServer = [0, 0, 0];
  readonly segmentsFromServer = [0, 0, 0];
  readonly opened: Session[] = [];
  readonly closed: Session[] = [];
  readonly #wire: InFlight[] = [];
  readonly #lose: HarnessOptions['lose'];

  constructor(opts: HarnessOptions) {
    this.#lose = opts.lose;
    const init: CheetahCoreInit = {
      interfaces: CARDS.map((c) => c.server as TcpInterface),
      port: 80,
      source: opts.source,
      http: opts.http ?? {},
      tcp: opts.tcp ?? {},
      rng: new Xoshiro128(7),
      now: () => this.now,
      wallNow: () => this.now + WALL_OFFSET_MS,
      transmit: (f) => {
        opts.onServerFrame?.(f);
        this.framesFromServer[f.nic]!++;
        if (f.tsoSegmentBytes > 0) this.tsoFramesFromServer[f.nic]!++;
        for (const frame of wireFrames(f)) {
          this.segmentsFromServer[f.nic]!++;
          this.#wire.push({ toServer: false, nic: f.nic, frame });
        }
      },
      hooks: { opened: (s) => this.opened.push(s), closed: (s) => this.closed.push(s) },
      ...(opts.memory !== undefined ? { memory: opts.memory } : {}),
      ...(opts.precomputeChecksums !== undefined ? { precomputeChecksums: opts.precomputeChecksums } : {}),
    };
    this.core = new CheetahCore(init);
    this.clients = new HttpTestClient({
      interfaces: CARDS.map((c) => c.client),
      servers: CARDS.map((c) => c.server),
      now: () => this.now,
      transmit: (f) => {
        this.framesFromClient[f.nic]!++;
        for (const frame of wireFrames(f)) this.#wire.push({ toServer: true, nic: f.nic, frame });
      },
      ...(opts.clientTcp !== undefined ? { config: opts.clientTcp } : {}),
    });
  }

  /** The client side's TCP stack. */
  get client(): TcpStack {
    return this.clients.stack;
  }

  /** Open a connection to the server on card `nic` and queue `request` (text or bytes) on it. */
  open(nic: number, request: string | Uint8Array = '', localPort?: number): ClientConnection {
    return this.clients.open(nic, request, localPort);
  }

  /** Send more request bytes on an open connection. */
  send(c: ClientConnection, request: string): void {
    this.clients.send(c, request);
  }

  /** Frames still on the wire. */
  get inFlight(): number {
    return this.#wire.length;
  }

  /** Inject a raw frame into the server on card `nic` (fuzzing). */
  inject(frame: Uint8Array, nic: number): void {
    this.core.batch(() => this.core.input(frame, nic));
  }

  /**
   * Deliver frames, run due timers and let document loads settle, until `done()` holds or the
   * clock has moved `limitMs`; the clock jumps to the next deadline when the wire is quiet.
   */
  async run(done: () => boolean, limitMs = 120_000): Promise<boolean> {
    const end = this.now + limitMs;
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (done()) return true;
      if (this.#wire.length > 0) {
        this.#deliver();
        continue;
      }
      // Document loads from a memory source settle within the turn awaited above.
      const next = Math.min(this.core.nextDeadline(), this.client.nextDeadline());
      if (next > end) return done();
      this.now = Math.max(this.now, Math.ceil(next));
      this.core.poll();
      if (this.client.nextDeadline() <= this.now) this.client.poll();
    }
  }

  #deliver(): void {
    const batch = this.#wire.splice(0);
    const toServer = batch.filter((f) => f.toServer);
    this.core.batch(() => {
      for (const f of toServer) if (this.#lose?.(true, f.frame) !== true) this.core.input(f.frame, f.nic);
    });
    this.client.batch(() => {
      for (const f of batch) if (!f.toServer && this.#lose?.(false, f.frame) !== true) this.client.input(f.frame, f.nic);
    });
  }
}
