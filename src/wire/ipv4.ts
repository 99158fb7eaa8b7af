/**
 * IPv4 datagrams.
 *
 * Read first: RFC 791 §3.1 (header format), RFC 1122 §3.2.1 (what a host checks on receipt),
 * RFC 2474/3168 (the DSCP/ECN byte), RFC 6864 (the ID field of atomic datagrams).
 *
 * Options are carried as raw bytes and not interpreted (a host MUST ignore options it does not
 * implement, RFC 1122 §3.2.1.8). Fragments are flagged (`moreFrags`, `fragOffset`), never
 * reassembled here.
 */
import { get16, get32, set16, set32 } from './bytes.js';
import type { Ipv4Addr } from './address.js';
import { finishSum, partialSum, sumVerifies } from './checksum.js';
import { WireError } from './error.js';
import { PacketView } from './view.js';

const F = {
  verIhl: 0,
  dscpEcn: 1,
  totalLen: 2,
  ident: 4,
  flagsFrag: 6,
  ttl: 8,
  protocol: 9,
  checksum: 10,
  src: 12,
  dst: 16,
  options: 20,
} as const;

/** Bytes of an IPv4 header without options. */
export const IPV4_HEADER_LEN = F.options;
/** Largest IPv4 header: IHL is 4 bits of 32-bit words (RFC 791). */
export const IPV4_MAX_HEADER_LEN = 60;
/** Every IPv4 host must accept datagrams of this size (RFC 791 §3.1 "Total Length"). */
export const IPV4_MIN_MTU = 576;

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_MASK = 0x1fff;

/** IP protocol numbers (IANA); any other number is a valid, unknown protocol. */
export const IpProtocol = { Icmp: 1, Tcp: 6, Udp: 17 } as const;

/** A view of an IPv4 datagram. */
export class Ipv4Packet extends PacketView {
  /**
   * Undefined when the header and the payload the Total Length field claims are inside the
   * view. Bytes past Total Length (Ethernet padding) are allowed and ignored.
   */
  check(): WireError | undefined {
    if (this.n < IPV4_HEADER_LEN) return WireError.Truncated;
    const hl = this.headerLen;
    if (hl < IPV4_HEADER_LEN) return WireError.Malformed;
    if (hl > this.n) return WireError.Truncated;
    const tl = this.totalLen;
    if (tl < hl) return WireError.Malformed;
    return tl > this.n ? WireError.Truncated : undefined;
  }

  get version(): number {
    return this.b[this.o + F.verIhl]! >>> 4;
  }
  /** Header length in bytes (IHL · 4). */
  get headerLen(): number {
    return (this.b[this.o + F.verIhl]! & 0x0f) * 4;
  }
  /** Set version 4 and the header length in bytes (a multiple of 4, 20..60). */
  setVersionAndHeaderLen(headerLen: number): void {
    this.b[this.o + F.verIhl] = 0x40 | ((headerLen >>> 2) & 0x0f);
  }
  get dscp(): number {
    return this.b[this.o + F.dscpEcn]! >>> 2;
  }
  get ecn(): number {
    return this.b[this.o + F.dscpEcn]! & 0x03;
  }
  setDscpEcn(dscp: number, ecn: number): void {
    this.b[this.o + F.dscpEcn] = ((dscp & 0x3f) << 2) | (ecn & 0x03);
  }
  get totalLen(): number {
    return get16(this.b, this.o + F.totalLen);
  }
  set totalLen(v: number) {
    set16(this.b, this.o + F.totalLen, v);
  }
  get ident(): number {
    return get16(this.b, this.o + F.ident);
  }
  set ident(v: number) {
    set16(this.b, this.o + F.ident, v);
  }
  get dontFrag(): boolean {
    return (get16(this.b, this.o + F.flagsFrag) & FLAG_DF) !== 0;
  }
  get moreFrags(): boolean {
    return (get16(this.b, this.o + F.flagsFrag) & FLAG_MF) !== 0;
  }
  /** Fragment offset in bytes (the field counts 8-byte units). */
  get fragOffset(): number {
    return (get16(this.b, this.o + F.flagsFrag) & FRAG_MASK) * 8;
  }
  /** Write the flags/fragment word: DF, MF and an offset in bytes (a multiple of 8). */
  setFragment(dontFrag: boolean, moreFrags: boolean, fragOffsetBytes: number): void {
    set16(
      this.b,
      this.o + F.flagsFrag,
      (dontFrag ? FLAG_DF : 0) | (moreFrags ? FLAG_MF : 0) | ((fragOffsetBytes >>> 3) & FRAG_MASK),
    );
  }
  /** Time to live. */
  get hopLimit(): number {
    return this.b[this.o + F.ttl]!;
  }
  set hopLimit(v: number) {
    this.b[this.o + F.ttl] = v;
  }
  get protocol(): number {
    return this.b[this.o + F.protocol]!;
  }
  set protocol(v: number) {
    this.b[this.o + F.protocol] = v;
  }
  get checksum(): number {
    return get16(this.b, this.o + F.checksum);
  }
  set checksum(v: number) {
    set16(this.b, this.o + F.checksum, v);
  }
  get srcAddr(): Ipv4Addr {
    return get32(this.b, this.o + F.src);
  }
  set srcAddr(v: Ipv4Addr) {
    set32(this.b, this.o + F.src, v);
  }
  get dstAddr(): Ipv4Addr {
    return get32(this.b, this.o + F.dst);
  }
  set dstAddr(v: Ipv4Addr) {
    set32(this.b, this.o + F.dst, v);
  }

