import { describe, expect, it } from 'vitest';
import { EINTR, EINVAL, EPERM, ESRCH } from '../abi/errno.js';
import { EPOLLIN, EPOLL_CTL_ADD, TIMESPEC_BYTES } from '../abi/layout.js';
import type { Libc } from '../abi/libc.js';
import { SIGABRT, SIGCHLD, SIGKILL, SIGSTOP, SIGTERM, SIGUSR1, SIGUSR2 } from '../abi/signals.js';
import { Kernel } from '../kernel.js';
import { advanceUntil, runProcess, settle } from '../syscall/test-support.js';
import { VirtualClock } from '../../util/clock.js';

/** A process holding one of everything, then blocked in several calls at once. */
async function busyProcess(sys: Libc): Promise<void> {
  const fds = sys.pipe();
  if (typeof fds === 'number') throw new Error('pipe');
  const ep = sys.epoll_create1(0);
  const ev = sys.malloc(12);
  sys.view.setUint32(ev, EPOLLIN, true);
  sys.epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], ev);
  sys.channel(1, 4);
  sys.dup(fds[1]);
  const buf = sys.malloc(16);
  void sys.read_wait(fds[0], buf, 16, -1);
  void sys.poll(0, 0, 100_000);
  await sys.epoll_wait(ep, buf, 1, -1);
}

describe('signals', () => {
  it('kill checks permissions and existence; sig 0 only checks', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const victim = k.spawn('victim', (sys) => sys.sleep(1e9).then(() => undefined), { uid: 1000 });
    const other = k.spawn('other', (sys) => sys.sleep(1e9).then(() => undefined), { uid: 2000 });
    await settle();
    const seen: number[] = [];
    await runProcess(k, (sys) => {
      seen.push(sys.kill(victim.pid, 0), sys.kill(other.pid, 0), sys.kill(4242, 0), sys.kill(0, SIGTERM), sys.kill(victim.pid, 64), sys.kill(victim.pid, SIGSTOP));
    }, { uid: 1000 });
    expect(seen).toEqual([0, -EPERM, -ESRCH, -ESRCH, -EINVAL, -EINVAL]);
    await runProcess(k, (sys) => {
      seen.push(sys.kill(other.pid, SIGTERM)); // root may signal anyone
    }, { uid: 0 });
    expect((await other.exited)).toMatchObject({ reason: 'signal', signal: SIGTERM });
    k.kill(victim.pid, SIGKILL);
    await victim.exited;
    k.assertNoLeaks();
  });

  it('a handler runs at the return from the next system call; SA_RESETHAND makes it one-shot; ignored and default-ignored signals vanish', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const log: string[] = [];
    const st = await runProcess(k, (sys) => {
      expect(sys.sigaction(SIGUSR1, (s) => log.push(`usr1:${s}`))).toBe(0);
      expect(sys.sigaction(SIGUSR2, () => log.push('usr2'), true)).toBe(0);
      expect(sys.sigaction(SIGTERM, 'ignore')).toBe(0);
      expect(sys.sigaction(SIGKILL, 'ignore')).toBe(-EINVAL);
      const me = sys.getpid();
      log.push('before');
      sys.kill(me, SIGUSR1); // delivered as this call returns
      log.push('after');
      sys.kill(me, SIGTERM);
      sys.kill(me, SIGCHLD);
      sys.kill(me, SIGUSR2);
      log.push('reset');
      sys.kill(me, SIGUSR2); // default action now: terminate
      log.push('not reached');
    });
    expect(log).toEqual(['before', `usr1:${SIGUSR1}`, 'after', 'usr2', 'reset']);
    expect(st).toMatchObject({ reason: 'signal', signal: SIGUSR2 });
    k.assertNoLeaks();
  });

  it('a signal to a blocked process interrupts its waits with EINTR; nanosleep reports the time left', async () => {
    const clock = new VirtualClock();
    const k = new Kernel({ clock });
    const seen: (number | string)[] = [];
    const p = k.spawn('sleeper', async (sys) => {
      sys.sigaction(SIGUSR1, () => seen.push('handled'));
      const req = sys.malloc(TIMESPEC_BYTES);
      const rem = sys.malloc(TIMESPEC_BYTES);
      sys.view.setBigInt64(req, 10n, true); // 10 s
      sys.view.setBigInt64(req + 8, 0n, true);
      seen.push(await sys.nanosleep(req, rem));
      seen.push(Number(sys.view.getBigInt64(rem, true)));
    });
    await settle();
    clock.advance(3000);
    k.kill(p.pid, SIGUSR1);
    await advanceUntil(clock, () => p.alive);
    expect(seen).toEqual(['handled', -EINTR, 7]);
  });

  it('a handler that throws kills only its process; SIGKILL cannot be caught', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const st = await runProcess(k, (sys) => {
      sys.sigaction(SIGUSR1, () => {
        throw new Error('handler bug');
      });
      sys.kill(sys.getpid(), SIGUSR1);
    });
    expect(st).toMatchObject({ reason: 'exception', signal: SIGABRT, error: 'handler bug' });
    const killed = await runProcess(k, (sys) => {
      sys.kill(sys.getpid(), SIGKILL);
    });
    expect(killed).toMatchObject({ reason: 'signal', signal: SIGKILL });
    k.assertNoLeaks();
  });

  it('shutdown: SIGTERM to everyone, then SIGKILL after the grace period for what remains', async () => {
    const clock = new VirtualClock();
    const k = new Kernel({ clock });
    const polite = k.spawn('polite', async (sys) => {
      let stop = false;
      sys.sigaction(SIGTERM, () => {
        stop = true;
      });
      while (!stop) await sys.sleep(10);
      return 3;
    });
    const stubborn = k.spawn('stubborn', async (sys) => {
      sys.sigaction(SIGTERM, 'ignore');
      for (;;) await sys.sleep(10);
    });
    const plain = k.spawn('plain', (sys) => busyProcess(sys));
    await settle();
    let done = false;
    void k.shutdown(1000).then(() => {
      done = true;
    });
    await advanceUntil(clock, () => !done);
    expect(await polite.exited).toMatchObject({ reason: 'return', code: 3 });
    expect(await plain.exited).toMatchObject({ reason: 'signal', signal: SIGTERM });
    expect(await stubborn.exited).toMatchObject({ reason: 'signal', signal: SIGKILL });
    expect(clock.now()).toBeGreaterThanOrEqual(1000);
    k.assertNoLeaks();
  });
});

