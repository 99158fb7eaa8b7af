/**
 * An in-memory block device for fast tests, with the two anomaly modes of SQLite's test VFS
 * (`src/test6.c`) and its I/O-error tests:
 *
 * - **Write cache + crash** (`writeCache: true`): completed writes sit in an ordered write-list
 *   (reads see them) and reach the durable image only at a completed `flush`. With
 *   `crashAtFlush: n`, the n-th flush (1-based) simulates a power loss instead: each pending
 *   write is independently applied, dropped, or (with `tear`) has random sectors trashed, and the
 *   device dies (every later request fails with `IO_EIO`). `durableImage()` then gives the
 *   medium a reboot would find.
 * - **Fault injection** (`failAtOp: n`): the n-th request (1-based, reads, writes and flushes
 *   counted together) fails with `IO_EIO` and changes nothing; SQLite-style sweeps raise n until
 *   a workload completes without hitting it.
 *
 * A write group stays atomic in every mode: a crash applies or drops it as a whole (tearing, when
 * on, trashes sectors inside it, which is exactly what group atomicity forbids — so leave `tear`
 * off when a test relies on `writeGroup`).
 */
import { BlockDeviceBase, type IoDone, type WriteRun } from './block-device.js';
import { BLOCK_SIZE, IO_EIO, IO_OK, SECTOR_SIZE } from './constants.js';
import { PagePool } from './page-pool.js';

/** Options of {@link MemoryBlockDevice}. */
export interface MemoryDeviceOptions {
  /** Blocks on the device. */
  blockCount: number;
  /** Pages in the DMA pool (default 1024). */
  poolPages?: number;
  /** Start from this durable image (block → 4096 bytes; absent blocks read as zeros). Copied. */
  image?: ReadonlyMap<number, Uint8Array>;
  /** Volatile write cache: writes are durable only after a completed flush (default false). */
  writeCache?: boolean;
  /** With `writeCache`: simulate a power loss at this flush (1-based). */
  crashAtFlush?: number;
  /** Seed of the crash's random choices (default 1). */
  crashSeed?: number;
  /** Let the crash tear writes (trash random 512-byte sectors) as well as apply or drop them. */
  tear?: boolean;
  /** Fail the n-th request (1-based) with `IO_EIO`. */
  failAtOp?: number;
}

interface PendingWrite {
  block: number;
  data: Uint8Array;
  /** Index of the group (writes of one group share it). */
  group: number;
}

/** xorshift32: a tiny deterministic generator of uint32 (crash choices, seeded workloads). */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** The in-memory device (see the module comment). */
export class MemoryBlockDevice extends BlockDeviceBase {
  readonly kind = 'memory';
  readonly blockCount: number;
  readonly writeThrough: boolean;
  readonly #durable = new Map<number, Uint8Array>();
  readonly #pending: PendingWrite[] = [];
  readonly #opts: MemoryDeviceOptions;
  #ops = 0;
  #flushes = 0;
  #groups = 0;
  #dead = false;
  /** What the simulated crash did, for test diagnostics. */
  crashLog: { applied: number; dropped: number; torn: number } | undefined;

  constructor(opts: MemoryDeviceOptions) {
    super(new PagePool(opts.poolPages ?? 1024));
    if (!Number.isInteger(opts.blockCount) || opts.blockCount < 1) throw new RangeError('blockCount must be ≥ 1');
    this.blockCount = opts.blockCount;
    this.writeThrough = opts.writeCache !== true;
    this.#opts = opts;
    for (const [b, d] of opts.image ?? []) this.#durable.set(b, d.slice());
  }

  /** Requests held by {@link MemoryBlockDevice.pause}, in submission order; null when running. */
  #held: (() => void)[] | null = null;

  /**
   * Test hook: hold every request submitted from now on (they neither complete nor touch the
   * medium) until {@link MemoryBlockDevice.resume} — "the disk is slow", deterministically.
   */
  pause(): void {
    this.#held ??= [];
  }

