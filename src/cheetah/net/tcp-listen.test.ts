/**
 * LISTEN, CLOSED, SYN options and IP options, the IPv4 receive checks, SYN-RECEIVED, SYN-flood
 * behaviour with SYN cookies, and passive OPENs beside other connections and local addresses.
 * Each scenario runs twice: mid-space ISNs and ISNs near the 2^32 wrap.
 */
import { describe, expect, it } from 'vitest';
import { EthernetFrame, EthernetRepr, Ipv4Packet, TcpPacket } from '../../wire/index.js';
import { seqAdd } from './seqnum.js';
import type { TcpConnection } from './tcb.js';
import {
  CLIENT_IP,
  CLIENT_MAC,
  CLIENT_PORT,
  Host,
  ISN_CASES,
  LINUX_SYN,
  Peer,
  SERVER_IP,
  SERVER_MAC,
  SERVER_INTERFACE,
  SERVER_PORT,
  brief,
  clientFrame,
  established,
  flagsOf,
  rawOptionsFrame,
  type SegSpec,
  type Sent,
} from './testing/harness.js';
import { TcpState } from './types.js';

function listening(opts: ConstructorParameters<typeof Host>[0] = {}): Host {
  const host = new Host(opts);
  const l = host.stack.listen({ addr: 0, port: SERVER_PORT, ...(opts.config?.synBacklog !== undefined ? { backlog: opts.config.synBacklog } : {}) });
  if (typeof l === 'string') throw new Error(l);
  return host;
}

