/**
 * The transmission control block (RFC 9293 §3.3.1) and the handle the application holds.
 *
 * `Tcb` is internal protocol state: plain numeric fields, all initialised in the constructor so
 * every TCB has one hidden class. `TcpConnection` is the application's view: methods and
 * read-only getters, no access to the protocol fields.
 */
import { ipv4ToString } from '../../wire/index.js';
import type { StackCore } from './core.js';
import type { TcpListener } from './listener.js';
import { RttEstimator } from './rtt.js';
import { RxBuffer } from './rx-buffer.js';
import { SendQueue, type RangeChecksums } from './send-queue.js';
import type { TimerOwner } from './timer-heap.js';
import { TCP_STATE_NAMES, TcpState, type CloseReason, type TcpConnectionStats } from './types.js';

let nextId = 1;

/** Result of an application call on a connection: 'invalid' for a bad argument. */
export type TcpCallResult = 'ok' | 'invalid-state' | 'invalid';

export class Tcb implements TimerOwner {
  readonly id = nextId++;
  readonly core: StackCore;
  readonly handle: TcpConnection;
  state: TcpState = TcpState.Closed;
  /** Came from LISTEN (a RST in SYN-RECEIVED then just drops it, MUST-11). */
  passive = false;
  listener: TcpListener | undefined = undefined;
  /** Built from a SYN cookie (no SYN-RECEIVED state was kept). */
  synCookie = false;
  /** The application has been given the handle (events may be delivered). */
  announced = false;

  nic = 0;
  localMac = 0;
  peerMac = 0;
  /** Active open waiting for ARP to resolve `peerMac`. */
  awaitingArp = false;
  localAddr = 0;
  localPort = 0;
  remoteAddr = 0;
  remotePort = 0;

  // Send sequence space (RFC 9293 §3.3.1). sndMax: highest sequence number sent + 1, which
  // sndNxt falls back from when a timeout rolls transmission back to sndUna.
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndMax = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  maxSndWnd = 0;
  /** Peer's window scale shift (0 without scaling). */
  sndScale = 0;
  /** Stream offset (data byte count from ISS + 1) of sndUna. */
  sndUnaOff = 0;

  // Receive sequence space. rcvAdv: right edge of the window we advertised (never moves back).
  irs = 0;
  rcvNxt = 0;
  rcvAdv = 0;
  rcvScale = 0;
  windowScaling = false;

  /** Effective send MSS: payload bytes per segment, option overhead taken out (RFC 6691). */
  mss = 536;
  /** MSS we announced (MTU − 40). */
  advMss = 536;

  tsEnabled = false;
  tsRecent = 0;
  tsOffset = 0;
  lastAckSent = 0;
  sackEnabled = false;

  // Congestion control (RFC 5681, RFC 6582).
  cwnd = 0;
  ssthresh = 0x7fffffff;
  dupAcks = 0;
  recover = 0;
  inRecovery = false;
  /** Bytes acknowledged in congestion avoidance since cwnd last grew. */
  caAcked = 0;
  lastSendAt = 0;

  /** Differentiated Services codepoint of every segment (RFC 2474); the application sets it (MUST-48). */
  dscp = 0;
  /** Nagle's algorithm on this connection (RFC 9293 §3.7.4); the application may switch it (MUST-17). */
  nagle: boolean;
  /** R2 of this connection (ms): data and zero-window give-up, and SYN give-up of an active open (MUST-20..23). */
  dataGiveUpMs: number;
  synGiveUpMs: number;

  rtt: RttEstimator;
  /** Karn: one segment timed at a time, never a retransmitted one. */
  rttTiming = false;
  rttSeq = 0;
  rttStartAt = 0;
  /** Our TSval when we last retransmitted (valid when `rtxTsSet`): older echoes give no sample. */
  rtxTsVal = 0;
  rtxTsSet = false;

  // Timers (absolute ms, Infinity = off) and the heap bookkeeping (TimerOwner).
  rtoAt = Infinity;
  delackAt = Infinity;
  finWait2At = Infinity;
  deadline = Infinity;
  heapIndex = -1;
  /** Consecutive timeouts of this episode and when the first one fired (R2 give-up). */
  timeoutCount = 0;
  firstTimeoutAt = 0;
  synRetransmits = 0;
  openedAt = 0;
  persisting = false;
  /** When the peer last sent an acceptable ACK (persist give-up, MUST-36). */
  lastAckRecvAt = 0;

