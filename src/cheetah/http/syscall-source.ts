/**
 * Cheetah's documents from the conventional file system: a `DocumentSource` over the kernel's
 * read-only docroot (docs/vfs.md), using only system calls through the process's `Libc`.
 *
 * - `stat(path)`: open, fstat, close.
 * - `read(path)`: open, fstat (the size now, not the hint), one allocation of that size in the
 *   process's own heap, pread64 straight into it until the end, close. The bytes handed to the
 *   cache are a **view of process memory**, not a copy: the cache and TCP serve them by
 *   reference, and `release` gives the allocation back (`free`) when the cache lets go — so the
 *   document cache lives in Cheetah's memory, where the kernel's allocator counters show it.
 *
 * Errno → source answer: ENOENT, ENOTDIR, ENAMETOOLONG → `not-found`; EACCES (unreadable,
 * unsearchable, a symlink leaving the docroot, a device or FIFO), ENXIO (a socket), ELOOP →
 * `forbidden`; EAGAIN (the host renamed something during the lookup) is retried twice, then
 * `io-error`, as is anything else (EIO, ENFILE, EMFILE, out of process memory).
 */
import {
  EACCES,
  EAGAIN,
  ELOOP,
  ENAMETOOLONG,
  ENOENT,
  ENOTDIR,
  ENXIO,
  O_RDONLY,
  PATH_MAX,
  STAT_BYTES,
  STAT_OFF_MODE,
  STAT_OFF_MTIME,
  STAT_OFF_SIZE,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
  type Libc,
} from '../../kernel/abi/index.js';
import type { DocumentSource, SourceError, SourceStat } from './document-cache.js';

/** Times an open that met a host rename race (EAGAIN) is tried again. */
const RACE_RETRIES = 2;

/** What the source did (tests, the admin view through Cheetah's stats). */
export interface SyscallSourceCounters {
  opens: number;
  /** Opens that failed, by answer. */
  openFailures: Record<SourceError, number>;
  preads: number;
  bytesRead: number;
  /** Documents read and not yet released, and their bytes (what the cache holds in process memory). */
  documentsHeld: number;
  bytesHeld: number;
  releases: number;
  /** Reads refused because the heap had no room for the document. */
  outOfMemory: number;
}

/** What `fstat` says, as the source needs it: the type bits of the mode, the size, mtime in ms. */
interface FileInfo {
  readonly type: number;
  readonly sizeBytes: number;
  readonly mtimeMs: number;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

function sourceError(errno: number): SourceError {
  switch (-errno) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
      return 'not-found';
    case EACCES:
    case ENXIO:
    case ELOOP:
      return 'forbidden';
    default:
      return 'io-error';
  }
}

/** A `DocumentSource` for an engine running inside a process, reading through `sys`. */
export class SyscallDocumentSource implements DocumentSource {
  readonly counters: SyscallSourceCounters = {
    opens: 0,
    openFailures: { 'not-found': 0, forbidden: 0, 'io-error': 0 },
    preads: 0,
    bytesRead: 0,
    documentsHeld: 0,
    bytesHeld: 0,
    releases: 0,
    outOfMemory: 0,
  };
  readonly #sys: Libc;
  /** Where paths are encoded for `open` (the kernel copies the string in at the call, so one buffer serves every call). */
  readonly #pathBuf: number;
  /** Allocations handed out as documents: pointer → bytes. */
  readonly #held = new Map<number, number>();

