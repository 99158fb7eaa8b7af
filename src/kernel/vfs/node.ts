/**
 * The open files of the docroot: `DocrootFile` (a regular file) and `DocrootDir` (a directory),
 * descriptor kinds `file` and `dir`.
 *
 * Each holds one host descriptor, opened read-only, for as long as the kernel file lives — and
 * no longer than the host I/O in flight on it: releasing the file (last `close`, or the process's
 * exit) closes the host descriptor at once when nothing uses it, else when the last operation
 * completes. Closing it earlier would let a pending read land on whatever file the host gives
 * that number next.
 *
 * I/O policy (docs/vfs.md): data and metadata come from the host through the thread pool, so a
 * cold disk never stalls the event loop. `pread64`, `fstat` and `getdents64` are blocking calls
 * (the process awaits their Promise; `pread64` reads straight into the process's memory). Plain
 * `read` belongs to the kernel and is non-blocking like every `read` here: it copies from the
 * file's read-ahead window (64 KiB) when that covers the position and otherwise starts a fill and
 * answers EAGAIN (Linux's RWF_NOWAIT), so `read_wait`, `poll` and `epoll` wait for the fill.
 */
import type { BigIntStats, Dir } from 'node:fs';
import { EAGAIN, EBADF, EINVAL, EISDIR, ENOENT, ENXIO } from '../abi/errno.js';
import { POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET } from '../abi/layout.js';
import { KernelFile } from '../proc/file.js';
import { procPath, type HostFs } from './host.js';
import { direntRecordBytes, direntType, writeDirent } from './stat.js';
import { decodeName } from './walk.js';

/** Bytes one read-ahead fill asks the host for (also the window `read` copies from). */
export const READAHEAD_BYTES = 64 * 1024;
/** Most directory entries one `getdents64` returns (each needs a host `lstat` for its inode and type). */
export const DIRENTS_PER_CALL = 64;

const READY_IN = POLLIN | POLLRDNORM;
const READY_OUT = POLLOUT | POLLWRNORM;

/** Counters the open files update (part of `DocrootStats`). */
export interface NodeCounters {
  preads: number;
  preadBytes: number;
  readaheadFills: number;
  readaheadBytes: number;
  getdentsCalls: number;
  direntsReturned: number;
  /** Host names left out of listings: not UTF-8, or holding U+FFFD (no process could name them). */
  hiddenNames: number;
}

/** What an open file needs from its mount. */
export interface NodeContext {
  readonly host: HostFs;
  readonly counters: NodeCounters;
}

/** What both kinds share: the host descriptor's lifetime, fstat, and refusing writes. */
export abstract class DocrootNode extends KernelFile {
  /** The file's path in the docroot (resolved: no symlink, `.` or `..`). */
  readonly path: string;
  protected readonly ctx: NodeContext;
  protected readonly hostFd: number;
  /** Size as last seen (at open, by fstat, or where a read found the end), bytes. */
  protected sizeBytes: number;
  #ops = 0;
  #released = false;
  #closed = false;

  constructor(ctx: NodeContext, hostFd: number, path: string, st: BigIntStats) {
    super();
    this.ctx = ctx;
    this.hostFd = hostFd;
    this.path = path;
    this.sizeBytes = Number(st.size);
  }

  /** The file was released: no new host I/O may start. */
  protected get released(): boolean {
    return this.#released;
  }

