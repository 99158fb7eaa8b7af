/**
 * The `exolinuxd` command line: usage, exit codes, and `--netns NAME` (create the namespace, run
 * inside it, remove it at exit).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteNetns, execInNetns } from '../../src/netns.js';
import { packageRoot } from '../../src/util/package-root.js';
import { rootSkipReason } from '../support/root.js';

const MAIN = join(packageRoot(), 'dist', 'src', 'main.js');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

describe('exolinuxd command line', () => {
  it('--help prints usage and exits 0; a bad flag exits 2', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: exolinuxd');
    const bad = await run(['--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('usage: exolinuxd');
  });

  it('an invalid configuration exits 2 with every problem named', async () => {
    const r = await run([], { EXOLINUX_ADMIN__PORT: '"eighty"', EXOLINUX_NICS__0__MTU_BYTES: '10' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CONFIG_ERR_INVALID');
    expect(r.stderr).toContain('/admin/port');
    expect(r.stderr).toContain('/nics/0/mtuBytes');
  });
});

const skip = rootSkipReason();

describe.skipIf(skip !== undefined)('exolinuxd --netns', () => {
  const ns = `exot-cli-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'exot-cli-'));
  afterAll(async () => {
    await deleteNetns(ns);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the namespace, runs its cards inside it, and removes it at exit', async () => {
    const sock = join(dir, 'admin.sock');
    const child = spawn(process.execPath, [MAIN, '--netns', ns], {
      env: { ...process.env, EXOLINUX_ADMIN__SOCKET_PATH: sock, EXOLINUX_LOG__PRETTY: 'false', EXOLINUX_DISK__PATH: join(dir, 'disk.db') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    for (let i = 0; i < 300 && !out.includes('exolinuxd ready'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('exolinuxd ready');
    expect(existsSync(`/run/netns/${ns}`)).toBe(true);
    // The cards live in the namespace, not in the root namespace.
    expect((await execInNetns(ns, 'ip', ['-br', 'link'])).stdout).toMatch(/exo0/);
    const health = await new Promise<number>((resolve, reject) =>
      request({ socketPath: sock, path: '/health', headers: { host: 'localhost' } }, (res) => resolve(res.statusCode ?? 0))
        .on('error', reject)
        .end(),
    );
    expect(health).toBe(200);
    const ping = await execInNetns(ns, 'ping', ['-c', '1', '-W', '2', '198.18.2.2'], { timeoutMs: 10_000 });
    expect(ping.code).toBe(0);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(`/run/netns/${ns}`)).toBe(false);
  });
});
