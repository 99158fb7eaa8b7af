import { afterEach, describe, expect, it } from 'vitest';
import { ip4, mac, udpFrame } from '../../../test/support/frames.js';
import { AF_DPF, SOCK_RAW } from '../../kernel/abi/layout.js';
import { dpfMachine, filterBinary } from '../../kernel/net/af-dpf-testing.js';
import { settle } from '../../kernel/syscall/test-support.js';
import { createAdminApp } from '../index.js';
import { dpfRoutes } from './dpf.js';

const HOST0 = { src: mac('0a:00:00:00:00:01'), dst: mac('02:65:78:00:00:02'), srcIp: ip4('198.18.0.1'), dstIp: ip4('198.18.0.2') };

describe('admin: /v1/dpf', () => {
  const apps: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
  });

  /** A machine with a process holding two filters (queue of 2), three frames sent to the first. */
  async function setup() {
    const m = dpfMachine({ queueFrames: 2 });
    const app = await createAdminApp();
    apps.push(app);
    await app.register(dpfRoutes, { dpf: m.af });
    await app.ready();
    let release!: () => void;
    const p = m.kernel.spawn(
      'holder',
      async (sys) => {
        for (const src of ['udp and dst host 198.18.0.2 and dst port 7', 'tcp and dst port 80']) {
          const fd = sys.socket(AF_DPF, SOCK_RAW, 0);
          const f = filterBinary(src);
          const ptr = sys.malloc(f.length);
          sys.mem.set(f, ptr);
          sys.call('dpf_attach', fd, ptr, f.length);
        }
        await new Promise<void>((r) => (release = r));
      },
      { uid: 0 },
    );
    await settle();
    await m.hosts[0]!.inject(...[1, 2, 3].map((i) => udpFrame(HOST0, 1000 + i, 7, new Uint8Array(10))));
    return { m, app, p, release: () => release() };
  }

  it('lists the filters: owner, text, canonical atoms, matches, drops and the socket’s queue; one filter by id; 404 otherwise', async () => {
    const { app, p, release } = await setup();
    const res = await app.inject({ method: 'GET', url: '/v1/dpf/filters' });
    expect(res.statusCode).toBe(200);
    const { filters } = res.json() as { filters: Array<Record<string, unknown>> };
    expect(filters).toHaveLength(2);
    expect(filters[0]).toMatchObject({
      id: 1,
      owner: { pid: p.pid, uid: 0 },
      matches: 3,
      drops: 1,
      queue: { frames: 2, bytes: 2 * 56, capacityFrames: 2 },
    });
    expect(filters[0]!['text']).toContain('eq16 12 0x0800');
    expect(filters[0]!['canonical']).toContain('shift8 @14 &0x0f <<2');
    expect(filters[1]).toMatchObject({ id: 2, matches: 0, drops: 0, queue: { frames: 0 } });
    const one = await app.inject({ method: 'GET', url: '/v1/dpf/filters/2' });
    expect(one.json()).toMatchObject({ filter: { id: 2 } });
    const missing = await app.inject({ method: 'GET', url: '/v1/dpf/filters/9' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'ADMIN_ERR_NOT_FOUND' } });
    expect((await app.inject({ method: 'GET', url: '/v1/dpf/filters/x1' })).statusCode).toBe(400);
    release();
    await p.exited;
    expect((await app.inject({ method: 'GET', url: '/v1/dpf/filters' })).json()).toEqual({ filters: [] });
  });

  it('shows the counters of the engine and the socket layer', async () => {
    const { app, release, p } = await setup();
    const body = (await app.inject({ method: 'GET', url: '/v1/dpf' })).json() as { engine: Record<string, unknown>; sockets: Record<string, unknown> };
    expect(body.engine).toMatchObject({ filters: 2, frames: 3, unmatched: 0, inserts: 2 });
    expect(body.engine['codegen']).toMatchObject({ compiles: expect.any(Number) });
    // Both filters came in through dpf_attach: two shapes, each seen once.
    expect(body.engine['filterShapeCache']).toEqual({ hits: 0, misses: 2, valueRefusals: 0, entries: 2, maxEntries: 64 });
    expect(body.sockets).toMatchObject({ sockets: 2, framesClaimed: 3, framesQueued: 2, queueDrops: 1, attaches: 2, queueFrames: 2 });
    expect(body.sockets).toMatchObject({ tsoFrames: 0, tsoSegmentsSoftware: 0, tsoRefused: {} });
    release();
    await p.exited;
  });

  it('prints the trie as text and DOT, and the generated code, as text/plain', async () => {
    const { app, release, p } = await setup();
    const text = await app.inject({ method: 'GET', url: '/v1/dpf/trie' });
    expect(text.statusCode).toBe(200);
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    expect(text.body).toContain('0x0800');
    expect(text.body).toMatch(/#1\b/);
    const dot = await app.inject({ method: 'GET', url: '/v1/dpf/trie?format=dot' });
    expect(dot.body).toMatch(/^digraph/);
    expect((await app.inject({ method: 'GET', url: '/v1/dpf/trie?format=svg' })).statusCode).toBe(400);
    const code = await app.inject({ method: 'GET', url: '/v1/dpf/code' });
    expect(code.headers['content-type']).toMatch(/^text\/plain/);
    expect(code.body).toContain("'use strict'");
    release();
    await p.exited;
  });

  it('compiles DPF text and pcap expressions without installing them: atoms, canonical form, binary, verifier log', async () => {
    const { app, m, release, p } = await setup();
    const r = await app.inject({ method: 'POST', url: '/v1/dpf/compile', payload: { source: 'eq16 12 0x0800; eq8 23 17; mshift8 14 0x0f 2; eq16 2 53', language: 'dpf' } });
    expect(r.statusCode).toBe(200);
    const body = r.json() as { ok: true; filters: Array<{ atoms: unknown[]; canonicalAtoms: unknown[]; canonical: string; binary: string; log: string[] }> };
    expect(body.ok).toBe(true);
    expect(body.filters).toHaveLength(1);
    const f = body.filters[0]!;
    expect(f.atoms).toEqual([
      { op: 'eq', width: 16, offset: 12, value: 0x0800 },
      { op: 'eq', width: 8, offset: 23, value: 17 },
      { op: 'mshift', width: 8, offset: 14, mask: 0x0f, shift: 2 },
      { op: 'eq', width: 16, offset: 2, value: 53 },
    ]);
    expect(f.canonicalAtoms).toContainEqual({ op: 'mshift', width: 8, offset: 14, mask: 0x0f, shift: 2 });
    expect(f.binary.startsWith('44500100')).toBe(true);
    expect(f.log.length).toBeGreaterThan(0);
    const pcap = (await app.inject({ method: 'POST', url: '/v1/dpf/compile', payload: { source: 'udp port 53', language: 'pcap' } })).json() as { filters: unknown[] };
    expect(pcap.filters).toHaveLength(2);
    expect(m.engine.filters()).toHaveLength(2); // nothing installed
    release();
    await p.exited;
  });

  it('a refused filter is a 200 with ok:false, the DPF code, the errno dpf_attach would return, the reason and the log; a bad request is a 400', async () => {
    const { app, release, p } = await setup();
    const bad = (await app.inject({ method: 'POST', url: '/v1/dpf/compile', payload: { source: 'meq8 23 0x0f 0x11' } })).json();
    expect(bad).toMatchObject({ ok: false, code: 'DPF_BOGUSOP', value: -4, errno: 'EINVAL' });
    expect((bad as { reason: string }).reason).toMatch(/mask/);
    expect((bad as { log: string[] }).log.length).toBeGreaterThan(0);
    const js = (await app.inject({ method: 'POST', url: '/v1/dpf/compile', payload: { source: 'eq8 0 1; process.exit()' } })).json();
    expect(js).toMatchObject({ ok: false, code: 'DPF_BOGUSOP' });
    const pcap = (await app.inject({ method: 'POST', url: '/v1/dpf/compile', payload: { source: 'not tcp', language: 'pcap' } })).json();
    expect(pcap).toMatchObject({ ok: false, code: null, value: null, errno: null });
    const requests: [object, number][] = [
      [{}, 400],
      [{ source: 'eq8 0 1', language: 'bpf' }, 400],
      [{ source: 'eq8 0 1', extra: 1 }, 400],
      [{ source: 'x'.repeat(70_000) }, 413], // above the admin body limit
    ];
    for (const [payload, status] of requests) {
      const r = await app.inject({ method: 'POST', url: '/v1/dpf/compile', payload });
      expect(r.statusCode).toBe(status);
      expect(r.json()).toMatchObject({ error: { code: 'ADMIN_ERR_BAD_REQUEST' } });
    }
    release();
    await p.exited;
  });
});
