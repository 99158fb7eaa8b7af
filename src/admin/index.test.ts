import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { DaemonError } from '../errors.js';
import { buildAdmin } from './index.js';
import type { CoreView } from './routes/core.js';

const view: CoreView = {
  version: '0.0.0-test',
  uptimeMs: () => 1234,
  nics: () => [
    {
      name: 'exo0',
      kind: 'memory',
      mac: '02:65:78:00:00:02',
      mtuBytes: 1500,
      hostAddress: '198.18.0.1/24',
      machineAddress: '198.18.0.2',
      counters: { rxFrames: 3, rxBytes: 180, txFrames: 1, txBytes: 60, drops: {}, rxBatches: 1, rxBatchSizes: { '2-3': 1 }, backpressureEvents: 0, txQueueFrames: 0 },
    },
  ],
  arp: () => [{ card: 'exo0', ip: '198.18.0.1', mac: '0a:00:00:00:00:01', state: 'reachable', expiresInMs: 59000 }],
  kernelStats: () => ({ total: { rxFrames: 3 }, cards: { exo0: { rxFrames: 3 } } }),
};

describe('admin API core', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildAdmin({
      view,
      plugins: [
        {
          plugin: async (a) => {
            a.get('/v1/test/boom', async () => {
              throw new Error('secret internals at /some/path');
            });
            a.get('/v1/test/busy', async () => {
              throw new DaemonError('NIC_ERR_TAP_BUSY', 'exo9 is busy');
            });
          },
          opts: {},
        },
      ],
    });
  });
  afterAll(async () => app.close());

  it('GET /health', async () => {
    const r = await app.inject({ url: '/health' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'ok', version: '0.0.0-test', uptimeMs: 1234, nics: 1 });
  });

  it('GET /v1/nics and /v1/nics/:name show config and counters', async () => {
    const all = (await app.inject({ url: '/v1/nics' })).json() as Array<{ name: string; counters: { rxFrames: number } }>;
    expect(all.map((n) => n.name)).toEqual(['exo0']);
    const one = await app.inject({ url: '/v1/nics/exo0' });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ name: 'exo0', machineAddress: '198.18.0.2', counters: { rxFrames: 3, rxBatchSizes: { '2-3': 1 } } });
  });

  it('unknown card → 404 with a stable code; malformed name → 400', async () => {
    const r = await app.inject({ url: '/v1/nics/exo9' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ error: { code: 'ADMIN_ERR_NOT_FOUND', message: 'no card named exo9' } });
    const bad = await app.inject({ url: '/v1/nics/' + 'x'.repeat(40) });
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { error: { code: string } }).error.code).toBe('ADMIN_ERR_BAD_REQUEST');
  });

  it('unknown route → JSON 404', async () => {
    const r = await app.inject({ url: '/nope' });
    expect(r.statusCode).toBe(404);
    expect((r.json() as { error: { code: string } }).error.code).toBe('ADMIN_ERR_NOT_FOUND');
  });

  it('a DaemonError keeps its code and status; an unexpected error is a 500 without internals', async () => {
    const busy = await app.inject({ url: '/v1/test/busy' });
    expect(busy.statusCode).toBe(409);
    expect(busy.json()).toEqual({ error: { code: 'NIC_ERR_TAP_BUSY', message: 'exo9 is busy' } });
    const boom = await app.inject({ url: '/v1/test/boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.body).not.toContain('secret');
    expect(boom.json()).toEqual({ error: { code: 'ADMIN_ERR_INTERNAL', message: 'internal error' } });
  });

  it('refuses a non-loopback Host (DNS rebinding) with 421', async () => {
    for (const host of ['attacker.example:8080', '0x7f.1:8080', '10.0.0.1:8080']) {
      const r = await app.inject({ url: '/health', headers: { host } });
      expect(r.statusCode, host).toBe(421);
    }
    for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'localhost']) {
      expect((await app.inject({ url: '/health', headers: { host } })).statusCode, host).toBe(200);
    }
  });

  it('serves the OpenAPI document and Swagger UI at /docs', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json() as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/v1/nics', '/v1/nics/{name}', '/v1/kernel/arp', '/v1/kernel/stats']));
    const ui = await app.inject({ url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });

  it('kernel routes', async () => {
    expect((await app.inject({ url: '/v1/kernel/arp' })).json()).toEqual(view.arp());
    expect((await app.inject({ url: '/v1/kernel/stats' })).json()).toEqual(view.kernelStats());
  });
});