describe.each(ISN_CASES)('LISTEN and CLOSED ($name)', ({ clientIsn, serverIss }) => {
  it('answers a Linux SYN with SYN-ACK: our ISS, ACK = ISN+1, MSS, window scale, SACK-permitted, timestamps echoed', () => {
    const host = listening({ serverIss });
    const peer = new Peer(host, clientIsn);
    peer.send({ flags: 'S', ...LINUX_SYN, ts: { tsVal: 777, tsEcr: 0 } });
    const [sa, ...rest] = host.take();
    expect(rest).toEqual([]);
    expect(flagsOf(sa!.seg)).toBe('SA');
    expect(sa!.seg.seqNumber).toBe(serverIss);
    expect(sa!.seg.ackNumber).toBe(seqAdd(clientIsn, 1));
    expect(sa!.seg).toMatchObject({ maxSegSize: 1460, windowScale: 1, sackPermitted: true, windowLen: 65_535 });
    expect(sa!.seg.timestamp?.tsEcr).toBe(777);
    expect(sa!.ethDst).toBe(0x020000000001);
    expect(sa!.ip).toMatchObject({ srcAddr: SERVER_IP, dstAddr: CLIENT_IP, dontFrag: true, hopLimit: 64 });
  });

  it('offers only what the peer offered: no options in, only MSS out', () => {
    const host = listening({ serverIss });
    new Peer(host, clientIsn, { ts: false }).send({ flags: 'S', ts: false });
    const [sa] = host.take();
    expect(sa!.seg).toMatchObject({ maxSegSize: 1460, windowScale: undefined, sackPermitted: false, timestamp: undefined });
  });

  it('MUST-4/5/6/64: SYN options among unknown kinds and at any alignment are all taken; the unknown ones are skipped', () => {
    const host = listening({ serverIss });
    const syn = new Peer(host, clientIsn).seg({ flags: 'S' });
    // prettier-ignore
    host.inject(rawOptionsFrame(syn, [
      253, 4, 0xab, 0xcd, // experimental (RFC 4727): unknown to us
      1, 2, 4, 0x05, 0xb4, // NOP, then MSS 1460 at an odd offset
      30, 3, 0, // an unknown kind (MPTCP) of odd length
      3, 3, 7, // window scale 7
      4, 2, // SACK-permitted
      8, 10, 0, 0, 3, 9, 0, 0, 0, 0, // timestamps, TSval 777
      0, 0, 0, 0, 0, // End of Option List, then zero padding to the data offset
    ]));
    const [sa] = host.take();
    expect(flagsOf(sa!.seg)).toBe('SA');
    expect(sa!.seg).toMatchObject({ maxSegSize: 1460, windowScale: 1, sackPermitted: true });
    expect(sa!.seg.timestamp?.tsEcr).toBe(777);
  });

  it('MUST-50: IP options the stack does not understand (Record Route) are ignored: the SYN is answered, without options', () => {
    const host = listening({ serverIss });
    const syn = new Peer(host, clientIsn).seg({ flags: 'S', ...LINUX_SYN });
    host.inject(clientFrame(syn, { ipOptions: Uint8Array.of(7, 7, 4, 0, 0, 0, 0) }));
    const [sa] = host.take();
    expect(flagsOf(sa!.seg)).toBe('SA');
    expect(sa!.seg.ackNumber).toBe(seqAdd(clientIsn, 1));
    expect(sa!.ip.options.length).toBe(0);
  });

  it('MUST-67: the MSS option we send is the card\'s MTU less 40 (MMS_R for IPv4 without options)', () => {
    for (const [mtuBytes, mss] of [
      [9000, 8960],
      [1500, 1460],
      [1280, 1240],
    ] as const) {
      const host = listening({ serverIss, interfaces: [{ ...SERVER_INTERFACE, mtuBytes }] });
      new Peer(host, clientIsn).send({ flags: 'S', ...LINUX_SYN });
      expect(host.take()[0]!.seg.maxSegSize).toBe(mss);
    }
  });

  it('MUST-15: without an MSS option the peer gets at most 536-byte segments', () => {
    const doc = new Uint8Array(2000);
    const { peer } = established({
      serverIss,
      clientIsn,
      ts: false,
      synOpts: { mss: undefined },
      events: { onReadable: (c) => void c.send(doc) },
    });
    peer.send({ flags: 'PA', data: 'x' });
    const sizes = peer.take().map((s) => s.seg.payload.length);
    expect(Math.max(...sizes)).toBe(536);
  });

  it('an ACK to the listener (no cookie behind it) gets <SEQ=SEG.ACK><CTL=RST>', () => {
    const host = listening({ serverIss });
    const peer = new Peer(host, clientIsn);
    peer.send({ flags: 'A', ack: 0x12345678 });
    expect(brief(host.take())).toEqual([['R', 0x12345678, undefined, 0]]);
    expect(host.stack.counters().synCookiesRejected).toBe(1);
  });

  it('a RST to the listener is ignored; a segment with neither SYN, ACK nor RST is dropped', () => {
    const host = listening({ serverIss });
    const peer = new Peer(host, clientIsn);
    peer.send({ flags: 'R' });
    peer.send({ flags: 'F' });
    expect(host.take()).toEqual([]);
    expect(host.stack.counters().drops).toMatchObject({ rstToListener: 1, listenerNoSyn: 1 });
  });

  it('CLOSED: a SYN to a port nobody listens on gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>', () => {
    const host = new Host({ serverIss });
    const peer = new Peer(host, clientIsn);
    peer.send({ flags: 'S', data: 'abc' });
    expect(brief(host.take())).toEqual([['RA', 0, seqAdd(clientIsn, 4), 0]]);
    peer.send({ flags: 'A', ack: 99 });
    expect(brief(host.take())).toEqual([['R', 99, undefined, 0]]);
  });

  it('CLOSED: never a RST in reply to a RST', () => {
    const host = new Host({ serverIss });
    new Peer(host, clientIsn).send({ flags: 'RA', ack: 5 });
    expect(host.take()).toEqual([]);
  });

  it('data on a SYN is not taken (not acknowledged)', () => {
    const host = listening({ serverIss });
    new Peer(host, clientIsn).send({ flags: 'S', data: 'early' });
    expect(host.take()[0]!.seg.ackNumber).toBe(seqAdd(clientIsn, 1));
  });
});

