/**
 * Connection-filter attach+detach through the real system-call path (the work Cheetah does per
 * accepted and closed connection): `dpf_attach` (trap, thin layer, copy-in, decode, verify,
 * normalize, protection check, merge, unit build, socket hookup) then `dpf_detach`, from a
 * process, on one AF_DPF socket, with Cheetah's own connection filters (src/cheetah/filters.ts:
 * a template with the peer's address and port patched in).
 *
 * Contenders, interleaved in every round after one discarded warm-up round:
 * - `syscall`: the path above, the engine's shape cache on (the default);
 * - `syscall-nocache`: the same with `shapeCache: false` (every attach decodes, verifies,
 *   normalizes and runs the full protection walk);
 * - `engine`: `DpfEngine.insert` + `remove` of an already verified filter (no decode, no verify,
 *   no syscall): the floor the engine alone sets.
 *
 * Each contender has its own kernel, engine and process; every trie holds the card's listener
 * and `--connections` connection filters of the process (Cheetah's situation), plus, with
 * `--foreign`, a UDP filter of another process (so the protection walk cannot prune at the root).
 * Nothing is sent anywhere. On-CPU time of this process (the machine is shared).
 *
 * Run: `npm run build && node dist/bench/dpf/attach.js [--rounds 7] [--ms 300] [--connections 1000] [--addresses 3] [--foreign]`
 * (`--only syscall` runs one contender, e.g. under `node --cpu-prof`; no ratio is reported then).
 */
import { parseArgs } from 'node:util';
import { AF_DPF, SOCK_RAW, type Libc } from '../../src/kernel/abi/index.js';
import { ConnectionFilterTemplate, listenerFilter } from '../../src/cheetah/filters.js';
import { DpfEngine, compileFilter, parseFilterBinary, verify, type VerifiedFilter } from '../../src/kernel/dpf/index.js';
import { fmt, machineHeader, machineInfo, median, runMain, timed, writeResults } from '../lib/common.js';
import { dpfMachine, heldProcess } from './rig.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    ms: { type: 'string', default: '300' },
    connections: { type: 'string', default: '1000' },
    foreign: { type: 'boolean', default: false },
    only: { type: 'string' },
    addresses: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/dpf/results' },
  },
});
const ROUNDS = Number(args.rounds);
const TARGET_MS = Number(args.ms);
const CONNECTIONS = Number(args.connections);
const ADDRESSES = Number(args.addresses);
/** Attach+detach pairs per timed step. */
const STEP = 64;
/** Distinct peers cycled through (never one of the background connections). */
const PEERS = 4096;
const ADDR = 0xc6120002; // 198.18.0.2
const PORT = 80;

/**
 * Peer `i`, as Cheetah patches it into its template. As under bench/http's wrk load: a few
 * client addresses (`--addresses`, default 3), each with many ports.
 */
function peer(i: number): { addr: number; port: number } {
  return { addr: (0x0a000001 + (i % ADDRESSES)) >>> 0, port: 1024 + Math.floor(i / ADDRESSES) };
}

interface Rig {
  readonly engine: DpfEngine;
  readonly sys: Libc;
  readonly fd: number;
  readonly bounce: number;
  readonly pid: number;
  stop(): Promise<void>;
}

async function rig(shapeCache: boolean): Promise<Rig> {
  const engine = new DpfEngine({ maxFilters: CONNECTIONS + 64, filterShapes: shapeCache ? 64 : 0 });
  const m = dpfMachine(ADDR, engine);
  if (args.foreign) {
    const r = compileFilter('udp and dst host 198.18.0.2 and dst port 53', 'pcap');
    if (!r.ok || engine.insert(r.filters[0]!.filter, { pid: 9999, uid: 0 }) <= 0) throw new Error('foreign filter refused');
  }
  const p = await heldProcess(m.kernel, 'cheetah', (sys) => {
    const bounce = sys.malloc(512);
    const listen = listenerFilter(ADDR, PORT);
    sys.mem.set(listen, bounce);
    const lfd = sys.socket(AF_DPF, SOCK_RAW, 0);
    if (sys.call('dpf_attach', lfd, bounce, listen.length) <= 0) throw new Error('listener refused');
    return { fd: sys.socket(AF_DPF, SOCK_RAW, 0), bounce };
  });
  const background = new ConnectionFilterTemplate(ADDR, PORT);
  for (let i = 0; i < CONNECTIONS; i++) {
    const q = peer(PEERS + i);
    const parsed = parseFilterBinary(background.filter(q.addr, q.port));
    const v = parsed.ok ? verify(parsed.ast) : undefined;
    if (v?.ok !== true || engine.insert(v.filter, { pid: p.pid, uid: 0 }) <= 0) throw new Error('background filter refused');
  }
  return { engine, sys: p.sys, fd: p.made.fd, bounce: p.made.bounce, pid: p.pid, stop: () => p.stop() };
}

