/**
 * Two instances of the stack over a seeded faulty link: data crosses byte-exact both ways
 * under loss, duplication, reordering and corruption; a fast-check model test of the byte
 * stream under random faults, configurations and application behaviour; and a leak check
 * (no connection, TIME-WAIT entry or timer left) after every run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TcpConfig } from './config.js';
import type { TcpEvents } from './core.js';
import type { TcpConnection } from './tcb.js';
import { SERVER_IP, SERVER_MAC } from './testing/harness.js';
import { NetSim, NO_FAULTS, type LinkFaults } from './testing/netsim.js';
import { useSeed } from './testing/seed.js';
import type { CloseReason } from './types.js';

const SEED = useSeed('tcp-netsim');

function pattern(n: number, salt: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = salt * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

interface Scenario {
  seed: number;
  faults: LinkFaults;
  /** Bytes the client sends (a "request"), then the server's reply. */
  request: number;
  response: number;
  /** Receive chunk sizes the applications read with. */
  clientReadChunk: number;
  serverReadChunk: number;
  /** Server replies and closes at once (HTTP/1.0 style) or waits for the client's FIN first. */
  serverClosesFirst: boolean;
  config: Partial<TcpConfig>;
}

interface Outcome {
  completed: boolean;
  clientGot: Uint8Array;
  serverGot: Uint8Array;
  clientClose: CloseReason | undefined;
  serverClose: CloseReason | undefined;
  sim: NetSim;
}

