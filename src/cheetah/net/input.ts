/**
 * Receiving: what happens when a segment arrives, by state.
 *
 * Read first: RFC 9293 §3.10.7 (SEGMENT ARRIVES, in the order the steps are taken here),
 * §3.4 (acceptability), §3.8.6.3 (ACK generation, MUST-58/59, delayed ACK MUST-40);
 * RFC 5961 §3–5 (blind RST, SYN and data injection: exact-RST rule and challenge ACKs);
 * RFC 7323 §5 (PAWS, TS.Recent); RFC 5681 §3.2 and RFC 6582 (fast retransmit, NewReno);
 * RFC 6298 §5 (the timer), §3 (Karn); RFC 4987 §3.6 (SYN cookies); RFC 6191 (TIME-WAIT reuse);
 * RFC 1337 (RST in TIME-WAIT).
 *
 * Call chain: `TcpStack.input` → demux → `segmentArrives` (a TCB) | `timeWaitInput` |
 * `listenInput` | (no match) `sendResetFor`. Each only changes state and marks the TCB; the
 * end-of-pass flush (core.ts) delivers events, sends, and decides the ACK.
 */
import type { TcpRepr } from '../../wire/index.js';
import { TcpFlag } from '../../wire/index.js';
import type { StackCore } from './core.js';
import type { TcpListener } from './listener.js';
import {
  finAcked,
  output,
  prepareTcbHeader,
  retransmitFirst,
  sendAck,
  sendArpRequest,
  sendInvalidAck,
  sendResetFor,
  sendStateless,
  sendWindowProbe,
  tsNow,
} from './output.js';
import { seqAdd, seqGe, seqGt, seqInWindow, seqLe, seqLt, seqSub } from './seqnum.js';
import type { Tcb } from './tcb.js';
import type { TimeWaitEntry } from './time-wait.js';
import { TcpState } from './types.js';

/** Smallest MSS we accept from a peer: below it a peer could make us send a frame per byte (cf. CVE-2019-11479). */
const MIN_PEER_MSS = 64;
/** MSS assumed when a SYN carries none (RFC 9293 MUST-15, IPv4). */
const DEFAULT_PEER_MSS = 536;
/** Bytes the timestamps option adds to every segment (NOP NOP TS). */
const TS_OPTION_BYTES = 12;

/** Take the peer's SYN options (RFC 9293 §3.7.1, RFC 7323 §2.2/§3.2, RFC 2018 §2). */
function negotiate(core: StackCore, t: Tcb, seg: TcpRepr): void {
  const c = core.config;
  const peerMss = Math.max(MIN_PEER_MSS, seg.maxSegSize ?? DEFAULT_PEER_MSS);
  t.windowScaling = c.windowScaling && seg.windowScale !== undefined;
  t.sndScale = t.windowScaling ? seg.windowScale! : 0;
  if (!t.windowScaling) t.rcvScale = 0;
  t.tsEnabled = c.timestamps && seg.timestamp !== undefined;
  if (t.tsEnabled) t.tsRecent = seg.timestamp!.tsVal;
  t.sackEnabled = c.sack && seg.sackPermitted;
  t.mss = Math.min(peerMss, t.advMss) - (t.tsEnabled ? TS_OPTION_BYTES : 0);
}

// ---- LISTEN --------------------------------------------------------------------------

/**
 * A segment for a listener with no connection (RFC 9293 §3.10.7.2): RST is ignored; an ACK is
 * either a valid SYN-cookie third step or answered with RST; a SYN opens a half-open connection
 * while the backlog has room, else is answered with a cookie (or dropped with cookies off).
 */
