/**
 * Cheetah's document cache: documents fetched through an abstract asynchronous source (the
 * server glue implements it with the kernel's read-only docroot syscalls), kept in Cheetah's
 * memory under a byte budget with LRU replacement, and served by reference: a response's body
 * is a subarray of the cached bytes, which TCP may keep and resend until it releases the
 * response. A document referenced by unreleased responses is pinned: eviction removes it from
 * the cache at once but hands its bytes back to the source (`release`) only when the last
 * reference goes — the merged file cache and retransmission pool of Cheetah (facts §3.2 item 1).
 *
 * Concurrent misses for one path share one load; entries older than `revalidateAfterMs` are
 * checked with `stat` and reused when size and mtime did not change. Absent paths and
 * directories are cached too (cheap 404s and redirects), each charged a fixed overhead so a
 * flood of random paths is bounded by the same budget.
 */
import { contentTypeFor } from './mime.js';
import { makeEtag } from './conditional.js';
import type { HeadTemplate } from './head.js';
import type { HttpOptions } from './options.js';
import type { HttpCacheStats } from './stats.js';

/** What the source says about a path. Sizes in bytes, times in ms since the epoch. */
export type SourceStat =
  | { readonly kind: 'file'; readonly sizeBytes: number; readonly mtimeMs: number }
  | { readonly kind: 'directory' }
  | { readonly kind: 'other' };

/** Why the source could not answer: absent (ENOENT, ENOTDIR), refused (EACCES), or any other failure. */
export type SourceError = 'not-found' | 'forbidden' | 'io-error';

/**
 * Where documents come from. Paths are normalized absolute paths under the docroot (`/`,
 * `/a/b.html`: no `.`/`..`/empty segments, no NUL or backslash). Promises should not reject;
 * if one does, the request gets 500 and `loadErrors` counts it.
 */
export interface DocumentSource {
  /** Type, size and modification time of a path (fstat after open, or stat). */
  stat(path: string): Promise<SourceStat | SourceError>;
  /**
   * The whole content of a regular file. `sizeBytes` is the size `stat` just reported (a hint
   * for the buffer). The cache owns the returned bytes until it calls `release` with them.
   */
  read(path: string, sizeBytes: number): Promise<Uint8Array | SourceError>;
  /** The cache no longer references `bytes` (evicted and unpinned): the source may reuse the memory. */
  release?(bytes: Uint8Array): void;
}

/** Kinds of cache entry: a servable file, or what to answer instead. */
export type EntryKind = 'file' | 'directory' | 'missing' | 'forbidden' | 'too-large' | 'error';

/** Bytes charged per entry besides its document: key, record, header templates. */
export const ENTRY_OVERHEAD_BYTES = 512;

const EMPTY = new Uint8Array(0);

/**
 * One cached path. For `file` entries the validators and content type are computed once;
 * the response layer hangs its precomputed heads on `heads`.
 */
export class CacheEntry {
  readonly key: string;
  readonly kind: EntryKind;
  /** Document bytes (empty unless `file`). */
  readonly bytes: Uint8Array;
  readonly mtimeMs: number;
  /** Strong ETag with quotes ('' unless `file`). */
  readonly etag: string;
  /** Last-Modified in whole seconds: mtime, but never later than when the file was loaded (RFC 9110 §8.8.2.1). */
  readonly lastModifiedSeconds: number;
  readonly contentType: string;
  /** Bytes charged against the budget while cached. */
  readonly cost: number;
  /** Precomputed heads, filled lazily by the responder (indexes are its business). */
  readonly heads: (HeadTemplate | undefined)[] = [];
  /** When the source last confirmed this entry (ms). */
  checkedAtMs: number;
  /** Responses holding `bytes`. */
  pins = 0;
  /** In the cache's map and LRU list (false once evicted or replaced, or if never admitted). */
  cached = false;
  /** `bytes` went back to the source; the entry must not be served again. */
  released = false;
  prev: CacheEntry | undefined;
  next: CacheEntry | undefined;

  constructor(key: string, kind: EntryKind, checkedAtMs: number, file?: { bytes: Uint8Array; mtimeMs: number }) {
    this.key = key;
    this.kind = kind;
    this.checkedAtMs = checkedAtMs;
    this.bytes = file?.bytes ?? EMPTY;
    this.mtimeMs = file?.mtimeMs ?? 0;
    this.etag = file === undefined ? '' : makeEtag(file.bytes.length, file.mtimeMs);
    this.lastModifiedSeconds = Math.floor(Math.min(this.mtimeMs, checkedAtMs) / 1000);
    this.contentType = contentTypeFor(key);
    this.cost = this.bytes.length + ENTRY_OVERHEAD_BYTES + 2 * key.length;
  }
}

/** The cache. All methods are synchronous except `fetch`, whose promise never rejects. */
export class DocumentCache {
  readonly #source: DocumentSource;
  readonly #o: HttpOptions;
  readonly #stats: HttpCacheStats;
  readonly #map = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<CacheEntry>>();
  /** Most recently used end of the LRU list. */
  #head: CacheEntry | undefined;
  /** Least recently used end. */
  #tail: CacheEntry | undefined;

  constructor(source: DocumentSource, options: HttpOptions, stats: HttpCacheStats) {
    this.#source = source;
    this.#o = options;
    this.#stats = stats;
  }