/** Run a client/server exchange: client sends `request` bytes, server replies `response` bytes. */
function exchange(s: Scenario, limitMs = 600_000): Outcome {
  const req = pattern(s.request, 1);
  const res = pattern(s.response, 2);
  const clientParts: Uint8Array[] = [];
  const serverParts: Uint8Array[] = [];
  let clientClose: CloseReason | undefined;
  let serverClose: CloseReason | undefined;
  let serverReplied = false;
  const drain = (c: TcpConnection, parts: Uint8Array[], chunk: number): void => {
    const buf = new Uint8Array(chunk);
    for (let n = c.read(buf); n > 0; n = c.read(buf)) parts.push(buf.slice(0, n));
  };
  const maybeReply = (c: TcpConnection): void => {
    const gotAll = serverParts.reduce((a, p) => a + p.length, 0) === s.request;
    if (!serverReplied && gotAll && (s.serverClosesFirst || c.readEnded)) {
      serverReplied = true;
      c.send(res, 0, res.length, { close: true });
    }
  };
  const server: TcpEvents = {
    onAccept: maybeReply,
    onReadable: (c) => {
      drain(c, serverParts, s.serverReadChunk);
      maybeReply(c);
    },
    onClose: (_c, r) => (serverClose = r),
  };
  const client: TcpEvents = {
    onConnect: (c) => void c.send(req, 0, req.length, { close: !s.serverClosesFirst }),
    onReadable: (c) => {
      drain(c, clientParts, s.clientReadChunk);
      if (c.readEnded && s.serverClosesFirst) c.close();
    },
    onClose: (_c, r) => (clientClose = r),
  };
  const sim = new NetSim(s.seed, s.faults, [server, client], [s.config, s.config]);
  const l = sim.stacks[0].listen({ addr: 0, port: 80 });
  expect(typeof l).toBe('object');
  // Both ends know each other's MAC (ARP is covered elsewhere); the connect starts at once.
  const conn = sim.stacks[1].connect({ nic: 0, remoteAddr: SERVER_IP, remotePort: 80, remoteMac: SERVER_MAC });
  expect(typeof conn).toBe('object');
  const completed = sim.run(() => clientClose !== undefined && serverClose !== undefined, limitMs);
  const cat = (parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  return { completed, clientGot: cat(clientParts), serverGot: cat(serverParts), clientClose, serverClose, sim };
}

/** Byte-exact comparison without the deep-equality diff machinery (megabytes). */
function expectSame(got: Uint8Array, want: Uint8Array): void {
  expect(got.length).toBe(want.length);
  expect(Buffer.compare(got, want)).toBe(0);
}

function expectPrefix(got: Uint8Array, sent: Uint8Array): void {
  expect(got.length).toBeLessThanOrEqual(sent.length);
  expect(Buffer.compare(got, sent.subarray(0, got.length))).toBe(0);
}

/** After a run: drain TIME-WAIT and every timer; nothing may be left behind. */
function expectNoLeaks(sim: NetSim): void {
  sim.run(() => sim.stacks.every((st) => st.nextDeadline() === Infinity) && sim.inFlight === 0, 3_600_000);
  for (const st of sim.stacks) {
    const c = st.counters();
    expect({ connections: c.connections, timeWait: c.timeWaitEntries, halfOpen: c.halfOpen }).toEqual({ connections: 0, timeWait: 0, halfOpen: 0 });
    expect(st.nextDeadline()).toBe(Infinity);
  }
}

describe('netsim: two stacks over a faulty link', () => {
  it('a clean link: request and 1 MB reply byte-exact, both close cleanly, nothing leaks', () => {
    const o = exchange({ seed: 1, faults: NO_FAULTS, request: 300, response: 1 << 20, clientReadChunk: 65_536, serverReadChunk: 512, serverClosesFirst: true, config: {} });
    expect(o.completed).toBe(true);
    expectSame(o.serverGot, pattern(300, 1));
    expectSame(o.clientGot, pattern(1 << 20, 2));
    expect([o.clientClose, o.serverClose]).toEqual(['closed', 'closed']);
    expect(o.sim.stacks[0].counters().retransmittedSegments).toBe(0);
    expectNoLeaks(o.sim);
  });

  it('the netem acceptance mix (5 % loss, 20 ms delay, 10 % reorder, 1 % duplicate): 20 parallel-seeded 1 MB downloads arrive byte-exact', () => {
    const faults: LinkFaults = { loss: 0.05, duplicate: 0.01, reorder: 0.1, corrupt: 0, delayMs: 20, reorderDelayMs: 20 };
    const expected = pattern(1 << 20, 2);
    for (let i = 0; i < 20; i++) {
      const o = exchange({ seed: SEED + i, faults, request: 100, response: 1 << 20, clientReadChunk: 16_384, serverReadChunk: 100, serverClosesFirst: true, config: {} });
      expect(o.completed, `seed ${SEED + i}`).toBe(true);
      expect(o.clientGot.length).toBe(expected.length);
      expect(Buffer.compare(o.clientGot, expected), `seed ${SEED + i}`).toBe(0);
    }
  });

  it('corruption is caught by the checksums and repaired by retransmission', () => {
    const faults: LinkFaults = { loss: 0, duplicate: 0, reorder: 0, corrupt: 0.05, delayMs: 5, reorderDelayMs: 0 };
    const o = exchange({ seed: SEED, faults, request: 50_000, response: 200_000, clientReadChunk: 4096, serverReadChunk: 4096, serverClosesFirst: false, config: {} });
    expect(o.completed).toBe(true);
    expectSame(o.serverGot, pattern(50_000, 1));
    expectSame(o.clientGot, pattern(200_000, 2));
    const drops = [o.sim.stacks[0], o.sim.stacks[1]].map((st) => st.counters().drops);
    expect(drops.reduce((a, d) => a + d.tcpChecksum! + d.ipChecksum!, 0)).toBeGreaterThan(0);
    expectNoLeaks(o.sim);
  });
});

describe('model test: a byte stream under random faults, configurations and readers (fast-check)', () => {
  const faults = fc.record({
    loss: fc.double({ min: 0, max: 0.15, noNaN: true }),
    duplicate: fc.double({ min: 0, max: 0.1, noNaN: true }),
    reorder: fc.double({ min: 0, max: 0.3, noNaN: true }),
    corrupt: fc.double({ min: 0, max: 0.05, noNaN: true }),
    delayMs: fc.integer({ min: 0, max: 30 }),
    reorderDelayMs: fc.integer({ min: 0, max: 40 }),
  });
  const config: fc.Arbitrary<Partial<TcpConfig>> = fc.record({
    timestamps: fc.boolean(),
    windowScaling: fc.boolean(),
    sack: fc.boolean(),
    rcvBufBytes: fc.constantFrom(1024, 4096, 65_536, 262_144),
    mergeAck: fc.boolean(),
    mergeFin: fc.boolean(),
    nagle: fc.boolean(),
    reassemblyMaxRanges: fc.integer({ min: 1, max: 8 }),
    initialWindowSegments: fc.integer({ min: 1, max: 10 }),
  });
  const scenario = fc.record({
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
    faults,
    request: fc.integer({ min: 0, max: 20_000 }),
    response: fc.integer({ min: 0, max: 120_000 }),
    clientReadChunk: fc.integer({ min: 1, max: 70_000 }),
    serverReadChunk: fc.integer({ min: 1, max: 5000 }),
    serverClosesFirst: fc.boolean(),
    config,
  });

  it('delivers exactly what was sent, in order, both ways, then closes both ends and leaks nothing', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const o = exchange(s);
        // Always: what arrived is a prefix of what was sent (never wrong or reordered bytes).
        expectPrefix(o.serverGot, pattern(s.request, 1));
        expectPrefix(o.clientGot, pattern(s.response, 2));
        const mild = s.faults.loss <= 0.05 && s.faults.corrupt <= 0.02;
        if (mild || (o.clientClose === 'closed' && o.serverClose === 'closed')) {
          // Under mild faults the exchange must complete. Once all data is across, the closing
          // handshake may still end in RST or a FIN-WAIT-2 timeout when the link eats the last
          // FINs/ACKs for longer than 2·MSL — as with any TCP.
          expect(o.completed).toBe(true);
          expectSame(o.serverGot, pattern(s.request, 1));
          expectSame(o.clientGot, pattern(s.response, 2));
          for (const r of [o.clientClose, o.serverClose]) expect(['closed', 'reset', 'timeout']).toContain(r);
        }
        // Under heavy loss a side may give up (R2) with data outstanding; the other side then
        // holds an open connection its application would time out. Either way nothing leaks.
        for (const st of o.sim.stacks) st.shutdown();
        expectNoLeaks(o.sim);
      }),
      { numRuns: 40 },
    );
  });

  it('on a loss-free link the close is always clean on both ends', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const o = exchange({ ...s, faults: { ...s.faults, loss: 0, corrupt: 0 } });
        expect([o.clientClose, o.serverClose]).toEqual(['closed', 'closed']);
        expectSame(o.clientGot, pattern(s.response, 2));
      }),
      { numRuns: 25 },
    );
  });
});
