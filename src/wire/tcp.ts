/**
 * TCP segments: header, options, checksum.
 *
 * Read first: RFC 9293 §3.1 (header format, options MUST-4..7 and MUST-64..68), §3.2
 * (option definitions); RFC 7323 §2 (window scale), §3 (timestamps); RFC 2018 (SACK);
 * RFC 6691 (MSS). The state machine that gives these fields meaning lives elsewhere
 * (`src/cheetah/net`); this file only reads and writes bytes.
 *
 * Options parsing follows Linux `tcp_parse_options` rather than rejecting the segment: an
 * option with an illegal length (0, 1, or running past the header) ends option parsing and the
 * options read so far stand (RFC 9293 MUST-7 only asks that illegal lengths be handled); a
 * known option with the wrong size is ignored; unknown options are skipped by their length
 * (MUST-64). Parsing touches each option byte at most once, so it ends in O(header).
 */
import { get16, get32, set16, set32 } from './bytes.js';
import type { Ipv4Addr } from './address.js';
import { finishSum, partialSum, pseudoHeaderSum, sumVerifies } from './checksum.js';
import { WireError } from './error.js';
import { IpProtocol } from './ipv4.js';
import { PortsView } from './ports.js';

const F = {
  seq: 4,
  ack: 8,
  offset: 12,
  flags: 13,
  window: 14,
  checksum: 16,
  urgent: 18,
  options: 20,
} as const;

/** Bytes of a TCP header without options. */
export const TCP_HEADER_LEN = F.options;
/** Largest TCP header: the data offset is 4 bits of 32-bit words. */
export const TCP_MAX_HEADER_LEN = 60;

/** Bits of the flags byte (RFC 9293 §3.1, RFC 3168 for ECE/CWR). */
export const TcpFlag = {
  Fin: 0x01,
  Syn: 0x02,
  Rst: 0x04,
  Psh: 0x08,
  Ack: 0x10,
  Urg: 0x20,
  Ece: 0x40,
  Cwr: 0x80,
} as const;

/** Option kinds (IANA "TCP Option Kind Numbers"). */
export const TcpOptionKind = {
  End: 0,
  Nop: 1,
  Mss: 2,
  WindowScale: 3,
  SackPermitted: 4,
  Sack: 5,
  Timestamp: 8,
} as const;

/** Largest shift a window scale option may carry (RFC 7323 §2.3). */
export const TCP_MAX_WINDOW_SCALE = 14;
/** Most SACK blocks that fit in 40 option bytes (RFC 2018 §3). */
export const TCP_MAX_SACK_BLOCKS = 4;

/** A view of a TCP segment (header + payload, or only the header when sending by gather). */
export class TcpPacket extends PortsView {
  /** Undefined when the fixed header fits and the data offset is between 20 and the view length. */
  check(): WireError | undefined {
    if (this.n < TCP_HEADER_LEN) return WireError.Truncated;
    const hl = this.headerLen;
    if (hl < TCP_HEADER_LEN) return WireError.Malformed;
    return hl > this.n ? WireError.Truncated : undefined;
  }

