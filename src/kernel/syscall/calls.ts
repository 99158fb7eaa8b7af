/**
 * The kernel's own system calls: the glue between the thin layer's validated arguments and the
 * thick layer (file operations, select/poll/epoll, channels, signals). Each entry reads what
 * the declaration did not already check, calls kernel objects, and writes results to ranges the
 * thin layer validated — only on success.
 */
import { EAFNOSUPPORT, EAGAIN, EBADF, EFAULT, EINTR, EINVAL, EMFILE, EOPNOTSUPP, EPERM, EPIPE, ESOCKTNOSUPPORT } from '../abi/errno.js';
import {
  AF_PACKET,
  CHAN_MODE_BYTE,
  CHAN_MODE_RECORD,
  CLOCK_MONOTONIC,
  CLOCK_REALTIME,
  EPOLL_CLOEXEC,
  EPOLL_CTL_DEL,
  EPOLL_EVENT_BYTES,
  EPOLL_EVENT_OFF_DATA,
  EPOLL_EVENT_OFF_EVENTS,
  FIONREAD,
  IOVEC_BYTES,
  MSGHDR_OFF_IOV,
  MSGHDR_OFF_IOVLEN,
  MSGHDR_OFF_NAME,
  MSGHDR_OFF_NAMELEN,
  O_CLOEXEC,
  O_NONBLOCK,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  SA_RESETHAND,
  SIGACTION_OFF_FLAGS,
  SIGACTION_OFF_HANDLER,
  SIGACTION_OFF_MASK,
  SIGSET_BYTES,
  SIG_DFL,
  SIG_IGN,
  SOCK_PACKET,
  SOCK_RAW,
  SSIZE_MAX,
  TIMESPEC_OFF_NSEC,
  TIMESPEC_OFF_SEC,
  UIO_MAXIOV,
} from '../abi/layout.js';
import { SIGKILL, SIGPIPE, SIGSTOP, SIG_MAX, signalDefault } from '../abi/signals.js';
import { CHAN_DEFAULT_RECORDS, CHAN_MAX_RECORDS, Channel } from '../chan/channel.js';
import type { Clock } from '../../util/clock.js';
import type { KernelFile, OpenFiles } from '../proc/file.js';
import { PacketSocket, type DeviceLookup } from '../net/packet-socket.js';
import { Pipe } from '../proc/pipe.js';
import type { ExitStatus, Process } from '../proc/process.js';
import { INTERRUPTED, Sleep, TIMED_OUT } from '../proc/wait.js';
import { Epoll } from '../select/epoll.js';
import { doPoll } from '../select/poll.js';
import { doSelect } from '../select/select.js';
import { ScanScratch, deadlineOf } from '../select/wait-scan.js';
import type { SyscallImpls } from './types.js';
import { copyIn, importIovec } from './usercopy.js';
import { rangeOk } from './thin.js';

/** Creates the file of a socket family's `socket()` call, or returns -errno. */
export type SocketFactory = (p: Process, type: number, protocol: number) => KernelFile | number;

/** What the calls need from the kernel. */
export interface SyscallServices {
  readonly clock: Clock;
  readonly files: OpenFiles;
  readonly lookupDevice: DeviceLookup;
  socketFamily(domain: number): SocketFactory | undefined;
  /** Send `sig` to `pid` on behalf of `sender`: 0 or -errno. */
  signal(sender: Process, pid: number, sig: number): number;
  /** End `p` now. */
  exit(p: Process, status: ExitStatus): void;
}

/** Largest sockaddr accepted (sizeof(struct sockaddr_storage)). */
const SOCKADDR_MAX = 128;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
/** epoll_wait: maxevents above this is EINVAL (Linux: INT_MAX / sizeof(struct epoll_event)). */
const EP_MAX_EVENTS = Math.floor(0x7fff_ffff / EPOLL_EVENT_BYTES);

/** Put `f` (a new file) at the lowest free fd of `p`: the fd, or -EMFILE (the file is then released). */
export function installNew(files: OpenFiles, p: Process, f: KernelFile): number {
  files.ref(f);
  const fd = p.fds.install(f);
  if (fd < 0) {
    files.unref(f);
    return -EMFILE;
  }
  return fd;
}

