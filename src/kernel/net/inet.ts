/**
 * The kernel's conventional network path: what Linux's own stack does for the machine's address
 * on each card when no DPF filter claimed the frame.
 *
 * Read first: RFC 826 (ARP), RFC 5227 §3 (gratuitous ARP announcement), RFC 791 and RFC 1122
 * §3.2.1 (IPv4 input checks), RFC 792 and RFC 1122 §3.2.2 (ICMP echo, when not to send ICMP
 * errors), RFC 1812 §4.3.2.8 (ICMP error rate limiting), RFC 9293 §3.10.7.1 (segments to a
 * closed port: the RST rules).
 *
 * It answers ARP requests for the card's address, ICMP echo requests, TCP segments to any port
 * (all ports are closed here: Cheetah's port 80 is claimed by DPF before this path) with RST,
 * and UDP datagrams or unknown IP protocols with rate-limited ICMP unreachable. Everything else
 * is dropped and counted by reason. Nothing here throws on frame contents.
 *
 * Replies go to the Ethernet source of the frame that caused them (the card is a point-to-point
 * link to the host), built in the card's reusable transmit buffer: no allocation per frame.
 */
import {
  ARP_ETHERNET_IPV4_LEN,
  ARP_HARDWARE_ETHERNET,
  ArpOperation,
  ArpPacket,
  ETHERNET_HEADER_LEN,
  EtherType,
  EthernetFrame,
  ICMPV4_HEADER_LEN,
  IPV4_BROADCAST,
  IPV4_HEADER_LEN,
  IPV4_UNSPECIFIED,
  Icmpv4Packet,
  Icmpv4Type,
  Icmpv4Unreachable,
  IpProtocol,
  Ipv4Packet,
  MAC_BROADCAST,
  TCP_HEADER_LEN,
  TcpFlag,
  TcpPacket,
  UdpPacket,
  isIpv4Loopback,
  isIpv4Multicast,
  ipv4SubnetBroadcast,
  type Ipv4Addr,
} from '../../wire/index.js';
import type { NetIface } from './iface.js';

/** RFC 1812 §4.3.2.3: an ICMP error carries as much of the offending datagram as fits in 576 bytes. */
const ICMP_ERROR_MAX_DATAGRAM = 576;
/** Linux's default TTL (net.ipv4.ip_default_ttl). */
const DEFAULT_TTL = 64;

/** Sends a frame built in `iface.txBuf[0, len)` out of the card. */
export type Transmit = (iface: NetIface, len: number) => void;

export class Inet {
  // One view per layer for input and one for output: reused for every frame.
  readonly #eth = new EthernetFrame();
  readonly #arp = new ArpPacket();
  readonly #ip = new Ipv4Packet();
  readonly #icmp = new Icmpv4Packet();
  readonly #tcp = new TcpPacket();
  readonly #udp = new UdpPacket();
  readonly #oEth = new EthernetFrame();
  readonly #oArp = new ArpPacket();
  readonly #oIp = new Ipv4Packet();
  readonly #oIcmp = new Icmpv4Packet();
  readonly #oTcp = new TcpPacket();
  #ipIdent = 0;

  constructor(
    readonly transmit: Transmit,
    readonly nowMs: () => number,
  ) {}

  /** Handle one frame the DPF filters did not claim. `frame` is only valid during the call. */
  input(iface: NetIface, frame: Uint8Array): void {
    const c = iface.counters;
    const eth = this.#eth.reset(frame);
    if (eth.check() !== undefined) return c.drop('runt');
    const dst = eth.dstAddr;
    const type = eth.ethertype;
    if (dst !== iface.mac && dst !== MAC_BROADCAST) {
      return c.drop(type === EtherType.Ipv4 || type === EtherType.Arp ? 'l2_other_host' : 'ethertype_unhandled');
    }
    if (type === EtherType.Arp) return this.#arpInput(iface, eth);
    if (type === EtherType.Ipv4) return this.#ipv4Input(iface, eth);
    c.drop('ethertype_unhandled');
  }

