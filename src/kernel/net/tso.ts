/**
 * TCP segmentation offload: checking a super-segment against the TSO frame contract, and cutting
 * it into wire segments in software for a card that cannot (Linux: `validate_xmit_skb` →
 * `skb_gso_segment` → `tcp_gso_segment`, net/ipv4/tcp_offload.c).
 *
 * Read first: RFC 9293 §3.1 (TCP header, pseudo-header), RFC 791 §3.1 (IPv4 header: total
 * length, identification, flags, fragment offset, header checksum), RFC 1071 (the Internet
 * checksum), RFC 3168 §6.1.2 (CWR on the first segment only), and the virtio spec §5.1.6.2
 * (`VIRTIO_NET_HDR_GSO_TCPV4`: `hdr_len`, `gso_size`, `csum_start`, `csum_offset`).
 *
 * The contract (docs/dpf.md "Sending"): Ethernet (ethertype 0x0800, no VLAN) + IPv4 (IHL 5..15,
 * MF 0, fragment offset 0, total length = frame − 14, valid header checksum, protocol 6) + TCP
 * (data offset 5..15, no SYN/RST) + more payload than `segmentBytes`; headers + `segmentBytes`
 * ≤ MTU + 14; frame ≤ 65,549 bytes; the TCP checksum field holds the folded, uncomplemented sum
 * of the pseudo-header over the whole TCP length (Linux's CHECKSUM_PARTIAL seed).
 *
 * Segment i (what `tcp_gso_segment` and `inet_gso_segment` make): payload bytes
 * [i·segmentBytes, …), sequence number + i·segmentBytes, IPv4 id + i (mod 2^16), its own total
 * length and header checksum, a full TCP checksum, FIN and PSH only on the last segment, CWR only
 * on the first; every other header byte (options included) copied.
 *
 * Does not: allocate per frame beyond the payload views it hands on, keep any view past a call,
 * or throw on any input (a frame off the contract is a negative errno).
 */
import type { NetDevice, TsoInfo } from '../../nic/types.js';
import { combineSums, finishSum, foldSum, partialSum, pseudoHeaderSum, sumVerifies } from '../../wire/checksum.js';
import { EINVAL, EMSGSIZE, ENOBUFS, ERRNO_NAMES } from '../abi/errno.js';

/** Ethernet header bytes (IEEE 802.3 §3.1.1); the contract allows no VLAN tag. */
const ETH_BYTES = 14;
const ETHERTYPE_IPV4 = 0x0800;
/** RFC 791 §3.1: IHL and data offset count 32-bit words, 5..15. */
const MIN_IP_BYTES = 20;
const MAX_IP_BYTES = 60;
const MIN_TCP_BYTES = 20;
const MAX_TCP_BYTES = 60;
/** RFC 791 §3.1: MF flag and fragment offset bits of the flags/offset word. */
const IP_MF_AND_OFFSET = 0x3fff;
const IPPROTO_TCP = 6;
/** RFC 9293 §3.1 control bits (byte 13 of the TCP header); CWR from RFC 3168 §6.1. */
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;
/** Offset of the checksum in the TCP header (RFC 9293 §3.1); virtio `csum_offset`. */
const TCP_CHECKSUM_OFFSET = 16;

/** Longest header run a TSO frame can have: Ethernet + the longest IPv4 and TCP headers (134 bytes). */
export const TSO_MAX_HEADER_BYTES = ETH_BYTES + MAX_IP_BYTES + MAX_TCP_BYTES;
/** Longest TSO frame: the largest IPv4 datagram (65,535 bytes, RFC 791) plus the Ethernet header. */
export const TSO_MAX_FRAME_BYTES = 0xffff + ETH_BYTES;

/** A {@link TsoInfo} the kernel fills in place (one per sender, so a check allocates nothing). */
export interface MutableTsoInfo {
  segmentBytes: number;
  headerBytes: number;
  checksumStart: number;
}

/** The header bytes of the frame being checked: gathered here so headers split across iov pieces read the same. */
const checkHeader = new Uint8Array(TSO_MAX_HEADER_BYTES);

