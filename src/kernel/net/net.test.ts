import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { arpFrame, icmpEchoFrame, ip4, mac, tcpFrame, udpFrame, type L3 } from '../../../test/support/frames.js';
import { MemoryCard } from '../../nic/index.js';
import { VirtualClock } from '../../util/clock.js';
import {
  ArpPacket,
  EthernetFrame,
  Icmpv4Packet,
  Icmpv4Repr,
  Ipv4Packet,
  Ipv4Repr,
  TcpPacket,
  TcpRepr,
  isWireError,
  type Ipv4Addr,
} from '../../wire/index.js';
import { NetStack } from './dev.js';
import type { NetIface } from './iface.js';

/**
 * The in-memory wire: the kernel owns the card end, the test drives the host end. Frames the
 * host sends arrive on a later turn of the event loop (as from a TAP), so tests `await flush()`.
 */
class Wire {
  readonly card: MemoryCard;
  readonly sent: Uint8Array[] = [];
  constructor(name: string) {
    this.card = new MemoryCard(name, 1500, { mac: new Uint8Array([0x02, 0x65, 0x78, 0x00, 0x00, 0x02]) });
    this.card.host.onFrame((f) => this.sent.push(f));
  }
  /** Send a frame from the host side and wait until the card has delivered it. */
  async inject(frame: Uint8Array): Promise<void> {
    if (!this.card.host.send(frame)) throw new Error('host queue full');
    while (this.card.host.pendingFrames > 0) await new Promise((r) => setImmediate(r));
  }
}

const HOST_MAC = mac('0a:00:00:00:00:01');
const OUR_MAC = mac('02:65:78:00:00:02');
const HOST_IP = ip4('198.18.0.1');
const OUR_IP = ip4('198.18.0.2');
const toUs: L3 = { src: HOST_MAC, dst: OUR_MAC, srcIp: HOST_IP, dstIp: OUR_IP };

function parseIp(frame: Uint8Array): { eth: EthernetFrame; ip: Ipv4Packet; repr: Ipv4Repr } {
  const eth = EthernetFrame.checked(frame);
  if (isWireError(eth)) throw new Error(eth);
  const ip = Ipv4Packet.checked(frame, eth.payloadOffset);
  if (isWireError(ip)) throw new Error(ip);
  const repr = Ipv4Repr.parse(ip);
  if (isWireError(repr)) throw new Error(repr);
  return { eth, ip, repr };
}

function accounting(net: NetStack): { rx: number; accounted: number } {
  const t = net.stats().total;
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  return { rx: t.rxFrames, accounted: t.dpfClaimed + sum(t.handled) + sum(t.drops) };
}

