/**
 * DPF benchmark (issue 4): demultiplexing cost per frame with 1…10,000 TCP connection filters
 * (same local port, different peers) plus a listener — compiled trie vs the trie interpreter vs
 * the naive one-filter-at-a-time matcher (the BPF-style baseline) — and the insert+delete rate
 * of connection filters.
 *
 * Method (../../shared/BENCHMARKING.md): contenders interleaved A B C … in every round, ≥ 5
 * rounds, medians and per-round ratios, the machine written down, JSON + markdown output.
 * Nothing here sends traffic anywhere: frames are built in memory.
 *
 * Run: `npm run build && node dist/bench/dpf/demux.js [--rounds 7] [--ms 100] [--out bench/dpf/results]`
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DpfEngine,
  NaiveMatcher,
  type VerifiedFilter,
  encodeFilterBinary,
  normalize,
  parseFilterBinary,
  parseFilterText,
  verify,
} from '../../src/kernel/dpf/index.js';
import { buildFrame } from '../../src/kernel/dpf/testing/frames.js';
import { median, timed } from '../lib/common.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    ms: { type: 'string', default: '100' },
    out: { type: 'string', default: 'bench/dpf/results' },
    sizes: { type: 'string', default: '1,10,100,1000,10000' },
  },
});
const ROUNDS = Number(args.rounds);
const TARGET_MS = Number(args.ms);
const SIZES = args.sizes.split(',').map(Number);
const LOCAL = '198.18.0.2';
const PORT = 80;

function filter(text: string): VerifiedFilter {
  const p = parseFilterText(text);
  if (!p.ok) throw new Error(p.reason);
  const v = verify(p.ast);
  if (!v.ok) throw new Error(v.reason);
  return v.filter;
}

/** Peer `i`: a distinct address and port. */
function peer(i: number): { ip: string; port: number } {
  return { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1024 + (i % 60000) };
}

const ipNum = (a: string): number => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
const LISTEN = `eq16 12 0x0800; eq8 23 6; eq32 30 ${ipNum(LOCAL)}; meq16 20 0x1fff 0; mshift8 14 0x0f 2; eq16 16 ${PORT}`;
const conn = (i: number): string => {
  const p = peer(i);
  return `eq16 12 0x0800; eq8 23 6; eq32 26 ${ipNum(p.ip)}; eq32 30 ${ipNum(LOCAL)}; meq16 20 0x1fff 0; mshift8 14 0x0f 2; eq16 14 ${p.port}; eq16 16 ${PORT}`;
};

interface Setup {
  readonly size: number;
  readonly engine: DpfEngine;
  readonly naive: NaiveMatcher;
  readonly frames: Uint8Array[];
}

function setup(size: number): Setup {
  const engine = new DpfEngine({ maxFilters: size + 16 });
  const naive = new NaiveMatcher();
  const add = (f: VerifiedFilter): void => {
    const id = engine.insert(f, { pid: 100, uid: 100 });
    if (id <= 0) throw new Error(`insert refused: ${id}`);
    naive.add(id, normalize(f).atoms);
  };
  add(filter(LISTEN));
  for (let i = 0; i < size; i++) add(filter(conn(i)));
  // 4096 frames: a random installed connection each, one in 16 a new peer (the listener's).
  let s = 0x9e3779b9;
  const rand = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const frames: Uint8Array[] = [];
  for (let k = 0; k < 4096; k++) {
    const p = rand() < 1 / 16 ? peer(size + 1 + k) : peer(Math.floor(rand() * size));
    frames.push(buildFrame({ src: p.ip, srcPort: p.port, dst: LOCAL, dstPort: PORT, tcpFlags: 0x10, payload: new Uint8Array(32) }));
  }
  // The three agree (the differential test proves it at length; here a sample, naive is slow).
  for (const f of frames.slice(0, 256)) {
    const a = engine.demux(f, f.length);
    if (a === 0 || engine.interpret(f, f.length) !== a || naive.demux(f, f.length) !== a) throw new Error('contenders disagree');
  }
  return { size, engine, naive, frames };
}

type Demux = (f: Uint8Array, len: number) => number;

/** Frames per call batch between clock reads. */
const BATCH = 256;

