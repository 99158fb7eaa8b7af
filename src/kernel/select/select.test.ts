import { describe, expect, it } from 'vitest';
import { EBADF, EEXIST, EINTR, EINVAL, ELOOP, ENOENT } from '../abi/errno.js';
import {
  EPOLLET,
  EPOLLIN,
  EPOLLONESHOT,
  EPOLLOUT,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLL_EVENT_BYTES,
  POLLFD_BYTES,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLERR,
  POLLOUT,
  TIMEVAL_BYTES,
} from '../abi/layout.js';
import type { Libc } from '../abi/libc.js';
import { SIGUSR1 } from '../abi/signals.js';
import { Kernel } from '../kernel.js';
import { VirtualClock } from '../../util/clock.js';
import { advanceUntil, runProcess, settle } from '../syscall/test-support.js';
import { KernelFile } from '../proc/file.js';
import { Epoll } from './epoll.js';
import { fdSetBytes } from './select.js';

function pipeOf(sys: Libc): [number, number] {
  const r = sys.pipe();
  if (typeof r === 'number') throw new Error(`pipe: ${r}`);
  return r;
}

function setEvent(sys: Libc, at: number, events: number, data: number): void {
  sys.view.setUint32(at, events >>> 0, true);
  sys.view.setUint32(at + 4, data, true);
  sys.view.setUint32(at + 8, 0, true);
}

/** A process with `n` pipes (2n fds) that makes pipe `ready` readable from a second process after `afterMs`. */
async function withManyPipes(n: number, body: (sys: Libc, readFds: number[]) => Promise<void>): Promise<void> {
  const clock = new VirtualClock();
  const k = new Kernel({ clock });
  let writeFd = -1;
  const readFds: number[] = [];
  const p = k.spawn(
    'many',
    async (sys) => {
      for (let i = 0; i < n; i++) {
        const [r, w] = pipeOf(sys);
        readFds.push(r);
        if (i === n - 1) writeFd = w;
      }
      await body(sys, readFds);
    },
    { fdLimit: 2 * n + 16, memoryBytes: 1 << 20 },
  );
  await settle();
  const writer = k.spawn('writer', async (sys) => {
    await sys.sleep(10);
    const b = sys.malloc(1);
    sys.write(0, b, 1);
  }, { files: [[0, k.fileOf(p, writeFd)!]] });
  await advanceUntil(clock, () => p.alive || writer.alive);
  expect(p.exitStatus).toMatchObject({ reason: 'return' });
  k.assertNoLeaks();
}

describe('poll', () => {
  it('reports the right fd with the right events, POLLNVAL and POLLHUP, and honours the timeout', async () => {
    const clock = new VirtualClock();
    const k = new Kernel({ clock });
    const seen: number[] = [];
    const p = k.spawn('poller', async (sys) => {
      const [r1, w1] = pipeOf(sys);
      const [r2, w2] = pipeOf(sys);
      const fds = sys.malloc(4 * POLLFD_BYTES);
      const set = (i: number, fd: number, ev: number) => {
        sys.view.setInt32(fds + i * 8, fd, true);
        sys.view.setInt16(fds + i * 8 + 4, ev, true);
        sys.view.setInt16(fds + i * 8 + 6, 0x7777, true);
      };
      const rev = (i: number) => sys.view.getInt16(fds + i * 8 + 6, true);
      set(0, r1, POLLIN);
      set(1, r2, POLLIN);
      set(2, 99, POLLIN);
      set(3, -1, POLLIN);
      // Nothing readable but fd 99 is invalid: returns at once with POLLNVAL.
      seen.push(await sys.poll(fds, 4, -1), rev(0), rev(1), rev(2), rev(3));
      set(2, w1, 0);
      set(3, -1, POLLIN);
      seen.push(await sys.poll(fds, 3, 50)); // times out on the virtual clock
      const b = sys.malloc(1);
      const waiting = sys.poll(fds, 2, -1);
      sys.write(w2, b, 1); // makes r2 readable
      seen.push(await waiting, rev(0), rev(1));
      sys.close(w1);
      seen.push(await sys.poll(fds, 1, 0), rev(0));
    });
    await advanceUntil(clock, () => p.alive);
    expect(seen).toEqual([1, 0, 0, POLLNVAL, 0, 0, 1, 0, POLLIN, 1, POLLHUP]);
    k.assertNoLeaks();
  });

  it('handles 5,000 fds with one ready', async () => {
    await withManyPipes(2500, async (sys, readFds) => {
      const n = readFds.length * 2;
      const fds = sys.malloc(n * POLLFD_BYTES);
      for (let i = 0; i < n; i++) {
        sys.view.setInt32(fds + i * 8, i, true);
        sys.view.setInt16(fds + i * 8 + 4, POLLIN, true);
      }
      expect(await sys.poll(fds, n, -1)).toBe(1);
      const last = readFds[readFds.length - 1]!;
      for (let i = 0; i < n; i++) expect(sys.view.getInt16(fds + i * 8 + 6, true)).toBe(i === last ? POLLIN : 0);
    });
  });
});