describe('kernel conventional network path (over the in-memory wire)', () => {
  let card: Wire;
  let clock: VirtualClock;
  let net: NetStack;

  beforeEach(() => {
    card = new Wire('exo0');
    clock = new VirtualClock(1000);
    net = new NetStack({
      cards: [{ dev: card.card, ip: OUR_IP, prefixLen: 24 }],
      arpCacheTtlMs: 60_000,
      arpCacheMaxEntries: 4,
      icmpErrorsPerSecond: 10,
      icmpErrorBurst: 3,
      clock,
    });
    net.start();
  });

  it('announces its address with a gratuitous ARP when the card comes up (RFC 5227 §2.3)', async () => {
    expect(card.sent).toHaveLength(1);
    const f = card.sent[0] as Uint8Array;
    const eth = EthernetFrame.checked(f) as EthernetFrame;
    expect(eth.dstAddr).toBe(0xffffffffffff);
    const arp = ArpPacket.checked(f, 14) as ArpPacket;
    expect([arp.operation, arp.senderProtocolAddr, arp.targetProtocolAddr, arp.senderHardwareAddr]).toEqual([1, OUR_IP, OUR_IP, OUR_MAC]);
    card.sent.length = 0;
  });

  it('answers an ARP request for its address and learns the asker (RFC 826)', async () => {
    card.sent.length = 0;
    await card.inject(arpFrame({ src: HOST_MAC, dst: 0xffffffffffff }, 'request', { sha: HOST_MAC, spa: HOST_IP, tha: 0, tpa: OUR_IP }));
    expect(card.sent).toHaveLength(1);
    const f = card.sent[0] as Uint8Array;
    expect((EthernetFrame.checked(f) as EthernetFrame).dstAddr).toBe(HOST_MAC);
    const arp = ArpPacket.checked(f, 14) as ArpPacket;
    expect([arp.operation, arp.senderHardwareAddr, arp.senderProtocolAddr, arp.targetHardwareAddr, arp.targetProtocolAddr]).toEqual([
      2,
      OUR_MAC,
      OUR_IP,
      HOST_MAC,
      HOST_IP,
    ]);
    expect(net.arpTable()).toEqual([{ card: 'exo0', ip: '198.18.0.1', mac: '0a:00:00:00:00:01', state: 'reachable', expiresInMs: 60_000 }]);
    clock.advance(60_001);
    expect(net.arpTable()).toEqual([]);
  });

  it('ignores ARP for other addresses, and counts it', async () => {
    card.sent.length = 0;
    await card.inject(arpFrame({ src: HOST_MAC, dst: 0xffffffffffff }, 'request', { sha: HOST_MAC, spa: HOST_IP, tha: 0, tpa: ip4('198.18.0.77') }));
    expect(card.sent).toHaveLength(0);
    expect(net.stats().total.drops.arp_other_target).toBe(1);
    expect(net.arpTable()).toEqual([]);
  });

  it('answers ICMP echo with the same identifier, sequence and data (RFC 792)', async () => {
    card.sent.length = 0;
    const data = new Uint8Array(56).map((_, i) => i);
    await card.inject(icmpEchoFrame(toUs, 0x1234, 7, data));
    expect(card.sent).toHaveLength(1);
    const { eth, ip, repr } = parseIp(card.sent[0] as Uint8Array);
    expect([eth.dstAddr, eth.srcAddr, repr.srcAddr, repr.dstAddr, repr.protocol]).toEqual([HOST_MAC, OUR_MAC, OUR_IP, HOST_IP, 1]);
    const icmp = Icmpv4Repr.parse(Icmpv4Packet.checked(ip.buffer, ip.payloadOffset, ip.payloadLen) as Icmpv4Packet);
    expect(icmp).toEqual({ kind: 'echo-reply', ident: 0x1234, seqNo: 7, data });
    expect(net.stats().cards['exo0']?.handled.icmp_echo_answered).toBe(1);
  });

  it('answers a SYN to a closed port with RST|ACK, ack = seq + 1 (RFC 9293 §3.10.7.1)', async () => {
    card.sent.length = 0;
    await card.inject(tcpFrame(toUs, { srcPort: 40000, dstPort: 81, control: 'syn', seqNumber: 0xfffffffe, windowLen: 65535, maxSegSize: 1460 }));
    const { ip } = parseIp(card.sent[0] as Uint8Array);
    const rst = TcpRepr.parse(TcpPacket.checked(ip.buffer, ip.payloadOffset, ip.payloadLen) as TcpPacket, OUR_IP, HOST_IP);
    expect(rst).toMatchObject({ srcPort: 81, dstPort: 40000, control: 'rst', seqNumber: 0, ackNumber: 0xffffffff });
  });

  it('answers a segment with ACK set with <SEQ=SEG.ACK><CTL=RST>, and never answers an RST', async () => {
    card.sent.length = 0;
    await card.inject(tcpFrame(toUs, { srcPort: 40000, dstPort: 81, seqNumber: 5, ackNumber: 777, payload: new Uint8Array(10) }));
    const { ip } = parseIp(card.sent[0] as Uint8Array);
    const rst = TcpRepr.parse(TcpPacket.checked(ip.buffer, ip.payloadOffset, ip.payloadLen) as TcpPacket, OUR_IP, HOST_IP);
    expect(rst).toMatchObject({ control: 'rst', seqNumber: 777, ackNumber: undefined });
    await card.inject(tcpFrame(toUs, { srcPort: 40000, dstPort: 81, control: 'rst', seqNumber: 5 }));
    expect(card.sent).toHaveLength(1);
    expect(net.stats().total.drops.tcp_rst_to_closed).toBe(1);
  });

  it('answers UDP to a closed port with ICMP port unreachable quoting the datagram, rate-limited', async () => {
    card.sent.length = 0;
    const payload = new TextEncoder().encode('hello');
    for (let i = 0; i < 5; i++) await card.inject(udpFrame(toUs, 5000 + i, 9999, payload));
    expect(card.sent).toHaveLength(3); // burst of 3
    const { ip } = parseIp(card.sent[0] as Uint8Array);
    const icmp = Icmpv4Repr.parse(Icmpv4Packet.checked(ip.buffer, ip.payloadOffset, ip.payloadLen) as Icmpv4Packet);
    expect(icmp).toMatchObject({ kind: 'dst-unreachable', code: 3 });
    const quoted = (icmp as { quoted: Uint8Array }).quoted;
    expect(quoted.length).toBe(20 + 8 + 5);
    expect(Ipv4Packet.unchecked(quoted).dstAddr).toBe(OUR_IP);
    expect(net.stats().total.drops.icmp_error_rate_limited).toBe(2);
    clock.advance(100); // 10/s → one token
    await card.inject(udpFrame(toUs, 6000, 9999, payload));
    expect(card.sent).toHaveLength(4);
  });

  it('sends no ICMP error for broadcast UDP, and protocol unreachable for unknown protocols', async () => {
    card.sent.length = 0;
    await card.inject(udpFrame({ ...toUs, dst: 0xffffffffffff, dstIp: ip4('198.18.0.255') }, 68, 67, new Uint8Array(4)));
    expect(card.sent).toHaveLength(0);
    expect(net.stats().total.drops.udp_broadcast).toBe(1);
    const f = udpFrame(toUs, 1, 2, new Uint8Array(4));
    const ip = Ipv4Packet.unchecked(f, 14);
    ip.protocol = 132; // SCTP
    ip.fillChecksum();
    await card.inject(f);
    const { ip: out } = parseIp(card.sent[0] as Uint8Array);
    expect(Icmpv4Repr.parse(Icmpv4Packet.checked(out.buffer, out.payloadOffset, out.payloadLen) as Icmpv4Packet)).toMatchObject({
      kind: 'dst-unreachable',
      code: 2,
    });
  });

  it('drops bad checksums, other hosts, fragments and bad sources silently, with reasons', async () => {
    card.sent.length = 0;
    const badIp = icmpEchoFrame(toUs, 1, 1, new Uint8Array(8));
    (badIp[24] as number) ^= 0xff;
    const badTcp = tcpFrame(toUs, { srcPort: 1, dstPort: 2, control: 'syn' });
    (badTcp[badTcp.length - 1 - 0] as number) ^= 0x01; // flips a header byte: checksum fails
    const other = icmpEchoFrame({ ...toUs, dstIp: ip4('198.18.0.99') }, 1, 1, new Uint8Array(8));
    const frag = udpFrame(toUs, 1, 2, new Uint8Array(8));
    const fp = Ipv4Packet.unchecked(frag, 14);
    fp.setFragment(false, true, 0);
    fp.fillChecksum();
    const bcastSrc = icmpEchoFrame({ ...toUs, srcIp: ip4('255.255.255.255') }, 1, 1, new Uint8Array(8));
    for (const f of [badIp, badTcp, other, frag, bcastSrc]) await card.inject(f);
    expect(card.sent).toHaveLength(0);
    const d = net.stats().total.drops;
    expect([d.ipv4_bad_checksum, d.tcp_bad_checksum, d.ipv4_other_host, d.ipv4_fragment, d.ipv4_bad_source]).toEqual([1, 1, 1, 1, 1]);
  });

  it('a frame the receive hook claims never reaches the conventional path', async () => {
    card.sent.length = 0;
    const seen: number[] = [];
    net.setRxHook((iface, frame) => {
      seen.push(frame.length);
      return iface.name === 'exo0';
    });
    await card.inject(icmpEchoFrame(toUs, 1, 1, new Uint8Array(8)));
    expect(card.sent).toHaveLength(0);
    expect(seen).toHaveLength(1);
    expect(net.stats().total.dpfClaimed).toBe(1);
    net.setRxHook(undefined);
    await card.inject(icmpEchoFrame(toUs, 1, 2, new Uint8Array(8)));
    expect(card.sent).toHaveLength(1);
  });

  it('a hook that throws costs one frame (counted), never the daemon', async () => {
    net.setRxHook(() => {
      throw new Error('bug');
    });
    await card.inject(icmpEchoFrame(toUs, 1, 1, new Uint8Array(8)));
    expect(net.stats().total.drops.internal_error).toBe(1);
  });

  it('random and mutated frames never throw, and every frame is accounted for exactly once', async () => {
    const seeds = [
      icmpEchoFrame(toUs, 1, 1, new Uint8Array(16)),
      tcpFrame(toUs, { srcPort: 1234, dstPort: 80, control: 'syn' }),
      udpFrame(toUs, 53, 53, new Uint8Array(12)),
      arpFrame({ src: HOST_MAC, dst: 0xffffffffffff }, 'request', { sha: HOST_MAC, spa: HOST_IP, tha: 0, tpa: OUR_IP }),
    ];
    const mutated = fc
      .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat())
      .map(([base, flips, cut]) => {
        const f = Uint8Array.from(base);
        for (const [at, v] of flips) f[at % f.length] = v;
        return f.subarray(0, f.length - (cut % 8 === 0 ? cut % f.length : 0));
      });
    const random = fc.uint8Array({ maxLength: 200 });
    let n = 0;
    fc.assert(
      fc.property(fc.oneof(mutated, random), (frame) => {
        net.netif_rx(net.ifaces[0] as NetIface, frame);
        n++;
        const { rx, accounted } = accounting(net);
        return rx === accounted;
      }),
      { numRuns: 20_000 },
    );
    expect(net.stats().total.rxFrames).toBe(n);
  });

  it('replies are built in the card buffer: the source address of every reply is ours', async () => {
    card.sent.length = 0;
    const addrs: Ipv4Addr[] = [];
    for (let i = 0; i < 3; i++) await card.inject(icmpEchoFrame(toUs, i, i, new Uint8Array(i * 100)));
    for (const f of card.sent) addrs.push(parseIp(f).repr.srcAddr);
    expect(addrs).toEqual([OUR_IP, OUR_IP, OUR_IP]);
  });
});
