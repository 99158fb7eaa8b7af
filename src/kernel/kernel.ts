/**
 * The kernel core: the process table, the system-call dispatcher (trap → thin layer → thick
 * layer), signals, exit and the resources a process holds, and the registration points later
 * subsystems use (system calls, socket families, exit hooks, channels).
 *
 * The boundary's promises, all enforced here or in the compiled thin layer:
 * - a process reaches the kernel only through `trap(nr, a0…a5)` with plain values;
 * - every result is a number — ≥ 0, or a negative errno (XN's code for XN calls) — or a Promise
 *   of one for blocking calls; nothing thrown inside the kernel crosses the boundary (an
 *   unexpected exception becomes -EIO and an error log);
 * - signals are delivered at the return from a system call (or when a blocking call settles);
 * - exit — by return, `exit`, an exception or a signal — releases every descriptor, sleep and
 *   registration, then runs the subsystems' exit hooks; `checkInvariants()` and
 *   `assertNoLeaks()` prove it.
 */
import { DaemonError } from '../errors.js';
import type { NetDevice } from '../nic/types.js';
import { componentLogger, type Logger } from '../util/log.js';
import { EINVAL, EIO, ENOSYS, EPERM, ESRCH } from './abi/errno.js';
import { MAX_MEMORY_BYTES, MIN_MEMORY_BYTES, SIG_DFL, SIG_IGN } from './abi/layout.js';
import { Libc, ProcessExit, type SyscallPort } from './abi/libc.js';
import { SIGABRT, SIGKILL, SIGTERM, SIG_MAX, signalDefault, signalName } from './abi/signals.js';
import { NR_MAX, SYSCALL_TABLE, syscallByNumber, xnThinError, type SyscallDecl } from './abi/syscalls.js';
import { asChannel, type Channel } from './chan/channel.js';
import { RealClock, type Clock } from '../util/clock.js';
import { OpenFiles, type KernelFile } from './proc/file.js';
import type { DeviceLookup } from './net/packet-socket.js';
import { Process, type ExitStatus } from './proc/process.js';
import { TraceRing, type TraceEntry } from './proc/trace.js';
import { Epoll } from './select/epoll.js';
import { installNew, kernelSyscalls, type SocketFactory, type SyscallServices } from './syscall/calls.js';
import { compileSyscall, type AnyImpl, type Handler } from './syscall/thin.js';
import type { SyscallImpls } from './syscall/types.js';

export type { ExitStatus } from './proc/process.js';
export type { SocketFactory } from './syscall/calls.js';

/** A process's program: it may use only the `sys` it is given. Its return value (a number) is the exit code. */
export type Program = (sys: Libc) => Promise<number | void> | number | void;

/** The kernel's options; `config.procs` (src/config/schema.ts) carries the same names. */
export interface KernelOptions {
  /** The cards a packet socket can name: a map by interface name, or a lookup. Default: none. */
  devices?: ReadonlyMap<string, NetDevice> | DeviceLookup;
  /** Time source. Default: real time. */
  clock?: Clock;
  /** Logger. Default: `componentLogger('kernel')`. */
  log?: Logger;
  /** Trace entries per process when a spawn does not say (0: tracing off). Default 256. */
  traceEntries?: number;
  /** Whether traces record times when a spawn does not say. Default true. */
  traceTiming?: boolean;
  /** Descriptor limit when a spawn does not say. Default 1024 (Linux's RLIMIT_NOFILE soft default). */
  fdLimit?: number;
  /** Memory size when a spawn does not say, bytes. Default 1 MiB. */
  memoryBytes?: number;
  /** How many exited processes stay visible to the admin API. Default 64. */
  keepExited?: number;
}

export interface SpawnOptions {
  /** Credential; 0 is root (may open packet sockets, signal anyone). Default 1000. */
  uid?: number;
  /** Size of the process's memory, bytes (4 pages … 1 GiB). */
  memoryBytes?: number;
  /** Descriptor limit (EMFILE beyond), 1 … 1,048,576. */
  fdLimit?: number;
  /** Trace ring entries (0: off). */
  traceEntries?: number;
  /** Record start times and durations in the trace (two clock reads per call). Default: the kernel's `traceTiming`. */
  traceTiming?: boolean;
  /** Back the memory with a SharedArrayBuffer (what a worker-thread process would use). Default false. */
  sharedMemory?: boolean;
  /** Parent pid reported by getppid. Default 0 (the kernel). */
  ppid?: number;
  /**
   * Open files the process starts with, at the given descriptor numbers (what fork + dup2 would
   * set up; see `fileOf`). Each gains a reference.
   */
  files?: readonly (readonly [fd: number, file: KernelFile])[];
}

