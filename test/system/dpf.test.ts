/**
 * Issue #4 acceptance on the real daemon (TAP cards, a namespace of its own): a process started
 * through the admin API (`udpecho exo1 PORT`) attaches a UDP filter through AF_DPF; datagrams
 * sent from the host side arrive byte-exact at its socket only (no ICMP port unreachable, the
 * conventional path never sees them) and their echo comes back byte-exact; ping and ARP still
 * work; a second process's filter for the same traffic is refused; after the process exits the
 * same datagrams get ICMP port unreachable again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EADDRINUSE } from '../../src/kernel/abi/errno.js';
import { startTestMachine, type TestMachine } from '../support/machine.js';
import { rootSkipReason } from '../support/root.js';

const skip = rootSkipReason();
const PORT = 7777;

interface ProcView {
  pid: number;
  state: 'running' | 'exited';
  exit: { reason: string; code: number | null; signal: number | null } | null;
}
interface FilterView {
  id: number;
  owner: { pid: number; uid: number };
  text: string;
  matches: number;
  drops: number;
  queue: { frames: number };
}
interface KernelStats {
  cards: Record<string, { rxFrames: number; dpfClaimed: number; handled: Record<string, number> }>;
}

/**
 * A connected UDP client on the host side: sends each payload (sizes given) and reports, per
 * datagram, `ok` (the echo is byte-exact), `mismatch`, `refused` (ICMP port unreachable) or
 * `timeout`.
 */
const CLIENT = String.raw`
import json, os, socket, sys
port, sizes = int(sys.argv[1]), [int(x) for x in sys.argv[2].split(',')]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(('198.18.1.2', port))
out = []
for n in sizes:
    data = os.urandom(n)
    s.send(data)
    try:
        out.append('ok' if s.recv(65535) == data else 'mismatch')
    except ConnectionRefusedError:
        out.append('refused')
    except socket.timeout:
        out.append('timeout')
print(json.dumps(out))
`;

async function udp(m: TestMachine, sizes: number[]): Promise<string[]> {
  const r = await m.exec('python3', ['-c', CLIENT, String(PORT), sizes.join(',')], { timeoutMs: 30_000 });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as string[];
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function waitExit(m: TestMachine, pid: number): Promise<ProcView> {
  return waitFor(`process ${pid} to exit`, async () => {
    const p = (await m.admin<{ proc: ProcView }>(`/v1/procs/${pid}`)).body.proc;
    return p.state === 'exited' ? p : undefined;
  });
}

async function filters(m: TestMachine): Promise<FilterView[]> {
  return (await m.admin<{ filters: FilterView[] }>('/v1/dpf/filters')).body.filters;
}

async function exo1(m: TestMachine): Promise<KernelStats['cards'][string]> {
  return (await m.admin<KernelStats>('/v1/kernel/stats')).body.cards['exo1']!;
}

describe.skipIf(skip !== undefined)('DPF end to end on the real machine (issue #4)', () => {
  let m: TestMachine;
  beforeAll(async () => {
    // Without Cheetah, so that every filter, socket and frame sent is this test's to count.
    m = await startTestMachine({ name: 'dpf', config: { cheetah: { enabled: false } } });
  });
  afterAll(async () => {
    await m?.destroy();
  });

  it('a UDP filter on exo1: datagrams reach only its socket and come back byte-exact; ping and ARP still work; another process’s filter is refused; after exit, ICMP port unreachable again', async () => {
    // Nobody claims the port yet: the conventional path refuses the datagram.
    expect(await udp(m, [10])).toEqual(['refused']);

    const started = await m.admin<{ pid: number }>('/v1/procs', { method: 'POST', body: { program: 'udpecho', args: ['exo1', String(PORT)] } });
    expect(started.status).toBe(201);
    const pid = started.body.pid;
    const filter = await waitFor('the udpecho filter', async () => (await filters(m)).find((f) => f.owner.pid === pid));
    expect(filter.owner.uid).toBe(0);
    expect(filter.text).toContain(`eq32 30 0xc6120102`); // dst host 198.18.1.2
    expect(filter.text).toContain(`eq16 16 ${'0x' + PORT.toString(16).padStart(4, '0')}`);

    const before = await exo1(m);
    const sizes = [0, 1, 18, 512, 1472, 1000, 64, 3];
    expect(await udp(m, sizes)).toEqual(sizes.map(() => 'ok'));
    const after = await exo1(m);
    // Claimed by DPF, never seen by the conventional path: no ICMP unreachable was sent for them.
    expect(after.dpfClaimed - before.dpfClaimed).toBe(sizes.length);
    expect(after.handled['udp_port_unreachable_sent'] ?? 0).toBe(before.handled['udp_port_unreachable_sent'] ?? 0);
    const mine = (await filters(m)).find((f) => f.id === filter.id)!;
    expect(mine.matches - filter.matches).toBe(sizes.length);
    expect(mine).toMatchObject({ drops: 0, queue: { frames: 0 } });

    // The conventional path still answers ARP (the neighbour entry is flushed first) and ping.
    await m.exec('ip', ['neigh', 'flush', 'dev', 'exo1']);
    const ping = await m.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', '198.18.1.2'], { timeoutMs: 20_000 });
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    expect(ping.stdout).toContain('3 received');
    const nic = (await m.admin<{ mac: string }>('/v1/nics/exo1')).body;
    expect((await m.exec('ip', ['neigh', 'show', '198.18.1.2', 'dev', 'exo1'])).stdout).toContain(`lladdr ${nic.mac}`);

    // The overlap rule through the socket API: a second server for the same traffic is refused.
    const second = await m.admin<{ pid: number }>('/v1/procs', { method: 'POST', body: { program: 'udpecho', args: ['exo1', String(PORT)] } });
    const refused = await waitExit(m, second.body.pid);
    expect(refused.exit).toMatchObject({ reason: 'return', code: EADDRINUSE });
    const trace = (await m.admin<{ entries: { name: string; result: number }[] }>(`/v1/procs/${second.body.pid}/trace`)).body.entries;
    expect(trace.filter((e) => e.name === 'dpf_attach').map((e) => e.result)).toEqual([-EADDRINUSE]);
    expect(await udp(m, [100])).toEqual(['ok']);

    // SIGTERM: udpecho ends cleanly; its filter goes, and the port is the kernel's again.
    expect((await m.admin(`/v1/procs/${pid}`, { method: 'DELETE' })).status).toBe(200);
    expect((await waitExit(m, pid)).exit).toMatchObject({ reason: 'return', code: 0 });
    expect(await filters(m)).toEqual([]);
    const last = await exo1(m);
    expect(await udp(m, [10, 20])).toEqual(['refused', 'refused']);
    expect(((await exo1(m)).handled['udp_port_unreachable_sent'] ?? 0) - (last.handled['udp_port_unreachable_sent'] ?? 0)).toBe(2);
    const summary = (await m.admin<{ engine: { filters: number }; sockets: { sockets: number; framesSent: number } }>('/v1/dpf')).body;
    expect(summary.engine.filters).toBe(0);
    expect(summary.sockets.sockets).toBe(0);
    expect(summary.sockets.framesSent).toBe(sizes.length + 1);
  });
});
