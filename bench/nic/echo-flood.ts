/**
 * bench/nic/echo-flood: frames per second into and out of one card through the exotap addon.
 *
 * A host-side flood (`ping -f -l PRELOAD`, from inside a namespace this benchmark makes) goes to
 * a TAP card opened by this process with openNic(), answered either by a trivial in-process
 * responder that rewrites each echo request in place (src/nic/testing/echo-responder.ts: the card
 * alone) or by the daemon's own kernel path — netif_rx, the (empty) DPF hook, the conventional
 * path's ICMP echo, dev_queue_xmit (src/kernel/net). Baseline, in
 * the same run: the same flood answered by the Linux kernel on a veth pair into a second
 * namespace. Contenders run interleaved, round after round (../shared/BENCHMARKING.md), and the
 * TAP card runs at each configured batch budget, so batching is measured against no batching.
 *
 * Needs root. Usage (after `npm run build`):
 *   node dist/bench/nic/echo-flood.js [--rounds 5] [--count 100000] [--preload 64] [--batches 64,1]
 * Writes bench/nic/results/echo-flood-<date>.{json,md} and prints the markdown.
 */
import { parseArgs } from 'node:util';
import { NetStack } from '../../src/kernel/net/index.js';
import { NativeCard, openNic } from '../../src/nic/index.js';
import { parseIpv4 } from '../../src/wire/index.js';
import { RealClock } from '../../src/util/clock.js';
import { installEchoResponder } from '../../src/nic/testing/echo-responder.js';
import {
  BenchNamespaces,
  busyJiffies,
  commonOptions,
  diffHistogram,
  fmt,
  JIFFY_US,
  machineHeader,
  machineInfo,
  median,
  run,
  runMain,
  sumHistograms,
  histogramLines,
  writeResults,
} from './common.js';

const HOST = '198.18.200.1';
const MACHINE = '198.18.200.2';

const { values: args } = parseArgs({
  options: {
    ...commonOptions('100000'),
    preload: { type: 'string', default: '64' },
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

/** Run ping without blocking this event loop (the responder must keep answering). */
async function flood(ns: string): Promise<{ sent: number; received: number; wallMs: number }> {
  const { out } = await run(['ip', 'netns', 'exec', ns, 'ping', '-f', '-q', '-l', String(preload), '-c', String(count), '-w', '60', MACHINE]);
  const m = /(\d+) packets transmitted, (\d+) received.*time (\d+)ms/.exec(out);
  if (m === null) throw new Error(`ping output not understood: ${out}`);
  return { sent: Number(m[1]), received: Number(m[2]), wallMs: Number(m[3]) };
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
  const result: Run = {
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
    result.rxBatchSizes = diffHistogram(before, after);
    result.meanBatchFrames = (after.rxFrames - before.rxFrames) / Math.max(1, after.rxBatches - before.rxBatches);
  }
  return result;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/nic needs root (TAP devices and network namespaces)');
  const spaces = new BenchNamespaces();
  const cards: NativeCard[] = [];
  spaces.beforeDelete(async () => void (await Promise.all(cards.map((c) => c.close()))));
  try {
    // Baseline: veth from the client namespace into the server namespace, where Linux answers.
    const client = spaces.add('cli');
    spaces.veth(client, 'vb0', HOST, spaces.add('srv'), 'vc0', MACHINE);

    // One TAP card per batch budget, each in its own namespace, opened by openNic.
    const tapContenders: { name: string; card: NativeCard; ns: string }[] = [];
    for (const budget of batchBudgets) {
      const ns = spaces.add(`tap${budget}`);
      const card = (await openNic(
        { name: 'xb0', hostAddress: `${HOST}/24`, mtuBytes: 1500, attach: false },
        { backend: 'tap', netns: ns, tuning: { maxBatchFrames: budget } },
      )) as NativeCard;
      cards.push(card);
      installEchoResponder(card, parseIpv4(MACHINE)!);
      tapContenders.push({ name: `exotap batch≤${budget}`, card, ns });
    }
    // The daemon's kernel path on a card at the first (default) budget.
    {
      const budget = batchBudgets[0] as number;
      const ns = spaces.add('kernel');
      const card = (await openNic(
        { name: 'xb0', hostAddress: `${HOST}/24`, mtuBytes: 1500, attach: false },
        { backend: 'tap', netns: ns, tuning: { maxBatchFrames: budget } },
      )) as NativeCard;
      cards.push(card);
      new NetStack({
        cards: [{ dev: card, ip: parseIpv4(MACHINE)!, prefixLen: 24 }],
        arpCacheTtlMs: 60_000,
        arpCacheMaxEntries: 1024,
        icmpErrorsPerSecond: 100,
        icmpErrorBurst: 50,
        clock: new RealClock(),
      }).start();
      tapContenders.push({ name: `kernel path batch≤${budget}`, card, ns });
    }

    // Warm-up (ARP, JIT), not recorded.
    for (const { ns } of tapContenders) await flood(ns);
    await flood(client);

    const runs: Run[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const { name, card, ns } of tapContenders) runs.push(await measure(name, round, ns, card));
      runs.push(await measure('linux veth', round, client));
      process.stderr.write(`round ${round}/${rounds} done\n`);
    }
    report(runs, tapContenders.map((c) => c.name));
  } finally {
    await spaces.deleteAll();
  }
}

function report(runs: Run[], tapNames: string[]): void {
  const contenders = [...tapNames, 'linux veth'];
  const byName = (n: string): Run[] => runs.filter((r) => r.contender === n);
  const base = byName('linux veth');
  const rows = contenders.map((name) => {
    const rs = byName(name);
    const ratios = rs.map((r, i) => r.echoesPerSecond / base[i]!.echoesPerSecond);
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
      rxBatchSizes: sumHistograms(rs.map((r) => r.rxBatchSizes)),
    };
  });
  const machine = machineInfo(`ping -f -q -l ${preload} -c ${count}, ${rounds} interleaved rounds, medians`);
  const md = [
    ...machineHeader('bench/nic echo-flood', machine),
    '| contender | echoes/s (median) | ratio to Linux (median of per-round) | per-round ratios | machine CPU µs/echo | card process CPU µs/echo (user) | card process CPU share | mean batch | loss % |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.contender} | ${fmt(r.echoesPerSecond)} | ${fmt(r.ratioToLinux, 2)} | ${r.ratiosPerRound.map((x) => fmt(x, 2)).join(' ')} | ${fmt(r.machineCpuUsPerEcho, 2)} | ${fmt(r.cardCpuUsPerEcho, 2)} (${fmt(r.cardUserUsPerEcho, 2)}) | ${fmt(r.cardCpuShare * 100, 0)}% | ${r.meanBatchFrames === undefined ? '—' : fmt(r.meanBatchFrames, 1)} | ${fmt(r.lossPercent, 2)} |`,
    ),
    '',
    ...histogramLines(rows),
  ].join('\n');
  writeResults(args.out, 'echo-flood', machine, { summary: rows, runs }, md);
}

runMain(main);