describe('IPv4 receive checks (MUST-2/3, MUST-57, RFC 1122 §3.2.1)', () => {
  const cases: [string, Parameters<typeof clientFrame>[1], string][] = [
    ['MUST-2/3: a bad TCP checksum', { corrupt: true }, 'tcpChecksum'],
    ['MUST-57: a SYN to 255.255.255.255', { dst: 0xffffffff }, 'notForUs'],
    ['MUST-57: a SYN to the subnet broadcast', { dst: 0xc61200ff }, 'notForUs'],
    ['MUST-57: a SYN to a multicast group', { dst: 0xe0000001 }, 'notForUs'],
    ['MUST-57: a SYN in a broadcast Ethernet frame', { dstMac: 0xffffffffffff }, 'linkBroadcast'],
    ['a SYN from 0.0.0.0', { src: 0 }, 'martian'],
    ['a SYN from a multicast source', { src: 0xe0000001 }, 'martian'],
    ['a SYN from the subnet broadcast', { src: 0xc61200ff }, 'martian'],
    ['a SYN from our own address', { src: SERVER_IP }, 'martian'],
  ];
  it.each(cases)('%s is dropped silently and counted', (_name, opts, reason) => {
    const host = listening();
    const syn = new Peer(host, 1).seg({ flags: 'S', ...LINUX_SYN });
    host.inject(clientFrame(syn, opts));
    expect(host.take()).toEqual([]);
    expect(host.stack.counters().drops[reason]).toBe(1);
  });

  it('fragments, other protocols, bad IP checksums and truncated frames are dropped and counted', () => {
    const host = listening();
    const frame = clientFrame(new Peer(host, 1).seg({ flags: 'S' }));
    const frag = frame.slice();
    frag[14 + 6] = frag[14 + 6]! | 0x20; // MF
    Ipv4Packet.unchecked(frag, 14, 20).fillChecksum();
    const udp = frame.slice();
    udp[14 + 9] = 17;
    Ipv4Packet.unchecked(udp, 14, 20).fillChecksum();
    const badIp = frame.slice();
    badIp[14 + 8] = 1; // TTL changed, checksum not
    for (const f of [frag, udp, badIp, frame.subarray(0, 40), frame.subarray(0, 10)]) host.inject(f);
    expect(host.take()).toEqual([]);
    expect(host.stack.counters().drops).toMatchObject({ fragment: 1, ipProtocol: 1, ipChecksum: 1, truncated: 2 });
  });

  it('a TCP header with a data offset past the segment is truncated; port 0 is malformed', () => {
    const host = listening();
    const seg = new Peer(host, 1).seg({ flags: 'S' });
    const f = clientFrame(seg);
    TcpPacket.unchecked(f, 34, f.length - 34).headerLen = 60;
    host.inject(f);
    const z = clientFrame({ ...seg, srcPort: 1 });
    const tz = TcpPacket.unchecked(z, 34, z.length - 34);
    tz.srcPort = 0;
    tz.fillChecksum(CLIENT_IP, SERVER_IP);
    host.inject(z);
    expect(host.take()).toEqual([]);
    expect(host.stack.counters().drops).toMatchObject({ truncated: 1, malformed: 1 });
  });
});

