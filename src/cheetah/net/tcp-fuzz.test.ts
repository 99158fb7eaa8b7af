/**
 * Robustness: 10^5 random and mutated segments, interleaved with timer advances and
 * application calls (syzkaller-style), against connections in every state. Nothing may throw,
 * and the stack's invariants (`checkInvariants`) must hold after every single input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ipv4Packet, TcpPacket } from '../../wire/index.js';
import type { TcpConnection } from './tcb.js';
import { CLIENT_IP, CLIENT_MAC, Host, LINUX_SYN, Peer, SERVER_IP, SERVER_PORT, clientFrame, rawOptionsFrame } from './testing/harness.js';
import { useSeed } from './testing/seed.js';

useSeed('tcp-fuzz');

/** A host with connections in many states: returns it and the client ports in use. */
function zoo(): { host: Host; peers: Peer[]; conns: TcpConnection[] } {
  const doc = new Uint8Array(20_000).map((_, i) => i);
  const host = new Host({ config: { rcvBufBytes: 4096, synBacklog: 3 } });
  host.stack.listen({ addr: 0, port: SERVER_PORT });
  const peers: Peer[] = [];
  for (let i = 0; i < 9; i++) {
    const p = new Peer(host, 1000 * (i + 1) + (i === 4 ? 0xffff_f000 : 0), { port: 30_000 + i });
    peers.push(p);
    p.send({ flags: 'S', ...LINUX_SYN });
    p.take();
    if (i === 0) continue; // SYN-RECEIVED
    p.send({ flags: 'A' });
  }
  const conns = [...host.log.accepted];
  // conns[i] belongs to peers[i + 1]; peers[0] stays in SYN-RECEIVED.
  const peerOf = (i: number): Peer => peers[i + 1]!;
  conns[0]!.send(doc); // ESTABLISHED, data in flight
  conns[1]!.close(); // FIN-WAIT-1
  conns[2]!.close();
  peerOf(2).take();
  peerOf(2).send({ flags: 'A' }); // FIN-WAIT-2
  peerOf(3).send({ flags: 'FA' }); // CLOSE-WAIT
  peerOf(4).send({ flags: 'FA' });
  conns[4]!.close(); // LAST-ACK
  conns[5]!.close();
  peerOf(5).take();
  peerOf(5).send({ flags: 'FA', ackOff: -1 }); // CLOSING
  conns[6]!.send(doc, 0, 5000, { close: true }); // FIN-WAIT-1 with data in flight
  conns[7]!.close();
  peerOf(7).take();
  peerOf(7).send({ flags: 'FA' }); // TIME-WAIT
  for (const p of peers) p.take();
  // A SYN cookie in flight and an active open.
  host.stack.connect({ nic: 0, remoteAddr: CLIENT_IP, remotePort: 9, localPort: 7777, remoteMac: CLIENT_MAC });
  host.take();
  return { host, peers, conns };
}

it('the zoo holds connections in every state the fuzzer should reach', () => {
  const { host } = zoo();
  const states = new Set([...host.stack.connections()].map((c) => c.stateName));
  for (const s of ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSING']) expect(states).toContain(s);
  expect(host.stack.counters()).toMatchObject({ halfOpen: 1, timeWaitEntries: 1 });
});

/** One fuzz step. */
type Step =
  | { kind: 'seg'; peer: number; flags: number; seqOff: number; ackOff: number; win: number; options: readonly number[]; payload: number; corrupt: boolean }
  | { kind: 'time'; ms: number }
  | { kind: 'app'; conn: number; op: 'send' | 'read' | 'close' | 'abort' | 'nagle' | 'giveUp' | 'dscp' };

const OFFSETS = [0, 1, -1, 2, -2, 100, -100, 1448, -1448, 4096, 4095, 65_535, 1 << 20, -(1 << 20), 0x7fff_ffff, -0x7fff_ffff, 0x8000_0000];
const offset = fc.oneof(fc.constantFrom(...OFFSETS), fc.integer({ min: -70_000, max: 70_000 }));
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({
    kind: fc.constant('seg' as const),
    peer: fc.nat(9),
    flags: fc.oneof(fc.constantFrom(0x10, 0x18, 0x11, 0x02, 0x12, 0x04, 0x14, 0x01, 0x03, 0x06, 0x05), fc.nat(255)),
    seqOff: offset,
    ackOff: offset,
    win: fc.oneof(fc.constantFrom(0, 1, 65_535), fc.nat(65_535)),
    options: fc.oneof(fc.constant([]), fc.array(fc.nat(255), { maxLength: 40 }), fc.constantFrom([2, 4, 0, 1], [3, 3, 14], [8, 10, 0, 0, 0, 1, 0, 0, 0, 0], [5, 10, 0, 0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0], [1, 0], [2, 0], [8, 1])),
    payload: fc.oneof(fc.constant(0), fc.nat(1500)),
    corrupt: fc.nat(9).map((n) => n === 0),
  }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.oneof(fc.constant(0), fc.nat(2000), fc.constant(61_000)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('app' as const), conn: fc.nat(7), op: fc.constantFrom('send' as const, 'read' as const, 'close' as const, 'abort' as const, 'nagle' as const, 'giveUp' as const, 'dscp' as const) }) },
);

