/**
 * The Cheetah admin routes over a real server core (driven by a client TCP stack on the virtual
 * wire) published through a CheetahView: the summary, pages of connections by offset and by
 * cursor, TIME-WAIT entries, the not-running answers, and that what the API hands out cannot
 * change Cheetah.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CheetahView } from '../../cheetah/index.js';
import { MemoryDocumentSource } from '../../cheetah/http/index.js';
import { CheetahReporter, type ServedCard } from '../../cheetah/status.js';
import { CARDS, CoreHarness } from '../../cheetah/testing/harness.js';
import { createAdminApp } from '../index.js';
import { cheetahRoutes, collectUntilSettled } from './cheetah.js';

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

async function setup() {
  const h = new CoreHarness({
    source: new MemoryDocumentSource([['/index.html', { bytes: new Uint8Array(3000).fill(65), mtimeMs: 0 }]]),
    http: { keepAliveTimeoutMs: 600_000 },
  });
  const cards: ServedCard[] = CARDS.map((c, i) => ({ name: `exo${i}`, index: i, mac: c.server.mac, addr: c.server.addr, prefixLen: 24, mtuBytes: 1500 }));
  const reporter = new CheetahReporter(h.core, {
    pid: 42,
    port: 80,
    startedAtMs: 1_700_000_000_000,
    cards,
    listenerSockets: cards.map((_, i) => ({ fd: 10 + i, filterId: 1 + i })),
    io: { loops: 0, events: 0, recvCalls: 0, framesReceived: 0, bytesReceived: 0, recvErrors: {}, framesSent: 0, bytesSent: 0, sendErrors: {}, bouncedFrames: 0, bouncedBytes: 0, badRecords: 0 },
    dpf: { filters: 3, listenerFilters: 3, connectionFilters: 0, sockets: 3, pooledSockets: 0, socketsCreated: 3, socketsClosed: 0, attaches: 0, detaches: 0, fallbacks: 0, attachErrors: {} },
    memory: () => ({ processBytes: 1 << 26, heapInUseBytes: 0, heapPeakBytes: 0, heapBlocks: 0 }),
    now: () => h.now,
    wallNow: () => 1_700_000_000_000 + h.now,
  });
  const view = new CheetahView();
  const app = await createAdminApp();
  apps.push(app);
  await app.register(cheetahRoutes, { view });
  await app.ready();
  return { h, view, app, reporter };
}

describe('admin: /v1/cheetah', () => {
  it('not running: the summary says so, the lists are 404', async () => {
    const { app, view, reporter } = await setup();
    expect((await app.inject({ url: '/v1/cheetah' })).json()).toEqual({ running: false, lastExit: null });
    expect((await app.inject({ url: '/v1/cheetah/connections' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/v1/cheetah/time-wait' })).json().error.code).toBe('ADMIN_ERR_NOT_FOUND');
    view.publish(42, reporter);
    expect((await app.inject({ url: '/v1/cheetah' })).json().running).toBe(true);
    view.ended({ pid: 42, code: 0, error: null });
    expect((await app.inject({ url: '/v1/cheetah' })).json()).toEqual({ running: false, lastExit: { pid: 42, code: 0, error: null } });
  });

  it('summary: listeners per card, connections, requests by status, bytes, TIME-WAIT', async () => {
    const { h, app, view, reporter } = await setup();
    view.publish(42, reporter);
    const keep = h.open(1, 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n');
    const done = h.open(2, 'GET /index.html HTTP/1.0\r\n\r\n');
    await h.run(() => keep.responses().length === 2 && done.closed !== undefined);
    const s = (await app.inject({ url: '/v1/cheetah' })).json();
    expect(s).toMatchObject({ running: true, pid: 42, state: 'running', port: 80 });
    expect(s.listeners).toHaveLength(3);
    expect(s.listeners[1]).toMatchObject({ card: 'exo1', cardIndex: 1, addr: '198.18.1.2', port: 80, accepted: 1, fd: 11, filterId: 2, mac: '02:65:78:00:01:02' });
    expect(s.connections).toMatchObject({ open: 1, established: 1, accepted: 2, closed: 1, timeWait: 1 });
    expect(s.connections.closedByReason.closed).toBe(1);
    expect(s.requests).toMatchObject({ total: 3, byStatus: { 200: 2, 404: 1 } });
    expect(s.bytes.bodies).toBeGreaterThanOrEqual(6000);
    expect(s.dpf).toMatchObject({ filters: 3, sockets: 3 });
    expect(s.tcp.segmentsIn).toBeGreaterThan(0);
    expect(s.http.cache.loads).toBe(1);
  });

  it('connections: pages by offset and by cursor, stable while connections come and go; TIME-WAIT pages', async () => {
    const { h, app, view, reporter } = await setup();
    view.publish(42, reporter);
    const cs = Array.from({ length: 25 }, (_, i) => h.open(i % 3, 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n'));
    await h.run(() => cs.every((c) => c.responses().length === 1));
    const p1 = (await app.inject({ url: '/v1/cheetah/connections?limit=10' })).json();
    expect(p1).toMatchObject({ total: 25, limit: 10, offset: 0 });
    expect(p1.items).toHaveLength(10);
    expect(p1.items[0]).toMatchObject({ state: 'ESTABLISHED', card: 'exo0', localPort: 80, http: { responses: 1, pendingRequests: 0, state: 'open' } });
    expect(p1.items[0].peer).toMatch(/^198\.18\.0\.1:\d+$/);
    expect(p1.items[0].cwnd).toBeGreaterThan(0);
    const p3 = (await app.inject({ url: '/v1/cheetah/connections?limit=10&offset=20' })).json();
    expect(p3.items).toHaveLength(5);
    expect(p3.nextCursor).toBeNull();
    // Two connections end while paging: the cursor still continues right after page 1.
    const ids: number[] = p1.items.map((c: { id: number }) => c.id);
    cs[10]!.conn.close();
    cs[11]!.conn.close();
    await h.run(() => cs[10]!.closed !== undefined && cs[11]!.closed !== undefined && h.inFlight === 0);
    const p2 = (await app.inject({ url: `/v1/cheetah/connections?limit=10&cursor=${p1.nextCursor}` })).json();
    expect(p2.total).toBe(23);
    expect(p2.offset).toBeNull();
    expect(p2.items[0].id).toBeGreaterThan(ids[9]!);
    expect(p2.items.every((c: { id: number }) => !ids.includes(c.id))).toBe(true);
    expect((await app.inject({ url: '/v1/cheetah/connections?offset=1&cursor=5' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/v1/cheetah/connections?limit=0' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/v1/cheetah/connections?bogus=1' })).statusCode).toBe(400);
    // The server closed none; the clients closed two → no TIME-WAIT on our side. Make some.
    const tw = h.open(0, 'GET /index.html HTTP/1.0\r\n\r\n');
    await h.run(() => tw.closed !== undefined);
    const t = (await app.inject({ url: '/v1/cheetah/time-wait?limit=5' })).json();
    expect(t.total).toBe(1);
    expect(t.items[0]).toMatchObject({ localAddr: '198.18.0.2', localPort: 80, card: 'exo0' });
    expect(t.items[0].expiresInMs).toBeGreaterThan(0);
  });

  it('memory: the process heap beside the daemon, GC only on request', async () => {
    const { app, view, reporter } = await setup();
    const off = (await app.inject({ url: '/v1/cheetah/memory' })).json();
    expect(off.cheetah).toBeNull();
    expect(off.gc).toBe(false);
    expect(off.daemon.heapUsedBytes).toBeGreaterThan(0);
    view.publish(42, reporter);
    const on = (await app.inject({ url: '/v1/cheetah/memory?gc=true' })).json();
    expect(on.cheetah).toEqual({ processBytes: 1 << 26, heapInUseBytes: 0, heapPeakBytes: 0, heapBlocks: 0 });
    // vitest runs without --expose-gc: no collection is claimed.
    expect(on.gc).toBe(typeof (globalThis as { gc?: unknown }).gc === 'function');
    if (on.gc) expect(on.gcRounds).toBeGreaterThanOrEqual(1);
    else expect(on.gcRounds).toBe(0);
    expect((await app.inject({ url: '/v1/cheetah/memory?gc=maybe' })).statusCode).toBe(400);
  });

  it('collectUntilSettled collects until live memory stops falling, at most maxRounds times', async () => {
    const run = async (figures: number[], maxRounds = 10) => {
      let collections = 0;
      const rounds = await collectUntilSettled(() => collections++, () => figures[Math.min(collections, figures.length) - 1]!, { maxRounds, pauseMs: 0 });
      expect(rounds).toBe(collections);
      return rounds;
    };
    // The first figure is the first collection's: 120 → 100 fell, 100 → 99.8 is settled (< 0.5 %).
    expect(await run([120, 100, 99.8])).toBe(3);
    expect(await run([100, 100])).toBe(2);
    // A figure that rises is settled too (allocation since the last round).
    expect(await run([100, 105])).toBe(2);
    expect(await run([100, 90, 80, 70, 60, 50], 4)).toBe(4);
  });

  it('what the API hands out is a copy: changing it changes nothing in Cheetah', async () => {
    const { h, view, reporter } = await setup();
    view.publish(42, reporter);
    const c = h.open(0, 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n');
    await h.run(() => c.responses().length === 1);
    const s = view.status()!;
    s.http.requests = 999;
    s.tcp.drops['truncated'] = 999;
    s.connections.closedByReason.closed = 999;
    view.connections()![0]!.http.responses = 999;
    const again = view.status()!;
    expect(again.http.requests).toBe(1);
    expect(again.tcp.drops['truncated']).toBe(0);
    expect(again.connections.closedByReason.closed).toBe(0);
    expect(view.connections()![0]!.http.responses).toBe(1);
  });
});