  /** True when the header checksum verifies (RFC 791 "Header Checksum"). */
  verifyChecksum(): boolean {
    return sumVerifies(this.b, this.o, this.headerLen);
  }
  /** Compute and store the header checksum over `headerLen` bytes. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = finishSum(partialSum(this.b, this.o, this.headerLen));
  }

  /** Offset of the options in {@link buffer}, and their length (headerLen − 20). */
  get optionsOffset(): number {
    return this.o + F.options;
  }
  get optionsLen(): number {
    return this.headerLen - IPV4_HEADER_LEN;
  }
  /** Offset of the payload in {@link buffer}. */
  get payloadOffset(): number {
    return this.o + this.headerLen;
  }
  /** Payload length per Total Length (not the view length). */
  get payloadLen(): number {
    return this.totalLen - this.headerLen;
  }
  /** The payload as a subarray (allocates a view object). */
  payload(): Uint8Array {
    return this.b.subarray(this.payloadOffset, this.o + this.totalLen);
  }
}

/** A parsed, legal IPv4 header. */
export interface Ipv4Repr {
  srcAddr: Ipv4Addr;
  dstAddr: Ipv4Addr;
  /** Upper-layer protocol number (any value). */
  protocol: number;
  /** Payload bytes after the header (Total Length − header length). */
  payloadLen: number;
  /** Time to live. */
  hopLimit: number;
  dscp: number;
  ecn: number;
  ident: number;
  dontFrag: boolean;
  moreFrags: boolean;
  /** Fragment offset in bytes. */
  fragOffset: number;
  /** Raw option bytes (0..40, a view into the packet when parsed). */
  options: Uint8Array;
}

const NO_OPTIONS = new Uint8Array(0);

/** Parse / size / emit an {@link Ipv4Repr}. */
export const Ipv4Repr = {
  /**
   * From a checked packet: `malformed` unless version is 4, `bad-checksum` when the header
   * checksum fails (skipped with `verifyChecksum: false`, for fuzzing).
   */
  parse(p: Ipv4Packet, verifyChecksum = true): Ipv4Repr | WireError {
    if (p.version !== 4) return WireError.Malformed;
    if (verifyChecksum && !p.verifyChecksum()) return WireError.BadChecksum;
    const optLen = p.optionsLen;
    return {
      srcAddr: p.srcAddr,
      dstAddr: p.dstAddr,
      protocol: p.protocol,
      payloadLen: p.payloadLen,
      hopLimit: p.hopLimit,
      dscp: p.dscp,
      ecn: p.ecn,
      ident: p.ident,
      dontFrag: p.dontFrag,
      moreFrags: p.moreFrags,
      fragOffset: p.fragOffset,
      options: optLen === 0 ? NO_OPTIONS : p.buffer.subarray(p.optionsOffset, p.optionsOffset + optLen),
    };
  },
  /** Header bytes: 20 + options rounded up to 4, at most 60. */
  bufferLen(repr: Ipv4Repr): number {
    return Math.min(IPV4_MAX_HEADER_LEN, IPV4_HEADER_LEN + ((repr.options.length + 3) & ~3));
  },
  /**
   * Write the header (with checksum) into `p`; the payload is the caller's. Options are
   * padded with zeros (End of Option List) to a 4-byte boundary; past 40 bytes they are cut.
   */
  emit(repr: Ipv4Repr, p: Ipv4Packet): void {
    const hl = Ipv4Repr.bufferLen(repr);
    p.setVersionAndHeaderLen(hl);
    p.setDscpEcn(repr.dscp, repr.ecn);
    p.totalLen = hl + repr.payloadLen;
    p.ident = repr.ident;
    p.setFragment(repr.dontFrag, repr.moreFrags, repr.fragOffset);
    p.hopLimit = repr.hopLimit;
    p.protocol = repr.protocol;
    p.srcAddr = repr.srcAddr;
    p.dstAddr = repr.dstAddr;
    const optLen = hl - IPV4_HEADER_LEN;
    const at = p.optionsOffset;
    const opts = repr.options.length > optLen ? repr.options.subarray(0, optLen) : repr.options;
    p.buffer.set(opts, at);
    p.buffer.fill(0, at + opts.length, at + optLen);
    p.fillChecksum();
  },
  /** True when the datagram is one fragment of a larger one. */
  isFragment(repr: Ipv4Repr): boolean {
    return repr.moreFrags || repr.fragOffset !== 0;
  },
} as const;