  /** Takes `PATH_MAX` bytes of `sys`'s heap for path strings; throws when the heap has no room for them. */
  constructor(sys: Libc) {
    this.#sys = sys;
    this.#pathBuf = sys.malloc(PATH_MAX);
    if (this.#pathBuf === 0) throw new Error('SyscallDocumentSource: no heap for the path buffer');
  }

  stat(path: string): Promise<SourceStat | SourceError> {
    return this.#withFile(path, (_fd, st) => {
      if (st.type === S_IFREG) return { kind: 'file', sizeBytes: st.sizeBytes, mtimeMs: st.mtimeMs };
      return st.type === S_IFDIR ? { kind: 'directory' } : { kind: 'other' };
    });
  }

  read(path: string): Promise<Uint8Array | SourceError> {
    return this.#withFile(path, (fd, st) => {
      // It was a file when the cache asked stat; if it is something else now, it is gone.
      if (st.type === S_IFDIR) return 'not-found';
      if (st.type !== S_IFREG) return 'forbidden';
      return st.sizeBytes === 0 ? EMPTY : this.#readInto(fd, st.sizeBytes);
    });
  }

  release(bytes: Uint8Array): void {
    const ptr = bytes.byteOffset;
    const size = this.#held.get(ptr);
    // Only our own allocations (an empty document was never allocated).
    if (bytes.buffer !== this.#sys.mem.buffer || size === undefined) return;
    this.#held.delete(ptr);
    this.#sys.free(ptr);
    this.counters.releases++;
    this.counters.documentsHeld--;
    this.counters.bytesHeld -= size;
  }

  /** One allocation of `size` bytes filled by pread64 until the end of the file (fewer if it shrank). */
  async #readInto(fd: number, size: number): Promise<Uint8Array | SourceError> {
    const sys = this.#sys;
    const ptr = sys.malloc(size);
    if (ptr === 0) {
      this.counters.outOfMemory++;
      return 'io-error';
    }
    let got = 0;
    while (got < size) {
      const n = await sys.call('pread64', fd, ptr + got, size - got, got);
      if (n < 0) {
        sys.free(ptr);
        return sourceError(n);
      }
      if (n === 0) break;
      this.counters.preads++;
      got += n;
    }
    this.counters.bytesRead += got;
    this.counters.documentsHeld++;
    this.counters.bytesHeld += size;
    this.#held.set(ptr, size);
    return sys.mem.subarray(ptr, ptr + got);
  }

  /** Open `path`, fstat it, run `body`, close: whatever `body` answers, or why it could not run. */
  async #withFile<T>(path: string, body: (fd: number, st: FileInfo) => T | Promise<T>): Promise<T | SourceError> {
    const fd = await this.#open(path);
    if (typeof fd === 'string') return fd;
    try {
      const st = await this.#fstat(fd);
      return typeof st === 'string' ? st : await body(fd, st);
    } finally {
      this.#sys.close(fd);
    }
  }

  async #open(path: string): Promise<number | SourceError> {
    for (let attempt = 0; ; attempt++) {
      // Encoded before every call: another call may have used the buffer while this one waited.
      if (!this.#encodePath(path)) return this.#failed('not-found');
      const fd = await this.#sys.call('open', this.#pathBuf, O_RDONLY, 0);
      if (fd >= 0) {
        this.counters.opens++;
        return fd;
      }
      if (fd !== -EAGAIN || attempt === RACE_RETRIES) return this.#failed(sourceError(fd));
    }
  }

  /** `path` as a C string in the path buffer; false when it cannot be one (too long, or holding NUL, which engine paths never do). */
  #encodePath(path: string): boolean {
    const mem = this.#sys.mem;
    const { read, written } = utf8.encodeInto(path, mem.subarray(this.#pathBuf, this.#pathBuf + PATH_MAX - 1));
    if (read < path.length || path.includes('\0')) return false;
    mem[this.#pathBuf + written] = 0;
    return true;
  }

  #failed(e: SourceError): SourceError {
    this.counters.openFailures[e]++;
    return e;
  }

  async #fstat(fd: number): Promise<FileInfo | SourceError> {
    const sys = this.#sys;
    const buf = sys.malloc(STAT_BYTES);
    if (buf === 0) {
      this.counters.outOfMemory++;
      return 'io-error';
    }
    try {
      const r = await sys.call('fstat', fd, buf);
      if (r < 0) return sourceError(r);
      const v = sys.view;
      return {
        type: v.getUint32(buf + STAT_OFF_MODE, true) & S_IFMT,
        sizeBytes: Number(v.getBigInt64(buf + STAT_OFF_SIZE, true)),
        mtimeMs: Number(v.getBigInt64(buf + STAT_OFF_MTIME, true)) * 1000 + Math.floor(v.getUint32(buf + STAT_OFF_MTIME + 8, true) / 1e6),
      };
    } finally {
      sys.free(buf);
    }
  }
}
