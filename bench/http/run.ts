/**
 * bench/http — Cheetah against kernel-stack servers, same client, same run (issue #5;
 * method: ../shared/BENCHMARKING.md).
 *
 *   node dist/bench/http/run.js [--servers cheetah,nginx,node] [--sizes 0b,1k,10k,100k,1m]
 *        [--modes keepalive,close] [--rounds 5] [--duration-s 10] [--connections 30] [--out DIR]
 *        [--cheetah-variants 'NAME=JSON;…']
 *
 * `--cheetah-variants` adds contenders `cheetah:NAME`: more daemons whose `cheetah` config section
 * is merged with JSON (e.g. `nomerge={"tcp":{"mergeAck":false,"mergeFin":false}}`), to measure a
 * specialization switched off in the same run. A `"nic"` key in the JSON is merged into each of the
 * variant's cards instead (e.g. `thread={"nic":{"txThread":true}}`). Variant k's cards are ev<k>0…2
 * on 198.18.<10k+n>.0/24.
 *
 * Topology, all in namespaces the benchmark makes and removes:
 *   client ns: wrk (three instances, one per card/link, connections split between them), and
 *              exolinuxd with its three TAP cards (Cheetah on 198.18.<n>.2:80);
 *   server ns: nginx (1 worker, sendfile) and node:http, reached from the client ns over three
 *              veth pairs 198.19.<n>.1 ⇄ 198.19.<n>.2.
 * Contenders run interleaved (A B C, then B C A …) for every size and mode. Reported per run:
 * requests/s, MB/s, latency p50/p99, errors, whole-machine CPU jiffies per request, and what the
 * server sent per request: frames (Cheetah: its cards' txFrames; the others: tx_packets of the
 * server-side veths, which count GSO/TSO super-packets, so the two are not comparable 1:1) and
 * TCP segments as they go on the wire (Cheetah: its stack's segmentsOut; the others: OutSegs +
 * RetransSegs of the server namespace, counted per segment). Output: JSON with every raw run plus
 * a markdown table of medians and ratios to the first baseline.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deleteNetns, ensureNetns, execInNetns, ip, spawnInNetns } from '../../src/netns.js';
import { packageRoot } from '../../src/util/package-root.js';
import { busyJiffies, machineHeader, machineInfo, markdownTable, median } from '../lib/common.js';
import { sentByDaemon, waitForCheetah } from './admin.js';

const SIZE_PATHS: Record<string, string> = {
  '0b': '/files/0b.bin',
  '1k': '/files/1k.bin',
  '10k': '/files/10k.bin',
  '100k': '/files/100k.bin',
  '1m': '/files/1m.bin',
};

interface WrkResult {
  requests: number;
  bytes: number;
  durationUs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

interface Run {
  server: string;
  size: string;
  mode: 'keepalive' | 'close';
  round: number;
  requests: number;
  reqPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  cpuJiffiesPerKReq: number;
  /** Frames the server sent per request (veth packets may be GSO super-packets: see the header). */
  txFramesPerReq: number;
  /** TCP segments the server sent per request, as on the wire. */
  tcpSegmentsPerReq: number;
}

/** What a server sent towards the clients so far. */
interface Sent {
  txFrames: number;
  tcpSegments: number;
}

/** A server under test: where wrk points, and what it has sent so far. */
interface Contender {
  name: string;
  targets: readonly string[];
  sent(): Promise<Sent>;
  stop(): Promise<void>;
}

const { values: opt } = parseArgs({
  options: {
    servers: { type: 'string', default: 'cheetah,nginx,node' },
    sizes: { type: 'string', default: '0b,1k,10k,100k,1m' },
    modes: { type: 'string', default: 'keepalive,close' },
    rounds: { type: 'string', default: '5' },
    'duration-s': { type: 'string', default: '10' },
    connections: { type: 'string', default: '30' },
    'cheetah-variants': { type: 'string', default: '' },
    docroot: { type: 'string', default: join(packageRoot(), 'site', 'www') },
    out: { type: 'string', default: join(packageRoot(), 'bench', 'results') },
  },
});

const tag = `${process.pid}`;
const CLIENT_NS = `exob-http-c-${tag}`;
const SERVER_NS = `exob-http-s-${tag}`;
const LINKS = [0, 1, 2];
const work = mkdtempSync(join(tmpdir(), 'exob-http-'));
const children: ChildProcess[] = [];

