/**
 * TAP cards on real TAP devices. Every test makes its own network namespace and opens the TAP
 * inside it through the addon's `netns` option (the calling thread enters the namespace for the
 * open, so the TAP, its control socket and all host-side traffic live there); the host side is an
 * AF_PACKET socket (also a card of this module) on the TAP interface inside the namespace, plus
 * iproute2/ping. Backpressure is made real: the TAP's sndbuf is small and the host holds our
 * frames in a shaped qdisc (ingress → mirred → tbf on lo), so writes meet EAGAIN.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isDaemonError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import { parseIpv4 } from '../wire/address.js';
import { pseudoHeaderSum, sumVerifies } from '../wire/checksum.js';
import { deriveMac, formatMac } from './addr.js';
import { TSO_MAX_FRAME_BYTES } from './card-base.js';
import { NativeCard } from './native-card.js';
import { hostMac, openNic } from './open.js';
import { describeNetDevice, testFrame, testSeed, waitFor } from './testing/describe-net-device.js';
import { installEchoResponder } from './testing/echo-responder.js';
import { TestNetns } from './testing/netns.js';
import { describeAsRoot } from './testing/root.js';
import { buildTsoFrame, expectedSegments, forwarded, TCP_ACK, TCP_CWR, TCP_FIN, TCP_PSH, type TsoFrame } from './testing/tso-frame.js';
import type { TsoInfo } from './types.js';

const TAP = 'xt0';

describeAsRoot('TAP card', () => {
  // With the vnet header (tso, the default) every read and write carries 10 more bytes the card
  // must strip and add; the whole suite runs both ways.
  // The writer thread (txThread) runs it once more, with the vnet header as the daemon opens cards.
  for (const [tso, txThread] of [
    [true, false],
    [false, false],
    [true, true],
  ] as const) {
    describeNetDevice(`TAP in a network namespace, tso ${tso ? 'on' : 'off'}${txThread ? ', writer thread' : ''}`, async (tuning) => {
      const ns = TestNetns.create('tso-nic');
      try {
        const card = NativeCard.openTap(TAP, 1500, { netns: ns.name, sndbufBytes: 4096, tuning, mac: deriveMac(TAP), tso, txThread });
        card.setHostUp(true);
        const host = NativeCard.openPacketSocket(TAP, { netns: ns.name, rcvbufBytes: 16 << 20 });
        let release: (() => void) | undefined;
        return {
          card,
          hostSend: (f) => {
            const status = host.transmit([f]);
            if (status === 'dropped') throw new Error('host side could not send');
          },
          onHostFrame: (handler) => host.setFrameHandler((f) => handler(Uint8Array.from(f))),
          blockHost: () => (release = holdTapFrames(ns)),
          unblockHost: () => {
            release?.();
            release = undefined;
          },
          hostMinFrameBytes: 14,
          hostMaxFrameBytes: 1514,
          txThread,
          dispose: async () => {
            await Promise.all([card.close(), host.close()]);
            ns.dispose();
          },
        };
      } catch (e) {
        ns.dispose();
        throw e;
      }
    });
  }

  describe('TAP lifecycle and host side', () => {
    let ns: TestNetns | undefined;
    const cards: NativeCard[] = [];
    afterEach(async () => {
      await Promise.all(cards.splice(0).map((c) => c.close()));
      ns?.dispose();
      ns = undefined;
    });
    const newNs = (): TestNetns => (ns = TestNetns.create('nic'));
    const track = <T extends NativeCard>(c: T): T => (cards.push(c), c);
    const cfg = { name: TAP, hostAddress: '198.18.77.1/24', mtuBytes: 1500, attach: false };

    it('openNic sets up the host side, answers ping through a responder, and close removes the TAP', async () => {
      const n = newNs();
      const card = (await openNic(cfg, { backend: 'tap', netns: n.name })) as NativeCard;
      const link = card.hostLink();
      expect(link.up).toBe(true);
      expect(link.mtuBytes).toBe(1500);
      expect(formatMac(link.mac)).toBe(formatMac(hostMac(cfg, card.mac)));
      expect(link.ipv6Disabled).toBe(true);
      expect(n.ip('-4', 'addr', 'show', 'dev', TAP)).toContain('inet 198.18.77.1/24');
      expect(formatMac(card.mac)).toBe(formatMac(deriveMac(TAP)));
      expect(card.tsoMaxBytes).toBe(TSO_MAX_FRAME_BYTES); // nics[].tso defaults to on

      const responder = installEchoResponder(card, parseIpv4('198.18.77.2')!);
      // ping runs as a child without blocking our event loop, which answers it.
      const out = await runAsync(['ip', 'netns', 'exec', n.name, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '198.18.77.2']);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('3 received');
      expect(responder.echoReplies).toBeGreaterThanOrEqual(3);
      expect(n.ip('neigh', 'show', 'dev', TAP)).toContain(formatMac(card.mac));
      const c = card.counters();
      expect(c.rxFrames).toBeGreaterThanOrEqual(4);
      expect(c.txFrames).toBe(responder.arpReplies + responder.echoReplies);

      await card.close();
      expect(n.hasLink(TAP)).toBe(false);
    });

    it('openNic with tso false opens the TAP without a vnet header (tsoMaxBytes 0)', async () => {
      const n = newNs();
      const card = track((await openNic({ ...cfg, tso: false }, { backend: 'tap', netns: n.name })) as NativeCard);
      expect(card.tsoMaxBytes).toBe(0);
    });

    it('refuses a name that is taken, saying by what (NIC_ERR_TAP_BUSY)', async () => {
      const n = newNs();
      track(NativeCard.openTap(TAP, 1500, { netns: n.name }));
      const busy = expect.objectContaining({ code: 'NIC_ERR_TAP_BUSY', message: expect.stringContaining('in use by another process') });
      expect(() => track(NativeCard.openTap(TAP, 1500, { netns: n.name }))).toThrow(busy);
      await expect(openNic(cfg, { backend: 'tap', netns: n.name })).rejects.toMatchObject({ code: 'NIC_ERR_TAP_BUSY' });
      n.ip('tuntap', 'add', 'dev', 'xp0', 'mode', 'tap');
      expect(() => NativeCard.openTap('xp0', 1500, { netns: n.name })).toThrow(
        expect.objectContaining({ code: 'NIC_ERR_TAP_BUSY', message: expect.stringContaining('persistent TAP') }),
      );
      n.ip('link', 'add', 'xv0', 'type', 'veth', 'peer', 'name', 'xv1');
      expect(() => NativeCard.openTap('xv0', 1500, { netns: n.name })).toThrow(
        expect.objectContaining({ code: 'NIC_ERR_TAP_BUSY', message: expect.stringContaining('not a TAP') }),
      );
    });

    it('attaching to a TAP another process holds gives NIC_ERR_TAP_BUSY (EBUSY)', () => {
      const n = newNs();
      track(NativeCard.openTap(TAP, 1500, { netns: n.name }));
      let err: unknown;
      try {
        NativeCard.openTap(TAP, 1500, { netns: n.name, attach: true });
      } catch (e) {
        err = e;
      }
      expect(isDaemonError(err, 'NIC_ERR_TAP_BUSY')).toBe(true);
      expect((err as Error).message).toContain('in use');
      expect(((err as Error).cause as { code: string }).code).toBe('EBUSY');
    });

    it('attaches to a persistent TAP and leaves it on close; attaching to a missing one fails clearly', async () => {
      const n = newNs();
      n.ip('tuntap', 'add', 'dev', TAP, 'mode', 'tap');
      const card = await openNic({ ...cfg, attach: true }, { backend: 'tap', netns: n.name });
      expect((card as NativeCard).created).toBe(false);
      expect(n.ip('-4', 'addr', 'show', 'dev', TAP)).toContain('198.18.77.1/24');
      await card.close();
      expect(n.hasLink(TAP)).toBe(true);
      expect(() => NativeCard.openTap('xmissing', 1500, { netns: n.name, attach: true })).toThrow(
        expect.objectContaining({ code: 'NIC_ERR_TAP_OPEN', message: expect.stringContaining('no such interface') }),
      );
    });

    it('maps control failures to NIC_ERR_IOCTL and calls after close to NIC_ERR_CLOSED', async () => {
      const n = newNs();
      const card = track(NativeCard.openTap(TAP, 1500, { netns: n.name }));
      expect(() => card.setHostMtu(10)).toThrow(expect.objectContaining({ code: 'NIC_ERR_IOCTL' }));
      expect(() => card.setHostMac(Uint8Array.of(1, 0, 0, 0, 0, 1))).toThrow(expect.objectContaining({ code: 'NIC_ERR_IOCTL' }));
      card.setHostTxQueueLen(64);
      expect(card.hostLink().txQueueLenFrames).toBe(64);
      await card.close();
      expect(() => card.setHostUp(true)).toThrow(expect.objectContaining({ code: 'NIC_ERR_CLOSED' }));
    });

    it('an unknown network namespace gives NETNS_ERR', () => {
      expect(() => NativeCard.openTap(TAP, 1500, { netns: `exo-missing-${process.pid}` })).toThrow(
        expect.objectContaining({ code: 'NETNS_ERR' }),
      );
    });

    it('a TAP deleted under the card fails the card without crashing or spinning', async () => {
      const n = newNs();
      const card = track(NativeCard.openTap(TAP, 1500, { netns: n.name }));
      card.setHostUp(true);
      n.ip('link', 'del', TAP);
      await waitFor(() => card.failure !== undefined, 'the card to notice');
      expect(card.failure?.message).toContain('device failed');
      expect(card.transmit([testFrame(deriveMac('x'), card.mac, 0, 64)])).toBe('dropped');
      expect(card.counters().drops['tx_error']).toBe(1);
    });

    it('while receive is paused frames wait in the host queue, whose overflow the counters show', async () => {
      const n = newNs();
      const card = track(NativeCard.openTap(TAP, 1500, { netns: n.name }));
      card.setHostUp(true);
      card.setHostTxQueueLen(50);
      const host = track(NativeCard.openPacketSocket(TAP, { netns: n.name }));
      let got = 0;
      card.setFrameHandler(() => got++);
      card.pauseRx();
      for (let i = 0; i < 80; i++) host.transmit([testFrame(card.mac, host.mac, i, 60)]);
      await new Promise((r) => setTimeout(r, 20));
      expect(got).toBe(0);
      card.resumeRx();
      await waitFor(() => got >= 50, '50 frames');
      // The host's queue (txqueuelen 50) held 50; the host dropped the rest, and the card's
      // counters show it (the TAP's tx_dropped) apart from its own drops.
      const c = card.counters();
      expect(c.rxFrames).toBe(50);
      expect(c.drops['rx_host_dropped']).toBe(30);
      expect(Object.entries(c.drops).filter(([k, v]) => k !== 'rx_host_dropped' && v !== 0)).toEqual([]);
    });

    it('a process that exits, or a worker that is terminated, with a TAP open removes the TAP', async () => {
      const n = newNs();
      await expectExitAndTerminateRemoveTap(n, `{ netns: '${n.name}' }`);
    });
  });
});

describeAsRoot('TAP card: TCP segmentation offload through the vnet header', () => {
  // Topology, all in namespaces of ours: the card's TAP in A (host side 198.18.90.1/24, IPv4
  // forwarding on) and a veth xv0 (A, 198.18.91.1/24, every offload off) ↔ xv1 (B). A super-segment
  // the card sends to 198.18.91.2 is received by A's stack as one GSO packet and forwarded; xv0
  // cannot segment or checksum, so A's kernel cuts it in software (validate_xmit_skb →
  // skb_gso_segment) and xv1 receives exactly the segments a NIC would put on the wire.
  const MACHINE = parseIpv4('198.18.90.2')!;
  const FAR = parseIpv4('198.18.91.2')!;
  const MSS = 1448;
  const seed = testSeed();
  let a: TestNetns | undefined;
  let b: TestNetns | undefined;
  const cards: NativeCard[] = [];
  beforeAll(() => console.info(`[TSO] payload seed ${seed} (rerun with SEED=${seed})`));
  afterEach(async () => {
    await Promise.all(cards.splice(0).map((c) => c.close()));
    a?.dispose();
    b?.dispose();
    a = b = undefined;
  });
  const track = <T extends NativeCard>(c: T): T => (cards.push(c), c);

  interface Rig {
    ns: TestNetns;
    card: NativeCard;
    /** Frames of our test flow as they arrive on xv1 (copies). */
    wire: Uint8Array[];
    /** Frames of our test flow as the TAP's host side receives them (copies). */
    hostSide: Uint8Array[];
    hostMac: Uint8Array;
    xv0Mac: Uint8Array;
    xv1Mac: Uint8Array;
  }

  function linkMac(ns: TestNetns, dev: string): Uint8Array {
    const [link] = JSON.parse(ns.ip('-j', 'link', 'show', 'dev', dev)) as [{ address: string }];
    return Uint8Array.from(link.address.split(':').map((h) => parseInt(h, 16)));
  }

  /** TCP to our test port, as seen by a capture. */
  const isFlow = (f: Uint8Array): boolean =>
    f.length >= 54 && f[12] === 0x08 && f[13] === 0x00 && f[23] === 6 && ((f[36]! << 8) | f[37]!) === 5001;

  function rig(opts: { sndbufBytes?: number; txThread?: boolean } = {}): Rig {
    const na = (a = TestNetns.create('tso-nic'));
    const nb = (b = TestNetns.create('tso-nic'));
    const card = track(NativeCard.openTap(TAP, 1500, { netns: na.name, mac: deriveMac(TAP), ...opts }));
    card.setHostIpv4(parseIpv4('198.18.90.1')!, 24);
    card.setHostUp(true);
    na.ip('link', 'add', 'xv0', 'type', 'veth', 'peer', 'name', 'xv1', 'netns', nb.name);
    na.ip('addr', 'add', '198.18.91.1/24', 'dev', 'xv0');
    na.exec('ethtool', '-K', 'xv0', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'sg', 'off');
    nb.exec('ethtool', '-K', 'xv1', 'gro', 'off');
    na.ip('link', 'set', 'xv0', 'up');
    nb.ip('link', 'set', 'xv1', 'up');
    na.exec('sysctl', '-qw', 'net.ipv4.ip_forward=1');
    const xv1Mac = linkMac(nb, 'xv1');
    na.ip('neigh', 'replace', '198.18.91.2', 'lladdr', formatMac(xv1Mac), 'dev', 'xv0', 'nud', 'permanent');
    const wire: Uint8Array[] = [];
    const hostSide: Uint8Array[] = [];
    track(NativeCard.openPacketSocket('xv1', { netns: nb.name, rcvbufBytes: 4 << 20 })).setFrameHandler((f) => {
      if (isFlow(f)) wire.push(Uint8Array.from(f));
    });
    track(NativeCard.openPacketSocket(TAP, { netns: na.name, rcvbufBytes: 4 << 20 })).setFrameHandler((f) => {
      if (isFlow(f)) hostSide.push(Uint8Array.from(f));
    });
    return { ns: na, card, wire, hostSide, hostMac: card.hostLink().mac, xv0Mac: linkMac(na, 'xv0'), xv1Mac };
  }

  function superSegment(r: Rig, payloadBytes: number, flags: number, rng: () => number): TsoFrame {
    const payload = new Uint8Array(payloadBytes);
    for (let i = 0; i < payload.length; i++) payload[i] = Math.floor(rng() * 256);
    // Timestamps (RFC 7323 §3.2), as a real sender's segments carry: options must be copied to every segment.
    const options = Uint8Array.of(1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78);
    return buildTsoFrame({
      dstMac: r.hostMac,
      srcMac: r.card.mac,
      srcAddr: MACHINE,
      dstAddr: FAR,
      srcPort: 40_000,
      dstPort: 5001,
      seq: 0xffff_f000, // wraps inside the frame
      ack: 1,
      flags,
      options,
      ipId: 0xfffe, // wraps too
      ttl: 64,
      payload,
      segmentBytes: MSS - options.length,
    });
  }

  function expectSegmentsOnWire(r: Rig, t: TsoFrame): void {
    const want = expectedSegments(forwarded(t.frame, r.xv1Mac, r.xv0Mac), t.tso);
    expect(r.wire.map((f) => f.length)).toEqual(want.map((f) => f.length));
    r.wire.forEach((f, i) => expect(f, `segment ${i}`).toEqual(want[i]));
  }

  it('a TAP with tso takes frames up to 65,549 bytes, one without none; the card checks what it can', async () => {
    const r = rig();
    expect(r.card.tsoMaxBytes).toBe(TSO_MAX_FRAME_BYTES);
    const plain = track(NativeCard.openTap('xt1', 1500, { netns: r.ns.name, tso: false }));
    expect(plain.tsoMaxBytes).toBe(0);
    const t = superSegment(r, 10_000, TCP_ACK, Math.random);
    expect(plain.transmit([t.frame], t.tso)).toBe('dropped');
    expect(plain.counters().drops['tx_tso_unsupported']).toBe(1);
    const bad: TsoInfo[] = [
      { ...t.tso, segmentBytes: 0 },
      { ...t.tso, segmentBytes: 1500 }, // headers + segment > MTU + 14
      { ...t.tso, checksumStart: t.tso.headerBytes - 17 }, // checksum field past the headers
      { ...t.tso, segmentBytes: 10_000 }, // not more than one segment of payload (and too big)
      { ...t.tso, segmentBytes: 1.5 },
    ];
    for (const tso of bad) expect(r.card.transmit([t.frame], tso), JSON.stringify(tso)).toBe('dropped');
    expect(r.card.transmit([t.frame, new Uint8Array(TSO_MAX_FRAME_BYTES + 1 - t.frame.length)], t.tso)).toBe('dropped');
    const c = r.card.counters();
    expect(c.drops['tx_tso_invalid']).toBe(bad.length);
    expect(c.drops['tx_oversize']).toBe(1);
    expect(c.txFrames).toBe(0);
  });

  it('one writev of a 10 KB super-segment leaves the host as the segments the contract describes', async () => {
    const r = rig();
    const rng = mulberry32(seed);
    const t = superSegment(r, 10_000, TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR, rng);
    // Gathered like the kernel hands it over: headers in one buffer, payload in two.
    const h = t.tso.headerBytes;
    expect(r.card.transmit([t.frame.subarray(0, h), t.frame.subarray(h, h + 4000), t.frame.subarray(h + 4000)], t.tso)).toBe('sent');
    const count = Math.ceil(10_000 / t.tso.segmentBytes);
    await waitFor(() => r.wire.length >= count, `${count} segments on xv1`);
    await new Promise((res) => setTimeout(res, 20));
    // The host received it whole (one GSO packet), exactly as written …
    expect(r.hostSide).toHaveLength(1);
    expect(r.hostSide[0]).toEqual(t.frame);
    // … and what reached the wire are the segments, every byte as the contract says.
    expectSegmentsOnWire(r, t);
    const c = r.card.counters();
    expect([c.txFrames, c.txBytes, c.txTsoFrames, c.txTsoBytes]).toEqual([1, t.frame.length, 1, t.frame.length]);
    expect(Object.values(c.drops).every((n) => n === 0)).toBe(true);
  });

  it('a super-segment of 64 KiB, and one whose last segment is 1 byte, segment correctly too', async () => {
    const r = rig();
    const rng = mulberry32(seed + 1);
    const big = superSegment(r, TSO_MAX_FRAME_BYTES - 14 - 20 - 32, TCP_ACK | TCP_PSH, rng);
    expect(big.frame.length).toBe(TSO_MAX_FRAME_BYTES);
    expect(r.card.transmit([big.frame], big.tso)).toBe('sent');
    const count = Math.ceil((big.frame.length - big.tso.headerBytes) / big.tso.segmentBytes);
    await waitFor(() => r.wire.length >= count, `${count} segments`);
    expectSegmentsOnWire(r, big);
    r.wire.length = 0;
    const odd = superSegment(r, 2 * (MSS - 12) + 1, TCP_ACK | TCP_PSH, rng);
    expect(r.card.transmit([odd.frame], odd.tso)).toBe('sent');
    await waitFor(() => r.wire.length >= 3, '3 segments');
    expectSegmentsOnWire(r, odd);
  });

  it('a super-segment queued under backpressure keeps its offload and goes out segmented after the drain', async () => {
    const r = rig({ sndbufBytes: 4096 });
    const release = holdTapFrames(r.ns);
    let held = true;
    try {
      const statuses: string[] = [];
      for (let i = 0; i < 1000 && !statuses.includes('queued'); i++) {
        statuses.push(r.card.transmit([testFrame(r.hostMac, r.card.mac, i, 1000)]));
      }
      expect(statuses).toContain('queued');
      const t = superSegment(r, 10_000, TCP_ACK | TCP_PSH, mulberry32(seed + 2));
      expect(r.card.transmit([t.frame], t.tso)).toBe('queued');
      expect(r.card.counters().txTsoFrames).toBe(0);
      held = false;
      release();
      await waitFor(() => r.card.txQueueFrames() === 0, 'the queue to drain');
      await waitFor(() => r.wire.length >= 7, '7 segments');
      expectSegmentsOnWire(r, t);
      const c = r.card.counters();
      expect([c.txTsoFrames, c.txTsoBytes]).toEqual([1, t.frame.length]);
      expect(Object.values(c.drops).every((n) => n === 0)).toBe(true);
    } finally {
      if (held) release();
    }
  });

  it('frames from the host carry no offload: its TCP and UDP arrive with full checksums, none dropped as rx_gso / rx_partial_csum', async () => {
    const r = rig();
    // The TAP offers the host no checksum or segmentation offload (we never call TUNSETOFFLOAD) …
    const features = r.ns.exec('ethtool', '-k', TAP);
    expect(features).toMatch(/^tx-checksumming: off/m);
    expect(features).toMatch(/^tcp-segmentation-offload: off/m);
    r.ns.ip('neigh', 'replace', '198.18.90.2', 'lladdr', formatMac(r.card.mac), 'dev', TAP, 'nud', 'permanent');
    const got: Uint8Array[] = [];
    r.card.setFrameHandler((f) => {
      if (f.length >= 34 && f[12] === 0x08 && f[13] === 0x00 && (f[23] === 6 || f[23] === 17)) got.push(Uint8Array.from(f));
    });
    // … so its stack finishes every checksum itself: a TCP SYN and a 1,400-byte UDP datagram
    // from the host's own sockets arrive whole, with checksums that verify.
    const tcp = runAsync(['ip', 'netns', 'exec', r.ns.name, 'timeout', '1', 'bash', '-c', 'exec 3<>/dev/tcp/198.18.90.2/5001']);
    r.ns.exec('bash', '-c', 'head -c 1400 /dev/urandom > /dev/udp/198.18.90.2/5002');
    await waitFor(() => got.some((f) => f[23] === 6) && got.some((f) => f[23] === 17), 'a SYN and a UDP datagram');
    await tcp;
    for (const proto of [6, 17]) {
      const f = got.find((g) => g[23] === proto)!;
      const pseudo = pseudoHeaderSum(readU32(f, 26), readU32(f, 30), proto, f.length - 34);
      expect(sumVerifies(f, 34, f.length - 34, pseudo), `protocol ${proto} checksum`).toBe(true);
    }
    expect(got.find((g) => g[23] === 17)!.length).toBe(14 + 20 + 8 + 1400);
    const c = r.card.counters();
    expect([c.drops['rx_gso'], c.drops['rx_partial_csum']]).toEqual([0, 0]);
  });
});