/** ns per frame (on-CPU and wall) for `fn` over the frame ring. */
function measure(fn: Demux, frames: readonly Uint8Array[]): { cpu: number; wall: number } {
  let sink = 0;
  let k = 0;
  const s = timed(TARGET_MS, BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      const f = frames[k] as Uint8Array;
      sink += fn(f, f.length);
      k = (k + 1) & 4095;
    }
  });
  if (sink === 0) throw new Error('no frame matched');
  return { cpu: s.cpuNs / s.units, wall: s.wallNs / s.units };
}

/** Insert+delete pairs per second (on-CPU and wall) of connection filters into a trie of `background` connections. */
function churn(background: number, full: boolean): { cpu: number; wall: number; compiles: number } {
  const engine = new DpfEngine({ maxFilters: background + 64 });
  const owner = { pid: 100, uid: 100 };
  engine.insert(filter(LISTEN), owner);
  for (let i = 0; i < background; i++) engine.insert(filter(conn(i)), owner);
  const fresh = Array.from({ length: 4096 }, (_, i) => filter(conn(background + 1 + i)));
  const encoded = fresh.map((f) => encodeFilterBinary(f));
  // Warm up: the first insert of a new shape compiles it once.
  engine.remove(engine.insert(fresh[0] as VerifiedFilter, owner));
  const compilesBefore = engine.stats().codegen.compiles;
  let n = 0;
  const step = (): void => {
    for (let i = 0; i < 64; i++) {
      const k = (n + i) & 4095;
      let f: VerifiedFilter;
      if (full) {
        const p = parseFilterBinary(encoded[k] as Uint8Array);
        if (!p.ok) throw new Error(p.reason);
        const v = verify(p.ast);
        if (!v.ok) throw new Error(v.reason);
        f = v.filter;
      } else {
        f = fresh[k] as VerifiedFilter;
      }
      const id = engine.insert(f, owner);
      if (id <= 0 || engine.remove(id) !== 0) throw new Error(`churn failed: ${id}`);
    }
    n += 64;
  };
  timed(TARGET_MS, 64, step); // warm-up, discarded
  const s = timed(TARGET_MS, 64, step);
  return { cpu: s.units / (s.cpuNs / 1e9), wall: s.units / (s.wallNs / 1e9), compiles: engine.stats().codegen.compiles - compilesBefore };
}

