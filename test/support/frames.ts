/**
 * Frame builders for tests: whole Ethernet frames from a few fields, emitted through
 * `src/wire`'s Reprs (so tests exercise the same code the stacks use).
 */
import {
  ARP_ETHERNET_IPV4_LEN,
  ArpOperation,
  ArpPacket,
  ArpRepr,
  ETHERNET_HEADER_LEN,
  EtherType,
  EthernetFrame,
  EthernetRepr,
  IPV4_HEADER_LEN,
  Icmpv4Packet,
  Icmpv4Repr,
  IpProtocol,
  Ipv4Packet,
  Ipv4Repr,
  TcpPacket,
  TcpRepr,
  UdpPacket,
  UdpRepr,
  parseIpv4,
  type Ipv4Addr,
  type MacAddr,
} from '../../src/wire/index.js';

export const ip4 = (text: string): Ipv4Addr => {
  const a = parseIpv4(text);
  if (a === undefined) throw new Error(`bad address ${text}`);
  return a;
};
export const mac = (text: string): MacAddr => Number.parseInt(text.replaceAll(':', ''), 16);

export interface L2 {
  src: MacAddr;
  dst: MacAddr;
}

function ethernet(l2: L2, ethertype: number, payloadLen: number): { frame: Uint8Array; at: number } {
  const frame = new Uint8Array(ETHERNET_HEADER_LEN + payloadLen);
  EthernetRepr.emit({ srcAddr: l2.src, dstAddr: l2.dst, ethertype }, EthernetFrame.unchecked(frame));
  return { frame, at: ETHERNET_HEADER_LEN };
}

export function arpFrame(l2: L2, op: 'request' | 'reply', f: { sha: MacAddr; spa: Ipv4Addr; tha: MacAddr; tpa: Ipv4Addr }): Uint8Array {
  const { frame, at } = ethernet(l2, EtherType.Arp, ARP_ETHERNET_IPV4_LEN);
  ArpRepr.emit(
    {
      operation: op === 'request' ? ArpOperation.Request : ArpOperation.Reply,
      senderHardwareAddr: f.sha,
      senderProtocolAddr: f.spa,
      targetHardwareAddr: f.tha,
      targetProtocolAddr: f.tpa,
    },
    ArpPacket.unchecked(frame, at),
  );
  return frame;
}

export interface L3 extends L2 {
  srcIp: Ipv4Addr;
  dstIp: Ipv4Addr;
  ttl?: number;
}

function ipv4(l3: L3, protocol: number, payloadLen: number): { frame: Uint8Array; at: number; ip: Ipv4Repr } {
  const { frame, at } = ethernet(l3, EtherType.Ipv4, IPV4_HEADER_LEN + payloadLen);
  const ip: Ipv4Repr = {
    srcAddr: l3.srcIp,
    dstAddr: l3.dstIp,
    protocol,
    payloadLen,
    hopLimit: l3.ttl ?? 64,
    dscp: 0,
    ecn: 0,
    ident: 1,
    dontFrag: true,
    moreFrags: false,
    fragOffset: 0,
    options: new Uint8Array(0),
  };
  Ipv4Repr.emit(ip, Ipv4Packet.unchecked(frame, at));
  return { frame, at: at + IPV4_HEADER_LEN, ip };
}

export function icmpEchoFrame(l3: L3, ident: number, seqNo: number, data: Uint8Array): Uint8Array {
  const repr: Icmpv4Repr = { kind: 'echo-request', ident, seqNo, data };
  const { frame, at } = ipv4(l3, IpProtocol.Icmp, Icmpv4Repr.bufferLen(repr));
  Icmpv4Repr.emit(repr, Icmpv4Packet.unchecked(frame, at));
  return frame;
}

export function udpFrame(l3: L3, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const repr: UdpRepr = { srcPort, dstPort, payload };
  const { frame, at } = ipv4(l3, IpProtocol.Udp, UdpRepr.bufferLen(repr));
  UdpRepr.emit(repr, UdpPacket.unchecked(frame, at), l3.srcIp, l3.dstIp);
  return frame;
}

export function tcpFrame(l3: L3, fields: Partial<TcpRepr> & { srcPort: number; dstPort: number }): Uint8Array {
  const repr: TcpRepr = { ...TcpRepr.create(), ...fields };
  const { frame, at } = ipv4(l3, IpProtocol.Tcp, TcpRepr.bufferLen(repr));
  TcpRepr.emit(repr, TcpPacket.unchecked(frame, at), l3.srcIp, l3.dstIp);
  return frame;
}