  get seqNumber(): number {
    return get32(this.b, this.o + F.seq);
  }
  set seqNumber(v: number) {
    set32(this.b, this.o + F.seq, v);
  }
  /** The acknowledgment field (meaningful only with the ACK flag). */
  get ackNumber(): number {
    return get32(this.b, this.o + F.ack);
  }
  set ackNumber(v: number) {
    set32(this.b, this.o + F.ack, v);
  }
  /** Header length in bytes (data offset · 4). */
  get headerLen(): number {
    return (this.b[this.o + F.offset]! >>> 4) * 4;
  }
  /** Set the data offset from a header length in bytes (a multiple of 4, 20..60); clears the reserved bits. */
  set headerLen(v: number) {
    this.b[this.o + F.offset] = ((v >>> 2) & 0x0f) << 4;
  }
  /** The flags byte ({@link TcpFlag} bits). */
  get flags(): number {
    return this.b[this.o + F.flags]!;
  }
  set flags(v: number) {
    this.b[this.o + F.flags] = v;
  }
  get fin(): boolean {
    return (this.flags & TcpFlag.Fin) !== 0;
  }
  get syn(): boolean {
    return (this.flags & TcpFlag.Syn) !== 0;
  }
  get rst(): boolean {
    return (this.flags & TcpFlag.Rst) !== 0;
  }
  get psh(): boolean {
    return (this.flags & TcpFlag.Psh) !== 0;
  }
  get ack(): boolean {
    return (this.flags & TcpFlag.Ack) !== 0;
  }
  get urg(): boolean {
    return (this.flags & TcpFlag.Urg) !== 0;
  }
  /** The 16-bit window field, unscaled. */
  get windowLen(): number {
    return get16(this.b, this.o + F.window);
  }
  set windowLen(v: number) {
    set16(this.b, this.o + F.window, v);
  }
  get checksum(): number {
    return get16(this.b, this.o + F.checksum);
  }
  set checksum(v: number) {
    set16(this.b, this.o + F.checksum, v);
  }
  get urgentPointer(): number {
    return get16(this.b, this.o + F.urgent);
  }
  set urgentPointer(v: number) {
    set16(this.b, this.o + F.urgent, v);
  }

  get optionsOffset(): number {
    return this.o + F.options;
  }
  get optionsLen(): number {
    return this.headerLen - TCP_HEADER_LEN;
  }
  get payloadOffset(): number {
    return this.o + this.headerLen;
  }
  /** Payload length: the view length minus the header (the view must be exactly the segment). */
  get payloadLen(): number {
    return this.n - this.headerLen;
  }
  /** The payload as a subarray (allocates a view object). */
  payload(): Uint8Array {
    return this.b.subarray(this.payloadOffset, this.o + this.n);
  }

