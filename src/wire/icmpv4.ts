/**
 * ICMP for IPv4.
 *
 * Read first: RFC 792 (message formats), RFC 1122 §3.2.2 (what a host sends and accepts),
 * RFC 1191 §4 (Next-Hop MTU in "fragmentation needed"), RFC 1812 §4.3.2.3 (errors may quote
 * more than 8 bytes of the original datagram).
 *
 * The message is the whole IPv4 payload; its length comes from the IP layer (the view's
 * window), since ICMP has no length field of its own.
 */
import { get16, get32, set16, set32 } from './bytes.js';
import { finishSum, partialSum, sumVerifies } from './checksum.js';
import { WireError } from './error.js';
import { IPV4_HEADER_LEN } from './ipv4.js';
import { PacketView } from './view.js';

const F = { type: 0, code: 1, checksum: 2, rest: 4, ident: 4, seqNo: 6, mtu: 6, data: 8 } as const;

/** Bytes of the ICMP header (type, code, checksum, 4 bytes of "rest of header"). */
export const ICMPV4_HEADER_LEN = F.data;
/** An error must quote at least the offending IP header and 64 bits of its data (RFC 792). */
export const ICMPV4_MIN_QUOTE_LEN = IPV4_HEADER_LEN + 8;

/** ICMPv4 message types (IANA); any other number is a valid, unknown type. */
export const Icmpv4Type = {
  EchoReply: 0,
  DstUnreachable: 3,
  Redirect: 5,
  EchoRequest: 8,
  TimeExceeded: 11,
  ParamProblem: 12,
} as const;

/** Codes of Destination Unreachable (RFC 792, RFC 1122 §3.2.2.1). */
export const Icmpv4Unreachable = {
  NetUnreachable: 0,
  HostUnreachable: 1,
  ProtoUnreachable: 2,
  PortUnreachable: 3,
  FragRequired: 4,
  SrcRouteFailed: 5,
  AdminProhibited: 13,
} as const;

/** A view of an ICMPv4 message. */
export class Icmpv4Packet extends PacketView {
  /** Undefined when the 8-byte header is inside the view. */
  check(): WireError | undefined {
    return this.n < ICMPV4_HEADER_LEN ? WireError.Truncated : undefined;
  }

  get msgType(): number {
    return this.b[this.o + F.type]!;
  }
  set msgType(v: number) {
    this.b[this.o + F.type] = v;
  }
  get code(): number {
    return this.b[this.o + F.code]!;
  }
  set code(v: number) {
    this.b[this.o + F.code] = v;
  }
  get checksum(): number {
    return get16(this.b, this.o + F.checksum);
  }
  set checksum(v: number) {
    set16(this.b, this.o + F.checksum, v);
  }
  /** The 4 "rest of header" bytes as one 32-bit value. */
  get restOfHeader(): number {
    return get32(this.b, this.o + F.rest);
  }
  set restOfHeader(v: number) {
    set32(this.b, this.o + F.rest, v);
  }
  /** Echo identifier (echo request/reply). */
  get echoIdent(): number {
    return get16(this.b, this.o + F.ident);
  }
  /** Echo sequence number (echo request/reply). */
  get echoSeqNo(): number {
    return get16(this.b, this.o + F.seqNo);
  }
  /** Next-hop MTU of "fragmentation needed" (RFC 1191); 0 from old routers. */
  get nextHopMtu(): number {
    return get16(this.b, this.o + F.mtu);
  }

  /** Verify the checksum over the whole message (the view's length). */
  verifyChecksum(): boolean {
    return sumVerifies(this.b, this.o, this.n);
  }
  /** Compute and store the checksum over the whole message. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = finishSum(partialSum(this.b, this.o, this.n));
  }

  /** Offset of the data (after the 8-byte header) in {@link buffer}, and its length. */
  get dataOffset(): number {
    return this.o + F.data;
  }
  get dataLen(): number {
    return this.n - F.data;
  }
  /** The data as a subarray (allocates a view object). */
  data(): Uint8Array {
    return this.b.subarray(this.o + F.data, this.o + this.n);
  }
}