  /** Run the held requests in submission order, and stop holding. */
  resume(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const run of held) queueMicrotask(run);
  }

  /** Run `fn` asynchronously now, or when resumed. */
  #later(fn: () => void): void {
    if (this.#held !== null) this.#held.push(fn);
    else queueMicrotask(fn);
  }

  /** True once a simulated crash has happened. */
  get dead(): boolean {
    return this.#dead;
  }

  /** A copy of what is durable on the medium (what a reboot would find). */
  durableImage(): Map<number, Uint8Array> {
    const m = new Map<number, Uint8Array>();
    for (const [b, d] of this.#durable) m.set(b, d.slice());
    return m;
  }

  /** Writes completed but not yet flushed (always 0 for a write-through device). */
  get pendingWrites(): number {
    return this.#pending.length;
  }

  /** Counts this request; true when it must fail (injected fault or dead device). */
  #fails(): boolean {
    this.#ops++;
    return this.#dead || this.#ops === this.#opts.failAtOp;
  }

  #latest(block: number): Uint8Array | undefined {
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const w = this.#pending[i] as PendingWrite;
      if (w.block === block) return w.data;
    }
    return this.#durable.get(block);
  }

  protected startRead(block: number, pages: ArrayLike<number>, done: IoDone): void {
    const fail = this.#fails();
    this.#later(() => {
      if (fail) return done(IO_EIO);
      for (let i = 0; i < pages.length; i++) {
        const page = this.pool.page(pages[i] as number);
        const d = this.#latest(block + i);
        if (d === undefined) this.pool.zero(pages[i] as number);
        else page.set(d);
      }
      done(IO_OK);
    });
  }

  protected startWrite(runs: readonly WriteRun[], done: IoDone): void {
    const fail = this.#fails();
    // Copy now: the caller may reuse its pages as soon as we complete.
    const group = ++this.#groups;
    const writes: PendingWrite[] = [];
    if (!fail) {
      for (const r of runs) {
        for (let i = 0; i < r.pages.length; i++) {
          writes.push({ block: r.block + i, data: this.pool.page(r.pages[i] as number).slice(), group });
        }
      }
    }
    this.#later(() => {
      if (fail) return done(IO_EIO);
      if (this.writeThrough) for (const w of writes) this.#durable.set(w.block, w.data);
      else this.#pending.push(...writes);
      done(IO_OK);
    });
  }

  protected startFlush(done: IoDone): void {
    const fail = this.#fails();
    this.#later(() => {
      if (fail) return done(IO_EIO);
      this.#flushes++;
      if (!this.writeThrough && this.#flushes === this.#opts.crashAtFlush) {
        this.#crash();
        return done(IO_EIO);
      }
      for (const w of this.#pending) this.#durable.set(w.block, w.data);
      this.#pending.length = 0;
      done(IO_OK);
    });
  }

  /** Power loss: each pending group applied, dropped or torn; then the device is dead. */
  #crash(): void {
    const next = xorshift32(this.#opts.crashSeed ?? 1);
    const log = { applied: 0, dropped: 0, torn: 0 };
    const fate = new Map<number, number>();
    for (const w of this.#pending) {
      let f = fate.get(w.group);
      if (f === undefined) {
        f = next() % (this.#opts.tear === true ? 3 : 2);
        fate.set(w.group, f);
      }
      if (f === 0) {
        this.#durable.set(w.block, w.data);
        log.applied++;
      } else if (f === 1) {
        log.dropped++;
      } else {
        const old = this.#durable.get(w.block) ?? new Uint8Array(BLOCK_SIZE);
        const out = old.slice();
        for (let s = 0; s < BLOCK_SIZE / SECTOR_SIZE; s++) {
          const how = next() % 3; // keep old, take new, or garbage
          const off = s * SECTOR_SIZE;
          if (how === 1) out.set(w.data.subarray(off, off + SECTOR_SIZE), off);
          else if (how === 2) for (let i = off; i < off + SECTOR_SIZE; i++) out[i] = next() & 0xff;
        }
        this.#durable.set(w.block, out);
        log.torn++;
      }
    }
    this.#pending.length = 0;
    this.#dead = true;
    this.crashLog = log;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
