/**
 * The shared machinery of one stack instance: configuration, tables, timers, scratch objects,
 * counters, the TCB life cycle, and the application calls. `TcpStack` (stack.ts) is the public
 * face; `input.ts` and `output.ts` are the protocol, operating on TCBs through this core.
 *
 * Deferred output: every entry point (a received frame, a timer pass, an application call from
 * outside a callback) runs as one *pass*. TCBs touched during the pass are marked pending and
 * flushed at its end: events first (so a reply the application produces inside `onReadable`
 * leaves in the same pass and carries the ACK — knowledge-based packet merging, facts §3.2
 * item 4), then output, then the ACK decision, then timers.
 */
import { ArpPacket, TcpRepr, type TcpSackRange } from '../../wire/index.js';
import type { TcpConfig } from './config.js';
import { ArpCache } from './arp-cache.js';
import type { SequenceSecrets } from './isn.js';
import type { TcpListener } from './listener.js';
import { HEADER_BUF_BYTES, output, prepareTcbHeader, sendAck, sendResetOnTcb, windowField } from './output.js';
import type { RangeChecksums } from './send-queue.js';
import { seqAdd, seqSub } from './seqnum.js';
import { Tcb, type TcpCallResult, type TcpConnection } from './tcb.js';
import { TimeWaitTable } from './time-wait.js';
import { TimerHeap } from './timer-heap.js';
import { TupleMap } from './tuple-map.js';
import { TxFrame } from './tx-frame.js';
import { TcpState, type CloseReason, type TcpInterface, type TcpIo, type TcpStackCounters } from './types.js';

/**
 * What the application hears from the stack. Callbacks run synchronously inside the stack's
 * pass; they may call any method of any connection (output is deferred to the end of the
 * pass). `onClose` is the last event of a connection.
 */
export interface TcpEvents {
  /** A passive open reached ESTABLISHED (its first data, if any, follows in `onReadable`). */
  onAccept?(conn: TcpConnection, listener: TcpListener): void;
  /** An active open reached ESTABLISHED. */
  onConnect?(conn: TcpConnection): void;
  /** New in-order data can be read, or the peer's FIN arrived (`readEnded`). */
  onReadable?(conn: TcpConnection): void;
  /** Every byte queued so far has been acknowledged (the ranges may be released). */
  onDrain?(conn: TcpConnection): void;
  /** The connection is gone; no further events. Also fires inside `abort()`. */
  onClose?(conn: TcpConnection, reason: CloseReason): void;
}

