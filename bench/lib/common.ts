/**
 * What every benchmark shares (method: ../shared/BENCHMARKING.md): namespaces made and always
 * deleted, child processes that do not block the event loop (the system under test may run on
 * it), whole-machine CPU accounting, medians, the machine's description, and results written as
 * JSON with every run plus markdown.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';

/** Run a command to completion, synchronously (setup only). */
export function sh(...argv: string[]): void {
  execFileSync(argv[0]!, argv.slice(1), { stdio: 'pipe' });
}

/** Run a command without blocking the event loop; resolves with its output. */
export function run(argv: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Network namespaces made by one benchmark run, named with its pid; `deleteAll` at the end (also on SIGINT). */
export class BenchNamespaces {
  readonly #made: string[] = [];
  readonly #onExit: (() => Promise<void>)[] = [];

  constructor() {
    process.once('SIGINT', () => void this.deleteAll().then(() => process.exit(130)));
  }

  /** Create `exo-bench-<tag>-<pid>` with lo up. */
  add(tag: string): string {
    const ns = `exo-bench-${tag}-${process.pid}`;
    sh('ip', 'netns', 'add', ns);
    this.#made.push(ns);
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  /** Run `fn` (e.g. closing cards) before the namespaces go. */
  beforeDelete(fn: () => Promise<void>): void {
    this.#onExit.push(fn);
  }

  async deleteAll(): Promise<void> {
    for (const fn of this.#onExit.splice(0)) await fn();
    for (const ns of this.#made.splice(0)) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  }

  /** A veth pair from `a` (address `addrA`/24) into `b` (`addrB`/24), both up. */
  veth(a: string, ifA: string, addrA: string, b: string, ifB: string, addrB: string): void {
    sh('ip', '-n', a, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', b);
    sh('ip', '-n', a, 'addr', 'add', `${addrA}/24`, 'dev', ifA);
    sh('ip', '-n', b, 'addr', 'add', `${addrB}/24`, 'dev', ifB);
    sh('ip', '-n', a, 'link', 'set', ifA, 'up');
    sh('ip', '-n', b, 'link', 'set', ifB, 'up');
  }
}

/** Busy jiffies of the whole machine (all cores) from /proc/stat. */
export function busyJiffies(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return fields.reduce((a, b) => a + b, 0) - idle;
}

/** Microseconds per jiffy. */
export const JIFFY_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface MachineInfo {
  commit: string;
  cores: number;
  cpu: string;
  kernel: string;
  node: string;
  date: string;
  command: string;
  method: string;
}

export function machineInfo(method: string): MachineInfo {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  return {
    commit,
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    kernel: release(),
    node: process.version,
    date: new Date().toISOString(),
    command: `node ${process.argv.slice(1).join(' ')}`,
    method,
  };
}

/** `x` with thousands separators and `digits` decimals. */
export function fmt(x: number, digits = 0): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Write `<dir>/<name>-<date>.{json,md}` and print the markdown. */
export function writeResults(dir: string, name: string, machine: MachineInfo, json: object, markdown: string): void {
  mkdirSync(dir, { recursive: true });
  const stamp = machine.date.replace(/[:.]/g, '-');
  writeFileSync(join(dir, `${name}-${stamp}.json`), JSON.stringify({ machine, ...json }, null, 2) + '\n');
  writeFileSync(join(dir, `${name}-${stamp}.md`), markdown);
  process.stdout.write(markdown);
}

/** The markdown header every result starts with. */
export function machineHeader(title: string, m: MachineInfo): string[] {
  return [
    `# ${title} — ${m.date}`,
    '',
    `Machine: ${m.cores} cores (${m.cpu}), Linux ${m.kernel}, Node ${m.node}, commit ${m.commit}.`,
    `Method: ${m.method}. Command: \`${m.command}\`.`,
    '',
  ];
}

/** Run a benchmark's main; a failure is printed and sets the exit code (namespaces are already gone). */
export function runMain(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}

/** Render rows as a markdown table. */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>): string {
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(fmt).join(' | ')} |`),
  ].join('\n');
}

/** A timed run: units of work done, wall-clock and on-CPU time of this process (ns). */
export interface TimedSample {
  readonly units: number;
  readonly wallNs: number;
  readonly cpuNs: number;
}

/** Run `step` (which does `perStep` units of work) repeatedly for about `targetMs`. */
export function timed(targetMs: number, perStep: number, step: () => void): TimedSample {
  let units = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(targetMs) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    step();
    units += perStep;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpu0);
  return { units, wallNs: Number(now - start), cpuNs: (cpu.user + cpu.system) * 1000 };
}
