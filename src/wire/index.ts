/**
 * @module wire
 *
 * Pure packet formats: Ethernet II, ARP, IPv4, ICMPv4, UDP, TCP, the Internet checksum and
 * address helpers. Linked both by the kernel's conventional network path and by Cheetah's
 * user-level stack, as a kernel and a user library can include the same protocol headers.
 *
 * Two levels, after smoltcp's `wire` (model-codebases §1.2):
 * - `XxxPacket` / `EthernetFrame`: views over a Uint8Array with named offsets, re-pointable
 *   with `reset(buf, offset, length)` so hot paths keep one view per layer and allocate
 *   nothing per packet. For untrusted bytes call `checked()` (or `reset` then `check()`);
 *   after a successful check no accessor reads outside the view. `unchecked()` is for buffers
 *   the caller sized itself (emit) — checking those would be wrong, since a reused buffer holds
 *   stale lengths.
 * - `XxxRepr`: plain records with `parse` / `bufferLen` / `emit`. Whatever `parse` returns is
 *   legal by construction; everything else is a {@link WireError} value. Nothing here throws
 *   on packet input.
 *
 * Unknown protocol numbers (EtherType, IP protocol, ICMP type, TCP option kind) are values,
 * never errors: the layer above decides what to drop.
 *
 * This layer holds no state and no policy, and imports nothing else of ours.
 */
export { WireError, isWireError } from './error.js';
export { PacketView } from './view.js';
export { get16, get32, get48, set16, set32, set48 } from './bytes.js';
export {
  combineSums,
  finishSum,
  foldSum,
  partialSum,
  pseudoHeaderSum,
  sumVerifies,
  swapSum16,
  updateChecksum16,
  updateChecksum32,
} from './checksum.js';
export {
  IPV4_BROADCAST,
  IPV4_UNSPECIFIED,
  MAC_BROADCAST,
  ipv4Netmask,
  ipv4SubnetBroadcast,
  ipv4ToString,
  isIpv4Loopback,
  isIpv4MartianSource,
  isIpv4Multicast,
  isMacMulticast,
  macFromBytes,
  macToBytes,
  macToString,
  parseIpv4,
  parseIpv4Cidr,
  parseMac,
  type Ipv4Addr,
  type MacAddr,
} from './address.js';
export { hexBytes, toHex } from './hex.js';
export {
  ETHERNET_HEADER_LEN,
  ETHERNET_MIN_FRAME_LEN,
  EtherType,
  EthernetFrame,
  EthernetRepr,
  etherTypeName,
} from './ethernet.js';
export { ARP_ETHERNET_IPV4_LEN, ARP_HARDWARE_ETHERNET, ArpOperation, ArpPacket, ArpRepr } from './arp.js';
export { IPV4_HEADER_LEN, IPV4_MAX_HEADER_LEN, IPV4_MIN_MTU, IpProtocol, Ipv4Packet, Ipv4Repr } from './ipv4.js';
export {
  ICMPV4_HEADER_LEN,
  ICMPV4_MIN_QUOTE_LEN,
  Icmpv4Packet,
  Icmpv4Repr,
  Icmpv4Type,
  Icmpv4Unreachable,
} from './icmpv4.js';
export { UDP_HEADER_LEN, UdpPacket, UdpRepr } from './udp.js';
export {
  TCP_HEADER_LEN,
  TCP_MAX_HEADER_LEN,
  TCP_MAX_SACK_BLOCKS,
  TCP_MAX_WINDOW_SCALE,
  TcpFlag,
  TcpOptionKind,
  TcpPacket,
  TcpRepr,
  emitTcpOptions,
  parseTcpOptions,
  tcpOptionsLen,
  type TcpControl,
  type TcpSackRange,
  type TcpTimestamp,
} from './tcp.js';