describe('exit releases everything', () => {
  const cases: [string, (sys: Libc) => Promise<void>, (k: Kernel, pid: number) => void][] = [
    ['return', async (sys) => {
      const fds = sys.pipe();
      sys.channel(0);
      sys.epoll_create1(0);
      if (typeof fds !== 'number') sys.dup(fds[0]);
    }, () => {}],
    ['exit()', async (sys) => {
      void busyProcess(sys);
      await Promise.resolve();
      sys.exit(4);
    }, () => {}],
    ['exception', async (sys) => {
      void busyProcess(sys);
      await Promise.resolve();
      throw new Error('boom');
    }, () => {}],
    ['SIGKILL while blocked', busyProcess, (k, pid) => k.kill(pid, SIGKILL)],
    ['SIGTERM while blocked', busyProcess, (k, pid) => k.kill(pid, SIGTERM)],
  ];
  for (const [how, body, after] of cases) {
    it(`by ${how}: no fds, sleeps, wait-queue entries, epoll registrations or files left`, async () => {
      const k = new Kernel({ clock: new VirtualClock() });
      const p = k.spawn(how, body, { uid: 0 });
      await settle();
      after(k, p.pid);
      await p.exited;
      expect(k.stats().openFiles).toBe(0);
      k.assertNoLeaks(p.pid);
      k.assertNoLeaks();
    });
  }

  it('runs the exit hooks of subsystems, after the descriptors are closed', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const calls: [number, number][] = [];
    const off = k.onProcessExit((p) => calls.push([p.pid, p.fds.count]));
    const p = k.spawn('hooked', (sys) => void sys.pipe());
    await p.exited;
    off();
    await k.spawn('unhooked', () => {}).exited;
    expect(calls).toEqual([[p.pid, 0]]);
  });

  it('a process that keeps running JavaScript after it was killed gets ProcessExit from every call', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const caught: string[] = [];
    const p = k.spawn('zombie', (sys) => {
      sys.kill(sys.getpid(), SIGKILL);
    });
    await p.exited;
    const q = k.spawn('catcher', (sys) => {
      try {
        sys.exit(1);
      } catch (e) {
        caught.push((e as Error).name);
      }
      try {
        sys.getpid();
      } catch (e) {
        caught.push((e as Error).name);
      }
    });
    expect(await q.exited).toMatchObject({ reason: 'exit', code: 1 });
    expect(caught).toEqual(['ProcessExit', 'ProcessExit']);
    k.assertNoLeaks();
  });
});
