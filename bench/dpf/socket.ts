/**
 * AF_DPF receive-path benchmark (issue 4, item 7): cost per frame from `netif_rx` through the
 * DPF demultiplexer into a socket's queue and out to the process by `dpf_recvbatch` (the real
 * system-call path: trap, thin layer, copy), against, in the same run:
 *
 * - `demux`: the demultiplexer alone, a direct call (what DPF itself costs per frame);
 * - `icmp-echo`: the conventional path answering a ping (netif_rx → inet → reply → card);
 * - `dpf-recv`: the DPF path with one `dpf_recv` per frame instead of batches.
 *
 * The trie holds the measured socket's UDP filter and N TCP connection filters of another owner
 * (inserted straight into the engine; no frame of the run matches them), so demux walks a
 * realistic trie. The card is a sink that only counts what is sent (no TAP: kernel-side CPU
 * only). Nothing is sent anywhere.
 *
 * Method (../../shared/BENCHMARKING.md): contenders interleaved in every round after one
 * discarded warm-up round, medians and medians of per-round ratios, on-CPU time of this process
 * (the machine is shared; wall-clock figures are in the JSON).
 *
 * Run: `npm run build && node dist/bench/dpf/socket.js [--rounds 7] [--ms 200] [--batch 32] [--connections 100]`
 */
import { parseArgs } from 'node:util';
import { AF_DPF, SOCK_RAW, type Libc } from '../../src/kernel/abi/index.js';
import { DpfEngine, compileFilter } from '../../src/kernel/dpf/index.js';
import type { NetStack } from '../../src/kernel/net/dev.js';
import { icmpEchoFrame, ip4, mac, udpFrame, type L3 } from '../../test/support/frames.js';
import { fmt, machineHeader, machineInfo, median, runMain, timed, writeResults } from '../lib/common.js';
import { type SinkCard, dpfMachine, heldProcess } from './rig.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    ms: { type: 'string', default: '200' },
    batch: { type: 'string', default: '32' },
    connections: { type: 'string', default: '100' },
    out: { type: 'string', default: 'bench/dpf/results' },
  },
});
const ROUNDS = Number(args.rounds);
const TARGET_MS = Number(args.ms);
const BATCH = Number(args.batch);
const CONNECTIONS = Number(args.connections);
const RING_BYTES = 256 * 1024;

const HOST: L3 = { src: mac('0a:00:00:00:00:01'), dst: mac('02:65:78:00:00:02'), srcIp: ip4('198.18.0.1'), dstIp: ip4('198.18.0.2') };

interface Rig {
  readonly engine: DpfEngine;
  readonly net: NetStack;
  readonly card: SinkCard;
  readonly sys: Libc;
  readonly fd: number;
  readonly ring: number;
  stop(): Promise<void>;
}

function binary(source: string): Uint8Array {
  const r = compileFilter(source, 'pcap');
  if (!r.ok) throw new Error(r.reason);
  return r.filters[0]!.binary;
}

async function rig(): Promise<Rig> {
  const engine = new DpfEngine({ maxFilters: CONNECTIONS + 16 });
  const m = dpfMachine(HOST.dstIp, engine, { frames: 4 * BATCH, bytes: RING_BYTES });
  for (let i = 0; i < CONNECTIONS; i++) {
    const r = compileFilter(`tcp and src host 10.0.${i >> 8}.${i & 255} and src port ${1024 + i} and dst host 198.18.0.2 and dst port 80`, 'pcap');
    if (!r.ok || engine.insert(r.filters[0]!.filter, { pid: 9999, uid: 0 }) <= 0) throw new Error('background filter refused');
  }
  const p = await heldProcess(m.kernel, 'rx', (sys) => {
    const fd = sys.socket(AF_DPF, SOCK_RAW, 0);
    const f = binary('udp and dst host 198.18.0.2 and dst port 7');
    const ptr = sys.malloc(f.length);
    sys.mem.set(f, ptr);
    if (sys.call('dpf_attach', fd, ptr, f.length) <= 0) throw new Error('attach refused');
    return { fd, ring: sys.malloc(RING_BYTES) };
  });
  return { engine, net: m.net, card: m.card, sys: p.sys, fd: p.made.fd, ring: p.made.ring, stop: () => p.stop() };
}

/** Per-frame costs of one contender's run. */
interface Sample {
  cpuNs: number;
  wallNs: number;
  frames: number;
}

/** Run `step` (which handles `per` frames) for about TARGET_MS; costs per frame. */
function perFrame(per: number, step: () => void): Sample {
  const s = timed(TARGET_MS, per, step);
  return { cpuNs: s.cpuNs / s.units, wallNs: s.wallNs / s.units, frames: s.units };
}

type Contender = (r: Rig, frames: readonly Uint8Array[], echo: Uint8Array) => Sample;