export function listenInput(
  core: StackCore,
  l: TcpListener,
  seg: TcpRepr,
  nic: number,
  remoteAddr: number,
  localAddr: number,
  peerMac: number,
  isnOverride?: number,
): void {
  const c = core.config;
  if (seg.control === 'rst') {
    core.drop('rstToListener');
    return;
  }
  if (seg.ackNumber !== undefined) {
    // Only ACK, ACK|PSH, ACK|FIN complete a cookie handshake; ACK|SYN and ACK|RST never do.
    if (c.synCookies && (seg.control === 'none' || seg.control === 'fin') && cookieAck(core, l, seg, nic, remoteAddr, localAddr, peerMac)) return;
    sendResetFor(core, nic, peerMac, localAddr, seg.dstPort, remoteAddr, seg.srcPort, seg.seqNumber, seg.ackNumber, 0);
    return;
  }
  if (seg.control !== 'syn') {
    core.drop('listenerNoSyn');
    return;
  }
  if (l.halfOpen < l.backlog && core.conns.size < c.maxConnections) {
    const t = core.newTcb(nic, localAddr, seg.dstPort, remoteAddr, seg.srcPort);
    t.peerMac = peerMac;
    prepareTcbHeader(core, t);
    t.passive = true;
    t.listener = l;
    t.state = TcpState.SynReceived;
    l.halfOpen++;
    t.irs = seg.seqNumber;
    t.rcvNxt = seqAdd(t.irs, 1);
    t.iss = isnOverride ?? core.secrets.isn(core.io.now(), localAddr, seg.dstPort, remoteAddr, seg.srcPort);
    t.sndUna = t.sndNxt = t.sndMax = t.recover = t.iss;
    negotiate(core, t, seg);
    t.sndWnd = t.maxSndWnd = seg.windowLen;
    t.sndWl1 = seg.seqNumber;
    core.arp.learn(remoteAddr, peerMac, nic, core.io.now());
    core.kick(t);
    return;
  }
  if (!c.synCookies) {
    l.synDropped++;
    core.drop(core.conns.size >= c.maxConnections ? 'connectionLimit' : 'backlogFull');
    return;
  }
  sendCookieSynAck(core, l, seg, nic, remoteAddr, localAddr, peerMac);
}

/** Answer a SYN statelessly with a SYN cookie (RFC 4987 §3.6). */
function sendCookieSynAck(core: StackCore, l: TcpListener, seg: TcpRepr, nic: number, remoteAddr: number, localAddr: number, peerMac: number): void {
  const c = core.config;
  const tsOn = c.timestamps && seg.timestamp !== undefined;
  // Window scale and SACK survive only inside the timestamp, so without it neither is offered.
  const peer = {
    mss: Math.max(MIN_PEER_MSS, seg.maxSegSize ?? DEFAULT_PEER_MSS),
    windowScale: tsOn && c.windowScaling ? seg.windowScale : undefined,
    sackPermitted: tsOn && c.sack && seg.sackPermitted,
  };
  const tsOffset = core.secrets.tsOffset(localAddr, remoteAddr);
  const { isn, tsVal } = core.secrets.makeCookie(core.io.now(), tsNow(core, tsOffset), peer, localAddr, seg.dstPort, remoteAddr, seg.srcPort, seg.seqNumber);
  const o = core.opts;
  o.maxSegSize = core.interfaces[nic]!.mtuBytes - 40;
  o.windowScale = peer.windowScale !== undefined ? rcvScaleFor(c.rcvBufBytes) : undefined;
  o.sackPermitted = peer.sackPermitted;
  o.sackRanges.length = 0;
  if (tsOn) {
    core.tsScratch.tsVal = tsVal;
    core.tsScratch.tsEcr = seg.timestamp!.tsVal;
    o.timestamp = core.tsScratch;
  } else {
    o.timestamp = undefined;
  }
  l.cookiesSent++;
  core.counters.synCookiesSent++;
  sendStateless(core, nic, peerMac, localAddr, remoteAddr, seg.dstPort, seg.srcPort, isn, seqAdd(seg.seqNumber, 1), TcpFlag.Syn | TcpFlag.Ack, Math.min(c.rcvBufBytes, 0xffff));
}

/** Our window scale shift for a receive buffer: the smallest that fits it in 16 bits. */
function rcvScaleFor(bufBytes: number): number {
  let s = 0;
  while (s < 14 && bufBytes > 0xffff << s) s++;
  return s;
}

