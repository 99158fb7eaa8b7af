/**
 * bench/syscall: what the kernel boundary costs.
 *
 * Each case is measured two ways in the same run, interleaved A B A B for ≥ 5 rounds
 * (../shared/BENCHMARKING.md):
 * - **boundary**: a process calls through `sys` → trap → compiled thin layer → thick layer
 *   (blocking calls return a Promise, which the process awaits);
 * - **direct**: the same thick-layer operation called as a plain function from kernel code with
 *   the same memory (no trap, no checks, no Promise).
 * The difference is the overhead the boundary adds. Trivial calls are also measured with the
 * process's trace ring on.
 *
 * Cases: a trivial call (getpid); a 1,500-byte read from a pipe (each iteration first refills
 * the pipe with a direct kernel write, identical in both columns); select, poll and epoll_wait
 * over 1, 100 and 5,000 descriptors of which one is ready.
 *
 * Run: npm run build && node dist/bench/syscall/run.js [--rounds 7] [--out bench/syscall/results]
 * (`BENCH_ONLY=<text>` runs only the cases whose name contains it.)
 * Writes <out>/syscall-<date>.json (every raw round) and .md (medians and per-round ratios).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { EPOLLIN, EPOLL_CTL_ADD, EPOLL_EVENT_BYTES, POLLFD_BYTES, POLLIN } from '../../src/kernel/abi/layout.js';
import type { Libc } from '../../src/kernel/abi/libc.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/proc/process.js';
import { Epoll } from '../../src/kernel/select/epoll.js';
import { doPoll } from '../../src/kernel/select/poll.js';
import { doSelect, fdSetBytes } from '../../src/kernel/select/select.js';
import { ScanScratch } from '../../src/kernel/select/wait-scan.js';

interface Case {
  name: string;
  /** Per-op nanoseconds of each contender, measured by `run(contender, iterations)`. */
  contenders: string[];
  iterations: number;
  run(contender: string, iterations: number): Promise<number>;
}

const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf('--rounds') + 1] ?? 7) || 7;
const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1]! : 'bench/syscall/results';
const SIZES = [1, 100, 5000];

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Run `body` inside a process of a fresh kernel; resolves with what `body` returns, plus the kernel and process. */
async function inProcess<T>(opts: { traceEntries: number; fdLimit: number; traceTiming?: boolean }, body: (sys: Libc, k: Kernel, p: () => Process) => Promise<T>): Promise<T> {
  const k = new Kernel({ traceEntries: opts.traceEntries });
  let proc: Process | undefined;
  let result!: T;
  proc = k.spawn('bench', async (sys) => {
    result = await body(sys, k, () => proc!);
  }, { uid: 0, fdLimit: opts.fdLimit, memoryBytes: 8 << 20, traceTiming: opts.traceTiming ?? true });
  const st = await proc.exited;
  if (st.reason !== 'return') throw new Error(`bench process ended by ${st.reason}: ${st.error ?? ''}`);
  return result;
}

function pipes(sys: Libc, n: number): { r: number[]; w: number[] } {
  const r: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < n; i++) {
    const fds = sys.pipe();
    if (typeof fds === 'number') throw new Error(`pipe: ${fds}`);
    r.push(fds[0]);
    w.push(fds[1]);
  }
  return { r, w };
}

const trivial: Case = {
  name: 'getpid (trivial call)',
  contenders: ['boundary', 'boundary+trace', 'boundary+trace-untimed', 'direct'],
  iterations: 2_000_000,
  run: (c, n) =>
    inProcess({ traceEntries: c.startsWith('boundary+trace') ? 256 : 0, traceTiming: c === 'boundary+trace', fdLimit: 16 }, async (sys, _k, p) => {
      const proc = p();
      let sink = 0;
      const direct = (q: Process) => q.pid;
      const t0 = nowNs();
      if (c === 'direct') for (let i = 0; i < n; i++) sink += direct(proc);
      else for (let i = 0; i < n; i++) sink += sys.getpid();
      const dt = nowNs() - t0;
      if (sink === 0) throw new Error('unreachable');
      return dt / n;
    }),
};