  /** Partial sum of the pseudo-header for this whole view as the segment (RFC 9293 §3.1). */
  #pseudo(srcAddr: Ipv4Addr, dstAddr: Ipv4Addr): number {
    return pseudoHeaderSum(srcAddr, dstAddr, IpProtocol.Tcp, this.n);
  }
  /** True when the checksum over the whole view (header + payload) verifies. */
  verifyChecksum(srcAddr: Ipv4Addr, dstAddr: Ipv4Addr): boolean {
    return sumVerifies(this.b, this.o, this.n, this.#pseudo(srcAddr, dstAddr));
  }
  /** Compute and store the checksum over the whole view (header + payload). */
  fillChecksum(srcAddr: Ipv4Addr, dstAddr: Ipv4Addr): void {
    this.checksum = 0;
    this.checksum = finishSum(partialSum(this.b, this.o, this.n, this.#pseudo(srcAddr, dstAddr)));
  }
  /**
   * Compute and store the checksum when this view holds only the header and the payload lives
   * elsewhere (a gather send): `payloadSum` is the payload's partial sum (e.g. precomputed with
   * a cached document), `payloadLen` its length. Every range before the payload is the header,
   * whose length is a multiple of 4, so the sums add without byte swapping.
   */
  fillChecksumWithPayload(srcAddr: Ipv4Addr, dstAddr: Ipv4Addr, payloadLen: number, payloadSum: number): void {
    const hl = this.headerLen;
    this.checksum = 0;
    const pseudo = pseudoHeaderSum(srcAddr, dstAddr, IpProtocol.Tcp, hl + payloadLen);
    this.checksum = finishSum(partialSum(this.b, this.o, hl, pseudo + payloadSum));
  }
}

/** One SACK block: sequence numbers `[left, right)` (RFC 2018 §3). */
export interface TcpSackRange {
  left: number;
  right: number;
}

/** The timestamps option (RFC 7323 §3). */
export interface TcpTimestamp {
  tsVal: number;
  tsEcr: number;
}

/**
 * The control part of the flags, folded to one value: a segment carries at most one of SYN,
 * FIN, RST (combinations are refused as malformed, as smoltcp and Linux's LISTEN path do).
 */
export type TcpControl = 'none' | 'syn' | 'fin' | 'rst';

/**
 * A parsed, legal TCP segment. Sequence and acknowledgment numbers are unsigned 32-bit
 * integers. Urgent data is not represented: URG and the urgent pointer are ignored on parse
 * and written as zero (urgent bytes are delivered inline, like SO_OOBINLINE; see docs/tcp.md).
 * ECE/CWR are ignored (no ECN).
 */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  control: TcpControl;
  /** PSH. */
  push: boolean;
  seqNumber: number;
  /** Present exactly when the ACK flag is set. */
  ackNumber: number | undefined;
  /** The 16-bit window field, unscaled. */
  windowLen: number;
  /** MSS option (bytes). */
  maxSegSize: number | undefined;
  /** Window scale shift, clamped to 14 on parse (RFC 7323 §2.3). */
  windowScale: number | undefined;
  sackPermitted: boolean;
  /** SACK blocks, at most 4; emit writes as many as fit in the option space. */
  sackRanges: TcpSackRange[];
  timestamp: TcpTimestamp | undefined;
  /** A view into the parsed packet, or the bytes to send. */
  payload: Uint8Array;
}

const NO_PAYLOAD = new Uint8Array(0);

/**
 * Read the options in `b[start, end)` into `out` (whose option fields the caller has reset).
 * A timestamp option is stored in `spareTimestamp` when given (no allocation).
 * Never throws, never reads outside `[start, end)`, and ends after at most `end − start` steps.
 */
export function parseTcpOptions(b: Uint8Array, start: number, end: number, out: TcpRepr, spareTimestamp?: TcpTimestamp): void {
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === TcpOptionKind.End) return;
    if (kind === TcpOptionKind.Nop) {
      i++;
      continue;
    }
    if (i + 1 >= end) return;
    const len = b[i + 1]!;
    if (len < 2 || i + len > end) return;
    switch (kind) {
      case TcpOptionKind.Mss:
        if (len === 4) out.maxSegSize = get16(b, i + 2);
        break;
      case TcpOptionKind.WindowScale:
        if (len === 3) out.windowScale = Math.min(b[i + 2]!, TCP_MAX_WINDOW_SCALE);
        break;
      case TcpOptionKind.SackPermitted:
        if (len === 2) out.sackPermitted = true;
        break;
      case TcpOptionKind.Sack:
        if (len >= 10 && (len - 2) % 8 === 0) {
          out.sackRanges.length = 0;
          for (let j = i + 2; j < i + len; j += 8) out.sackRanges.push({ left: get32(b, j), right: get32(b, j + 4) });
        }
        break;
      case TcpOptionKind.Timestamp:
        if (len === 10) {
          const ts = out.timestamp ?? spareTimestamp ?? { tsVal: 0, tsEcr: 0 };
          ts.tsVal = get32(b, i + 2);
          ts.tsEcr = get32(b, i + 6);
          out.timestamp = ts;
        }
        break;
      default:
        break;
    }
    i += len;
  }
}

/** SACK blocks that fit beside the other options of `repr` (each block 8 bytes, plus NOP NOP kind len). */
function sackBlocksThatFit(repr: TcpRepr, otherOptionsLen: number): number {
  if (repr.sackRanges.length === 0) return 0;
  const room = Math.floor((TCP_MAX_HEADER_LEN - TCP_HEADER_LEN - otherOptionsLen - 4) / 8);
  return Math.max(0, Math.min(repr.sackRanges.length, room, TCP_MAX_SACK_BLOCKS));
}

/** Option bytes of `repr` without SACK blocks, each option aligned to 4 bytes with NOPs. */
function baseOptionsLen(repr: TcpRepr): number {
  return (
    (repr.maxSegSize !== undefined ? 4 : 0) +
    (repr.windowScale !== undefined ? 4 : 0) +
    (repr.timestamp !== undefined ? 12 : repr.sackPermitted ? 4 : 0)
  );
}