describeAsRoot('TAP card: writer thread (txThread)', () => {
  // Each test has a namespace of its own; the host side is an AF_PACKET socket on the TAP, which
  // sees every frame (a TSO super-segment whole) at the host's ingress, in the order written.
  const seed = testSeed();
  let ns: TestNetns | undefined;
  const cards: NativeCard[] = [];
  beforeAll(() => console.info(`[writer thread] seed ${seed} (rerun with SEED=${seed})`));
  afterEach(async () => {
    await Promise.all(cards.splice(0).map((c) => c.close()));
    ns?.dispose();
    ns = undefined;
  });
  const track = <T extends NativeCard>(c: T): T => (cards.push(c), c);

  function open(opts: { sndbufBytes?: number; tuning?: { txQueueFrames?: number; txQueueBytes?: number } } = {}): {
    n: TestNetns;
    card: NativeCard;
    host: NativeCard;
    got: Uint8Array[];
  } {
    const n = (ns = TestNetns.create('txthread'));
    const card = track(NativeCard.openTap(TAP, 1500, { netns: n.name, mac: deriveMac(TAP), txThread: true, ...opts }));
    card.setHostUp(true);
    const host = track(NativeCard.openPacketSocket(TAP, { netns: n.name, rcvbufBytes: 16 << 20 }));
    const got: Uint8Array[] = [];
    host.setFrameHandler((f) => {
      if (f.length >= 54 && f[12] === 0x08 && f[13] === 0x00 && f[23] === 6) got.push(Uint8Array.from(f));
    });
    return { n, card, host, got };
  }

  /** A TCP frame of our test flow (to port 5001) with `payload`; a super-segment of 1,448-byte segments when longer than one. */
  function flowFrame(card: NativeCard, hostMac: Uint8Array, seq: number, ipId: number, payload: Uint8Array): TsoFrame {
    return buildTsoFrame({
      dstMac: hostMac,
      srcMac: card.mac,
      srcAddr: parseIpv4('198.18.92.2')!,
      dstAddr: parseIpv4('198.18.93.2')!,
      srcPort: 40_000,
      dstPort: 5001,
      seq,
      ack: 1,
      flags: TCP_ACK,
      ipId,
      ttl: 64,
      payload,
      segmentBytes: 1448,
    });
  }

  /** Threads of this process named `exotap-tx` (one per open card with a writer thread). */
  function writerThreads(): number {
    return readdirSync('/proc/self/task').filter((t) => {
      try {
        return readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() === 'exotap-tx';
      } catch {
        return false; // the thread ended while we looked
      }
    }).length;
  }

  it('many frames of random sizes, TSO super-segments among them, reach the host intact and in order', async () => {
    // A queue of 150,000 bytes: two or three super-segments fill it, so the byte ring wraps and
    // transmit waits for the writer again and again.
    const r = open({ tuning: { txQueueBytes: 150_000 } });
    const hostMac = r.card.hostLink().mac;
    const rng = mulberry32(seed);
    // Payloads are random windows of one random pool: distinct frames without a per-byte JS loop.
    const pool = Uint8Array.from({ length: 2 * 65_536 }, () => Math.floor(rng() * 256));
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        // A payload of ≤ 1,460 bytes goes as a plain frame, a longer one as a super-segment. The
        // capture socket reads at most 65,535 bytes (the addon's read space less one), so the
        // largest super-segment here is 65,535 bytes; 65,549 is tested on the wire above.
        fc.array(fc.oneof(fc.integer({ min: 0, max: 1460 }), fc.integer({ min: 1461, max: 65_535 - 54 })), { minLength: 1, maxLength: 40 }),
        async (payloads) => {
          r.got.length = 0;
          const before = r.card.counters();
          const frames: TsoFrame[] = [];
          // The host's capture socket is read by this event loop, so a burst is held to ~1.5 MB.
          let bytes = 0;
          for (const len of payloads) {
            if ((bytes += len + 54) > 1_500_000) break;
            const at = Math.floor(rng() * 65_536);
            const payload = pool.subarray(at, at + len);
            frames.push(flowFrame(r.card, hostMac, runs * 1_000_000 + frames.length, frames.length, payload));
          }
          runs++;
          for (const t of frames) {
            const tso = t.frame.length > 1514 ? t.tso : undefined;
            // Gather from two parts, as the kernel does (headers, payload), from buffers reused at once.
            const h = t.tso.headerBytes;
            expect(r.card.transmit([t.frame.subarray(0, h), t.frame.subarray(h)], tso)).toBe('sent');
          }
          await waitFor(
            () => r.got.length >= frames.length && r.card.counters().txFrames - before.txFrames >= frames.length,
            `every frame (${frames.length} sent, ${r.got.length} seen)`,
          );
          expect(r.got.map((f) => f.length)).toEqual(frames.map((t) => t.frame.length));
          // Byte-exact; Buffer.equals because a deep toEqual of megabytes is slow.
          expect(r.got.findIndex((f, i) => !Buffer.from(f).equals(frames[i]!.frame)), 'first frame that differs').toBe(-1);
          const c = r.card.counters();
          const tso = frames.filter((t) => t.frame.length > 1514);
          expect(c.txFrames - before.txFrames).toBe(frames.length);
          expect(c.txBytes - before.txBytes).toBe(frames.reduce((a, t) => a + t.frame.length, 0));
          expect(c.txTsoFrames - before.txTsoFrames).toBe(tso.length);
          expect(c.txTsoBytes - before.txTsoBytes).toBe(tso.reduce((a, t) => a + t.frame.length, 0));
          expect(Object.values(c.drops).reduce((a, b) => a + b, 0)).toBe(0);
        },
      ),
      { numRuns: 15, seed },
    );
    // Both ways out were taken: large frames written at once while the ring was idle, the rest
    // (and large frames behind them) through the ring, in one order.
    const direct = r.card.txDirectWrites();
    console.info(`[writer thread] ${direct} of ${r.card.counters().txFrames} frames written directly (≥ 16 KiB, ring idle)`);
    expect(direct).toBeGreaterThan(0);
    expect(direct).toBeLessThan(r.card.counters().txFrames);
  });

  it('a ring of 4 makes transmit wait for the writer instead of dropping: 500 frames arrive in order', async () => {
    const r = open({ tuning: { txQueueFrames: 4 } });
    const hostMac = r.card.hostLink().mac;
    const frames = Array.from({ length: 500 }, (_, i) => flowFrame(r.card, hostMac, i, i, new Uint8Array(1000).fill(i & 0xff)).frame);
    for (const f of frames) expect(r.card.transmit([f])).toBe('sent');
    await waitFor(() => r.got.length >= 500, '500 frames');
    r.got.forEach((f, i) => expect(f, `frame ${i}`).toEqual(frames[i]));
    expect(r.card.counters().txFrames).toBe(500);
    console.info(`[writer thread] ring of 4: transmit waited for a slot ${r.card.txRoomWaits()} times in 500`);
  });

  it('close with frames queued behind a blocked device writes none of them late: each is sent or counted tx_closed, and the thread is gone', async () => {
    const threadsBefore = writerThreads();
    const r = open({ sndbufBytes: 4096 });
    expect(writerThreads()).toBe(threadsBefore + 1);
    const release = holdTapFrames(r.n);
    try {
      const statuses = Array.from({ length: 200 }, (_, i) => r.card.transmit([testFrame(deriveMac('x'), r.card.mac, i, 200)]));
      expect(statuses).not.toContain('dropped');
      await waitFor(() => r.card.txQueueFrames() > 0 && r.card.counters().backpressureEvents + r.card.counters().txFrames > 0, 'the writer to block');
      let before = -1;
      await waitFor(() => {
        const n = r.card.counters().txFrames;
        const still = n === before;
        before = n;
        return still;
      }, 'the writer to stop writing');
      const waiting = r.card.txQueueFrames();
      expect(waiting).toBeGreaterThan(0);
      await r.card.close();
      const c = r.card.counters();
      expect(c.txFrames + c.drops['tx_closed']!).toBe(200);
      expect(c.drops['tx_closed']).toBe(waiting);
      expect(c.txQueueFrames).toBe(0);
      expect(writerThreads()).toBe(threadsBefore);
      expect(r.n.hasLink(TAP)).toBe(false);
    } finally {
      if (r.n.hasLink(TAP)) release();
    }
  });

  it('write errors found by the thread are counted by errno name; a deleted TAP fails the card cleanly', async () => {
    const r = open();
    r.n.ip('link', 'del', TAP);
    await waitFor(() => r.card.failure !== undefined, 'the card to notice');
    for (let i = 0; i < 5; i++) expect(r.card.transmit([testFrame(deriveMac('x'), r.card.mac, i, 64)])).toBe('sent');
    await waitFor(() => r.card.counters().drops['tx_error'] === 5, 'five tx_error');
    const errors = r.card.txErrors();
    expect(Object.values(errors).reduce((a, b) => a + b, 0)).toBe(5);
    expect(Object.keys(errors)).toEqual(['EBADFD']);
    // The same figures in the counters the admin API shows.
    expect(r.card.counters().txErrors).toEqual(errors);
    expect(r.card.counters().txFrames).toBe(0);
  });

  it('a process that exits, or a worker that is terminated, with a writer thread running removes the TAP', async () => {
    const n = (ns = TestNetns.create('txthread'));
    // The TAP is down, so the writer's writes fail (EIO) and it reports them while the worker goes away.
    await expectExitAndTerminateRemoveTap(n, `{ netns: '${n.name}', txThread: true }`, 'for (let i = 0; i < 100; i++) p.send(new Uint8Array(60));');
  });
});

