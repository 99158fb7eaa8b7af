/**
 * Opening actively (SYN-SENT, simultaneous open, ARP), closing (FIN-WAIT-1/2, CLOSING,
 * CLOSE-WAIT, LAST-ACK, half-close), TIME-WAIT, and RST in every state. Every scenario runs
 * with mid-space ISNs and with ISNs near the 2^32 wrap.
 */
import { describe, expect, it } from 'vitest';
import { ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr, ipv4ToString } from '../../wire/index.js';
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
  SERVER_PORT,
  brief,
  established,
  flagsOf,
} from './testing/harness.js';
import { TcpState, type CloseReason } from './types.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe.each(ISN_CASES)('SYN-SENT: active open ($name)', ({ clientIsn, serverIss }) => {
  function connecting(config = {}) {
    const host = new Host({ serverIss, config });
    const conn = host.stack.connect({ nic: 0, remoteAddr: CLIENT_IP, remotePort: CLIENT_PORT, localPort: SERVER_PORT, remoteMac: CLIENT_MAC });
    if (typeof conn === 'string') throw new Error(conn);
    const peer = new Peer(host, clientIsn);
    const [syn] = peer.take();
    return { host, conn, peer, syn: syn! };
  }

  it('sends SYN with MSS, window scale, SACK-permitted and timestamps; a SYN-ACK establishes and is ACKed', () => {
    const { host, conn, peer, syn } = connecting();
    expect(flagsOf(syn.seg)).toBe('S');
    expect(syn.seg).toMatchObject({ seqNumber: serverIss, maxSegSize: 1460, windowScale: 1, sackPermitted: true });
    expect(syn.seg.timestamp?.tsEcr).toBe(0);
    peer.send({ flags: 'SA', ...LINUX_SYN, ack: seqAdd(serverIss, 1) });
    expect(conn.state).toBe(TcpState.Established);
    expect(host.log.connected).toEqual([conn]);
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 1), seqAdd(clientIsn, 1), 0]]);
  });

  it('MUST-23: the SYN is retransmitted with backoff and the open gives up only after ≥ 180 s', () => {
    const { host, conn } = connecting();
    const start = host.clock.now;
    host.advance(400_000);
    expect(host.take().map((s) => Math.round((s.at - start) / 1000))).toEqual([1, 3, 7, 15, 31, 63, 123]);
    expect(host.log.closed).toEqual([{ conn, reason: 'timeout' }]);
    expect(host.stack.counters().connections).toBe(0);
  });

  it('MUST-21/22: the application can give up an open sooner (R2 of the connection covers the SYN)', () => {
    const { host, conn } = connecting();
    expect(conn.setGiveUpMs(5000)).toBe('ok');
    const start = host.clock.now;
    host.advance(60_000);
    // Retransmitted at 1 and 3 s; at 7 s the SYN has gone unanswered longer than 5 s.
    expect(host.take().map((s) => Math.round((s.at - start) / 1000))).toEqual([1, 3]);
    expect(host.log.closed).toEqual([{ conn, reason: 'timeout' }]);
  });

  it('RST with an acceptable ACK refuses the connection; without an ACK it is ignored', () => {
    const { host, conn, peer } = connecting();
    peer.send({ flags: 'R' });
    expect(conn.state).toBe(TcpState.SynSent);
    peer.send({ flags: 'RA', ack: seqAdd(serverIss, 1) });
    expect(host.log.closed).toEqual([{ conn, reason: 'refused' }]);
  });

  it('a SYN-ACK acknowledging something we never sent gets <SEQ=SEG.ACK><CTL=RST>', () => {
    const { host, conn, peer } = connecting();
    peer.send({ flags: 'SA', ack: seqAdd(serverIss, 7) }, { advance: false });
    expect(brief(host.take())).toEqual([['R', seqAdd(serverIss, 7), undefined, 0]]);
    expect(conn.state).toBe(TcpState.SynSent);
  });

  it('MUST-10: simultaneous open goes SYN-SENT → SYN-RECEIVED → ESTABLISHED', () => {
    const { host, conn, peer } = connecting();
    peer.send({ flags: 'S', ...LINUX_SYN });
    expect(conn.state).toBe(TcpState.SynReceived);
    expect(brief(host.take())).toEqual([['SA', serverIss, seqAdd(clientIsn, 1), 0]]);
    peer.send({ flags: 'SA', seq: clientIsn, ...LINUX_SYN, ack: seqAdd(serverIss, 1) }, { advance: false });
    // Our SYN-ACK's SYN is acknowledged by the peer's ACK.
    peer.send({ flags: 'A', ack: seqAdd(serverIss, 1) });
    expect(conn.state).toBe(TcpState.Established);
    expect(host.log.connected).toEqual([conn]);
  });

  it('MUST-11: RST in SYN-RECEIVED after an active open reports "refused"', () => {
    const { host, conn, peer } = connecting();
    peer.send({ flags: 'S' });
    peer.take();
    peer.send({ flags: 'R' }, { advance: false });
    expect(host.log.closed).toEqual([{ conn, reason: 'refused' }]);
  });

  it('close() during the handshake sends the FIN once established', () => {
    const { host, conn, peer } = connecting();
    conn.send(text('hi'), 0, 2, { close: true });
    expect(host.take()).toEqual([]);
    peer.send({ flags: 'SA', ...LINUX_SYN, ack: seqAdd(serverIss, 1) });
    expect(conn.state).toBe(TcpState.FinWait1);
    expect(brief(host.take())).toEqual([['FPA', seqAdd(serverIss, 1), seqAdd(clientIsn, 1), 2]]);
  });

  it('without a known MAC it resolves the peer by ARP first', () => {
    const host = new Host({ serverIss });
    const conn = host.stack.connect({ nic: 0, remoteAddr: CLIENT_IP, remotePort: CLIENT_PORT, localPort: SERVER_PORT });
    expect(typeof conn).toBe('object');
    expect(host.take()).toEqual([]);
    const req = host.raw.splice(0);
    expect(req).toHaveLength(1);
    const eth = EthernetFrame.checked(req[0]!) as EthernetFrame;
    expect(EthernetRepr.parse(eth)).toEqual({ dstAddr: 0xffffffffffff, srcAddr: SERVER_MAC, ethertype: EtherType.Arp });
    expect(ArpRepr.parse(ArpPacket.checked(req[0]!, 14) as ArpPacket)).toMatchObject({ operation: 1, targetProtocolAddr: CLIENT_IP, senderProtocolAddr: SERVER_IP });
    // The reply.
    const reply = new Uint8Array(42);
    EthernetRepr.emit({ dstAddr: SERVER_MAC, srcAddr: CLIENT_MAC, ethertype: EtherType.Arp }, EthernetFrame.unchecked(reply));
    ArpRepr.emit(
      { operation: ArpOperation.Reply, senderHardwareAddr: CLIENT_MAC, senderProtocolAddr: CLIENT_IP, targetHardwareAddr: SERVER_MAC, targetProtocolAddr: SERVER_IP },
      ArpPacket.unchecked(reply, 14),
    );
    host.inject(reply);
    const [syn] = host.take();
    expect(flagsOf(syn!.seg)).toBe('S');
    expect(syn!.ethDst).toBe(CLIENT_MAC);
  });

  it('an ARP request that is never answered ends as "unreachable"', () => {
    const host = new Host({ serverIss });
    const conn = host.stack.connect({ nic: 0, remoteAddr: CLIENT_IP, remotePort: CLIENT_PORT, localPort: SERVER_PORT }) as TcpConnection;
    host.advance(400_000);
    expect(host.log.closed).toEqual([{ conn, reason: 'unreachable' }]);
    expect(host.raw.length).toBeGreaterThan(3);
  });
});