describe.each(ISN_CASES)('SYN-RECEIVED ($name)', ({ clientIsn, serverIss }) => {
  function synReceived(config = {}) {
    const host = listening({ serverIss, config });
    const peer = new Peer(host, clientIsn);
    peer.send({ flags: 'S', ...LINUX_SYN, ts: { tsVal: 1, tsEcr: 0 } });
    peer.take();
    return { host, peer };
  }

  it('a retransmitted SYN gets the SYN-ACK again', () => {
    const { host, peer } = synReceived();
    peer.send({ flags: 'S', seq: clientIsn, ...LINUX_SYN }, { advance: false });
    expect(brief(host.take())).toEqual([['SA', serverIss, seqAdd(clientIsn, 1), 0]]);
  });

  it('retransmits the SYN-ACK at 1, 3, 7, 15, 31 s, then forgets the half-open connection silently', () => {
    const { host } = synReceived();
    const start = host.clock.now;
    host.advance(200_000);
    const times = host.take().map((s) => Math.round(s.at - start));
    expect(times).toEqual([1000, 3000, 7000, 15_000, 31_000]);
    expect(host.stack.counters()).toMatchObject({ connections: 0, halfOpen: 0 });
    expect(host.log.closed).toEqual([]);
  });

  it('MUST-11: RST at RCV.NXT from a passive open returns to LISTEN (the next ACK gets RST)', () => {
    const { host, peer } = synReceived();
    peer.send({ flags: 'R' }, { advance: false });
    expect(host.take()).toEqual([]);
    expect(host.stack.counters().connections).toBe(0);
    peer.send({ flags: 'A' });
    expect(flagsOf(host.take()[0]!.seg)).toBe('R');
    expect(host.log.accepted).toEqual([]);
  });

  it('RFC 5961: an in-window inexact RST gets a challenge ACK; the connection stays', () => {
    const { host, peer } = synReceived();
    peer.send({ flags: 'R', seqOff: 100 }, { advance: false });
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 1), seqAdd(clientIsn, 1), 0]]);
    expect(host.stack.counters()).toMatchObject({ connections: 1, challengeAcks: 1 });
  });

  it('an ACK that does not acknowledge our SYN gets <SEQ=SEG.ACK><CTL=RST>', () => {
    const { host, peer } = synReceived();
    peer.send({ flags: 'A', ackOff: 5 });
    expect(brief(host.take())).toEqual([['R', seqAdd(serverIss, 6), undefined, 0]]);
  });

  it('the handshake ACK with data establishes and delivers the data in one pass', () => {
    const { host, peer } = synReceived();
    peer.send({ flags: 'PA', data: 'hello' });
    const conn = host.log.accepted[0]!;
    expect(conn.state).toBe(TcpState.Established);
    const got = new Uint8Array(10);
    expect(new TextDecoder().decode(got.subarray(0, conn.read(got)))).toBe('hello');
  });

  it('closing the listener drops its half-open connections', () => {
    const host = listening({ serverIss });
    new Peer(host, clientIsn).send({ flags: 'S' });
    const [l] = host.stack.listeners();
    l!.close();
    expect(host.stack.counters()).toMatchObject({ connections: 0, halfOpen: 0 });
  });
});

