/**
 * `udpecho CARD PORT [COUNT]` — a UDP echo server (RFC 862) on the machine's own address on
 * CARD, built on DPF alone: it claims its datagrams with a filter written in the pcap-like
 * language (`udp and dst host <card address> and dst port PORT`), receives them in batches
 * from an AF_DPF socket, and answers each out of the card it came from with addresses and ports
 * swapped and both checksums recomputed — the payload comes back byte for byte.
 *
 * Read first: RFC 862 (echo), RFC 768 (UDP checksum), RFC 791 (IPv4 header checksum, TTL).
 *
 * Ends after COUNT datagrams (0 or absent: never) or on SIGTERM, with status 0; otherwise with
 * the errno of the call that failed (EPERM without uid 0, EADDRINUSE when another process's
 * filter already claims the port, ENODEV for an unknown card, EINVAL for bad arguments). Frames
 * that are not a whole, unfragmented UDP datagram with a valid checksum are not answered.
 */
import {
  AF_DPF,
  DPF_IFINFO_BYTES,
  DPF_IFINFO_NAME_BYTES,
  DPF_IFINFO_OFF_ADDR,
  DPF_IFINFO_OFF_NAME,
  DPF_REC_HEADER_BYTES,
  DPF_REC_OFF_CARD,
  DPF_REC_OFF_LEN,
  EINTR,
  EINVAL,
  ENODEV,
  IOVEC_BYTES,
  IOVEC_OFF_BASE,
  IOVEC_OFF_LEN,
  SIGTERM,
  SOCK_RAW,
  dpfRecordBytes,
  type Libc,
} from '../kernel/abi/index.js';
import { compilePcapExpression, encodeFilterBinary } from '../kernel/dpf/lang/index.js';
import { ETHERNET_HEADER_LEN, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, UdpPacket, ipv4ToString } from '../wire/index.js';

/** Bytes of the receive ring: room for a batch of full-size frames. */
const RING_BYTES = 64 * 1024;
/** RFC 1700 / Linux default TTL of datagrams the machine originates. */
const DEFAULT_TTL = 64;

/** The card named `name`: its index and the machine's IPv4 address on it, or -ENODEV. */
function findCard(sys: Libc, name: string): { card: number; addr: number } | number {
  const info = sys.malloc(DPF_IFINFO_BYTES);
  try {
    for (let card = 0; sys.call('dpf_ifinfo', card, info) === 0; card++) {
      const raw = sys.bytes(info + DPF_IFINFO_OFF_NAME, DPF_IFINFO_NAME_BYTES);
      const end = raw.indexOf(0);
      if (new TextDecoder().decode(raw.subarray(0, end < 0 ? raw.length : end)) === name) {
        return { card, addr: sys.view.getUint32(info + DPF_IFINFO_OFF_ADDR, false) };
      }
    }
    return -ENODEV;
  } finally {
    sys.free(info);
  }
}

/** Views reused for every datagram (nothing is allocated per frame). */
class Reflector {
  readonly #eth = new EthernetFrame();
  readonly #ip = new Ipv4Packet();
  readonly #udp = new UdpPacket();
  #ident = 0;

  /**
   * Turn the frame at `mem[off, off + len)` into its echo, in place: the reply's length, or 0
   * when the frame is not a datagram to answer.
   */
  reflect(mem: Uint8Array, off: number, len: number): number {
    const eth = this.#eth.reset(mem, off, len);
    if (eth.check() !== undefined || eth.ethertype !== EtherType.Ipv4) return 0;
    const ip = this.#ip.reset(mem, off + ETHERNET_HEADER_LEN, len - ETHERNET_HEADER_LEN);
    if (ip.check() !== undefined || ip.version !== 4 || ip.protocol !== IpProtocol.Udp || !ip.verifyChecksum()) return 0;
    // A fragment cannot be echoed whole (no reassembly here); the filter already skips later ones.
    if (ip.moreFrags || ip.fragOffset !== 0) return 0;
    const udp = this.#udp.reset(mem, ip.payloadOffset, ip.payloadLen);
    const src = ip.srcAddr;
    const dst = ip.dstAddr;
    if (udp.check() !== undefined || !udp.verifyChecksum(src, dst)) return 0;

    const mac = eth.dstAddr;
    eth.dstAddr = eth.srcAddr;
    eth.srcAddr = mac;
    ip.srcAddr = dst;
    ip.dstAddr = src;
    ip.hopLimit = DEFAULT_TTL;
    ip.ident = this.#ident = (this.#ident + 1) & 0xffff;
    ip.fillChecksum();
    const port = udp.srcPort;
    udp.srcPort = udp.dstPort;
    udp.dstPort = port;
    udp.fillChecksum(dst, src);
    // Ethernet padding after the datagram is not echoed.
    return ETHERNET_HEADER_LEN + ip.totalLen;
  }
}

export async function udpecho(sys: Libc, args: readonly string[]): Promise<number> {
  const [cardName, portText, countText] = args;
  const port = Number(portText);
  const count = countText === undefined ? 0 : Number(countText);
  if (cardName === undefined || !Number.isInteger(port) || port < 1 || port > 0xffff || !Number.isInteger(count) || count < 0) return EINVAL;
  const where = findCard(sys, cardName);
  if (typeof where === 'number') return -where;

  const fd = sys.socket(AF_DPF, SOCK_RAW, 0);
  if (fd < 0) return -fd;
  const compiled = compilePcapExpression(`udp and dst host ${ipv4ToString(where.addr)} and dst port ${port}`);
  if (!compiled.ok || compiled.filters.length !== 1) return EINVAL;
  const filter = encodeFilterBinary(compiled.filters[0]!);
  const fp = sys.malloc(filter.length);
  sys.mem.set(filter, fp);
  const id = sys.call('dpf_attach', fd, fp, filter.length);
  sys.free(fp);
  if (id < 0) return -id;

  let stopping = false;
  sys.sigaction(SIGTERM, () => {
    stopping = true;
  });
  const ring = sys.malloc(RING_BYTES);
  const iov = sys.malloc(IOVEC_BYTES);
  const reflector = new Reflector();
  const v = sys.view;
  let answered = 0;
  while (!stopping && (count === 0 || answered < count)) {
    const n = await sys.call('dpf_recvbatch_wait', fd, ring, RING_BYTES, count === 0 ? 0 : count - answered, -1);
    if (n === -EINTR) continue;
    if (n < 0) return -n;
    let at = ring;
    for (let i = 0; i < n; i++) {
      const len = v.getUint16(at + DPF_REC_OFF_LEN, true);
      const frame = at + DPF_REC_HEADER_BYTES;
      const replyLen = reflector.reflect(sys.mem, frame, len);
      if (replyLen > 0) {
        v.setUint32(iov + IOVEC_OFF_BASE, frame, true);
        v.setUint32(iov + IOVEC_OFF_LEN, replyLen, true);
        // Out of the card it came in on: the record says which.
        if (sys.call('dpf_send', fd, iov, 1, v.getUint16(at + DPF_REC_OFF_CARD, true)) >= 0) answered++;
      }
      at += dpfRecordBytes(len);
    }
  }
  sys.close(fd);
  return 0;
}
