/**
 * ARP packets.
 *
 * Read first: RFC 826 (packet format and the receiver's algorithm), RFC 5227 §2.1.1 (ARP
 * probes carry sender protocol address 0.0.0.0).
 *
 * The view reads the generic RFC 826 layout (any hardware/protocol address sizes); the repr
 * covers only Ethernet + IPv4, the one pairing this machine speaks, and answers `unsupported`
 * for anything else.
 */
import { get16, get32, get48, set16, set32, set48 } from './bytes.js';
import type { Ipv4Addr, MacAddr } from './address.js';
import { EtherType } from './ethernet.js';
import { WireError } from './error.js';
import { PacketView } from './view.js';

const F = { htype: 0, ptype: 2, hlen: 4, plen: 5, oper: 6, sha: 8 } as const;
/** Fixed part of every ARP packet, before the four addresses. */
const FIXED_LEN = F.sha;

/** ARP hardware type for Ethernet (RFC 826 ar$hrd). */
export const ARP_HARDWARE_ETHERNET = 1;
/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_ETHERNET_IPV4_LEN = FIXED_LEN + 2 * (6 + 4);

/** ARP operation codes (RFC 826 ar$op); any other number is a value the repr keeps. */
export const ArpOperation = { Request: 1, Reply: 2 } as const;

/** A view of an ARP packet (generic address sizes). */
export class ArpPacket extends PacketView {
  /** Undefined when the fixed part and all four addresses fit, else `truncated`. */
  check(): WireError | undefined {
    if (this.n < FIXED_LEN) return WireError.Truncated;
    return this.n < FIXED_LEN + 2 * (this.hardwareLen + this.protocolLen) ? WireError.Truncated : undefined;
  }

  get hardwareType(): number {
    return get16(this.b, this.o + F.htype);
  }
  set hardwareType(v: number) {
    set16(this.b, this.o + F.htype, v);
  }
  get protocolType(): number {
    return get16(this.b, this.o + F.ptype);
  }
  set protocolType(v: number) {
    set16(this.b, this.o + F.ptype, v);
  }
  get hardwareLen(): number {
    return this.b[this.o + F.hlen]!;
  }
  set hardwareLen(v: number) {
    this.b[this.o + F.hlen] = v;
  }
  get protocolLen(): number {
    return this.b[this.o + F.plen]!;
  }
  set protocolLen(v: number) {
    this.b[this.o + F.plen] = v;
  }
  get operation(): number {
    return get16(this.b, this.o + F.oper);
  }
  set operation(v: number) {
    set16(this.b, this.o + F.oper, v);
  }

  /** Offsets (in {@link buffer}) of the four variable-length address fields. */
  get senderHardwareOffset(): number {
    return this.o + F.sha;
  }
  get senderProtocolOffset(): number {
    return this.senderHardwareOffset + this.hardwareLen;
  }
  get targetHardwareOffset(): number {
    return this.senderProtocolOffset + this.protocolLen;
  }
  get targetProtocolOffset(): number {
    return this.targetHardwareOffset + this.hardwareLen;
  }

  /** Sender MAC; meaningful only when hardwareLen is 6. */
  get senderHardwareAddr(): MacAddr {
    return get48(this.b, this.senderHardwareOffset);
  }
  set senderHardwareAddr(v: MacAddr) {
    set48(this.b, this.senderHardwareOffset, v);
  }
  /** Sender IPv4 address; meaningful only when protocolLen is 4. */
  get senderProtocolAddr(): Ipv4Addr {
    return get32(this.b, this.senderProtocolOffset);
  }
  set senderProtocolAddr(v: Ipv4Addr) {
    set32(this.b, this.senderProtocolOffset, v);
  }
  get targetHardwareAddr(): MacAddr {
    return get48(this.b, this.targetHardwareOffset);
  }
  set targetHardwareAddr(v: MacAddr) {
    set48(this.b, this.targetHardwareOffset, v);
  }
  get targetProtocolAddr(): Ipv4Addr {
    return get32(this.b, this.targetProtocolOffset);
  }
  set targetProtocolAddr(v: Ipv4Addr) {
    set32(this.b, this.targetProtocolOffset, v);
  }
}

/** An Ethernet/IPv4 ARP packet. */
export interface ArpRepr {
  /** 1 request, 2 reply; other values are kept as they are. */
  operation: number;
  senderHardwareAddr: MacAddr;
  senderProtocolAddr: Ipv4Addr;
  targetHardwareAddr: MacAddr;
  targetProtocolAddr: Ipv4Addr;
}

/** Parse / size / emit an {@link ArpRepr}. */
export const ArpRepr = {
  /** From a checked packet; `unsupported` unless it is Ethernet (6-byte) / IPv4 (4-byte). */
  parse(p: ArpPacket): ArpRepr | WireError {
    if (
      p.hardwareType !== ARP_HARDWARE_ETHERNET ||
      p.protocolType !== EtherType.Ipv4 ||
      p.hardwareLen !== 6 ||
      p.protocolLen !== 4
    ) {
      return WireError.Unsupported;
    }
    return {
      operation: p.operation,
      senderHardwareAddr: p.senderHardwareAddr,
      senderProtocolAddr: p.senderProtocolAddr,
      targetHardwareAddr: p.targetHardwareAddr,
      targetProtocolAddr: p.targetProtocolAddr,
    };
  },
  bufferLen(): number {
    return ARP_ETHERNET_IPV4_LEN;
  },
  /** Write the whole packet into `p` (at least {@link ARP_ETHERNET_IPV4_LEN} bytes). */
  emit(repr: ArpRepr, p: ArpPacket): void {
    p.hardwareType = ARP_HARDWARE_ETHERNET;
    p.protocolType = EtherType.Ipv4;
    p.hardwareLen = 6;
    p.protocolLen = 4;
    p.operation = repr.operation;
    p.senderHardwareAddr = repr.senderHardwareAddr;
    p.senderProtocolAddr = repr.senderProtocolAddr;
    p.targetHardwareAddr = repr.targetHardwareAddr;
    p.targetProtocolAddr = repr.targetProtocolAddr;
  },
} as const;