describe.each(ISN_CASES)('closing ($name)', ({ clientIsn, serverIss }) => {
  it('active close: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT, the last ACK sent, onClose("closed")', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    expect(conn.close()).toBe('ok');
    expect(conn.state).toBe(TcpState.FinWait1);
    expect(brief(peer.take())).toEqual([['FA', seqAdd(serverIss, 1), seqAdd(clientIsn, 1), 0]]);
    peer.send({ flags: 'A' });
    expect(conn.state).toBe(TcpState.FinWait2);
    peer.send({ flags: 'FA' });
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 2), seqAdd(clientIsn, 2), 0]]);
    expect(host.log.closed).toEqual([{ conn, reason: 'closed' }]);
    expect(host.stack.counters()).toMatchObject({ connections: 0, timeWaitEntries: 1 });
  });

  it('MUST-13: the TIME-WAIT entry lives exactly 2·MSL', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss, config: { timeWaitMs: 10_000 } });
    conn.close();
    peer.take();
    peer.send({ flags: 'FA' });
    host.advance(9_999);
    expect(host.stack.counters().timeWaitEntries).toBe(1);
    host.advance(1);
    expect(host.stack.counters().timeWaitEntries).toBe(0);
    expect(host.stack.nextDeadline()).toBe(Infinity);
  });

  it('FIN-WAIT-1: a FIN that also acknowledges ours goes straight to TIME-WAIT', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    conn.close();
    peer.take();
    peer.send({ flags: 'FA' });
    expect(host.log.closed).toEqual([{ conn, reason: 'closed' }]);
    expect(host.stack.counters().timeWaitEntries).toBe(1);
  });

  it('simultaneous close: FIN-WAIT-1 → CLOSING → TIME-WAIT', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    conn.close();
    const [fin] = peer.take();
    peer.send({ flags: 'FA', ack: fin!.seg.seqNumber });
    expect(conn.state).toBe(TcpState.Closing);
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 2), seqAdd(clientIsn, 2), 0]]);
    peer.send({ flags: 'A' });
    expect(host.log.closed).toEqual([{ conn, reason: 'closed' }]);
  });

  it('our FIN is retransmitted when not acknowledged', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss, config: { rtoMinMs: 1000 } });
    conn.close();
    peer.take();
    host.advance(1000);
    expect(brief(host.take())).toEqual([['FA', seqAdd(serverIss, 1), seqAdd(clientIsn, 1), 0]]);
  });

  it('FIN-WAIT-2 times out when the peer never sends its FIN', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss, config: { finWait2TimeoutMs: 30_000 } });
    conn.close();
    peer.take();
    peer.send({ flags: 'A' });
    host.advance(29_999);
    expect(conn.state).toBe(TcpState.FinWait2);
    host.advance(1);
    expect(host.log.closed).toEqual([{ conn, reason: 'timeout' }]);
  });

  it('FIN-WAIT-2 still receives data (half-close)', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    conn.close();
    peer.take();
    peer.send({ flags: 'A' });
    peer.send({ flags: 'PA', data: 'more' });
    expect(conn.readable).toBe(4);
    host.advance(40);
    expect(peer.take().map((s) => s.seg.ackNumber)).toEqual([peer.nxt]);
  });

  it('passive close with half-close: CLOSE-WAIT keeps sending, close() → LAST-ACK → CLOSED', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    peer.send({ flags: 'FA' });
    expect(conn.state).toBe(TcpState.CloseWait);
    expect(conn.readEnded).toBe(true);
    expect(brief(peer.take())).toEqual([['A', seqAdd(serverIss, 1), seqAdd(clientIsn, 2), 0]]);
    conn.send(text('bye'));
    expect(peer.take().map((s) => flagsOf(s.seg))).toEqual(['PA']);
    peer.send({ flags: 'PA', data: 'late' }, { advance: false });
    expect(host.stack.counters().drops.dataAfterFin).toBe(1);
    peer.take();
    conn.close();
    expect(conn.state).toBe(TcpState.LastAck);
    expect(brief(peer.take())).toEqual([['FA', seqAdd(serverIss, 4), seqAdd(clientIsn, 2), 0]]);
    peer.send({ flags: 'A' });
    expect(host.log.closed).toEqual([{ conn, reason: 'closed' }]);
    expect(host.stack.counters().timeWaitEntries).toBe(0);
  });

  it('abort() sends <SEQ=SND.NXT><CTL=RST> and reports "aborted"; the peer\'s next ACK meets the listener (RST)', () => {
    const { host, peer, conn } = established({ clientIsn, serverIss });
    expect(conn.abort()).toBe('ok');
    expect(brief(host.take())).toEqual([['R', seqAdd(serverIss, 1), undefined, 0]]);
    expect(host.log.closed).toEqual([{ conn, reason: 'aborted' }]);
    expect(conn.send(text('x'))).toBe('invalid-state');
    peer.send({ flags: 'A' });
    expect(flagsOf(host.take()[0]!.seg)).toBe('R');
  });
});

