/**
 * Property tests for the whole wire layer: parse(emit(r)) = r for every Repr, checksum algebra,
 * and a fuzz property that no byte string makes any view or parser throw.
 * Seeded: the seed is printed; `SEED=<n>` reproduces a run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIpv4, ipv4ToString, macToString, parseMac } from './address.js';
import { ArpPacket, ArpRepr } from './arp.js';
import { combineSums, finishSum, foldSum, partialSum, sumVerifies, updateChecksum16, updateChecksum32 } from './checksum.js';
import { isWireError } from './error.js';
import { EtherType, EthernetFrame, EthernetRepr } from './ethernet.js';
import { hexBytes, toHex } from './hex.js';
import { Icmpv4Packet, Icmpv4Repr } from './icmpv4.js';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from './ipv4.js';
import { TcpPacket, TcpRepr, type TcpControl } from './tcp.js';
import { UdpPacket, UdpRepr } from './udp.js';

const seed = process.env['SEED'] !== undefined ? Number(process.env['SEED']) : Math.floor(Math.random() * 2 ** 31);
fc.configureGlobal({ seed });
console.info(`wire properties: fast-check seed ${seed} (reproduce with SEED=${seed})`);

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const port = fc.integer({ min: 1, max: 0xffff });
const mac = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc.record({
  srcAddr: u32,
  dstAddr: u32,
  protocol: u8,
  payloadLen: fc.integer({ min: 0, max: 1500 }),
  hopLimit: u8,
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  ident: u16,
  dontFrag: fc.boolean(),
  moreFrags: fc.boolean(),
  fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x * 8),
  options: fc.integer({ min: 0, max: 10 }).chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w })),
});

/** An IPv4 header + ≥ 8 bytes, as an ICMP error quotes. */
const quoted = fc.tuple(ipv4Repr, fc.uint8Array({ minLength: 8, maxLength: 64 })).map(([r, tail]) => {
  const hl = Ipv4Repr.bufferLen(r);
  const q = new Uint8Array(hl + tail.length);
  Ipv4Repr.emit(r, Ipv4Packet.unchecked(q));
  q.set(tail, hl);
  return q;
});

const icmpRepr: fc.Arbitrary<Icmpv4Repr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const), ident: u16, seqNo: u16, data: bytes(100) }),
  fc.record({ kind: fc.constant('dst-unreachable' as const), code: fc.integer({ min: 0, max: 15 }), quoted }).map((r) => ({
    ...r,
    nextHopMtu: r.code === 4 ? 1400 : 0,
  })),
  fc.record({ kind: fc.constant('time-exceeded' as const), code: fc.integer({ min: 0, max: 1 }), quoted }),
  fc.record({
    kind: fc.constant('other' as const),
    msgType: u8.filter((t) => ![0, 3, 8, 11].includes(t)),
    code: u8,
    restOfHeader: u32,
    data: bytes(64),
  }),
);

const tcpRepr: fc.Arbitrary<TcpRepr> = fc
  .record({
    srcPort: port,
    dstPort: port,
    control: fc.constantFrom<TcpControl>('none', 'syn', 'fin', 'rst'),
    push: fc.boolean(),
    seqNumber: u32,
    ackNumber: fc.option(u32, { nil: undefined }),
    windowLen: u16,
    maxSegSize: fc.option(u16, { nil: undefined }),
    windowScale: fc.option(fc.integer({ min: 0, max: 14 }), { nil: undefined }),
    sackPermitted: fc.boolean(),
    sackRanges: fc.array(fc.record({ left: u32, right: u32 }), { maxLength: 4 }),
    timestamp: fc.option(fc.record({ tsVal: u32, tsEcr: u32 }), { nil: undefined }),
    payload: bytes(200),
  })
  .map((r) => {
    // Keep only the SACK blocks that fit beside the other options (40 option bytes in all).
    const base = (r.maxSegSize !== undefined ? 4 : 0) + (r.windowScale !== undefined ? 4 : 0) + (r.timestamp !== undefined ? 12 : r.sackPermitted ? 4 : 0);
    return { ...r, sackRanges: r.sackRanges.slice(0, Math.max(0, Math.floor((40 - base - 4) / 8))) };
  });

