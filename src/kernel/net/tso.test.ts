/**
 * TSO in the kernel: the contract check (`checkTsoFrame`) and software segmentation
 * (`segmentTso`, `TsoSender`). Property tests build super-frames and the expected wire segments
 * with an independent builder and checksum (`tso-testing.ts`). Seeded: `SEED=<n>` replays.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TsoInfo, TxStatus } from '../../nic/types.js';
import { EINVAL, EMSGSIZE, ENOBUFS } from '../abi/errno.js';
import { runSeed } from '../dpf/testing/arbitraries.js';
import { RecordingDevice } from '../syscall/test-support.js';
import { TSO_MAX_FRAME_BYTES, TSO_MAX_HEADER_BYTES, TsoScratch, TsoSender, checkTsoFrame, segmentTso, tsoSegmentCount } from './tso.js';
import { buildTcpFrame, internetChecksum, parseTcpSegment, splitAt, type TcpFrameSpec } from './tso-testing.js';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const CWR = 0x80;

const SPEC: TcpFrameSpec = {
  dstMac: new Uint8Array([0x0a, 0, 0, 0, 0, 1]),
  srcMac: new Uint8Array([0x02, 0x65, 0x78, 0, 0, 2]),
  srcIp: 0xc6120002,
  dstIp: 0xc6120001,
  ipOptions: new Uint8Array(0),
  tos: 0,
  ttl: 64,
  dontFragment: true,
  ipId: 0xfffe,
  srcPort: 80,
  dstPort: 40000,
  seq: 0xfffff000,
  ack: 12345,
  flags: ACK | PSH | FIN | CWR,
  window: 65535,
  urgent: 0,
  tcpOptions: new Uint8Array([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]),
};

const bytes = (n: number, seed = 7): Uint8Array => new Uint8Array(n).map((_, i) => (i * 131 + seed) & 0xff);

/** Run the software segmenter and keep a copy of every segment. */
function segments(iov: readonly Uint8Array[], total: number, tso: TsoInfo): Uint8Array[] {
  const out: Uint8Array[] = [];
  const n = segmentTso(iov, total, tso, new TsoScratch(), (parts) => {
    const len = parts.reduce((s, p) => s + p.length, 0);
    const f = new Uint8Array(len);
    let at = 0;
    for (const p of parts) {
      f.set(p, at);
      at += p.length;
    }
    out.push(f);
    return true;
  });
  expect(n).toBe(out.length);
  return out;
}

/** The wire segments `frame`'s contract says it becomes, each built as an ordinary frame. */
function expectedSegments(spec: TcpFrameSpec, payload: Uint8Array, mss: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const n = Math.ceil(payload.length / mss);
  for (let i = 0; i < n; i++) {
    let flags = spec.flags;
    if (i > 0) flags &= ~CWR;
    if (i < n - 1) flags &= ~(FIN | PSH);
    const s = { ...spec, seq: (spec.seq + i * mss) >>> 0, ipId: (spec.ipId + i) & 0xffff, flags };
    out.push(buildTcpFrame(s, payload.subarray(i * mss, (i + 1) * mss), 'full'));
  }
  return out;
}

function tsoOf(r: TsoInfo | number): TsoInfo {
  if (typeof r === 'number') throw new Error(`refused: ${r}`);
  return r;
}

const words = (maxWords: number): fc.Arbitrary<Uint8Array> =>
  fc.integer({ min: 0, max: maxWords }).chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w }));

