/**
 * Counters of the kernel's network entry and conventional path. Every received frame ends in
 * exactly one bucket — claimed by DPF, handled (answered or consumed), or dropped with a reason —
 * so `rxFrames == dpfClaimed + Σ handled + Σ drops` always holds (tests check it).
 * Counters live in a typed array indexed by fixed names: incrementing one allocates nothing.
 */

/** Why a frame was dropped. Stable names: the admin API and tests use them. */
export const DropReason = [
  'runt', // shorter than an Ethernet header
  'l2_other_host', // unicast to a MAC that is not ours
  'ethertype_unhandled', // neither ARP nor IPv4 (IPv6, VLAN, 802.3 length frames …)
  'arp_malformed',
  'arp_unsupported', // not Ethernet/IPv4 ARP
  'arp_other_target', // a request or reply not for our address
  'ipv4_truncated',
  'ipv4_malformed', // version, IHL, total length
  'ipv4_bad_checksum',
  'ipv4_bad_source', // broadcast, multicast, loopback or unspecified source (RFC 1122 §3.2.1.3)
  'ipv4_other_host', // destination is not this card's address
  'ipv4_fragment', // the conventional path does not reassemble
  'icmp_malformed',
  'icmp_bad_checksum',
  'icmp_unhandled', // any ICMP other than echo request
  'tcp_malformed',
  'tcp_bad_checksum',
  'tcp_rst_to_closed', // an RST to a closed port is never answered (RFC 9293 §3.10.7.1)
  'tcp_broadcast',
  'udp_malformed',
  'udp_bad_checksum',
  'udp_broadcast', // closed port, but broadcast: no ICMP error (RFC 1122 §3.2.2)
  'icmp_error_rate_limited', // an ICMP error was due but the token bucket was empty
  'proto_broadcast',
  'internal_error', // a bug threw while handling the frame (logged); the frame is dropped, the daemon lives
] as const;
export type DropReason = (typeof DropReason)[number];

/** What the conventional path did with a frame it kept. */
export const HandledKind = [
  'arp_request_answered',
  'arp_reply_learned',
  'icmp_echo_answered',
  'tcp_rst_sent',
  'udp_port_unreachable_sent',
  'ip_proto_unreachable_sent',
] as const;
export type HandledKind = (typeof HandledKind)[number];

const DROP_INDEX = new Map<DropReason, number>(DropReason.map((r, i) => [r, i]));
const HANDLED_INDEX = new Map<HandledKind, number>(HandledKind.map((k, i) => [k, i]));

/** Counters of one card (or the total). */
export class NetCounters {
  rxFrames = 0;
  dpfClaimed = 0;
  txFrames = 0;
  /** Transmits the card refused (its queue was full); the card counts them too. */
  txDropped = 0;
  gratuitousArpSent = 0;
  readonly #drops = new Float64Array(DropReason.length);
  readonly #handled = new Float64Array(HandledKind.length);

  drop(reason: DropReason): void {
    this.#drops[DROP_INDEX.get(reason) as number]! += 1;
  }

  handled(kind: HandledKind): void {
    this.#handled[HANDLED_INDEX.get(kind) as number]! += 1;
  }

  dropsTotal(): number {
    return this.#drops.reduce((a, b) => a + b, 0);
  }

  handledTotal(): number {
    return this.#handled.reduce((a, b) => a + b, 0);
  }

  /** Add another set of counters into this one (for totals). */
  addFrom(o: NetCounters): void {
    this.rxFrames += o.rxFrames;
    this.dpfClaimed += o.dpfClaimed;
    this.txFrames += o.txFrames;
    this.txDropped += o.txDropped;
    this.gratuitousArpSent += o.gratuitousArpSent;
    for (let i = 0; i < this.#drops.length; i++) this.#drops[i]! += o.#drops[i]!;
    for (let i = 0; i < this.#handled.length; i++) this.#handled[i]! += o.#handled[i]!;
  }

  toJSON(): {
    rxFrames: number;
    dpfClaimed: number;
    handled: Record<HandledKind, number>;
    drops: Record<DropReason, number>;
    txFrames: number;
    txDropped: number;
    gratuitousArpSent: number;
  } {
    return {
      rxFrames: this.rxFrames,
      dpfClaimed: this.dpfClaimed,
      handled: Object.fromEntries(HandledKind.map((k, i) => [k, this.#handled[i]])) as Record<HandledKind, number>,
      drops: Object.fromEntries(DropReason.map((r, i) => [r, this.#drops[i]])) as Record<DropReason, number>,
      txFrames: this.txFrames,
      txDropped: this.txDropped,
      gratuitousArpSent: this.gratuitousArpSent,
    };
  }
}