describe.each(ISN_CASES)('TIME-WAIT ($name)', ({ clientIsn, serverIss }) => {
  function timeWait(config = {}) {
    const e = established({ clientIsn, serverIss, config });
    e.conn.close();
    e.peer.take();
    e.peer.send({ flags: 'FA' });
    e.peer.take();
    return e;
  }

  it('a retransmitted FIN is ACKed again and restarts the 2·MSL timer', () => {
    const { host, peer } = timeWait({ timeWaitMs: 10_000 });
    host.advance(6000);
    peer.send({ flags: 'FA', seqOff: -1 }, { advance: false });
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 2), seqAdd(clientIsn, 2), 0]]);
    host.advance(9_999);
    expect(host.stack.counters().timeWaitEntries).toBe(1);
    host.advance(1);
    expect(host.stack.counters().timeWaitEntries).toBe(0);
  });

  it('RFC 1337: a RST does not end TIME-WAIT (documented choice; Linux closes)', () => {
    const { host, peer } = timeWait();
    peer.send({ flags: 'R' }, { advance: false });
    expect(host.stack.counters()).toMatchObject({ timeWaitEntries: 1 });
    expect(host.stack.counters().drops.rstInTimeWait).toBe(1);
    expect(host.take()).toEqual([]);
  });

  it('MAY-2 / RFC 6191: a new SYN with a newer timestamp reuses the 4-tuple; the new ISS is past the old SND.NXT', () => {
    const { host, peer } = timeWait();
    peer.tsVal += 10;
    peer.send({ flags: 'S', seqOff: -5000, ...LINUX_SYN }, { advance: false });
    const [sa] = host.take();
    expect(flagsOf(sa!.seg)).toBe('SA');
    expect(sa!.seg.seqNumber).toBe(seqAdd(serverIss, 2 + 65_537));
    expect(host.stack.counters()).toMatchObject({ timeWaitEntries: 0, timeWaitReused: 1, halfOpen: 1 });
  });

  it('a SYN with an older timestamp does not reopen; it gets an ACK', () => {
    const { host, peer } = timeWait();
    peer.send({ flags: 'S', ts: { tsVal: 1, tsEcr: 0 } }, { advance: false });
    expect(brief(host.take())).toEqual([['A', seqAdd(serverIss, 2), seqAdd(clientIsn, 2), 0]]);
    expect(host.stack.counters().timeWaitEntries).toBe(1);
  });

  it('without timestamps a SYN reuses the tuple only with a higher sequence number', () => {
    const e = established({ clientIsn, serverIss, ts: false });
    e.conn.close();
    e.peer.take();
    e.peer.send({ flags: 'FA' });
    e.peer.take();
    e.peer.send({ flags: 'S', seqOff: -10 }, { advance: false });
    expect(flagsOf(e.host.take()[0]!.seg)).toBe('A');
    e.host.advance(1000);
    e.peer.send({ flags: 'S', seqOff: 100_000 }, { advance: false });
    expect(flagsOf(e.host.take()[0]!.seg)).toBe('SA');
  });

  it('a bare ACK in TIME-WAIT is ignored', () => {
    const { host, peer } = timeWait();
    peer.send({ flags: 'A' }, { advance: false });
    expect(host.take()).toEqual([]);
  });

  it('the table is bounded: the oldest entry is evicted and counted', () => {
    const host = new Host({ serverIss, config: { timeWaitMaxEntries: 2 } });
    host.stack.listen({ addr: 0, port: SERVER_PORT });
    for (let i = 0; i < 3; i++) {
      const peer = new Peer(host, clientIsn, { port: 2000 + i });
      peer.send({ flags: 'S' });
      peer.take();
      peer.send({ flags: 'A' });
      host.log.accepted[i]!.close();
      peer.take();
      peer.send({ flags: 'FA' });
      peer.take();
    }
    expect(host.stack.counters()).toMatchObject({ timeWaitEntries: 2, timeWaitEvicted: 1 });
    expect([...host.stack.timeWaitEntries()].map((e) => e.remotePort).sort()).toEqual([2001, 2002]);
  });
});

