/**
 * bench/vfs: how the docroot reads the host, and what its calls cost (docs/vfs.md, "I/O policy").
 *
 * The question: host I/O must not stall the event loop the network path runs on. Does it pay to
 * read synchronously (cheaper per call) or must it go through libuv's thread pool? Each case runs
 * its contenders interleaved A B A B … for ≥ 5 rounds (../shared/BENCHMARKING.md), with a
 * **ticker** on the event loop (a setImmediate chain standing in for the network path) whose
 * longest gaps say how long the loop was unavailable:
 *
 * - `host read <size>` (warm page cache), `host read 1 MiB cold` (the file's cache dropped with
 *   `dd iflag=nocache count=0` before each read, outside the timing), `open+fstat+close`:
 *   sync (`fs.*Sync`, the ticker runs between calls) against async (callback API, thread pool);
 * - `docroot open+fstat+close`: the docroot's calls from a process (containment walk, /proc
 *   check, the system-call boundary) against the same three host calls made async without them;
 * - `read 1 MiB via the kernel`: one pread64, pread64 in 4 KiB calls, and read/read_wait in
 *   4 KiB calls (the read-ahead window).
 *
 * Run: npm run build && node dist/bench/vfs/run.js [--rounds 7] [--out bench/vfs/results]
 * Writes <out>/vfs-<date>.json (every raw round) and .md (medians and per-round ratios).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, fstat, fstatSync, mkdirSync, mkdtempSync, open, openSync, read, readSync, rmSync, writeFileSync, close } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EAGAIN } from '../../src/kernel/abi/errno.js';
import { STAT_BYTES } from '../../src/kernel/abi/layout.js';
import type { Libc } from '../../src/kernel/abi/libc.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { Docroot } from '../../src/kernel/vfs/docroot.js';
import { machineHeader, machineInfo, markdownTable, median } from '../lib/common.js';

const args = process.argv.slice(2);
const ROUNDS = Math.max(5, Number(args[args.indexOf('--rounds') + 1] ?? 7) || 7);
const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1]! : 'bench/vfs/results';

const nowNs = (): number => Number(process.hrtime.bigint());
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One measurement: ns per operation and the event-loop gaps seen meanwhile (µs). */
interface Sample {
  nsPerOp: number;
  gapP99Us: number;
  gapMaxUs: number;
}