const pipeRead: Case = {
  name: 'read 1,500 B from a pipe',
  contenders: ['boundary', 'direct'],
  iterations: 300_000,
  run: (c, n) =>
    inProcess({ traceEntries: 0, fdLimit: 16 }, async (sys, _k, p) => {
      const proc = p();
      const { r, w } = pipes(sys, 1);
      const src = sys.malloc(1500);
      const dst = sys.malloc(1500);
      const rf = proc.fds.get(r[0]!)!;
      const wf = proc.fds.get(w[0]!)!;
      const t0 = nowNs();
      if (c === 'direct') {
        for (let i = 0; i < n; i++) {
          wf.write(proc.mem, src, 1500);
          if (rf.read(proc.mem, dst, 1500) !== 1500) throw new Error('short read');
        }
      } else {
        for (let i = 0; i < n; i++) {
          wf.write(proc.mem, src, 1500);
          if (sys.read(r[0]!, dst, 1500) !== 1500) throw new Error('short read');
        }
      }
      return (nowNs() - t0) / n;
    }),
};

function waitCase(kind: 'select' | 'poll' | 'epoll_wait', size: number): Case {
  return {
    name: `${kind} over ${size} fd${size === 1 ? '' : 's'}, one ready`,
    contenders: ['boundary', 'direct'],
    // select and poll cost O(n) per call; epoll_wait O(ready), so it needs as many iterations at
    // 5,000 fds as at 1 for a round to last long enough to time (400 × ~0.5 µs was noise).
    iterations: kind === 'epoll_wait' || size === 1 ? 200_000 : size >= 5000 ? 400 : 20_000,
    run: (c, n) =>
      inProcess({ traceEntries: 0, fdLimit: 2 * size + 16 }, async (sys, k, p) => {
        const proc = p();
        const { r, w } = pipes(sys, size);
        const one = sys.malloc(1);
        sys.write(w[size - 1]!, one, 1); // the last pipe stays readable
        const maxFd = Math.max(...r) + 1;
        const scratch = new ScanScratch();
        let op: () => number | Promise<number>;
        if (kind === 'select') {
          const bytes = fdSetBytes(maxFd);
          const model = new Uint8Array(bytes);
          for (const fd of r) model[fd >> 3]! |= 1 << (fd & 7);
          const set = sys.malloc(bytes);
          // select overwrites its set: restore it before every call (same cost in both columns).
          op =
            c === 'direct'
              ? () => {
                  sys.mem.set(model, set);
                  return doSelect(proc, k.clock, scratch, maxFd, set, 0, 0, null) as number;
                }
              : () => {
                  sys.mem.set(model, set);
                  return sys.select(maxFd, set, 0, 0, 0);
                };
        } else if (kind === 'poll') {
          const fds = sys.malloc(size * POLLFD_BYTES);
          r.forEach((fd, i) => {
            sys.view.setInt32(fds + i * POLLFD_BYTES, fd, true);
            sys.view.setInt16(fds + i * POLLFD_BYTES + 4, POLLIN, true);
          });
          op = c === 'direct' ? () => doPoll(proc, k.clock, scratch, fds, size, -1) as number : () => sys.poll(fds, size, -1);
        } else {
          const ep = sys.epoll_create1(0);
          const ev = sys.malloc(EPOLL_EVENT_BYTES);
          for (const fd of r) {
            sys.view.setUint32(ev, EPOLLIN, true);
            sys.view.setUint32(ev + 4, fd, true);
            if (sys.epoll_ctl(ep, EPOLL_CTL_ADD, fd, ev) !== 0) throw new Error('epoll_ctl');
          }
          const out = sys.malloc(16 * EPOLL_EVENT_BYTES);
          const epf = proc.fds.get(ep) as Epoll;
          op = c === 'direct' ? () => epf.collect(proc.dv, out, 16) : () => sys.epoll_wait(ep, out, 16, -1);
        }
        const t0 = nowNs();
        for (let i = 0; i < n; i++) {
          const got = op();
          if ((typeof got === 'number' ? got : await got) !== 1) throw new Error(`${kind}: expected one ready fd`);
        }
        return (nowNs() - t0) / n;
      }),
  };
}