/** Called when a process has exited and its descriptors are closed; release what a subsystem holds for it. */
export type ExitHook = (p: Process) => void;

/** One file as the admin API shows it. */
export interface FdView {
  fd: number;
  kind: string;
  /** Current readiness as names (`POLLIN`, …). */
  ready: string[];
  refs: number;
  state: Record<string, unknown>;
}

/** One process as the admin API shows it. */
export interface ProcessView {
  pid: number;
  ppid: number;
  uid: number;
  name: string;
  state: 'running' | 'exited';
  exit: ExitStatus | null;
  startMs: number;
  memory: { bytes: number; allocator: { heapBytes: number; inUseBytes: number; inUseBlocks: number; peakInUseBytes: number } | null };
  fdCount: number;
  fdLimit: number;
  syscalls: number;
  syscallErrors: number;
  blockedIn: Record<string, number>;
  signals: { pending: string[]; handled: string[]; ignored: string[] };
  trace: { enabled: boolean; timed: boolean; capacity: number; recorded: number };
}

const POLL_NAMES: readonly [number, string][] = [
  [0x001, 'POLLIN'],
  [0x002, 'POLLPRI'],
  [0x004, 'POLLOUT'],
  [0x008, 'POLLERR'],
  [0x010, 'POLLHUP'],
];

const MAX_FD_LIMIT = 1 << 20;
const MAX_TRACE_ENTRIES = 1 << 16;

export class Kernel {
  readonly clock: Clock;
  readonly log: Logger;
  readonly #files = new OpenFiles();
  /** Kernel holds on files (subsystems keeping a channel for a pending request), by file. */
  readonly #holds = new Map<KernelFile, number>();
  readonly #procs = new Map<number, Process>();
  readonly #exitedRing: Process[] = [];
  readonly #keepExited: number;
  readonly #table: Handler[];
  readonly #blocking: Uint8Array;
  readonly #implemented: Uint8Array;
  readonly #families = new Map<number, SocketFactory>();
  readonly #exitHooks = new Set<ExitHook>();
  readonly #lookup: DeviceLookup;
  readonly #defaults: { traceEntries: number; traceTiming: boolean; fdLimit: number; memoryBytes: number };
  #nextPid = 1;
  #internalErrors = 0;

  constructor(opts: KernelOptions = {}) {
    this.clock = opts.clock ?? new RealClock();
    this.log = opts.log ?? componentLogger('kernel');
    const devices = opts.devices;
    this.#lookup = devices === undefined ? () => undefined : typeof devices === 'function' ? devices : (name) => devices.get(name);
    this.#keepExited = opts.keepExited ?? 64;
    this.#defaults = { traceEntries: opts.traceEntries ?? 256, traceTiming: opts.traceTiming ?? true, fdLimit: opts.fdLimit ?? 1024, memoryBytes: opts.memoryBytes ?? 1 << 20 };
    this.#table = new Array<Handler>(NR_MAX + 1);
    this.#blocking = new Uint8Array(NR_MAX + 1);
    this.#implemented = new Uint8Array(NR_MAX + 1);
    const enosys: Handler = () => -ENOSYS;
    this.#table.fill(enosys);
    for (const d of SYSCALL_TABLE) {
      this.#blocking[d.nr] = d.blocking ? 1 : 0;
      if (d.errors === 'xn') this.#table[d.nr] = () => xnThinError(ENOSYS);
    }
    const services: SyscallServices = {
      clock: this.clock,
      files: this.#files,
      lookupDevice: this.#lookup,
      socketFamily: (domain) => this.#families.get(domain),
      signal: (sender, pid, sig) => this.#signal(sender, pid, sig),
      exit: (p, status) => this.#exit(p, status),
    };
    this.registerSyscalls(kernelSyscalls(services));
  }

  // ---- registration ----

