/**
 * The user side of the boundary: `Libc`, the `sys` object a process program receives.
 *
 * Every method is a system call by number through a `SyscallPort` (the trap), with plain numbers
 * only — pointers are byte offsets into the process's own memory — so the same code would run in
 * a worker over a SharedArrayBuffer. Non-blocking calls return a number (≥ 0 or -errno)
 * synchronously; blocking calls return a Promise of one. Helpers on top (`malloc`, `cstring`,
 * `pipe`, `sigaction`, `sleep`…) use only those calls and the process's memory.
 */
import { Heap, type HeapStats } from './malloc.js';
import {
  LIBC_OFF_SCRATCH,
  LIBC_PAGE,
  SIGACTION_BYTES,
  SIGACTION_OFF_FLAGS,
  SIGACTION_OFF_HANDLER,
  SIGACTION_OFF_MASK,
  SIGSET_BYTES,
  SIG_DFL,
  SIG_IGN,
  TIMESPEC_OFF_NSEC,
  TIMESPEC_OFF_SEC,
} from './layout.js';
import { NR, type DeclOf, type SyscallName } from './syscalls.js';

/**
 * The trap into the kernel. `trap` takes the call number and up to six arguments (plain
 * numbers); anything else a buggy program passes is rejected by the kernel's thin layer.
 */
export interface SyscallPort {
  trap(nr: number, a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown, a5?: unknown): number | Promise<number>;
  /**
   * Installs the signal trampoline: the kernel calls it, in the process's own flow of control, at
   * the return from a system call, to run the handler registered under `token` for `sig`.
   */
  setSignalTrampoline(fn: (sig: number, token: number) => void): void;
}

/**
 * Thrown in a process's program when the process no longer exists (it called `exit`, was killed,
 * or a default signal action ended it): it unwinds the program. It is raised by the trap at the
 * boundary, never by kernel code, and catching it changes nothing — every later call throws again.
 */
export class ProcessExit extends Error {
  constructor(readonly pid: number) {
    super(`process ${pid} has exited`);
    this.name = 'ProcessExit';
  }
}

/** A signal handler; it runs at a return from a system call and may itself make calls. */
export type SignalHandler = (sig: number) => void;

type NumArgs<A extends readonly unknown[]> = { [K in keyof A]: number };
type Ret<N extends SyscallName> = DeclOf<N>['blocking'] extends true ? Promise<number> : number;

const scratch = LIBC_PAGE + LIBC_OFF_SCRATCH;
const utf8 = new TextEncoder();
const utf8Dec = new TextDecoder();

/** The `sys` object: system calls, the allocator and views of the process's memory. */
export class Libc {
  /** The process's memory, byte by byte. */
  readonly mem: Uint8Array;
  /** The process's memory for typed little-endian access. */
  readonly view: DataView;
  readonly #port: SyscallPort;
  readonly #heap: Heap;
  readonly #handlers = new Map<number, SignalHandler>();
  #nextToken = 2;

  /** `format`: lay out a fresh heap (true for a new process). */
  constructor(port: SyscallPort, memory: ArrayBufferLike, format = true) {
    this.#port = port;
    this.mem = new Uint8Array(memory);
    this.view = new DataView(memory);
    this.#heap = new Heap(this.view, format);
    port.setSignalTrampoline((sig, token) => {
      const h = this.#handlers.get(token);
      if (h !== undefined) h(sig);
    });
  }

  // ---- raw calls, by name ----