/** Try `seg` as the third step of a cookie handshake; true when it created the connection. */
function cookieAck(core: StackCore, l: TcpListener, seg: TcpRepr, nic: number, remoteAddr: number, localAddr: number, peerMac: number): boolean {
  const now = core.io.now();
  const iss = seqAdd(seg.ackNumber!, -1);
  const opts = core.secrets.checkCookie(now, iss, seg.timestamp?.tsEcr, localAddr, seg.dstPort, remoteAddr, seg.srcPort, seqAdd(seg.seqNumber, -1));
  if (opts === undefined) {
    core.counters.synCookiesRejected++;
    return false;
  }
  if (core.conns.size >= core.config.maxConnections) {
    core.drop('connectionLimit');
    return true;
  }
  core.counters.synCookiesAccepted++;
  const t = core.newTcb(nic, localAddr, seg.dstPort, remoteAddr, seg.srcPort);
  t.peerMac = peerMac;
  prepareTcbHeader(core, t);
  t.passive = true;
  t.listener = l;
  t.synCookie = true;
  t.state = TcpState.SynReceived;
  t.iss = iss;
  t.sndUna = t.recover = iss;
  t.sndNxt = t.sndMax = seqAdd(iss, 1);
  t.irs = seqAdd(seg.seqNumber, -1);
  t.rcvNxt = seg.seqNumber;
  t.windowScaling = opts.windowScale !== undefined;
  t.sndScale = opts.windowScale ?? 0;
  if (!t.windowScaling) t.rcvScale = 0;
  t.tsEnabled = seg.timestamp !== undefined && core.config.timestamps;
  if (t.tsEnabled) t.tsRecent = seg.timestamp!.tsVal;
  t.sackEnabled = opts.sackPermitted;
  t.mss = Math.min(opts.mss, t.advMss) - (t.tsEnabled ? TS_OPTION_BYTES : 0);
  t.rcvAdv = seqAdd(t.rcvNxt, Math.min(core.config.rcvBufBytes, 0xffff));
  t.sndWl1 = seg.seqNumber;
  core.arp.learn(remoteAddr, peerMac, nic, now);
  segmentArrives(core, t, seg);
  return true;
}

// ---- TIME-WAIT -----------------------------------------------------------------------

/**
 * A segment for a 4-tuple in TIME-WAIT. RST is ignored (RFC 1337: no TIME-WAIT assassination;
 * Linux's default closes instead). A new SYN is accepted when its timestamp, or without
 * timestamps its sequence number, is newer than anything of the old connection (RFC 6191, RFC
 * 9293 MAY-2); the new ISN then starts well past the old SND.NXT. A retransmitted FIN is
 * ACKed again and restarts the 2·MSL timer; anything else unexpected gets an ACK at most once
 * per `invalidAckIntervalMs`.
 */
export function timeWaitInput(core: StackCore, tw: TimeWaitEntry, seg: TcpRepr, nic: number, peerMac: number, l: TcpListener | undefined): void {
  if (seg.control === 'rst') {
    core.drop('rstInTimeWait');
    return;
  }
  const now = core.io.now();
  if (seg.control === 'syn' && seg.ackNumber === undefined) {
    const newer =
      tw.tsEnabled && seg.timestamp !== undefined ? seqGt(seg.timestamp.tsVal, tw.tsRecent) : seqGt(seg.seqNumber, tw.rcvNxt);
    if (newer && l !== undefined && l.open) {
      core.timeWait.remove(tw);
      core.counters.timeWaitEntries = core.timeWait.size;
      core.counters.timeWaitReused++;
      listenInput(core, l, seg, nic, tw.remoteAddr, tw.localAddr, peerMac, seqAdd(tw.sndNxt, 65_535 + 2));
      return;
    }
  } else if (seg.control === 'fin') {
    core.timeWait.restart(tw, now);
    tw.lastAckAt = -Infinity;
  } else if (seg.payload.length === 0) {
    core.drop('timeWaitSegment');
    return;
  }
  if (now - tw.lastAckAt < core.config.invalidAckIntervalMs) {
    core.counters.invalidAcksSuppressed++;
    return;
  }
  tw.lastAckAt = now;
  const o = core.opts;
  o.maxSegSize = undefined;
  o.windowScale = undefined;
  o.sackPermitted = false;
  o.sackRanges.length = 0;
  if (tw.tsEnabled) {
    core.tsScratch.tsVal = tsNow(core, tw.tsOffset);
    core.tsScratch.tsEcr = tw.tsRecent;
    o.timestamp = core.tsScratch;
  } else {
    o.timestamp = undefined;
  }
  sendStateless(core, tw.nic, tw.peerMac, tw.localAddr, tw.remoteAddr, tw.localPort, tw.remotePort, tw.sndNxt, tw.rcvNxt, TcpFlag.Ack, tw.windowField);
}