/** ns per attach+detach pair. */
type Contender = (r: Rig) => number;

const template = new ConnectionFilterTemplate(ADDR, PORT);
let next = 0;

function viaSyscalls(r: Rig): number {
  const s = timed(TARGET_MS, STEP, () => {
    for (let i = 0; i < STEP; i++) {
      const q = peer(next++ & (PEERS - 1));
      const bytes = template.filter(q.addr, q.port);
      r.sys.mem.set(bytes, r.bounce);
      const id = r.sys.call('dpf_attach', r.fd, r.bounce, bytes.length);
      if (id <= 0 || r.sys.call('dpf_detach', r.fd, id) !== 0) throw new Error(`attach/detach failed: ${id}`);
    }
  });
  return s.cpuNs / s.units;
}

const verified: VerifiedFilter[] = Array.from({ length: PEERS }, (_, i) => {
  const q = peer(i);
  const p = parseFilterBinary(template.filter(q.addr, q.port));
  const v = p.ok ? verify(p.ast) : undefined;
  if (v?.ok !== true) throw new Error('template filter refused');
  return v.filter;
});

const CONTENDERS: Record<string, { cache: boolean; run: Contender }> = {
  syscall: { cache: true, run: viaSyscalls },
  'syscall-nocache': { cache: false, run: viaSyscalls },
  engine: {
    cache: true,
    run: (r) => {
      const owner = { pid: r.pid, uid: 0 };
      const s = timed(TARGET_MS, STEP, () => {
        for (let i = 0; i < STEP; i++) {
          const id = r.engine.insert(verified[next++ & (PEERS - 1)]!, owner);
          if (id <= 0 || r.engine.remove(id) !== 0) throw new Error(`insert/remove failed: ${id}`);
        }
      });
      return s.cpuNs / s.units;
    },
  },
};

async function main(): Promise<void> {
  const machine = machineInfo(`${ROUNDS} rounds after a discarded warm-up, ~${TARGET_MS} ms per measurement, contenders interleaved, on-CPU time of the process`);
  const rigs = new Map<string, Rig>();
  const names = Object.keys(CONTENDERS).filter((k) => args.only === undefined || k === args.only);
  if (names.length === 0) throw new Error(`--only: no contender ${args.only}`);
  for (const name of names) rigs.set(name, await rig(CONTENDERS[name]!.cache));
  const ns: Record<string, number[]> = {};
  for (let round = -1; round < ROUNDS; round++) {
    for (const name of names) {
      const x = CONTENDERS[name]!.run(rigs.get(name)!);
      if (round >= 0) (ns[name] ??= []).push(x);
    }
  }
  const stats = Object.fromEntries([...rigs].map(([name, r]) => [name, r.engine.stats()]));
  for (const r of rigs.values()) await r.stop();
  const ratios = names.length === 3 ? ns['syscall-nocache']!.map((x, i) => x / ns['syscall']![i]!) : [];
  const med = (k: string) => median(ns[k]!);
  const md = [
    ...machineHeader('DPF connection filter attach+detach through the system-call path', machine),
    `Trie: the listener + ${CONNECTIONS} connection filters of the process${args.foreign ? ' + a UDP filter of another process' : ''}; Cheetah's connection filter template; ${PEERS} peers cycled (${ADDRESSES} client addresses, many ports each).`,
    '',
    '| contender | µs per attach+detach (median) | pairs per CPU-second | per-round µs |',
    '|---|---:|---:|---|',
    ...names.map((k) => `| ${k} | ${fmt(med(k) / 1000, 2)} | ${fmt(1e9 / med(k))} | ${ns[k]!.map((x) => fmt(x / 1000, 2)).join(', ')} |`),
    '',
    ratios.length > 0 ? `syscall-nocache / syscall: median of per-round ratios ${fmt(median(ratios), 2)}× (rounds: ${ratios.map((x) => fmt(x, 2)).join(', ')}).` : '',
    `Shape cache of the \`syscall\` engine: ${JSON.stringify(stats["syscall"]?.filterShapeCache ?? null)}.`,
    '',
  ].join('\n');
  writeResults(args.out, 'attach', machine, { rounds: ROUNDS, targetMs: TARGET_MS, connections: CONNECTIONS, foreign: args.foreign, ns, ratios, stats }, md);
}

runMain(main);
