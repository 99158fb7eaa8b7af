/**
 * Cheetah's core (TCP + HTTP + sessions) driven from a second TCP stack over a virtual wire on a
 * manual clock: the sample site byte-exact on all three cards, the frame counts Cheetah's
 * specializations promise, keep-alive and pipelining, HTTP timeouts through the core's timers,
 * precomputed checksums, draining, the memory contract, loss, and hostile frames.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../util/package-root.js';
import { MemoryDocumentSource, type MemoryFile } from './http/index.js';
import { Xoshiro128 } from './net/index.js';
import { CoreHarness, type ClientConnection } from './testing/harness.js';
import type { CheetahMemory } from './core.js';

const WWW = join(packageRoot(), 'site', 'www');

function siteFiles(): Map<string, MemoryFile> {
  const out = new Map<string, MemoryFile>();
  const walk = (dir: string) => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(`/${relative(WWW, p).split('\\').join('/')}`, { bytes: new Uint8Array(readFileSync(p)), mtimeMs: 1_600_000_000_000 });
    }
  };
  walk(WWW);
  return out;
}

const SITE = siteFiles();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const done = (...cs: ClientConnection[]) => () => cs.every((c) => c.closed !== undefined);

describe('Cheetah core', () => {
  it.each([44, 0])('serves every file of the sample site byte-exact on all three cards, HTTP/1.0 and HTTP/1.1 (tsoMaxSegments %i)', async (tsoMaxSegments) => {
    const h = new CoreHarness({ source: new MemoryDocumentSource(SITE), tcp: { tsoMaxSegments } });
    const conns: Array<{ c: ClientConnection; path: string }> = [];
    let port = 20_000;
    for (const [path] of SITE) {
      for (let nic = 0; nic < 3; nic++) {
        conns.push({ c: h.open(nic, `GET ${path} HTTP/1.0\r\n\r\n`, port++), path });
        conns.push({ c: h.open(nic, `GET ${path} HTTP/1.1\r\nHost: 198.18.${nic}.2\r\nConnection: close\r\n\r\n`, port++), path });
      }
    }
    expect(await h.run(done(...conns.map((x) => x.c)))).toBe(true);
    for (const { c, path } of conns) {
      const [r] = c.responses();
      expect(r?.status, path).toBe(200);
      expect(sha(r!.body), path).toBe(sha(SITE.get(path)!.bytes));
      expect(r!.fields.get('connection')).toBe('close');
      expect(c.closed).toBe('closed');
    }
    // Every connection was handed to HTTP once and is gone; no response still pins a document.
    expect(h.opened.length).toBe(conns.length);
    expect(h.closed.length).toBe(conns.length);
    expect(h.core.sessions.size).toBe(0);
    expect(h.core.engine.stats.cache.pinnedDocuments).toBe(0);
    expect(h.core.closedByReason.closed).toBe(conns.length);
    expect(h.core.stack.checkInvariants()).toEqual([]);
    const tsoFrames = h.core.stack.counters().tsoFrames;
    expect(tsoFrames).toBe(h.tsoFramesFromServer.reduce((a, b) => a + b));
    if (tsoMaxSegments === 0) expect(tsoFrames).toBe(0);
    else expect(tsoFrames).toBeGreaterThan(0);
    // A super-segment counts as the segments it becomes: the wire saw exactly segmentsOut.
    expect(h.core.stack.counters().segmentsOut).toBe(h.segmentsFromServer.reduce((a, b) => a + b));
  });

  it('TSO: a 10 KB response with Connection: close is one super-segment carrying the ACK, PSH and FIN — 3 frames from the server, as a 1 KB one', async () => {
    const h = new CoreHarness({ source: new MemoryDocumentSource(SITE) });
    const warm = h.open(2, 'GET /files/10k.bin HTTP/1.0\r\n\r\n');
    await h.run(done(warm));
    const frames = h.framesFromServer[2]!;
    const supers = h.tsoFramesFromServer[2]!;
    const segments = h.segmentsFromServer[2]!;
    const c = h.open(2, 'GET /files/10k.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await h.run(done(c));
    expect(sha(c.responses()[0]!.body)).toBe(sha(SITE.get('/files/10k.bin')!.bytes));
    expect(h.framesFromServer[2]! - frames).toBe(3);
    expect(h.tsoFramesFromServer[2]! - supers).toBe(1);
    // On the wire: SYN-ACK, the response cut into MSS-sized segments, ACK of the client's FIN.
    expect(h.segmentsFromServer[2]! - segments).toBe(2 + Math.ceil(c.received / 1448));
  });

  it('TSO with 5 % loss both ways: super-segments carry only new data, retransmissions are single segments, 1 MB arrives byte-exact', async () => {
    const rng = new Xoshiro128(4242);
    // Per connection (client port): the sequence number past the highest byte sent so far.
    const sentUpTo = new Map<number, number>();
    const problems: string[] = [];
    let retransmitted = 0;
    const h = new CoreHarness({
      source: new MemoryDocumentSource(SITE),
      lose: () => rng.nextU32() / 2 ** 32 < 0.05,
      onServerFrame: (f) => {
        const tcp = f.header.subarray(f.headerOffset + 34);
        const port = (tcp[2]! << 8) | tcp[3]!;
        const seq = ((tcp[4]! << 24) | (tcp[5]! << 16) | (tcp[6]! << 8) | tcp[7]!) >>> 0;
        const len = f.length - f.headerLen;
        const end = (seq + len) >>> 0;
        const upTo = sentUpTo.get(port);
        const old = upTo !== undefined && ((seq - upTo) | 0) < 0;
        if (old && len > 0) {
          retransmitted++;
          if (f.tsoSegmentBytes > 0) problems.push(`super-segment resends old data at ${seq}`);
          if (len > 1448) problems.push(`retransmission of ${len} bytes`);
        }
        if (f.tsoSegmentBytes > 0 && f.tsoSegmentBytes !== 1448) problems.push(`segmentBytes ${f.tsoSegmentBytes}`);
        if (f.tsoSegmentBytes > 0 && Math.ceil(len / f.tsoSegmentBytes) > 44) problems.push(`${len} bytes in one super-segment`);
        if (upTo === undefined || ((end - upTo) | 0) > 0) sentUpTo.set(port, end);
      },
    });
    const cs = [0, 1, 2, 0, 1].map((nic) => h.open(nic, 'GET /files/1m.bin HTTP/1.0\r\n\r\n'));
    expect(await h.run(done(...cs), 600_000)).toBe(true);
    for (const c of cs) expect(sha(c.responses()[0]!.body)).toBe(sha(SITE.get('/files/1m.bin')!.bytes));
    expect(problems).toEqual([]);
    expect(retransmitted).toBeGreaterThan(0);
    expect(h.core.stack.counters().tsoFrames).toBeGreaterThan(0);
    expect(h.core.stack.checkInvariants()).toEqual([]);
  });

  it('TSO toward a client without timestamps: super-segments of 1460-byte segments, byte-exact', async () => {
    const sizes = new Set<number>();
    const h = new CoreHarness({
      source: new MemoryDocumentSource(SITE),
      clientTcp: { timestamps: false },
      onServerFrame: (f) => {
        if (f.tsoSegmentBytes > 0) sizes.add(f.tsoSegmentBytes);
      },
    });
    const c = h.open(0, 'GET /files/1m.bin HTTP/1.0\r\n\r\n');
    await h.run(done(c));
    expect(sha(c.responses()[0]!.body)).toBe(sha(SITE.get('/files/1m.bin')!.bytes));
    expect([...sizes]).toEqual([1460]);
  });

  it('an HTTP/1.0 exchange of a small document costs the server 3 frames: SYN-ACK, response+FIN (with the ACK of the request), ACK of the FIN', async () => {
    const h = new CoreHarness({ source: new MemoryDocumentSource(SITE) });
    const warm = h.open(1, 'GET /files/1k.bin HTTP/1.0\r\n\r\n');
    await h.run(done(warm));
    const before = h.framesFromServer[1]!;
    const c = h.open(1, 'GET /files/1k.bin HTTP/1.0\r\n\r\n');
    await h.run(done(c));
    expect(c.responses()[0]?.body.length).toBe(1024);
    expect(h.framesFromServer[1]! - before).toBe(3);
    expect(h.framesFromServer[0]! + h.framesFromServer[2]!).toBe(0);
  });

  it('keep-alive with pipelining: answers in order on one connection, closes it when idle for keepAliveTimeoutMs', async () => {
    const h = new CoreHarness({ source: new MemoryDocumentSource(SITE), http: { keepAliveTimeoutMs: 5000 } });
    const paths = ['/index.html', '/css/site.css', '/files/10k.bin', '/nope', '/img/logo.svg'];
    const c = h.open(2, paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    await h.run(() => c.responses().length === paths.length);
    const rs = c.responses();
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 404, 200]);
    expect(sha(rs[2]!.body)).toBe(sha(SITE.get('/files/10k.bin')!.bytes));
    const t0 = h.now;
    h.send(c, 'HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n');
    await h.run(() => c.responses([false, false, false, false, false, true]).length === 6);
    expect(c.closed).toBeUndefined();
    // Idle: the server closes after the keep-alive timeout, not before.
    await h.run(done(c));
    expect(c.closed).toBe('closed');
    expect(h.now - t0).toBeGreaterThanOrEqual(5000);
    expect(h.now - t0).toBeLessThan(5000 + 1000);
    expect(h.core.engine.stats.idleTimeouts).toBe(1);
  });

  it('a request that trickles in past headerTimeoutMs gets 408 and the connection closes (slowloris)', async () => {
    const h = new CoreHarness({ source: new MemoryDocumentSource(SITE), http: { headerTimeoutMs: 2000 } });
    const c = h.open(0, 'GET /index.html HTTP/1.1\r\n');
    for (let i = 0; i < 5; i++) {
      await h.run(() => false, 500);
      h.send(c, 'X-Slow: 1\r\n');
    }
    await h.run(done(c));
    expect(c.responses()[0]?.status).toBe(408);
  });

  it('precomputed checksums carry the 1 MB file (and it arrives byte-exact either way)', async () => {
    for (const precompute of [true, false]) {
      // Segment by segment: super-segments carry no payload sum (the TSO tests below).
      const h = new CoreHarness({ source: new MemoryDocumentSource(SITE), precomputeChecksums: precompute, tcp: { tsoMaxSegments: 0 } });
      const a = h.open(0, 'GET /files/1m.bin HTTP/1.0\r\n\r\n');
      const b = h.open(1, 'GET /files/1m.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      await h.run(() => a.closed !== undefined && b.responses().length === 1);
      expect(sha(a.responses()[0]!.body)).toBe(sha(SITE.get('/files/1m.bin')!.bytes));
      expect(sha(b.responses()[0]!.body)).toBe(sha(SITE.get('/files/1m.bin')!.bytes));
      const used = h.core.stack.counters().precomputedChecksums;
      if (precompute) {
        // All segments but each response's first come from the tables (one table per head length).
        expect(used).toBeGreaterThan(2 * (Math.ceil((1 << 20) / 1448) - 2));
        expect(h.core.checksums?.stats.tablesComputed).toBe(2);
      } else {
        expect(used).toBe(0);
      }
    }
  });

  it('1 MB downloads survive 5 % loss in both directions, byte-exact', async () => {
    const rng = new Xoshiro128(99);
    const h = new CoreHarness({ source: new MemoryDocumentSource(SITE), lose: () => rng.nextU32() / 2 ** 32 < 0.05 });
    const cs = [0, 1, 2, 0, 1].map((nic) => h.open(nic, 'GET /files/1m.bin HTTP/1.0\r\n\r\n'));
    expect(await h.run(done(...cs), 600_000)).toBe(true);
    for (const c of cs) expect(sha(c.responses()[0]!.body)).toBe(sha(SITE.get('/files/1m.bin')!.bytes));
    expect(h.core.stack.counters().retransmittedSegments).toBeGreaterThan(0);
  });

  it('drain (SIGTERM): idle connections close, busy ones finish their response first, new SYNs are refused', async () => {
    const h = new CoreHarness({ source: new MemoryDocumentSource(SITE) });
    const idle = h.open(0, 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n');
    await h.run(() => idle.responses().length === 1);
    const busy = h.open(1, 'GET /files/1m.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    await h.run(() => busy.received > 100_000);
    h.core.drain();
    const late = h.open(2, 'GET / HTTP/1.0\r\n\r\n');
    await h.run(done(idle, busy, late));
    expect(idle.closed).toBe('closed');
    expect(busy.closed).toBe('closed');
    expect(sha(busy.responses()[0]!.body)).toBe(sha(SITE.get('/files/1m.bin')!.bytes));
    expect(late.closed).toBe('refused');
    expect(h.core.sessions.size).toBe(0);
  });

  it('process memory: heads and TCP headers come from the given memory, nothing is freed twice, what stays is bounded', async () => {
    const live = new Set<Uint8Array>();
    let frees = 0;
    const memory: CheetahMemory = {
      alloc: (n) => {
        const b = new Uint8Array(n);
        live.add(b);
        return b;
      },
      free: (b) => {
        if (!live.delete(b)) throw new Error('freed twice or never allocated');
        frees++;
      },
    };
    const h = new CoreHarness({ source: new MemoryDocumentSource(SITE), memory });
    const cs: ClientConnection[] = [];
    for (let i = 0; i < 300; i++) cs.push(h.open(i % 3, `GET /files/${['0b', '1k', '10k'][i % 3]}.bin HTTP/1.0\r\n\r\n`, 30_000 + i));
    cs.push(h.open(0, 'GET /nope HTTP/1.0\r\n\r\n'));
    await h.run(done(...cs));
    for (const c of cs.slice(0, 300)) expect(c.responses()[0]?.status).toBe(200);
    // The 300 header buffers beyond the stack's reuse pool were given back.
    expect(frees).toBeGreaterThanOrEqual(300 - 256);
    // What remains: pooled TCP headers (≤ 256 + scratch), the 404 page, and the heads of 3 cached documents.
    expect(live.size).toBeLessThanOrEqual(257 + 4 + 3 * 6);
  });

  it('10^4 random and mutated frames on every card: no throw, invariants hold, real clients still served', async () => {
    // Real client frames, captured on their way in, are the seeds of the mutated ones.
    const samples: Uint8Array[] = [];
    const h = new CoreHarness({
      source: new MemoryDocumentSource(SITE),
      lose: (toServer, f) => {
        if (toServer && samples.length < 500) samples.push(f.slice());
        return false;
      },
    });
    const rng = new Xoshiro128(1234);
    const r = (n: number) => rng.nextU32() % n;
    for (let i = 0; i < 10_000; i++) {
      if (i % 500 === 0) {
        // A real exchange between the hostile frames: the server still answers.
        const c = h.open(i % 3, 'GET /files/1k.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        await h.run(done(c), 5000);
        expect(c.responses()[0]?.status).toBe(200);
      }
      let f: Uint8Array;
      if (i % 2 === 0) {
        f = new Uint8Array(r(1600));
        for (let k = 0; k < f.length; k++) f[k] = r(256);
        if (f.length >= 14 && i % 4 === 0) {
          // Addressed to the server's MAC as IPv4, random beyond.
          f.set([0x02, 0x65, 0x78, 0x00, 0x00, 0x02], 0);
          f[12] = 0x08;
          f[13] = 0x00;
        }
      } else {
        f = samples[r(samples.length)]!.slice();
        for (let k = 1 + r(4); k > 0; k--) f[r(f.length)] = r(256);
      }
      h.inject(f, r(3));
    }
    await h.run(() => h.inFlight === 0, 1000);
    expect(h.core.stack.checkInvariants()).toEqual([]);
    const drops = Object.values(h.core.stack.counters().drops).reduce((a, b) => a + b, 0);
    expect(drops).toBeGreaterThan(5000);
  });
});
