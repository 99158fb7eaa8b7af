import { afterEach, describe, expect, it } from 'vitest';
import { createAdminApp } from '../index.js';
import { Kernel } from '../../kernel/kernel.js';
import { VirtualClock } from '../../util/clock.js';
import { settle } from '../../kernel/syscall/test-support.js';
import { procsRoutes } from './procs.js';

describe('admin: /v1/procs', () => {
  const apps: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
  });

  async function setup() {
    const kernel = new Kernel({ clock: new VirtualClock() });
    const app = await createAdminApp();
    apps.push(app);
    await app.register(procsRoutes, { kernel });
    await app.ready();
    // A running process: a pipe, a channel, an epoll, a heap allocation, blocked in read_wait.
    const p = kernel.spawn(
      'server',
      async (sys) => {
        const fds = sys.pipe();
        if (typeof fds === 'number') throw new Error('pipe');
        sys.channel(1, 8);
        sys.epoll_create1(0);
        sys.sigaction(15, () => {});
        const buf = sys.malloc(1000);
        sys.read(fds[0], buf, 10);
        await sys.read_wait(fds[0], buf, 10, -1);
      },
      { uid: 0, memoryBytes: 1 << 16 },
    );
    await settle();
    return { kernel, app, p };
  }

  it('lists processes', async () => {
    const { app, p } = await setup();
    const res = await app.inject({ method: 'GET', url: '/v1/procs' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { procs: { pid: number; name: string; state: string; fdCount: number }[] };
    expect(body.procs).toHaveLength(1);
    expect(body.procs[0]).toMatchObject({ pid: p.pid, name: 'server', state: 'running', fdCount: 4 });
    expect(res.json().stats).toEqual({ processes: 1, exitedKept: 0, openFiles: 4, kernelHolds: 0, internalErrors: 0 });
  });

  it('shows one process: fds with kinds and state, memory and allocator use, signals, blocked call', async () => {
    const { app, p } = await setup();
    const res = await app.inject({ method: 'GET', url: `/v1/procs/${p.pid}` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      proc: { memory: { bytes: number; allocator: { inUseBytes: number; inUseBlocks: number } }; blockedIn: Record<string, number>; signals: { handled: string[] } };
      fds: { fd: number; kind: string; ready: string[]; state: Record<string, unknown> }[];
    };
    expect(body.fds.map((f) => f.kind)).toEqual(['pipe', 'pipe', 'channel', 'epoll']);
    expect(body.fds[1]).toMatchObject({ fd: 1, ready: ['POLLOUT'], state: { end: 'write' } });
    expect(body.fds[2]!.state).toMatchObject({ mode: 'record', capacityRecords: 8 });
    expect(body.proc.memory.bytes).toBe(1 << 16);
    expect(body.proc.memory.allocator.inUseBlocks).toBe(1);
    expect(body.proc.memory.allocator.inUseBytes).toBeGreaterThanOrEqual(1000);
    expect(body.proc.blockedIn).toEqual({ read_wait: 1 });
    expect(body.proc.signals.handled).toEqual(['SIGTERM']);
  });

  it('serves the trace with names, errnos and a pending blocking call', async () => {
    const { app, p } = await setup();
    const res = await app.inject({ method: 'GET', url: `/v1/procs/${p.pid}/trace` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { enabled: boolean; entries: { name: string; result: number | null; errno: string | null; args: (number | null)[] }[] };
    expect(body.enabled).toBe(true);
    expect(body.entries.map((e) => e.name)).toEqual(['pipe2', 'channel', 'epoll_create1', 'rt_sigaction', 'read', 'read_wait']);
    expect(body.entries[4]).toMatchObject({ result: -11, errno: 'EAGAIN' });
    expect(body.entries[5]).toMatchObject({ result: null });
    expect(body.entries[0]!.args).toHaveLength(2);
  });

  it('shows an exited process with its status', async () => {
    const { app, kernel, p } = await setup();
    kernel.kill(p.pid, 9);
    await p.exited;
    const res = await app.inject({ method: 'GET', url: `/v1/procs/${p.pid}` });
    expect(res.json()).toMatchObject({ proc: { state: 'exited', exit: { reason: 'signal', signal: 9 }, fdCount: 0 }, fds: [] });
  });

  it('answers 404 for an unknown pid and 400 for a bad one', async () => {
    const { app } = await setup();
    const missing = await app.inject({ method: 'GET', url: '/v1/procs/4242' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'ADMIN_ERR_NOT_FOUND' } });
    for (const bad of ['abc', '0', '-1', '1.5', '99999999999']) {
      const res = await app.inject({ method: 'GET', url: `/v1/procs/${bad}/trace` });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'ADMIN_ERR_BAD_REQUEST' } });
    }
  });
});