/**
 * RFC 9293 §3.10.7.4 "first, check the sequence number" and "second, check the RST bit", with
 * RFC 5961 §3.2, in every synchronized state: a RST outside the receive window is dropped
 * silently (just past either edge and far away); one inside it but not at RCV.NXT gets a
 * challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and changes nothing; one at RCV.NXT resets.
 * TIME-WAIT ignores every RST (RFC 1337; see the TIME-WAIT tests), so it sends no challenge ACK:
 * no RST the peer could send in answer would be taken.
 */
describe.each(ISN_CASES)('RST in each synchronized state ($name)', ({ clientIsn, serverIss }) => {
  interface Target {
    host: Host;
    peer: Peer;
    /** The state now (CLOSED once gone; a passive SYN-RECEIVED is seen through the half-open count). */
    state(): TcpState;
    /** Bytes from RCV.NXT to the right edge of the window last advertised. */
    rcvWnd: number;
    /** What an exact RST ends in: onClose's reason, or 'listen' for a passive open (no event). */
    reset: CloseReason | 'listen' | 'ignored';
  }

  function fromEstablished(setup: (e: ReturnType<typeof established>) => void): () => Target {
    return () => {
      const e = established({ clientIsn, serverIss });
      setup(e);
      e.host.take();
      return { host: e.host, peer: e.peer, state: () => e.conn.state, rcvWnd: e.conn.stats().rcvWnd, reset: 'reset' };
    };
  }

  const states: [string, TcpState, () => Target][] = [
    [
      'SYN-RECEIVED (passive open)',
      TcpState.SynReceived,
      () => {
        const host = new Host({ serverIss });
        host.stack.listen({ addr: 0, port: SERVER_PORT });
        const peer = new Peer(host, clientIsn);
        peer.send({ flags: 'S', ...LINUX_SYN });
        const [synAck] = peer.take();
        const state = () => (host.stack.counters().halfOpen === 1 ? TcpState.SynReceived : TcpState.Closed);
        return { host, peer, state, rcvWnd: synAck!.seg.windowLen, reset: 'listen' };
      },
    ],
    [
      'SYN-RECEIVED (simultaneous open)',
      TcpState.SynReceived,
      () => {
        const host = new Host({ serverIss });
        const conn = host.stack.connect({ nic: 0, remoteAddr: CLIENT_IP, remotePort: CLIENT_PORT, localPort: SERVER_PORT, remoteMac: CLIENT_MAC }) as TcpConnection;
        const peer = new Peer(host, clientIsn);
        peer.take();
        peer.send({ flags: 'S', ...LINUX_SYN });
        peer.take();
        return { host, peer, state: () => conn.state, rcvWnd: conn.stats().rcvWnd, reset: 'refused' };
      },
    ],
    ['ESTABLISHED', TcpState.Established, fromEstablished(() => undefined)],
    ['FIN-WAIT-1', TcpState.FinWait1, fromEstablished((e) => void (e.conn.close(), e.peer.take()))],
    ['FIN-WAIT-2', TcpState.FinWait2, fromEstablished((e) => void (e.conn.close(), e.peer.take(), e.peer.send({ flags: 'A' })))],
    ['CLOSE-WAIT', TcpState.CloseWait, fromEstablished((e) => void (e.peer.send({ flags: 'FA' }), e.peer.take()))],
    ['CLOSING', TcpState.Closing, fromEstablished((e) => void (e.conn.close(), e.peer.send({ flags: 'FA', ackOff: -1 }), e.peer.take()))],
    ['LAST-ACK', TcpState.LastAck, fromEstablished((e) => void (e.peer.send({ flags: 'FA' }), e.conn.close(), e.peer.take()))],
    [
      'TIME-WAIT',
      TcpState.TimeWait,
      () => {
        const e = established({ clientIsn, serverIss });
        e.conn.close();
        e.peer.take();
        e.peer.send({ flags: 'FA' });
        e.peer.take();
        const [tw] = [...e.host.stack.timeWaitEntries()];
        const state = () => (e.host.stack.counters().timeWaitEntries === 1 ? TcpState.TimeWait : TcpState.Closed);
        return { host: e.host, peer: e.peer, state, rcvWnd: tw!.windowField, reset: 'ignored' };
      },
    ],
  ];

  it.each(states)('%s: a RST outside the window is dropped silently, just past either edge or far away', (_n, state, make) => {
    for (const flags of ['R', 'RA']) {
      const t = make();
      expect(t.state()).toBe(state);
      expect(t.rcvWnd).toBeGreaterThan(1);
      const closed = t.host.log.closed.length;
      for (const seqOff of [-1, t.rcvWnd, 0x4000_0000, -0x4000_0000]) {
        t.peer.send({ flags, seqOff }, { advance: false });
        expect(t.host.take(), `${flags} at RCV.NXT${seqOff < 0 ? '' : '+'}${seqOff}`).toEqual([]);
        expect(t.state()).toBe(state);
      }
      const drops = t.host.stack.counters().drops;
      expect(state === TcpState.TimeWait ? drops.rstInTimeWait : drops.rstOutOfWindow).toBe(4);
      expect(t.host.log.closed).toHaveLength(closed);
    }
  });

  it.each(states)('%s: a RST in the window but not at RCV.NXT gets one challenge ACK and changes nothing; one at RCV.NXT resets', (_n, state, make) => {
    const timeWait = state === TcpState.TimeWait;
    // Both ends of the window: RCV.NXT+1 (with ACK set, as Linux sends) and the last byte in it.
    for (const [flags, edge] of [['RA', 'first'], ['R', 'last']] as const) {
      const t = make();
      const seqOff = edge === 'first' ? 1 : t.rcvWnd - 1;
      t.peer.send({ flags, seqOff }, { advance: false });
      expect(brief(t.host.take()), `${flags} at RCV.NXT+${seqOff}`).toEqual(timeWait ? [] : [['A', t.peer.serverNxt, t.peer.nxt, 0]]);
      expect(t.state()).toBe(state);
      // Another within 500 ms gets none (RFC 5961 §7, limited per connection).
      t.peer.send({ flags, seqOff: edge === 'first' ? 2 : seqOff - 1 }, { advance: false });
      expect(t.host.take()).toEqual([]);
      expect(t.host.stack.counters()).toMatchObject({ challengeAcks: timeWait ? 0 : 1, invalidAcksSuppressed: timeWait ? 0 : 1 });
      expect(t.state()).toBe(state);
    }
    const t = make();
    t.peer.send({ flags: 'R' }, { advance: false });
    expect(t.host.take()).toEqual([]);
    if (t.reset === 'ignored') {
      expect(t.state()).toBe(state);
      expect(t.host.stack.counters().drops.rstInTimeWait).toBe(1);
      return;
    }
    expect(t.state()).toBe(TcpState.Closed);
    expect(t.host.stack.counters().resetsReceived).toBe(1);
    expect(t.host.log.closed.map((c) => c.reason)).toEqual(t.reset === 'listen' ? [] : [t.reset]);
  });
});

