/**
 * Sending: segment construction and the send decision.
 *
 * Read first: RFC 9293 §3.8.6 (window management, SWS avoidance MUST-38/39, zero-window probes
 * MUST-35/36), §3.10.4–3.10.5 (SEND/CLOSE), RFC 5681 §3 (cwnd), RFC 6298 §5 (the timer),
 * RFC 7323 §3 (timestamps on every segment), RFC 2018 §4 (SACK blocks we send).
 *
 * Call chain: stack flush / timer → `output(tcb)` → `sendSegment(tcb, seq, len, flags)` →
 * `emitSegment` (headers into the TCB's buffer, payload pieces by reference) → `io.transmit`.
 *
 * Every frame is built in a header buffer owned by the TCB whose Ethernet and IPv4 parts were
 * written once when the connection was created ("a prebuilt TCP/IP send header", facts §3.1);
 * per segment only lengths, ID, sequence numbers, flags, window, options and the two checksums
 * are written. The IPv4 checksum is finished from a precomputed partial sum of the constant
 * words; the TCP checksum from the pseudo-header sum, the header, and the payload's partial sum
 * (precomputed with the document when available).
 *
 * Segmentation offload (Linux's TSO/GSO design): when the windows allow at least two full
 * segments of new data, `output` sends them as ONE super-segment of up to `tsoMaxSegments`·MSS
 * bytes, marked `TxFrame.tsoSegmentBytes = MSS`; the card (or the kernel, in software) cuts it
 * into MSS-sized segments with their own sequence numbers, IP ids and checksums. Its TCP checksum
 * field carries only the folded pseudo-header sum (CHECKSUM_PARTIAL), so no payload is summed
 * here and precomputed checksums are not used — as on a card with checksum offload. Everything
 * else (sequence space, RTT timing, retransmission) stays per byte; retransmissions are single
 * segments.
 */
import {
  ARP_ETHERNET_IPV4_LEN,
  ArpOperation,
  ArpRepr,
  EtherType,
  MAC_BROADCAST,
  TcpFlag,
  emitTcpOptions,
  finishSum,
  partialSum,
  pseudoHeaderSum,
  set16,
  set32,
  set48,
  IpProtocol,
  foldSum,
} from '../../wire/index.js';
import type { StackCore } from './core.js';
import { seqAdd, seqGe, seqGt, seqLe, seqMax, seqSub } from './seqnum.js';
import type { Tcb } from './tcb.js';
import { TcpState } from './types.js';

/** Header buffer layout: Ethernet at 0, IPv4 (no options) at 14, TCP at 34. */
export const ETH_AT = 0;
export const IP_AT = 14;
export const TCP_AT = 34;
/** Ethernet + IPv4 + the largest TCP header. */
export const HEADER_BUF_BYTES = TCP_AT + 60;

/** IPv4 "don't fragment" (Linux sets it on TCP; we never fragment either). */
const IP_DF = 0x4000;
/**
 * Most payload bytes in a super-segment: its IPv4 total length must fit 16 bits (RFC 791) with
 * the largest TCP header (60 bytes).
 */
const TSO_MAX_PAYLOAD_BYTES = 0xffff - 20 - 60;

/**
 * Write the constant Ethernet, IPv4 and TCP-port fields of a header template into `buf` and
 * return the partial sum of the constant IPv4 header words (everything but Total Length,
 * Identification and the checksum). `tos` is the IPv4 DS field (DSCP << 2; ECN 0).
 */
