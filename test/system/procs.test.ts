/**
 * Issue #3 on the real daemon: a process started through the admin API sends a frame through a
 * packet socket and it appears on the host side of a TAP card (captured by tcpdump in the test
 * namespace); a process without uid 0 gets EPERM; the admin routes show the process, its exit
 * status and its system-call trace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPERM } from '../../src/kernel/abi/errno.js';
import { startTestMachine, type TestMachine } from '../support/machine.js';
import { rootSkipReason } from '../support/root.js';

const skip = rootSkipReason();

interface ProcView {
  pid: number;
  name: string;
  uid: number;
  state: 'running' | 'exited';
  exit: { reason: string; code: number | null } | null;
}

async function waitExit(m: TestMachine, pid: number): Promise<ProcView> {
  for (let i = 0; i < 200; i++) {
    const r = await m.admin<{ proc: ProcView }>(`/v1/procs/${pid}`);
    if (r.body.proc.state === 'exited') return r.body.proc;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`process ${pid} did not exit`);
}

describe.skipIf(skip !== undefined)('processes and the packet socket on the real machine (issue #3)', () => {
  let m: TestMachine;
  beforeAll(async () => {
    m = await startTestMachine({ name: 'procs' });
  });
  afterAll(async () => {
    await m?.destroy();
  });

  it('a packet-socket send from a process appears on the host side of exo1', async () => {
    const payload = Buffer.from('exolinux packet socket says hello').toString('hex');
    const frame = `ffffffffffff026578000102` + '88b5' + payload;
    const tcpdump = m.spawn('tcpdump', ['-i', 'exo1', '-c', '3', '-nn', '-e', '-x', '-l', 'ether proto 0x88b5']);
    let out = '';
    let err = '';
    tcpdump.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    tcpdump.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
    const done = new Promise<void>((resolve) => tcpdump.on('exit', () => resolve()));
    for (let i = 0; i < 200 && !err.includes('listening on'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(err).toContain('listening on');

    const started = await m.admin<{ pid: number }>('/v1/procs', { method: 'POST', body: { program: 'pktsend', args: ['exo1', frame, '3'] } });
    expect(started.status).toBe(201);
    const proc = await waitExit(m, started.body.pid);
    expect(proc.exit).toMatchObject({ reason: 'return', code: 0 });
    const timer = setTimeout(() => tcpdump.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);

    expect(out.match(/02:65:78:00:01:02 > ff:ff:ff:ff:ff:ff, ethertype Unknown \(0x88b5\)/g)).toHaveLength(3);
    // tcpdump -x prints the frame after the link header as 16-bit groups.
    const hexDump = out.replace(/\s+0x[0-9a-f]+:\s+/g, ' ').replace(/[^0-9a-f ]/g, '').replace(/\s/g, '');
    expect(hexDump).toContain(payload);

    const trace = await m.admin<{ entries: Array<{ name: string; result: number }> }>(`/v1/procs/${proc.pid}/trace`);
    const calls = trace.body.entries.map((e) => [e.name, e.result] as const);
    expect(calls.filter(([n, r]) => n === 'socket' && r >= 0)).toHaveLength(1);
    expect(calls.filter(([n]) => n === 'sendto')).toEqual(Array(3).fill(['sendto', frame.length / 2]));
  });

  it('a process without uid 0 gets EPERM from socket(AF_PACKET)', async () => {
    const started = await m.admin<{ pid: number }>('/v1/procs', {
      method: 'POST',
      body: { program: 'pktsend', args: ['exo1', 'ffffffffffff02657800010288b5', '1'], uid: 1000 },
    });
    expect(started.status).toBe(201);
    const proc = await waitExit(m, started.body.pid);
    expect(proc).toMatchObject({ uid: 1000, exit: { reason: 'return', code: EPERM } });
  });

  it('the admin API lists processes and refuses unknown programs, pids and signals', async () => {
    const list = await m.admin<{ procs: ProcView[] }>('/v1/procs');
    expect(list.body.procs.filter((p) => p.name === 'pktsend').length).toBeGreaterThanOrEqual(2);
    expect((await m.admin('/v1/procs', { method: 'POST', body: { program: 'rm -rf /' } })).status).toBe(400);
    expect((await m.admin('/v1/procs/99999')).status).toBe(404);
    expect((await m.admin('/v1/procs/99999', { method: 'DELETE' })).status).toBe(404);
    expect((await m.admin('/v1/procs/1?signal=BOGUS', { method: 'DELETE' })).status).toBe(400);
  });
});
