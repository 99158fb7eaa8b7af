/**
 * bench/http/profile — where the daemon's time goes while Cheetah serves one workload.
 *
 *   node dist/bench/http/profile.js [--size 1k] [--mode close|keepalive] [--duration-s 10]
 *        [--connections 30] [--cheetah '{"tcp":{"mergeAck":false}}'] [--top 30] [--keep FILE]
 *
 * Runs the daemon in a namespace of its own under `node --cpu-prof`, warms it up, loads it with
 * wrk on the three cards (connections split between them, as bench/http/run), stops it, and reads
 * the profile: only samples taken while the measured load ran count. Prints the busy time per
 * request, the top functions by self time and by inclusive time (µs per request each), and what
 * the daemon sent per request (frames its cards transmitted; TCP segments). `--cheetah` is merged
 * into the `cheetah` config section (to profile a specialization switched off). The namespace
 * and daemon always go.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deleteNetns, ensureNetns, execInNetns, spawnInNetns } from '../../src/netns.js';
import { packageRoot } from '../../src/util/package-root.js';
import { sentByDaemon, waitForCheetah } from './admin.js';

const { values: opt } = parseArgs({
  options: {
    size: { type: 'string', default: '1k' },
    mode: { type: 'string', default: 'close' },
    'duration-s': { type: 'string', default: '10' },
    connections: { type: 'string', default: '30' },
    cheetah: { type: 'string', default: '{}' },
    top: { type: 'string', default: '30' },
    keep: { type: 'string' },
  },
});

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

const ns = `exob-prof-${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'exob-prof-'));
const socketPath = join(work, 'admin.sock');

async function wrk(total: number, seconds: number, close: boolean): Promise<number> {
  const runs = await Promise.all(
    [0, 1, 2].map((n) =>
      execInNetns(
        ns,
        'wrk',
        ['-t1', `-c${Math.max(1, Math.round(total / 3))}`, `-d${seconds}s`, ...(close ? ['-H', 'Connection: close'] : []), `http://198.18.${n}.2/files/${opt.size}.bin`],
        { timeoutMs: (seconds + 30) * 1000 },
      ),
    ),
  );
  return runs.reduce((a, r) => a + Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0), 0);
}

/** Self and inclusive time per function over samples in [fromUs, toUs) since the profile began. */
function analyse(p: CpuProfile, fromUs: number, toUs: number) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let t = 0;
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    if (t < fromUs || t >= toUs) continue;
    const d = p.timeDeltas[i + 1] ?? 0;
    const leaf = p.samples[i]!;
    if (byId.get(leaf)!.callFrame.functionName === '(idle)') continue;
    busy += d;
    self.set(name(leaf), (self.get(name(leaf)) ?? 0) + d);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const k = name(id);
      if (!seen.has(k)) incl.set(k, (incl.get(k) ?? 0) + d);
      seen.add(k);
    }
  }
  return { busy, self, incl };
}

async function main(): Promise<void> {
  const durationS = Number(opt['duration-s']);
  const connections = Number(opt.connections);
  const close = opt.mode === 'close';
  const profDir = join(work, 'prof');
  const config = join(work, 'exolinux.json');
  writeFileSync(config, JSON.stringify({ log: { level: 'warn', pretty: false }, admin: { socketPath }, cheetah: JSON.parse(opt.cheetah as string) as object }));
  await ensureNetns(ns);
  const main = join(packageRoot(), 'dist', 'src', 'main.js');
  const spawnedAt = Date.now();
  const daemon = spawnInNetns(ns, process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, main, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  daemon.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  daemon.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => daemon.on('exit', () => resolve()));
  try {
    await waitForCheetah(socketPath).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}:\n${log}`);
    });
    await wrk(connections, 2, close);
    const sentBefore = await sentByDaemon(socketPath);
    const from = Date.now();
    const requests = await wrk(connections, durationS, close);
    const to = Date.now();
    const sentAfter = await sentByDaemon(socketPath);
    const framesPerRequest = (sentAfter.txFrames - sentBefore.txFrames) / requests;
    const segmentsPerRequest = (sentAfter.tcpSegments - sentBefore.tcpSegments) / requests;
    // `ip netns exec` execs node, so this is the daemon itself: it writes the profile as it exits.
    daemon.kill('SIGTERM');
    await exited;
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no profile written:\n${log}`);
    if (opt.keep !== undefined) copyFileSync(join(profDir, file), opt.keep as string);
    const p = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile;
    // Profile time starts at the process start, close to the spawn; a small offset is harmless.
    const { busy, self, incl } = analyse(p, (from - spawnedAt) * 1000, (to - spawnedAt) * 1000);
    const per = (us: number) => (us / requests).toFixed(1);
    const top = Number(opt.top);
    const lines = [
      `# bench/http/profile — ${opt.size} ${opt.mode}, ${connections} connections, ${durationS} s, cheetah ${opt.cheetah}`,
      '',
      `${requests} requests (${(requests / ((to - from) / 1000)).toFixed(0)}/s); daemon busy ${(busy / 1000).toFixed(0)} ms = ${per(busy)} µs per request; sent per request: ${framesPerRequest.toFixed(2)} frames, ${segmentsPerRequest.toFixed(2)} TCP segments.`,
      '',
      '| self µs/req | function |',
      '|---:|---|',
      ...[...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `| ${per(v)} | ${k} |`),
      '',
      '| inclusive µs/req | function |',
      '|---:|---|',
      ...[...incl].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `| ${per(v)} | ${k} |`),
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    daemon.kill('SIGKILL');
    await deleteNetns(ns).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}

process.on('SIGINT', () => void deleteNetns(ns).finally(() => process.exit(130)));
main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