  // ACK policy.
  ackPending = false;
  ackNow = false;
  fullSegmentsUnacked = 0;
  lastInvalidAckAt = -Infinity;

  // Close bookkeeping. finSeq: sequence number of our FIN once the application closed.
  finQueued = false;
  finSeq = 0;
  rcvFin = false;
  /** Sequence number right after an out-of-order segment that carried FIN, or −1. */
  oooFinEnd = -1;

  // Work the flush at the end of an input or timer pass must do.
  pendingOutput = false;
  readablePending = false;
  drainPending = false;
  closeReason: CloseReason | undefined = undefined;

  readonly rx: RxBuffer;
  readonly sq = new SendQueue();
  /** Ethernet + IPv4 + TCP header buffer (goes out by reference in every frame). */
  hdr: Uint8Array;
  /** Partial sums of the constant IPv4 header words and of the TCP pseudo-header addresses. */
  ipBaseSum = 0;
  pseudoBaseSum = 0;
  ipIdent = 0;

  bytesIn = 0;
  bytesOut = 0;
  segmentsIn = 0;
  segmentsOut = 0;
  retransmissions = 0;

  constructor(core: StackCore, hdr: Uint8Array) {
    this.core = core;
    this.hdr = hdr;
    const c = core.config;
    this.nagle = c.nagle;
    this.dataGiveUpMs = c.dataGiveUpMs;
    this.synGiveUpMs = c.synGiveUpMs;
    this.rtt = new RttEstimator(c.initialRtoMs, c.rtoMinMs, c.rtoMaxMs);
    this.rx = new RxBuffer(c.rcvBufBytes, c.reassemblyMaxRanges, core.allocRing);
    this.handle = new TcpConnection(this);
  }

  /** Sequence space in flight (sent, not acknowledged). */
  get flight(): number {
    return (this.sndNxt - this.sndUna) | 0;
  }
}

/**
 * A TCP connection as the application sees it. Calls are safe at any time, also from inside the
 * stack's event callbacks (output is then deferred to the end of the stack's current pass).
 * After `onClose` the handle stays valid but every call returns `invalid-state`.
 */
export class TcpConnection {
  readonly #tcb: Tcb;
  /** Application data slot (e.g. the HTTP request state). */
  user: unknown = undefined;

  constructor(tcb: Tcb) {
    this.#tcb = tcb;
  }

