/**
 * Shared by the Cheetah system tests (test/system/cheetah-*.test.ts): the sample site's files
 * and hashes, tool checks that skip outside CI and fail in CI, and reading Cheetah's admin view.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../src/util/package-root.js';
import { IN_CI, rootSkipReason } from '../support/root.js';
import type { TestMachine } from '../support/machine.js';

export const WWW = join(packageRoot(), 'site', 'www');

/** Every file of the sample site: URL path → bytes. */
export function siteFiles(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string): void => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(`/${relative(WWW, p).split('\\').join('/')}`, readFileSync(p));
    }
  };
  walk(WWW);
  return out;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Why a suite needing root and `tools` cannot run here, or undefined. In CI (`CI=true`) a missing
 * tool is an error, never a skip.
 */
export function skipReason(...tools: string[]): string | undefined {
  const root = rootSkipReason();
  if (root !== undefined) return root;
  const missing = tools.filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return undefined;
  if (IN_CI) throw new Error(`CI=true but ${missing.join(', ')} missing: .ci/run installs them`);
  return `needs ${missing.join(', ')}: skipped`;
}

/** `GET /v1/cheetah`, failing the test when Cheetah is not running. */
export async function cheetahStatus(m: TestMachine): Promise<CheetahStatusBody> {
  const r = await m.admin<CheetahStatusBody>('/v1/cheetah');
  if (r.status !== 200 || !r.body.running) throw new Error(`Cheetah is not running: ${JSON.stringify(r.body)}\n${m.logs().slice(-4000)}`);
  return r.body;
}

/** The parts of `GET /v1/cheetah` the system tests read. */
export interface CheetahStatusBody {
  running: boolean;
  pid: number;
  connections: { open: number; accepted: number; closed: number; timeWait: number; closedByReason: Record<string, number> };
  requests: { total: number; byStatus: Record<string, number> };
  retransmissions: { segments: number; timeouts: number; fastRetransmits: number };
  drops: Record<string, number>;
  dpf: { filters: number; connectionFilters: number; listenerFilters: number; sockets: number; pooledSockets: number; fallbacks: number };
  io: { framesReceived: number; framesSent: number; bouncedFrames: number; sendErrors: Record<string, number>; recvErrors: Record<string, number> };
  memory: { heapInUseBytes: number };
}

/** Poll until `cond(status)` holds (30 s at most). */
export async function waitForCheetah(m: TestMachine, cond: (s: CheetahStatusBody) => boolean, timeoutMs = 30_000): Promise<CheetahStatusBody> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await cheetahStatus(m);
    if (cond(s)) return s;
    if (Date.now() > end) throw new Error(`Cheetah did not reach the expected state: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Parse wrk's text report. */
export function wrkReport(out: string): { requests: number; socketErrors: number; non2xx: number } {
  const req = /(\d+) requests in/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (req === null) throw new Error(`no wrk report:\n${out}`);
  return {
    requests: Number(req[1]),
    socketErrors: sock === null ? 0 : Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
  };
}