describe('select', () => {
  it('sets the right bits, fails with EBADF on a closed fd, honours the timeout (NULL sets allowed)', async () => {
    const clock = new VirtualClock();
    const k = new Kernel({ clock });
    const seen: number[] = [];
    const p = k.spawn('selector', async (sys) => {
      const [r, w] = pipeOf(sys);
      const rs = sys.calloc(8);
      const ws = sys.calloc(8);
      const tv = sys.calloc(TIMEVAL_BYTES);
      sys.mem[rs] = 1 << r;
      sys.mem[ws] = 1 << w;
      seen.push(await sys.select(8, rs, ws, 0, tv), sys.mem[rs]!, sys.mem[ws]!); // w writable
      sys.mem[rs] = 1 << r;
      sys.view.setBigInt64(tv + 8, 30_000n, true); // 30 ms
      seen.push(await sys.select(8, rs, 0, 0, tv), sys.mem[rs]!); // timeout
      sys.mem[rs] = (1 << r) | (1 << 7);
      seen.push(await sys.select(8, rs, 0, 0, 0)); // fd 7 is not open
      sys.view.setBigInt64(tv + 8, 1_000_000n, true);
      seen.push(await sys.select(8, rs, 0, 0, tv)); // usec out of range
    });
    await advanceUntil(clock, () => p.alive);
    expect(seen).toEqual([1, 0, 1 << 1, 0, 0, -EBADF, -EINVAL]);
    k.assertNoLeaks();
  });

  it('handles 5,000 fds (sets beyond FD_SETSIZE) with one ready, waking when it becomes ready', async () => {
    await withManyPipes(2500, async (sys, readFds) => {
      const n = readFds.length * 2;
      const bytes = fdSetBytes(n);
      const rs = sys.calloc(bytes);
      for (const fd of readFds) sys.mem[rs + (fd >> 3)]! |= 1 << (fd & 7);
      expect(await sys.select(n, rs, 0, 0, 0)).toBe(1);
      const last = readFds[readFds.length - 1]!;
      for (let fd = 0; fd < n; fd++) expect((sys.mem[rs + (fd >> 3)]! >> (fd & 7)) & 1).toBe(fd === last ? 1 : 0);
    });
  });
});