describe.each(ISN_CASES)('SYN flood and SYN cookies, RFC 4987 ($name)', ({ clientIsn, serverIss }) => {
  const BACKLOG = 4;

  function flood(host: Host, n: number): void {
    for (let i = 0; i < n; i++) new Peer(host, 77 * i, { port: 1024 + i }).send({ flags: 'S', ...LINUX_SYN });
  }

  /** A legitimate client completing the handshake via a cookie: returns its peer and the SYN-ACK. */
  function cookieClient(host: Host) {
    const peer = new Peer(host, clientIsn);
    peer.send({ flags: 'S', ...LINUX_SYN, ts: { tsVal: 5000, tsEcr: 0 } });
    const [sa] = peer.take();
    return { peer, sa: sa! };
  }

  it('half-open state stays within the backlog while a legitimate client completes through a cookie', () => {
    const host = listening({ serverIss, config: { synBacklog: BACKLOG } });
    flood(host, 200);
    expect(host.stack.counters()).toMatchObject({ halfOpen: BACKLOG, connections: BACKLOG, synCookiesSent: 200 - BACKLOG });
    host.take();
    const { peer, sa } = cookieClient(host);
    expect(flagsOf(sa.seg)).toBe('SA');
    expect(sa.seg.windowScale).toBe(1);
    peer.send({ flags: 'A' });
    expect(host.log.accepted).toHaveLength(1);
    const st = host.log.accepted[0]!.stats();
    expect(st).toMatchObject({ state: 'ESTABLISHED', synCookie: true, windowScaling: true, sack: true, timestamps: true, mss: 1448 });
    expect(host.stack.counters()).toMatchObject({ synCookiesAccepted: 1, halfOpen: BACKLOG });
  });

  it('a cookie connection keeps no state: its SYN-ACK is never retransmitted, the normal ones are', () => {
    const host = listening({ serverIss, config: { synBacklog: 1 } });
    flood(host, 1);
    host.take();
    cookieClient(host);
    host.advance(2000);
    const rtx = host.take();
    expect(rtx).toHaveLength(1);
    expect(rtx[0]!.seg.ackNumber).toBe(1); // the flood's first SYN (ISN 0), not the cookie client
  });

  it.each([
    ['ACK|PSH with data', { flags: 'PA', data: 'GET /' }, true],
    ['ACK|FIN', { flags: 'FA' }, true],
    ['ACK|SYN', { flags: 'SA' }, false],
    ['ACK|RST', { flags: 'RA' }, false],
    ['RST', { flags: 'R' }, false],
  ] as const)('third step %s completes the handshake: %s', (_n, spec, completes) => {
    const host = listening({ serverIss, config: { synBacklog: 1 } });
    flood(host, 1);
    host.take();
    const { peer } = cookieClient(host);
    peer.send({ ...spec });
    expect(host.log.accepted.length).toBe(completes ? 1 : 0);
    if (completes && spec.flags === 'PA') expect(host.log.accepted[0]!.readable).toBe(5);
    if (completes && spec.flags === 'FA') expect(host.log.accepted[0]!.state).toBe(TcpState.CloseWait);
  });

  it('a forged or wrong-tuple cookie ACK is answered with RST and creates nothing', () => {
    const host = listening({ serverIss, config: { synBacklog: 1 } });
    flood(host, 1);
    host.take();
    const { peer } = cookieClient(host);
    peer.send({ flags: 'A', ackOff: 1 }, { advance: false });
    peer.send({ flags: 'A', srcPort: CLIENT_PORT + 1 }, { advance: false });
    expect(host.take().map((s) => flagsOf(s.seg))).toEqual(['R', 'R']);
    expect(host.log.accepted).toEqual([]);
  });

  it('without timestamps a cookie connection has neither window scaling nor SACK', () => {
    const host = listening({ serverIss, config: { synBacklog: 1 } });
    flood(host, 1);
    host.take();
    const peer = new Peer(host, clientIsn, { ts: false });
    peer.send({ flags: 'S', ...LINUX_SYN, ts: false });
    const [sa] = peer.take();
    expect(sa!.seg).toMatchObject({ windowScale: undefined, sackPermitted: false, timestamp: undefined, maxSegSize: 1460 });
    peer.send({ flags: 'A' });
    expect(host.log.accepted[0]!.stats()).toMatchObject({ windowScaling: false, sack: false, mss: 1460 });
  });

  it('with cookies off a full backlog drops further SYNs and counts them', () => {
    const host = listening({ serverIss, config: { synBacklog: 2, synCookies: false } });
    flood(host, 10);
    expect(host.stack.counters().drops.backlogFull).toBe(8);
    expect(host.take()).toHaveLength(2);
    expect(host.stack.listeners()[0]!.describe().synDropped).toBe(8);
  });
});

describe('listen() arguments', () => {
  it('refuses bad ports, foreign addresses and duplicates', () => {
    const host = new Host();
    expect(host.stack.listen({ addr: 0, port: 0 })).toBe('invalid');
    expect(host.stack.listen({ addr: 0x01020304, port: 80 })).toBe('invalid');
    expect(typeof host.stack.listen({ addr: SERVER_IP, port: 80 })).toBe('object');
    expect(host.stack.listen({ addr: SERVER_IP, port: 80 })).toBe('address-in-use');
    expect(typeof host.stack.listen({ addr: 0, port: 80 })).toBe('object');
  });

  it('a SYN for another MAC is not ours', () => {
    const host = listening();
    host.inject(clientFrame(new Peer(host, 1).seg({ flags: 'S' }), { dstMac: SERVER_MAC + 1 }));
    expect(host.stack.counters().drops.notForUs).toBe(1);
  });
});