/** A parsed ICMPv4 message. Views (`data`, `quoted`) point into the parsed packet. */
export type Icmpv4Repr =
  | { kind: 'echo-request'; ident: number; seqNo: number; data: Uint8Array }
  | { kind: 'echo-reply'; ident: number; seqNo: number; data: Uint8Array }
  | {
      kind: 'dst-unreachable';
      /** One of {@link Icmpv4Unreachable} or another code. */
      code: number;
      /** RFC 1191 Next-Hop MTU (code 4), else 0. */
      nextHopMtu: number;
      /** The offending datagram's IP header and at least 8 bytes of its data. */
      quoted: Uint8Array;
    }
  | { kind: 'time-exceeded'; code: number; quoted: Uint8Array }
  /** Any other type: kept as a value, not refused. */
  | { kind: 'other'; msgType: number; code: number; restOfHeader: number; data: Uint8Array };

/** Undefined when `q` starts with a plausible IPv4 header followed by ≥ 8 bytes (RFC 792). */
function checkQuoted(q: Uint8Array): WireError | undefined {
  if (q.length < ICMPV4_MIN_QUOTE_LEN) return WireError.Truncated;
  const verIhl = q[0]!;
  const hl = (verIhl & 0x0f) * 4;
  if (verIhl >>> 4 !== 4 || hl < IPV4_HEADER_LEN) return WireError.Malformed;
  return hl + 8 > q.length ? WireError.Truncated : undefined;
}

/** Parse / size / emit an {@link Icmpv4Repr}. */
export const Icmpv4Repr = {
  /**
   * From a checked message: `bad-checksum` if it fails (skipped with `verifyChecksum: false`),
   * `truncated`/`malformed` when an error message does not quote a usable IPv4 header + 8 bytes.
   */
  parse(p: Icmpv4Packet, verifyChecksum = true): Icmpv4Repr | WireError {
    if (verifyChecksum && !p.verifyChecksum()) return WireError.BadChecksum;
    const data = p.data();
    switch (p.msgType) {
      case Icmpv4Type.EchoRequest:
        return { kind: 'echo-request', ident: p.echoIdent, seqNo: p.echoSeqNo, data };
      case Icmpv4Type.EchoReply:
        return { kind: 'echo-reply', ident: p.echoIdent, seqNo: p.echoSeqNo, data };
      case Icmpv4Type.DstUnreachable:
        return (
          checkQuoted(data) ?? {
            kind: 'dst-unreachable',
            code: p.code,
            nextHopMtu: p.code === Icmpv4Unreachable.FragRequired ? p.nextHopMtu : 0,
            quoted: data,
          }
        );
      case Icmpv4Type.TimeExceeded:
        return checkQuoted(data) ?? { kind: 'time-exceeded', code: p.code, quoted: data };
      default:
        return { kind: 'other', msgType: p.msgType, code: p.code, restOfHeader: p.restOfHeader, data };
    }
  },
  /** Message bytes: 8 + data or quote. */
  bufferLen(repr: Icmpv4Repr): number {
    return ICMPV4_HEADER_LEN + ('quoted' in repr ? repr.quoted.length : repr.data.length);
  },
  /** Write the whole message into `p` (exactly {@link bufferLen} bytes), checksum included. */
  emit(repr: Icmpv4Repr, p: Icmpv4Packet): void {
    let body: Uint8Array;
    switch (repr.kind) {
      case 'echo-request':
      case 'echo-reply':
        p.msgType = repr.kind === 'echo-request' ? Icmpv4Type.EchoRequest : Icmpv4Type.EchoReply;
        p.code = 0;
        p.restOfHeader = ((repr.ident & 0xffff) << 16) | (repr.seqNo & 0xffff);
        body = repr.data;
        break;
      case 'dst-unreachable':
        p.msgType = Icmpv4Type.DstUnreachable;
        p.code = repr.code;
        p.restOfHeader = repr.nextHopMtu & 0xffff;
        body = repr.quoted;
        break;
      case 'time-exceeded':
        p.msgType = Icmpv4Type.TimeExceeded;
        p.code = repr.code;
        p.restOfHeader = 0;
        body = repr.quoted;
        break;
      case 'other':
        p.msgType = repr.msgType;
        p.code = repr.code;
        p.restOfHeader = repr.restOfHeader;
        body = repr.data;
        break;
    }
    p.buffer.set(body, p.dataOffset);
    p.fillChecksum();
  },
} as const;