/** Write a time in ms as a `struct timespec` / `struct timeval` pair of i64 (sec, sub-second `unitsPerSec`). */
function writeTime(dv: DataView, at: number, ms: number, unitsPerSec: number): void {
  const whole = Math.max(0, ms);
  const sec = Math.floor(whole / 1000);
  const sub = Math.min(unitsPerSec - 1, Math.floor(((whole - sec * 1000) / 1000) * unitsPerSec));
  dv.setUint32(at, sec % 0x1_0000_0000, true);
  dv.setUint32(at + 4, Math.floor(sec / 0x1_0000_0000), true);
  dv.setUint32(at + 8, sub, true);
  dv.setUint32(at + 12, 0, true);
}

/**
 * A read or write that waits: try `op`; while it says EAGAIN, sleep on `f`'s queue for `mask`
 * (or the deadline, or a signal) and try again. A file released meanwhile gives EBADF.
 */
export function waitForIo(p: Process, clock: Clock, f: KernelFile, mask: number, timeoutMs: number, op: () => number): number | Promise<number> {
  const first = op();
  if (first !== -EAGAIN || timeoutMs === 0) return first;
  return sleepAndRetry(p, clock, f, mask, deadlineOf(clock, timeoutMs), op);
}

/** The waiting half of `waitForIo`: -EAGAIN when the deadline passes first. */
async function sleepAndRetry(p: Process, clock: Clock, f: KernelFile, mask: number, deadline: number, op: () => number): Promise<number> {
  for (;;) {
    const sleep = new Sleep(p, mask, clock, deadline);
    sleep.on(f.waitq);
    const why = await sleep.promise;
    if (why === INTERRUPTED) return -EINTR;
    if (f.refs === 0) return -EBADF;
    const r = op();
    if (r !== -EAGAIN || why === TIMED_OUT) return r;
  }
}

