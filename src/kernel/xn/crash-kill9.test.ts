/**
 * Process crash at full stack (reliability-methods §3.4 test A): a child OS process runs the
 * kernel and XN on an SQLite disk, with a user process doing a seeded burst of XN system calls
 * and reporting every acknowledged writeback; the child is SIGKILLed — by its own disk controller
 * around the K-th commit, or by the parent when operation K starts — for a sweep of K. After
 * each kill a fresh kernel boots on the file and a user process checks, through the system calls:
 * `xn_init` walked the tree and found no dangling pointer and no doubly-owned block, `xn_fsck`
 * finds no leaked block either, and every acknowledged operation reads back intact.
 *
 * Quick sweep by default; `XN_CRASH_SWEEP=full` sweeps every commit for three seeds.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiskFile, SqliteBlockDevice } from '../../disk/index.js';
import { XN, XN_REPORT_WALKED, XN_REPORT_WAS_CLEAN } from '../abi/xn.js';
import { runXnProcess, xnStack } from './testing/stack.js';
import { applyReport, checkRecovered, type OpReport, type Oracle } from './testing/workload.js';

const dir = mkdtempSync(join(tmpdir(), `xn-kill9-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const child = fileURLToPath(new URL('./testing/crash-child.ts', import.meta.url));
const full = process.env['XN_CRASH_SWEEP'] === 'full';
const OPS = 20;

interface Outcome {
  oracle: Oracle;
  signal: NodeJS.Signals | null;
  fatal: string | null;
}

function runChild(disk: string, seed: number, mode: 'commit' | 'op', k: number): Promise<Outcome> {
  const oracle: Oracle = { acked: new Map(), inflight: null };
  return new Promise((resolve, reject) => {
    const args = [disk, String(seed), String(OPS), ...(mode === 'commit' ? [String(k)] : [])];
    const cp = fork(child, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let fatal: string | null = null;
    let stderr = '';
    cp.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    cp.on('message', (m: OpReport | { fatal: string } | { done: true }) => {
      if ('fatal' in m) fatal = m.fatal;
      else if ('phase' in m) {
        applyReport(oracle, m);
        if (mode === 'op' && m.phase === 'start' && m.op === k) cp.kill('SIGKILL');
      }
    });
    cp.on('error', reject);
    cp.on('exit', (_code, signal) => resolve({ oracle, signal, fatal: fatal ?? (signal === null && _code !== 0 ? stderr.slice(-500) : null) }));
  });
}

async function verify(disk: string, o: Oracle): Promise<void> {
  const dev = await SqliteBlockDevice.open(disk, { poolPages: 1024 });
  try {
    const { kernel } = xnStack(dev, 512);
    const r = await runXnProcess(kernel, 0, async (xc) => ({ init: await xc.init(), fsck: await xc.fsck(), bad: await checkRecovered(xc, o) }));
    expect(r.init.code).toBe(XN.SUCCESS);
    // Unclean: the freemap was rebuilt from the roots (a kill before XN's format was durable formats again).
    expect((r.init.report?.flags ?? 0) & (XN_REPORT_WAS_CLEAN | XN_REPORT_WALKED)).toBe(XN_REPORT_WALKED);
    expect(r.init.report).toMatchObject({ dangling: 0, doublyOwned: 0 });
    expect(r.fsck.report).toMatchObject({ dangling: 0, doublyOwned: 0, leaked: 0 });
    expect(r.bad).toEqual([]);
    kernel.assertNoLeaks();
  } finally {
    await dev.close();
  }
}

const cases: [number, 'commit' | 'op', number][] = [];
if (full) {
  for (const seed of [11, 22, 33]) for (let k = 1; k <= 70; k++) cases.push([seed, 'commit', k]);
  for (const seed of [11, 22, 33]) for (let k = 1; k <= OPS; k++) cases.push([seed, 'op', k]);
} else {
  for (const k of [2, 9, 19, 33]) cases.push([7, 'commit', k]);
  for (const k of [3, 11]) cases.push([7, 'op', k]);
}

describe('XN under kill -9 of the process (SQLite disk)', () => {
  it.each(cases)('seed %i, kill at %s %i: consistent, acknowledged operations intact', async (seed, mode, k) => {
    const disk = join(dir, `d-${seed}-${mode}-${k}.db`);
    formatDiskFile(disk, { blockCount: 1024 });
    const out = await runChild(disk, seed, mode, k);
    expect(out.fatal).toBeNull();
    if (!full) expect(out.signal).toBe('SIGKILL'); // the quick points all fall inside the burst
    await verify(disk, out.oracle);
  });
});