  /**
   * Implement declared calls, keyed by their names in the table (`src/kernel/abi/syscalls.ts`).
   * Each is compiled once with its thin layer. Throws `KERNEL_ERR_REGISTER` for a name the table
   * does not declare or a call that is already implemented.
   */
  registerSyscalls(impls: SyscallImpls): void {
    for (const [name, impl] of Object.entries(impls) as [string, AnyImpl | undefined][]) {
      if (impl === undefined) continue;
      const decl = SYSCALL_TABLE.find((d) => d.name === name);
      if (decl === undefined) throw new DaemonError('KERNEL_ERR_REGISTER', `system call ${name} is not declared in the table`);
      if (this.#implemented[decl.nr] === 1) throw new DaemonError('KERNEL_ERR_REGISTER', `system call ${name} is already implemented`);
      this.#table[decl.nr] = compileSyscall(decl, impl);
      this.#implemented[decl.nr] = 1;
    }
  }

  /** Let `socket(domain, …)` create this family's files (e.g. AF_DPF). Throws if the domain is taken. */
  registerSocketFamily(domain: number, factory: SocketFactory): void {
    if (this.#families.has(domain)) throw new DaemonError('KERNEL_ERR_REGISTER', `socket family ${domain} is already registered`);
    this.#families.set(domain, factory);
  }

  /** Run `hook` after every process exit; returns the unsubscribe function. */
  onProcessExit(hook: ExitHook): () => void {
    this.#exitHooks.add(hook);
    return () => this.#exitHooks.delete(hook);
  }

  /** Whether a call is implemented (not answering -ENOSYS). */
  implemented(name: string): boolean {
    const d = SYSCALL_TABLE.find((x) => x.name === name);
    return d !== undefined && this.#implemented[d.nr] === 1;
  }

  // ---- kernel-side file API (for subsystems) ----

  /** Keep `f` alive for a pending request even if the process closes its descriptor. Pair with `dropFile`. */
  holdFile(f: KernelFile): void {
    this.#files.ref(f);
    this.#holds.set(f, (this.#holds.get(f) ?? 0) + 1);
  }

  /** Release a hold taken with `holdFile`. */
  dropFile(f: KernelFile): void {
    const n = this.#holds.get(f);
    if (n === undefined) return;
    if (n === 1) this.#holds.delete(f);
    else this.#holds.set(f, n - 1);
    this.#files.unref(f);
  }

  /** Install a new file in `p`'s table: the fd, or -EMFILE (the file is then released). */
  installFile(p: Process, f: KernelFile): number {
    return installNew(this.#files, p, f);
  }

  /**
   * Post an event to a channel (XN completions and the like). `reserved`: it uses a slot taken
   * with `channel.reserve()`. False when it was folded into the overflow record.
   */
  channelNotify(chan: Channel, requestId: number, device: number, block: number, status: number, reserved = false): boolean {
    return chan.notify(requestId, device, block, status, reserved);
  }

  /** The channel behind `f`, or null (for calls that take a channel fd). */
  asChannel(f: KernelFile): Channel | null {
    return asChannel(f);
  }

  // ---- processes ----

  /**
   * Start a process running `program(sys)`. It begins on the next microtask; `p.exited`
   * settles when it has ended and released everything. Throws `KERNEL_ERR_SPAWN` for bad options.
   */
  spawn(name: string, program: Program, opts: SpawnOptions = {}): Process {
    const uid = opts.uid ?? 1000;
    const memoryBytes = opts.memoryBytes ?? this.#defaults.memoryBytes;
    const fdLimit = opts.fdLimit ?? this.#defaults.fdLimit;
    const traceEntries = opts.traceEntries ?? this.#defaults.traceEntries;
    const bad = (what: string): never => {
      throw new DaemonError('KERNEL_ERR_SPAWN', `spawn ${name}: ${what}`);
    };
    if (!Number.isInteger(uid) || uid < 0 || uid > 0xffff_ffff) bad(`uid ${uid} is not a 32-bit unsigned integer`);
    if (!Number.isInteger(memoryBytes) || memoryBytes < MIN_MEMORY_BYTES || memoryBytes > MAX_MEMORY_BYTES) {
      bad(`memoryBytes ${memoryBytes} outside ${MIN_MEMORY_BYTES}..${MAX_MEMORY_BYTES}`);
    }
    if (!Number.isInteger(fdLimit) || fdLimit < 1 || fdLimit > MAX_FD_LIMIT) bad(`fdLimit ${fdLimit} outside 1..${MAX_FD_LIMIT}`);
    if (!Number.isInteger(traceEntries) || traceEntries < 0 || traceEntries > MAX_TRACE_ENTRIES) bad(`traceEntries ${traceEntries} outside 0..${MAX_TRACE_ENTRIES}`);
    const files = opts.files ?? [];
    for (const [fd, f] of files) {
      if (!Number.isInteger(fd) || fd < 0 || fd >= fdLimit) bad(`inherited fd ${fd} outside 0..${fdLimit - 1}`);
      if (f.refs <= 0) bad(`inherited fd ${fd}: the ${f.kind} file is closed`);
    }
    if (new Set(files.map(([fd]) => fd)).size !== files.length) bad('inherited fds repeat');
    const memory = opts.sharedMemory === true ? new SharedArrayBuffer(memoryBytes) : new ArrayBuffer(memoryBytes);
    const p = new Process({
      pid: this.#nextPid++,
      ppid: opts.ppid ?? 0,
      uid,
      name,
      memory,
      fdLimit,
      trace: traceEntries > 0 ? new TraceRing(traceEntries, opts.traceTiming ?? this.#defaults.traceTiming) : null,
      startMs: this.clock.now(),
    });
    for (const [fd, f] of files) {
      this.#files.ref(f);
      p.fds.installAt(fd, f);
    }
    this.#procs.set(p.pid, p);
    const port: SyscallPort = {
      trap: (nr, a0, a1, a2, a3, a4, a5) => this.#trap(p, nr, a0, a1, a2, a3, a4, a5),
      setSignalTrampoline: (fn) => {
        p.trampoline = fn;
      },
    };
    const sys = new Libc(port, memory);
    this.log.info({ pid: p.pid, name, uid, memoryBytes }, 'process spawned');
    Promise.resolve()
      .then(() => program(sys))
      .then(
        (ret) => this.#exit(p, { reason: 'return', code: typeof ret === 'number' ? ret & 0xff : 0, signal: null, error: null }),
        (err: unknown) => {
          if (!p.alive) return;
          this.log.warn({ pid: p.pid, name, err }, 'process threw; killed');
          this.#exit(p, { reason: 'exception', code: null, signal: SIGABRT, error: err instanceof Error ? err.message : String(err) });
        },
      );
    return p;
  }

  /** The open file at `fd` of a live process (to hand to another spawn), or undefined. */
  fileOf(p: Process, fd: number): KernelFile | undefined {
    return p.alive ? p.fds.get(fd) : undefined;
  }

  /** A live or recently exited process. */
  process(pid: number): Process | undefined {
    return this.#procs.get(pid) ?? this.#exitedRing.find((p) => p.pid === pid);
  }

  /** Live processes, then recently exited ones. */
  processes(): Process[] {
    return [...this.#procs.values(), ...this.#exitedRing];
  }

  /** Send a signal from the kernel (uid 0): 0 or -errno, as kill(2). */
  kill(pid: number, sig: number): number {
    return this.#signal(null, pid, sig);
  }

  /**
   * Daemon shutdown: SIGTERM to every process, wait up to `graceMs` (kernel clock) for them to
   * exit, then SIGKILL whatever remains. Resolves when all have exited.
   */
  async shutdown(graceMs: number): Promise<void> {
    const live = [...this.#procs.values()];
    if (live.length === 0) return;
    for (const p of live) this.#signal(null, p.pid, SIGTERM);
    const all = Promise.all(live.map((p) => p.exited));
    let timer: { cancel(): void } | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = this.clock.setTimer(graceMs, resolve);
    });
    await Promise.race([all, grace]);
    timer?.cancel();
    for (const p of live) if (p.alive) this.#exit(p, { reason: 'signal', code: null, signal: SIGKILL, error: null });
    await all;
  }

  // ---- the boundary ----

  #trap(p: Process, nr: unknown, a0: unknown, a1: unknown, a2: unknown, a3: unknown, a4: unknown, a5: unknown): number | Promise<number> {
    if (!p.alive) throw new ProcessExit(p.pid);
    const ok = typeof nr === 'number' && nr >>> 0 === nr && nr <= NR_MAX;
    const h = ok ? this.#table[nr]! : enosysHandler;
    const tr = p.trace;
    let slot = -1;
    let seq = 0;
    if (tr !== null) {
      slot = tr.begin(nr, a0, a1, a2, a3, a4, a5, tr.timed ? this.clock.now() : NaN);
      seq = tr.total;
    }
    let r: unknown;
    try {
      r = h(p, a0, a1, a2, a3, a4, a5);
    } catch (err) {
      r = this.#internalError(p, nr, err);
    }
    p.syscalls++;
    // An implementation that returns anything but an integer or a Promise is a kernel bug: EIO.
    if (typeof r === 'number' ? !Number.isSafeInteger(r) : !(r instanceof Promise)) r = this.#internalError(p, nr, new TypeError(`returned ${String(r)}`));
    if (typeof r === 'number') {
      if (r < 0) p.syscallErrors++;
      if (tr !== null) tr.end(slot, seq, r, tr.timed ? this.clock.now() : NaN);
      this.#afterReturn(p);
      return ok && this.#blocking[nr] === 1 ? Promise.resolve(r) : r;
    }
    const settled = this.#afterBlocking(p, r as Promise<number>, ok ? nr : -1, slot, seq);
    this.#afterReturn(p);
    return settled;
  }

  /** Return-to-user work: a dead process unwinds; pending signals run their handlers. */
  #afterReturn(p: Process): void {
    if (!p.alive) throw new ProcessExit(p.pid);
    if (p.signals.pending !== 0 && !p.signals.inHandler) this.#deliverSignals(p);
  }

  #afterBlocking(p: Process, pending: Promise<number>, nr: number, slot: number, seq: number): Promise<number> {
    const name = syscallByNumber(nr)?.name ?? '?';
    p.blockedIn.set(name, (p.blockedIn.get(name) ?? 0) + 1);
    const settle = (v: unknown): number | Promise<number> => {
      const r = Number.isSafeInteger(v) ? (v as number) : this.#internalError(p, nr, new TypeError(`settled with ${String(v)}`));
      const left = (p.blockedIn.get(name) ?? 1) - 1;
      if (left === 0) p.blockedIn.delete(name);
      else p.blockedIn.set(name, left);
      if (r < 0) p.syscallErrors++;
      const tr = p.trace;
      if (tr !== null) tr.end(slot, seq, r, tr.timed ? this.clock.now() : NaN);
      // A process that died while its call was settling never resumes.
      if (!p.alive) return new Promise<number>(() => {});
      if (p.signals.pending !== 0 && !p.signals.inHandler) this.#deliverSignals(p);
      return r;
    };
    return pending.then(settle, (err: unknown) => settle(this.#internalError(p, nr, err)));
  }

  #internalError(p: Process, nr: unknown, err: unknown): number {
    this.#internalErrors++;
    const decl = typeof nr === 'number' ? syscallByNumber(nr) : undefined;
    this.log.error({ pid: p.pid, syscall: decl?.name ?? nr, err }, 'system call failed inside the kernel; returned EIO');
    return decl?.errors === 'xn' ? xnThinError(EIO) : -EIO;
  }

  // ---- signals and exit ----

  #signal(sender: Process | null, pid: number, sig: number): number {
    if (sig < 0 || sig > SIG_MAX) return -EINVAL;
    // Process groups are not emulated: pid ≤ 0 names none.
    const t = pid > 0 ? this.#procs.get(pid) : undefined;
    if (t === undefined) return -ESRCH;
    if (sender !== null && sender.uid !== 0 && sender.uid !== t.uid) return -EPERM;
    if (sig === 0) return 0;
    // Deviation: job control is not emulated, so stop signals cannot be sent.
    if (signalDefault(sig) === 'stop') return -EINVAL;
    const h = sig === SIGKILL ? SIG_DFL : t.signals.handler[sig]!;
    if (h === SIG_IGN) return 0;
    if (h === SIG_DFL) {
      if (signalDefault(sig) === 'terminate') this.#exit(t, { reason: 'signal', code: null, signal: sig, error: null });
      return 0;
    }
    t.signals.pending |= 1 << sig;
    for (const s of [...t.sleeps]) s.interrupt();
    return 0;
  }

  /** Run the handlers of pending signals, lowest number first, in the process's flow of control. */
  #deliverSignals(p: Process): void {
    const s = p.signals;
    s.inHandler = true;
    try {
      while (s.pending !== 0 && p.alive) {
        const sig = 31 - Math.clz32(s.pending & -s.pending);
        s.pending &= ~(1 << sig);
        const h = s.handler[sig]!;
        if (h === SIG_IGN) continue;
        if (h === SIG_DFL) {
          if (signalDefault(sig) === 'terminate') this.#exit(p, { reason: 'signal', code: null, signal: sig, error: null });
          continue;
        }
        if (s.resetHand[sig] === 1) {
          s.handler[sig] = SIG_DFL;
          s.resetHand[sig] = 0;
        }
        p.trampoline?.(sig, h);
      }
    } finally {
      s.inHandler = false;
    }
    if (!p.alive) throw new ProcessExit(p.pid);
  }

