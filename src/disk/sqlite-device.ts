/**
 * The SQLite block device: a disk file in the format of sqlite-format.ts, served by the disk
 * controller worker (sqlite-worker.ts) so the event loop never blocks on SQLite or fsync.
 *
 * Requests go into the shared submission queue (no message per request); a run longer than 64
 * blocks becomes several entries, and a write group becomes consecutive entries the controller
 * never splits across transactions. Completions come back through the completion queue; when the
 * main thread has requests outstanding it raises the `C_WAKE` word and the controller answers
 * its next completions with one small message (not one per request). The worker is referenced
 * only while requests are outstanding, so an idle device does not hold the process open.
 * (`Atomics.waitAsync` was tried first: its wake-ups do not keep Node's event loop alive, so a
 * process could exit with a completion pending.)
 *
 * Durability: `writeThrough` is true. A write's completion is posted only after the SQLite
 * transaction holding it committed with `synchronous=FULL` in WAL mode, i.e. after the WAL was
 * fsync'd: the data survives kill -9, an OS crash and a power loss (if the storage honours
 * fsync). Writes of one group, and all requests of one controller batch, commit atomically.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DaemonError, type ErrorCode } from '../errors.js';
import { BlockDeviceBase, type IoDone, type WriteRun } from './block-device.js';
import { IO_EINVAL, IO_EIO, MAX_RUN_BLOCKS } from './constants.js';
import {
  C_CLOSE,
  C_CQ_TAIL,
  C_SQ_HEAD,
  C_SQ_TAIL,
  C_WAKE,
  CQ_OFF,
  CQE_WORDS,
  ENT_OFF,
  F_GROUP_CONT,
  OP_FLUSH,
  OP_READ,
  OP_WRITE,
  RING_WORDS,
  SQ_DEPTH,
  SQ_OFF,
  SQE_WORDS,
  STAT_NAMES,
  type ControllerInit,
  type ControllerMessage,
} from './controller-protocol.js';
import type { LatencyModelConfig } from './latency-model.js';
import { PagePool } from './page-pool.js';

/** Options of {@link SqliteBlockDevice.open}. */
export interface SqliteDeviceOptions {
  /** Pages in the shared DMA pool (default 8192 = 32 MiB). */
  poolPages?: number;
  /** Run SQLite's quick_check at open (default true). */
  quickCheck?: boolean;
  /** Mechanical latency model, or null/absent for none. */
  latency?: LatencyModelConfig | null;
  /** Test hook: the controller SIGKILLs the whole process around its n-th commit. */
  crashAtCommit?: number;
  /** With `crashAtCommit`: kill just before or just after that COMMIT (default 'before'). */
  crashWhen?: 'before' | 'after';
}

/** One queued entry before it enters the ring. */
interface Entry {
  op: number;
  block: number;
  pages: ArrayLike<number>;
  from: number;
  count: number;
  req: Pending;
}

/** A request in flight: completes when all its entries have. */
interface Pending {
  remaining: number;
  status: number;
  done: IoDone;
}

/**
 * The controller's entry point next to this module: the built `.js`, or — when this module runs
 * from TypeScript source (vitest, tsx) — a bootstrap that registers tsx inside the worker first
 * (Node 20 does not pass `--import` hooks on to workers).
 */