describe('connect() arguments', () => {
  it('refuses a bad card or port and a 4-tuple in use', () => {
    const host = new Host();
    expect(host.stack.connect({ nic: 3, remoteAddr: CLIENT_IP, remotePort: 80 })).toBe('invalid');
    expect(host.stack.connect({ nic: 0, remoteAddr: CLIENT_IP, remotePort: 0 })).toBe('invalid');
    expect(typeof host.stack.connect({ nic: 0, remoteAddr: CLIENT_IP, remotePort: 80, localPort: 1234, remoteMac: CLIENT_MAC })).toBe('object');
    expect(host.stack.connect({ nic: 0, remoteAddr: CLIENT_IP, remotePort: 80, localPort: 1234, remoteMac: CLIENT_MAC })).toBe('address-in-use');
    const c = host.stack.connect({ nic: 0, remoteAddr: CLIENT_IP, remotePort: 80, remoteMac: CLIENT_MAC }) as TcpConnection;
    expect(c.localPort).toBeGreaterThanOrEqual(49_152);
  });

  it('MUST-46: an OPEN to a broadcast, multicast, class E, unspecified, loopback or our own address is refused', () => {
    const host = new Host();
    // 255.255.255.255, the subnet broadcast, 224.0.0.1, 239.255.255.255, 240.0.0.1, 0.0.0.0, 127.0.0.1, ours.
    for (const addr of [0xffff_ffff, 0xc612_00ff, 0xe000_0001, 0xefff_ffff, 0xf000_0001, 0, 0x7f00_0001, SERVER_IP]) {
      expect(host.stack.connect({ nic: 0, remoteAddr: addr, remotePort: 80, remoteMac: CLIENT_MAC }), ipv4ToString(addr)).toBe('invalid');
      expect(host.stack.connect({ nic: 0, remoteAddr: addr, remotePort: 80 }), ipv4ToString(addr)).toBe('invalid');
    }
    expect(host.take()).toEqual([]);
    expect(host.raw).toEqual([]);
    expect(host.stack.counters()).toMatchObject({ connections: 0, activeOpens: 0 });
  });
});