async function cleanup(): Promise<void> {
  for (const c of children) c.kill('SIGKILL');
  await deleteNetns(CLIENT_NS).catch(() => {});
  await deleteNetns(SERVER_NS).catch(() => {});
  rmSync(work, { recursive: true, force: true });
}

async function sysfsCounter(ns: string, dev: string, name: string): Promise<number> {
  const r = await execInNetns(ns, 'cat', [`/sys/class/net/${dev}/statistics/${name}`]);
  return Number(r.stdout.trim());
}

async function setupLinks(): Promise<void> {
  await ensureNetns(CLIENT_NS);
  await ensureNetns(SERVER_NS);
  for (const n of LINKS) {
    await ip(['-n', CLIENT_NS, 'link', 'add', `vc${n}`, 'type', 'veth', 'peer', 'name', `vs${n}`, 'netns', SERVER_NS]);
    await ip(['-n', CLIENT_NS, 'addr', 'add', `198.19.${n}.1/24`, 'dev', `vc${n}`]);
    await ip(['-n', SERVER_NS, 'addr', 'add', `198.19.${n}.2/24`, 'dev', `vs${n}`]);
    await ip(['-n', CLIENT_NS, 'link', 'set', `vc${n}`, 'up']);
    await ip(['-n', SERVER_NS, 'link', 'set', `vs${n}`, 'up']);
  }
}

function waitForLine(child: ChildProcess, needle: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${needle}" within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(needle)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  });
}

/**
 * What the kernel servers (one measured at a time) sent: packets out of the server-side veths,
 * and the server namespace's TCP segments (/proc/net/snmp OutSegs + RetransSegs, which Linux
 * counts per segment of a GSO packet).
 */
async function kernelServerSent(): Promise<Sent> {
  let txFrames = 0;
  for (const l of LINKS) txFrames += await sysfsCounter(SERVER_NS, `vs${l}`, 'tx_packets');
  const snmp = await execInNetns(SERVER_NS, 'cat', ['/proc/net/snmp']);
  const [names, values] = snmp.stdout
    .split('\n')
    .filter((l) => l.startsWith('Tcp:'))
    .map((l) => l.trim().split(/\s+/));
  const counter = (name: string): number => {
    const i = names?.indexOf(name) ?? -1;
    const v = Number(values?.[i]);
    if (i < 0 || !Number.isFinite(v)) throw new Error(`no Tcp ${name} in /proc/net/snmp of ${SERVER_NS}`);
    return v;
  };
  return { txFrames, tcpSegments: counter('OutSegs') + counter('RetransSegs') };
}

async function startNginx(docroot: string): Promise<Contender> {
  const dir = join(work, 'nginx');
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server { listen 8081 reuseport backlog=4096; root ${docroot}; }
}
`,
  );
  const child = spawnInNetns(SERVER_NS, 'nginx', ['-c', conf, '-e', `${dir}/error.log`], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  await waitForPort(SERVER_NS, 8081);
  return {
    name: 'nginx',
    targets: LINKS.map((n) => `http://198.19.${n}.2:8081`),
    sent: kernelServerSent,
    stop: async () => void child.kill('SIGTERM'),
  };
}