/** Total option bytes `repr` will emit (a multiple of 4, ≤ 40). */
export function tcpOptionsLen(repr: TcpRepr): number {
  const base = baseOptionsLen(repr);
  const blocks = sackBlocksThatFit(repr, base);
  return base + (blocks > 0 ? 4 + 8 * blocks : 0);
}

/**
 * Write the options of `repr` at `b[at]` in the layout Linux uses (MSS; SACK-permitted with
 * timestamps in one 12-byte word group; NOP + window scale; NOP NOP + SACK), returning the
 * bytes written ({@link tcpOptionsLen}).
 */
export function emitTcpOptions(repr: TcpRepr, b: Uint8Array, at: number): number {
  let i = at;
  if (repr.maxSegSize !== undefined) {
    b[i] = TcpOptionKind.Mss;
    b[i + 1] = 4;
    set16(b, i + 2, repr.maxSegSize);
    i += 4;
  }
  if (repr.timestamp !== undefined) {
    if (repr.sackPermitted) {
      b[i] = TcpOptionKind.SackPermitted;
      b[i + 1] = 2;
    } else {
      b[i] = TcpOptionKind.Nop;
      b[i + 1] = TcpOptionKind.Nop;
    }
    b[i + 2] = TcpOptionKind.Timestamp;
    b[i + 3] = 10;
    set32(b, i + 4, repr.timestamp.tsVal);
    set32(b, i + 8, repr.timestamp.tsEcr);
    i += 12;
  } else if (repr.sackPermitted) {
    b[i] = TcpOptionKind.Nop;
    b[i + 1] = TcpOptionKind.Nop;
    b[i + 2] = TcpOptionKind.SackPermitted;
    b[i + 3] = 2;
    i += 4;
  }
  if (repr.windowScale !== undefined) {
    b[i] = TcpOptionKind.Nop;
    b[i + 1] = TcpOptionKind.WindowScale;
    b[i + 2] = 3;
    b[i + 3] = repr.windowScale;
    i += 4;
  }
  const blocks = sackBlocksThatFit(repr, i - at);
  if (blocks > 0) {
    b[i] = TcpOptionKind.Nop;
    b[i + 1] = TcpOptionKind.Nop;
    b[i + 2] = TcpOptionKind.Sack;
    b[i + 3] = 2 + 8 * blocks;
    i += 4;
    for (let k = 0; k < blocks; k++) {
      const r = repr.sackRanges[k]!;
      set32(b, i, r.left);
      set32(b, i + 4, r.right);
      i += 8;
    }
  }
  return i - at;
}

function controlFlags(repr: TcpRepr): number {
  const c = repr.control;
  return (
    (c === 'syn' ? TcpFlag.Syn : c === 'fin' ? TcpFlag.Fin : c === 'rst' ? TcpFlag.Rst : 0) |
    (repr.push ? TcpFlag.Psh : 0) |
    (repr.ackNumber !== undefined ? TcpFlag.Ack : 0)
  );
}