/** Build a client frame with arbitrary flags and raw options (padded to 4), relative to a peer. */
function rawFrame(p: Peer, s: Extract<Step, { kind: 'seg' }>): Uint8Array {
  const seg = p.seg({ flags: 'A', seqOff: s.seqOff, ackOff: s.ackOff, win: s.win, data: new Uint8Array(s.payload).fill(0x61), ts: false });
  const out = rawOptionsFrame(seg, [...s.options, 0, 0, 0].slice(0, (s.options.length + 3) & ~3));
  const tcp = TcpPacket.unchecked(out, 34, out.length - 34);
  tcp.flags = s.flags;
  tcp.fillChecksum(CLIENT_IP, SERVER_IP);
  if (s.corrupt) out[out.length - 1] = out[out.length - 1]! ^ 0x40;
  return out;
}

function run(steps: Step[]): number {
  const { host, peers, conns } = zoo();
  let inputs = 0;
  for (const s of steps) {
    if (s.kind === 'seg') {
      host.inject(rawFrame(peers[s.peer % peers.length]!, s));
      inputs++;
    } else if (s.kind === 'time') {
      host.advance(s.ms);
    } else {
      const c = conns[s.conn % conns.length]!;
      if (s.op === 'send') c.send(new Uint8Array(3000), 0, 3000);
      else if (s.op === 'read') c.read(new Uint8Array(1000));
      else if (s.op === 'close') c.close();
      else if (s.op === 'nagle') c.setNagle(s.conn % 2 === 0);
      else if (s.op === 'giveUp') c.setGiveUpMs(s.conn * 1000);
      else if (s.op === 'dscp') c.setDiffServ(s.conn * 9);
      else c.abort();
    }
    host.take();
    expect(host.stack.checkInvariants()).toEqual([]);
  }
  return inputs;
}

describe('fuzz: random segments against connections in every state', () => {
  it('10^5 random segments, timer advances and application calls: no throw, invariants hold after each', () => {
    let total = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 400, maxLength: 600 }), (steps) => {
        total += run(steps);
      }),
      { numRuns: 230 },
    );
    expect(total).toBeGreaterThanOrEqual(80_000);
  });

  it('mutated real frames (byte overwrites, truncation, checksums fixed or not)', () => {
    // A corpus: every frame of a normal exchange, both directions as seen by the server.
    const corpus: Uint8Array[] = [];
    const { host, peers } = zoo();
    const p = peers[2]!;
    for (const spec of [{ flags: 'PA', data: 'GET / HTTP/1.1\r\n\r\n' }, { flags: 'A' }, { flags: 'FA' }, { flags: 'S', ...LINUX_SYN }, { flags: 'R' }] as const) {
      corpus.push(clientFrame(p.seg({ ...spec, seqOff: 0 })));
    }
    let n = 0;
    fc.assert(
      fc.property(
        fc.nat(corpus.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.boolean(),
        (which, edits, cut, fix) => {
          const b = corpus[which]!.slice();
          for (const [i, v] of edits) b[14 + (i % (b.length - 14))] = v;
          const len = Math.max(14, cut % (b.length + 1));
          const f = b.subarray(0, len);
          if (fix && len >= 34) {
            Ipv4Packet.unchecked(f, 14, 20).fillChecksum();
            if (len >= 54) TcpPacket.unchecked(f, 34, len - 34).fillChecksum(CLIENT_IP, SERVER_IP);
          }
          host.inject(f);
          host.take();
          n++;
          expect(host.stack.checkInvariants()).toEqual([]);
        },
      ),
      { numRuns: 20_000 },
    );
    expect(n).toBe(20_000);
  });
});