async function startNode(docroot: string): Promise<Contender> {
  const script = join(packageRoot(), 'dist', 'bench', 'http', 'node-server.js');
  const child = spawnInNetns(SERVER_NS, process.execPath, [script, docroot, '8082'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  await waitForLine(child, 'listening', 10_000);
  return {
    name: 'node',
    targets: LINKS.map((n) => `http://198.19.${n}.2:8082`),
    sent: kernelServerSent,
    stop: async () => void child.kill('SIGTERM'),
  };
}

/** A Cheetah daemon; variant `k` > 0 gets cards of its own (see the header) and `cheetah` merged over its config. */
async function startCheetah(docroot: string, k: number, name: string, variant: Record<string, unknown>): Promise<Contender> {
  const socketPath = join(work, `admin-${k}.sock`);
  const config = join(work, `exolinux-${k}.json`);
  const subnet = (n: number) => `198.18.${k * 10 + n}`;
  const { nic, ...cheetah } = variant;
  const nics =
    k === 0 ? undefined : LINKS.map((n) => ({ name: `ev${k}${n}`, hostAddress: `${subnet(n)}.1/24`, machineAddress: `${subnet(n)}.2`, ...(nic as object | undefined) }));
  writeFileSync(config, JSON.stringify({ log: { level: 'warn', pretty: false }, admin: { socketPath, port: 0 }, docroot, cheetah, ...(nics !== undefined ? { nics } : {}) }));
  const main = join(packageRoot(), 'dist', 'src', 'main.js');
  const child = spawnInNetns(CLIENT_NS, process.execPath, [main, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  await waitForCheetah(socketPath);
  return {
    name,
    targets: LINKS.map((n) => `http://${subnet(n)}.2:80`),
    sent: () => sentByDaemon(socketPath),
    stop: async () => void child.kill('SIGTERM'),
  };
}

async function waitForPort(ns: string, port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await execInNetns(ns, 'ss', ['-Htln', `sport = :${port}`]);
    if (r.stdout.trim() !== '') return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`nothing listens on port ${port} in ${ns}`);
}

async function wrk(url: string, connections: number, durationS: number, close: boolean): Promise<WrkResult> {
  const lua = join(packageRoot(), 'bench', 'http', 'report.lua');
  const args = ['-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', '8s', '-s', lua];
  if (close) args.push('-H', 'Connection: close');
  args.push(url);
  const r = await execInNetns(CLIENT_NS, 'wrk', args, { timeoutMs: (durationS + 30) * 1000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{"requests"'));
  if (line === undefined) throw new Error(`wrk ${url}: no report\n${r.stdout}\n${r.stderr}`);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout);
  const res = JSON.parse(line) as WrkResult;
  // wrk counts non-2xx in errors.status; keep both visible.
  if (non2xx !== null) res.errors.status = Math.max(res.errors.status, Number(non2xx[1]));
  return res;
}

async function measure(c: Contender, size: string, mode: Run['mode'], round: number, connections: number, durationS: number): Promise<Run> {
  const path = SIZE_PATHS[size];
  if (path === undefined) throw new Error(`unknown size ${size}`);
  const per = c.targets.map((_, i) => Math.floor(connections / c.targets.length) + (i < connections % c.targets.length ? 1 : 0));
  const sentBefore = await c.sent();
  const cpuBefore = busyJiffies();
  const results = await Promise.all(c.targets.map((t, i) => wrk(`${t}${path}`, per[i] as number, durationS, mode === 'close')));
  const cpuAfter = busyJiffies();
  const sentAfter = await c.sent();
  const requests = results.reduce((a, r) => a + r.requests, 0);
  const bytes = results.reduce((a, r) => a + r.bytes, 0);
  const seconds = Math.max(...results.map((r) => r.durationUs)) / 1e6;
  return {
    server: c.name,
    size,
    mode,
    round,
    requests,
    reqPerSec: requests / seconds,
    mbPerSec: bytes / seconds / 1e6,
    p50Ms: Math.max(...results.map((r) => r.latencyUs.p50)) / 1000,
    p99Ms: Math.max(...results.map((r) => r.latencyUs.p99)) / 1000,
    errors: results.reduce((a, r) => a + r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout, 0),
    non2xx: results.reduce((a, r) => a + r.errors.status, 0),
    cpuJiffiesPerKReq: requests > 0 ? ((cpuAfter - cpuBefore) / requests) * 1000 : Number.NaN,
    txFramesPerReq: requests > 0 ? (sentAfter.txFrames - sentBefore.txFrames) / requests : Number.NaN,
    tcpSegmentsPerReq: requests > 0 ? (sentAfter.tcpSegments - sentBefore.tcpSegments) / requests : Number.NaN,
  };
}

async function main(): Promise<void> {
  const servers = (opt.servers as string).split(',');
  const sizes = (opt.sizes as string).split(',');
  const modes = (opt.modes as string).split(',') as Array<Run['mode']>;
  const rounds = Number(opt.rounds);
  const durationS = Number(opt['duration-s']);
  const connections = Number(opt.connections);
  const docroot = opt.docroot as string;
  await setupLinks();
  const contenders: Contender[] = [];
  for (const s of servers) {
    if (s === 'nginx') contenders.push(await startNginx(docroot));
    else if (s === 'node') contenders.push(await startNode(docroot));
    else if (s === 'cheetah') contenders.push(await startCheetah(docroot, 0, 'cheetah', {}));
    else throw new Error(`unknown server ${s}`);
  }
  const variants = (opt['cheetah-variants'] as string).split(';').filter((v) => v.trim() !== '');
  for (const [i, v] of variants.entries()) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new Error(`--cheetah-variants: ${v} is not NAME=JSON`);
    contenders.push(await startCheetah(docroot, i + 1, `cheetah:${v.slice(0, eq)}`, JSON.parse(v.slice(eq + 1)) as Record<string, unknown>));
  }
  const runs: Run[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const size of sizes) {
      for (const mode of modes) {
        // Rotate the order each round so no contender always runs first (warm caches, thermal state).
        for (let k = 0; k < contenders.length; k++) {
          const c = contenders[(k + round) % contenders.length] as Contender;
          const run = await measure(c, size, mode, round, connections, durationS);
          runs.push(run);
          process.stderr.write(
            `round ${round} ${size} ${mode} ${c.name}: ${run.reqPerSec.toFixed(0)} req/s, ${run.mbPerSec.toFixed(1)} MB/s, p99 ${run.p99Ms.toFixed(2)} ms, errors ${run.errors}, non2xx ${run.non2xx}\n`,
          );
        }
      }
    }
  }
  for (const c of contenders) await c.stop();
  report(runs, contenders.map((c) => c.name), { sizes, modes, rounds, durationS, connections, docroot });
}

/** What the two per-request counts of the table mean (printed under it). */
const FRAMES_NOTE =
  'tx frames/req: frames the server sent per request — Cheetah: its cards\' txFrames; nginx and node: tx_packets of the ' +
  'server-side veths, where one packet may be a GSO/TSO super-packet carrying several wire segments, so these two are ' +
  'not comparable 1:1. TCP segs/req: TCP segments the server sent per request as they go on the wire — Cheetah: its ' +
  "stack's segmentsOut; nginx and node: OutSegs + RetransSegs of the server namespace (/proc/net/snmp, counted per segment).";

function report(runs: Run[], names: string[], params: object): void {
  const base = names.find((n) => !n.startsWith('cheetah')) ?? (names[0] as string);
  const rows: Array<Array<string | number>> = [];
  const groups = new Map<string, Run[]>();
  for (const r of runs) {
    const k = `${r.size}|${r.mode}|${r.server}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const sizes = [...new Set(runs.map((r) => r.size))];
  const modes = [...new Set(runs.map((r) => r.mode))];
  for (const size of sizes) {
    for (const mode of modes) {
      for (const name of names) {
        const g = groups.get(`${size}|${mode}|${name}`) ?? [];
        const baseRuns = groups.get(`${size}|${mode}|${base}`) ?? [];
        const ratios = g.map((r) => r.reqPerSec / (baseRuns.find((b) => b.round === r.round)?.reqPerSec ?? Number.NaN));
        rows.push([
          size,
          mode,
          name,
          median(g.map((r) => r.reqPerSec)),
          median(ratios),
          median(g.map((r) => r.mbPerSec)),
          median(g.map((r) => r.p50Ms)),
          median(g.map((r) => r.p99Ms)),
          median(g.map((r) => r.cpuJiffiesPerKReq)),
          median(g.map((r) => r.txFramesPerReq)),
          median(g.map((r) => r.tcpSegmentsPerReq)),
          g.reduce((a, r) => a + r.errors + r.non2xx, 0),
        ]);
      }
    }
  }
  const machine = machineInfo(`wrk, ${JSON.stringify(params)}; medians over interleaved rounds; ratio = median of per-round req/s ÷ ${base} req/s`);
  const md = [
    ...machineHeader('bench/http', machine),
    markdownTable(['size', 'mode', 'server', 'req/s', `× ${base}`, 'MB/s', 'p50 ms', 'p99 ms', 'CPU jiffies/1k req', 'tx frames/req', 'TCP segs/req', 'errors'], rows),
    '',
    FRAMES_NOTE,
    '',
  ].join('\n');
  mkdirSync(opt.out as string, { recursive: true });
  const stamp = machine.date.replace(/[:.]/g, '-');
  writeFileSync(join(opt.out as string, `http-${stamp}.json`), JSON.stringify({ machine, params, notes: { perRequestCounts: FRAMES_NOTE }, runs }, null, 2));
  writeFileSync(join(opt.out as string, `http-${stamp}.md`), md);
  process.stdout.write(md);
}

process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
main()
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());

