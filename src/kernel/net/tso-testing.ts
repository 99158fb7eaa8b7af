/**
 * Builders and checkers of IPv4/TCP frames for the TSO tests (not part of the daemon). Written
 * apart from `tso.ts` and `src/wire/checksum.ts` on purpose — its own checksum, byte by byte —
 * so a shared mistake cannot make both sides agree.
 */

/** Everything of an IPv4/TCP frame but its payload and the fields segmentation rewrites. */
export interface TcpFrameSpec {
  readonly dstMac: Uint8Array;
  readonly srcMac: Uint8Array;
  readonly srcIp: number;
  readonly dstIp: number;
  /** IPv4 options, a multiple of 4 bytes, ≤ 40. */
  readonly ipOptions: Uint8Array;
  readonly tos: number;
  readonly ttl: number;
  readonly dontFragment: boolean;
  readonly ipId: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  /** TCP control bits (byte 13). */
  readonly flags: number;
  readonly window: number;
  readonly urgent: number;
  /** TCP options, a multiple of 4 bytes, ≤ 40. */
  readonly tcpOptions: Uint8Array;
}

/** RFC 1071 over the concatenation of `parts`: the complemented one's-complement sum, computed the slow obvious way. */
export function internetChecksum(...parts: readonly Uint8Array[]): number {
  const all: number[] = [];
  for (const p of parts) for (const x of p) all.push(x);
  if (all.length % 2 === 1) all.push(0);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) {
    sum += all[i]! * 256 + all[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + 1;
  }
  return 0xffff - sum;
}

/** The 12-byte IPv4 pseudo-header of RFC 9293 §3.1. */
export function pseudoHeader(srcIp: number, dstIp: number, tcpLength: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint32(0, srcIp >>> 0);
  v.setUint32(4, dstIp >>> 0);
  b[9] = 6;
  v.setUint16(10, tcpLength);
  return b;
}

/**
 * An Ethernet/IPv4/TCP frame of `spec` carrying `payload`. `checksum`: `full` (a frame as it goes
 * on the wire), or `partial` (the TSO contract's seed: the folded, uncomplemented pseudo-header sum).
 */
export function buildTcpFrame(spec: TcpFrameSpec, payload: Uint8Array, checksum: 'full' | 'partial'): Uint8Array {
  const ipBytes = 20 + spec.ipOptions.length;
  const tcpBytes = 20 + spec.tcpOptions.length;
  const f = new Uint8Array(14 + ipBytes + tcpBytes + payload.length);
  const v = new DataView(f.buffer);
  f.set(spec.dstMac, 0);
  f.set(spec.srcMac, 6);
  v.setUint16(12, 0x0800);
  const ip = 14;
  f[ip] = 0x40 | (ipBytes / 4);
  f[ip + 1] = spec.tos;
  v.setUint16(ip + 2, ipBytes + tcpBytes + payload.length);
  v.setUint16(ip + 4, spec.ipId);
  v.setUint16(ip + 6, spec.dontFragment ? 0x4000 : 0);
  f[ip + 8] = spec.ttl;
  f[ip + 9] = 6;
  v.setUint32(ip + 12, spec.srcIp >>> 0);
  v.setUint32(ip + 16, spec.dstIp >>> 0);
  f.set(spec.ipOptions, ip + 20);
  v.setUint16(ip + 10, internetChecksum(f.subarray(ip, ip + ipBytes)));
  const t = ip + ipBytes;
  v.setUint16(t, spec.srcPort);
  v.setUint16(t + 2, spec.dstPort);
  v.setUint32(t + 4, spec.seq >>> 0);
  v.setUint32(t + 8, spec.ack >>> 0);
  f[t + 12] = (tcpBytes / 4) << 4;
  f[t + 13] = spec.flags;
  v.setUint16(t + 14, spec.window);
  v.setUint16(t + 18, spec.urgent);
  f.set(spec.tcpOptions, t + 20);
  f.set(payload, t + tcpBytes);
  const pseudo = pseudoHeader(spec.srcIp, spec.dstIp, tcpBytes + payload.length);
  v.setUint16(t + 16, checksum === 'full' ? internetChecksum(pseudo, f.subarray(t)) : 0xffff - internetChecksum(pseudo));
  return f;
}

/** A parsed wire segment, or the first thing wrong with it. */
export type ParsedSegment =
  | { ok: true; ipId: number; seq: number; flags: number; payload: Uint8Array; headerBytes: number }
  | { ok: false; reason: string };

/** Parse `f` as an Ethernet/IPv4/TCP frame and verify both checksums independently of the code under test. */
export function parseTcpSegment(f: Uint8Array): ParsedSegment {
  if (f.length < 54) return { ok: false, reason: 'short' };
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (v.getUint16(12) !== 0x0800) return { ok: false, reason: 'ethertype' };
  if (f[14]! >>> 4 !== 4) return { ok: false, reason: 'version' };
  const ipBytes = (f[14]! & 15) * 4;
  if (ipBytes < 20) return { ok: false, reason: 'ihl' };
  if (v.getUint16(16) !== f.length - 14) return { ok: false, reason: `ip total length ${v.getUint16(16)} for a ${f.length}-byte frame` };
  if (internetChecksum(f.subarray(14, 14 + ipBytes)) !== 0) return { ok: false, reason: 'ip checksum' };
  if ((v.getUint16(20) & 0x3fff) !== 0) return { ok: false, reason: 'fragment' };
  if (f[23] !== 6) return { ok: false, reason: 'protocol' };
  const t = 14 + ipBytes;
  const tcpBytes = (f[t + 12]! >>> 4) * 4;
  if (tcpBytes < 20 || t + tcpBytes > f.length) return { ok: false, reason: 'data offset' };
  const pseudo = pseudoHeader(v.getUint32(26), v.getUint32(30), f.length - t);
  if (internetChecksum(pseudo, f.subarray(t)) !== 0) return { ok: false, reason: 'tcp checksum' };
  return { ok: true, ipId: v.getUint16(18), seq: v.getUint32(t + 4), flags: f[t + 13]!, payload: f.subarray(t + tcpBytes), headerBytes: t + tcpBytes };
}

/** `bytes` cut at `cuts` (offsets, any order, duplicates make empty pieces) into views. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...cuts].map((c) => Math.max(0, Math.min(bytes.length, c))).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}
