/**
 * Ethernet II frames.
 *
 * Read first: IEEE 802.3 §3.2 (frame layout), RFC 894 (IPv4 over Ethernet). 802.3 length/LLC
 * frames and 802.1Q tags are not decoded: their EtherType values are returned as plain numbers
 * and the receiver decides (usually: drop and count). The FCS is not part of the frames a TAP
 * device hands over, so it is not here either.
 */
import { get16, set16, get48, set48 } from './bytes.js';
import type { MacAddr } from './address.js';
import { WireError } from './error.js';
import { PacketView } from './view.js';

const F = { dst: 0, src: 6, ethertype: 12, payload: 14 } as const;

/** Bytes of an Ethernet II header (no 802.1Q tag). */
export const ETHERNET_HEADER_LEN = F.payload;
/** Smallest frame on the wire without FCS (IEEE 802.3: 64 with FCS); shorter frames are padded by the sender. */
export const ETHERNET_MIN_FRAME_LEN = 60;

/** EtherType values (IEEE registry); any other number is a valid, unknown type. */
export const EtherType = {
  Ipv4: 0x0800,
  Arp: 0x0806,
  Vlan: 0x8100,
  Ipv6: 0x86dd,
} as const;

/** Display name of an EtherType: the registry name or `0x%04x`. */
export function etherTypeName(t: number): string {
  for (const [k, v] of Object.entries(EtherType)) if (v === t) return k;
  return `0x${t.toString(16).padStart(4, '0')}`;
}

/** A view of an Ethernet II frame. */
export class EthernetFrame extends PacketView {
  check(): WireError | undefined {
    return this.n < ETHERNET_HEADER_LEN ? WireError.Truncated : undefined;
  }

  get dstAddr(): MacAddr {
    return get48(this.b, this.o + F.dst);
  }
  set dstAddr(v: MacAddr) {
    set48(this.b, this.o + F.dst, v);
  }
  get srcAddr(): MacAddr {
    return get48(this.b, this.o + F.src);
  }
  set srcAddr(v: MacAddr) {
    set48(this.b, this.o + F.src, v);
  }
  get ethertype(): number {
    return get16(this.b, this.o + F.ethertype);
  }
  set ethertype(v: number) {
    set16(this.b, this.o + F.ethertype, v);
  }

  /** Offset of the payload in {@link buffer}. */
  get payloadOffset(): number {
    return this.o + F.payload;
  }
  /** Payload length in bytes (including any padding the sender added). */
  get payloadLen(): number {
    return this.n - F.payload;
  }
  /** The payload as a subarray (allocates a view object; hot paths use payloadOffset/payloadLen). */
  payload(): Uint8Array {
    return this.b.subarray(this.o + F.payload, this.o + this.n);
  }
}

/** A parsed Ethernet II header. */
export interface EthernetRepr {
  srcAddr: MacAddr;
  dstAddr: MacAddr;
  ethertype: number;
}

/** Parse / size / emit an {@link EthernetRepr}. */
export const EthernetRepr = {
  /** From a checked frame (never fails: every header is representable). */
  parse(frame: EthernetFrame): EthernetRepr {
    return { srcAddr: frame.srcAddr, dstAddr: frame.dstAddr, ethertype: frame.ethertype };
  },
  /** Header bytes the repr needs. */
  bufferLen(): number {
    return ETHERNET_HEADER_LEN;
  },
  /** Write the header into `frame` (at least {@link ETHERNET_HEADER_LEN} bytes). */
  emit(repr: EthernetRepr, frame: EthernetFrame): void {
    frame.dstAddr = repr.dstAddr;
    frame.srcAddr = repr.srcAddr;
    frame.ethertype = repr.ethertype;
  },
} as const;