// ---- connections ---------------------------------------------------------------------

/** A segment for an existing connection (RFC 9293 §3.10.7.3–3.10.7.4). */
export function segmentArrives(core: StackCore, t: Tcb, seg: TcpRepr): void {
  t.segmentsIn++;
  if (t.state === TcpState.SynSent) synSentInput(core, t, seg);
  else otherStatesInput(core, t, seg);
  if (t.state !== TcpState.Closed) core.kick(t);
}

function synSentInput(core: StackCore, t: Tcb, seg: TcpRepr): void {
  const ack = seg.ackNumber;
  // First: an ACK for something we never sent is answered with RST (unless it is one).
  if (ack !== undefined && (seqLe(ack, t.iss) || seqGt(ack, t.sndMax))) {
    if (seg.control !== 'rst') sendResetFor(core, t.nic, t.peerMac, t.localAddr, t.localPort, t.remoteAddr, t.remotePort, seg.seqNumber, ack, 0);
    core.drop('synSentBadAck');
    return;
  }
  // Second: RST counts only with an acceptable ACK.
  if (seg.control === 'rst') {
    if (ack !== undefined) {
      core.counters.resetsReceived++;
      core.freeTcb(t, 'refused');
    } else {
      core.drop('rstOutOfWindow');
    }
    return;
  }
  if (seg.control !== 'syn') {
    core.drop('noAck');
    return;
  }
  t.irs = seg.seqNumber;
  t.rcvNxt = seqAdd(t.irs, 1);
  negotiate(core, t, seg);
  if (ack === undefined) {
    // Simultaneous open (MUST-10): SYN-RECEIVED, answer SYN,ACK with our same ISS.
    t.state = TcpState.SynReceived;
    t.sndNxt = t.iss;
    t.sndWnd = t.maxSndWnd = seg.windowLen;
    t.sndWl1 = seg.seqNumber;
    output(core, t);
    return;
  }
  t.rcvAdv = seqAdd(t.rcvNxt, Math.min(t.rx.capacity, 0xffff));
  // The window of a SYN is never scaled (RFC 7323 §2.2).
  t.sndWnd = t.maxSndWnd = seg.windowLen;
  t.sndWl1 = seg.seqNumber;
  t.sndWl2 = ack;
  rttSample(core, t, seg, ack);
  t.sndUna = ack;
  t.rtoAt = Infinity;
  core.establish(t);
  if (t.state === TcpState.Closed) return;
  t.ackPending = true;
  t.ackNow = true;
  if (seg.payload.length > 0) receiveText(core, t, seg, seqAdd(seg.seqNumber, 1));
}

/**
 * Take an RTT sample from an ACK of new data: the echoed timestamp (RFC 7323 §4), else the timed
 * segment (Karn, RFC 6298 §3). An echo older than our last retransmission is skipped: it means
 * the ACK of the original was lost, and the sample would include the whole timeout — Karn's
 * ambiguity, which timestamps remove only for echoes of the retransmission itself.
 */
function rttSample(core: StackCore, t: Tcb, seg: TcpRepr, ack: number): void {
  const ts = seg.timestamp;
  if (t.tsEnabled && ts !== undefined && ts.tsEcr !== 0) {
    const r = seqSub(tsNow(core, t.tsOffset), ts.tsEcr);
    if (r >= 0 && r < 3_600_000 && !(t.rtxTsSet && seqLt(ts.tsEcr, t.rtxTsVal))) t.rtt.sample(r);
    t.rttTiming = false;
  } else if (t.rttTiming && seqGe(ack, t.rttSeq)) {
    t.rttTiming = false;
    t.rtt.sample(core.io.now() - t.rttStartAt);
  }
}

