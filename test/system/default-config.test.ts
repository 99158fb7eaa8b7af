/**
 * Issue #2 acceptance "`npm ci && npm start` brings up exo0..exo2": the built daemon started the
 * way `npm start` starts it — `node dist/src/main.js`, no `--config`, no `EXOLINUX_*` variables —
 * so the embedded `config/default.json` decides everything: three TAP cards with their host-side
 * addresses, the admin API over TCP on 127.0.0.1:8080, Cheetah on port 80. It runs with
 * `--netns` in a namespace this test made, so nothing reaches the host's namespace; the admin API
 * is queried with curl from inside it. SIGINT (Ctrl-C, what a user of `npm start` sends) must
 * stop it with status 0 and take its TAPs away, leaving the namespace empty.
 *
 * The namespace exists before the daemon starts, so the daemon does not remove it at exit (that
 * path is `cli.test.ts`'s) and the test can look inside afterwards for leftover cards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NicInfo } from '../../src/admin/routes/core.js';
import { deleteNetns, ensureNetns, execInNetns, ip } from '../../src/netns.js';
import { packageRoot } from '../../src/util/package-root.js';
import { rootSkipReason } from '../support/root.js';

const skip = rootSkipReason();
const ROOT = packageRoot();
const MAIN = join(ROOT, 'dist', 'src', 'main.js');
const DEFAULTS = JSON.parse(readFileSync(join(ROOT, 'config', 'default.json'), 'utf8')) as {
  nics: { name: string; hostAddress: string; machineAddress: string; mac: string; mtuBytes: number }[];
  admin: { host: string; port: number };
};
/** Where the default `disk.path` (`var/exolinux-disk.db`, relative to the package folder) lands. */
const DEFAULT_DISK = join(ROOT, 'var', 'exolinux-disk.db');
const DISK_FILES = ['', '-wal', '-shm', '-journal'].map((s) => DEFAULT_DISK + s);