  /** Unique id (per stack instance lifetime). */
  get id(): number {
    return this.#tcb.id;
  }
  get state(): TcpState {
    return this.#tcb.state;
  }
  get stateName(): string {
    return TCP_STATE_NAMES[this.#tcb.state]!;
  }
  get localAddr(): number {
    return this.#tcb.localAddr;
  }
  get localPort(): number {
    return this.#tcb.localPort;
  }
  get remoteAddr(): number {
    return this.#tcb.remoteAddr;
  }
  get remotePort(): number {
    return this.#tcb.remotePort;
  }
  /** Card the connection runs on. */
  get nic(): number {
    return this.#tcb.nic;
  }
  /** Effective send MSS (payload bytes of a full segment, options taken out); 536 before the handshake. */
  get mss(): number {
    return this.#tcb.mss;
  }
  /** In-order bytes ready to read. */
  get readable(): number {
    return this.#tcb.rx.readable;
  }
  /** The peer sent FIN and every byte before it has been read. */
  get readEnded(): boolean {
    return this.#tcb.rcvFin && this.#tcb.rx.readable === 0;
  }
  /** Bytes queued by reference and not yet acknowledged (they must stay unchanged). */
  get unackedBytes(): number {
    return this.#tcb.sq.end - this.#tcb.sq.base;
  }
  /** The reason the connection ended, once it has. */
  get closeReason(): CloseReason | undefined {
    return this.#tcb.closeReason;
  }

  /**
   * Queue `buf[offset, offset + length)` for sending, by reference: the bytes are not copied
   * and must stay alive and unchanged until acknowledged ({@link unackedBytes} reaches the
   * amount queued after, or `onDrain`, or `onClose`). With `close: true` the FIN follows the
   * data (on its last segment when `mergeFin` is on). `checksums` are precomputed partial sums
   * of the range in MSS-sized chunks (see `precomputeChecksums`).
   */
  send(buf: Uint8Array, offset = 0, length = buf.length - offset, opts?: { close?: boolean; checksums?: RangeChecksums }): TcpCallResult {
    return this.#tcb.core.appSend(this.#tcb, buf, offset, length, opts?.checksums, opts?.close === true);
  }

  /** Copy up to `length` received bytes into `dst[offset…]`; returns the count (0 when none). */
  read(dst: Uint8Array, offset = 0, length = dst.length - offset): number {
    return this.#tcb.core.appRead(this.#tcb, dst, offset, length);
  }

  /** No more data from us: FIN after everything queued (half-close; reading continues). */
  close(): TcpCallResult {
    return this.#tcb.core.appClose(this.#tcb);
  }

  /** Reset the connection now (RST to the peer when synchronized) and free it. */
  abort(): TcpCallResult {
    return this.#tcb.core.appAbort(this.#tcb);
  }

  /**
   * Nagle's algorithm on this connection (RFC 9293 §3.7.4, MUST-17): when on, a segment smaller
   * than the MSS waits while earlier data is unacknowledged. Starts as the stack's `nagle`
   * setting; switching it off sends what it was holding.
   */
  setNagle(on: boolean): TcpCallResult {
    const t = this.#tcb;
    if (t.state === TcpState.Closed) return 'invalid-state';
    t.nagle = on;
    if (!on) t.core.kick(t);
    return 'ok';
  }

  /**
   * R2 of this connection (RFC 9293 MUST-21), in ms: how long unacknowledged data or an
   * unanswered zero-window probe, and during an active open the SYN, is retransmitted before the
   * connection ends with `onClose('timeout')`. Starts as the stack's `dataGiveUpMs` and
   * `synGiveUpMs`; any positive value is allowed here (Infinity: never), the stack-wide settings
   * keep the RFC's lower bounds. 'invalid' for anything but a positive number.
   */
  setGiveUpMs(ms: number): TcpCallResult {
    const t = this.#tcb;
    if (t.state === TcpState.Closed) return 'invalid-state';
    if (!(ms > 0)) return 'invalid';
    t.dataGiveUpMs = ms;
    t.synGiveUpMs = ms;
    return 'ok';
  }

  /**
   * The Differentiated Services codepoint (0–63, RFC 2474) of every segment this connection sends
   * from now on, RST included (RFC 9293 MUST-48); ECN stays 0. 'invalid' outside 0–63.
   */
  setDiffServ(dscp: number): TcpCallResult {
    const t = this.#tcb;
    if (t.state === TcpState.Closed) return 'invalid-state';
    if (!Number.isInteger(dscp) || dscp < 0 || dscp > 63) return 'invalid';
    t.core.appSetDiffServ(t, dscp);
    return 'ok';
  }

  /** A snapshot for the admin API. */
  stats(): TcpConnectionStats {
    const t = this.#tcb;
    return {
      id: t.id,
      state: TCP_STATE_NAMES[t.state]!,
      localAddr: ipv4ToString(t.localAddr),
      localPort: t.localPort,
      remoteAddr: ipv4ToString(t.remoteAddr),
      remotePort: t.remotePort,
      nic: t.nic,
      mss: t.mss,
      cwnd: t.cwnd,
      ssthresh: t.ssthresh,
      srttMs: t.rtt.srttMs,
      rttvarMs: t.rtt.rttvarMs,
      rtoMs: t.rtt.rtoMs,
      sndWnd: t.sndWnd,
      rcvWnd: Math.max(0, (t.rcvAdv - t.rcvNxt) | 0),
      bytesIn: t.bytesIn,
      bytesOut: t.bytesOut,
      segmentsIn: t.segmentsIn,
      segmentsOut: t.segmentsOut,
      retransmissions: t.retransmissions,
      unackedBytes: t.sq.end - t.sq.base,
      timestamps: t.tsEnabled,
      windowScaling: t.windowScaling,
      sack: t.sackEnabled,
      synCookie: t.synCookie,
      ageMs: t.core.io.now() - t.openedAt,
    };
  }
}
