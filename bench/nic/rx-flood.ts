/**
 * bench/nic/rx-flood: how many frames per second one card can take in. `ping` bounds the echo
 * benchmark, so this one measures receive alone: a blaster (bench/nic/blaster.ts, a child
 * process with an AF_PACKET socket on the TAP's host side, inside the namespace) sends minimum
 * size frames as fast as it can, and the card, opened by this process with openNic(), counts
 * what reaches its handler. Whatever the card cannot take in time, the host drops at the TAP's
 * queue (txqueuelen); those drops are reported. Baseline, same run: the same blaster on a veth
 * into a second namespace, where Linux receives (and discards) the frames.
 * Contenders interleave round by round (../shared/BENCHMARKING.md).
 *
 * Needs root. Usage (after `npm run build`):
 *   node dist/bench/nic/rx-flood.js [--rounds 5] [--count 500000] [--size 64] [--batches 64,1] [--txqueuelen 1000]
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { NativeCard, openNic } from '../../src/nic/index.js';
import {
  BenchNamespaces,
  commonOptions,
  diffHistogram,
  fmt,
  machineHeader,
  machineInfo,
  median,
  run,
  runMain,
  sumHistograms,
  histogramLines,
  writeResults,
} from './common.js';

const { values: args } = parseArgs({
  options: {
    ...commonOptions('500000'),
    size: { type: 'string', default: '64' },
    /** The TAP's host-side queue (frames); Linux's default is 1000. */
    txqueuelen: { type: 'string', default: '1000' },
  },
});
const rounds = Number(args.rounds);
const count = Number(args.count);
const batchBudgets = args.batches.split(',').map(Number);
const BLASTER = join(fileURLToPath(new URL('.', import.meta.url)), 'blaster.js');

interface Run {
  contender: string;
  round: number;
  /** Frames the blaster sent, and how long it took. */
  sent: number;
  blastMs: number;
  /** Frames the receiver took in (card handler / veth rx_packets). */
  received: number;
  /** Received frames per second of blasting. */
  receivedPerSecond: number;
  /** Frames the host dropped at the TAP's queue because the card was not reading fast enough (TAP tx_dropped); undefined for the veth, whose rx_dropped counts the discarded test frames themselves. */
  hostDropped?: number;
  /** This process (the card) CPU per received frame, µs, and its share of one core; 0 for the baseline. */
  cardCpuUsPerFrame: number;
  cardCpuShare: number;
  rxBatchSizes?: Record<string, number>;
  meanBatchFrames?: number;
}

/** A link's packet counters from `ip -s -j link`. */
function linkStats(ns: string, ifname: string): { txDropped: number; rxPackets: number } {
  const j = JSON.parse(execFileSync('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', ifname], { encoding: 'utf8' })) as {
    stats64: { rx: { packets: number }; tx: { dropped: number } };
  }[];
  const s = j[0]!.stats64;
  return { txDropped: s.tx.dropped, rxPackets: s.rx.packets };
}

async function blast(ns: string, ifname: string): Promise<{ sent: number; wallMs: number }> {
  const { code, out } = await run([process.execPath, BLASTER, '--netns', ns, '--if', ifname, '--count', String(count), '--size', args.size]);
  if (code !== 0) throw new Error(`blaster failed: ${out}`);
  return JSON.parse(out) as { sent: number; wallMs: number };
}

