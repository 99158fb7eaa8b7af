/**
 * The test bench: each test file gets its own network namespace with the real daemon (built
 * `dist/`) running inside it, and clients run inside the same namespace. Teardown always
 * removes the daemon, its TAPs, every process left in the namespace and the namespace itself,
 * even when a test fails (and, as a last resort, when the test process exits).
 *
 * The admin API is reached over a Unix socket in the machine's temp folder, which works across
 * namespaces without sending anything to a network address outside the namespace.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream, existsSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteNetns, ensureNetns, execInNetns, spawnInNetns } from '../../src/netns.js';
import { packageRoot } from '../../src/util/package-root.js';

export interface AdminResponse<T> {
  status: number;
  body: T;
}

export interface TestMachine {
  /** Namespace name. */
  readonly ns: string;
  /** Temp folder holding config.json, admin.sock, daemon.log. */
  readonly dir: string;
  readonly daemon: ChildProcess;
  /** GET (or other method) on the admin API; body parsed as JSON. */
  admin<T = unknown>(path: string, init?: { method?: string; body?: unknown }): Promise<AdminResponse<T>>;
  /** Run a command inside the namespace and collect its output. */
  exec(cmd: string, args: readonly string[], opts?: { timeoutMs?: number; input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Start a long-running command inside the namespace. */
  spawn(cmd: string, args: readonly string[]): ChildProcess;
  /** The daemon's output so far. */
  logs(): string;
  /** SIGTERM the daemon and wait for it; returns its exit code. */
  stop(): Promise<number>;
  /** Stop (if needed), remove the namespace and the temp folder. Idempotent. */
  destroy(): Promise<void>;
}

const live = new Set<string>();
process.on('exit', () => {
  // Last resort if a test process dies without its afterAll: synchronous cleanup.
  for (const ns of live) {
    try {
      execFileSync('sh', ['-c', `ip netns pids ${ns} | xargs -r kill -9; ip netns del ${ns}`], { stdio: 'ignore' });
    } catch {
      // nothing left to do
    }
  }
});

function adminRequest<T>(socketPath: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<AdminResponse<T>> {
  return new Promise((resolve, reject) => {
    const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
    const req = request(
      {
        socketPath,
        path,
        method: init.method ?? 'GET',
        headers: { host: 'localhost', ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep text
          }
          resolve({ status: res.statusCode ?? 0, body: body as T });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export interface StartOptions {
  /** Short name for the namespace (a unique suffix is added). */
  name: string;
  /** Config fields merged over the embedded default. */
  config?: Record<string, unknown>;
  /** Extra environment for the daemon. */
  env?: Record<string, string>;
  /** How long to wait for the admin API (default 30 s). */
  readyTimeoutMs?: number;
}

/** Start the built daemon in a fresh namespace and wait until its admin API answers. */
export async function startTestMachine(opts: StartOptions): Promise<TestMachine> {
  const ns = `exot-${opts.name}-${process.pid}-${Math.floor(Math.random() * 1e6)}`.slice(0, 60);
  const dir = mkdtempSync(join(tmpdir(), `${ns}-`));
  const socketPath = join(dir, 'admin.sock');
  const configPath = join(dir, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify({ log: { level: 'info', pretty: false }, ...opts.config, admin: { port: 8080, ...(opts.config?.['admin'] as object), socketPath } }),
  );
  await ensureNetns(ns);
  live.add(ns);
  const logPath = join(dir, 'daemon.log');
  const logStream = createWriteStream(logPath);
  const main = join(packageRoot(), 'dist', 'src', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} missing: run npm run build first`);
  const daemon = spawnInNetns(ns, process.execPath, [main, '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  daemon.stdout?.pipe(logStream, { end: false });
  daemon.stderr?.pipe(logStream, { end: false });
  let exitCode: number | undefined;
  const exited = new Promise<number>((resolve) =>
    daemon.on('exit', (code, sig) => {
      exitCode = code ?? (sig !== null ? 128 : 1);
      resolve(exitCode);
    }),
  );
  const logs = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');

  let destroyed = false;
  const machine: TestMachine = {
    ns,
    dir,
    daemon,
    admin: (path, init) => adminRequest(socketPath, path, init),
    exec: (cmd, args, o) => execInNetns(ns, cmd, args, o),
    spawn: (cmd, args) => spawnInNetns(ns, cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }),
    logs,
    async stop() {
      if (exitCode !== undefined) return exitCode;
      daemon.kill('SIGTERM');
      const timer = setTimeout(() => daemon.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await machine.stop();
      logStream.end();
      await deleteNetns(ns);
      live.delete(ns);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exitCode !== undefined) {
      const out = logs();
      await machine.destroy();
      throw new Error(`daemon exited with ${exitCode} before it was ready:\n${out}`);
    }
    try {
      const r = await adminRequest<{ status: string }>(socketPath, '/health');
      if (r.status === 200) return machine;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const out = logs();
      await machine.destroy();
      throw new Error(`daemon not ready within ${opts.readyTimeoutMs ?? 30_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