  /** RFC 5227 §2.3 announcement: an ARP request whose sender and target are our own address. */
  sendGratuitousArp(iface: NetIface): void {
    this.#emitArp(iface, ArpOperation.Request, MAC_BROADCAST, 0, iface.ip);
    iface.counters.gratuitousArpSent++;
  }

  #arpInput(iface: NetIface, eth: EthernetFrame): void {
    const c = iface.counters;
    const arp = this.#arp.reset(eth.buffer, eth.payloadOffset, eth.payloadLen);
    if (arp.check() !== undefined) return c.drop('arp_malformed');
    if (
      arp.hardwareType !== ARP_HARDWARE_ETHERNET ||
      arp.protocolType !== EtherType.Ipv4 ||
      arp.hardwareLen !== 6 ||
      arp.protocolLen !== 4
    ) {
      return c.drop('arp_unsupported');
    }
    const op = arp.operation;
    const spa = arp.senderProtocolAddr;
    const sha = arp.senderHardwareAddr;
    const now = this.nowMs();
    // RFC 826 "merge": refresh a sender we already know, whoever the packet is for.
    const known = spa !== IPV4_UNSPECIFIED && iface.arp.refresh(spa, sha, now);
    if (arp.targetProtocolAddr !== iface.ip || (op !== ArpOperation.Request && op !== ArpOperation.Reply)) {
      return c.drop('arp_other_target');
    }
    if (!known && spa !== IPV4_UNSPECIFIED && !isIpv4Multicast(spa) && spa !== IPV4_BROADCAST) {
      iface.arp.learn(spa, sha, now);
    }
    if (op === ArpOperation.Reply) return c.handled('arp_reply_learned');
    this.#emitArp(iface, ArpOperation.Reply, sha, sha, spa);
    c.handled('arp_request_answered');
  }

  #emitArp(iface: NetIface, op: number, ethDst: number, tha: number, tpa: Ipv4Addr): void {
    const buf = iface.txBuf;
    const eth = this.#oEth.reset(buf, 0, ETHERNET_HEADER_LEN + ARP_ETHERNET_IPV4_LEN);
    eth.dstAddr = ethDst;
    eth.srcAddr = iface.mac;
    eth.ethertype = EtherType.Arp;
    const a = this.#oArp.reset(buf, ETHERNET_HEADER_LEN, ARP_ETHERNET_IPV4_LEN);
    a.hardwareType = ARP_HARDWARE_ETHERNET;
    a.protocolType = EtherType.Ipv4;
    a.hardwareLen = 6;
    a.protocolLen = 4;
    a.operation = op;
    a.senderHardwareAddr = iface.mac;
    a.senderProtocolAddr = iface.ip;
    a.targetHardwareAddr = tha;
    a.targetProtocolAddr = tpa;
    this.transmit(iface, ETHERNET_HEADER_LEN + ARP_ETHERNET_IPV4_LEN);
  }

  #ipv4Input(iface: NetIface, eth: EthernetFrame): void {
    const c = iface.counters;
    const ip = this.#ip.reset(eth.buffer, eth.payloadOffset, eth.payloadLen);
    const err = ip.check();
    if (err === 'truncated') return c.drop('ipv4_truncated');
    if (err !== undefined || ip.version !== 4) return c.drop('ipv4_malformed');
    if (!ip.verifyChecksum()) return c.drop('ipv4_bad_checksum');
    const src = ip.srcAddr;
    const bcast = ipv4SubnetBroadcast(iface.ip, iface.prefixLen);
    if (src === IPV4_BROADCAST || src === bcast || isIpv4Multicast(src) || isIpv4Loopback(src)) {
      return c.drop('ipv4_bad_source');
    }
    const dst = ip.dstAddr;
    const toUs = dst === iface.ip;
    const broadcast = dst === IPV4_BROADCAST || dst === bcast || isIpv4Multicast(dst);
    if (!toUs && !broadcast) return c.drop('ipv4_other_host');
    if (ip.moreFrags || ip.fragOffset !== 0) return c.drop('ipv4_fragment');
    switch (ip.protocol) {
      case IpProtocol.Icmp:
        return this.#icmpInput(iface, eth, ip, toUs);
      case IpProtocol.Tcp:
        return this.#tcpInput(iface, eth, ip, toUs);
      case IpProtocol.Udp:
        return this.#udpInput(iface, eth, ip, toUs);
      default:
        if (!toUs || src === IPV4_UNSPECIFIED) return c.drop('proto_broadcast');
        return this.#sendUnreachable(iface, eth, ip, Icmpv4Unreachable.ProtoUnreachable, 'ip_proto_unreachable_sent');
    }
  }

  #icmpInput(iface: NetIface, eth: EthernetFrame, ip: Ipv4Packet, toUs: boolean): void {
    const c = iface.counters;
    const icmp = this.#icmp.reset(ip.buffer, ip.payloadOffset, ip.payloadLen);
    if (icmp.check() !== undefined) return c.drop('icmp_malformed');
    if (!icmp.verifyChecksum()) return c.drop('icmp_bad_checksum');
    // RFC 1122 §3.2.2.6: echo to a broadcast address MAY be silently discarded; Linux does.
    if (icmp.msgType !== Icmpv4Type.EchoRequest || !toUs || ip.srcAddr === IPV4_UNSPECIFIED) {
      return c.drop('icmp_unhandled');
    }
    // Echo reply: same identifier, sequence and data (RFC 792); IP options are not reflected.
    const icmpLen = ip.payloadLen;
    const buf = iface.txBuf;
    if (ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + icmpLen > buf.length) return c.drop('icmp_malformed');
    const at = this.#emitIpHeader(iface, eth.srcAddr, ip.srcAddr, IpProtocol.Icmp, icmpLen);
    buf.set(icmp.bytes(), at);
    const out = this.#oIcmp.reset(buf, at, icmpLen);
    out.msgType = Icmpv4Type.EchoReply;
    out.code = 0;
    out.fillChecksum();
    this.transmit(iface, at + icmpLen);
    c.handled('icmp_echo_answered');
  }

  #tcpInput(iface: NetIface, eth: EthernetFrame, ip: Ipv4Packet, toUs: boolean): void {
    const c = iface.counters;
    const tcp = this.#tcp.reset(ip.buffer, ip.payloadOffset, ip.payloadLen);
    if (tcp.check() !== undefined) return c.drop('tcp_malformed');
    if (!toUs) return c.drop('tcp_broadcast');
    if (!tcp.verifyChecksum(ip.srcAddr, ip.dstAddr)) return c.drop('tcp_bad_checksum');
    // RFC 9293 §3.10.7.1, state CLOSED: an incoming RST is discarded; otherwise answer with
    // <SEQ=SEG.ACK><CTL=RST> if ACK is set, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    const flags = tcp.flags;
    if ((flags & TcpFlag.Rst) !== 0) return c.drop('tcp_rst_to_closed');
    if (ip.srcAddr === IPV4_UNSPECIFIED) return c.drop('tcp_malformed');
    let seq = 0;
    let ack = 0;
    let outFlags = TcpFlag.Rst;
    if ((flags & TcpFlag.Ack) !== 0) {
      seq = tcp.ackNumber;
    } else {
      const segLen = tcp.payloadLen + ((flags & TcpFlag.Syn) !== 0 ? 1 : 0) + ((flags & TcpFlag.Fin) !== 0 ? 1 : 0);
      ack = (tcp.seqNumber + segLen) >>> 0;
      outFlags |= TcpFlag.Ack;
    }
    const at = this.#emitIpHeader(iface, eth.srcAddr, ip.srcAddr, IpProtocol.Tcp, TCP_HEADER_LEN);
    const out = this.#oTcp.reset(iface.txBuf, at, TCP_HEADER_LEN);
    out.srcPort = tcp.dstPort;
    out.dstPort = tcp.srcPort;
    out.seqNumber = seq;
    out.ackNumber = ack;
    out.headerLen = TCP_HEADER_LEN;
    out.flags = outFlags;
    out.windowLen = 0;
    out.urgentPointer = 0;
    out.fillChecksum(iface.ip, ip.srcAddr);
    this.transmit(iface, at + TCP_HEADER_LEN);
    c.handled('tcp_rst_sent');
  }

  #udpInput(iface: NetIface, eth: EthernetFrame, ip: Ipv4Packet, toUs: boolean): void {
    const c = iface.counters;
    const udp = this.#udp.reset(ip.buffer, ip.payloadOffset, ip.payloadLen);
    if (udp.check() !== undefined) return c.drop('udp_malformed');
    if (!udp.verifyChecksum(ip.srcAddr, ip.dstAddr)) return c.drop('udp_bad_checksum');
    // No UDP sockets in the conventional path: every port is closed.
    if (!toUs || ip.srcAddr === IPV4_UNSPECIFIED) return c.drop('udp_broadcast');
    this.#sendUnreachable(iface, eth, ip, Icmpv4Unreachable.PortUnreachable, 'udp_port_unreachable_sent');
  }

  /** ICMP destination unreachable quoting the offending datagram, under the card's rate limit. */
  #sendUnreachable(
    iface: NetIface,
    eth: EthernetFrame,
    ip: Ipv4Packet,
    code: number,
    kind: 'udp_port_unreachable_sent' | 'ip_proto_unreachable_sent',
  ): void {
    if (!iface.icmpErrors.take(this.nowMs())) return iface.counters.drop('icmp_error_rate_limited');
    const quoteLen = Math.min(ip.totalLen, ICMP_ERROR_MAX_DATAGRAM - IPV4_HEADER_LEN - ICMPV4_HEADER_LEN);
    const icmpLen = ICMPV4_HEADER_LEN + quoteLen;
    const at = this.#emitIpHeader(iface, eth.srcAddr, ip.srcAddr, IpProtocol.Icmp, icmpLen);
    const buf = iface.txBuf;
    buf.set(ip.buffer.subarray(ip.offset, ip.offset + quoteLen), at + ICMPV4_HEADER_LEN);
    const out = this.#oIcmp.reset(buf, at, icmpLen);
    out.msgType = Icmpv4Type.DstUnreachable;
    out.code = code;
    out.restOfHeader = 0;
    out.fillChecksum();
    this.transmit(iface, at + icmpLen);
    iface.counters.handled(kind);
  }

  /** Write Ethernet + IPv4 headers for a reply into the card's tx buffer; returns the payload offset. */
  #emitIpHeader(iface: NetIface, ethDst: number, ipDst: Ipv4Addr, protocol: number, payloadLen: number): number {
    const buf = iface.txBuf;
    const eth = this.#oEth.reset(buf, 0, ETHERNET_HEADER_LEN);
    eth.dstAddr = ethDst;
    eth.srcAddr = iface.mac;
    eth.ethertype = EtherType.Ipv4;
    const ip = this.#oIp.reset(buf, ETHERNET_HEADER_LEN, IPV4_HEADER_LEN + payloadLen);
    ip.setVersionAndHeaderLen(IPV4_HEADER_LEN);
    ip.setDscpEcn(0, 0);
    ip.totalLen = IPV4_HEADER_LEN + payloadLen;
    this.#ipIdent = (this.#ipIdent + 1) & 0xffff;
    ip.ident = this.#ipIdent;
    ip.setFragment(true, false, 0);
    ip.hopLimit = DEFAULT_TTL;
    ip.protocol = protocol;
    ip.srcAddr = iface.ip;
    ip.dstAddr = ipDst;
    ip.fillChecksum();
    return ETHERNET_HEADER_LEN + IPV4_HEADER_LEN;
  }
}

