/**
 * Process crash (reliability-methods §3.4 test A): a child runs a seeded burst of XN operations
 * on an SQLite disk and reports every acknowledged writeback; it is SIGKILLed — by its own disk
 * controller around the K-th commit, or by the parent when operation K starts — for a sweep of
 * K. After each kill, xn_init must report no dangling pointer, no doubly-owned block and no
 * leaked block, and every acknowledged operation must read back intact.
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
import { BufferCache } from '../bcache/index.js';
import { XN } from '../abi/xn.js';
import { applyReport, checkRecovered, type OpReport, type Oracle } from './testing/workload.js';
import { Xn } from './xn.js';

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
    const xn = new Xn(new BufferCache(dev, 512));
    const r = await xn.init();
    expect(r.code).toBe(XN.SUCCESS);
    expect(r.wasClean).toBe(false);
    expect({ dangling: r.fsck?.dangling, doubly: r.fsck?.doublyOwned, problems: r.fsck?.problems.slice(0, 3) }).toEqual({ dangling: 0, doubly: 0, problems: [] });
    const online = await xn.fsck();
    expect([online.dangling, online.doublyOwned, online.leaked]).toEqual([0, 0, 0]);
    expect(await checkRecovered(xn, xn.context(1, 0), o)).toEqual([]);
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