  /**
   * Any declared call by name, with the arity the table declares (the way to reach calls without
   * a method here, e.g. `sys.call('dpf_recv', fd, buf, len, 0)`). Fixed parameters at run time:
   * no argument array is allocated per call.
   */
  readonly call: <N extends SyscallName>(name: N, ...args: NumArgs<DeclOf<N>['args']>) => Ret<N> = ((name: SyscallName, a0?: number, a1?: number, a2?: number, a3?: number, a4?: number, a5?: number) =>
    this.#port.trap(NR[name], a0, a1, a2, a3, a4, a5)) as never;

  /** syscall(2): any number with raw arguments (no checks here; the kernel's thin layer checks them). */
  syscall(nr: number, a0?: number, a1?: number, a2?: number, a3?: number, a4?: number, a5?: number): number | Promise<number> {
    return this.#port.trap(nr, a0, a1, a2, a3, a4, a5);
  }

  read(fd: number, buf: number, count: number): number {
    return this.#port.trap(0, fd, buf, count) as number;
  }
  write(fd: number, buf: number, count: number): number {
    return this.#port.trap(1, fd, buf, count) as number;
  }
  close(fd: number): number {
    return this.#port.trap(3, fd) as number;
  }
  ioctl(fd: number, request: number, arg: number): number {
    return this.#port.trap(16, fd, request, arg) as number;
  }
  readv(fd: number, iov: number, iovcnt: number): number {
    return this.#port.trap(19, fd, iov, iovcnt) as number;
  }
  writev(fd: number, iov: number, iovcnt: number): number {
    return this.#port.trap(20, fd, iov, iovcnt) as number;
  }
  dup(fd: number): number {
    return this.#port.trap(32, fd) as number;
  }
  dup2(oldfd: number, newfd: number): number {
    return this.#port.trap(33, oldfd, newfd) as number;
  }
  pipe2(fds: number, flags: number): number {
    return this.#port.trap(293, fds, flags) as number;
  }
  poll(fds: number, nfds: number, timeoutMs: number): Promise<number> {
    return this.#port.trap(7, fds, nfds, timeoutMs) as Promise<number>;
  }
  select(nfds: number, readfds: number, writefds: number, exceptfds: number, timeout: number): Promise<number> {
    return this.#port.trap(23, nfds, readfds, writefds, exceptfds, timeout) as Promise<number>;
  }
  sched_yield(): Promise<number> {
    return this.#port.trap(24) as Promise<number>;
  }
  nanosleep(req: number, rem: number): Promise<number> {
    return this.#port.trap(35, req, rem) as Promise<number>;
  }
  epoll_create1(flags: number): number {
    return this.#port.trap(291, flags) as number;
  }
  epoll_ctl(epfd: number, op: number, fd: number, event: number): number {
    return this.#port.trap(233, epfd, op, fd, event) as number;
  }
  epoll_wait(epfd: number, events: number, maxevents: number, timeoutMs: number): Promise<number> {
    return this.#port.trap(232, epfd, events, maxevents, timeoutMs) as Promise<number>;
  }
  read_wait(fd: number, buf: number, count: number, timeoutMs: number): Promise<number> {
    return this.#port.trap(1001, fd, buf, count, timeoutMs) as Promise<number>;
  }
  write_wait(fd: number, buf: number, count: number, timeoutMs: number): Promise<number> {
    return this.#port.trap(1002, fd, buf, count, timeoutMs) as Promise<number>;
  }
  rt_sigaction(sig: number, act: number, oldact: number, sigsetsize: number): number {
    return this.#port.trap(13, sig, act, oldact, sigsetsize) as number;
  }
  getpid(): number {
    return this.#port.trap(39) as number;
  }
  getuid(): number {
    return this.#port.trap(102) as number;
  }
  getppid(): number {
    return this.#port.trap(110) as number;
  }
  /** Ends the process; never returns (the trap throws `ProcessExit`). */
  exit(status: number): never {
    this.#port.trap(60, status);
    throw new ProcessExit(-1); // unreachable: the trap of a process that exited throws
  }
  kill(pid: number, sig: number): number {
    return this.#port.trap(62, pid, sig) as number;
  }
  clock_gettime(clockid: number, tp: number): number {
    return this.#port.trap(228, clockid, tp) as number;
  }
  socket(domain: number, type: number, protocol: number): number {
    return this.#port.trap(41, domain, type, protocol) as number;
  }
  sendto(fd: number, buf: number, len: number, flags: number, addr: number, addrlen: number): number {
    return this.#port.trap(44, fd, buf, len, flags, addr, addrlen) as number;
  }
  sendmsg(fd: number, msg: number, flags: number): number {
    return this.#port.trap(46, fd, msg, flags) as number;
  }
  bind(fd: number, addr: number, addrlen: number): number {
    return this.#port.trap(49, fd, addr, addrlen) as number;
  }
  /** A channel fd: `mode` 0 = byte, 1 = record; `capacity` in records (0 = default). */
  channel(mode: number, capacity = 0): number {
    return this.#port.trap(1000, mode, capacity) as number;
  }

  // ---- memory ----

  /** Allocate `bytes` in this process's heap; 0 (NULL) when out of memory. */
  malloc(bytes: number): number {
    return this.#heap.malloc(bytes);
  }
  /** Allocate zeroed memory. */
  calloc(bytes: number): number {
    return this.#heap.calloc(bytes);
  }
  free(ptr: number): void {
    this.#heap.free(ptr);
  }
  heapStats(): HeapStats {
    return this.#heap.stats();
  }
  /** A view of `len` bytes at `ptr` (the caller's own memory; no check beyond the array's). */
  bytes(ptr: number, len: number): Uint8Array {
    return this.mem.subarray(ptr, ptr + len);
  }
  /** Copy `s` as UTF-8 + NUL into a fresh allocation; 0 when out of memory. */
  cstring(s: string): number {
    const enc = utf8.encode(s);
    const p = this.malloc(enc.length + 1);
    if (p === 0) return 0;
    this.mem.set(enc, p);
    this.mem[p + enc.length] = 0;
    return p;
  }
  /** The NUL-terminated string at `ptr` (to the end of memory if unterminated). */
  readCString(ptr: number): string {
    const end = this.mem.indexOf(0, ptr);
    return utf8Dec.decode(this.mem.subarray(ptr, end < 0 ? this.mem.length : end));
  }

  // ---- helpers over the calls ----

  /** `pipe()`: `[readFd, writeFd]`, or -errno. */
  pipe(flags = 0): [number, number] | number {
    const r = this.pipe2(scratch, flags);
    if (r < 0) return r;
    return [this.view.getInt32(scratch, true), this.view.getInt32(scratch + 4, true)];
  }

  /**
   * Set the disposition of `sig`: a handler function, `'default'` or `'ignore'`.
   * `oneShot` resets it to default after one delivery (SA_RESETHAND). Returns 0 or -errno.
   */
  sigaction(sig: number, handler: SignalHandler | 'default' | 'ignore', oneShot = false): number {
    let token: number = handler === 'default' ? SIG_DFL : SIG_IGN;
    if (typeof handler === 'function') {
      token = this.#nextToken++;
      this.#handlers.set(token, handler);
    }
    const v = this.view;
    v.setUint32(scratch + SIGACTION_OFF_HANDLER, token, true);
    v.setUint32(scratch + SIGACTION_OFF_FLAGS, oneShot ? 0x8000_0000 : 0, true);
    v.setBigUint64(scratch + SIGACTION_OFF_MASK, 0n, true);
    const old = scratch + SIGACTION_BYTES;
    const r = this.rt_sigaction(sig, scratch, old, SIGSET_BYTES);
    if (r < 0) {
      if (typeof handler === 'function') this.#handlers.delete(token);
      return r;
    }
    // The replaced handler's function is no longer reachable from the kernel.
    const prev = v.getUint32(old + SIGACTION_OFF_HANDLER, true);
    if (prev !== token) this.#handlers.delete(prev);
    return 0;
  }

  /** Sleep `ms` milliseconds on the kernel clock; 0, or -EINTR when a signal interrupts. */
  sleep(ms: number): Promise<number> {
    const req = scratch + 2 * SIGACTION_BYTES;
    this.view.setBigInt64(req + TIMESPEC_OFF_SEC, BigInt(Math.floor(ms / 1000)), true);
    this.view.setBigInt64(req + TIMESPEC_OFF_NSEC, BigInt(Math.round((ms % 1000) * 1e6)), true);
    return this.nanosleep(req, 0);
  }

  /** Kernel monotonic clock in milliseconds (CLOCK_MONOTONIC), or -errno. */
  nowMs(): number {
    const tp = scratch + 3 * SIGACTION_BYTES;
    const r = this.clock_gettime(1, tp);
    if (r < 0) return r;
    return Number(this.view.getBigInt64(tp + TIMESPEC_OFF_SEC, true)) * 1000 + Number(this.view.getBigInt64(tp + TIMESPEC_OFF_NSEC, true)) / 1e6;
  }
}
