/**
 * A process as the kernel sees it: identity, its own linear memory, descriptor table, signal
 * state, sleeps in progress and its trace ring. Created and ended only by the `Kernel`.
 */
import { HEAP_START } from '../abi/layout.js';
import { readHeapStats, type HeapStats } from '../abi/malloc.js';
import { SIG_MAX } from '../abi/signals.js';
import { FdTable } from './fd-table.js';
import type { TraceRing } from './trace.js';
import type { Sleep, SleepOwner } from './wait.js';

/** How a process ended. */
export interface ExitStatus {
  /** `return`: the program returned; `exit`: it called exit; `signal`: a signal's default action or SIGKILL; `exception`: it threw (reported as SIGABRT). */
  reason: 'return' | 'exit' | 'signal' | 'exception';
  /** Exit code (0..255) for `return`/`exit`, else null. */
  code: number | null;
  /** Terminating signal for `signal`/`exception`, else null. */
  signal: number | null;
  /** The thrown error's message, for `exception`. */
  error: string | null;
}

/** Per-signal disposition: SIG_DFL (0), SIG_IGN (1) or a libc handler token (≥ 2). */
export class SignalState {
  readonly handler = new Uint32Array(SIG_MAX + 1);
  readonly resetHand = new Uint8Array(SIG_MAX + 1);
  /** Bit `sig` set: pending delivery to a handler. */
  pending = 0;
  /** A handler is running (deliveries wait until it returns). */
  inHandler = false;
}

export class Process implements SleepOwner {
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number;
  readonly name: string;
  readonly memory: ArrayBufferLike;
  readonly mem: Uint8Array;
  readonly dv: DataView;
  /** Bytes of memory (user pointers are < this). */
  readonly memSize: number;
  readonly fds: FdTable;
  readonly signals = new SignalState();
  readonly sleeps = new Set<Sleep>();
  /** Null when tracing is off. */
  trace: TraceRing | null;
  /** Kernel-clock ms when it started. */
  readonly startMs: number;
  /** null while running. */
  exitStatus: ExitStatus | null = null;
  /** Settles when the process has exited and released everything. */
  readonly exited: Promise<ExitStatus>;
  /** Runs a handler in the process (installed by its libc); null until then. */
  trampoline: ((sig: number, token: number) => void) | null = null;
  /** Calls made, and how many returned an error. */
  syscalls = 0;
  syscallErrors = 0;
  /** Blocking calls in progress, by name (for the admin view). */
  readonly blockedIn = new Map<string, number>();
  resolveExit!: (s: ExitStatus) => void;

  constructor(o: { pid: number; ppid: number; uid: number; name: string; memory: ArrayBufferLike; fdLimit: number; trace: TraceRing | null; startMs: number }) {
    this.pid = o.pid;
    this.ppid = o.ppid;
    this.uid = o.uid;
    this.name = o.name;
    this.memory = o.memory;
    this.mem = new Uint8Array(o.memory);
    this.dv = new DataView(o.memory);
    this.memSize = o.memory.byteLength;
    this.fds = new FdTable(o.fdLimit);
    this.trace = o.trace;
    this.startMs = o.startMs;
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  get alive(): boolean {
    return this.exitStatus === null;
  }

  /** The libc allocator's counters, read from the process's memory as untrusted hints (null if it has no heap). */
  heapStats(): HeapStats | null {
    if (this.memSize < HEAP_START) return null;
    return readHeapStats(this.dv);
  }
}