describe('OPEN calls beside other connections, and local addresses (MUST-41..45)', () => {
  /** A second card: 198.18.1.2 on its own MAC, its peer 198.18.1.1. */
  const CARD1 = { mac: SERVER_MAC + 0x100, addr: 0xc6_12_01_02, prefixLen: 24, mtuBytes: 1500 };
  const PEER1 = 0xc6_12_01_01;
  const srcMac = (s: Sent) => EthernetRepr.parse(EthernetFrame.unchecked(s.bytes)).srcAddr;

  it('MUST-41: a passive OPEN changes no existing connection: a duplicate is refused, others open, the connection goes on', () => {
    const { host, peer, conn } = established();
    const before = conn.stats();
    expect(host.stack.listen({ addr: 0, port: SERVER_PORT })).toBe('address-in-use');
    expect(typeof host.stack.listen({ addr: SERVER_IP, port: SERVER_PORT })).toBe('object');
    expect(typeof host.stack.listen({ addr: 0, port: 8080 })).toBe('object');
    expect(conn.stats()).toEqual(before);
    expect(host.take()).toEqual([]);
    peer.send({ flags: 'PA', data: 'still here' });
    expect(conn.readable).toBe(10);
    expect(host.stack.counters()).toMatchObject({ connections: 1, halfOpen: 0 });
  });

  it('MUST-42: a port can be listened on while an active open from it is in SYN-SENT; both complete', () => {
    const host = new Host();
    const conn = host.stack.connect({ nic: 0, remoteAddr: CLIENT_IP, remotePort: CLIENT_PORT, localPort: SERVER_PORT, remoteMac: CLIENT_MAC }) as TcpConnection;
    const remote = new Peer(host, 5000);
    expect(remote.take().map((s) => flagsOf(s.seg))).toEqual(['S']);
    expect(typeof host.stack.listen({ addr: 0, port: SERVER_PORT })).toBe('object');
    expect(conn.state).toBe(TcpState.SynSent);
    const client = new Peer(host, 9000, { port: CLIENT_PORT + 1 });
    client.send({ flags: 'S', ...LINUX_SYN });
    expect(client.take().map((s) => flagsOf(s.seg))).toEqual(['SA']);
    client.send({ flags: 'A' });
    expect(host.log.accepted).toHaveLength(1);
    remote.send({ flags: 'SA', ...LINUX_SYN, ack: remote.serverNxt });
    expect(conn.state).toBe(TcpState.Established);
    expect(host.log.connected).toEqual([conn]);
  });

  it('MUST-43/44/45: a listener bound to one card\'s address takes SYNs only there; every segment of a connection leaves from its card\'s address and MAC', () => {
    const host = new Host({ interfaces: [SERVER_INTERFACE, CARD1] });
    host.stack.listen({ addr: CARD1.addr, port: SERVER_PORT });
    // To card 0's address nobody listens: RST.
    host.inject(clientFrame(new Peer(host, 1).seg({ flags: 'S' })), 0);
    expect(host.take().map((s) => flagsOf(s.seg))).toEqual(['RA']);
    const passive = new Peer(host, 1);
    host.inject(clientFrame(passive.seg({ flags: 'S', ...LINUX_SYN }), { src: PEER1, dst: CARD1.addr, dstMac: CARD1.mac }), 1);
    const [sa] = host.take();
    expect(sa).toMatchObject({ nic: 1, ip: { srcAddr: CARD1.addr, dstAddr: PEER1 } });
    expect(srcMac(sa!)).toBe(CARD1.mac);
    // An active OPEN names the card; its SYN and everything after carry that card's address.
    const conn = host.stack.connect({ nic: 1, remoteAddr: PEER1, remotePort: 5555, remoteMac: CLIENT_MAC }) as TcpConnection;
    const remote = new Peer(host, 7000, { port: 5555, dstPort: conn.localPort });
    const to1 = (spec: SegSpec) => {
      host.inject(clientFrame(remote.seg(spec), { src: PEER1, dst: CARD1.addr, dstMac: CARD1.mac }), 1);
      remote.nxt = seqAdd(remote.nxt, spec.flags?.includes('S') === true ? 1 : 0);
    };
    const out: Sent[] = [...remote.take()];
    to1({ flags: 'SA', ...LINUX_SYN, ack: remote.serverNxt });
    conn.send(new Uint8Array(3000));
    conn.close();
    out.push(...remote.take());
    expect(out.map((s) => flagsOf(s.seg))).toEqual(['S', 'A', 'A', 'A', 'PA', 'FA']);
    for (const s of out) {
      expect(s).toMatchObject({ nic: 1, ip: { srcAddr: CARD1.addr, dstAddr: PEER1 } });
      expect(srcMac(s)).toBe(CARD1.mac);
    }
  });
});