/** Drop reasons, each a counter in `counters.drops`. */
export const DROP_REASONS = [
  'truncated',
  'malformed',
  'etherType',
  'notForUs',
  'linkBroadcast',
  'ipChecksum',
  'martian',
  'fragment',
  'ipProtocol',
  'tcpChecksum',
  'arpUnsupported',
  'outOfWindow',
  'paws',
  'rstOutOfWindow',
  'rstInTimeWait',
  'rstToListener',
  'synSentBadAck',
  'ackUnsent',
  'ackTooOld',
  'noAck',
  'reassemblyLimit',
  'backlogFull',
  'connectionLimit',
  'listenerNoSyn',
  'timeWaitSegment',
  'dataAfterFin',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Free buffers kept for reuse; beyond this they are left to the garbage collector. */
const POOL_MAX = 256;

export class StackCore {
  readonly config: TcpConfig;
  readonly io: TcpIo;
  readonly interfaces: readonly TcpInterface[];
  readonly events: TcpEvents;
  readonly secrets: SequenceSecrets;
  readonly conns = new TupleMap<Tcb>();
  readonly timeWait: TimeWaitTable;
  /** Listeners by `addr · 65536 + port` (addr 0 = every address). */
  readonly listeners = new Map<number, TcpListener>();
  readonly arp: ArpCache;
  readonly arpWaiters: Tcb[] = [];
  readonly heap = new TimerHeap<Tcb>();
  readonly counters: TcpStackCounters;
  readonly frame = new TxFrame();
  /** Scratch for option emission and SACK blocks (one segment is built at a time). */
  readonly opts: TcpRepr = TcpRepr.create();
  readonly tsScratch = { tsVal: 0, tsEcr: 0 };
  readonly sackScratch: TcpSackRange[] = [];
  readonly scratchHdr: Uint8Array;
  readonly arpView = new ArpPacket();
  readonly allocRing: (bytes: number) => Uint8Array;
  readonly #allocHdr: (bytes: number) => Uint8Array;
  readonly #hdrPool: Uint8Array[] = [];
  readonly #ringPool: Uint8Array[] = [];
  #depth = 0;
  readonly #pending: Tcb[] = [];
  #ident = 0;

  constructor(config: TcpConfig, io: TcpIo, interfaces: readonly TcpInterface[], events: TcpEvents, secrets: SequenceSecrets) {
    this.config = config;
    this.io = io;
    this.interfaces = interfaces;
    this.events = events;
    this.secrets = secrets;
    this.timeWait = new TimeWaitTable(config.timeWaitMs, config.timeWaitMaxEntries);
    this.arp = new ArpCache(config.arpCacheMaxEntries, config.arpCacheTtlMs);
    const drops: Record<string, number> = {};
    for (const r of DROP_REASONS) drops[r] = 0;
    this.counters = {
      activeOpens: 0,
      passiveOpens: 0,
      connections: 0,
      established: 0,
      halfOpen: 0,
      timeWaitEntries: 0,
      timeWaitEvicted: 0,
      timeWaitReused: 0,
      segmentsIn: 0,
      segmentsOut: 0,
      tsoFrames: 0,
      retransmittedSegments: 0,
      timeouts: 0,
      fastRetransmits: 0,
      resetsSent: 0,
      resetsReceived: 0,
      challengeAcks: 0,
      invalidAcksSuppressed: 0,
      synCookiesSent: 0,
      synCookiesAccepted: 0,
      synCookiesRejected: 0,
      delayedAcks: 0,
      bytesIn: 0,
      bytesOut: 0,
      precomputedChecksums: 0,
      arpRequestsSent: 0,
      arpRepliesSent: 0,
      drops,
    };
    this.#allocHdr = io.alloc !== undefined ? (n) => io.alloc!(n) : (n) => new Uint8Array(n);
    this.scratchHdr = this.#allocHdr(HEADER_BUF_BYTES);
    const ringPool = this.#ringPool;
    const cap = config.rcvBufBytes;
    this.allocRing = (n) => (n === cap ? ringPool.pop() : undefined) ?? new Uint8Array(n);
  }

  /** Count a dropped frame or segment. */
  drop(reason: DropReason): void {
    this.counters.drops[reason]!++;
  }

  /** IPv4 Identification for stateless frames. */
  nextIdent(): number {
    this.#ident = (this.#ident + 1) & 0xffff;
    return this.#ident;
  }

  /** RFC 6928 initial window for an MSS: min(n·MSS, max(2·MSS, n·1460)). */
  initialWindow(mss: number): number {
    const n = this.config.initialWindowSegments;
    return Math.min(n * mss, Math.max(2 * mss, n * 1460));
  }

  // ---- passes ---------------------------------------------------------------------------

  /** Run `fn` as one pass: output of every TCB it touches is flushed at the end. */
  pass<R>(fn: () => R): R {
    this.enter();
    try {
      return fn();
    } finally {
      this.leave();
    }
  }

  /** Open a pass (hot paths use enter/leave in a try/finally instead of a closure). */
  enter(): void {
    this.#depth++;
  }

  /** Close a pass; the outermost one flushes. */
  leave(): void {
    if (--this.#depth === 0) this.#flush();
  }

  /** Mark `t` for the end-of-pass flush (or flush it now when no pass is running). */
  kick(t: Tcb): void {
    if (!t.pendingOutput) {
      t.pendingOutput = true;
      this.#pending.push(t);
    }
    if (this.#depth === 0) this.#flush();
  }

  #flush(): void {
    this.#depth++;
    try {
      const q = this.#pending;
      for (let i = 0; i < q.length; i++) {
        const t = q[i]!;
        t.pendingOutput = false;
        if (t.state !== TcpState.Closed) this.#finish(t);
      }
      q.length = 0;
    } finally {
      this.#depth--;
    }
  }

  /** End-of-pass work for one TCB: events, output, the ACK decision, TIME-WAIT, timers. */
  #finish(t: Tcb): void {
    const ev = this.events;
    // Without ACK merging, an immediate ACK leaves before the application can reply.
    if (!this.config.mergeAck && t.ackPending && t.ackNow) sendAck(this, t);
    if (t.readablePending) {
      t.readablePending = false;
      if (t.announced) ev.onReadable?.(t.handle);
      if (t.state === TcpState.Closed) return;
    }
    if (t.drainPending) {
      t.drainPending = false;
      if (t.announced) ev.onDrain?.(t.handle);
      if (t.state === TcpState.Closed) return;
    }
    output(this, t);
    if (t.ackPending) {
      // A window the application just reopened is worth an ACK now: with a small buffer the
      // sender would otherwise sit out a delayed-ACK timeout per window.
      if (t.ackNow || this.#windowUpdateDue(t)) sendAck(this, t);
      else if (t.delackAt === Infinity) t.delackAt = this.io.now() + this.config.delayedAckMs;
    } else if (this.#windowUpdateDue(t)) {
      sendAck(this, t);
    }
    if (t.state === TcpState.TimeWait) {
      this.toTimeWait(t);
      return;
    }
    this.schedule(t);
  }

  /** After the application read: tell the peer when the window at least doubled (as Linux). */
  #windowUpdateDue(t: Tcb): boolean {
    if (t.state < TcpState.Established || t.rcvFin) return false;
    const adv = Math.max(0, seqSub(t.rcvAdv, t.rcvNxt));
    const free = Math.min(t.rx.free, 0xffff << t.rcvScale);
    return free - adv >= Math.min(t.rx.capacity >>> 1, t.advMss) && free >= 2 * adv;
  }

  /** Put `t` at its earliest timer in the heap. */
  schedule(t: Tcb): void {
    const d = Math.min(t.rtoAt, t.delackAt, t.finWait2At);
    if (d !== t.deadline || (d !== Infinity && t.heapIndex < 0)) this.heap.update(t, d);
  }

  /**
   * Check the invariants of every table and TCB (smoltcp's `sanity!`, DPF's `dpf_check`): a
   * list of violations, empty when consistent. Cheap enough for tests to call after every
   * input; never called on the data path.
   */
  checkInvariants(): string[] {
    const bad: string[] = [];
    const halfOpen = new Map<TcpListener, number>();
    for (const t of this.conns.values()) {
      const id = `tcb ${t.id} (${t.state})`;
      if (t.state === TcpState.Closed || t.state === TcpState.Listen || t.state === TcpState.TimeWait) bad.push(`${id}: in the table in this state`);
      if (this.conns.get(t.localAddr, t.localPort, t.remoteAddr, t.remotePort) !== t) bad.push(`${id}: table key mismatch`);
      if (!(seqSub(t.sndNxt, t.sndUna) >= 0 && seqSub(t.sndMax, t.sndNxt) >= 0)) bad.push(`${id}: not SND.UNA ≤ SND.NXT ≤ SND.MAX`);
      const wnd = seqSub(t.rcvAdv, t.rcvNxt);
      if (t.state >= TcpState.Established && !(wnd >= 0 && wnd <= t.rx.free)) bad.push(`${id}: window ${wnd} outside 0..${t.rx.free}`);
      if (t.sndUnaOff > t.sq.end || t.sq.base > t.sq.end) bad.push(`${id}: send queue offsets`);
      if (!(t.cwnd >= 0 && t.mss > 0 && t.rtt.rtoMs >= this.config.rtoMinMs && t.rtt.rtoMs <= this.config.rtoMaxMs)) bad.push(`${id}: cwnd/mss/rto`);
      if (!t.pendingOutput) {
        const d = Math.min(t.rtoAt, t.delackAt, t.finWait2At);
        if (t.deadline !== d || (d === Infinity) !== (t.heapIndex < 0)) bad.push(`${id}: timer heap out of step`);
      }
      if (t.state === TcpState.SynReceived && t.listener !== undefined && !t.synCookie) halfOpen.set(t.listener, (halfOpen.get(t.listener) ?? 0) + 1);
    }
    for (const l of this.listeners.values()) {
      const n = halfOpen.get(l) ?? 0;
      if (l.halfOpen !== n || n > l.backlog) bad.push(`listener :${l.port}: halfOpen ${l.halfOpen}, counted ${n}, backlog ${l.backlog}`);
    }
    if (this.timeWait.size > this.config.timeWaitMaxEntries) bad.push('TIME-WAIT table over its bound');
    return bad;
  }

  // ---- TCB life cycle -------------------------------------------------------------------

  /** A TCB for a new connection on card `nic` (registered in the table by the caller). */
  newTcb(nic: number, localAddr: number, localPort: number, remoteAddr: number, remotePort: number): Tcb {
    const t = new Tcb(this, this.#hdrPool.pop() ?? this.#allocHdr(HEADER_BUF_BYTES));
    const itf = this.interfaces[nic]!;
    t.nic = nic;
    t.localMac = itf.mac;
    t.localAddr = localAddr;
    t.localPort = localPort;
    t.remoteAddr = remoteAddr;
    t.remotePort = remotePort;
    t.advMss = itf.mtuBytes - 40;
    t.openedAt = this.io.now();
    t.tsOffset = this.secrets.tsOffset(localAddr, remoteAddr);
    let scale = 0;
    while (scale < 14 && this.config.rcvBufBytes > 0xffff << scale) scale++;
    t.rcvScale = scale;
    this.conns.set(localAddr, localPort, remoteAddr, remotePort, t);
    this.counters.connections = this.conns.size;
    return t;
  }

  /** Free a TCB: out of every table, buffers back to the pools, `onClose` if announced. */
  freeTcb(t: Tcb, reason: CloseReason): void {
    if (t.state === TcpState.Closed) return;
    if (t.state === TcpState.SynReceived && t.listener !== undefined && !t.synCookie) t.listener.halfOpen--;
    t.state = TcpState.Closed;
    t.closeReason = reason;
    this.conns.delete(t.localAddr, t.localPort, t.remoteAddr, t.remotePort);
    this.counters.connections = this.conns.size;
    t.rtoAt = t.delackAt = t.finWait2At = Infinity;
    this.heap.update(t, Infinity);
    if (t.awaitingArp) {
      const i = this.arpWaiters.indexOf(t);
      if (i >= 0) this.arpWaiters.splice(i, 1);
    }
    const ring = t.rx.clear();
    if (ring !== undefined && this.#ringPool.length < POOL_MAX) this.#ringPool.push(ring);
    t.sq.clear();
    if (this.#hdrPool.length < POOL_MAX) this.#hdrPool.push(t.hdr);
    else this.io.free?.(t.hdr);
    t.hdr = this.scratchHdr;
    if (t.announced) this.events.onClose?.(t.handle, reason);
  }

  /** Move a connection that reached TIME-WAIT into the TIME-WAIT table and free its TCB. */
  toTimeWait(t: Tcb): void {
    this.timeWait.add(
      {
        localAddr: t.localAddr,
        localPort: t.localPort,
        remoteAddr: t.remoteAddr,
        remotePort: t.remotePort,
        nic: t.nic,
        peerMac: t.peerMac,
        sndNxt: t.sndNxt,
        rcvNxt: t.rcvNxt,
        windowField: windowField(t),
        tsEnabled: t.tsEnabled,
        tsRecent: t.tsRecent,
        tsOffset: t.tsOffset,
        expiresAt: 0,
        dead: false,
        lastAckAt: -Infinity,
      },
      this.io.now(),
    );
    this.counters.timeWaitEntries = this.timeWait.size;
    this.counters.timeWaitEvicted = this.timeWait.evicted;
    this.freeTcb(t, 'closed');
  }

  /** Become ESTABLISHED (or FIN-WAIT-1 when the application closed early) and announce. */
  establish(t: Tcb): void {
    const wasHalfOpen = t.state === TcpState.SynReceived && t.listener !== undefined && !t.synCookie;
    if (wasHalfOpen) t.listener!.halfOpen--;
    t.state = t.finQueued ? TcpState.FinWait1 : TcpState.Established;
    if (t.synRetransmits > 0) t.rtt.resetAfterSynRetransmit();
    t.cwnd = this.initialWindow(t.mss);
    t.announced = true;
    if (t.passive && t.listener !== undefined) {
      t.listener.accepted++;
      this.counters.passiveOpens++;
      this.events.onAccept?.(t.handle, t.listener);
    } else {
      this.counters.activeOpens++;
      this.events.onConnect?.(t.handle);
    }
  }

  // ---- application calls ----------------------------------------------------------------

  appSend(t: Tcb, buf: Uint8Array, offset: number, length: number, checksums: RangeChecksums | undefined, close: boolean): TcpCallResult {
    const st = t.state;
    if (t.finQueued || (st !== TcpState.Established && st !== TcpState.CloseWait && st !== TcpState.SynSent && st !== TcpState.SynReceived)) {
      return 'invalid-state';
    }
    const off = Math.max(0, Math.min(offset, buf.length));
    t.sq.push(buf, off, Math.max(0, Math.min(length, buf.length - off)), checksums);
    if (close) this.#queueFin(t);
    this.kick(t);
    return 'ok';
  }

  appRead(t: Tcb, dst: Uint8Array, offset: number, length: number): number {
    const n = t.rx.read(dst, Math.max(0, offset), Math.max(0, Math.min(length, dst.length - offset)));
    if (n > 0 && t.state !== TcpState.Closed) this.kick(t);
    return n;
  }

  appClose(t: Tcb): TcpCallResult {
    const st = t.state;
    if (t.finQueued) return 'ok';
    if (st !== TcpState.Established && st !== TcpState.CloseWait && st !== TcpState.SynSent && st !== TcpState.SynReceived) {
      return 'invalid-state';
    }
    this.#queueFin(t);
    this.kick(t);
    return 'ok';
  }

  /** Set the DSCP of a connection's header template (rewritten now unless ARP has not yet given the peer's MAC). */
  appSetDiffServ(t: Tcb, dscp: number): void {
    t.dscp = dscp;
    if (!t.awaitingArp) prepareTcbHeader(this, t);
  }

  appAbort(t: Tcb): TcpCallResult {
    if (t.state === TcpState.Closed) return 'invalid-state';
    this.pass(() => {
      if (t.state !== TcpState.SynSent && !t.awaitingArp) sendResetOnTcb(this, t);
      this.freeTcb(t, 'aborted');
    });
    return 'ok';
  }

  /**
   * The application will send nothing more: our FIN takes the sequence number after the last
   * queued byte. ESTABLISHED → FIN-WAIT-1, CLOSE-WAIT → LAST-ACK (RFC 9293 §3.10.4); during the
   * handshake the FIN waits for ESTABLISHED.
   */
  #queueFin(t: Tcb): void {
    t.finQueued = true;
    t.finSeq = seqAdd(t.iss, 1 + t.sq.end);
    if (t.state === TcpState.Established) t.state = TcpState.FinWait1;
    else if (t.state === TcpState.CloseWait) t.state = TcpState.LastAck;
  }
}
