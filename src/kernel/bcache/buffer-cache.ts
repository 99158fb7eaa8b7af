/**
 * The one buffer cache (thesis §3.3.1/§4.1: the Linux port kept two caches and called it a
 * mistake). Raw block access and XN share it: one entry per cached or registered block, holding
 * both the page and XN's registry state.
 *
 * An entry exists while a block has a page or an XN registration (an XN entry can exist without a
 * page: attributes are installed before the block is paged in). Pages come from the device's DMA
 * pool, at most `maxPages` at a time. When a page is needed and the cache is full, the least
 * recently used page that is clean, unlocked and unpinned is evicted; a registered entry keeps
 * its registration and loses only its page. Dirty, locked (I/O in flight) and pinned pages are
 * never evicted.
 *
 * The cache moves pages to and from the device; it never decides *whether* a write is allowed
 * (that is XN's job, or the raw-device caller's).
 */
import { IO_OK, type BlockDevice } from '../../disk/index.js';

/** XN registry state of a block (dpf-xn-cheetah-facts §2.5), kept in its cache entry. */
export interface RegistryState {
  /** XN type of the block (0: not registered with XN). */
  type: number;
  /** Block holding the pointer to this one (-1: none). */
  parentDb: number;
  /** Byte offset, in the parent block, of the member that holds the pointer. */
  parentOff: number;
  /** Slot (pointer index) in that member, or the catalogue entry index for a root block. */
  parentSlot: number;
  /** Written to disk at least once since it was allocated (or read from disk). */
  initialized: boolean;
  /** Count of registered children not yet initialized: the block is tainted while > 0. */
  uninitChildren: number;
}

/** One cached/registered block. Fields are read-only outside the cache except `reg`. */
export interface BufEntry {
  readonly db: number;
  /** Pool page holding the block, or -1. */
  page: number;
  /** In-memory copy differs from the disk copy. */
  dirty: boolean;
  /** I/O in flight on this block; it may not be modified until it completes. */
  locked: boolean;
  /** Pin count: pinned pages are never evicted. */
  pins: number;
  /** XN registry state, or null for a block that is only cached (raw access). */
  reg: RegistryState | null;
  /**
   * Cache-internal: membership and neighbours in the LRU list of evictable pages (an intrusive
   * list, as a kernel's `list_head`: no hashing per state change on the I/O path).
   */
  inLru: boolean;
  lruPrev: BufEntry | null;
  lruNext: BufEntry | null;
}

/** Counters of the cache. */
export interface BufferCacheStats {
  /** Gauge: read runs and write groups in flight. */
  inFlight: number;
  entries: number;
  registered: number;
  pages: number;
  maxPages: number;
  dirty: number;
  locked: number;
  pinned: number;
  evictable: number;
  hits: number;
  misses: number;
  evictions: number;
  readRequests: number;
  writeRequests: number;
  blocksRead: number;
  blocksWritten: number;
  ioErrors: number;
  pageAllocFailures: number;
}