function otherStatesInput(core: StackCore, t: Tcb, seg: TcpRepr): void {
  const st = t.state;
  // A retransmitted SYN in SYN-RECEIVED: our SYN,ACK was lost; send it again.
  if (st === TcpState.SynReceived && seg.control === 'syn' && seg.ackNumber === undefined && seg.seqNumber === t.irs) {
    t.sndNxt = t.iss;
    output(core, t);
    return;
  }
  const ts = seg.timestamp;
  // PAWS (RFC 7323 §5.3 R1): an older timestamp than TS.Recent marks an old duplicate.
  if (t.tsEnabled && ts !== undefined && seg.control !== 'rst' && seqLt(ts.tsVal, t.tsRecent)) {
    core.drop('paws');
    sendInvalidAck(core, t, false);
    return;
  }

  // First: sequence number (RFC 9293 §3.10.7.4, the four-case acceptability table).
  const payLen = seg.payload.length;
  const segLen = payLen + (seg.control === 'syn' || seg.control === 'fin' ? 1 : 0);
  const wnd = Math.max(0, seqSub(t.rcvAdv, t.rcvNxt));
  const seq = seg.seqNumber;
  let acceptable: boolean;
  if (segLen === 0) acceptable = wnd === 0 ? seq === t.rcvNxt : seqInWindow(seq, t.rcvNxt, wnd);
  else acceptable = wnd > 0 && (seqInWindow(seq, t.rcvNxt, wnd) || seqInWindow(seqAdd(seq, segLen - 1), t.rcvNxt, wnd));
  // A zero window still takes the ACK and RST of a segment at RCV.NXT (MUST-66); its text is dropped.
  const zeroWindowEdge = !acceptable && wnd === 0 && seq === t.rcvNxt;
  if (!acceptable && !zeroWindowEdge) {
    if (seg.control === 'rst') {
      core.drop('rstOutOfWindow');
      return;
    }
    core.drop('outOfWindow');
    // Old data or FIN means our ACK was lost: answer at once. Bare segments (which could be
    // ACKs of ACKs) are rate-limited, as Linux's tcp_oow_rate_limited does.
    if (segLen > 0 && seg.control !== 'syn') {
      t.ackPending = true;
      t.ackNow = true;
    } else {
      sendInvalidAck(core, t, false);
    }
    return;
  }

  // Second: RST (RFC 5961 §3.2: only the exact RCV.NXT resets; in window, a challenge ACK).
  if (seg.control === 'rst') {
    if (seq !== t.rcvNxt) {
      sendInvalidAck(core, t, true);
      return;
    }
    core.counters.resetsReceived++;
    // MUST-11: from a passive open, a reset half-open connection just goes back to LISTEN.
    if (st === TcpState.SynReceived) core.freeTcb(t, t.passive ? 'reset' : 'refused');
    else core.freeTcb(t, 'reset');
    return;
  }

  // Fourth: SYN in a synchronized state (RFC 5961 §4: challenge ACK, whatever its sequence).
  if (seg.control === 'syn') {
    sendInvalidAck(core, t, true);
    return;
  }

  // FIN-WAIT-2's timeout is an idle timeout: a peer still sending keeps the connection.
  if (st === TcpState.FinWait2) t.finWait2At = core.io.now() + core.config.finWait2TimeoutMs;

  // Record the timestamp (RFC 7323 §5.3 R3).
  if (t.tsEnabled && ts !== undefined && seqGe(ts.tsVal, t.tsRecent) && seqLe(seq, t.lastAckSent)) t.tsRecent = ts.tsVal;

  // Fifth: ACK.
  const ack = seg.ackNumber;
  if (ack === undefined) {
    core.drop('noAck');
    return;
  }
  if (st === TcpState.SynReceived) {
    if (!(seqGt(ack, t.sndUna) && seqLe(ack, t.sndMax))) {
      sendResetFor(core, t.nic, t.peerMac, t.localAddr, t.localPort, t.remoteAddr, t.remotePort, seq, ack, 0);
      return;
    }
    t.sndWnd = seg.windowLen << t.sndScale;
    t.maxSndWnd = Math.max(t.maxSndWnd, t.sndWnd);
    t.sndWl1 = seq;
    t.sndWl2 = ack;
    core.establish(t);
    if (t.state === TcpState.Closed) return;
  }
  if (seqGt(ack, t.sndMax)) {
    // Acknowledges something never sent (RFC 9293; RFC 5961 §5.2).
    core.drop('ackUnsent');
    sendInvalidAck(core, t, true);
    return;
  }
  if (seqLt(ack, seqAdd(t.sndUna, -t.maxSndWnd))) {
    core.drop('ackTooOld');
    sendInvalidAck(core, t, true);
    return;
  }
  if (!processAck(core, t, seg, ack)) return;

  // Seventh and eighth: text and FIN.
  if (zeroWindowEdge) {
    if (segLen > 0) {
      t.ackPending = true;
      t.ackNow = true;
    }
    return;
  }
  receiveText(core, t, seg, seq);
}