/**
 * Copy `iov`'s first `n` bytes into `dst[0, n)`; fewer when the iov is shorter. Returns the count.
 * Only headers go through here (n ≤ 134): the payload is never copied.
 */
function gather(iov: readonly Uint8Array[], n: number, dst: Uint8Array, dstOff: number): number {
  let done = 0;
  for (let k = 0; k < iov.length && done < n; k++) {
    const piece = iov[k]!;
    const take = Math.min(piece.length, n - done);
    for (let j = 0; j < take; j++) dst[dstOff + done + j] = piece[j]!;
    done += take;
  }
  return done;
}

/**
 * Check that the frame gathered from `iov` (`total` bytes) meets the TSO contract for segments of
 * `segmentBytes` payload bytes on a card of `mtuBytes`. Returns the frame's {@link TsoInfo}
 * (written into `out` when given, so the check allocates nothing), or:
 * - `-EMSGSIZE`: the frame is over 65,549 bytes, or headers + `segmentBytes` exceed MTU + 14;
 * - `-EINVAL`: anything else off the contract (`segmentBytes` < 1, `total` not the iov's length,
 *   not Ethernet/IPv4/TCP, bad IHL/data offset/lengths/header checksum, a fragment, SYN or RST,
 *   no more payload than one segment, a TCP checksum field that is not the pseudo-header seed).
 * Never throws.
 */
export function checkTsoFrame(iov: readonly Uint8Array[], total: number, segmentBytes: number, mtuBytes: number, out?: MutableTsoInfo): TsoInfo | number {
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1 || !Number.isSafeInteger(total) || total < 0) return -EINVAL;
  if (total > TSO_MAX_FRAME_BYTES) return -EMSGSIZE;
  let length = 0;
  for (let k = 0; k < iov.length; k++) length += iov[k]!.length;
  if (length !== total || total < ETH_BYTES + MIN_IP_BYTES + MIN_TCP_BYTES) return -EINVAL;
  const h = checkHeader;
  gather(iov, Math.min(total, TSO_MAX_HEADER_BYTES), h, 0);

  if (((h[12]! << 8) | h[13]!) !== ETHERTYPE_IPV4) return -EINVAL;
  // RFC 791 §3.1: version 4, IHL in words.
  if (h[ETH_BYTES]! >>> 4 !== 4) return -EINVAL;
  const ipBytes = (h[ETH_BYTES]! & 0x0f) * 4;
  if (ipBytes < MIN_IP_BYTES) return -EINVAL;
  const tcpAt = ETH_BYTES + ipBytes;
  if (tcpAt + MIN_TCP_BYTES > total) return -EINVAL;
  if (((h[ETH_BYTES + 2]! << 8) | h[ETH_BYTES + 3]!) !== total - ETH_BYTES) return -EINVAL;
  if ((((h[ETH_BYTES + 6]! << 8) | h[ETH_BYTES + 7]!) & IP_MF_AND_OFFSET) !== 0) return -EINVAL;
  if (h[ETH_BYTES + 9] !== IPPROTO_TCP) return -EINVAL;
  if (!sumVerifies(h, ETH_BYTES, ipBytes)) return -EINVAL;

  // RFC 9293 §3.1: data offset in words, 5..15.
  const tcpBytes = (h[tcpAt + 12]! >>> 4) * 4;
  if (tcpBytes < MIN_TCP_BYTES) return -EINVAL;
  const headerBytes = tcpAt + tcpBytes;
  if (headerBytes > total) return -EINVAL;
  if ((h[tcpAt + 13]! & (TCP_SYN | TCP_RST)) !== 0) return -EINVAL;
  // Written so that a NaN MTU refuses too.
  if (!(headerBytes + segmentBytes <= mtuBytes + ETH_BYTES)) return -EMSGSIZE;
  if (total - headerBytes <= segmentBytes) return -EINVAL;

  const src = readU32(h, ETH_BYTES + 12);
  const dst = readU32(h, ETH_BYTES + 16);
  const seed = foldSum(pseudoHeaderSum(src, dst, IPPROTO_TCP, total - tcpAt));
  if (((h[tcpAt + TCP_CHECKSUM_OFFSET]! << 8) | h[tcpAt + TCP_CHECKSUM_OFFSET + 1]!) !== seed) return -EINVAL;

  if (out === undefined) return { segmentBytes, headerBytes, checksumStart: tcpAt };
  out.segmentBytes = segmentBytes;
  out.headerBytes = headerBytes;
  out.checksumStart = tcpAt;
  return out;
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v;
}

