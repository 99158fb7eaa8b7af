/**
 * A network namespace owned by one test file: made with a unique name (pid + counter), every
 * command that touches it runs inside it, and `dispose()` (also run at process exit as a last
 * resort) deletes it, which removes every interface inside.
 */
import { execFileSync } from 'node:child_process';

let counter = 0;
const live = new Set<string>();
process.on('exit', () => {
  for (const name of live) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
});

export class TestNetns {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** Create `exo-<tag>-<pid>-<n>`. */
  static create(tag: string): TestNetns {
    const name = `exo-${tag}-${process.pid}-${++counter}`;
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
    live.add(name);
    const ns = new TestNetns(name);
    ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  /** `ip -n NS …`; returns stdout, throws with stderr on failure. */
  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.name, ...args], { stdio: 'pipe', encoding: 'utf8' });
  }

  /** Run a command inside the namespace; returns stdout, throws with stderr on failure. */
  exec(cmd: string, ...args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', encoding: 'utf8' });
  }

  /** True if interface `ifname` exists in the namespace. */
  hasLink(ifname: string): boolean {
    try {
      this.ip('link', 'show', 'dev', ifname);
      return true;
    } catch {
      return false;
    }
  }

  dispose(): void {
    if (!live.delete(this.name)) return;
    execFileSync('ip', ['netns', 'del', this.name], { stdio: 'pipe' });
  }
}