/** Let frames still in the TAP's queue reach the card. */
async function settle(card: NativeCard): Promise<void> {
  let last = -1;
  while (card.counters().rxFrames !== last) {
    last = card.counters().rxFrames;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function measureCard(contender: string, round: number, ns: string, card: NativeCard): Promise<Run> {
  const before = card.counters();
  const host0 = linkStats(ns, 'xb0');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const b = await blast(ns, 'xb0');
  await settle(card);
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = card.counters();
  const received = after.rxFrames - before.rxFrames;
  return {
    contender,
    round,
    sent: b.sent,
    blastMs: b.wallMs,
    received,
    receivedPerSecond: received / (b.wallMs / 1000),
    hostDropped: linkStats(ns, 'xb0').txDropped - host0.txDropped,
    cardCpuUsPerFrame: (cpu.user + cpu.system) / Math.max(1, received),
    cardCpuShare: (cpu.user + cpu.system) / wallUs,
    rxBatchSizes: diffHistogram(before, after),
    meanBatchFrames: received / Math.max(1, after.rxBatches - before.rxBatches),
  };
}

async function measureVeth(round: number, client: string, server: string): Promise<Run> {
  const s0 = linkStats(server, 'vc0');
  const b = await blast(client, 'vb0');
  await new Promise((r) => setTimeout(r, 20));
  const s1 = linkStats(server, 'vc0');
  const received = s1.rxPackets - s0.rxPackets;
  return {
    contender: 'linux veth',
    round,
    sent: b.sent,
    blastMs: b.wallMs,
    received,
    receivedPerSecond: received / (b.wallMs / 1000),
    cardCpuUsPerFrame: 0,
    cardCpuShare: 0,
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/nic needs root (TAP devices and network namespaces)');
  const spaces = new BenchNamespaces();
  const cards: NativeCard[] = [];
  spaces.beforeDelete(async () => void (await Promise.all(cards.map((c) => c.close()))));
  try {
    const client = spaces.add('rxcli');
    const server = spaces.add('rxsrv');
    spaces.veth(client, 'vb0', '198.18.201.1', server, 'vc0', '198.18.201.2');
    const taps: { name: string; ns: string; card: NativeCard }[] = [];
    for (const budget of batchBudgets) {
      const ns = spaces.add(`rxtap${budget}`);
      const card = (await openNic(
        { name: 'xb0', hostAddress: '198.18.201.1/24', mtuBytes: 1500, attach: false },
        { backend: 'tap', netns: ns, tuning: { maxBatchFrames: budget }, hostTxQueueLenFrames: Number(args.txqueuelen) },
      )) as NativeCard;
      let touched = 0;
      card.setFrameHandler((f) => (touched ^= f[13]!)); // a consumer that looks at each frame
      cards.push(card);
      taps.push({ name: `exotap batch≤${budget}`, ns, card });
    }
    const runs: Run[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const t of taps) runs.push(await measureCard(t.name, round, t.ns, t.card));
      runs.push(await measureVeth(round, client, server));
      process.stderr.write(`round ${round}/${rounds} done\n`);
    }
    report(runs, [...taps.map((t) => t.name), 'linux veth']);
  } finally {
    await spaces.deleteAll();
  }
}

function report(runs: Run[], contenders: string[]): void {
  const base = runs.filter((r) => r.contender === 'linux veth');
  const rows = contenders.map((name) => {
    const rs = runs.filter((r) => r.contender === name);
    const ratios = rs.map((r, i) => r.receivedPerSecond / base[i]!.receivedPerSecond);
    return {
      contender: name,
      receivedPerSecond: median(rs.map((r) => r.receivedPerSecond)),
      offeredPerSecond: median(rs.map((r) => r.sent / (r.blastMs / 1000))),
      ratioToLinux: median(ratios),
      ratiosPerRound: ratios,
      hostDropPercent: name === 'linux veth' ? undefined : median(rs.map((r) => (100 * (r.hostDropped ?? 0)) / Math.max(1, r.sent))),
      cardCpuUsPerFrame: median(rs.map((r) => r.cardCpuUsPerFrame)),
      cardCpuShare: median(rs.map((r) => r.cardCpuShare)),
      meanBatchFrames: name === 'linux veth' ? undefined : median(rs.map((r) => r.meanBatchFrames ?? 0)),
      rxBatchSizes: sumHistograms(rs.map((r) => r.rxBatchSizes)),
    };
  });
  const machine = machineInfo(
    `blaster of ${count} × ${args.size}-byte frames, TAP txqueuelen ${args.txqueuelen}, ${rounds} interleaved rounds, medians`,
  );
  const md = [
    ...machineHeader('bench/nic rx-flood', machine),
    '| receiver | received frames/s (median) | offered frames/s | ratio to Linux (median of per-round) | per-round ratios | host drops % | card CPU µs/frame | card CPU share | mean batch |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.contender} | ${fmt(r.receivedPerSecond)} | ${fmt(r.offeredPerSecond)} | ${fmt(r.ratioToLinux, 2)} | ${r.ratiosPerRound.map((x) => fmt(x, 2)).join(' ')} | ${r.hostDropPercent === undefined ? '—' : fmt(r.hostDropPercent, 1)} | ${fmt(r.cardCpuUsPerFrame, 2)} | ${fmt(r.cardCpuShare * 100, 0)}% | ${r.meanBatchFrames === undefined ? '—' : fmt(r.meanBatchFrames, 1)} |`,
    ),
    '',
    ...histogramLines(rows),
  ].join('\n');
  writeResults(args.out, 'rx-flood', machine, { summary: rows, runs }, md);
}

runMain(main);
