/**
 * The block-device contract every disk implements (SQLite file, in-memory, crash simulator), and
 * the shared base that validates requests, splits them, keeps counters and offers copying
 * Promise helpers on top of the zero-copy page interface.
 *
 * Two levels:
 * - **Pages (DMA):** `readPages` / `writePages` / `writeGroup` move data between the medium and
 *   pages of the device's {@link PagePool}, completing through a callback with a status
 *   (`IO_OK` or a negative Linux errno). The buffer cache uses this level.
 * - **Buffers:** `read` / `write` / `flush` return Promises and copy through bounce pages; the
 *   CLI, raw-device reads and tests use them.
 *
 * Completion callbacks are always called asynchronously (never inside the submitting call).
 */
import { DaemonError } from '../errors.js';
import { BLOCK_SIZE, IO_EINVAL, IO_ENODEV, IO_OK } from './constants.js';
import { PagePool } from './page-pool.js';

/** Completion of a request: `IO_OK` (0) or a negative errno (`IO_EIO`, `IO_EINVAL`, `IO_ENODEV`). */
export type IoDone = (status: number) => void;

/** One contiguous run of a write group: blocks `[block, block + pages.length)` from those pages. */
export interface WriteRun {
  readonly block: number;
  readonly pages: ArrayLike<number>;
}

/** Counters every device keeps (monotonic since open, except the gauges marked so). */
export interface BlockDeviceStats {
  readRequests: number;
  writeRequests: number;
  flushRequests: number;
  blocksRead: number;
  blocksWritten: number;
  /** Requests that completed with a non-zero status. */
  errors: number;
  /** Requests refused before reaching the medium (range, pages). */
  invalid: number;
  /** Gauge: requests submitted and not yet completed. */
  inFlight: number;
  maxInFlight: number;
}

/** What every disk offers. Block size is fixed at {@link BLOCK_SIZE}. */
export interface BlockDevice {
  /** Bytes per block (4096). */
  readonly blockSizeBytes: number;
  /** Blocks on the device; valid block numbers are `0 … blockCount-1`. */
  readonly blockCount: number;
  /**
   * True when a write's completion means the data is durable (it survives a crash of this
   * process, of the OS and a power loss, given storage that honours fsync). False for a device
   * with a volatile write cache: then only a completed `flush` makes earlier writes durable.
   */
  readonly writeThrough: boolean;
  /** The shared DMA pages that page-level requests name. */
  readonly pool: PagePool;
  /** A short human-readable kind ("sqlite", "memory"). */
  readonly kind: string;

  /** Read blocks `[block, block + pages.length)` into the given pool pages. */
  readPages(block: number, pages: ArrayLike<number>, done: IoDone): void;
  /** Write blocks `[block, block + pages.length)` from the given pool pages. Atomic as a whole. */
  writePages(block: number, pages: ArrayLike<number>, done: IoDone): void;
  /**
   * Write several runs as one atomic group: after a crash either every run is on the medium or
   * none is. XN uses it for swap/move between two parent blocks.
   */
  writeGroup(runs: readonly WriteRun[], done: IoDone): void;
  /** Barrier: completes once every earlier-submitted write is durable. */
  flushCb(done: IoDone): void;

  /** Copying read of `count` blocks into `dst` (≥ count·4096 bytes). Rejects with DISK_ERR_IO. */
  read(block: number, count: number, dst: Uint8Array): Promise<void>;
  /** Copying write of `count` blocks from `src`. Resolves when complete (durable if writeThrough). */
  write(block: number, count: number, src: Uint8Array): Promise<void>;
  /** Promise form of {@link BlockDevice.flushCb}. */
  flush(): Promise<void>;
  /** A snapshot of the counters. */
  stats(): BlockDeviceStats & Record<string, number>;
  /** Finish queued requests, then release the medium. Later requests fail with `IO_ENODEV`. */
  close(): Promise<void>;
}

/** Base of the concrete devices: validation, counters, bounce-buffer helpers. */
export abstract class BlockDeviceBase implements BlockDevice {
  readonly blockSizeBytes = BLOCK_SIZE;
  abstract readonly blockCount: number;
  abstract readonly writeThrough: boolean;
  abstract readonly kind: string;
  readonly pool: PagePool;
  protected readonly counters: BlockDeviceStats = {
    readRequests: 0,
    writeRequests: 0,
    flushRequests: 0,
    blocksRead: 0,
    blocksWritten: 0,
    errors: 0,
    invalid: 0,
    inFlight: 0,
    maxInFlight: 0,
  };
  protected closed = false;

  constructor(pool: PagePool) {
    this.pool = pool;
  }

  /** Start a validated read; call `done` exactly once, asynchronously. */
  protected abstract startRead(block: number, pages: ArrayLike<number>, done: IoDone): void;
  /** Start a validated atomic group of writes; call `done` exactly once, asynchronously. */
  protected abstract startWrite(runs: readonly WriteRun[], done: IoDone): void;
  /** Start a barrier; call `done` once every earlier write is durable. */
  protected abstract startFlush(done: IoDone): void;

