/**
 * Cheetah as a process of the emulated kernel (no root): three in-memory cards, the kernel's
 * network path with DPF and AF_DPF sockets, the docroot mounted from site/www, and a second TCP
 * stack on the host side of the cards playing the clients. Byte-exact pages on every card, one
 * DPF filter and socket per open connection and none left after, the kernel's conventional path
 * still answering ping and closed ports, hostile frames at Cheetah's sockets, SIGTERM, and no
 * leak of descriptors, filters or process memory; and the admin API's counters of
 * retransmissions, SYN cookies and TIME-WAIT against frames lost on the wire and a SYN flood.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { icmpEchoFrame, tcpFrame } from '../../test/support/frames.js';
import { createAdminApp } from '../admin/index.js';
import { cheetahRoutes } from '../admin/routes/cheetah.js';
import { SIGTERM } from '../kernel/abi/index.js';
import { DpfEngine } from '../kernel/dpf/index.js';
import { Docroot, Kernel, NetStack } from '../kernel/index.js';
import { AfDpf } from '../kernel/net/af-dpf.js';
import type { Process } from '../kernel/proc/process.js';
import { MemoryCard } from '../nic/index.js';
import { RealClock } from '../util/clock.js';
import { rootLogger } from '../util/log.js';
import { packageRoot } from '../util/package-root.js';
import { EthernetFrame, IpProtocol, Ipv4Packet, TcpPacket, macFromBytes } from '../wire/index.js';
import { runCheetah, type CheetahOptions } from './server.js';
import { CARDS, HttpTestClient, type ClientConnection } from './testing/harness.js';
import { CheetahView, type CheetahStatus } from './view.js';

const WWW = join(packageRoot(), 'site', 'www');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const file = (path: string) => new Uint8Array(readFileSync(join(WWW, path)));

interface InKernel {
  kernel: Kernel;
  engine: DpfEngine;
  af: AfDpf;
  cards: MemoryCard[];
  client: HttpTestClient;
  view: CheetahView;
  proc: Process;
  /** Frames each card's host side received (all kinds). */
  hostFrames: Uint8Array[][];
  status(): CheetahStatus;
  until(cond: () => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const machines: InKernel[] = [];
afterEach(async () => {
  for (const m of machines.splice(0)) await m.stop();
});

/** What the memory wire does on the way from a card to its host side. */
interface WireOptions {
  /** Lose this frame Cheetah sent (it still counts in the card's counters and `hostFrames`). */
  dropToHost?: (nic: number, frame: Uint8Array) => boolean;
}

async function boot(options: Partial<CheetahOptions> = {}, wire: WireOptions = {}): Promise<InKernel> {
  const clock = new RealClock();
  const log = rootLogger().child({ level: 'warn' });
  const cards = CARDS.map(
    (_, n) =>
      new MemoryCard(`exo${n}`, 1500, {
        mac: new Uint8Array([0x02, 0x65, 0x78, 0x00, n, 0x02]),
        hostMac: new Uint8Array([0x0a, 0x00, 0x00, 0x00, n, 0x01]),
        hostQueueFrames: 4096,
      }),
  );
  const net = new NetStack({
    cards: cards.map((dev, n) => ({ dev, ip: CARDS[n]!.server.addr, prefixLen: 24 })),
    arpCacheTtlMs: 60_000,
    arpCacheMaxEntries: 64,
    icmpErrorsPerSecond: 100_000,
    icmpErrorBurst: 100_000,
    clock,
    log,
  });
  net.start();
  const kernel = new Kernel({ clock, devices: new Map(cards.map((c) => [c.name, c])), log });
  const engine = new DpfEngine({ maxFilters: 4096 });
  const af = new AfDpf({ net, engine, log });
  af.install(kernel);
  const docroot = Docroot.mount(kernel, { dir: WWW, log });
  const view = new CheetahView();
  const proc = kernel.spawn('cheetah', (sys) => runCheetah(sys, options, { seed: randomBytes(32), view }), {
    uid: 0,
    memoryBytes: 64 << 20,
    fdLimit: 4096,
    traceEntries: 0,
  });
  void proc.exited.then((st) => view.ended({ pid: proc.pid, code: st.code, error: st.error }));
  const hostFrames: Uint8Array[][] = cards.map(() => []);
  const client = new HttpTestClient({
    interfaces: CARDS.map((c, n) => ({ ...c.client, mac: macFromBytes(cards[n]!.host.mac) })),
    servers: CARDS.map((c) => c.server),
    now: () => clock.now(),
    transmit: (f) => void cards[f.nic]!.host.send(f.toIov()),
  });
  cards.forEach((card, n) =>
    card.host.onFrame((frame) => {
      hostFrames[n]!.push(frame);
      if (wire.dropToHost?.(n, frame) !== true) client.stack.input(frame, n);
    }),
  );
  const timer = setInterval(() => {
    if (client.stack.nextDeadline() <= clock.now()) client.stack.poll();
  }, 2);
  const until = async (cond: () => boolean, timeoutMs = 20_000) => {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  await until(() => view.running || view.lastExit !== undefined);
  if (!view.running) throw new Error(`cheetah did not start: ${JSON.stringify(view.lastExit)}`);
  let stopped = false;
  const m: InKernel = {
    kernel,
    engine,
    af,
    cards,
    client,
    view,
    proc,
    hostFrames,
    status: () => view.status()!,
    until,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await kernel.shutdown(2000);
      await docroot.unmount();
      for (const c of cards) await c.close();
    },
  };
  machines.push(m);
  return m;
}

const closedAll = (cs: ClientConnection[]) => () => cs.every((c) => c.closed !== undefined);

describe('Cheetah in a kernel (memory cards, DPF sockets, docroot)', () => {
  it('serves the sample site byte-exact on all three cards; one filter and socket per open connection, none left after', async () => {
    const m = await boot();
    const paths = ['/index.html', '/css/site.css', '/img/cheetah.png', '/files/0b.bin', '/files/1k.bin', '/files/100k.bin', '/files/1m.bin', '/about/', '/robots.txt'];
    // Warm the cache so the heap level after the run can be compared with this one.
    const warm = paths.map((p, i) => m.client.open(i % 3, `GET ${p} HTTP/1.0\r\n\r\n`));
    await m.until(closedAll(warm));
    const heapBefore = m.status().memory.heapInUseBytes;
    const cs: Array<{ c: ClientConnection; path: string; keep: boolean }> = [];
    for (const path of paths) {
      for (let nic = 0; nic < 3; nic++) {
        cs.push({ c: m.client.open(nic, `GET ${path} HTTP/1.0\r\n\r\n`), path, keep: false });
        cs.push({ c: m.client.open(nic, `GET ${path} HTTP/1.1\r\nHost: 198.18.${nic}.2\r\n\r\n`), path, keep: true });
      }
    }
    // The HTTP/1.0 ones end; the HTTP/1.1 ones stay open, each with its own filter and socket.
    await m.until(
      () => cs.every(({ c, keep }) => (keep ? c.responses().length === 1 : c.closed !== undefined)) && m.status().connections.open === cs.length / 2,
    );
    let s = m.status();
    expect(s.dpf.connectionFilters).toBe(cs.length / 2);
    expect(m.engine.filters().length).toBe(3 + cs.length / 2);
    expect(s.dpf.fallbacks).toBe(0);
    for (const { c, path } of cs) {
      const r = c.responses()[0]!;
      expect(r.status, path).toBe(200);
      const want = path.endsWith('/') ? file(`${path}index.html`) : file(path);
      expect(sha(r.body), path).toBe(sha(want));
    }
    for (const { c } of cs) if (c.closed === undefined) c.conn.close();
    await m.until(() => cs.every(({ c }) => c.closed !== undefined) && m.status().connections.open === 0);
    s = m.status();
    expect(s.connections.closed).toBe(warm.length + cs.length);
    expect(s.dpf).toMatchObject({ filters: 3, connectionFilters: 0, listenerFilters: 3 });
    expect(m.engine.filters().map((f) => f.owner.pid)).toEqual([m.proc.pid, m.proc.pid, m.proc.pid]);
    expect(m.af.stats().sockets).toBe(s.dpf.sockets);
    expect(s.dpf.sockets).toBe(3 + s.dpf.pooledSockets);
    // Nothing went through a bounce copy: headers, heads and documents all live in process memory.
    expect(s.io.bouncedFrames).toBe(0);
    expect(s.io.sendErrors).toEqual({});
    // Responses over two segments left as super-segments; the memory cards cannot segment, so the
    // kernel cut them in software (and the clients above got them byte-exact).
    const af = m.af.stats();
    expect(s.tcp.tsoFrames).toBeGreaterThan(0);
    expect(af.tsoFrames).toBe(s.tcp.tsoFrames);
    expect(af.tsoSegmentsSoftware).toBeGreaterThan(2 * af.tsoFrames);
    expect(af.tsoRefused).toEqual({});
    expect(s.http.cache.pinnedDocuments).toBe(0);
    // Process memory is back where it was after the warm-up (the TCP header pool may hold more).
    expect(s.memory.heapInUseBytes - heapBefore).toBeLessThan(256 * 128);
    expect(m.af.checkInvariants()).toEqual([]);
  });

  it('an HTTP/1.0 exchange of a small document: 3 frames from the server; the kernel still answers ping and closed ports', async () => {
    const m = await boot();
    const warm = m.client.open(1, 'GET /files/1k.bin HTTP/1.0\r\n\r\n');
    await m.until(() => warm.closed !== undefined);
    const before = m.status().io.framesSent;
    const c = m.client.open(1, 'GET /files/1k.bin HTTP/1.0\r\n\r\n');
    await m.until(() => c.closed !== undefined && m.status().connections.open === 0);
    expect(c.responses()[0]!.body.length).toBe(1024);
    expect(m.status().io.framesSent - before).toBe(3);

    const host = m.cards[0]!.host;
    const l3 = { src: macFromBytes(host.mac), dst: CARDS[0]!.server.mac, srcIp: CARDS[0]!.client.addr, dstIp: CARDS[0]!.server.addr };
    m.hostFrames[0]!.length = 0;
    host.send(icmpEchoFrame(l3, 7, 1, new Uint8Array(16)));
    host.send(tcpFrame(l3, { srcPort: 5555, dstPort: 81, control: 'syn', seqNumber: 1000, windowLen: 1000 }));
    await m.until(() => m.hostFrames[0]!.length >= 2);
    const kinds = m.hostFrames[0]!.map((f) => {
      const ip = new Ipv4Packet().reset(f, 14, f.length - 14);
      if (ip.protocol === IpProtocol.Icmp) return 'icmp';
      const tcp = new TcpPacket().reset(f, 34, f.length - 34);
      return tcp.rst ? `rst:${tcp.srcPort}` : 'tcp';
    });
    expect(kinds.sort()).toEqual(['icmp', 'rst:81']);
    expect(new EthernetFrame().reset(m.hostFrames[0]![0]!).dstAddr).toBe(macFromBytes(host.mac));
  });

  it('10^5 random and mutated frames at Cheetah\'s sockets: each dropped and counted or answered; it keeps serving', async () => {
    const m = await boot();
    const before = m.status();
    let x = 0x1234567;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    const n = 100_000;
    let sent = 0;
    for (let i = 0; i < n; i++) {
      const nic = i % 3;
      const host = m.cards[nic]!.host;
      const l3 = { src: macFromBytes(host.mac), dst: CARDS[nic]!.server.mac, srcIp: CARDS[nic]!.client.addr, dstIp: CARDS[nic]!.server.addr };
      let f: Uint8Array;
      if (i % 4 !== 3) {
        // Claimed by Cheetah's listener (TCP to port 80), with random header fields, options, payload.
        const flags = ['syn', 'fin', 'rst', 'none'] as const;
        f = tcpFrame(l3, {
          srcPort: 1 + rnd(65535),
          dstPort: 80,
          control: flags[rnd(flags.length)]!,
          seqNumber: rnd(2 ** 31) * 2,
          ackNumber: rnd(3) === 0 ? undefined : rnd(2 ** 31),
          windowLen: rnd(65536),
          maxSegSize: rnd(2) === 0 ? rnd(65536) : undefined,
          payload: randomBytes(rnd(3) === 0 ? rnd(1400) : 0),
        });
        // Then mutate a few bytes past the filter's fields (TCP header and payload; checksums may break).
        for (let k = rnd(3); k > 0; k--) {
          const at = 38 + rnd(f.length - 38);
          f[at] = rnd(256);
        }
      } else {
        f = randomBytes(14 + rnd(1500));
        f.set([0x02, 0x65, 0x78, 0x00, nic, 0x02], 0);
      }
      host.send(f);
      sent++;
      if (host.pendingFrames > 2000) await m.until(() => host.pendingFrames < 500);
    }
    await m.until(() => m.cards.every((c) => c.host.pendingFrames === 0));
    await m.until(() => m.status().io.framesReceived - before.io.framesReceived >= (sent * 3) / 4 - m.af.stats().queueDrops);
    const s = m.status();
    expect(m.view.running).toBe(true);
    const received = s.io.framesReceived - before.io.framesReceived;
    expect(received + m.af.stats().queueDrops).toBeGreaterThanOrEqual((sent * 3) / 4);
    // Every frame Cheetah read was parsed as a segment or dropped by reason.
    const drops = Object.values(s.tcp.drops).reduce((a, b) => a + b, 0);
    expect(s.tcp.segmentsIn + drops).toBeGreaterThanOrEqual(received);
    expect(s.tcp.drops['tcpChecksum']).toBeGreaterThan(0);
    expect(s.tcp.resetsSent).toBeGreaterThan(0);
    expect(m.view.invariants()).toEqual([]);
    const c = m.client.open(2, 'GET /index.html HTTP/1.0\r\n\r\n');
    await m.until(() => c.closed !== undefined);
    expect(sha(c.responses()[0]!.body)).toBe(sha(file('/index.html')));
  });

  it('SIGTERM: stops accepting, finishes the response in flight, exits 0 leaving no descriptor, filter or sleep behind', async () => {
    const m = await boot({ drainMs: 5000 });
    const idle = m.client.open(0, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await m.until(() => idle.responses().length === 1);
    const big = m.client.open(1, 'GET /files/1m.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    await m.until(() => big.received > 10_000);
    expect(m.kernel.kill(m.proc.pid, SIGTERM)).toBe(0);
    const st = await m.proc.exited;
    expect(st).toMatchObject({ reason: 'return', code: 0 });
    expect(sha(big.responses()[0]!.body)).toBe(sha(file('/files/1m.bin')));
    await m.until(() => idle.closed !== undefined && big.closed !== undefined);
    m.kernel.assertNoLeaks(m.proc.pid);
    expect(m.engine.filters()).toEqual([]);
    expect(m.af.stats().sockets).toBe(0);
    expect(m.view.running).toBe(false);
    expect(m.view.lastExit).toMatchObject({ pid: m.proc.pid, code: 0 });
  });
});

/** The TCP header fields a test looks at in a frame Cheetah sent (IPv4, any header length). */
function tcpOf(frame: Uint8Array): { dstPort: number; seq: number; payloadLen: number } | undefined {
  const ip = new Ipv4Packet().reset(frame, 14, frame.length - 14);
  if (ip.protocol !== IpProtocol.Tcp) return undefined;
  const tcp = new TcpPacket().reset(frame, 14 + ip.headerLen, ip.totalLen - ip.headerLen);
  return { dstPort: tcp.dstPort, seq: tcp.seqNumber, payloadLen: ip.totalLen - ip.headerLen - tcp.headerLen };
}

describe('Cheetah in a kernel: what GET /v1/cheetah reports', () => {
  it('retransmissions (frames lost on the wire), SYN cookies (a full SYN backlog) and TIME-WAIT entries', async () => {
    const BACKLOG = 4;
    const FLOOD_PORT = 20_000;
    const FLOOD = 10;
    // On card 0 the first sending of the 2nd, 5th and 8th data segment is lost; on card 1 the
    // SYN-ACKs to the flood's ports never reach anyone (a spoofed flood: no RST comes back).
    const seen = new Set<number>();
    let lost = 0;
    let retransmittedFrames = 0;
    const m = await boot(
      { tcp: { synBacklog: BACKLOG } },
      {
        dropToHost: (nic, frame) => {
          const t = tcpOf(frame);
          if (t === undefined) return false;
          if (nic === 1) return t.dstPort >= FLOOD_PORT && t.dstPort < FLOOD_PORT + FLOOD;
          if (nic !== 0 || t.payloadLen === 0) return false;
          if (seen.has(t.seq)) {
            retransmittedFrames++;
            return false;
          }
          seen.add(t.seq);
          if (seen.size % 3 !== 2 || lost === 3) return false;
          lost++;
          return true;
        },
      },
    );
    const app = await createAdminApp();
    try {
      await app.register(cheetahRoutes, { view: m.view });
      await app.ready();
      const get = async (url: string) => {
        const r = await app.inject({ url });
        expect(r.statusCode, url).toBe(200);
        return r.json();
      };
      const before = await get('/v1/cheetah');
      expect(before).toMatchObject({ running: true, retransmissions: { segments: 0 }, synCookiesSent: 0, connections: { timeWait: 0 } });

      // Retransmissions: a 100 KB download through the losses arrives whole.
      const dl = m.client.open(0, 'GET /files/100k.bin HTTP/1.0\r\n\r\n');
      await m.until(() => dl.closed !== undefined && m.status().connections.open === 0);
      expect(sha(dl.responses()[0]!.body)).toBe(sha(file('/files/100k.bin')));
      expect(lost).toBe(3);
      let s = await get('/v1/cheetah');
      expect(retransmittedFrames).toBeGreaterThanOrEqual(lost);
      expect(s.retransmissions.segments).toBe(retransmittedFrames);
      expect(s.retransmissions.timeouts + s.retransmissions.fastRetransmits).toBeGreaterThan(0);
      expect(s.tcp.retransmittedSegments).toBe(s.retransmissions.segments);
      // The server closed (HTTP/1.0): its end of the connection is in TIME-WAIT.
      expect(s.connections.timeWait).toBe(1);

      // SYN cookies: SYNs nobody completes fill card 1's backlog; the rest are answered with cookies.
      const host = m.cards[1]!.host;
      const l3 = { src: macFromBytes(host.mac), dst: CARDS[1]!.server.mac, srcIp: CARDS[1]!.client.addr, dstIp: CARDS[1]!.server.addr };
      for (let i = 0; i < FLOOD; i++) host.send(tcpFrame(l3, { srcPort: FLOOD_PORT + i, dstPort: 80, control: 'syn', seqNumber: 1000 * i, windowLen: 65_535 }));
      await m.until(() => m.status().synCookiesSent === FLOOD - BACKLOG);
      s = await get('/v1/cheetah');
      expect(s.synCookiesSent).toBe(FLOOD - BACKLOG);
      expect(s.connections.halfOpen).toBe(BACKLOG);
      expect(s.listeners[1]).toMatchObject({ card: 'exo1', backlog: BACKLOG, halfOpen: BACKLOG, cookiesSent: FLOOD - BACKLOG });
      // A real client meets the full backlog too: it completes through a cookie and is served.
      const c = m.client.open(1, 'GET /index.html HTTP/1.0\r\n\r\n');
      await m.until(() => c.closed !== undefined);
      expect(sha(c.responses()[0]!.body)).toBe(sha(file('/index.html')));
      s = await get('/v1/cheetah');
      expect(s.synCookiesSent).toBe(FLOOD - BACKLOG + 1);
      expect(s.tcp.synCookiesAccepted).toBe(1);
      expect(s.listeners[1].cookiesSent).toBe(FLOOD - BACKLOG + 1);

      // TIME-WAIT: both served connections, one per card, listed with their cards.
      await m.until(() => m.status().connections.timeWait === 2);
      s = await get('/v1/cheetah');
      expect(s.connections.timeWait).toBe(2);
      expect(s.tcp.timeWaitEntries).toBe(2);
      const tw = await get('/v1/cheetah/time-wait');
      expect(tw.total).toBe(2);
      expect(tw.items.map((e: { card: string }) => e.card).sort()).toEqual(['exo0', 'exo1']);
    } finally {
      await app.close();
    }
  });
});
