/**
 * bench/nic/echo-flood: frames per second into and out of one card through the exotap addon.
 *
 * A host-side flood (`ping -f -l PRELOAD`, from inside a namespace this benchmark makes) goes to
 * a TAP card opened by this process with openNic(); a trivial in-process responder rewrites each
 * echo request in place and transmits it back (src/nic/testing/echo-responder.ts). Baseline, in
 * the same run: the same flood answered by the Linux kernel on a veth pair into a second
 * namespace. Contenders run interleaved, round after round (../shared/BENCHMARKING.md), and the
 * TAP card runs at each configured batch budget, so batching is measured against no batching.
 *
 * Needs root. Usage (after `npm run build`):
 *   node dist/bench/nic/echo-flood.js [--rounds 5] [--count 100000] [--preload 64] [--batches 64,1]
 * Writes bench/nic/results/echo-flood-<date>.{json,md} and prints the markdown.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NativeCard, openNic, parseIpv4, type NicCounters } from '../../src/nic/index.js';
import { installEchoResponder } from '../../src/nic/testing/echo-responder.js';
import { packageRoot } from '../../src/util/package-root.js';

const HOST = '198.18.200.1';
const MACHINE = '198.18.200.2';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    count: { type: 'string', default: '100000' },
    preload: { type: 'string', default: '64' },
    batches: { type: 'string', default: '64,1' },
    out: { type: 'string', default: join(packageRoot(), 'bench', 'nic', 'results') },
  },
});
const rounds = Number(args.rounds);
const count = Number(args.count);
const preload = Number(args.preload);
const batchBudgets = args.batches.split(',').map(Number);

interface Run {
  contender: string;
  round: number;
  sent: number;
  received: number;
  wallMs: number;
  /** Echo round trips per second as ping measured them. */
  echoesPerSecond: number;
  /** Whole machine: busy CPU time (all cores, /proc/stat) per echo, µs. */
  machineCpuUsPerEcho: number;
  /** This process (the card + responder) CPU time per echo, µs; 0 for the kernel baseline. */
  cardCpuUsPerEcho: number;
  /** …of which user time (JS, N-API, the responder), µs; the rest is system time in read/writev. */
  cardUserUsPerEcho: number;
  /** Share of one core this process used during the run. */
  cardCpuShare: number;
  rxBatchSizes?: Record<string, number>;
  meanBatchFrames?: number;
}

function busyJiffies(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return fields.reduce((a, b) => a + b, 0) - idle;
}
const JIFFY_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

function sh(...argv: string[]): void {
  execFileSync(argv[0]!, argv.slice(1), { stdio: 'pipe' });
}

/** Run ping without blocking this event loop (the responder must keep answering). */
function flood(ns: string): Promise<{ sent: number; received: number; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, 'ping', '-f', '-q', '-l', String(preload), '-c', String(count), '-w', '60', MACHINE], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => {
      const m = /(\d+) packets transmitted, (\d+) received.*time (\d+)ms/.exec(out);
      if (m === null) reject(new Error(`ping output not understood: ${out}`));
      else resolve({ sent: Number(m[1]), received: Number(m[2]), wallMs: Number(m[3]) });
    });
  });
}

async function measure(contender: string, round: number, ns: string, card?: NativeCard): Promise<Run> {
  const before = card?.counters();
  const cpu0 = process.cpuUsage();
  const j0 = busyJiffies();
  const t0 = performance.now();
  const r = await flood(ns);
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  const busyUs = (busyJiffies() - j0) * JIFFY_US;
  const echoes = Math.max(1, r.received);
  const run: Run = {
    contender,
    round,
    ...r,
    echoesPerSecond: r.received / (r.wallMs / 1000),
    machineCpuUsPerEcho: busyUs / echoes,
    cardCpuUsPerEcho: card === undefined ? 0 : (cpu.user + cpu.system) / echoes,
    cardUserUsPerEcho: card === undefined ? 0 : cpu.user / echoes,
    cardCpuShare: card === undefined ? 0 : (cpu.user + cpu.system) / wallUs,
  };
  if (card !== undefined && before !== undefined) {
    const after = card.counters();
    run.rxBatchSizes = diffHistogram(before, after);
    run.meanBatchFrames = (after.rxFrames - before.rxFrames) / Math.max(1, after.rxBatches - before.rxBatches);
  }
  return run;
}