/**
 * The ACK field of an acceptable segment in a synchronized state: advance SND.UNA, release
 * acknowledged ranges, take an RTT sample, grow or cut cwnd (RFC 5681, NewReno RFC 6582),
 * manage the timer (RFC 6298 §5.2/5.3), update the send window (SND.WL1/WL2), and follow our
 * FIN being acknowledged. Returns false when the TCB was freed (LAST-ACK done).
 */
function processAck(core: StackCore, t: Tcb, seg: TcpRepr, ack: number): boolean {
  const now = core.io.now();
  const acked = seqSub(ack, t.sndUna);
  const newWnd = seg.windowLen << t.sndScale;
  // Any acceptable ACK shows the peer alive: a zero window may last forever (MUST-36).
  t.lastAckRecvAt = now;
  if (acked > 0) {
    rttSample(core, t, seg, ack);
    let dataAcked = acked;
    if (t.sndUna === t.iss) dataAcked--;
    const ourFinAcked = finAcked(t, ack) && !finAcked(t, t.sndUna);
    if (ourFinAcked) dataAcked--;
    t.sndUnaOff += dataAcked;
    t.sq.release(t.sndUnaOff);
    t.sndUna = ack;
    if (seqGt(ack, t.sndNxt)) t.sndNxt = ack;
    if (t.inRecovery) {
      if (seqGe(ack, t.recover)) {
        // Full ACK: leave recovery with cwnd = min(ssthresh, FlightSize + MSS) (RFC 6582 §3.2 step 3).
        t.cwnd = Math.min(t.ssthresh, Math.max(seqSub(t.sndMax, t.sndUna), t.mss) + t.mss);
        t.inRecovery = false;
        t.dupAcks = 0;
      } else {
        // Partial ACK: retransmit the next hole, deflate by what was acked, add back one MSS.
        retransmitFirst(core, t);
        t.cwnd = Math.max(t.mss, t.cwnd - dataAcked + (dataAcked >= t.mss ? t.mss : 0));
      }
    } else {
      t.dupAcks = 0;
      if (t.cwnd < t.ssthresh) {
        t.cwnd += Math.min(dataAcked, t.mss);
      } else {
        t.caAcked += dataAcked;
        if (t.caAcked >= t.cwnd) {
          t.caAcked -= t.cwnd;
          t.cwnd += t.mss;
        }
      }
    }
    t.timeoutCount = 0;
    t.persisting = false;
    t.rtoAt = t.sndUna === t.sndMax ? Infinity : now + t.rtt.rtoMs;
    if (dataAcked > 0 && t.sq.base === t.sq.end) t.drainPending = true;
    if (ourFinAcked) {
      if (t.state === TcpState.FinWait1) {
        t.state = TcpState.FinWait2;
        t.finWait2At = now + core.config.finWait2TimeoutMs;
      } else if (t.state === TcpState.Closing) {
        t.state = TcpState.TimeWait;
      } else if (t.state === TcpState.LastAck) {
        core.freeTcb(t, 'closed');
        return false;
      }
    }
  } else if (acked === 0 && seg.payload.length === 0 && seg.control === 'none' && newWnd === t.sndWnd && t.sndMax !== t.sndUna && !t.persisting) {
    // A duplicate ACK (RFC 5681 §2 definition); answers to window probes are not.
    t.dupAcks++;
    if (t.inRecovery) {
      t.cwnd += t.mss;
    } else if (t.dupAcks === 3 && seqGt(ack, t.recover)) {
      t.ssthresh = Math.max(seqSub(t.sndMax, t.sndUna) >>> 1, 2 * t.mss);
      t.recover = t.sndMax;
      t.inRecovery = true;
      core.counters.fastRetransmits++;
      retransmitFirst(core, t);
      t.cwnd = t.ssthresh + 3 * t.mss;
    }
  }
  // Window update (RFC 9293 §3.10.7.4): only from a segment newer than the last one used.
  if (seqLt(t.sndWl1, seg.seqNumber) || (t.sndWl1 === seg.seqNumber && seqLe(t.sndWl2, ack))) {
    t.sndWnd = newWnd;
    t.sndWl1 = seg.seqNumber;
    t.sndWl2 = ack;
    if (newWnd > t.maxSndWnd) t.maxSndWnd = newWnd;
    if (newWnd > 0 && t.persisting) {
      t.persisting = false;
      if (t.sndUna === t.sndMax) t.rtoAt = Infinity;
    }
  }
  return true;
}