export function prepareHeader(
  buf: Uint8Array,
  localMac: number,
  peerMac: number,
  src: number,
  dst: number,
  srcPort: number,
  dstPort: number,
  ttl: number,
  tos = 0,
): number {
  set48(buf, ETH_AT, peerMac);
  set48(buf, ETH_AT + 6, localMac);
  set16(buf, ETH_AT + 12, EtherType.Ipv4);
  buf[IP_AT] = 0x45;
  buf[IP_AT + 1] = tos;
  set16(buf, IP_AT + 6, IP_DF);
  buf[IP_AT + 8] = ttl;
  buf[IP_AT + 9] = IpProtocol.Tcp;
  set32(buf, IP_AT + 12, src);
  set32(buf, IP_AT + 16, dst);
  set16(buf, TCP_AT, srcPort);
  set16(buf, TCP_AT + 2, dstPort);
  return (0x4500 | tos) + IP_DF + ((ttl << 8) | IpProtocol.Tcp) + (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
}

/** Point the TCB's header template at its peer (once the peer's MAC is known, and when its DSCP changes). */
export function prepareTcbHeader(core: StackCore, t: Tcb): void {
  t.ipBaseSum = prepareHeader(t.hdr, t.localMac, t.peerMac, t.localAddr, t.remoteAddr, t.localPort, t.remotePort, core.config.ttl, t.dscp << 2);
  t.pseudoBaseSum = pseudoHeaderSum(t.localAddr, t.remoteAddr, IpProtocol.Tcp, 0);
}

/**
 * Finish the per-segment fields of a prepared header in `buf`, with the options currently in
 * `core.opts` and the payload pieces already in `core.frame`, and transmit the frame. With
 * `segmentBytes` > 0 the frame is a super-segment to be cut into segments of that many payload
 * bytes: its TCP checksum field gets the folded, uncomplemented pseudo-header sum (the TSO
 * contract, Linux's CHECKSUM_PARTIAL) and `payloadSum` is ignored.
 */
export function emitSegment(
  core: StackCore,
  buf: Uint8Array,
  ipBaseSum: number,
  pseudoBaseSum: number,
  ident: number,
  nic: number,
  seq: number,
  ack: number,
  flags: number,
  windowField: number,
  payloadLen: number,
  payloadSum: number,
  segmentBytes = 0,
): void {
  const tcpHl = 20 + emitTcpOptions(core.opts, buf, TCP_AT + 20);
  const tcpLen = tcpHl + payloadLen;
  const totalLen = 20 + tcpLen;
  set16(buf, IP_AT + 2, totalLen);
  set16(buf, IP_AT + 4, ident);
  set16(buf, IP_AT + 10, finishSum(ipBaseSum + totalLen + ident));
  set32(buf, TCP_AT + 4, seq);
  set32(buf, TCP_AT + 8, ack);
  buf[TCP_AT + 12] = (tcpHl >>> 2) << 4;
  buf[TCP_AT + 13] = flags;
  set16(buf, TCP_AT + 14, windowField);
  set16(buf, TCP_AT + 16, 0);
  set16(buf, TCP_AT + 18, 0);
  const f = core.frame;
  if (segmentBytes > 0) {
    set16(buf, TCP_AT + 16, foldSum(pseudoBaseSum + tcpLen));
    core.counters.segmentsOut += Math.ceil(payloadLen / segmentBytes);
    core.counters.tsoFrames++;
  } else {
    set16(buf, TCP_AT + 16, finishSum(partialSum(buf, TCP_AT, tcpHl, pseudoBaseSum + tcpLen + payloadSum)));
    core.counters.segmentsOut++;
  }
  f.nic = nic;
  f.header = buf;
  f.headerOffset = 0;
  f.headerLen = TCP_AT + tcpHl;
  f.tsoSegmentBytes = segmentBytes;
  if ((flags & TcpFlag.Rst) !== 0) core.counters.resetsSent++;
  try {
    core.io.transmit(f);
  } finally {
    f.pieces = 0;
    f.tsoSegmentBytes = 0;
  }
}

/** Clear every option in the scratch repr. */
function clearOptions(core: StackCore): void {
  const o = core.opts;
  o.maxSegSize = undefined;
  o.windowScale = undefined;
  o.sackPermitted = false;
  o.timestamp = undefined;
  if (o.sackRanges.length !== 0) o.sackRanges.length = 0;
}

/** Our timestamp clock for a connection: milliseconds plus its offset (RFC 7323 §5.4). */
export function tsNow(core: StackCore, tsOffset: number): number {
  return (Math.floor(core.io.now()) + tsOffset) >>> 0;
}

/**
 * Options of a non-SYN segment: timestamps, and SACK blocks while data is held out of order —
 * only as many as fit beside `payloadLen` bytes in the frame (the MSS already paid for the
 * timestamps; a full segment carries no SACK, as Linux sizes segments).
 */
function setDataOptions(core: StackCore, t: Tcb, payloadLen: number): void {
  clearOptions(core);
  if (t.tsEnabled) {
    const ts = core.tsScratch;
    ts.tsVal = tsNow(core, t.tsOffset);
    ts.tsEcr = t.tsRecent;
    core.opts.timestamp = ts;
  }
  if (t.sackEnabled && t.rx.oooRanges > 0) {
    const room = Math.floor((t.mss - payloadLen - 4) / 8);
    const n = t.rx.sackBlocks(t.rcvNxt, core.sackScratch, Math.min(4, room));
    const o = core.opts;
    for (let i = 0; i < n; i++) o.sackRanges.push(core.sackScratch[i]!);
  }
}

/**
 * The window field to send, applying receiver SWS avoidance (RFC 9293 §3.8.6.2.2, MUST-39):
 * the right edge moves only when it can move by min(buffer/2, MSS), and never moves back.
 */
export function windowField(t: Tcb): number {
  const cap = 0xffff << t.rcvScale;
  let wnd = Math.max(0, seqSub(t.rcvAdv, t.rcvNxt));
  const free = Math.min(t.rx.free, cap);
  if (free - wnd >= Math.min(t.rx.capacity >>> 1, t.advMss)) wnd = free;
  wnd = Math.min(wnd, cap);
  const field = wnd >>> t.rcvScale;
  t.rcvAdv = seqMax(t.rcvAdv, seqAdd(t.rcvNxt, field << t.rcvScale));
  return field;
}

/**
 * Send one segment of the connection: `len` data bytes from sequence number `seq` (cut from the
 * send queue by reference), with `flags` (ACK is always added once synchronized). Every segment
 * carries the current ACK, so it settles a pending delayed ACK. With `segmentBytes` > 0 it is a
 * super-segment of ⌈len / segmentBytes⌉ segments: they take as many IP ids, and carry the
 * options of a full segment (no SACK blocks, which would not fit beside a full MSS).
 */
export function sendSegment(core: StackCore, t: Tcb, seq: number, len: number, flags: number, segmentBytes = 0): void {
  const tso = segmentBytes > 0;
  let sum = 0;
  if (len > 0) sum = t.sq.gather(t.sndUnaOff + seqSub(seq, t.sndUna), len, core.frame, core.counters, !tso);
  setDataOptions(core, t, tso ? segmentBytes : len);
  const win = windowField(t);
  t.lastAckSent = t.rcvNxt;
  t.ackPending = false;
  t.ackNow = false;
  t.fullSegmentsUnacked = 0;
  t.delackAt = Infinity;
  const segments = tso ? Math.ceil(len / segmentBytes) : 1;
  t.segmentsOut += segments;
  t.lastSendAt = core.io.now();
  const ident = t.ipIdent & 0xffff;
  t.ipIdent += segments;
  emitSegment(core, t.hdr, t.ipBaseSum, t.pseudoBaseSum, ident, t.nic, seq, t.rcvNxt, flags | TcpFlag.Ack, win, len, sum, segmentBytes);
}

/** A pure ACK: <SEQ=SND.NXT><ACK=RCV.NXT> (RFC 9293 §3.10.7.4). */
export function sendAck(core: StackCore, t: Tcb): void {
  sendSegment(core, t, t.sndNxt, 0, 0);
}

/**
 * An ACK for an unacceptable segment (out of window, challenge ACK of RFC 5961, PAWS), limited
 * to one per `invalidAckIntervalMs` per connection (RFC 5961 §7; per connection, not global,
 * so the rate cannot be probed as a side channel, CVE-2016-5696).
 */
export function sendInvalidAck(core: StackCore, t: Tcb, challenge: boolean): void {
  const now = core.io.now();
  if (now - t.lastInvalidAckAt < core.config.invalidAckIntervalMs) {
    core.counters.invalidAcksSuppressed++;
    return;
  }
  t.lastInvalidAckAt = now;
  if (challenge) core.counters.challengeAcks++;
  sendAck(core, t);
}

/** SYN (active open) or SYN-ACK (passive, or simultaneous open) with our options. */
export function sendSyn(core: StackCore, t: Tcb): void {
  clearOptions(core);
  const o = core.opts;
  const c = core.config;
  const active = t.state === TcpState.SynSent;
  o.maxSegSize = t.advMss;
  // Offer what our config allows on an active SYN; on a SYN-ACK, only what the peer offered.
  if (active ? c.windowScaling : t.windowScaling) o.windowScale = t.rcvScale;
  o.sackPermitted = active ? c.sack : t.sackEnabled;
  if (active ? c.timestamps : t.tsEnabled) {
    const ts = core.tsScratch;
    ts.tsVal = tsNow(core, t.tsOffset);
    ts.tsEcr = active ? 0 : t.tsRecent;
    o.timestamp = ts;
  }
  // The window of a SYN segment is never scaled (RFC 7323 §2.2).
  const win = Math.min(t.rx.capacity, 0xffff);
  t.rcvAdv = seqAdd(t.rcvNxt, win);
  t.segmentsOut++;
  t.lastSendAt = core.io.now();
  t.lastAckSent = t.rcvNxt;
  emitSegment(
    core,
    t.hdr,
    t.ipBaseSum,
    t.pseudoBaseSum,
    t.ipIdent++ & 0xffff,
    t.nic,
    t.iss,
    active ? 0 : t.rcvNxt,
    active ? TcpFlag.Syn : TcpFlag.Syn | TcpFlag.Ack,
    win,
    0,
    0,
  );
}

/**
 * A segment with no connection behind it (RST for a closed port, cookie SYN-ACK, TIME-WAIT
 * re-ACK), built in the stack's scratch header with the options already in `core.opts`.
 */
export function sendStateless(
  core: StackCore,
  nic: number,
  peerMac: number,
  src: number,
  dst: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  windowField: number,
): void {
  const buf = core.scratchHdr;
  const base = prepareHeader(buf, core.interfaces[nic]!.mac, peerMac, src, dst, srcPort, dstPort, core.config.ttl);
  emitSegment(core, buf, base, pseudoHeaderSum(src, dst, IpProtocol.Tcp, 0), core.nextIdent(), nic, seq, ack, flags, windowField, 0, 0);
}

/**
 * RST in reply to a segment that has no connection (RFC 9293 §3.10.7.1): if it carried an
 * ACK, <SEQ=SEG.ACK><CTL=RST>; otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 * Never in reply to a RST.
 */
export function sendResetFor(
  core: StackCore,
  nic: number,
  peerMac: number,
  localAddr: number,
  localPort: number,
  remoteAddr: number,
  remotePort: number,
  segSeq: number,
  segAck: number | undefined,
  segLen: number,
): void {
  clearOptions(core);
  if (segAck !== undefined) {
    sendStateless(core, nic, peerMac, localAddr, remoteAddr, localPort, remotePort, segAck, 0, TcpFlag.Rst, 0);
  } else {
    sendStateless(core, nic, peerMac, localAddr, remoteAddr, localPort, remotePort, 0, seqAdd(segSeq, segLen), TcpFlag.Rst | TcpFlag.Ack, 0);
  }
}

/** RST for a connection we are aborting: <SEQ=SND.NXT><CTL=RST> (RFC 9293 §3.10.5 ABORT). */
export function sendResetOnTcb(core: StackCore, t: Tcb): void {
  clearOptions(core);
  emitSegment(core, t.hdr, t.ipBaseSum, t.pseudoBaseSum, t.ipIdent++ & 0xffff, t.nic, t.sndNxt, 0, TcpFlag.Rst, 0, 0, 0);
}

/** Broadcast an ARP request for `addr` on card `nic` (active opens to an unknown MAC). */
export function sendArpRequest(core: StackCore, nic: number, addr: number): void {
  const itf = core.interfaces[nic]!;
  const buf = core.scratchHdr;
  set48(buf, ETH_AT, MAC_BROADCAST);
  set48(buf, ETH_AT + 6, itf.mac);
  set16(buf, ETH_AT + 12, EtherType.Arp);
  ArpRepr.emit(
    { operation: ArpOperation.Request, senderHardwareAddr: itf.mac, senderProtocolAddr: itf.addr, targetHardwareAddr: 0, targetProtocolAddr: addr },
    core.arpView.reset(buf, IP_AT, ARP_ETHERNET_IPV4_LEN),
  );
  core.counters.arpRequestsSent++;
  transmitRaw(core, nic, buf, IP_AT + ARP_ETHERNET_IPV4_LEN);
}

/** Transmit `buf[0, len)` as one frame (ARP). */
export function transmitRaw(core: StackCore, nic: number, buf: Uint8Array, len: number): void {
  const f = core.frame;
  f.nic = nic;
  f.header = buf;
  f.headerOffset = 0;
  f.headerLen = len;
  f.pieces = 0;
  core.io.transmit(f);
}

/**
 * Send what may be sent now: new data within min(peer window, cwnd) in MSS-sized segments,
 * subject to sender SWS avoidance, then our FIN when all data is out (on the last data segment
 * when `mergeFin`). Arms the retransmission or persist timer as needed. `force` lifts SWS
 * avoidance for one segment (its override timer expired, RFC 9293 §3.8.6.2.1).
 */
export function output(core: StackCore, t: Tcb, force = false): void {
  const st = t.state;
  if (st === TcpState.SynSent || st === TcpState.SynReceived) {
    if (t.sndNxt === t.iss && !t.awaitingArp) {
      sendSyn(core, t);
      t.sndNxt = seqAdd(t.iss, 1);
      // Time the handshake (Karn: never a retransmitted SYN); an echoed timestamp, when there
      // is one, gives the sample instead.
      if (t.synRetransmits === 0) {
        t.rttTiming = true;
        t.rttSeq = t.sndNxt;
        t.rttStartAt = core.io.now();
      }
      t.sndMax = seqMax(t.sndMax, t.sndNxt);
      if (t.rtoAt === Infinity) t.rtoAt = core.io.now() + t.rtt.rtoMs;
    }
    return;
  }
  if (st !== TcpState.Established && st !== TcpState.CloseWait && st !== TcpState.FinWait1 && st !== TcpState.Closing && st !== TcpState.LastAck) {
    return;
  }
  const c = core.config;
  const now = core.io.now();
  // RFC 5681 §4.1: after an idle period longer than the RTO, restart from the initial window.
  if (t.sndMax === t.sndUna && now - t.lastSendAt > t.rtt.rtoMs) t.cwnd = Math.min(t.cwnd, core.initialWindow(t.mss));
  const tsoMaxBytes = Math.min(c.tsoMaxSegments * t.mss, TSO_MAX_PAYLOAD_BYTES);
  for (;;) {
    const flight = t.flight;
    const off = t.sndUnaOff + flight;
    const remaining = t.sq.end - off;
    const wndLeft = t.sndWnd - flight;
    const cwndLeft = t.cwnd - flight;
    const usable = Math.min(remaining, wndLeft, cwndLeft);
    // New data only (after a timeout, go-back-N resends single segments up to SND.MAX).
    if (usable >= 2 * t.mss && tsoMaxBytes >= 2 * t.mss && seqGe(t.sndNxt, t.sndMax)) {
      // Whole segments, plus the short tail when it ends the queue and would go out right after
      // anyway (without Nagle, which would hold it while the super-segment is in flight).
      let len = Math.min(usable, tsoMaxBytes);
      if (!(len === remaining && !c.nagle)) len -= len % t.mss;
      const all = len === remaining;
      const fin = all && t.finQueued && c.mergeFin;
      force = false;
      sendData(core, t, t.sndNxt, len, fin, all, t.mss);
      t.sndNxt = seqAdd(t.sndNxt, len + (fin ? 1 : 0));
      continue;
    }
    let len = Math.min(usable, t.mss);
    if (len < 0) len = 0;
    // Our FIN goes right after the last data byte, once everything before it is out.
    const finHere = t.finQueued && len === remaining;
    if (len > 0) {
      const all = len === remaining;
      // Sender SWS avoidance (RFC 9293 §3.8.6.2.1) and Nagle (§3.7.4); with nothing in flight
      // no ACK will reopen the question, so the persist timer doubles as the override timeout.
      if (!force && len < t.mss && !(all && (!t.nagle || flight === 0)) && len < t.maxSndWnd >>> 1) {
        if (flight === 0 && !t.persisting) {
          t.persisting = true;
          t.rtoAt = now + t.rtt.rtoMs;
        }
        break;
      }
      force = false;
      const fin = finHere && c.mergeFin;
      sendData(core, t, t.sndNxt, len, fin, all);
      t.sndNxt = seqAdd(t.sndNxt, len + (fin ? 1 : 0));
    } else if (finHere && remaining === 0) {
      sendData(core, t, t.sndNxt, 0, true, true);
      t.sndNxt = seqAdd(t.sndNxt, 1);
    } else {
      break;
    }
  }
  if (seqGt(t.sndNxt, t.sndMax)) t.sndMax = t.sndNxt;
  if (t.sndMax !== t.sndUna) {
    if (t.rtoAt === Infinity) t.rtoAt = now + t.rtt.rtoMs;
  } else if (t.sq.end > t.sndUnaOff && t.sndWnd - t.flight <= 0 && !t.persisting) {
    // Data waits behind a zero window with nothing in flight: probe it (MUST-35).
    t.persisting = true;
    t.rtoAt = now + t.rtt.rtoMs;
  }
}

/**
 * Send data (and/or FIN) at `seq`, counting retransmissions and timing one new segment (Karn);
 * `segmentBytes` > 0 sends new data as a super-segment (see {@link sendSegment}).
 */
function sendData(core: StackCore, t: Tcb, seq: number, len: number, fin: boolean, push: boolean, segmentBytes = 0): void {
  const end = seqAdd(seq, len + (fin ? 1 : 0));
  if (seqLe(end, t.sndMax)) {
    t.retransmissions++;
    core.counters.retransmittedSegments++;
    t.rttTiming = false;
    if (t.tsEnabled) {
      t.rtxTsVal = tsNow(core, t.tsOffset);
      t.rtxTsSet = true;
    }
  } else {
    const fresh = Math.max(0, seqSub(seqAdd(seq, len), seqMax(seq, t.sndMax)));
    t.bytesOut += fresh;
    core.counters.bytesOut += fresh;
    if (!t.rttTiming && !t.tsEnabled) {
      t.rttTiming = true;
      t.rttSeq = end;
      t.rttStartAt = core.io.now();
    }
  }
  sendSegment(core, t, seq, len, (fin ? TcpFlag.Fin : 0) | (push && len > 0 ? TcpFlag.Psh : 0), segmentBytes);
}

/**
 * Retransmit the first unacknowledged segment without moving SND.NXT (fast retransmit,
 * NewReno partial ACK; RFC 5681 §3.2, RFC 6582 §3.2).
 */
export function retransmitFirst(core: StackCore, t: Tcb): void {
  const off = t.sndUnaOff;
  const dataLen = Math.min(t.mss, t.sq.end - off);
  const fin = t.finQueued && seqGt(t.sndMax, t.finSeq) && seqSub(t.finSeq, t.sndUna) === dataLen;
  if (dataLen <= 0 && !fin) return;
  sendData(core, t, t.sndUna, Math.max(0, dataLen), fin, true);
}

/**
 * Zero-window probe (RFC 9293 §3.8.6.1, MUST-35/36): one byte past the window, re-sent with
 * backoff for as long as the peer keeps answering. The byte is not counted as sent, so an ACK
 * that covers it moves SND.NXT along with SND.UNA.
 */
export function sendWindowProbe(core: StackCore, t: Tcb): void {
  const off = t.sndUnaOff;
  if (t.sq.end - off <= 0) return;
  t.sndMax = seqMax(t.sndMax, seqAdd(t.sndUna, 1));
  sendSegment(core, t, t.sndUna, 1, 0);
}

/** True when `seq` (an ACK) covers our FIN. */
export function finAcked(t: Tcb, ack: number): boolean {
  return t.finQueued && seqGt(ack, t.finSeq);
}

/** Whether our FIN has been sent at least once. */
export function finSent(t: Tcb): boolean {
  return t.finQueued && seqGe(t.sndMax, seqAdd(t.finSeq, 1));
}