function diffHistogram(a: NicCounters, b: NicCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.rxBatchSizes)) {
    const d = v - (a.rxBatchSizes[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/nic needs root (TAP devices and network namespaces)');
  const tag = `${process.pid}`;
  const nsTap = `exo-bench-tap-${tag}`;
  const nsClient = `exo-bench-cli-${tag}`;
  const nsServer = `exo-bench-srv-${tag}`;
  const made: string[] = [];
  const cards: NativeCard[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(cards.map((c) => c.close()));
    for (const ns of made) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    for (const ns of [nsTap, nsClient, nsServer]) {
      sh('ip', 'netns', 'add', ns);
      made.push(ns);
      sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    }
    // Baseline: veth from the client namespace into the server namespace, where Linux answers.
    sh('ip', '-n', nsClient, 'link', 'add', 'vb0', 'type', 'veth', 'peer', 'name', 'vc0', 'netns', nsServer);
    sh('ip', '-n', nsClient, 'addr', 'add', `${HOST}/24`, 'dev', 'vb0');
    sh('ip', '-n', nsServer, 'addr', 'add', `${MACHINE}/24`, 'dev', 'vc0');
    sh('ip', '-n', nsClient, 'link', 'set', 'vb0', 'up');
    sh('ip', '-n', nsServer, 'link', 'set', 'vc0', 'up');

    // One TAP card per batch budget, each in its own namespace-local name, opened by openNic.
    const tapContenders: { name: string; card: NativeCard; ns: string }[] = [];
    for (const budget of batchBudgets) {
      const ns = budget === batchBudgets[0] ? nsTap : `${nsTap}-b${budget}`;
      if (ns !== nsTap) {
        sh('ip', 'netns', 'add', ns);
        made.push(ns);
      }
      const card = (await openNic(
        { name: 'xb0', hostAddress: `${HOST}/24`, mtuBytes: 1500, attach: false },
        { backend: 'tap', netns: ns, tuning: { maxBatchFrames: budget } },
      )) as NativeCard;
      cards.push(card);
      installEchoResponder(card, parseIpv4(MACHINE)!);
      tapContenders.push({ name: `exotap batch≤${budget}`, card, ns });
    }

    // Warm-up (ARP, JIT), not recorded.
    for (const { ns } of tapContenders) await flood(ns);
    await flood(nsClient);

    const runs: Run[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const { name, card, ns } of tapContenders) runs.push(await measure(name, round, ns, card));
      runs.push(await measure('linux veth', round, nsClient));
      process.stderr.write(`round ${round}/${rounds} done\n`);
    }
    report(runs, tapContenders.map((c) => c.name));
  } finally {
    await cleanup();
  }
}

function report(runs: Run[], tapNames: string[]): void {
  const contenders = [...tapNames, 'linux veth'];
  const byName = (n: string): Run[] => runs.filter((r) => r.contender === n);
  const base = byName('linux veth');
  const rows = contenders.map((name) => {
    const rs = byName(name);
    const ratios = rs.map((r, i) => r.echoesPerSecond / base[i]!.echoesPerSecond);
    const hist: Record<string, number> = {};
    for (const r of rs) for (const [k, v] of Object.entries(r.rxBatchSizes ?? {})) hist[k] = (hist[k] ?? 0) + v;
    return {
      contender: name,
      echoesPerSecond: median(rs.map((r) => r.echoesPerSecond)),
      ratioToLinux: median(ratios),
      ratiosPerRound: ratios,
      machineCpuUsPerEcho: median(rs.map((r) => r.machineCpuUsPerEcho)),
      cardCpuUsPerEcho: median(rs.map((r) => r.cardCpuUsPerEcho)),
      cardUserUsPerEcho: median(rs.map((r) => r.cardUserUsPerEcho)),
      cardCpuShare: median(rs.map((r) => r.cardCpuShare)),
      meanBatchFrames: rs[0]?.meanBatchFrames === undefined ? undefined : median(rs.map((r) => r.meanBatchFrames ?? 0)),
      lossPercent: median(rs.map((r) => (100 * (r.sent - r.received)) / Math.max(1, r.sent))),
      rxBatchSizes: hist,
    };
  });
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    kernel: release(),
    node: process.version,
    date: new Date().toISOString(),
    command: `node ${process.argv.slice(1).join(' ')}`,
    method: `ping -f -q -l ${preload} -c ${count}, ${rounds} interleaved rounds, medians`,
  };
  const fmt = (x: number, d = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const md = [
    `# bench/nic echo-flood — ${machine.date}`,
    '',
    `Machine: ${machine.cores} cores (${machine.cpu}), Linux ${machine.kernel}, Node ${machine.node}.`,
    `Method: ${machine.method}. Command: \`${machine.command}\`.`,
    '',
    '| contender | echoes/s (median) | ratio to Linux (median of per-round) | per-round ratios | machine CPU µs/echo | card process CPU µs/echo (user) | card process CPU share | mean batch | loss % |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.contender} | ${fmt(r.echoesPerSecond)} | ${fmt(r.ratioToLinux, 2)} | ${r.ratiosPerRound.map((x) => fmt(x, 2)).join(' ')} | ${fmt(r.machineCpuUsPerEcho, 2)} | ${fmt(r.cardCpuUsPerEcho, 2)} (${fmt(r.cardUserUsPerEcho, 2)}) | ${fmt(r.cardCpuShare * 100, 0)}% | ${r.meanBatchFrames === undefined ? '—' : fmt(r.meanBatchFrames, 1)} | ${fmt(r.lossPercent, 2)} |`,
    ),
    '',
    'Receive batch sizes (all rounds):',
    '',
    ...rows
      .filter((r) => Object.keys(r.rxBatchSizes).length > 0)
      .map((r) => `- ${r.contender}: ${Object.entries(r.rxBatchSizes).map(([k, v]) => `${k}: ${v}`).join(', ')}`),
    '',
  ].join('\n');
  const outDir = args.out;
  mkdirSync(outDir, { recursive: true });
  const stamp = machine.date.replace(/[:.]/g, '-');
  writeFileSync(join(outDir, `echo-flood-${stamp}.json`), JSON.stringify({ machine, summary: rows, runs }, null, 2) + '\n');
  writeFileSync(join(outDir, `echo-flood-${stamp}.md`), md);
  process.stdout.write(md);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
