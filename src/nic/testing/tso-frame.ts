/**
 * TCP super-segments for TSO tests, built to the TSO frame contract (Ethernet + IPv4 + TCP, the
 * TCP checksum field holding the folded, not complemented, pseudo-header sum over the whole TCP
 * length: Linux's CHECKSUM_PARTIAL convention), and an independent oracle of the segments the
 * contract says must come out of one (what `tcp_gso_segment` + `inet_gso_segment` produce).
 *
 * Read first: RFC 791 §3.1 (IPv4 header), RFC 9293 §3.1 (TCP header, pseudo-header), Linux
 * net/ipv4/tcp_offload.c (`tcp_gso_segment`: FIN/PSH only on the last segment, CWR only on the first).
 */
import { finishSum, foldSum, partialSum, pseudoHeaderSum } from '../../wire/checksum.js';
import { ETH_HEADER_BYTES } from '../card-base.js';
import type { TsoInfo } from '../types.js';

const ETHERTYPE_IPV4 = 0x0800;
const IPPROTO_TCP = 6;
/** TCP flag bits in byte 13 of the header (RFC 9293 §3.1, RFC 3168 §6.1 for CWR/ECE). */
export const TCP_FIN = 0x01;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_CWR = 0x80;

export interface TsoFrameSpec {
  dstMac: Uint8Array;
  srcMac: Uint8Array;
  /** Addresses in host byte order. */
  srcAddr: number;
  dstAddr: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Byte 13 of the TCP header. */
  flags: number;
  /** TCP options (a multiple of 4 bytes, ≤ 40). */
  options?: Uint8Array;
  ipId: number;
  ttl: number;
  payload: Uint8Array;
  segmentBytes: number;
}

/** The frame (one buffer) and the `TsoInfo` that goes with it. */
export interface TsoFrame {
  frame: Uint8Array;
  tso: TsoInfo;
}

/** Build a super-segment to the TSO frame contract: IHL 5, DF set. */
export function buildTsoFrame(s: TsoFrameSpec): TsoFrame {
  const options = s.options ?? new Uint8Array(0);
  const ipBytes = 20;
  const tcpBytes = 20 + options.length;
  const headerBytes = ETH_HEADER_BYTES + ipBytes + tcpBytes;
  const frame = new Uint8Array(headerBytes + s.payload.length);
  const dv = new DataView(frame.buffer);
  frame.set(s.dstMac, 0);
  frame.set(s.srcMac, 6);
  dv.setUint16(12, ETHERTYPE_IPV4);
  const ip = ETH_HEADER_BYTES;
  dv.setUint8(ip, 0x45);
  dv.setUint16(ip + 2, frame.length - ETH_HEADER_BYTES);
  dv.setUint16(ip + 4, s.ipId);
  dv.setUint16(ip + 6, 0x4000); // DF
  dv.setUint8(ip + 8, s.ttl);
  dv.setUint8(ip + 9, IPPROTO_TCP);
  dv.setUint32(ip + 12, s.srcAddr);
  dv.setUint32(ip + 16, s.dstAddr);
  dv.setUint16(ip + 10, finishSum(partialSum(frame, ip, ipBytes)));
  const tcp = ip + ipBytes;
  dv.setUint16(tcp, s.srcPort);
  dv.setUint16(tcp + 2, s.dstPort);
  dv.setUint32(tcp + 4, s.seq >>> 0);
  dv.setUint32(tcp + 8, s.ack >>> 0);
  dv.setUint8(tcp + 12, (tcpBytes / 4) << 4);
  dv.setUint8(tcp + 13, s.flags);
  dv.setUint16(tcp + 14, 65_535);
  frame.set(options, tcp + 20);
  frame.set(s.payload, headerBytes);
  // CHECKSUM_PARTIAL: the pseudo-header sum over the whole TCP length, folded, not complemented.
  dv.setUint16(tcp + 16, foldSum(pseudoHeaderSum(s.srcAddr, s.dstAddr, IPPROTO_TCP, frame.length - tcp)));
  return { frame, tso: { segmentBytes: s.segmentBytes, headerBytes, checksumStart: tcp } };
}

/**
 * The segments the contract says `frame` (a super-segment described by `tso`) turns into: payload
 * bytes [i·segmentBytes, …) each, sequence number + i·segmentBytes, IPv4 id + i, own total length
 * and header checksum, full TCP checksum, FIN and PSH on the last segment only, CWR on the first
 * only. A test oracle, independent of the kernel's software segmentation.
 */
export function expectedSegments(frame: Uint8Array, tso: TsoInfo): Uint8Array[] {
  const { segmentBytes, headerBytes, checksumStart: tcp } = tso;
  const ip = ETH_HEADER_BYTES;
  const ipBytes = (frame[ip]! & 0x0f) * 4;
  const in0 = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const payloadBytes = frame.length - headerBytes;
  const count = Math.ceil(payloadBytes / segmentBytes);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const start = headerBytes + i * segmentBytes;
    const end = Math.min(frame.length, start + segmentBytes);
    const seg = new Uint8Array(headerBytes + end - start);
    seg.set(frame.subarray(0, headerBytes));
    seg.set(frame.subarray(start, end), headerBytes);
    const dv = new DataView(seg.buffer);
    dv.setUint16(ip + 2, seg.length - ETH_HEADER_BYTES);
    dv.setUint16(ip + 4, (in0.getUint16(ip + 4) + i) & 0xffff);
    dv.setUint16(ip + 10, 0);
    dv.setUint16(ip + 10, finishSum(partialSum(seg, ip, ipBytes)));
    dv.setUint32(tcp + 4, (in0.getUint32(tcp + 4) + i * segmentBytes) >>> 0);
    let flags = in0.getUint8(tcp + 13);
    if (i !== count - 1) flags &= ~(TCP_FIN | TCP_PSH);
    if (i !== 0) flags &= ~TCP_CWR;
    dv.setUint8(tcp + 13, flags);
    const tcpLength = seg.length - tcp;
    const pseudo = pseudoHeaderSum(dv.getUint32(ip + 12), dv.getUint32(ip + 16), IPPROTO_TCP, tcpLength);
    dv.setUint16(tcp + 16, 0);
    dv.setUint16(tcp + 16, finishSum(partialSum(seg, tcp, tcpLength, pseudo)));
    out.push(seg);
  }
  return out;
}

/**
 * What an IPv4 router does to a frame it forwards: new MACs, TTL − 1, header checksum updated
 * (RFC 1812 §5.2.1/§5.3.1). Applied to a super-segment before the oracle when the host forwards it.
 */
export function forwarded(frame: Uint8Array, dstMac: Uint8Array, srcMac: Uint8Array): Uint8Array {
  const f = Uint8Array.from(frame);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  const ip = ETH_HEADER_BYTES;
  const ipBytes = (f[ip]! & 0x0f) * 4;
  f[ip + 8] = f[ip + 8]! - 1;
  f[ip + 10] = 0;
  f[ip + 11] = 0;
  const sum = finishSum(partialSum(f, ip, ipBytes));
  f[ip + 10] = sum >>> 8;
  f[ip + 11] = sum & 0xff;
  return f;
}