const CONTENDERS: Record<string, Contender> = {
  demux: (r, frames) => {
    let k = 0;
    let sink = 0;
    const s = perFrame(BATCH, () => {
      for (let i = 0; i < BATCH; i++) {
        const f = frames[k]!;
        sink += r.engine.demux(f, f.length);
        k = (k + 1) % frames.length;
      }
    });
    if (sink === 0) throw new Error('demux: nothing matched');
    return s;
  },
  'dpf-batch': (r, frames) => {
    const iface = r.net.ifaces[0]!;
    let k = 0;
    return perFrame(BATCH, () => {
      for (let i = 0; i < BATCH; i++) {
        r.net.netif_rx(iface, frames[k]!);
        k = (k + 1) % frames.length;
      }
      const n = r.sys.call('dpf_recvbatch', r.fd, r.ring, RING_BYTES, 0);
      if (n !== BATCH) throw new Error(`dpf_recvbatch: ${n}, expected ${BATCH}`);
    });
  },
  'dpf-recv': (r, frames) => {
    const iface = r.net.ifaces[0]!;
    let k = 0;
    return perFrame(BATCH, () => {
      for (let i = 0; i < BATCH; i++) {
        const f = frames[k]!;
        r.net.netif_rx(iface, f);
        if (r.sys.call('dpf_recv', r.fd, r.ring, RING_BYTES, 0) !== f.length) throw new Error('dpf_recv: wrong length');
        k = (k + 1) % frames.length;
      }
    });
  },
  'icmp-echo': (r, _frames, echo) => {
    const iface = r.net.ifaces[0]!;
    const before = r.card.txFrames;
    const s = perFrame(BATCH, () => {
      for (let i = 0; i < BATCH; i++) r.net.netif_rx(iface, echo);
    });
    if (r.card.txFrames - before !== s.frames) throw new Error('icmp-echo: not every ping was answered');
    return s;
  },
};

async function main(): Promise<void> {
  const machine = machineInfo(`${ROUNDS} rounds after a discarded warm-up, ~${TARGET_MS} ms per measurement, contenders interleaved, on-CPU time of the process`);
  const r = await rig();
  const sizes = [64, 1472];
  const echo = icmpEchoFrame(HOST, 1, 1, new Uint8Array(56));
  const raw: Record<string, Record<string, { cpu: number[]; wall: number[] }>> = {};
  for (const payload of sizes) {
    // 64 distinct datagrams (ports and contents vary) of this size.
    const frames = Array.from({ length: 64 }, (_, i) => udpFrame(HOST, 1024 + i, 7, new Uint8Array(payload).fill(i)));
    const row: Record<string, { cpu: number[]; wall: number[] }> = {};
    for (let round = -1; round < ROUNDS; round++) {
      for (const [name, run] of Object.entries(CONTENDERS)) {
        const s = run(r, frames, echo);
        if (round < 0) continue;
        const e = (row[name] ??= { cpu: [], wall: [] });
        e.cpu.push(s.cpuNs);
        e.wall.push(s.wallNs);
      }
    }
    raw[String(payload + 42)] = row;
    console.error(`frames of ${payload + 42} bytes done`);
  }
  await r.stop();

  const ratio = (row: Record<string, { cpu: number[] }>, a: string, b: string) => median(row[a]!.cpu.map((x, i) => x / row[b]!.cpu[i]!));
  const added = (row: Record<string, { cpu: number[] }>) => median(row['dpf-batch']!.cpu.map((x, i) => x - row['demux']!.cpu[i]!));
  const rows = Object.entries(raw).map(([bytes, row]) => ({
    frameBytes: Number(bytes),
    ns: Object.fromEntries(Object.entries(row).map(([k, v]) => [k, median(v.cpu)])),
    framesPerSecond: Object.fromEntries(Object.entries(row).map(([k, v]) => [k, 1e9 / median(v.cpu)])),
    addedNsOverDemux: added(row),
    batchOverDemux: ratio(row, 'dpf-batch', 'demux'),
    batchOverIcmpEcho: ratio(row, 'dpf-batch', 'icmp-echo'),
    recvOverBatch: ratio(row, 'dpf-recv', 'dpf-batch'),
  }));
  const md = [
    ...machineHeader('AF_DPF receive path', machine),
    `Trie: the socket's UDP filter + ${CONNECTIONS} TCP connection filters; batches of ${BATCH} frames; ICMP echo request of 98 bytes.`,
    '',
    '| frame bytes | demux ns | dpf-batch ns (frames/s) | added by the socket path ns | dpf-batch / demux | dpf-recv ns | dpf-recv / dpf-batch | icmp-echo ns | dpf-batch / icmp-echo |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (x) =>
        `| ${x.frameBytes} | ${fmt(x.ns['demux']!, 1)} | ${fmt(x.ns['dpf-batch']!, 1)} (${fmt(x.framesPerSecond['dpf-batch']!)}) | ${fmt(x.addedNsOverDemux, 1)} | ${fmt(x.batchOverDemux, 2)}× | ${fmt(x.ns['dpf-recv']!, 1)} | ${fmt(x.recvOverBatch, 2)}× | ${fmt(x.ns['icmp-echo']!, 1)} | ${fmt(x.batchOverIcmpEcho, 2)}× |`,
    ),
    '',
  ].join('\n');
  writeResults(args.out, 'socket', machine, { rounds: ROUNDS, targetMs: TARGET_MS, batch: BATCH, connections: CONNECTIONS, rows, raw }, md);
}

runMain(main);