describe('epoll', () => {
  it('wakes on the right fd; level-triggered keeps reporting, EPOLLET reports once per event, EPOLLONESHOT once until MOD', async () => {
    const clock = new VirtualClock();
    const k = new Kernel({ clock });
    const seen: (number | string)[] = [];
    const p = k.spawn('epoller', async (sys) => {
      const ep = sys.epoll_create1(0);
      const [r1, w1] = pipeOf(sys);
      const [r2, w2] = pipeOf(sys);
      const [r3, w3] = pipeOf(sys);
      const ev = sys.malloc(EPOLL_EVENT_BYTES);
      const out = sys.malloc(8 * EPOLL_EVENT_BYTES);
      setEvent(sys, ev, EPOLLIN, 111);
      seen.push(sys.epoll_ctl(ep, EPOLL_CTL_ADD, r1, ev));
      setEvent(sys, ev, EPOLLIN | EPOLLET, 222);
      seen.push(sys.epoll_ctl(ep, EPOLL_CTL_ADD, r2, ev));
      setEvent(sys, ev, EPOLLIN | EPOLLONESHOT, 333);
      seen.push(sys.epoll_ctl(ep, EPOLL_CTL_ADD, r3, ev));
      seen.push(sys.epoll_ctl(ep, EPOLL_CTL_ADD, r3, ev), sys.epoll_ctl(ep, EPOLL_CTL_MOD, w3, ev), sys.epoll_ctl(ep, EPOLL_CTL_ADD, ep, ev));
      const b = sys.malloc(4);
      const report = async (timeout: number) => {
        const n = await sys.epoll_wait(ep, out, 8, timeout);
        const got: string[] = [];
        for (let i = 0; i < n; i++) got.push(`${sys.view.getUint32(out + i * 12 + 4, true)}:${sys.view.getUint32(out + i * 12, true)}`);
        seen.push(got.sort().join(',') || `n=${n}`);
      };
      await report(0);
      sys.write(w1, b, 1);
      sys.write(w2, b, 1);
      sys.write(w3, b, 1);
      await report(0); // all three
      await report(0); // only the level-triggered one again
      sys.write(w2, b, 1); // a new event for the edge-triggered one
      await report(0);
      setEvent(sys, ev, EPOLLIN | EPOLLONESHOT, 334);
      sys.epoll_ctl(ep, EPOLL_CTL_MOD, r3, ev); // re-arm: still readable
      await report(0);
      sys.read(r1, b, 4);
      seen.push(sys.epoll_ctl(ep, EPOLL_CTL_DEL, r2, 0), sys.epoll_ctl(ep, EPOLL_CTL_DEL, r2, 0));
      await report(20); // nothing left ready: times out
      // A write from the waiting side's point of view happens later: the wait wakes on it.
      const waiting = sys.epoll_wait(ep, out, 8, -1);
      sys.write(w1, b, 1);
      seen.push(await waiting, sys.view.getUint32(out + 4, true));
    });
    await advanceUntil(clock, () => p.alive);
    expect(seen).toEqual([0, 0, 0, -EEXIST, -ENOENT, -EINVAL, 'n=0', `111:${EPOLLIN},222:${EPOLLIN},333:${EPOLLIN}`, `111:${EPOLLIN}`, `111:${EPOLLIN},222:${EPOLLIN}`, `111:${EPOLLIN},334:${EPOLLIN}`, 0, -ENOENT, 'n=0', 1, 111]);
    k.assertNoLeaks();
  });

  it('drops a registration when its file is closed, refuses cycles (ELOOP), and an epoll fd can be watched', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const seen: number[] = [];
    await runProcess(k, async (sys) => {
      const a = sys.epoll_create1(0);
      const b = sys.epoll_create1(0);
      const [r, w] = pipeOf(sys);
      const ev = sys.malloc(EPOLL_EVENT_BYTES);
      const out = sys.malloc(4 * EPOLL_EVENT_BYTES);
      setEvent(sys, ev, EPOLLIN, 5);
      seen.push(sys.epoll_ctl(a, EPOLL_CTL_ADD, r, ev), sys.epoll_ctl(b, EPOLL_CTL_ADD, a, ev), sys.epoll_ctl(a, EPOLL_CTL_ADD, b, ev));
      sys.write(w, sys.malloc(1), 1);
      seen.push(await sys.epoll_wait(b, out, 4, 0)); // b sees a as readable
      sys.close(r);
      seen.push(await sys.epoll_wait(a, out, 4, 0)); // the registration went with the file
      seen.push(sys.epoll_ctl(a, EPOLL_CTL_DEL, r, 0)); // r is closed
      seen.push(sys.epoll_ctl(r, EPOLL_CTL_ADD, w, ev)); // not an epoll fd... r is closed: EBADF
      seen.push(sys.epoll_ctl(w, EPOLL_CTL_ADD, a, ev)); // not an epoll fd
      seen.push(await sys.epoll_wait(a, out, 0, 0));
      setEvent(sys, ev, EPOLLOUT, 6);
      seen.push(sys.epoll_ctl(a, EPOLL_CTL_ADD, w, ev), await sys.epoll_wait(a, out, 4, 0), sys.view.getUint32(out, true));
    });
    expect(seen).toEqual([0, 0, -ELOOP, 1, 0, -EBADF, -EBADF, -EINVAL, -EINVAL, 0, 1, EPOLLOUT | POLLERR]); // no reader left: EPOLLERR too
    k.assertNoLeaks();
  });

  it('handles 5,000 registered fds and wakes for the one that becomes ready', async () => {
    await withManyPipes(2500, async (sys, readFds) => {
      const ep = sys.epoll_create1(0);
      const ev = sys.malloc(EPOLL_EVENT_BYTES);
      for (const fd of readFds) {
        setEvent(sys, ev, EPOLLIN, fd);
        expect(sys.epoll_ctl(ep, EPOLL_CTL_ADD, fd, ev)).toBe(0);
      }
      const out = sys.malloc(16 * EPOLL_EVENT_BYTES);
      expect(await sys.epoll_wait(ep, out, 16, 0)).toBe(0);
      expect(await sys.epoll_wait(ep, out, 16, -1)).toBe(1);
      expect(sys.view.getUint32(out + 4, true)).toBe(readFds[readFds.length - 1]);
    });
  });

  it('an epoll shared with another process outlives its creator and keeps working', async () => {
    const clock = new VirtualClock();
    const k = new Kernel({ clock });
    let ep = -1;
    let r = -1;
    let w = -1;
    const creator = k.spawn('creator', (sys) => {
      ep = sys.epoll_create1(0);
      [r, w] = pipeOf(sys);
      const ev = sys.malloc(EPOLL_EVENT_BYTES);
      setEvent(sys, ev, EPOLLIN, 77);
      sys.epoll_ctl(ep, EPOLL_CTL_ADD, r, ev);
      return new Promise<void>(() => {});
    });
    await settle();
    const seen: number[] = [];
    const user = k.spawn('user', async (sys) => {
      await sys.sleep(5);
      const out = sys.malloc(EPOLL_EVENT_BYTES);
      seen.push(await sys.epoll_wait(0, out, 1, -1), sys.view.getUint32(out + 4, true));
    }, { files: [[0, k.fileOf(creator, ep)!], [1, k.fileOf(creator, r)!]] });
    const writer = k.spawn('writer', async (sys) => {
      await sys.sleep(10);
      sys.write(0, sys.malloc(1), 1);
    }, { files: [[0, k.fileOf(creator, w)!]] });
    await settle();
    k.kill(creator.pid, 9);
    await creator.exited;
    expect(k.checkInvariants()).toEqual([]);
    await advanceUntil(clock, () => user.alive || writer.alive);
    expect(seen).toEqual([1, 77]);
    k.assertNoLeaks();
  });

  it('a wait costs O(ready): with 5,000 registered files and one ready, collecting polls one file', () => {
    class CountingFile extends KernelFile {
      readonly kind = 'counting';
      polls = 0;
      ready = false;
      poll(): number {
        this.polls++;
        return this.ready ? EPOLLIN : 0;
      }
      describe(): Record<string, unknown> {
        return {};
      }
    }
    const ep = new Epoll();
    const files = Array.from({ length: 5000 }, () => new CountingFile());
    files.forEach((f, fd) => expect(ep.ctl(EPOLL_CTL_ADD, fd, f, EPOLLIN, fd, 0)).toBe(0));
    for (const f of files) f.polls = 0;
    const out = new DataView(new ArrayBuffer(16 * EPOLL_EVENT_BYTES));
    expect(ep.collect(out, 0, 16)).toBe(0);
    files[4321]!.ready = true;
    files[4321]!.waitq.wake(EPOLLIN);
    expect(ep.collect(out, 0, 16)).toBe(1);
    expect(out.getUint32(4, true)).toBe(4321);
    expect(files.reduce((n, f) => n + f.polls, 0)).toBe(1);
  });

  it('a signal with a handler interrupts a blocked epoll_wait with EINTR and the handler runs', async () => {
    const clock = new VirtualClock();
    const k = new Kernel({ clock });
    const seen: (number | string)[] = [];
    const p = k.spawn('waiter', async (sys) => {
      sys.sigaction(SIGUSR1, (sig) => seen.push(`handler ${sig}`));
      const ep = sys.epoll_create1(0);
      seen.push(await sys.epoll_wait(ep, sys.malloc(12), 1, -1));
    });
    await settle();
    expect(k.kill(p.pid, SIGUSR1)).toBe(0);
    await advanceUntil(clock, () => p.alive);
    expect(seen).toEqual([`handler ${SIGUSR1}`, -EINTR]);
    k.assertNoLeaks();
  });
});

describe('poll and select wake on the right readiness from another process', () => {
  it('a write from process B wakes process A blocked in select on its read end', async () => {
    const clock = new VirtualClock();
    const k = new Kernel({ clock });
    let w = -1;
    const seen: number[] = [];
    const a = k.spawn('a', async (sys) => {
      const [r, wfd] = pipeOf(sys);
      w = wfd;
      const rs = sys.calloc(8);
      sys.mem[rs] = 1 << r;
      seen.push(await sys.select(r + 1, rs, 0, 0, 0), sys.mem[rs]!);
      const fds = sys.malloc(POLLFD_BYTES);
      sys.view.setInt32(fds, r, true);
      sys.view.setInt16(fds + 4, POLLIN | POLLOUT, true);
      seen.push(await sys.poll(fds, 1, -1), sys.view.getInt16(fds + 6, true));
    });
    await settle();
    const b = k.spawn('b', async (sys) => {
      await sys.sleep(5);
      sys.write(3, sys.malloc(1), 1);
    }, { files: [[3, k.fileOf(a, w)!]] });
    await advanceUntil(clock, () => a.alive || b.alive);
    expect(seen).toEqual([1, 1 << 0, 1, POLLIN]);
    k.assertNoLeaks();
  });
});