function workerTarget(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./sqlite-worker.js', here);
  const req = createRequire(here);
  const api = pathToFileURL(join(dirname(req.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./sqlite-worker.ts', here).href;
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/** The SQLite-backed disk (see the module comment). */
export class SqliteBlockDevice extends BlockDeviceBase {
  readonly kind = 'sqlite';
  readonly writeThrough = true;
  readonly blockCount: number;
  /** The disk file. */
  readonly path: string;
  /** Format version read from the file. */
  readonly formatVersion: number;
  /** The latency model in use, or null. */
  readonly latency: LatencyModelConfig | null;
  readonly #worker: Worker;
  readonly #ring: Int32Array;
  readonly #stats: Float64Array;
  readonly #bySlot: (Pending | undefined)[] = new Array<Pending | undefined>(SQ_DEPTH);
  readonly #backlog: Entry[] = [];
  /** Free entry slots (a stack); a slot is freed when its completion is consumed. */
  readonly #freeSlots = Int32Array.from({ length: SQ_DEPTH }, (_v, i) => SQ_DEPTH - 1 - i);
  #nfree = SQ_DEPTH;
  #sqTail = 0;
  #cqHead = 0;
  #outstanding = 0;
  #dead = false;
  #closedPromise: Promise<void> | undefined;
  readonly #closedSignal: Promise<void>;

  private constructor(
    path: string,
    pool: PagePool,
    worker: Worker,
    ring: Int32Array,
    stats: Float64Array,
    ready: { blockCount: number; formatVersion: number },
    latency: LatencyModelConfig | null,
  ) {
    super(pool);
    this.path = path;
    this.#worker = worker;
    this.#ring = ring;
    this.#stats = stats;
    this.blockCount = ready.blockCount;
    this.formatVersion = ready.formatVersion;
    this.latency = latency;
    this.#closedSignal = new Promise((resolve) => {
      worker.on('message', (m: ControllerMessage) => {
        if (m.type === 'cq') this.#drain();
        else if (m.type === 'closed') resolve();
      });
      worker.on('exit', () => {
        this.#die();
        resolve();
      });
    });
    worker.on('error', () => this.#die());
    worker.unref();
  }

  /**
   * Open a disk file (made by `exolinuxd disk format` or {@link formatDiskFile}). Rejects with
   * DISK_ERR_NOT_FOUND, DISK_ERR_FOREIGN, DISK_ERR_CORRUPT or DISK_ERR_VERSION.
   */
  static async open(path: string, opts: SqliteDeviceOptions = {}): Promise<SqliteBlockDevice> {
    const pool = new PagePool(opts.poolPages ?? 8192);
    const ring = new SharedArrayBuffer(RING_WORDS * 4);
    const stats = new SharedArrayBuffer(STAT_NAMES.length * 8);
    const latency = opts.latency ?? null;
    const init: ControllerInit = {
      path,
      pool: pool.buffer,
      ring,
      stats,
      quickCheck: opts.quickCheck ?? true,
      latency,
      crashAtCommit: opts.crashAtCommit ?? null,
      crashWhen: opts.crashWhen ?? 'before',
    };
    const worker = new Worker(workerTarget(), { workerData: init, name: 'disk-controller' });
    const first = await new Promise<ControllerMessage>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new DaemonError('DISK_ERR_IO', `disk controller exited (${code}) before it was ready`)));
    });
    if (first.type !== 'ready') {
      await worker.terminate();
      const code = first.type === 'error' ? (first.code as ErrorCode) : 'DISK_ERR_IO';
      throw new DaemonError(code, first.type === 'error' ? first.message : 'disk controller failed to start');
    }
    worker.removeAllListeners('message');
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    return new SqliteBlockDevice(path, pool, worker, new Int32Array(ring), new Float64Array(stats), first, latency);
  }

  #die(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.closed = true;
    const pending = new Set<Pending>();
    for (const p of this.#bySlot) if (p !== undefined) pending.add(p);
    for (const e of this.#backlog) pending.add(e.req);
    this.#bySlot.fill(undefined);
    this.#backlog.length = 0;
    this.#outstanding = 0;
    for (const p of pending) p.done(IO_EIO);
  }

  /** Split a run into ring entries of at most MAX_RUN_BLOCKS. */
  #entries(op: number, block: number, pages: ArrayLike<number>, req: Pending, out: Entry[]): void {
    for (let from = 0; from < pages.length; from += MAX_RUN_BLOCKS) {
      out.push({ op, block: block + from, pages, from, count: Math.min(MAX_RUN_BLOCKS, pages.length - from), req });
    }
  }

  #enqueue(entries: Entry[], grouped: boolean): void {
    if (this.#dead) {
      queueMicrotask(() => entries[0]?.req.done(IO_EIO));
      return;
    }
    if (grouped && entries.length > SQ_DEPTH) {
      queueMicrotask(() => entries[0]?.req.done(IO_EINVAL));
      return;
    }
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry;
      if (grouped && i < entries.length - 1) e.op |= F_GROUP_CONT;
    }
    (entries[0] as Entry).req.remaining = entries.length;
    this.#backlog.push(...entries);
    this.#pump();
  }

  /** Move backlog entries into the ring while there is room; groups go in whole. */
  #pump(): void {
    let pushed = 0;
    while (this.#backlog.length > 0) {
      // Length of the leading group (1 for ungrouped entries).
      let g = 1;
      while ((((this.#backlog[g - 1] as Entry).op & F_GROUP_CONT) !== 0) && g < this.#backlog.length) g++;
      // A free slot per entry, and ring positions the controller has already read.
      const ringFree = SQ_DEPTH - ((this.#sqTail - Atomics.load(this.#ring, C_SQ_HEAD)) | 0);
      if (g > this.#nfree || g > ringFree) break;
      for (let k = 0; k < g; k++) {
        const e = this.#backlog.shift() as Entry;
        const slot = this.#freeSlots[--this.#nfree] as number;
        const base = ENT_OFF + slot * SQE_WORDS;
        const r = this.#ring;
        r[base] = slot;
        r[base + 1] = e.op;
        r[base + 2] = e.block;
        r[base + 3] = e.count;
        for (let i = 0; i < e.count; i++) r[base + 4 + i] = e.pages[e.from + i] as number;
        this.#bySlot[slot] = e.req;
        r[SQ_OFF + (this.#sqTail & (SQ_DEPTH - 1))] = slot;
        this.#sqTail = (this.#sqTail + 1) | 0;
        this.#outstanding++;
        pushed++;
      }
      Atomics.store(this.#ring, C_SQ_TAIL, this.#sqTail);
    }
    if (pushed > 0) {
      Atomics.notify(this.#ring, C_SQ_TAIL);
      this.#worker.ref();
      this.#arm();
    }
  }

  /** Ask the controller for a wake-up message; drain at once if completions already wait. */
  #arm(): void {
    if (this.#outstanding === 0) return;
    Atomics.store(this.#ring, C_WAKE, 1);
    if (Atomics.load(this.#ring, C_CQ_TAIL) !== this.#cqHead) queueMicrotask(() => this.#drain());
  }

  #drain(): void {
    const r = this.#ring;
    const tail = Atomics.load(r, C_CQ_TAIL);
    while (this.#cqHead !== tail) {
      const c = CQ_OFF + (this.#cqHead & (SQ_DEPTH - 1)) * CQE_WORDS;
      const slot = r[c] as number;
      const st = r[c + 1] as number;
      this.#cqHead = (this.#cqHead + 1) | 0;
      this.#outstanding--;
      const req = this.#bySlot[slot];
      this.#bySlot[slot] = undefined;
      if (req === undefined) continue;
      this.#freeSlots[this.#nfree++] = slot;
      if (st !== 0 && req.status === 0) req.status = st;
      if (--req.remaining === 0) req.done(req.status);
    }
    this.#pump();
    // While closing, the worker stays referenced until it says `closed`: a late wake-up message
    // (the controller answers a C_WAKE raised before main drained on its own) must not let the
    // process exit in between.
    if (this.#outstanding === 0) {
      if (!this.closed) this.#worker.unref();
    } else this.#arm();
  }

  protected startRead(block: number, pages: ArrayLike<number>, done: IoDone): void {
    const req: Pending = { remaining: 0, status: 0, done };
    const entries: Entry[] = [];
    this.#entries(OP_READ, block, pages, req, entries);
    this.#enqueue(entries, false);
  }

  protected startWrite(runs: readonly WriteRun[], done: IoDone): void {
    const req: Pending = { remaining: 0, status: 0, done };
    const entries: Entry[] = [];
    for (const run of runs) this.#entries(OP_WRITE, run.block, run.pages, req, entries);
    this.#enqueue(entries, true);
  }

  protected startFlush(done: IoDone): void {
    // Every write already commits durably; a flush entry is a queue barrier that completes after
    // everything submitted before it (the controller serves entries in order).
    this.#enqueue([{ op: OP_FLUSH, block: 0, pages: [], from: 0, count: 0, req: { remaining: 0, status: 0, done } }], false);
  }

  override stats(): ReturnType<BlockDeviceBase['stats']> {
    const s = super.stats();
    STAT_NAMES.forEach((name, i) => {
      s[name] = this.#stats[i] as number;
    });
    s['queued'] = this.#backlog.length;
    s['ringOutstanding'] = this.#outstanding;

    return s;
  }

  /** Finish outstanding requests, close SQLite, stop the controller. Idempotent. */
  close(): Promise<void> {
    this.#closedPromise ??= (async () => {
      if (!this.#dead) {
        if (this.#outstanding > 0 || this.#backlog.length > 0) await this.flush().catch(() => undefined);
        this.closed = true;
        this.#worker.ref();
        Atomics.store(this.#ring, C_CLOSE, 1);
        Atomics.notify(this.#ring, C_SQ_TAIL);
        await this.#closedSignal;
      }
      this.closed = true;
      this.#dead = true;
    })();
    return this.#closedPromise;
  }
}