/** Segments a checked frame of `total` bytes becomes: ⌈payload / segmentBytes⌉. */
export function tsoSegmentCount(total: number, tso: TsoInfo): number {
  return Math.ceil((total - tso.headerBytes) / tso.segmentBytes);
}

/**
 * Reused memory of {@link segmentTso}: the frame's header template, the segment header written
 * from it, views of that header by length, and the gather list handed to `emit`.
 */
export class TsoScratch {
  /** [0, 134): the segment header being sent; [134, 268): the frame's header as given. */
  readonly bytes = new Uint8Array(2 * TSO_MAX_HEADER_BYTES);
  /** The gather list of one segment: its header, then its payload pieces. Valid during `emit` only. */
  readonly parts: Uint8Array[] = [];
  readonly #headerViews: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(TSO_MAX_HEADER_BYTES + 1).fill(undefined);

  /** The view of the segment header's first `n` bytes (made once per length). */
  headerView(n: number): Uint8Array {
    let v = this.#headerViews[n];
    if (v === undefined) {
      v = this.bytes.subarray(0, n);
      this.#headerViews[n] = v;
    }
    return v;
  }
}

/** Receives one segment as a gather list (valid only during the call); false stops the segmentation. */
export type SegmentSink = (iov: readonly Uint8Array[]) => boolean;

/**
 * Cut the frame gathered from `iov` (`total` bytes, already accepted by {@link checkTsoFrame}
 * with `tso`) into its wire segments, handing each to `emit` in order: a header written into
 * `scratch`, then views of the caller's payload (nothing copied). Stops at the first segment
 * `emit` refuses. Returns the number of segments `emit` accepted.
 */
export function segmentTso(iov: readonly Uint8Array[], total: number, tso: TsoInfo, scratch: TsoScratch, emit: SegmentSink): number {
  const hb = tso.headerBytes;
  const tcpAt = tso.checksumStart;
  const mss = tso.segmentBytes;
  const b = scratch.bytes;
  const T = TSO_MAX_HEADER_BYTES;
  gather(iov, hb, b, T);

  const ipBytes = tcpAt - ETH_BYTES;
  const id0 = (b[T + ETH_BYTES + 4]! << 8) | b[T + ETH_BYTES + 5]!;
  const seq0 = readU32(b, T + tcpAt + 4);
  const flags0 = b[T + tcpAt + 13]!;
  const src = readU32(b, T + ETH_BYTES + 12);
  const dst = readU32(b, T + ETH_BYTES + 16);
  const payloadBytes = total - hb;
  const n = Math.ceil(payloadBytes / mss);
  const header = scratch.headerView(hb);
  const parts = scratch.parts;

  // Cursor over the payload in `iov`: piece k, byte off; starts just past the headers.
  let k = 0;
  let off = hb;
  while (k < iov.length && off >= iov[k]!.length) off -= iov[k++]!.length;

  for (let i = 0; i < n; i++) {
    const len = Math.min(mss, payloadBytes - i * mss);
    b.copyWithin(0, T, T + hb);
    // RFC 791 §3.1: this datagram's total length and identification, then its header checksum.
    writeU16(b, ETH_BYTES + 2, hb - ETH_BYTES + len);
    writeU16(b, ETH_BYTES + 4, (id0 + i) & 0xffff);
    writeU16(b, ETH_BYTES + 10, 0);
    writeU16(b, ETH_BYTES + 10, finishSum(partialSum(b, ETH_BYTES, ipBytes)));
    // RFC 9293 §3.1: the segment's first sequence number; tcp_gso_segment's flag rules.
    const seq = (seq0 + i * mss) >>> 0;
    b[tcpAt + 4] = seq >>> 24;
    b[tcpAt + 5] = seq >>> 16;
    b[tcpAt + 6] = seq >>> 8;
    b[tcpAt + 7] = seq;
    let flags = flags0;
    if (i > 0) flags &= ~TCP_CWR;
    if (i < n - 1) flags &= ~(TCP_FIN | TCP_PSH);
    b[tcpAt + 13] = flags;
    writeU16(b, tcpAt + TCP_CHECKSUM_OFFSET, 0);
    // RFC 1071: pseudo-header + TCP header (even length) + payload pieces, combined across odd boundaries.
    let sum = partialSum(b, tcpAt, hb - tcpAt, pseudoHeaderSum(src, dst, IPPROTO_TCP, hb - tcpAt + len));

    parts.length = 0;
    parts.push(header);
    let done = 0;
    while (done < len && k < iov.length) {
      const piece = iov[k]!;
      const take = Math.min(piece.length - off, len - done);
      if (take > 0) {
        sum = combineSums(sum, partialSum(piece, off, take), done);
        parts.push(piece.subarray(off, off + take));
        done += take;
        off += take;
      }
      if (off >= piece.length) {
        k++;
        off = 0;
      }
    }
    writeU16(b, tcpAt + TCP_CHECKSUM_OFFSET, finishSum(sum));
    if (!emit(parts)) {
      parts.length = 0;
      return i;
    }
  }
  parts.length = 0;
  return n;
}