/** Parse / size / emit a {@link TcpRepr}. */
export const TcpRepr = {
  /** A blank segment (all zero, no options): a template for tests and a reusable `parseInto` target. */
  create(): TcpRepr {
    return {
      srcPort: 0,
      dstPort: 0,
      control: 'none',
      push: false,
      seqNumber: 0,
      ackNumber: undefined,
      windowLen: 0,
      maxSegSize: undefined,
      windowScale: undefined,
      sackPermitted: false,
      sackRanges: [],
      timestamp: undefined,
      payload: NO_PAYLOAD,
    };
  },

  /**
   * Parse a checked segment into `out`, overwriting every field (its `sackRanges` array and
   * `timestamp` object are reused, so a hot path allocates only the payload view). The view
   * must span exactly the segment (the IP payload). Returns undefined, or: `malformed` for
   * port 0 or SYN+FIN / SYN+RST / FIN+RST, `bad-checksum` when the checksum fails (checked
   * unless `verifyChecksum` is false).
   */
  parseInto(p: TcpPacket, srcAddr: Ipv4Addr, dstAddr: Ipv4Addr, out: TcpRepr, verifyChecksum = true): WireError | undefined {
    const src = p.srcPort;
    const dst = p.dstPort;
    if (src === 0 || dst === 0) return WireError.Malformed;
    const f = p.flags;
    const syn = (f & TcpFlag.Syn) !== 0;
    const fin = (f & TcpFlag.Fin) !== 0;
    const rst = (f & TcpFlag.Rst) !== 0;
    if ((syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0) > 1) return WireError.Malformed;
    if (verifyChecksum && !p.verifyChecksum(srcAddr, dstAddr)) return WireError.BadChecksum;
    out.srcPort = src;
    out.dstPort = dst;
    out.control = syn ? 'syn' : fin ? 'fin' : rst ? 'rst' : 'none';
    out.push = (f & TcpFlag.Psh) !== 0;
    out.seqNumber = p.seqNumber;
    out.ackNumber = (f & TcpFlag.Ack) !== 0 ? p.ackNumber : undefined;
    out.windowLen = p.windowLen;
    out.maxSegSize = undefined;
    out.windowScale = undefined;
    out.sackPermitted = false;
    if (out.sackRanges.length !== 0) out.sackRanges.length = 0;
    const spare = out.timestamp;
    out.timestamp = undefined;
    if (p.optionsLen > 0) parseTcpOptions(p.buffer, p.optionsOffset, p.payloadOffset, out, spare);
    const pl = p.payloadLen;
    out.payload = pl === 0 ? NO_PAYLOAD : p.buffer.subarray(p.payloadOffset, p.payloadOffset + pl);
    return undefined;
  },

  /** {@link parseInto} a fresh record. */
  parse(p: TcpPacket, srcAddr: Ipv4Addr, dstAddr: Ipv4Addr, verifyChecksum = true): TcpRepr | WireError {
    const r = TcpRepr.create();
    return TcpRepr.parseInto(p, srcAddr, dstAddr, r, verifyChecksum) ?? r;
  },

  /** Header bytes (20 + options). */
  headerLen(repr: TcpRepr): number {
    return TCP_HEADER_LEN + tcpOptionsLen(repr);
  },

  /** Segment bytes: header + payload. */
  bufferLen(repr: TcpRepr): number {
    return TcpRepr.headerLen(repr) + repr.payload.length;
  },

  /**
   * Write only the header (options and checksum included) into `p`; the payload (of
   * `payloadLen` bytes whose partial sum is `payloadSum`) is sent from elsewhere by gather.
   */
  emitHeader(repr: TcpRepr, p: TcpPacket, srcAddr: Ipv4Addr, dstAddr: Ipv4Addr, payloadLen: number, payloadSum: number): void {
    const b = p.buffer;
    const hl = TCP_HEADER_LEN + emitTcpOptions(repr, b, p.optionsOffset);
    p.srcPort = repr.srcPort;
    p.dstPort = repr.dstPort;
    p.seqNumber = repr.seqNumber;
    p.ackNumber = repr.ackNumber ?? 0;
    p.headerLen = hl;
    p.flags = controlFlags(repr);
    p.windowLen = repr.windowLen;
    p.urgentPointer = 0;
    p.fillChecksumWithPayload(srcAddr, dstAddr, payloadLen, payloadSum);
  },

  /** Write the whole segment (header, copied payload, checksum) into `p` ({@link bufferLen} bytes). */
  emit(repr: TcpRepr, p: TcpPacket, srcAddr: Ipv4Addr, dstAddr: Ipv4Addr): void {
    const at = p.offset + TcpRepr.headerLen(repr);
    const pl = repr.payload;
    p.buffer.set(pl, at);
    TcpRepr.emitHeader(repr, p, srcAddr, dstAddr, pl.length, partialSum(p.buffer, at, pl.length));
  },
} as const;