/**
 * Open TAP `TAP` in `n` through the bare addon (`portOptions`: JS source of the options; then
 * `afterOpen` runs) in a child process that ends with `process.exit()`, and in a worker that is
 * terminated: the TAP must be gone after each, and neither may crash.
 */
async function expectExitAndTerminateRemoveTap(n: TestNetns, portOptions: string, afterOpen = ''): Promise<void> {
  const addon = `${packageRoot()}/build/Release/exotap.node`;
  const open = `const a = require(${JSON.stringify(addon)}); globalThis.p = new a.Port('tap', '${TAP}', ${portOptions}, () => {}, () => {}, () => {}); ${afterOpen}`;
  const exit = await runAsync([process.execPath, '-e', `${open} console.log('open'); process.exit(0);`]);
  expect(exit.stdout).toContain('open');
  expect(n.hasLink(TAP)).toBe(false);
  const worker = await runAsync([
    process.execPath,
    '-e',
    `const { Worker } = require('node:worker_threads');
     const w = new Worker(${JSON.stringify(`${open} require('node:worker_threads').parentPort.postMessage('open');`)}, { eval: true });
     w.on('message', async () => { console.log(require('node:child_process').execFileSync('ip', ['-n', '${n.name}', '-br', 'link']).toString()); await w.terminate(); console.log('terminated'); });`,
  ]);
  expect(worker.code).toBe(0);
  expect(worker.stdout).toContain(TAP);
  expect(worker.stdout).toContain('terminated');
  expect(n.hasLink(TAP)).toBe(false);
}