const specArb: fc.Arbitrary<TcpFrameSpec> = fc.record({
  dstMac: fc.uint8Array({ minLength: 6, maxLength: 6 }),
  srcMac: fc.uint8Array({ minLength: 6, maxLength: 6 }),
  srcIp: fc.nat({ max: 0xffffffff }),
  dstIp: fc.nat({ max: 0xffffffff }),
  ipOptions: words(10),
  tos: fc.nat({ max: 255 }),
  ttl: fc.nat({ max: 255 }),
  dontFragment: fc.boolean(),
  ipId: fc.nat({ max: 0xffff }),
  srcPort: fc.nat({ max: 0xffff }),
  dstPort: fc.nat({ max: 0xffff }),
  seq: fc.nat({ max: 0xffffffff }),
  ack: fc.nat({ max: 0xffffffff }),
  // Any control bits but SYN and RST (the contract forbids them).
  flags: fc.nat({ max: 255 }).map((f) => f & ~(SYN | RST)),
  window: fc.nat({ max: 0xffff }),
  urgent: fc.nat({ max: 0xffff }),
  tcpOptions: words(10),
});

/** A valid super-frame: spec, MSS 1..1460, 2..~9 segments' payload, cut into random iov pieces (inside headers too). */
const superArb = specArb.chain((spec) =>
  fc.integer({ min: 1, max: 1460 }).chain((mss) =>
    fc
      .record({
        spec: fc.constant(spec),
        mss: fc.constant(mss),
        payload: fc.integer({ min: mss + 1, max: Math.min(mss * 8 + mss - 1, 12_000) }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        cuts: fc.array(fc.nat({ max: 14_000 }), { maxLength: 6 }),
        mtuSlack: fc.nat({ max: 100 }),
      })
      .filter((x) => x.payload.length > x.mss),
  ),
);

describe('segmentTso: software segmentation', () => {
  it('a 64 KiB super-frame with options, split across pieces, becomes 45 segments identical to ordinary frames (FIN/PSH last, CWR first, id and seq wrap)', () => {
    const hb = 14 + 20 + 20 + SPEC.tcpOptions.length;
    const payload = bytes(TSO_MAX_FRAME_BYTES - hb);
    const frame = buildTcpFrame(SPEC, payload, 'partial');
    expect(frame.length).toBe(TSO_MAX_FRAME_BYTES);
    const iov = splitAt(frame, [10, hb, hb + 1, 30_001]);
    const tso = tsoOf(checkTsoFrame(iov, frame.length, 1448, 1500));
    expect(tso).toEqual({ segmentBytes: 1448, headerBytes: hb, checksumStart: 34 });
    const got = segments(iov, frame.length, tso);
    expect(got).toHaveLength(Math.ceil(payload.length / 1448));
    expect(tsoSegmentCount(frame.length, tso)).toBe(got.length);
    const want = expectedSegments(SPEC, payload, 1448);
    got.forEach((g, i) => expect(g).toEqual(want[i]));
    const parsed = got.map(parseTcpSegment);
    expect(parsed.map((p) => p.ok)).toEqual(got.map(() => true));
    expect(parsed.map((p) => (p.ok ? p.flags & (FIN | PSH | CWR) : -1))).toEqual(got.map((_, i) => (i === 0 ? CWR : 0) | (i === got.length - 1 ? FIN | PSH : 0)));
    expect(parsed.slice(0, 3).map((p) => (p.ok ? p.ipId : -1))).toEqual([0xfffe, 0xffff, 0]);
  });

  it('stops at the first segment the sink refuses and says how many went', () => {
    const frame = buildTcpFrame(SPEC, bytes(5000), 'partial');
    const tso = tsoOf(checkTsoFrame([frame], frame.length, 1000, 1500));
    let calls = 0;
    expect(segmentTso([frame], frame.length, tso, new TsoScratch(), () => ++calls < 3)).toBe(2);
    expect(calls).toBe(3);
  });

  it('valid random super-frames: segments parse with valid checksums, reassemble to the payload, carry seq/id/flags by the contract, fit the MTU, and equal the ordinary frames (property)', () => {
    const seed = runSeed('tso segmentation');
    const scratch = new TsoScratch();
    fc.assert(
      fc.property(superArb, ({ spec, mss, payload, cuts, mtuSlack }) => {
        const frame = buildTcpFrame(spec, payload, 'partial');
        const hb = frame.length - payload.length;
        const mtu = hb - 14 + mss + mtuSlack;
        const iov = splitAt(frame, cuts);
        const tso = tsoOf(checkTsoFrame(iov, frame.length, mss, mtu));
        expect(tso).toEqual({ segmentBytes: mss, headerBytes: hb, checksumStart: 14 + 20 + spec.ipOptions.length });
        const got: Uint8Array[] = [];
        segmentTso(iov, frame.length, tso, scratch, (parts) => {
          got.push(Uint8Array.from(parts.flatMap((p) => [...p])));
          return true;
        });
        const n = Math.ceil(payload.length / mss);
        expect(got).toHaveLength(n);
        const joined: number[] = [];
        got.forEach((g, i) => {
          expect(g.length).toBeLessThanOrEqual(mtu + 14);
          const p = parseTcpSegment(g);
          if (!p.ok) throw new Error(`segment ${i}: ${p.reason}`);
          expect(p.seq).toBe((spec.seq + i * mss) >>> 0);
          expect(p.ipId).toBe((spec.ipId + i) & 0xffff);
          let flags = spec.flags;
          if (i > 0) flags &= ~CWR;
          if (i < n - 1) flags &= ~(FIN | PSH);
          expect(p.flags).toBe(flags);
          expect(p.payload.length).toBe(i < n - 1 ? mss : payload.length - (n - 1) * mss);
          joined.push(...p.payload);
        });
        expect(Uint8Array.from(joined)).toEqual(payload);
        // (b) byte-identical to sending the same data as ordinary frames.
        const want = expectedSegments(spec, payload, mss);
        got.forEach((g, i) => expect(g).toEqual(want[i]));
      }),
      { seed, numRuns: 150 },
    );
  });
});

describe('checkTsoFrame: the TSO contract', () => {
  const payload = bytes(3000);
  const good = (): Uint8Array => buildTcpFrame(SPEC, payload, 'partial');
  const hb = 14 + 20 + 20 + SPEC.tcpOptions.length;
  /** The frame with byte `at` set to `v` (and the IPv4 header checksum fixed again when `fixIp`). */
  const poke = (at: number, v: number, fixIp = true): Uint8Array => {
    const f = good();
    f[at] = v;
    if (fixIp) {
      const ihl = (f[14]! & 15) * 4;
      f[24] = 0;
      f[25] = 0;
      const c = internetChecksum(f.subarray(14, 14 + Math.max(20, ihl)));
      f[24] = c >>> 8;
      f[25] = c & 0xff;
    }
    return f;
  };

  it('accepts the contract and refuses each way off it with its errno', () => {
    const check = (f: Uint8Array, mss = 1000, mtu = 1500, total = f.length): number => {
      const r = checkTsoFrame(splitAt(f, [7, 40]), total, mss, mtu);
      return typeof r === 'number' ? r : 0;
    };
    const cases: [string, number][] = [
      ['valid', check(good())],
      ['valid, DF clear', check(buildTcpFrame({ ...SPEC, dontFragment: false }, payload, 'partial'))],
      ['valid, IHL 15 and data offset 15', check(buildTcpFrame({ ...SPEC, ipOptions: bytes(40), tcpOptions: bytes(40) }, payload, 'partial'))],
      ['valid, headers + MSS = MTU + 14', check(good(), 1500 + 14 - hb)],
      ['segmentBytes 0', check(good(), 0)],
      ['segmentBytes -1', check(good(), -1)],
      ['segmentBytes 1.5', check(good(), 1.5)],
      ['segmentBytes NaN', check(good(), Number.NaN)],
      ['segmentBytes + headers > MTU + 14', check(good(), 1500 + 15 - hb)],
      ['segmentBytes 2^32 - 1', check(good(), 0xffffffff)],
      ['payload = one segment', check(good(), 3000, 9000)],
      ['payload < one segment', check(good(), 3001, 9000)],
      ['total is not the iov length', check(good(), 1000, 1500, good().length - 1)],
      ['total above 65,549', check(good(), 1000, 1500, TSO_MAX_FRAME_BYTES + 1)],
      ['frame of 65,550 bytes', check(buildTcpFrame({ ...SPEC, tcpOptions: new Uint8Array(0) }, bytes(TSO_MAX_FRAME_BYTES + 1 - 54), 'partial'))],
      ['truncated below 54 bytes', check(good().subarray(0, 53), 1)],
      ['VLAN tag', check(poke(12, 0x81, false))],
      ['IPv6 ethertype', check(poke(13, 0xdd, false))],
      ['IP version 6', check(poke(14, 0x65))],
      ['IHL 4', check(poke(14, 0x44))],
      ['IP total length off by one', check(poke(17, good()[17]! ^ 1))],
      ['bad IP header checksum', check(poke(24, good()[24]! ^ 0x10, false))],
      ['MF set', check(poke(20, 0x60))],
      ['fragment offset', check(poke(21, 1))],
      ['UDP', check(poke(23, 17))],
      ['data offset 4', check(poke(34 + 12, 0x40, false))],
      ['data offset past the frame', check(buildTcpFrame({ ...SPEC, tcpOptions: new Uint8Array(0) }, new Uint8Array(2), 'partial').map((x, i) => (i === 46 ? 0xf0 : x)), 1)],
      ['SYN', check(poke(34 + 13, ACK | SYN, false))],
      ['RST', check(poke(34 + 13, ACK | RST, false))],
      ['TCP checksum complemented', check(poke(34 + 16, good()[50]! ^ 0xff, false).map((x, i, f) => (i === 51 ? f[51]! ^ 0xff : x)))],
      ['TCP checksum zero', check(poke(34 + 16, 0, false).map((x, i) => (i === 51 ? 0 : x)))],
    ];
    expect(Object.fromEntries(cases)).toEqual({
      valid: 0,
      'valid, DF clear': 0,
      'valid, IHL 15 and data offset 15': 0,
      'valid, headers + MSS = MTU + 14': 0,
      'segmentBytes 0': -EINVAL,
      'segmentBytes -1': -EINVAL,
      'segmentBytes 1.5': -EINVAL,
      'segmentBytes NaN': -EINVAL,
      'segmentBytes + headers > MTU + 14': -EMSGSIZE,
      'segmentBytes 2^32 - 1': -EMSGSIZE,
      'payload = one segment': -EINVAL,
      'payload < one segment': -EINVAL,
      'total is not the iov length': -EINVAL,
      'total above 65,549': -EMSGSIZE,
      'frame of 65,550 bytes': -EMSGSIZE,
      'truncated below 54 bytes': -EINVAL,
      'VLAN tag': -EINVAL,
      'IPv6 ethertype': -EINVAL,
      'IP version 6': -EINVAL,
      'IHL 4': -EINVAL,
      'IP total length off by one': -EINVAL,
      'bad IP header checksum': -EINVAL,
      'MF set': -EINVAL,
      'fragment offset': -EINVAL,
      UDP: -EINVAL,
      'data offset 4': -EINVAL,
      'data offset past the frame': -EINVAL,
      SYN: -EINVAL,
      RST: -EINVAL,
      'TCP checksum complemented': -EINVAL,
      'TCP checksum zero': -EINVAL,
    });
  });

  it('hostile input — random bytes, random mutations of a valid frame, any segmentBytes/MTU/total — gives an errno or a consistent TsoInfo, never an exception (property)', () => {
    const seed = runSeed('tso hostile');
    const valid = good();
    const frameArb = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }).map((muts) => {
        const f = Uint8Array.from(valid);
        for (const [at, v] of muts) f[at] = v;
        return f;
      }),
      fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
    );
    const numArb = fc.oneof(fc.integer({ min: -2, max: 70_000 }), fc.constantFrom(Number.NaN, Infinity, -Infinity, 0.5, 2 ** 32, 2 ** 53));
    fc.assert(
      fc.property(frameArb, fc.array(fc.nat({ max: 400 }), { maxLength: 5 }), numArb, numArb, fc.option(numArb), (f, cuts, mss, mtu, totalOverride) => {
        const total = totalOverride ?? f.length;
        const r = checkTsoFrame(splitAt(f, cuts), total, mss, mtu);
        if (typeof r === 'number') {
          expect([-EINVAL, -EMSGSIZE]).toContain(r);
          return;
        }
        // Accepted: it really is a contract frame, and segmenting it never throws either.
        expect(total).toBe(f.length);
        expect(r.headerBytes).toBeLessThanOrEqual(TSO_MAX_HEADER_BYTES);
        expect(r.headerBytes + mss).toBeLessThanOrEqual(mtu + 14);
        expect(f.length - r.headerBytes).toBeGreaterThan(mss);
        const segs = segments(splitAt(f, cuts), total, r);
        for (const s of segs) expect(parseTcpSegment(s)).toMatchObject({ ok: true });
      }),
      { seed, numRuns: 2000 },
    );
  });
});

