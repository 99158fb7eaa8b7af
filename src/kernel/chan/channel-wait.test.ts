/**
 * Channels fit select (thesis §2.3.4): a process blocked in `select`, `poll` or `epoll_wait` on a
 * channel descriptor — record and byte mode — sleeps until *kernel code* posts an event (here
 * from a timer on the kernel clock, as a disk completion would), wakes at that moment with only
 * the channel reported readable, reads exactly the events posted, and finds the channel quiet
 * again. A timeout that ends before the event returns 0. A wait that is never woken fails the
 * test (the virtual clock gives up after 10 s).
 */
import { describe, expect, it } from 'vitest';
import {
  CHAN_MODE_BYTE,
  CHAN_MODE_RECORD,
  CHAN_REC_BYTES,
  CHAN_REC_OFF_BLOCK,
  CHAN_REC_OFF_DEVICE,
  CHAN_REC_OFF_FLAGS,
  CHAN_REC_OFF_REQUEST_ID,
  CHAN_REC_OFF_STATUS,
  CHAN_REC_OVERFLOW,
  EPOLLIN,
  EPOLL_CTL_ADD,
  EPOLL_EVENT_BYTES,
  EPOLL_EVENT_OFF_DATA,
  EPOLL_EVENT_OFF_EVENTS,
  POLLFD_BYTES,
  POLLFD_OFF_EVENTS,
  POLLFD_OFF_FD,
  POLLFD_OFF_REVENTS,
  POLLIN,
  TIMEVAL_BYTES,
  TIMEVAL_OFF_SEC,
  TIMEVAL_OFF_USEC,
} from '../abi/layout.js';
import type { Libc } from '../abi/libc.js';
import { Kernel } from '../kernel.js';
import { VirtualClock } from '../../util/clock.js';
import { advanceUntil, settle } from '../syscall/test-support.js';

type How = 'select' | 'poll' | 'epoll_wait';

/** What one wait reported: its return value and, per reported fd, the events (select: POLLIN for "in the read set"). */
interface Report {
  n: number;
  ready: [fd: number, events: number][];
}

/** Set up waiting for readability on `fds` with `how`; the returned function waits once. */
function waiter(sys: Libc, how: How, fds: readonly number[]): (timeoutMs: number) => Promise<Report> {
  if (how === 'select') {
    const nfds = Math.max(...fds) + 1;
    const set = sys.calloc(8);
    const tv = sys.calloc(TIMEVAL_BYTES);
    return async (timeoutMs) => {
      sys.mem.fill(0, set, set + 8);
      for (const fd of fds) sys.mem[set + (fd >> 3)]! |= 1 << (fd & 7);
      sys.view.setBigInt64(tv + TIMEVAL_OFF_SEC, BigInt(Math.floor(timeoutMs / 1000)), true);
      sys.view.setBigInt64(tv + TIMEVAL_OFF_USEC, BigInt((timeoutMs % 1000) * 1000), true);
      const n = await sys.select(nfds, set, 0, 0, timeoutMs < 0 ? 0 : tv);
      const ready: Report['ready'] = [];
      for (let fd = 0; fd < nfds; fd++) if (((sys.mem[set + (fd >> 3)]! >> (fd & 7)) & 1) !== 0) ready.push([fd, POLLIN]);
      return { n, ready };
    };
  }
  if (how === 'poll') {
    const arr = sys.malloc(fds.length * POLLFD_BYTES);
    return async (timeoutMs) => {
      fds.forEach((fd, i) => {
        sys.view.setInt32(arr + i * POLLFD_BYTES + POLLFD_OFF_FD, fd, true);
        sys.view.setInt16(arr + i * POLLFD_BYTES + POLLFD_OFF_EVENTS, POLLIN, true);
        sys.view.setInt16(arr + i * POLLFD_BYTES + POLLFD_OFF_REVENTS, -1, true);
      });
      const n = await sys.poll(arr, fds.length, timeoutMs);
      const ready: Report['ready'] = [];
      fds.forEach((fd, i) => {
        const rev = sys.view.getInt16(arr + i * POLLFD_BYTES + POLLFD_OFF_REVENTS, true);
        if (rev !== 0) ready.push([fd, rev]);
      });
      return { n, ready };
    };
  }
  const ep = sys.epoll_create1(0);
  const ev = sys.malloc(EPOLL_EVENT_BYTES);
  for (const fd of fds) {
    sys.view.setUint32(ev + EPOLL_EVENT_OFF_EVENTS, EPOLLIN, true);
    sys.view.setUint32(ev + EPOLL_EVENT_OFF_DATA, fd, true);
    if (sys.epoll_ctl(ep, EPOLL_CTL_ADD, fd, ev) !== 0) throw new Error('epoll_ctl failed');
  }
  const out = sys.malloc(8 * EPOLL_EVENT_BYTES);
  return async (timeoutMs) => {
    const n = await sys.epoll_wait(ep, out, 8, timeoutMs);
    const ready: Report['ready'] = [];
    for (let i = 0; i < n; i++) {
      const at = out + i * EPOLL_EVENT_BYTES;
      ready.push([sys.view.getUint32(at + EPOLL_EVENT_OFF_DATA, true), sys.view.getUint32(at + EPOLL_EVENT_OFF_EVENTS, true)]);
    }
    return { n, ready };
  };
}