/**
 * Segment text and FIN (RFC 9293 §3.10.7.4 seventh/eighth): trim to the window, place the data
 * (out-of-order data in its final ring position, bounded by the range limit), advance RCV.NXT,
 * decide the ACK (every second full segment and anything out of order at once, else delayed),
 * and process a FIN that has become in-order.
 */
function receiveText(core: StackCore, t: Tcb, seg: TcpRepr, dataSeq: number): void {
  const pay = seg.payload;
  let seq = dataSeq;
  let off = 0;
  let len = pay.length;
  let fin = seg.control === 'fin';
  const before = seqSub(t.rcvNxt, seq);
  if (before > 0) {
    const cut = Math.min(before, len);
    off += cut;
    len -= cut;
    seq = seqAdd(seq, cut);
    // A FIN before RCV.NXT was processed already: only the ACK matters.
    if (before > pay.length) fin = false;
  }
  const room = seqSub(t.rcvAdv, seq);
  if (len > room) {
    len = Math.max(0, room);
    fin = false;
  }
  const st = t.state;
  if (len > 0) {
    if (st !== TcpState.Established && st !== TcpState.FinWait1 && st !== TcpState.FinWait2) {
      // Data after the peer's FIN: nothing can take it (RFC 9293: "ignore the segment text").
      core.drop('dataAfterFin');
      return;
    }
    const rel = seqSub(seq, t.rcvNxt);
    const hadOoo = t.rx.oooRanges > 0;
    const adv = t.rx.write(rel, pay, off, len);
    t.ackPending = true;
    if (adv < 0) {
      core.drop('reassemblyLimit');
      t.ackNow = true;
      return;
    }
    if (adv === 0) {
      // Out of order: duplicate ACK at once, with SACK blocks (RFC 5681 §4.2, RFC 2018 §4).
      t.ackNow = true;
      if (fin) t.oooFinEnd = seqAdd(seq, len);
      return;
    }
    t.rcvNxt = seqAdd(t.rcvNxt, adv);
    t.bytesIn += adv;
    core.counters.bytesIn += adv;
    t.readablePending = true;
    if (hadOoo || !core.config.mergeAck) t.ackNow = true;
    else if (len >= t.advMss - (t.tsEnabled ? TS_OPTION_BYTES : 0) && ++t.fullSegmentsUnacked >= 2) t.ackNow = true;
    if (t.oooFinEnd !== -1 && t.rcvNxt === t.oooFinEnd) fin = true;
    else if (fin && seqAdd(seq, len) !== t.rcvNxt) fin = false;
  } else if (fin && seq !== t.rcvNxt) {
    return;
  }
  if (fin) processFin(t);
}