/** A small seeded PRNG (mulberry32) for reproducible payloads. */
function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function readU32(f: Uint8Array, at: number): number {
  return new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(at);
}

/**
 * Make the host hold the frames the TAP card writes, so its writes meet EAGAIN: they sit in a tbf
 * queue at ~1 kbit/s (ingress → mirred → lo), still charged to the TAP's sndbuf. The returned
 * function releases them: deleting the tbf frees the frames it holds (the host already received
 * them at the TAP's ingress, where a capture socket saw them), so the TAP is writable at once.
 */
function holdTapFrames(ns: TestNetns): () => void {
  ns.exec('tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '1kbit', 'burst', '1600', 'limit', '100000000');
  ns.exec('tc', 'qdisc', 'add', 'dev', TAP, 'ingress');
  ns.exec('tc', 'filter', 'add', 'dev', TAP, 'parent', 'ffff:', 'protocol', 'all', 'u32', 'match', 'u32', '0', '0',
    'action', 'mirred', 'egress', 'redirect', 'dev', 'lo');
  return () => {
    ns.exec('tc', 'qdisc', 'del', 'dev', TAP, 'ingress');
    ns.exec('tc', 'qdisc', 'del', 'dev', 'lo', 'root');
  };
}

/** Run a command without blocking the event loop (cards in this process keep working meanwhile). */
function runAsync(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