describe.skipIf(skip !== undefined)('npm start: the embedded default configuration (issue #2)', () => {
  const ns = `exot-default-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'exot-default-'));
  const adminUrl = `http://${DEFAULTS.admin.host}:${DEFAULTS.admin.port}`;
  // The default disk is a file in the package folder. On a clean clone (CI) the daemon creates it
  // there, as `npm start` does, and the test removes it afterwards. When a developer's disk is
  // already there the test never opens it: the one disk setting points into a temp folder.
  const diskWasThere = existsSync(DEFAULT_DISK);
  const varWasThere = existsSync(join(ROOT, 'var'));
  let child: ChildProcess | undefined;
  let exited: Promise<number> | undefined;
  let out = '';

  /** Run curl inside the namespace; the response body and the HTTP status. */
  async function curl(url: string, extra: readonly string[] = []): Promise<{ status: number; body: string; stderr: string }> {
    const r = await execInNetns(ns, 'curl', ['-sS', '--max-time', '5', '-w', '\n%{http_code}', ...extra, url], { timeoutMs: 10_000 });
    const cut = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, Math.max(0, cut)), stderr: r.stderr };
  }

  beforeAll(async () => {
    expect(existsSync(MAIN), `${MAIN} missing: run npm run build first`).toBe(true);
    await ensureNetns(ns);
    // Exactly `npm start`'s environment: the developer's EXOLINUX_* overrides are not inherited.
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('EXOLINUX_')) env[k] = v;
    if (diskWasThere) env['EXOLINUX_DISK__PATH'] = join(dir, 'disk.db');
    const c = spawn(process.execPath, [MAIN, '--netns', ns], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
    exited = new Promise<number>((resolve) => c.on('exit', (code, sig) => resolve(code ?? (sig !== null ? 128 : 1))));
    let code: number | undefined;
    void exited.then((x) => (code = x));
    for (let i = 0; i < 600 && code === undefined && !out.includes('exolinuxd ready'); i++) await new Promise((r) => setTimeout(r, 50));
    if (!out.includes('exolinuxd ready')) throw new Error(`daemon not ready (exit ${String(code)}):\n${out}`);
  });

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await deleteNetns(ns); // kills whatever is still inside
    rmSync(dir, { recursive: true, force: true });
    if (!diskWasThere) for (const f of DISK_FILES) rmSync(f, { force: true });
    if (!varWasThere) {
      try {
        rmdirSync(join(ROOT, 'var'));
      } catch {
        // not empty: something else put a file there; leave it
      }
    }
  });

  it('logs readiness with the three default cards and the admin API on 127.0.0.1:8080 over TCP', () => {
    const line = out.split('\n').find((l) => l.includes('exolinuxd ready'));
    const ready = JSON.parse(line ?? '{}') as { cards?: string[]; admin?: string; backend?: string };
    expect(ready.cards).toEqual(DEFAULTS.nics.map((n) => `${n.name} ${n.machineAddress} (host ${n.hostAddress})`));
    expect(ready.admin).toBe(adminUrl);
    expect(ready.backend).toBe('tap');
    expect(DEFAULTS.nics.map((n) => n.name)).toEqual(['exo0', 'exo1', 'exo2']);
  });

  it('creates exo0..exo2 inside the namespace, up, with the default host-side addresses and MTU', async () => {
    for (const n of DEFAULTS.nics) {
      const link = (await execInNetns(ns, 'ip', ['-o', 'link', 'show', n.name])).stdout;
      expect(link).toMatch(/<[^>]*\bUP\b[^>]*>/);
      expect(link).toContain(`mtu ${n.mtuBytes}`);
      const addr = (await execInNetns(ns, 'ip', ['-o', '-4', 'addr', 'show', n.name])).stdout;
      expect(addr).toContain(`inet ${n.hostAddress}`);
    }
  });

  it('answers /health and /v1/nics over TCP at 127.0.0.1:8080 from inside the namespace', async () => {
    const health = await curl(`${adminUrl}/health`);
    expect(health.status, health.stderr).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', nics: 3 });
    const nics = await curl(`${adminUrl}/v1/nics`);
    expect(nics.status, nics.stderr).toBe(200);
    const list = JSON.parse(nics.body) as NicInfo[];
    expect(list.map(({ name, kind, mac, mtuBytes, hostAddress, machineAddress }) => ({ name, kind, mac, mtuBytes, hostAddress, machineAddress }))).toEqual(
      DEFAULTS.nics.map((n) => ({ name: n.name, kind: 'tap', mac: n.mac, mtuBytes: n.mtuBytes, hostAddress: n.hostAddress, machineAddress: n.machineAddress })),
    );
  });

  it('answers ping on every card, and Cheetah serves the site on port 80', async () => {
    for (const n of DEFAULTS.nics) {
      const r = await execInNetns(ns, 'ping', ['-c', '1', '-W', '2', n.machineAddress], { timeoutMs: 10_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    // Cheetah claims port 80 shortly after boot; until then the kernel refuses with RST.
    const page = join(dir, 'index.html');
    let got = { status: 0, body: '', stderr: '' };
    for (let i = 0; i < 60 && got.status !== 200; i++) {
      got = await curl(`http://${DEFAULTS.nics[1]!.machineAddress}/index.html`, ['-o', page]);
      if (got.status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(got.status, got.stderr).toBe(200);
    expect(readFileSync(page).equals(readFileSync(join(ROOT, 'site', 'www', 'index.html')))).toBe(true);
  });

  it('stops on SIGINT with status 0, its TAPs gone and nothing left in the namespace', async () => {
    child!.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited!, new Promise<string>((r) => (timer = setTimeout(() => r('still running 30 s after SIGINT'), 30_000)))]);
    clearTimeout(timer);
    expect(code, out.slice(-4000)).toBe(0);
    expect(out).toMatch(/"sig":"SIGINT"[^\n]*"msg":"shutting down"/);
    const links = (await execInNetns(ns, 'ip', ['-o', 'link', 'show'])).stdout;
    for (const n of DEFAULTS.nics) expect(links).not.toContain(`${n.name}:`);
    expect((await ip(['netns', 'pids', ns])).trim()).toBe('');
    expect(existsSync(`/run/netns/${ns}`)).toBe(true); // the daemon did not create it, so it keeps it
  });
});
