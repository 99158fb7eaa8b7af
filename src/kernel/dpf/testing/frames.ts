/**
 * Frames for DPF tests and benchmarks: Ethernet II + IPv4 (+ options) + TCP/UDP/ICMP headers,
 * and ARP, laid out byte-exact with zero checksums (DPF never looks at them). Not a wire
 * library: only what filters look at.
 */

/** Fields of a test frame; everything has a default. */
export interface FrameSpec {
  readonly dstMac?: readonly number[];
  readonly srcMac?: readonly number[];
  /** Default 0x0800 (IPv4); 0x0806 builds an ARP request. */
  readonly etherType?: number;
  /** IPv4 header length in 32-bit words (5…15); options are filled with NOPs (1). */
  readonly ihl?: number;
  /** IPv4 protocol: 6 TCP, 17 UDP, 1 ICMP, else raw payload. */
  readonly protocol?: number;
  readonly src?: string;
  readonly dst?: string;
  /** Fragment offset in 8-byte units (13 bits). */
  readonly fragmentOffset?: number;
  readonly moreFragments?: boolean;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** TCP flags byte. */
  readonly tcpFlags?: number;
  /** ICMP type and code. */
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly payload?: Uint8Array;
}

/** Dotted quad → 32-bit number. */
export function ipv4(a: string): number {
  return a.split('.').reduce((acc, x) => acc * 256 + Number(x), 0);
}

function put(out: Uint8Array, at: number, value: number, bytes: number): void {
  for (let i = bytes - 1; i >= 0; i--) out[at + bytes - 1 - i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
}

/** Build a frame. */
export function buildFrame(spec: FrameSpec = {}): Uint8Array {
  const etherType = spec.etherType ?? 0x0800;
  const payload = spec.payload ?? new Uint8Array(0);
  const head = new Uint8Array(14);
  head.set(spec.dstMac ?? [0x02, 0x65, 0x78, 0, 0, 2], 0);
  head.set(spec.srcMac ?? [0x02, 0, 0, 0, 0, 1], 6);
  put(head, 12, etherType, 2);
  if (etherType === 0x0806) {
    const arp = new Uint8Array(28);
    put(arp, 0, 1, 2);
    put(arp, 2, 0x0800, 2);
    arp[4] = 6;
    arp[5] = 4;
    put(arp, 6, 1, 2);
    arp.set(spec.srcMac ?? [0x02, 0, 0, 0, 0, 1], 8);
    put(arp, 14, ipv4(spec.src ?? '198.18.0.1'), 4);
    put(arp, 24, ipv4(spec.dst ?? '198.18.0.2'), 4);
    return concat(head, arp, payload);
  }
  if (etherType !== 0x0800) return concat(head, payload);
  const ihl = spec.ihl ?? 5;
  const protocol = spec.protocol ?? 6;
  let l4: Uint8Array;
  if (protocol === 6) {
    l4 = new Uint8Array(20);
    put(l4, 0, spec.srcPort ?? 40000, 2);
    put(l4, 2, spec.dstPort ?? 80, 2);
    l4[12] = 5 << 4;
    l4[13] = spec.tcpFlags ?? 0x02;
  } else if (protocol === 17) {
    l4 = new Uint8Array(8);
    put(l4, 0, spec.srcPort ?? 40000, 2);
    put(l4, 2, spec.dstPort ?? 53, 2);
    put(l4, 4, 8 + payload.length, 2);
  } else if (protocol === 1) {
    l4 = new Uint8Array(8);
    l4[0] = spec.icmpType ?? 8;
    l4[1] = spec.icmpCode ?? 0;
  } else {
    l4 = new Uint8Array(0);
  }
  const ip = new Uint8Array(ihl * 4).fill(1);
  ip[0] = 0x40 | ihl;
  ip[1] = 0;
  put(ip, 2, ihl * 4 + l4.length + payload.length, 2);
  put(ip, 4, 0x1234, 2);
  put(ip, 6, ((spec.moreFragments === true ? 1 : 0) << 13) | (spec.fragmentOffset ?? 0), 2);
  ip[8] = 64;
  ip[9] = protocol;
  put(ip, 10, 0, 2);
  put(ip, 12, ipv4(spec.src ?? '198.18.0.1'), 4);
  put(ip, 16, ipv4(spec.dst ?? '198.18.0.2'), 4);
  return concat(head, ip, l4, payload);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
