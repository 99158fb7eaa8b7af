/**
 * UDP datagrams.
 *
 * Read first: RFC 768, RFC 1122 §4.1.3.4 (a zero checksum means "none" over IPv4; a computed
 * zero is sent as all ones).
 */
import { get16, set16 } from './bytes.js';
import type { Ipv4Addr } from './address.js';
import { finishSum, partialSum, pseudoHeaderSum, sumVerifies } from './checksum.js';
import { WireError } from './error.js';
import { IpProtocol } from './ipv4.js';
import { PortsView } from './ports.js';

const F = { length: 4, checksum: 6, payload: 8 } as const;

/** Bytes of a UDP header. */
export const UDP_HEADER_LEN = F.payload;

/** A view of a UDP datagram. */
export class UdpPacket extends PortsView {
  /** Undefined when the header fits and the Length field is between 8 and the view length. */
  check(): WireError | undefined {
    if (this.n < UDP_HEADER_LEN) return WireError.Truncated;
    const len = this.lengthField;
    if (len < UDP_HEADER_LEN) return WireError.Malformed;
    return len > this.n ? WireError.Truncated : undefined;
  }

  /** The Length field: header + data in bytes. */
  get lengthField(): number {
    return get16(this.b, this.o + F.length);
  }
  set lengthField(v: number) {
    set16(this.b, this.o + F.length, v);
  }
  get checksum(): number {
    return get16(this.b, this.o + F.checksum);
  }
  set checksum(v: number) {
    set16(this.b, this.o + F.checksum, v);
  }

  /** True when the checksum is absent (0) or verifies with the pseudo-header. */
  verifyChecksum(srcAddr: Ipv4Addr, dstAddr: Ipv4Addr): boolean {
    if (this.checksum === 0) return true;
    const len = this.lengthField;
    return sumVerifies(this.b, this.o, len, pseudoHeaderSum(srcAddr, dstAddr, IpProtocol.Udp, len));
  }
  /** Compute and store the checksum (0 is sent as 0xffff, RFC 768). */
  fillChecksum(srcAddr: Ipv4Addr, dstAddr: Ipv4Addr): void {
    const len = this.lengthField;
    this.checksum = 0;
    const c = finishSum(partialSum(this.b, this.o, len, pseudoHeaderSum(srcAddr, dstAddr, IpProtocol.Udp, len)));
    this.checksum = c === 0 ? 0xffff : c;
  }

  get payloadOffset(): number {
    return this.o + F.payload;
  }
  /** Payload length per the Length field. */
  get payloadLen(): number {
    return this.lengthField - F.payload;
  }
  /** The payload as a subarray (allocates a view object). */
  payload(): Uint8Array {
    return this.b.subarray(this.o + F.payload, this.o + this.lengthField);
  }
}

/** A parsed UDP datagram. */
export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** A view into the parsed packet. */
  payload: Uint8Array;
}

/** Parse / size / emit a {@link UdpRepr}. */
export const UdpRepr = {
  /**
   * From a checked packet: `malformed` for destination port 0 (RFC 768 reserves it),
   * `bad-checksum` when a present checksum fails (skipped with `verifyChecksum: false`).
   */
  parse(p: UdpPacket, srcAddr: Ipv4Addr, dstAddr: Ipv4Addr, verifyChecksum = true): UdpRepr | WireError {
    if (p.dstPort === 0) return WireError.Malformed;
    if (verifyChecksum && !p.verifyChecksum(srcAddr, dstAddr)) return WireError.BadChecksum;
    return { srcPort: p.srcPort, dstPort: p.dstPort, payload: p.payload() };
  },
  bufferLen(repr: UdpRepr): number {
    return UDP_HEADER_LEN + repr.payload.length;
  },
  /** Write the whole datagram (header, copied payload, checksum) into `p`. */
  emit(repr: UdpRepr, p: UdpPacket, srcAddr: Ipv4Addr, dstAddr: Ipv4Addr): void {
    p.srcPort = repr.srcPort;
    p.dstPort = repr.dstPort;
    p.lengthField = UDP_HEADER_LEN + repr.payload.length;
    p.buffer.set(repr.payload, p.payloadOffset);
    p.fillChecksum(srcAddr, dstAddr);
  },
} as const;