/** The peer's FIN became in-order (RFC 9293 §3.10.7.4 eighth). */
function processFin(t: Tcb): void {
  t.rcvNxt = seqAdd(t.rcvNxt, 1);
  t.rcvFin = true;
  t.oooFinEnd = -1;
  t.ackPending = true;
  t.ackNow = true;
  t.readablePending = true;
  switch (t.state) {
    case TcpState.Established:
      t.state = TcpState.CloseWait;
      break;
    case TcpState.FinWait1:
      t.state = finAcked(t, t.sndUna) ? TcpState.TimeWait : TcpState.Closing;
      break;
    case TcpState.FinWait2:
      t.state = TcpState.TimeWait;
      t.finWait2At = Infinity;
      break;
    default:
      break;
  }
}

// ---- timers --------------------------------------------------------------------------

/** Run the timers of `t` that are due at `now` (called inside a pass). */
export function runTimers(core: StackCore, t: Tcb, now: number): void {
  if (t.delackAt <= now) {
    t.delackAt = Infinity;
    if (t.ackPending) {
      core.counters.delayedAcks++;
      sendAck(core, t);
    }
  }
  if (t.finWait2At <= now) {
    t.finWait2At = Infinity;
    if (t.state === TcpState.FinWait2) {
      core.freeTcb(t, 'timeout');
      return;
    }
  }
  if (t.rtoAt <= now) {
    t.rtoAt = Infinity;
    onRetransmitTimeout(core, t, now);
  }
  if (t.state !== TcpState.Closed) core.kick(t);
}

/** The retransmission (or persist) timer fired (RFC 6298 §5.4–5.7, RFC 5681 §3.1, RFC 9293 MUST-20/23). */
function onRetransmitTimeout(core: StackCore, t: Tcb, now: number): void {
  const c = core.config;
  const st = t.state;
  if (st === TcpState.SynSent || st === TcpState.SynReceived) {
    const giveUp = st === TcpState.SynSent ? now - t.openedAt >= t.synGiveUpMs : t.synRetransmits >= c.synAckRetries;
    if (giveUp) {
      core.counters.timeouts++;
      core.freeTcb(t, t.awaitingArp ? 'unreachable' : 'timeout');
      return;
    }
    t.synRetransmits++;
    t.rttTiming = false;
    t.rtt.backoff();
    if (t.awaitingArp) {
      sendArpRequest(core, t.nic, t.remoteAddr);
      t.rtoAt = now + t.rtt.rtoMs;
      return;
    }
    t.retransmissions++;
    core.counters.retransmittedSegments++;
    t.sndNxt = t.iss;
    output(core, t);
    return;
  }
  if (t.persisting) {
    if (t.lastAckRecvAt !== 0 && now - t.lastAckRecvAt >= t.dataGiveUpMs) {
      core.counters.timeouts++;
      core.freeTcb(t, 'timeout');
      return;
    }
    if (t.sndWnd - t.flight > 0) {
      // The window is open but too small for SWS avoidance: send what fits.
      t.persisting = false;
      output(core, t, true);
      return;
    }
    sendWindowProbe(core, t);
    t.rtt.backoff();
    t.rtoAt = now + t.rtt.rtoMs;
    return;
  }
  if (t.sndMax === t.sndUna) return;
  if (t.timeoutCount === 0) {
    t.firstTimeoutAt = now;
    t.ssthresh = Math.max(seqSub(t.sndMax, t.sndUna) >>> 1, 2 * t.mss);
  } else if (now - t.firstTimeoutAt >= t.dataGiveUpMs) {
    core.counters.timeouts++;
    core.freeTcb(t, 'timeout');
    return;
  }
  t.timeoutCount++;
  core.counters.timeouts++;
  // Loss window and go-back-N from SND.UNA: the segments are regenerated from the ranges.
  t.cwnd = t.mss;
  t.caAcked = 0;
  t.inRecovery = false;
  t.dupAcks = 0;
  t.recover = t.sndMax;
  t.sndNxt = t.sndUna;
  t.rttTiming = false;
  t.rtt.backoff();
  if (t.sndWnd <= 0 && t.sq.end > t.sndUnaOff) {
    // The window closed with data outstanding (its reopening may have been lost): probe it
    // rather than wait on a window that will never be announced again (MUST-35).
    t.persisting = true;
    sendWindowProbe(core, t);
  } else {
    output(core, t);
  }
  t.rtoAt = now + t.rtt.rtoMs;
}