const ONLY = process.env['BENCH_ONLY'];
const ALL: Case[] = [trivial, pipeRead, ...(['select', 'poll', 'epoll_wait'] as const).flatMap((kind) => SIZES.map((s) => waitCase(kind, s)))];
const CASES = ONLY === undefined ? ALL : ALL.filter((c) => c.name.includes(ONLY));

interface Result {
  case: string;
  iterations: number;
  rounds: Record<string, number[]>;
  medianNs: Record<string, number>;
  /** Per-round ratio boundary / direct, and its median. */
  ratios: number[];
  medianRatio: number;
  overheadNs: number;
}

async function main(): Promise<void> {
  const loadStart = loadavg()[0] ?? 0;
  const results: Result[] = [];
  for (const c of CASES) {
    // Warm-up (JIT), not recorded.
    for (const who of c.contenders) await c.run(who, Math.max(1, Math.floor(c.iterations / 10)));
    const rounds: Record<string, number[]> = Object.fromEntries(c.contenders.map((x) => [x, []]));
    for (let round = 0; round < ROUNDS; round++) for (const who of c.contenders) rounds[who]!.push(await c.run(who, c.iterations));
    const ratios = rounds['boundary']!.map((b, i) => b / rounds['direct']![i]!);
    const medianNs = Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)]));
    results.push({ case: c.name, iterations: c.iterations, rounds, medianNs, ratios, medianRatio: median(ratios), overheadNs: medianNs['boundary']! - medianNs['direct']! });
    const r = results[results.length - 1]!;
    console.log(`${c.name}: ${Object.entries(r.medianNs).map(([k, v]) => `${k} ${v.toFixed(1)} ns`).join(', ')}; ratio ${r.medianRatio.toFixed(2)}`);
  }
  const machine = {
    cpu: cpus()[0]?.model ?? '?',
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    date: new Date().toISOString(),
    /** 1-minute load average at the start and end: the machine is shared, so say how busy it was. */
    load: [loadStart, loadavg()[0] ?? 0],
    command: `node dist/bench/syscall/run.js --rounds ${ROUNDS}`,
  };
  mkdirSync(OUT, { recursive: true });
  const stamp = machine.date.slice(0, 19).replace(/[:T]/g, '-');
  writeFileSync(join(OUT, `syscall-${stamp}.json`), JSON.stringify({ machine, rounds: ROUNDS, results }, null, 2));
  const md = [
    `# bench/syscall — ${machine.date}`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}; load average ${machine.load.map((l) => l.toFixed(1)).join(' → ')} (shared machine). Command: \`${machine.command}\`.`,
    `Medians of ${ROUNDS} interleaved rounds, nanoseconds per operation; ratio = median of per-round boundary/direct.`,
    '',
    '| case | boundary | + trace | + trace, untimed | direct | overhead | ratio (per-round min–max) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...results.map((r) => {
      const t = r.medianNs['boundary+trace'];
      const u = r.medianNs['boundary+trace-untimed'];
      return `| ${r.case} | ${r.medianNs['boundary']!.toFixed(1)} | ${t === undefined ? '' : t.toFixed(1)} | ${u === undefined ? '' : u.toFixed(1)} | ${r.medianNs['direct']!.toFixed(1)} | ${r.overheadNs.toFixed(1)} | ${r.medianRatio.toFixed(2)} (${Math.min(...r.ratios).toFixed(2)}–${Math.max(...r.ratios).toFixed(2)}) |`;
    }),
    '',
  ].join('\n');
  writeFileSync(join(OUT, `syscall-${stamp}.md`), md);
  console.log(`\n${md}`);
}

await main();