  /** End `p`: cancel its sleeps, close its descriptors, run exit hooks, publish the status. Idempotent. */
  #exit(p: Process, status: ExitStatus): void {
    if (!p.alive) return;
    p.exitStatus = status;
    for (const s of [...p.sleeps]) s.cancel();
    for (const [fd] of [...p.fds.entries()]) {
      const f = p.fds.remove(fd);
      if (f === undefined) continue;
      try {
        this.#files.unref(f);
      } catch (err) {
        this.#internalErrors++;
        this.log.error({ pid: p.pid, fd, err }, 'releasing a file at exit failed');
      }
    }
    for (const hook of this.#exitHooks) {
      try {
        hook(p);
      } catch (err) {
        this.log.error({ pid: p.pid, err }, 'exit hook failed');
      }
    }
    p.signals.pending = 0;
    p.blockedIn.clear();
    this.#procs.delete(p.pid);
    this.#exitedRing.push(p);
    if (this.#exitedRing.length > this.#keepExited) this.#exitedRing.shift();
    this.log.info({ pid: p.pid, name: p.name, ...status, signal: status.signal === null ? null : signalName(status.signal) }, 'process exited');
    p.resolveExit(status);
  }

  // ---- checks ----

  /**
   * Consistency of the whole kernel: descriptor tables against reference counts and kernel
   * holds, live files, wait-queue owners, epoll registrations, and exited processes holding
   * nothing. Returns the problems found (empty when consistent).
   */
  checkInvariants(): string[] {
    const problems: string[] = [];
    const fdRefs = new Map<KernelFile, number>();
    for (const p of this.#procs.values()) {
      let n = 0;
      for (const [fd, f] of p.fds.entries()) {
        n++;
        fdRefs.set(f, (fdRefs.get(f) ?? 0) + 1);
        if (f.refs <= 0) problems.push(`pid ${p.pid} fd ${fd}: released ${f.kind} file still in the table`);
      }
      if (n !== p.fds.count) problems.push(`pid ${p.pid}: fd count ${p.fds.count} but ${n} entries`);
      if (n > p.fds.limit) problems.push(`pid ${p.pid}: ${n} fds above the limit ${p.fds.limit}`);
      for (const s of p.sleeps) if (s.owner !== p.pid) problems.push(`pid ${p.pid}: holds a sleep of pid ${s.owner}`);
    }
    for (const p of this.#exitedRing) problems.push(...this.#leaksOf(p));
    const live = new Set(this.#files.values());
    for (const f of live) {
      const expected = (fdRefs.get(f) ?? 0) + (this.#holds.get(f) ?? 0);
      if (f.refs !== expected) problems.push(`${f.kind} file: refs ${f.refs}, but ${fdRefs.get(f) ?? 0} fds + ${this.#holds.get(f) ?? 0} holds`);
      for (const e of f.waitq.entries()) if (e.owner !== 0 && !this.#procs.has(e.owner)) problems.push(`${f.kind} file: wait entry of dead pid ${e.owner}`);
      if (f instanceof Epoll) {
        for (const r of f.registrations()) if (!live.has(r.file)) problems.push(`epoll: registration of released ${r.file.kind} file (fd ${r.fd})`);
      }
    }
    for (const f of fdRefs.keys()) if (!live.has(f)) problems.push(`${f.kind} file in an fd table but not live`);
    return problems;
  }

  #leaksOf(p: Process): string[] {
    const out: string[] = [];
    if (p.fds.count !== 0) out.push(`exited pid ${p.pid}: ${p.fds.count} fds left`);
    if (p.sleeps.size !== 0) out.push(`exited pid ${p.pid}: ${p.sleeps.size} sleeps left`);
    for (const f of this.#files.values()) for (const e of f.waitq.entries()) if (e.owner === p.pid) out.push(`exited pid ${p.pid}: wait entry on a ${f.kind} file`);
    return out;
  }

  /**
   * Throw when anything leaks: with `pid`, what that (exited) process left behind; without, also
   * that no process is alive and only kernel-held files remain. Also runs `checkInvariants()`.
   */
  assertNoLeaks(pid?: number): void {
    const problems = this.checkInvariants();
    if (pid !== undefined) {
      const p = this.process(pid);
      if (p === undefined) problems.push(`pid ${pid}: unknown`);
      else if (p.alive) problems.push(`pid ${pid}: still running`);
      else problems.push(...this.#leaksOf(p));
    } else {
      for (const p of this.#procs.values()) problems.push(`pid ${p.pid} (${p.name}) still running`);
      for (const f of this.#files.values()) if (!this.#holds.has(f)) problems.push(`${f.kind} file still open`);
    }
    if (problems.length > 0) throw new Error(`kernel leak check failed:\n  ${[...new Set(problems)].join('\n  ')}`);
  }

  // ---- views (admin API) ----

  /** Counters of the whole kernel. */
  stats(): { processes: number; exitedKept: number; openFiles: number; kernelHolds: number; internalErrors: number } {
    let holds = 0;
    for (const n of this.#holds.values()) holds += n;
    return { processes: this.#procs.size, exitedKept: this.#exitedRing.length, openFiles: this.#files.size, kernelHolds: holds, internalErrors: this.#internalErrors };
  }

  /** A process's state for the admin API. */
  describeProcess(p: Process): ProcessView {
    const heap = p.heapStats();
    const s = p.signals;
    const pending: string[] = [];
    const handled: string[] = [];
    const ignored: string[] = [];
    for (let sig = 1; sig <= SIG_MAX; sig++) {
      if ((s.pending & (1 << sig)) !== 0) pending.push(signalName(sig));
      const h = s.handler[sig]!;
      if (h === SIG_IGN) ignored.push(signalName(sig));
      else if (h !== SIG_DFL) handled.push(signalName(sig));
    }
    return {
      pid: p.pid,
      ppid: p.ppid,
      uid: p.uid,
      name: p.name,
      state: p.alive ? 'running' : 'exited',
      exit: p.exitStatus,
      startMs: p.startMs,
      memory: {
        bytes: p.memSize,
        allocator:
          heap === null ? null : { heapBytes: Math.max(0, heap.heapEnd - heap.heapStart), inUseBytes: heap.inUseBytes, inUseBlocks: heap.inUseBlocks, peakInUseBytes: heap.peakInUseBytes },
      },
      fdCount: p.fds.count,
      fdLimit: p.fds.limit,
      syscalls: p.syscalls,
      syscallErrors: p.syscallErrors,
      blockedIn: Object.fromEntries(p.blockedIn),
      signals: { pending, handled, ignored },
      trace: { enabled: p.trace !== null, timed: p.trace?.timed ?? false, capacity: p.trace?.capacity ?? 0, recorded: p.trace?.total ?? 0 },
    };
  }

  /** A process's descriptors for the admin API. */
  describeFds(p: Process): FdView[] {
    const out: FdView[] = [];
    for (const [fd, f] of p.fds.entries()) {
      const m = f.poll();
      out.push({ fd, kind: f.kind, ready: POLL_NAMES.filter(([bit]) => (m & bit) !== 0).map(([, n]) => n), refs: f.refs, state: f.describe() });
    }
    return out;
  }

  /** A process's trace ring, oldest first (empty when tracing is off). */
  traceOf(p: Process): TraceEntry[] {
    return p.trace?.entries() ?? [];
  }

  /** Declarations with whether each is implemented (for the admin API and docs). */
  syscallTable(): (SyscallDecl & { implemented: boolean })[] {
    return SYSCALL_TABLE.map((d) => ({ ...d, implemented: this.#implemented[d.nr] === 1 }));
  }
}

const enosysHandler: Handler = () => -ENOSYS;