describe('parse(emit(r)) = r', () => {
  it('Ethernet', () => {
    fc.assert(
      fc.property(fc.record({ srcAddr: mac, dstAddr: mac, ethertype: u16 }), (r) => {
        const b = new Uint8Array(EthernetRepr.bufferLen());
        EthernetRepr.emit(r, EthernetFrame.unchecked(b));
        expect(EthernetRepr.parse(EthernetFrame.checked(b) as EthernetFrame)).toEqual(r);
      }),
    );
  });

  it('ARP', () => {
    fc.assert(
      fc.property(
        fc.record({ operation: u16, senderHardwareAddr: mac, senderProtocolAddr: u32, targetHardwareAddr: mac, targetProtocolAddr: u32 }),
        (r) => {
          const b = new Uint8Array(ArpRepr.bufferLen());
          ArpRepr.emit(r, ArpPacket.unchecked(b));
          expect(ArpRepr.parse(ArpPacket.checked(b) as ArpPacket)).toEqual(r);
        },
      ),
    );
  });

  it('IPv4', () => {
    fc.assert(
      fc.property(ipv4Repr, (r) => {
        const b = new Uint8Array(Ipv4Repr.bufferLen(r) + r.payloadLen);
        Ipv4Repr.emit(r, Ipv4Packet.unchecked(b));
        expect(Ipv4Repr.parse(Ipv4Packet.checked(b) as Ipv4Packet)).toEqual(r);
      }),
    );
  });

  it('ICMPv4', () => {
    fc.assert(
      fc.property(icmpRepr, (r) => {
        const b = new Uint8Array(Icmpv4Repr.bufferLen(r));
        Icmpv4Repr.emit(r, Icmpv4Packet.unchecked(b));
        expect(Icmpv4Repr.parse(Icmpv4Packet.checked(b) as Icmpv4Packet)).toEqual(r);
      }),
    );
  });

  it('UDP', () => {
    fc.assert(
      fc.property(fc.record({ srcPort: u16, dstPort: port, payload: bytes(300) }), u32, u32, (r, s, d) => {
        const b = new Uint8Array(UdpRepr.bufferLen(r));
        UdpRepr.emit(r, UdpPacket.unchecked(b), s, d);
        expect(UdpRepr.parse(UdpPacket.checked(b) as UdpPacket, s, d)).toEqual(r);
      }),
    );
  });

  it('TCP, including into a reused record', () => {
    const reused = TcpRepr.create();
    const view = new TcpPacket();
    fc.assert(
      fc.property(tcpRepr, u32, u32, (r, s, d) => {
        const b = new Uint8Array(TcpRepr.bufferLen(r));
        TcpRepr.emit(r, TcpPacket.unchecked(b), s, d);
        expect(TcpRepr.parse(TcpPacket.checked(b) as TcpPacket, s, d)).toEqual(r);
        expect(TcpRepr.parseInto(view.reset(b), s, d, reused)).toBeUndefined();
        expect(reused).toEqual(r);
      }),
    );
  });
});

describe('checksum algebra', () => {
  it('long ranges (word loop) fold to the same sum as a plain word-by-word sum, at every alignment and length (property)', () => {
    const plain = (b: Uint8Array, off: number, len: number): number => {
      let s = 0;
      for (let i = 0; i < len; i += 2) s += (b[off + i]! << 8) | (i + 1 < len ? b[off + i + 1]! : 0);
      return s;
    };
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 3000, size: 'max' }),
        fc.nat(7),
        fc.nat(7),
        fc.nat(0xffff),
        fc.boolean(),
        (bytes, bufferShift, start, initial, allOnes) => {
          if (allOnes) bytes.fill(0xff);
          // The view itself starts at any byte of its ArrayBuffer, as frames in an arena do.
          const backing = new Uint8Array(bytes.length + 16);
          const view = backing.subarray(bufferShift, bufferShift + bytes.length + 8);
          view.set(bytes, start);
          const got = partialSum(view, start, bytes.length, initial);
          const want = plain(view, start, bytes.length) + initial;
          expect(foldSum(got)).toBe(foldSum(want));
          expect(got === 0).toBe(want === 0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('split anywhere, the combined partial sums fold to the whole sum', () => {
    fc.assert(
      fc.property(bytes(300), fc.nat(), (b, cut) => {
        const k = b.length === 0 ? 0 : cut % (b.length + 1);
        const joined = combineSums(partialSum(b, 0, k), partialSum(b, k, b.length - k), k);
        expect(foldSum(joined)).toBe(foldSum(partialSum(b, 0, b.length)));
      }),
    );
  });

  it('an incremental update (RFC 1624) always verifies, for 16- and 32-bit fields', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 60 }), fc.nat(), u32, (raw, at, v) => {
        const b = raw.slice(0, raw.length & ~1);
        b[0] = 0;
        b[1] = 0;
        const c = finishSum(partialSum(b, 0, b.length));
        b[0] = c >>> 8;
        b[1] = c & 0xff;
        const i = 2 + 2 * (at % ((b.length - 6) / 2));
        const old32 = ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
        const c32 = updateChecksum32((b[0]! << 8) | b[1]!, old32, v);
        b.set([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff], i);
        b[0] = c32 >>> 8;
        b[1] = c32 & 0xff;
        expect(sumVerifies(b, 0, b.length)).toBe(true);
        const old16 = (b[i]! << 8) | b[i + 1]!;
        const c16 = updateChecksum16(c32, old16, v & 0xffff);
        b[i] = (v >>> 8) & 0xff;
        b[i + 1] = v & 0xff;
        b[0] = c16 >>> 8;
        b[1] = c16 & 0xff;
        expect(sumVerifies(b, 0, b.length)).toBe(true);
      }),
    );
  });
});