/** Run `body` with a ticker on the event loop; returns the time per op and the ticker's gaps. */
async function measured(ops: number, body: () => Promise<void>): Promise<Sample> {
  const gaps: number[] = [];
  let running = true;
  let last = nowNs();
  const tick = (): void => {
    const t = nowNs();
    gaps.push(t - last);
    last = t;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  await turn();
  const t0 = nowNs();
  await body();
  const elapsed = nowNs() - t0;
  running = false;
  await turn();
  gaps.sort((a, b) => a - b);
  return {
    nsPerOp: elapsed / ops,
    gapP99Us: (gaps[Math.floor(gaps.length * 0.99)] ?? 0) / 1000,
    gapMaxUs: (gaps[gaps.length - 1] ?? 0) / 1000,
  };
}

function readAsync(fd: number, buf: Uint8Array, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

function statAsync(path: string): Promise<void> {
  return new Promise((resolve, reject) =>
    open(path, 'r', (err, fd) => {
      if (err) return reject(err);
      fstat(fd, (err2) => close(fd, (err3) => (err2 ?? err3 ? reject(err2 ?? err3) : resolve())));
    }),
  );
}

function dropCache(file: string): void {
  execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
}

interface Case {
  name: string;
  contenders: string[];
  run(contender: string): Promise<Sample>;
}

/** Run `body` in a process of a fresh kernel with the docroot mounted. */
async function inProcess<T>(root: string, body: (sys: Libc) => Promise<T>): Promise<T> {
  const k = new Kernel({ traceEntries: 0 });
  const d = Docroot.mount(k, { dir: root });
  let out: T | undefined;
  const p = k.spawn('bench', async (sys) => {
    out = await body(sys);
  }, { memoryBytes: 8 << 20 });
  const st = await p.exited;
  if (st.reason !== 'return') throw new Error(`bench process: ${st.reason} ${st.error ?? ''}`);
  await d.idle();
  return out as T;
}

function cases(root: string): Case[] {
  const files = join(root, 'files');
  const buf = new Uint8Array(1 << 20);
  const hostRead = (size: number, ops: number): Case => ({
    name: `host read ${size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`} (warm)`,
    contenders: ['sync', 'async'],
    run: async (c) => {
      const fd = openSync(join(files, `${size}.bin`), 'r');
      try {
        return await measured(ops, async () => {
          for (let i = 0; i < ops; i++) {
            if (c === 'sync') {
              readSync(fd, buf, 0, size, 0);
              await turn();
            } else {
              await readAsync(fd, buf, size, 0);
            }
          }
        });
      } finally {
        closeSync(fd);
      }
    },
  });
  const cold: Case = {
    name: 'host read 1 MiB (cold: page cache dropped)',
    contenders: ['sync', 'async'],
    run: async (c) => {
      const file = join(files, `${1 << 20}.bin`);
      const fd = openSync(file, 'r');
      const ops = 8;
      let total: Sample = { nsPerOp: 0, gapP99Us: 0, gapMaxUs: 0 };
      try {
        for (let i = 0; i < ops; i++) {
          dropCache(file);
          const s = await measured(1, async () => {
            if (c === 'sync') {
              readSync(fd, buf, 0, 1 << 20, 0);
              await turn();
            } else {
              await readAsync(fd, buf, 1 << 20, 0);
            }
          });
          total = { nsPerOp: total.nsPerOp + s.nsPerOp / ops, gapP99Us: Math.max(total.gapP99Us, s.gapP99Us), gapMaxUs: Math.max(total.gapMaxUs, s.gapMaxUs) };
        }
      } finally {
        closeSync(fd);
      }
      return total;
    },
  };
  const meta: Case = {
    name: 'open+fstat+close (host)',
    contenders: ['sync', 'async'],
    run: async (c) => {
      const file = join(files, '1024.bin');
      const ops = 2000;
      return measured(ops, async () => {
        for (let i = 0; i < ops; i++) {
          if (c === 'sync') {
            const fd = openSync(file, 'r');
            fstatSync(fd);
            closeSync(fd);
            await turn();
          } else {
            await statAsync(file);
          }
        }
      });
    },
  };
  const docrootStat: Case = {
    name: 'open+fstat+close of /a/b/1k.bin',
    contenders: ['docroot syscalls', 'host async, no containment'],
    run: async (c) => {
      const ops = 1000;
      if (c !== 'docroot syscalls') return measured(ops, async () => {
        for (let i = 0; i < ops; i++) await statAsync(join(root, 'a', 'b', '1k.bin'));
      });
      return inProcess(root, async (sys) => {
        const path = sys.cstring('/a/b/1k.bin');
        const st = sys.malloc(STAT_BYTES);
        return measured(ops, async () => {
          for (let i = 0; i < ops; i++) {
            const fd = await sys.call('open', path, 0, 0);
            if (fd < 0 || (await sys.call('fstat', fd, st)) !== 0) throw new Error(`open/fstat: ${fd}`);
            sys.close(fd);
          }
        });
      });
    },
  };
  const viaKernel: Case = {
    name: 'read 1 MiB via the kernel',
    contenders: ['pread64 ×1', 'pread64 4 KiB', 'read/read_wait 4 KiB'],
    run: (c) =>
      inProcess(root, async (sys) => {
        const path = sys.cstring(`/files/${1 << 20}.bin`);
        const mem = sys.malloc(1 << 20);
        const ops = 20;
        return measured(ops, async () => {
          for (let i = 0; i < ops; i++) {
            const fd = await sys.call('open', path, 0, 0);
            let got = 0;
            if (c === 'pread64 ×1') got = await sys.call('pread64', fd, mem, 1 << 20, 0);
            else if (c === 'pread64 4 KiB') {
              for (let n = 1; n > 0; got += n) n = await sys.call('pread64', fd, mem + got, 4096, got);
            } else {
              for (;;) {
                let n = sys.read(fd, mem + got, 4096);
                if (n === -EAGAIN) n = await sys.read_wait(fd, mem + got, 4096, -1);
                if (n <= 0) break;
                got += n;
              }
            }
            if (got !== 1 << 20) throw new Error(`${c}: read ${got}`);
            sys.close(fd);
          }
        });
      }),
  };
  return [hostRead(1024, 3000), hostRead(64 * 1024, 1000), hostRead(1 << 20, 100), cold, meta, docrootStat, viaKernel];
}

function setUp(): string {
  const base = mkdtempSync(join(tmpdir(), `exo-vfs-bench-${process.pid}-`));
  const root = join(base, 'www');
  mkdirSync(join(root, 'files'), { recursive: true });
  mkdirSync(join(root, 'a', 'b'), { recursive: true });
  for (const n of [1024, 64 * 1024, 1 << 20]) writeFileSync(join(root, 'files', `${n}.bin`), Buffer.alloc(n, 0x5a));
  writeFileSync(join(root, 'a', 'b', '1k.bin'), Buffer.alloc(1024, 0x61));
  return root;
}

async function main(): Promise<void> {
  const root = setUp();
  const results: { name: string; contenders: string[]; rounds: Record<string, Sample>[] }[] = [];
  try {
    for (const c of cases(root)) {
      const rounds: Record<string, Sample>[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const round: Record<string, Sample> = {};
        for (const who of c.contenders) round[who] = await c.run(who);
        rounds.push(round);
      }
      results.push({ name: c.name, contenders: c.contenders, rounds });
      process.stderr.write(`${c.name}: done\n`);
    }
  } finally {
    rmSync(join(root, '..'), { recursive: true, force: true });
  }
  const load = loadavg().map((x) => x.toFixed(2));
  const info = machineInfo(
    `${ROUNDS} rounds, contenders interleaved; medians over rounds; ratio = time per op ÷ the case's first contender, per round; load average ${load.join(' ')}`,
  );
  const machine = { ...info, loadavg: load.join(' ') };
  const rows: (string | number)[][] = [];
  for (const res of results) {
    const base = res.contenders[0]!;
    for (const who of res.contenders) {
      const per = (f: (s: Sample) => number) => median(res.rounds.map((r) => f(r[who]!)));
      const ratios = res.rounds.map((r) => r[who]!.nsPerOp / r[base]!.nsPerOp);
      rows.push([
        res.name,
        who,
        Number((per((s) => s.nsPerOp) / 1000).toFixed(1)),
        Number(median(ratios).toFixed(2)),
        ratios.map((x) => x.toFixed(2)).join(' '),
        Number(per((s) => s.gapP99Us).toFixed(0)),
        Number(per((s) => s.gapMaxUs).toFixed(0)),
      ]);
    }
  }
  const md = [
    ...machineHeader('bench/vfs', info),
    'Event-loop gaps: a setImmediate ticker runs throughout; p99 and max of the intervals between its ticks (how long the loop, i.e. the network path, was unavailable).',
    '',
    markdownTable(['case', 'contender', 'µs/op', 'ratio (median)', 'per-round ratios', 'loop gap p99 µs', 'loop gap max µs'], rows),
    '',
  ].join('\n');
  mkdirSync(OUT, { recursive: true });
  const stamp = info.date.replace(/[:T]/g, '-').slice(0, 19);
  writeFileSync(join(OUT, `vfs-${stamp}.json`), `${JSON.stringify({ machine, rounds: ROUNDS, results }, null, 1)}\n`);
  writeFileSync(join(OUT, `vfs-${stamp}.md`), md);
  console.log(JSON.stringify({ machine, results: rows }));
  console.log(md);
}

await main();