/** The kernel's implementations of its own calls. */
export function kernelSyscalls(k: SyscallServices): SyscallImpls {
  const scan = new ScanScratch();
  const iov: Uint8Array[] = [];
  const one: Uint8Array[] = [];
  const { clock, files } = k;

  const pipeSignal = (p: Process, r: number, flags = 0): number => {
    if (r === -EPIPE && (flags & MSG_NOSIGNAL) === 0) k.signal(p, p.pid, SIGPIPE);
    return r;
  };

  return {
    read: (p, f, buf, count) => f.read(p.mem, buf, Math.min(count, SSIZE_MAX)),
    write: (p, f, buf, count) => pipeSignal(p, f.write(p.mem, buf, Math.min(count, SSIZE_MAX))),
    close: (p, fd) => {
      const f = p.fds.remove(fd);
      if (f === undefined) return -EBADF;
      files.unref(f);
      return 0;
    },
    ioctl: (p, f, request, arg) => {
      if (request !== FIONREAD) return f.ioctl(request, arg);
      const n = f.readableBytes();
      if (n < 0) return n;
      if (!rangeOk(p, arg, 4)) return -EFAULT;
      p.dv.setInt32(arg, Math.min(n, 0x7fff_ffff), true);
      return 0;
    },
    readv: (p, f, iovPtr, iovcnt) => {
      const total = importIovec(p, iovPtr, iovcnt, iov);
      return total < 0 ? total : f.readv(iov);
    },
    writev: (p, f, iovPtr, iovcnt) => {
      const total = importIovec(p, iovPtr, iovcnt, iov);
      if (total < 0) return total;
      return pipeSignal(p, f.writev(iov, total));
    },
    dup: (p, f) => installNew(files, p, f),
    dup2: (p, f, newfd) => {
      if (p.fds.get(newfd) === f) return newfd;
      files.ref(f);
      const old = p.fds.installAt(newfd, f);
      if (old !== undefined) files.unref(old);
      return newfd;
    },
    pipe2: (p, fdsPtr, flags) => {
      if ((flags & ~(O_NONBLOCK | O_CLOEXEC)) !== 0) return -EINVAL;
      if (p.fds.available() < 2) return -EMFILE;
      const pipe = new Pipe();
      const r = installNew(files, p, pipe.readEnd);
      const w = installNew(files, p, pipe.writeEnd);
      p.dv.setInt32(fdsPtr, r, true);
      p.dv.setInt32(fdsPtr + 4, w, true);
      return 0;
    },

    poll: (p, fdsPtr, nfds, timeoutMs) => doPoll(p, clock, scan, fdsPtr, nfds, timeoutMs),
    select: (p, nfds, r, w, e, tv) => doSelect(p, clock, scan, nfds, r, w, e, tv),
    sched_yield: () => new Promise<number>((resolve) => setImmediate(resolve, 0)),
    nanosleep: (p, req, remPtr) => {
      const sec = req.getBigInt64(TIMESPEC_OFF_SEC, true);
      const nsec = req.getBigInt64(TIMESPEC_OFF_NSEC, true);
      if (sec < 0n || nsec < 0n || nsec >= 1_000_000_000n) return -EINVAL;
      const ms = Number(sec) * 1000 + Number(nsec) / 1e6;
      const deadline = clock.now() + ms;
      const sleep = new Sleep(p, 0, clock, deadline);
      return sleep.promise.then((why) => {
        if (why !== INTERRUPTED) return 0;
        if (remPtr !== 0) writeTime(p.dv, remPtr, deadline - clock.now(), 1_000_000_000);
        return -EINTR;
      });
    },
    epoll_create1: (p, flags) => ((flags & ~EPOLL_CLOEXEC) !== 0 ? -EINVAL : installNew(files, p, new Epoll())),
    epoll_ctl: (p, epf, op, fd, ev) => {
      if (!(epf instanceof Epoll)) return -EINVAL;
      const f = p.fds.get(fd);
      if (f === undefined) return -EBADF;
      if (op === EPOLL_CTL_DEL) return epf.ctl(op, fd, f, 0, 0, 0);
      if (ev === null) return -EFAULT;
      const events = ev.getUint32(EPOLL_EVENT_OFF_EVENTS, true);
      const bad = Epoll.checkEvents(op, events);
      if (bad !== 0) return bad;
      return epf.ctl(op, fd, f, events, ev.getUint32(EPOLL_EVENT_OFF_DATA, true), ev.getUint32(EPOLL_EVENT_OFF_DATA + 4, true));
    },
    epoll_wait: (p, epf, events, maxevents, timeoutMs) => {
      if (!(epf instanceof Epoll) || maxevents <= 0 || maxevents > EP_MAX_EVENTS) return -EINVAL;
      const ep = epf;
      const n = ep.collect(p.dv, events, maxevents);
      if (n > 0 || timeoutMs === 0) return n;
      const again = (): number => {
        const m = ep.collect(p.dv, events, maxevents);
        return m > 0 ? m : -EAGAIN;
      };
      return sleepAndRetry(p, clock, ep, POLLIN, deadlineOf(clock, timeoutMs), again).then((r) => (r === -EAGAIN ? 0 : r));
    },
    read_wait: (p, f, buf, count, timeoutMs) =>
      waitForIo(p, clock, f, POLLIN | POLLHUP | POLLERR, timeoutMs, () => f.read(p.mem, buf, Math.min(count, SSIZE_MAX))),
    write_wait: (p, f, buf, count, timeoutMs) => {
      const r = waitForIo(p, clock, f, POLLOUT | POLLERR, timeoutMs, () => f.write(p.mem, buf, Math.min(count, SSIZE_MAX)));
      return typeof r === 'number' ? pipeSignal(p, r) : r.then((v) => pipeSignal(p, v));
    },

    rt_sigaction: (p, sig, act, oldact, sigsetsize) => {
      if (sigsetsize !== SIGSET_BYTES || sig < 1 || sig > SIG_MAX) return -EINVAL;
      const s = p.signals;
      let handler = 0;
      let flags = 0;
      if (act !== null) {
        if (sig === SIGKILL || sig === SIGSTOP) return -EINVAL;
        handler = act.getUint32(SIGACTION_OFF_HANDLER, true);
        flags = act.getUint32(SIGACTION_OFF_FLAGS, true);
        if ((flags & ~SA_RESETHAND) !== 0) return -EINVAL;
      }
      if (oldact !== 0) {
        p.dv.setUint32(oldact + SIGACTION_OFF_HANDLER, s.handler[sig]!, true);
        p.dv.setUint32(oldact + SIGACTION_OFF_FLAGS, s.resetHand[sig] === 1 ? SA_RESETHAND : 0, true);
        p.dv.setUint32(oldact + SIGACTION_OFF_MASK, 0, true);
        p.dv.setUint32(oldact + SIGACTION_OFF_MASK + 4, 0, true);
      }
      if (act !== null) {
        s.handler[sig] = handler;
        s.resetHand[sig] = (flags & SA_RESETHAND) !== 0 ? 1 : 0;
        // POSIX: a pending signal whose action becomes "ignore" is discarded.
        if (handler === SIG_IGN || (handler === SIG_DFL && signalDefault(sig) === 'ignore')) s.pending &= ~(1 << sig);
      }
      return 0;
    },
    getpid: (p) => p.pid,
    getuid: (p) => p.uid,
    getppid: (p) => p.ppid,
    exit: (p, status) => {
      k.exit(p, { reason: 'exit', code: status & 0xff, signal: null, error: null });
      return 0;
    },
    kill: (p, pid, sig) => k.signal(p, pid, sig),
    clock_gettime: (p, clockid, tp) => {
      if (clockid !== CLOCK_MONOTONIC && clockid !== CLOCK_REALTIME) return -EINVAL;
      writeTime(p.dv, tp, clockid === CLOCK_MONOTONIC ? clock.now() : clock.wallNow(), 1_000_000_000);
      return 0;
    },

    socket: (p, domain, type, protocol) => {
      // Linux's order: family and type, then permission, then a descriptor (EMFILE, in installNew).
      if (domain === AF_PACKET) {
        if (type !== SOCK_PACKET && type !== SOCK_RAW) return -ESOCKTNOSUPPORT;
        if (protocol < 0 || protocol > 0xffff) return -EINVAL;
        if (p.uid !== 0) return -EPERM;
        return installNew(files, p, new PacketSocket(k.lookupDevice));
      }
      const family = k.socketFamily(domain);
      if (family === undefined) return -EAFNOSUPPORT;
      const f = family(p, type, protocol);
      return typeof f === 'number' ? f : installNew(files, p, f);
    },
    sendto: (p, f, buf, len, flags, addr, addrlen) => {
      if ((flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)) !== 0) return -EOPNOTSUPP;
      let name: Uint8Array | null = null;
      if (addr !== 0) {
        if (addrlen > SOCKADDR_MAX) return -EINVAL;
        name = p.mem.slice(addr, addr + addrlen);
      }
      one.length = 0;
      one.push(p.mem.subarray(buf, buf + len));
      return pipeSignal(p, f.sendmsg(one, len, name), flags);
    },
    sendmsg: (p, f, msg, flags) => {
      if ((flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)) !== 0) return -EOPNOTSUPP;
      const namePtr = msg.getUint32(MSGHDR_OFF_NAME, true);
      const nameLen = msg.getUint32(MSGHDR_OFF_NAMELEN, true);
      let name: Uint8Array | null = null;
      if (namePtr !== 0) {
        if (nameLen > SOCKADDR_MAX) return -EINVAL;
        name = copyIn(p, namePtr, nameLen);
        if (name === null) return -EFAULT;
      }
      const iovPtr = msg.getUint32(MSGHDR_OFF_IOV, true);
      const iovLen = msg.getUint32(MSGHDR_OFF_IOVLEN, true);
      if (iovLen > UIO_MAXIOV) return -EINVAL;
      if (iovLen > 0 && !rangeOk(p, iovPtr, iovLen * IOVEC_BYTES)) return -EFAULT;
      const total = importIovec(p, iovPtr, iovLen, iov);
      if (total < 0) return total;
      return pipeSignal(p, f.sendmsg(iov, total, name), flags);
    },
    bind: (p, f, addr, addrlen) => {
      if (addrlen > SOCKADDR_MAX) return -EINVAL;
      return f.bind(p.mem.slice(addr, addr + addrlen));
    },

    channel: (p, mode, capacity) => {
      if (mode === CHAN_MODE_BYTE) return capacity === 0 ? installNew(files, p, new Channel(mode, 0)) : -EINVAL;
      if (mode !== CHAN_MODE_RECORD || capacity > CHAN_MAX_RECORDS) return -EINVAL;
      return installNew(files, p, new Channel(mode, capacity === 0 ? CHAN_DEFAULT_RECORDS : capacity));
    },
  };
}