describe('text forms round-trip', () => {
  it('IPv4, MAC, hex', () => {
    fc.assert(
      fc.property(u32, mac, bytes(64), (a, m, b) => {
        expect(parseIpv4(ipv4ToString(a))).toBe(a);
        expect(parseMac(macToString(m))).toBe(m);
        expect(hexBytes(toHex(b))).toEqual(b);
      }),
    );
  });
});

/** Parse a frame through every layer as a receiver would; returns the deepest repr or the error. Must never throw. */
function parseAll(frame: Uint8Array): unknown {
  const eth = EthernetFrame.checked(frame);
  if (isWireError(eth)) return eth;
  EthernetRepr.parse(eth);
  if (eth.ethertype === EtherType.Arp) {
    const arp = ArpPacket.checked(frame, eth.payloadOffset, eth.payloadLen);
    return isWireError(arp) ? arp : ArpRepr.parse(arp);
  }
  const ip = Ipv4Packet.checked(frame, eth.payloadOffset, eth.payloadLen);
  if (isWireError(ip)) return ip;
  const ipr = Ipv4Repr.parse(ip, false);
  if (isWireError(ipr)) return ipr;
  const at = ip.payloadOffset;
  const len = ip.payloadLen;
  switch (ip.protocol) {
    case IpProtocol.Icmp: {
      const p = Icmpv4Packet.checked(frame, at, len);
      return isWireError(p) ? p : Icmpv4Repr.parse(p, false);
    }
    case IpProtocol.Udp: {
      const p = UdpPacket.checked(frame, at, len);
      return isWireError(p) ? p : UdpRepr.parse(p, ipr.srcAddr, ipr.dstAddr, false);
    }
    case IpProtocol.Tcp: {
      const p = TcpPacket.checked(frame, at, len);
      return isWireError(p) ? p : TcpRepr.parse(p, ipr.srcAddr, ipr.dstAddr, false);
    }
    default:
      return ipr;
  }
}

// Real frames (Linux): ARP request, ICMP echo, TCP SYN with options, TCP data, UDP, ICMP port unreachable.
const CORPUS = [
  'ffffffffffff020000000001080600010800060400010200000000 01c000020100000000 0000c0000202',
  '020000000002020000000001080045000028bc80400040 01fa50c0000201c000020208 00b00629d40001000102030405060708090a0b',
  '0200000000020200000000010800 4500003cb1bd40004006 04fbc0000201c0000202afd61f906e0c5dad00000000a002faf0574f0000020405b40402080af43fe25800000000 01030 30a',
  '02000000000202000000000108004500003ab1bf4000400604fbc0000201c0000202afd61f906e0c5dae2dbcf18e8018003fb45b 00000101080af43fe258eb2bf76f474554202f0a',
  '020000000002020000000001080045000024608040004011 5645c0000201c0000202 1388270f001098eb75647064617461 0a',
  '0200000000010200000000020800 45c00040d9e800004001 1c11c0000202c0000201 0303812200000000 4500002460804000401156 45c0000201c0000202 1388270f001098eb 756470646174610a',
].map((h) => hexBytes(h));

describe('fuzz: no byte string makes the wire layer throw', () => {
  it('random frames', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (b) => void parseAll(b)), { numRuns: 20_000 });
  });

  it('mutated real frames (byte overwrites, truncation, extension)', () => {
    const mutation = fc.record({
      which: fc.nat(CORPUS.length - 1),
      edits: fc.array(fc.tuple(fc.nat(), u8), { maxLength: 6 }),
      cut: fc.nat(),
      extra: bytes(8),
    });
    fc.assert(
      fc.property(mutation, ({ which, edits, cut, extra }) => {
        const base = CORPUS[which]!;
        const b = new Uint8Array(base.length + extra.length);
        b.set(base);
        b.set(extra, base.length);
        for (const [i, v] of edits) b[i % b.length] = v;
        parseAll(b.subarray(0, cut % (b.length + 1)));
      }),
      { numRuns: 20_000 },
    );
  });

  it('the corpus itself parses all the way down', () => {
    expect(CORPUS.map((b) => isWireError(parseAll(b)))).toEqual(CORPUS.map(() => false));
  });
});
