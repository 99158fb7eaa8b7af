/**
 * Test support: what the card (or the kernel's software fallback) does with a TCP super-segment,
 * so the harnesses can put a stack's TSO frames on their simulated wire as the segments a real
 * link carries. It checks the TSO frame contract of the project (docs/tcp.md, "Segmentation
 * offload") strictly and throws on any breach, so every test that sends super-segments also tests
 * that the stack builds them right.
 *
 * Deviation: the kernel has its own segmenter (src/kernel/net), but this layer may not import the
 * kernel (scripts/check-layers.mjs), and an independent second implementation is what a
 * cross-check needs anyway; tso.test.ts compares the two where both are present.
 *
 * Read first: Linux net/ipv4/tcp_offload.c `tcp_gso_segment` (per-segment sequence numbers,
 * flags and checksums), net/ipv4/af_inet.c `inet_gso_segment` (IPv4 id + i, lengths).
 */
import { EtherType, finishSum, foldSum, get16, get32, partialSum, pseudoHeaderSum, set16, set32, sumVerifies, IpProtocol } from '../../../wire/index.js';
import type { TxFrame } from '../tx-frame.js';

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/**
 * Cut a super-segment (a whole Ethernet frame) into segments of `segmentBytes` payload bytes
 * each, as a card with TSO would for a link of `mtuBytes` (IP MTU). Throws when the frame breaks
 * the TSO contract.
 */
export function segmentTsoFrame(frame: Uint8Array, segmentBytes: number, mtuBytes = 1500): Uint8Array[] {
  const fail = (why: string): never => {
    throw new Error(`TSO frame contract: ${why}`);
  };
  if (!Number.isInteger(segmentBytes) || segmentBytes < 1) fail(`segmentBytes ${segmentBytes}`);
  if (frame.length > 0xffff + 14) fail(`frame of ${frame.length} bytes`);
  if (frame.length < 14 + 20 + 20 || get16(frame, 12) !== EtherType.Ipv4) fail('not Ethernet/IPv4');
  if (frame[14]! >>> 4 !== 4) fail('IP version');
  const ihl = (frame[14]! & 15) * 4;
  if (ihl < 20) fail(`IHL ${ihl}`);
  const tcpAt = 14 + ihl;
  if (get16(frame, 16) !== frame.length - 14) fail(`IP total length ${get16(frame, 16)} for a ${frame.length}-byte frame`);
  if ((get16(frame, 20) & 0x3fff) !== 0) fail('MF or fragment offset set');
  if (!sumVerifies(frame, 14, ihl)) fail('IP header checksum');
  if (frame[23] !== IpProtocol.Tcp) fail('not TCP');
  const doff = (frame[tcpAt + 12]! >>> 4) * 4;
  if (doff < 20 || tcpAt + doff > frame.length) fail(`TCP data offset ${doff}`);
  const flags = frame[tcpAt + 13]!;
  if ((flags & (TCP_SYN | TCP_RST)) !== 0) fail('SYN or RST on a super-segment');
  const hdrLen = tcpAt + doff;
  const payload = frame.length - hdrLen;
  if (payload <= segmentBytes) fail(`payload ${payload} not longer than segmentBytes ${segmentBytes}`);
  if (hdrLen + segmentBytes > mtuBytes + 14) fail(`headers ${hdrLen} + segmentBytes ${segmentBytes} over MTU ${mtuBytes} + 14`);
  const src = get32(frame, 26);
  const dst = get32(frame, 30);
  const expected = foldSum(pseudoHeaderSum(src, dst, IpProtocol.Tcp, frame.length - tcpAt));
  // One's-complement zero has two forms; the field may hold either.
  if (get16(frame, tcpAt + 16) % 0xffff !== expected % 0xffff) fail('TCP checksum field is not the folded pseudo-header sum');

  const seq = get32(frame, tcpAt + 4);
  const ident = get16(frame, 18);
  const n = Math.ceil(payload / segmentBytes);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const at = hdrLen + i * segmentBytes;
    const len = Math.min(segmentBytes, frame.length - at);
    const seg = new Uint8Array(hdrLen + len);
    seg.set(frame.subarray(0, hdrLen));
    seg.set(frame.subarray(at, at + len), hdrLen);
    set16(seg, 16, seg.length - 14);
    set16(seg, 18, (ident + i) & 0xffff);
    set16(seg, 24, 0);
    set16(seg, 24, finishSum(partialSum(seg, 14, ihl)));
    set32(seg, tcpAt + 4, (seq + i * segmentBytes) >>> 0);
    let f = flags;
    if (i !== n - 1) f &= ~(TCP_FIN | TCP_PSH);
    if (i !== 0) f &= ~TCP_CWR;
    seg[tcpAt + 13] = f;
    set16(seg, tcpAt + 16, 0);
    const tcpLen = seg.length - tcpAt;
    set16(seg, tcpAt + 16, finishSum(partialSum(seg, tcpAt, tcpLen, pseudoHeaderSum(src, dst, IpProtocol.Tcp, tcpLen))));
    out.push(seg);
  }
  return out;
}

/** The frames a transmitted `TxFrame` becomes on the wire: itself, or its segments when it is a super-segment. */
export function wireFrames(f: TxFrame, mtuBytes = 1500): Uint8Array[] {
  const bytes = f.toBytes();
  return f.tsoSegmentBytes > 0 ? segmentTsoFrame(bytes, f.tsoSegmentBytes, mtuBytes) : [bytes];
}