function main(): void {
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    date: new Date().toISOString(),
    loadAverage1m: loadavg()[0],
    command: `node dist/bench/dpf/demux.js --rounds ${ROUNDS} --ms ${TARGET_MS} --sizes ${SIZES.join(',')}`,
  };
  console.log(`machine: ${JSON.stringify(machine)}`);
  // Churn first, while the heap is small (the demux setups hold 10^4 filters and frames, and a
  // big heap makes every collection slower); engine-only and full-path runs interleaved.
  const churnRuns: Record<string, number[]> = { engine: [], 'parse+verify+engine': [], engineWall: [], 'parse+verify+engineWall': [] };
  const churnCompiles: number[] = [];
  for (let r = -1; r < ROUNDS; r++) {
    const a = churn(1000, false);
    const b = churn(1000, true);
    if (r < 0) continue;
    churnRuns['engine']?.push(a.cpu);
    churnRuns['parse+verify+engine']?.push(b.cpu);
    churnRuns['engineWall']?.push(a.wall);
    churnRuns['parse+verify+engineWall']?.push(b.wall);
    churnCompiles.push(a.compiles + b.compiles);
  }
  console.log('churn done');
  const setups = SIZES.map(setup);
  const contenders: [string, (s: Setup) => Demux][] = [
    ['compiled', (s) => (f, len) => s.engine.demux(f, len)],
    ['interpreter', (s) => (f, len) => s.engine.interpret(f, len)],
    ['naive', (s) => (f, len) => s.naive.demux(f, len)],
  ];
  const demux: Record<string, Record<string, number[]>> = {};
  const demuxWall: Record<string, Record<string, number[]>> = {};
  // One discarded round first: every contender gets optimized before it is measured.
  for (let r = -1; r < ROUNDS; r++) {
    for (const s of setups) {
      const row = (demux[String(s.size)] ??= {});
      const rowWall = (demuxWall[String(s.size)] ??= {});
      for (const [name, make] of contenders) {
        const m = measure(make(s), s.frames);
        if (r < 0) continue;
        (row[name] ??= []).push(m.cpu);
        (rowWall[name] ??= []).push(m.wall);
      }
    }
    console.log(`round ${r + 1}/${ROUNDS} done`);
  }
  const perRound = (size: string, num: string, den: string): number[] =>
    (demux[size]?.[num] ?? []).map((x, i) => x / (demux[size]?.[den]?.[i] ?? Number.NaN));
  const rows = SIZES.map((size) => {
    const k = String(size);
    const d = demux[k] ?? {};
    return {
      filters: size,
      compiledNs: median(d['compiled'] ?? []),
      interpreterNs: median(d['interpreter'] ?? []),
      naiveNs: median(d['naive'] ?? []),
      compiledWallNs: median(demuxWall[k]?.['compiled'] ?? []),
      naiveOverCompiled: median(perRound(k, 'naive', 'compiled')),
      interpreterOverCompiled: median(perRound(k, 'interpreter', 'compiled')),
    };
  });
  const flat = SIZES.includes(10) && SIZES.includes(10000)
    ? median((demux['10000']?.['compiled'] ?? []).map((x, i) => x / (demux['10']?.['compiled']?.[i] ?? Number.NaN)))
    : Number.NaN;
  const result = {
    machine,
    rounds: ROUNDS,
    targetMsPerMeasurement: TARGET_MS,
    timeBase: 'on-CPU time of the benchmark process (process.cpuUsage); wall-clock figures are in raw and compiledWallNs',
    demux: rows,
    compiled10000Over10: flat,
    churn: {
      background: 1000,
      enginePairsPerCpuSecond: median(churnRuns['engine'] ?? []),
      fullPathPairsPerCpuSecond: median(churnRuns['parse+verify+engine'] ?? []),
      enginePairsPerWallSecond: median(churnRuns['engineWall'] ?? []),
      compilesDuringChurn: churnCompiles.reduce((x, y) => x + y, 0),
    },
    raw: { demuxCpuNsPerFrame: demux, demuxWallNsPerFrame: demuxWall, churnPairsPerSecond: churnRuns },
  };
  const f1 = (x: number): string => x.toFixed(1);
  const md = [
    '# DPF demultiplexing benchmark',
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}, load ${machine.loadAverage1m?.toFixed(2)} (1 min), ${machine.date}.`,
    `Command: \`${machine.command}\`. ${ROUNDS} interleaved rounds, ~${TARGET_MS} ms per measurement; time is the process's on-CPU time (the machine is shared; wall-clock figures are in the JSON); medians, and ratios as medians of per-round ratios.`,
    '',
    'Frames: TCP segments to port 80, each from a random installed connection (1 in 16 from a new peer, claimed by the listener); 4096 distinct frames.',
    '',
    '| connection filters (+ listener) | compiled ns/frame | interpreter ns/frame | naive ns/frame | naive / compiled | interpreter / compiled |',
    '|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.filters} | ${f1(r.compiledNs)} | ${f1(r.interpreterNs)} | ${f1(r.naiveNs)} | ${f1(r.naiveOverCompiled)}× | ${f1(r.interpreterOverCompiled)}× |`),
    '',
    `Compiled cost at 10,000 filters / at 10: **${flat.toFixed(2)}×** (target ≤ 1.5×).`,
    '',
    `Connection filter insert+delete into a trie of ${result.churn.background} connections: **${Math.round(result.churn.enginePairsPerCpuSecond).toLocaleString('en-US')} pairs per CPU-second** (${Math.round(result.churn.enginePairsPerWallSecond).toLocaleString('en-US')} per wall second on this shared machine; engine: normalize, protection check, merge, unit build), ${Math.round(result.churn.fullPathPairsPerCpuSecond).toLocaleString('en-US')} pairs per CPU-second including binary decode and verify. Functions compiled during all churn runs: ${result.churn.compilesDuringChurn}.`,
    '',
  ].join('\n');
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'demux.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(args.out, 'demux.md'), md);
  console.log(md);
}

main();