  /** Host I/O on this file starts: the host descriptor stays open until the matching `end`. */
  protected begin(): void {
    // The number may already name another host file: a kernel bug, reported as EIO by the dispatcher.
    if (this.#closed) throw new Error(`host I/O on the closed docroot file ${this.path}`);
    this.#ops++;
  }

  protected end(): void {
    if (--this.#ops === 0 && this.#released) this.#closeHost();
  }

  override release(): void {
    this.#released = true;
    if (this.#ops === 0) this.#closeHost();
  }

  #closeHost(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closeExtra();
    this.ctx.host.close(this.hostFd);
  }

  /** Release what a kind holds besides the host descriptor. */
  protected closeExtra(): void {}

  /** The descriptor was opened read-only (Linux: EBADF). */
  override write(): number {
    return -EBADF;
  }

  override writev(): number {
    return -EBADF;
  }

  /** The host file's current `stat`, or -errno. */
  async stat(): Promise<BigIntStats | number> {
    this.begin();
    const st = await this.ctx.host.fstat(this.hostFd);
    this.end();
    if (typeof st !== 'number') this.sizeBytes = Number(st.size);
    return st;
  }

  /** `lseek`: the new position, or -errno. */
  abstract lseek(offset: number, whence: number): number;

  /** Host operations in flight on this file (for the admin view). */
  protected get hostOps(): number {
    return this.#ops;
  }
}

/** A regular file of the docroot. */
export class DocrootFile extends DocrootNode {
  readonly kind = 'file';
  #pos = 0;
  #ra: Uint8Array | null = null;
  #raStart = 0;
  #raLen = 0;
  /** Position where the last fill found the end of the file (-1: not known). */
  #eofAt = -1;
  /** A failed fill's errno, reported by the next `read`. */
  #fillErrno = 0;
  #filling = false;

  /** Bytes the read-ahead window holds at the position. */
  #buffered(): number {
    const rel = this.#pos - this.#raStart;
    return rel >= 0 && rel < this.#raLen ? this.#raLen - rel : 0;
  }

  override read(dst: Uint8Array, off: number, len: number): number {
    if (len === 0) return 0;
    const avail = this.#buffered();
    if (avail > 0) {
      const n = Math.min(len, avail);
      const from = this.#pos - this.#raStart;
      dst.set(this.#ra!.subarray(from, from + n), off);
      this.#pos += n;
      return n;
    }
    if (this.#fillErrno !== 0) {
      const e = this.#fillErrno;
      this.#fillErrno = 0;
      return -e;
    }
    if (this.#eofAt === this.#pos) {
      // Reported once: the next read asks the host again (the file may have grown).
      this.#eofAt = -1;
      return 0;
    }
    this.#fill();
    return -EAGAIN;
  }

  /**
   * Readable when `read` would not say EAGAIN; when not, a fill starts so that waiters are woken.
   * Always writable in the sense that `write` fails at once (Linux reports files as ready).
   */
  override poll(): number {
    if (this.#buffered() > 0 || this.#fillErrno !== 0 || this.#eofAt === this.#pos) return READY_IN | READY_OUT;
    this.#fill();
    return READY_OUT;
  }

  /** Start filling the read-ahead window at the position (one fill at a time). */
  #fill(): void {
    if (this.#filling || this.released) return;
    this.#filling = true;
    const at = this.#pos;
    // The window is being overwritten by the host: nothing in it may be copied until the fill ends.
    this.#raLen = 0;
    this.#eofAt = -1;
    const ra = (this.#ra ??= new Uint8Array(READAHEAD_BYTES));
    this.begin();
    void this.ctx.host.read(this.hostFd, ra, 0, READAHEAD_BYTES, at).then((n) => {
      this.#filling = false;
      this.end();
      if (n < 0) {
        this.#fillErrno = -n;
      } else {
        this.#raStart = at;
        this.#raLen = n;
        if (n < READAHEAD_BYTES) {
          this.#eofAt = at + n;
          this.sizeBytes = at + n;
        }
        this.ctx.counters.readaheadFills++;
        this.ctx.counters.readaheadBytes += n;
      }
      this.waitq.wake(READY_IN);
    });
  }

  /**
   * `pread64`: up to `count` bytes at `offset` straight into `mem[buf…]` (a range the thin layer
   * validated): bytes read (0 at or past the end), or -errno. The position does not move.
   */
  pread(mem: Uint8Array, buf: number, count: number, offset: number): number | Promise<number> {
    if (count === 0) return 0;
    this.begin();
    return this.ctx.host.read(this.hostFd, mem, buf, count, offset).then((n) => {
      this.end();
      if (n >= 0) {
        this.ctx.counters.preads++;
        this.ctx.counters.preadBytes += n;
        if (n < count) this.sizeBytes = offset + n;
      }
      return n;
    });
  }

  /**
   * SEEK_SET/CUR/END; SEEK_DATA and SEEK_HOLE as for a file without holes (data up to the size,
   * ENXIO at or past it). SEEK_END uses the size last seen (docs/vfs.md).
   */
  lseek(offset: number, whence: number): number {
    let next: number;
    switch (whence) {
      case SEEK_SET:
        next = offset;
        break;
      case SEEK_CUR:
        next = this.#pos + offset;
        break;
      case SEEK_END:
        next = this.sizeBytes + offset;
        break;
      case SEEK_DATA:
      case SEEK_HOLE:
        if (offset < 0 || offset >= this.sizeBytes) return -ENXIO;
        next = whence === SEEK_DATA ? offset : this.sizeBytes;
        break;
      default:
        return -EINVAL;
    }
    if (next < 0) return -EINVAL;
    this.#pos = next;
    return next;
  }

  describe(): Record<string, unknown> {
    return {
      path: this.path,
      positionBytes: this.#pos,
      sizeBytes: this.sizeBytes,
      readahead: { startBytes: this.#raStart, lengthBytes: this.#raLen, filling: this.#filling },
      hostOps: this.hostOps,
    };
  }
}

/** One entry of a listing: its cookie (`d_off` of the entry before it) and name. */
interface Entry {
  readonly index: number;
  readonly name: Uint8Array;
  readonly text: string;
}

const DOT: Entry = { index: 0, name: Buffer.from('.'), text: '.' };
const DOTDOT: Entry = { index: 1, name: Buffer.from('..'), text: '..' };

/**
 * A directory of the docroot. Its listing is read from the host incrementally (a directory
 * stream on the very directory that is open, through /proc), so memory stays bounded for any
 * size. Entries are numbered `.` 0, `..` 1, then the host's entries in the host's order; the
 * number after an entry is its `d_off`, the cookie `lseek(SEEK_SET)` accepts to resume there.
 */
export class DocrootDir extends DocrootNode {
  readonly kind = 'dir';
  readonly #isRoot: boolean;
  /** Cookie of the next entry `getdents64` returns. */
  #cookie = 0;
  #stream: Dir | null = null;
  /** Cookie the next entry read from the stream gets. */
  #streamNext = 2;
  #streamEnded = false;
  /** An entry read from the stream but not yet returned (it did not fit). */
  #peek: Entry | null = null;
  /** `getdents64` calls on one directory run one after the other (Linux: f_pos_lock). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: NodeContext, hostFd: number, path: string, st: BigIntStats, isRoot: boolean) {
    super(ctx, hostFd, path, st);
    this.#isRoot = isRoot;
  }

  /** Linux: reading a directory with read(2) is EISDIR. */
  override read(): number {
    return -EISDIR;
  }

  override poll(): number {
    return READY_IN | READY_OUT;
  }

  /** SEEK_SET to a cookie (0 rewinds), SEEK_CUR; SEEK_END is EINVAL. */
  lseek(offset: number, whence: number): number {
    const next = whence === SEEK_SET ? offset : whence === SEEK_CUR ? this.#cookie + offset : -1;
    if (next < 0) return -EINVAL;
    this.#cookie = next;
    return next;
  }

  /**
   * `getdents64`: write the next records into `mem[ptr … ptr+count)` (validated by the thin
   * layer): bytes written, 0 at the end, -EINVAL when not even the next record fits, or -errno.
   */
  getdents(mem: Uint8Array, dv: DataView, ptr: number, count: number): Promise<number> {
    // Counted as host I/O from the call on, not from when its turn comes: a close meanwhile must
    // not give the host descriptor back while the queued call still needs it.
    this.begin();
    const run = this.#queue.then(() => this.#getdents(mem, dv, ptr, count)).finally(() => this.end());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #getdents(mem: Uint8Array, dv: DataView, ptr: number, count: number): Promise<number> {
    this.ctx.counters.getdentsCalls++;
    const start = this.#cookie;
    let cookie = start;
    let written = 0;
    let stopped = false;
    while (!stopped && written === 0) {
      // Choose a batch by name length alone, then stat the batch at once.
      const batch: Entry[] = [];
      let bytes = 0;
      while (batch.length < DIRENTS_PER_CALL) {
        const e = await this.#entry(cookie);
        if (typeof e === 'number') {
          if (batch.length === 0) return e;
          stopped = true;
          break;
        }
        if (e === null) {
          stopped = true;
          break;
        }
        const rl = direntRecordBytes(e.name.length);
        if (bytes + rl > count) {
          if (batch.length === 0) return -EINVAL;
          stopped = true;
          break;
        }
        batch.push(e);
        bytes += rl;
        cookie = e.index + 1;
        if (this.#peek === e) this.#peek = null;
      }
      if (batch.length === 0) break;
      const stats = await Promise.all(batch.map((e) => this.#statOf(e)));
      for (let i = 0; i < batch.length; i++) {
        const e = batch[i]!;
        const st = stats[i]!;
        // Removed since it was listed: Linux would not show it either.
        if (st === -ENOENT) continue;
        if (typeof st === 'number') {
          // Resume at this entry next time; report the failure only if nothing was written.
          cookie = e.index;
          this.#peek = e;
          if (written === 0) return st;
          stopped = true;
          break;
        }
        written += writeDirent(mem, dv, ptr + written, st.ino, e.index + 1, direntType(Number(st.mode)), e.name);
        this.ctx.counters.direntsReturned++;
      }
    }
    // An lseek made while this call waited wins.
    if (this.#cookie === start) this.#cookie = cookie;
    return written;
  }

  /** The entry with cookie `index`, null past the end, or -errno. */
  async #entry(index: number): Promise<Entry | null | number> {
    if (index === 0) return DOT;
    if (index === 1) return DOTDOT;
    if (this.#peek !== null && this.#peek.index === index) return this.#peek;
    if (this.#stream === null || index < this.#streamNext) {
      const r = await this.#rewind();
      if (r < 0) return r;
    }
    const stream = this.#stream!;
    while (!this.#streamEnded) {
      const d = await this.ctx.host.readDir(stream);
      if (typeof d === 'number') return d;
      if (d === null) {
        this.#streamEnded = true;
        break;
      }
      const text = decodeName(d.name);
      if (text === null || text.includes('\uFFFD')) {
        this.ctx.counters.hiddenNames++;
        continue;
      }
      const e: Entry = { index: this.#streamNext++, name: d.name, text };
      if (e.index === index) return (this.#peek = e);
    }
    return null;
  }

  /** Start the host listing again from its first entry. */
  async #rewind(): Promise<number> {
    if (this.#stream !== null) this.ctx.host.closeDir(this.#stream);
    this.#stream = null;
    this.#peek = null;
    const s = await this.ctx.host.opendir(procPath(this.hostFd));
    if (typeof s === 'number') return s;
    this.#stream = s;
    this.#streamNext = 2;
    this.#streamEnded = false;
    return 0;
  }

  /** Inode and type of an entry: `.` is this directory, `..` its parent (itself at the root). */
  #statOf(e: Entry): Promise<BigIntStats | number> {
    const host = this.ctx.host;
    if (e === DOT || (e === DOTDOT && this.#isRoot)) return host.fstat(this.hostFd);
    return host.lstat(`${procPath(this.hostFd)}/${e.text}`);
  }

  protected override closeExtra(): void {
    if (this.#stream !== null) this.ctx.host.closeDir(this.#stream);
    this.#stream = null;
  }

  describe(): Record<string, unknown> {
    return { path: this.path, cookie: this.#cookie, listing: this.#stream !== null, hostOps: this.hostOps };
  }
}