/** The cache. One per device. */
export class BufferCache {
  readonly device: BlockDevice;
  readonly maxPages: number;
  readonly #entries = new Map<number, BufEntry>();
  /** Evictable entries (page, clean, unlocked, unpinned) in LRU order: the oldest at the head. */
  #lruHead: BufEntry | null = null;
  #lruTail: BufEntry | null = null;
  #lruSize = 0;
  #pages = 0;
  /** Requests (read runs, write groups) submitted and not yet completed. */
  #inFlight = 0;
  readonly #idleWaiters: (() => void)[] = [];
  readonly #c = {
    hits: 0,
    misses: 0,
    evictions: 0,
    readRequests: 0,
    writeRequests: 0,
    blocksRead: 0,
    blocksWritten: 0,
    ioErrors: 0,
    pageAllocFailures: 0,
  };

  /** @param maxPages page budget (default: the pool size minus 64 bounce pages). */
  constructor(device: BlockDevice, maxPages?: number) {
    this.device = device;
    const limit = Math.max(1, device.pool.pageCount - 64);
    this.maxPages = Math.min(maxPages ?? limit, device.pool.pageCount);
  }

  /** The entry of `db`, counting a hit or miss on its page. */
  lookup(db: number): BufEntry | undefined {
    const e = this.#entries.get(db);
    if (e !== undefined && e.page >= 0) {
      this.#c.hits++;
      this.touch(e);
    } else this.#c.misses++;
    return e;
  }

  /** The entry of `db` without touching counters or LRU order. */
  peek(db: number): BufEntry | undefined {
    return this.#entries.get(db);
  }

  /** The entry of `db`, created (without page or registration) if absent. */
  ensure(db: number): BufEntry {
    let e = this.#entries.get(db);
    if (e === undefined) {
      e = { db, page: -1, dirty: false, locked: false, pins: 0, reg: null, inLru: false, lruPrev: null, lruNext: null };
      this.#entries.set(db, e);
    }
    return e;
  }

  /** Every entry (for admin views, fsck and shutdown checks). */
  entries(): IterableIterator<BufEntry> {
    return this.#entries.values();
  }

  /** The page bytes of an entry that has one. */
  bytes(e: BufEntry): Uint8Array {
    return this.device.pool.page(e.page);
  }

  /** Mark recently used. */
  touch(e: BufEntry): void {
    if (e.inLru && e !== this.#lruTail) {
      this.#unlist(e);
      this.#link(e);
    }
  }

  /** Append `e` (not listed) as the newest evictable entry. */
  #link(e: BufEntry): void {
    const tail = this.#lruTail;
    e.lruPrev = tail;
    e.lruNext = null;
    if (tail === null) this.#lruHead = e;
    else tail.lruNext = e;
    this.#lruTail = e;
    e.inLru = true;
    this.#lruSize++;
  }

  #unlist(e: BufEntry): void {
    if (!e.inLru) return;
    const { lruPrev: prev, lruNext: next } = e;
    if (prev === null) this.#lruHead = next;
    else prev.lruNext = next;
    if (next === null) this.#lruTail = prev;
    else next.lruPrev = prev;
    e.lruPrev = null;
    e.lruNext = null;
    e.inLru = false;
    this.#lruSize--;
  }

  #sync(e: BufEntry): void {
    if (e.page >= 0 && !e.dirty && !e.locked && e.pins === 0) {
      if (!e.inLru) this.#link(e);
    } else this.#unlist(e);
  }

  /**
   * Give `e` a page (contents undefined) if it has none: a free pool page within the budget, or
   * the page of the least recently used evictable entry. False when every page is busy.
   */
  attachPage(e: BufEntry): boolean {
    if (e.page >= 0) return true;
    let p = -1;
    if (this.#pages < this.maxPages) p = this.device.pool.alloc();
    if (p < 0) p = this.#evictOne();
    if (p < 0) {
      this.#c.pageAllocFailures++;
      return false;
    }
    if (p >= 0 && e.page < 0) {
      e.page = p;
      this.#pages++;
    }
    this.#sync(e);
    return true;
  }

  /** Take the page of the oldest evictable entry; -1 if none. */
  #evictOne(): number {
    const victim = this.#lruHead;
    if (victim === null) return -1;
    const p = victim.page;
    this.#unlist(victim);
    victim.page = -1;
    this.#pages--;
    this.#c.evictions++;
    if (victim.reg === null && victim.pins === 0) this.#entries.delete(victim.db);
    return p;
  }

  /** Release the page of `e` (it must be unlocked and unpinned). Keeps a registered entry. */
  detachPage(e: BufEntry): void {
    if (e.page < 0) return;
    this.#unlist(e);
    this.device.pool.free(e.page);
    e.page = -1;
    this.#pages--;
    if (e.reg === null && e.pins === 0) this.#entries.delete(e.db);
  }

  /** Forget `e` entirely (page and registration). */
  remove(e: BufEntry): void {
    if (e.page >= 0) {
      this.#unlist(e);
      this.device.pool.free(e.page);
      e.page = -1;
      this.#pages--;
    }
    this.#entries.delete(e.db);
  }

  setDirty(e: BufEntry, dirty: boolean): void {
    e.dirty = dirty;
    this.#sync(e);
  }

  pin(e: BufEntry): void {
    e.pins++;
    this.#sync(e);
  }

  unpin(e: BufEntry): void {
    if (e.pins > 0) e.pins--;
    this.#sync(e);
  }

  #lock(es: readonly BufEntry[], locked: boolean): void {
    for (const e of es) {
      e.locked = locked;
      this.#sync(e);
    }
  }

  /**
   * Read consecutive blocks into their pages (each entry must have a page and be unlocked).
   * Entries stay locked until `done(status)`; a failed read leaves the page contents undefined.
   */
  readRun(es: readonly BufEntry[], done: (status: number) => void): void {
    this.#lock(es, true);
    this.#c.readRequests++;
    this.#c.blocksRead += es.length;
    this.#inFlight++;
    const pages = es.map((e) => e.page);
    this.device.readPages((es[0] as BufEntry).db, pages, (st) => {
      this.#lock(es, false);
      if (st !== IO_OK) this.#c.ioErrors++;
      done(st);
      this.#ioDone();
    });
  }

  #ioDone(): void {
    if (--this.#inFlight === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  #requestId = 0;

  /**
   * A fresh request id (1 … 2^32 − 1, then wrapping) for an asynchronous request on this disk.
   * XN and the raw device share the sequence, so a channel that serves both never sees two
   * pending requests with one id.
   */
  nextRequestId(): number {
    this.#requestId = this.#requestId >= 0xffff_fffe ? 1 : this.#requestId + 1;
    return this.#requestId;
  }

  /** Resolves when no request of this cache is in flight (at once when none is). */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Write runs of consecutive blocks from their pages as one atomic group. On success the
   * entries are clean and — on a device with a volatile cache, after a flush — durable.
   */
  writeRuns(runs: readonly (readonly BufEntry[])[], done: (status: number) => void): void {
    const all = runs.length === 1 ? (runs[0] as readonly BufEntry[]) : runs.flat();
    this.#lock(all, true);
    this.#c.writeRequests++;
    this.#c.blocksWritten += all.length;
    this.#inFlight++;
    const finish = (st: number): void => {
      this.#lock(all, false);
      if (st === IO_OK) for (const e of all) this.setDirty(e, false);
      else this.#c.ioErrors++;
      done(st);
      this.#ioDone();
    };
    this.device.writeGroup(
      runs.map((r) => ({ block: (r[0] as BufEntry).db, pages: r.map((e) => e.page) })),
      (st) => {
        if (st !== IO_OK || this.device.writeThrough) return finish(st);
        this.device.flushCb(finish);
      },
    );
  }

  /** Counters and gauges. */
  stats(): BufferCacheStats {
    let registered = 0;
    let dirty = 0;
    let locked = 0;
    let pinned = 0;
    for (const e of this.#entries.values()) {
      if (e.reg !== null) registered++;
      if (e.dirty) dirty++;
      if (e.locked) locked++;
      if (e.pins > 0) pinned++;
    }
    return {
      inFlight: this.#inFlight,
      entries: this.#entries.size,
      registered,
      pages: this.#pages,
      maxPages: this.maxPages,
      dirty,
      locked,
      pinned,
      evictable: this.#lruSize,
      ...this.#c,
    };
  }
}