/** A card that segments (tsoMaxBytes > 0) and records what it was given; no such card exists in src/nic yet. */
class OffloadRecorder extends RecordingDevice {
  override readonly tsoMaxBytes: number;
  readonly tso: (TsoInfo | undefined)[] = [];
  constructor(tsoMaxBytes: number) {
    super('exo0', 1500);
    this.tsoMaxBytes = tsoMaxBytes;
  }
  override transmit(iov: readonly Uint8Array[], tso?: TsoInfo): TxStatus {
    this.tso.push(tso === undefined ? undefined : { ...tso });
    return super.transmit(iov);
  }
}

describe('TsoSender: the card segments, or the kernel does', () => {
  const payload = bytes(4000);
  const frame = buildTcpFrame(SPEC, payload, 'partial');
  const hb = frame.length - payload.length;

  it('a card without TSO gets the software segments through its ordinary transmit; counters', () => {
    const dev = new RecordingDevice('exo0', 1500);
    const tx = new TsoSender();
    expect(tx.send(dev, [frame], frame.length, 1448)).toBe(frame.length);
    expect(dev.frames).toEqual(expectedSegments(SPEC, payload, 1448));
    expect(tx.send(dev, [frame], frame.length, 1500)).toBe(-EMSGSIZE);
    expect(tx.send(dev, [frame.subarray(0, 60)], 60, 1)).toBe(-EINVAL);
    dev.full = true;
    expect(tx.send(dev, [frame], frame.length, 1448)).toBe(-ENOBUFS);
    expect(tx.stats()).toEqual({ tsoFrames: 1, tsoSegmentsSoftware: 3, tsoRefused: { EMSGSIZE: 1, EINVAL: 1, ENOBUFS: 1 } });
  });

  it('a card whose tsoMaxBytes covers the frame gets it whole with its TsoInfo; a smaller limit falls back to software (test double standing in for tso-nic’s card)', () => {
    const dev = new OffloadRecorder(frame.length);
    const tx = new TsoSender();
    expect(tx.send(dev, splitAt(frame, [hb]), frame.length, 1448)).toBe(frame.length);
    expect(dev.frames).toEqual([frame]);
    expect(dev.tso).toEqual([{ segmentBytes: 1448, headerBytes: hb, checksumStart: 34 }]);
    const small = new OffloadRecorder(frame.length - 1);
    expect(tx.send(small, [frame], frame.length, 1448)).toBe(frame.length);
    expect(small.tso).toEqual([undefined, undefined, undefined]);
    expect(tx.stats()).toMatchObject({ tsoFrames: 2, tsoSegmentsSoftware: 3 });
  });
});