  #validRun(block: number, pages: ArrayLike<number>): boolean {
    const n = pages.length;
    if (!Number.isInteger(block) || block < 0 || n < 1 || block + n > this.blockCount) return false;
    for (let i = 0; i < n; i++) if (!this.pool.valid(pages[i] as number)) return false;
    return true;
  }

  #refuse(status: number, done: IoDone): void {
    this.counters.invalid++;
    queueMicrotask(() => done(status));
  }

  /** Wrap a completion so the gauges and error counters stay right. */
  #track(done: IoDone): IoDone {
    const c = this.counters;
    c.inFlight++;
    if (c.inFlight > c.maxInFlight) c.maxInFlight = c.inFlight;
    return (status) => {
      c.inFlight--;
      if (status !== IO_OK) c.errors++;
      done(status);
    };
  }

  readPages(block: number, pages: ArrayLike<number>, done: IoDone): void {
    if (this.closed) return this.#refuse(IO_ENODEV, done);
    if (!this.#validRun(block, pages)) return this.#refuse(IO_EINVAL, done);
    this.counters.readRequests++;
    this.counters.blocksRead += pages.length;
    this.startRead(block, pages, this.#track(done));
  }

  writePages(block: number, pages: ArrayLike<number>, done: IoDone): void {
    this.writeGroup([{ block, pages }], done);
  }

  writeGroup(runs: readonly WriteRun[], done: IoDone): void {
    if (this.closed) return this.#refuse(IO_ENODEV, done);
    if (runs.length === 0) return this.#refuse(IO_EINVAL, done);
    let blocks = 0;
    for (const r of runs) {
      if (!this.#validRun(r.block, r.pages)) return this.#refuse(IO_EINVAL, done);
      blocks += r.pages.length;
    }
    this.counters.writeRequests++;
    this.counters.blocksWritten += blocks;
    this.startWrite(runs, this.#track(done));
  }

  flushCb(done: IoDone): void {
    if (this.closed) return this.#refuse(IO_ENODEV, done);
    this.counters.flushRequests++;
    this.startFlush(this.#track(done));
  }

  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.flushCb((s) => (s === IO_OK ? resolve() : reject(ioError('flush', 0, 0, s))));
    });
  }

  /** Pages for a bounce transfer of `count` blocks, or a DISK_ERR_NO_PAGES error. */
  #bounce(count: number): number[] {
    const pages: number[] = [];
    for (let i = 0; i < count; i++) {
      const p = this.pool.alloc();
      if (p < 0) {
        for (const q of pages) this.pool.free(q);
        throw new DaemonError('DISK_ERR_NO_PAGES', `page pool exhausted (${count} bounce pages wanted)`);
      }
      pages.push(p);
    }
    return pages;
  }

  #checkBuffer(count: number, buf: Uint8Array): void {
    if (!Number.isInteger(count) || count < 1 || buf.byteLength < count * BLOCK_SIZE) {
      throw new DaemonError('DISK_ERR_RANGE', `buffer of ${buf.byteLength} bytes cannot hold ${count} blocks`);
    }
  }

  async read(block: number, count: number, dst: Uint8Array): Promise<void> {
    this.#checkBuffer(count, dst);
    const pages = this.#bounce(count);
    try {
      const s = await new Promise<number>((resolve) => this.readPages(block, pages, resolve));
      if (s !== IO_OK) throw ioError('read', block, count, s);
      for (let i = 0; i < count; i++) dst.set(this.pool.page(pages[i] as number), i * BLOCK_SIZE);
    } finally {
      for (const p of pages) this.pool.free(p);
    }
  }

  async write(block: number, count: number, src: Uint8Array): Promise<void> {
    this.#checkBuffer(count, src);
    const pages = this.#bounce(count);
    try {
      for (let i = 0; i < count; i++) {
        this.pool.page(pages[i] as number).set(src.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE));
      }
      const s = await new Promise<number>((resolve) => this.writePages(block, pages, resolve));
      if (s !== IO_OK) throw ioError('write', block, count, s);
    } finally {
      for (const p of pages) this.pool.free(p);
    }
  }

  stats(): BlockDeviceStats & Record<string, number> {
    return { ...this.counters };
  }

  abstract close(): Promise<void>;
}

/** The DaemonError a failed buffer-level request rejects with. */
export function ioError(op: string, block: number, count: number, status: number): DaemonError {
  const code = status === IO_EINVAL ? 'DISK_ERR_RANGE' : status === IO_ENODEV ? 'DISK_ERR_CLOSED' : 'DISK_ERR_IO';
  return new DaemonError(code, `${op} of blocks [${block}, ${block + count}) failed with status ${status}`);
}