/** Read everything readable on a channel: records as [id, device, block, status, flags], or the byte values. */
function drain(sys: Libc, fd: number, mode: number): number[][] | number[] {
  const buf = sys.malloc(8 * CHAN_REC_BYTES);
  const n = sys.read(fd, buf, 8 * CHAN_REC_BYTES);
  if (n < 0) return [n];
  if (mode === CHAN_MODE_BYTE) return [...sys.bytes(buf, n)];
  const recs: number[][] = [];
  for (let at = buf; at < buf + n; at += CHAN_REC_BYTES) {
    const v = sys.view;
    recs.push([
      v.getUint32(at + CHAN_REC_OFF_REQUEST_ID, true),
      v.getUint32(at + CHAN_REC_OFF_DEVICE, true),
      Number(v.getBigUint64(at + CHAN_REC_OFF_BLOCK, true)),
      v.getInt32(at + CHAN_REC_OFF_STATUS, true),
      v.getUint32(at + CHAN_REC_OFF_FLAGS, true),
    ]);
  }
  return recs;
}

const MODES = [
  { name: 'record', mode: CHAN_MODE_RECORD },
  { name: 'byte', mode: CHAN_MODE_BYTE },
] as const;
const HOWS: How[] = ['select', 'poll', 'epoll_wait'];

describe('waiting on a channel: woken by an event posted from kernel code', () => {
  for (const { name, mode } of MODES) {
    for (const how of HOWS) {
      it(`${how} on a ${name}-mode channel blocks until the kernel posts, reports only the channel, and the read drains it`, async () => {
        const clock = new VirtualClock();
        const k = new Kernel({ clock });
        let chanFd = -1;
        const seen: unknown[] = [];
        const p = k.spawn('waiter', async (sys) => {
          // A channel (of two records in record mode), next to a pipe that never becomes readable.
          chanFd = sys.channel(mode, mode === CHAN_MODE_RECORD ? 2 : 0);
          if (chanFd < 0) throw new Error(`channel: ${chanFd}`);
          const pipe = sys.pipe();
          if (typeof pipe === 'number') throw new Error(`pipe: ${pipe}`);
          const wait = waiter(sys, how, [pipe[0], chanFd]);
          const expectedEvents = how === 'epoll_wait' ? EPOLLIN : POLLIN;
          const note = async (label: string, timeoutMs: number) => {
            const r = await wait(timeoutMs);
            seen.push([label, r.n, clock.now(), r.ready.map(([fd, ev]) => [fd === chanFd ? 'chan' : fd, ev === expectedEvents])]);
          };
          await note('timeout before the event', 10);
          await note('first event', -1);
          seen.push(['read', drain(sys, chanFd, mode)]);
          await note('quiet after the read', 0);
          await note('three events at once', -1);
          seen.push(['read', drain(sys, chanFd, mode)]);
          await note('quiet again', 0);
        });
        await settle();
        const chan = k.asChannel(k.fileOf(p, chanFd)!)!;
        // Kernel code (a timer on the kernel clock, as a completion): one event at t = 40 ms, then
        // three at t = 60 ms — one more than a record channel of two holds, so it folds.
        clock.setTimer(40, () => k.channelNotify(chan, 77, 3, 2 ** 33 + 5, -5));
        clock.setTimer(60, () => {
          for (const id of [78, 79, 80]) k.channelNotify(chan, id, 4, id, 0);
        });
        await advanceUntil(clock, () => p.alive);
        expect(p.exitStatus).toMatchObject({ reason: 'return', error: null });
        const reads =
          mode === CHAN_MODE_RECORD
            ? [
                [[77, 3, 2 ** 33 + 5, -5, 0]],
                [
                  [78, 4, 78, 0, 0],
                  [79, 4, 79, 0, 0],
                  [0, 0, 0, 1, CHAN_REC_OVERFLOW], // the third event, folded: counted, not lost
                ],
              ]
            : [[1], [1, 1, 1]];
        expect(seen).toEqual([
          ['timeout before the event', 0, 10, []],
          ['first event', 1, 40, [['chan', true]]],
          ['read', reads[0]],
          ['quiet after the read', 0, 40, []],
          ['three events at once', 1, 60, [['chan', true]]],
          ['read', reads[1]],
          ['quiet again', 0, 60, []],
        ]);
        k.assertNoLeaks();
      });
    }
  }
});
