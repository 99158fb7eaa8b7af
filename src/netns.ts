/**
 * Network namespaces through iproute2 (`ip netns`): create/remove, and running a command inside
 * one. Used by `exolinuxd --netns NAME` and by the test bench. Namespaces are named files under
 * /run/netns, so every process (and `ip netns exec`) can reach them by name.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { DaemonError } from './errors.js';

const execFileAsync = promisify(execFile);

const NAME_RE = /^[a-zA-Z0-9_.-]{1,64}$/;

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new DaemonError('NETNS_ERR', `bad network namespace name ${JSON.stringify(name)}`);
}

/** Run `ip ARGS…` and return stdout; failures become NETNS_ERR with ip's message. */
export async function ip(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ip', args, { encoding: 'utf8' });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new DaemonError('NETNS_ERR', `ip ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`, { cause: e });
  }
}

export function netnsExists(name: string): boolean {
  checkName(name);
  return existsSync(`/run/netns/${name}`);
}

/** Create the namespace (with its loopback up) unless it exists; returns true if it was created. */
export async function ensureNetns(name: string): Promise<boolean> {
  checkName(name);
  if (netnsExists(name)) return false;
  await ip(['netns', 'add', name]);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  return true;
}

/** Kill every process still inside the namespace, then remove it. Idempotent. */
export async function deleteNetns(name: string): Promise<void> {
  checkName(name);
  if (!netnsExists(name)) return;
  const pids = (await ip(['netns', 'pids', name]).catch(() => '')).split(/\s+/).filter((p) => /^\d+$/.test(p));
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await ip(['netns', 'del', name]);
}

/** Spawn `cmd args…` inside the namespace (`ip netns exec`). */
export function spawnInNetns(name: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  checkName(name);
  return spawn('ip', ['netns', 'exec', name, cmd, ...args], opts);
}

/** Run `cmd args…` inside the namespace and collect its output (no shell). */
export async function execInNetns(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  checkName(name);
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', name, cmd, ...args], {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer =
      opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('close', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      resolve({ code: code ?? (signal !== null ? 128 : 1), stdout, stderr });
    });
    if (opts.input !== undefined) {
      // The command may exit without reading its input: that is its business, not an error here.
      child.stdin?.on('error', () => {});
      child.stdin?.end(opts.input);
    }
  });
}
