/**
 * A process's strace: a bounded ring of its most recent system calls (number, raw arguments,
 * result, start time and duration). Stored in preallocated typed arrays, so a traced call costs
 * two clock reads and a dozen stores and allocates nothing; an untraced process has no ring and
 * the dispatcher's only cost is one null check.
 *
 * A blocking call is recorded when it starts (result pending) and completed when it settles, if
 * its slot has not been reused by then.
 *
 * Timing is optional (`timed`): a clock read costs ~50–60 ns on the machines here, which is most
 * of the cost of a traced call; an untimed ring records everything but start time and duration.
 */
import { errnoName } from '../abi/errno.js';
import { syscallByNumber } from '../abi/syscalls.js';

/** One trace entry as the admin API shows it. */
export interface TraceEntry {
  /** Call sequence number within the process (1 = its first call). */
  seq: number;
  nr: number;
  name: string;
  /** Raw argument values as the process passed them (NaN: not a number). */
  args: number[];
  /** Return value; null while a blocking call is pending. */
  result: number | null;
  /** `"EAGAIN"` when the result is an errno. */
  errno: string | null;
  /** Kernel-clock time the call started, ms; null when the ring is untimed. */
  startMs: number | null;
  /** Duration in microseconds; null while pending. */
  durationUs: number | null;
}

const ARGS = 6;

function num(x: unknown): number {
  return typeof x === 'number' ? x : NaN;
}

export class TraceRing {
  readonly capacity: number;
  /** Whether start times and durations are recorded. */
  readonly timed: boolean;
  readonly #nr: Int32Array;
  readonly #seq: Float64Array;
  readonly #args: Float64Array;
  readonly #result: Float64Array;
  readonly #start: Float64Array;
  readonly #dur: Float64Array;
  #next = 0;
  #total = 0;

  constructor(capacity: number, timed = true) {
    this.capacity = capacity;
    this.timed = timed;
    this.#nr = new Int32Array(capacity);
    this.#seq = new Float64Array(capacity);
    this.#args = new Float64Array(capacity * ARGS);
    this.#result = new Float64Array(capacity);
    this.#start = new Float64Array(capacity);
    this.#dur = new Float64Array(capacity);
  }

  /** Calls recorded since the process started (including those overwritten). */
  get total(): number {
    return this.#total;
  }

  /** Record a call's start (`nowMs`: NaN when untimed); returns its slot. */
  begin(nr: unknown, a0: unknown, a1: unknown, a2: unknown, a3: unknown, a4: unknown, a5: unknown, nowMs: number): number {
    const i = this.#next;
    this.#next = i + 1 === this.capacity ? 0 : i + 1;
    this.#nr[i] = typeof nr === 'number' && (nr | 0) === nr ? nr : -1;
    this.#seq[i] = ++this.#total;
    const b = i * ARGS;
    const args = this.#args;
    args[b] = num(a0);
    args[b + 1] = num(a1);
    args[b + 2] = num(a2);
    args[b + 3] = num(a3);
    args[b + 4] = num(a4);
    args[b + 5] = num(a5);
    this.#result[i] = NaN;
    this.#start[i] = nowMs;
    this.#dur[i] = NaN;
    return i;
  }

  /** Sequence number currently in `slot` (to detect reuse before a blocking call completes). */
  seqAt(slot: number): number {
    return this.#seq[slot] ?? 0;
  }

  /** Record the result of the call in `slot`, if `seq` still owns it (`nowMs`: NaN when untimed). */
  end(slot: number, seq: number, result: number, nowMs: number): void {
    if (this.#seq[slot] !== seq) return;
    this.#result[slot] = result;
    this.#dur[slot] = nowMs - (this.#start[slot] ?? nowMs);
  }

  /** The ring's entries, oldest first. */
  entries(): TraceEntry[] {
    const out: TraceEntry[] = [];
    const n = Math.min(this.#total, this.capacity);
    const first = this.#total <= this.capacity ? 0 : this.#next;
    for (let k = 0; k < n; k++) {
      const i = (first + k) % this.capacity;
      const nr = this.#nr[i] ?? -1;
      const result = this.#result[i] ?? NaN;
      const dur = this.#dur[i] ?? NaN;
      const args: number[] = [];
      const decl = syscallByNumber(nr);
      const argc = decl === undefined ? ARGS : decl.args.length;
      for (let a = 0; a < argc; a++) args.push(this.#args[i * ARGS + a] ?? NaN);
      out.push({
        seq: this.#seq[i] ?? 0,
        nr,
        name: decl?.name ?? `syscall_${nr}`,
        args,
        result: Number.isNaN(result) ? null : result,
        errno: result < 0 && decl?.errors !== 'xn' ? errnoName(result) : null,
        startMs: Number.isNaN(this.#start[i]) ? null : (this.#start[i] ?? null),
        durationUs: Number.isNaN(dur) ? null : Math.round(dur * 1000 * 1000) / 1000,
      });
    }
    return out;
  }
}