  /** A fresh cached entry for `key` (made most recently used), or undefined: then call `fetch`. */
  lookup(key: string, nowMs: number): CacheEntry | undefined {
    const e = this.#map.get(key);
    if (e === undefined || nowMs - e.checkedAtMs >= this.#o.revalidateAfterMs) return undefined;
    this.#stats.hits++;
    this.#touch(e);
    return e;
  }

  /** Loads or revalidates `key` from the source, sharing a load already in flight. */
  fetch(key: string, nowMs: number): Promise<CacheEntry> {
    const pending = this.#inflight.get(key);
    if (pending !== undefined) {
      this.#stats.coalesced++;
      return pending;
    }
    this.#stats.misses++;
    const p = this.#load(key, nowMs).then(
      (e) => {
        this.#inflight.delete(key);
        return e;
      },
      () => {
        // #load catches the source's failures; this only guards against our own bugs.
        this.#inflight.delete(key);
        this.#stats.loadErrors++;
        return new CacheEntry(key, 'error', nowMs);
      },
    );
    this.#inflight.set(key, p);
    return p;
  }

  /** A response now references `e.bytes`. */
  pin(e: CacheEntry): void {
    if (e.pins++ === 0) this.#stats.pinnedDocuments++;
  }

  /** A response released its reference; an evicted entry's bytes go back to the source with the last one. */
  unpin(e: CacheEntry): void {
    if (e.pins <= 0) return;
    if (--e.pins === 0) {
      this.#stats.pinnedDocuments--;
      this.drop(e);
    }
  }

  /** Gives back the bytes of an entry that is neither cached nor pinned (its document and its heads); a no-op for any other entry, and idempotent. */
  drop(e: CacheEntry): void {
    if (e.kind !== 'file' || e.cached || e.pins > 0 || e.released) return;
    e.released = true;
    for (const h of e.heads) h?.retire();
    this.#source.release?.(e.bytes);
  }

  /** Entries currently cached, most recently used first (for the admin API and tests). */
  *entries(): IterableIterator<CacheEntry> {
    for (let e = this.#head; e !== undefined; e = e.next) yield e;
  }

  async #load(key: string, nowMs: number): Promise<CacheEntry> {
    let st: SourceStat | SourceError;
    try {
      st = await this.#source.stat(key);
    } catch {
      st = 'io-error';
    }
    if (st === 'io-error') {
      this.#stats.loadErrors++;
      return new CacheEntry(key, 'error', nowMs);
    }
    if (st === 'not-found') return this.#admit(new CacheEntry(key, 'missing', nowMs));
    if (st === 'forbidden') return this.#admit(new CacheEntry(key, 'forbidden', nowMs));
    if (st.kind === 'directory') return this.#admit(new CacheEntry(key, 'directory', nowMs));
    if (st.kind === 'other') return this.#admit(new CacheEntry(key, 'forbidden', nowMs));
    // Looked up after the await: the old entry may have been evicted meanwhile.
    const old = this.#map.get(key);
    if (old !== undefined && old.kind === 'file' && old.bytes.length === st.sizeBytes && old.mtimeMs === st.mtimeMs) {
      this.#stats.revalidated++;
      old.checkedAtMs = nowMs;
      this.#touch(old);
      return old;
    }
    if (st.sizeBytes > this.#o.maxDocumentBytes) {
      this.#stats.documentTooLarge++;
      return this.#admit(new CacheEntry(key, 'too-large', nowMs));
    }
    let bytes: Uint8Array | SourceError;
    try {
      bytes = await this.#source.read(key, st.sizeBytes);
    } catch {
      bytes = 'io-error';
    }
    if (typeof bytes === 'string') {
      if (bytes === 'io-error') {
        this.#stats.loadErrors++;
        return new CacheEntry(key, 'error', nowMs);
      }
      // The file went away or changed mode between stat and read.
      return this.#admit(new CacheEntry(key, bytes === 'not-found' ? 'missing' : 'forbidden', nowMs));
    }
    if (bytes.length > this.#o.maxDocumentBytes) {
      // It grew between stat and read.
      this.#source.release?.(bytes);
      this.#stats.documentTooLarge++;
      return this.#admit(new CacheEntry(key, 'too-large', nowMs));
    }
    this.#stats.loads++;
    // The read bytes are the truth if the file changed after stat; the mtime is the stat's.
    return this.#admit(new CacheEntry(key, 'file', nowMs, { bytes, mtimeMs: st.mtimeMs }));
  }

  /** Puts `e` in the cache in place of any older entry, then evicts to the budget. */
  #admit(e: CacheEntry): CacheEntry {
    const old = this.#map.get(e.key);
    if (old !== undefined) this.#remove(old);
    if (e.cost > this.#o.cacheBudgetBytes) {
      this.#stats.transientDocuments++;
      return e;
    }
    this.#map.set(e.key, e);
    e.cached = true;
    this.#pushFront(e);
    this.#stats.entries++;
    this.#stats.bytes += e.cost;
    while (this.#stats.bytes > this.#o.cacheBudgetBytes && this.#tail !== undefined && this.#tail !== e) {
      this.#stats.evictions++;
      this.#remove(this.#tail);
    }
    return e;
  }

  #remove(e: CacheEntry): void {
    this.#map.delete(e.key);
    this.#unlink(e);
    e.cached = false;
    this.#stats.entries--;
    this.#stats.bytes -= e.cost;
    if (e.pins > 0) this.#stats.transientDocuments++;
    else this.drop(e);
  }

  #touch(e: CacheEntry): void {
    if (this.#head === e) return;
    this.#unlink(e);
    this.#pushFront(e);
  }

  #pushFront(e: CacheEntry): void {
    e.prev = undefined;
    e.next = this.#head;
    if (this.#head !== undefined) this.#head.prev = e;
    this.#head = e;
    this.#tail ??= e;
  }

  #unlink(e: CacheEntry): void {
    if (e.prev !== undefined) e.prev.next = e.next;
    else if (this.#head === e) this.#head = e.next;
    if (e.next !== undefined) e.next.prev = e.prev;
    else if (this.#tail === e) this.#tail = e.prev;
    e.prev = e.next = undefined;
  }
}