/** Counters of a {@link TsoSender}, as AF_DPF's stats show them. */
export interface TsoStats {
  /** Super-segments accepted and sent (by the card, or cut in software). */
  readonly tsoFrames: number;
  /** Segments the kernel cut in software (cards with `tsoMaxBytes` below the frame). */
  readonly tsoSegmentsSoftware: number;
  /** Super-segment sends refused, by errno name (`EINVAL`, `EMSGSIZE`, `ENOBUFS` when the card dropped). */
  readonly tsoRefused: Readonly<Record<string, number>>;
}

/**
 * The transmit side of GSO for one sender (Linux `validate_xmit_skb`): check a super-segment,
 * hand it whole to a card that segments (`tsoMaxBytes` ≥ its length), else segment it here and
 * send each segment through the card's ordinary transmit. Reuses its scratch: one per sender,
 * not reentrant.
 */
export class TsoSender {
  #tsoFrames = 0;
  #tsoSegmentsSoftware = 0;
  readonly #refused: Record<string, number> = {};
  readonly #info: MutableTsoInfo = { segmentBytes: 0, headerBytes: 0, checksumStart: 0 };
  readonly #scratch = new TsoScratch();
  #dev: NetDevice | null = null;
  readonly #emit: SegmentSink = (parts) => this.#dev!.transmit(parts) !== 'dropped';

  /**
   * Send the super-segment gathered from `iov` (`total` bytes, `segmentBytes` ≥ 1 of payload per
   * segment) out of `dev`. Returns `total`, or -errno: those of {@link checkTsoFrame}, or -ENOBUFS
   * when the card dropped the frame or one of its segments (the segments before it went out; TCP
   * retransmits what was lost).
   */
  send(dev: NetDevice, iov: readonly Uint8Array[], total: number, segmentBytes: number): number {
    const tso = checkTsoFrame(iov, total, segmentBytes, dev.mtuBytes, this.#info);
    if (typeof tso === 'number') return this.#refuse(tso);
    if (dev.tsoMaxBytes >= total) {
      if (dev.transmit(iov, tso) === 'dropped') return this.#refuse(-ENOBUFS);
    } else {
      this.#dev = dev;
      const sent = segmentTso(iov, total, tso, this.#scratch, this.#emit);
      this.#dev = null;
      this.#tsoSegmentsSoftware += sent;
      if (sent < tsoSegmentCount(total, tso)) return this.#refuse(-ENOBUFS);
    }
    this.#tsoFrames++;
    return total;
  }

  #refuse(negErrno: number): number {
    const name = ERRNO_NAMES.get(-negErrno) ?? String(-negErrno);
    this.#refused[name] = (this.#refused[name] ?? 0) + 1;
    return negErrno;
  }

  stats(): TsoStats {
    return { tsoFrames: this.#tsoFrames, tsoSegmentsSoftware: this.#tsoSegmentsSoftware, tsoRefused: { ...this.#refused } };
  }
}
