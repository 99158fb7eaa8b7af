/**
 * A passive open: the (address, port) the stack accepts connections on, with its bound on
 * half-open connections (RFC 4987 §3.2 "SYN cache" bound) beyond which SYN cookies answer.
 */
import { ipv4ToString } from '../../wire/index.js';

export interface ListenOptions {
  /** Local address, or 0 for every interface's address. */
  addr: number;
  port: number;
  /** Half-open (SYN-RECEIVED) connections kept; default: the stack's `synBacklog`. */
  backlog?: number;
}

export class TcpListener {
  readonly addr: number;
  readonly port: number;
  readonly backlog: number;
  /** Connections in SYN-RECEIVED with state kept. */
  halfOpen = 0;
  /** Connections handed to the application. */
  accepted = 0;
  /** SYNs answered with a cookie because the backlog was full. */
  cookiesSent = 0;
  /** SYNs dropped: backlog full and cookies off, or the connection table full. */
  synDropped = 0;
  open = true;
  readonly #onClose: (l: TcpListener) => void;

  constructor(opts: ListenOptions, defaultBacklog: number, onClose: (l: TcpListener) => void) {
    this.addr = opts.addr >>> 0;
    this.port = opts.port;
    this.backlog = Math.max(1, Math.floor(opts.backlog ?? defaultBacklog));
    this.#onClose = onClose;
  }

  /** Stop accepting: new SYNs get RST; established connections are not affected. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.#onClose(this);
  }

  /** For the admin API. */
  describe(): { addr: string; port: number; backlog: number; halfOpen: number; accepted: number; cookiesSent: number; synDropped: number } {
    return {
      addr: ipv4ToString(this.addr),
      port: this.port,
      backlog: this.backlog,
      halfOpen: this.halfOpen,
      accepted: this.accepted,
      cookiesSent: this.cookiesSent,
      synDropped: this.synDropped,
    };
  }
}
