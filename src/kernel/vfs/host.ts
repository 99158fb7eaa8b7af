/**
 * The docroot's only door to the host file system. Every operation that may touch storage runs
 * on libuv's thread pool (Node's callback API) and settles with a value or `-errno`: nothing
 * here blocks the event loop the network path runs on, and nothing throws. The exceptions are
 * two calls that never touch storage and are therefore bounded: `close` of a read-only
 * descriptor, and `whereIs`, a readlink of `/proc/self/fd/N` (procfs builds the answer from the
 * kernel's dentry cache). `bench/vfs` measures both policies (docs/vfs.md).
 *
 * It also keeps the books the leak checks read: host descriptors held (files and directory
 * streams) and operations in flight.
 */
import { closeSync, fstat, lstat, open, opendir, read, readlink, readlinkSync, type BigIntStats, type Dir, type Dirent } from 'node:fs';
import { EACCES, EIO, ENFILE, EPERM, ERRNO_NAMES } from '../abi/errno.js';

/** Errnos a host failure may pass on unchanged; anything else becomes EIO. */
const HOST_EMFILE = 24;

/**
 * The kernel errno for a host failure (positive): the same number when the kernel's table knows
 * it; the daemon running out of descriptors is ENFILE (the "system" table is full, not the
 * process's); EPERM is EACCES (a refusal either way); anything unknown is EIO.
 */
export function hostErrno(err: NodeJS.ErrnoException): number {
  const n = typeof err.errno === 'number' ? -err.errno : 0;
  if (n === HOST_EMFILE || n === ENFILE) return ENFILE;
  if (n === EPERM) return EACCES;
  return ERRNO_NAMES.has(n) && n > 0 ? n : EIO;
}

/** A directory entry as read from the host: its raw name bytes. */
export type HostDirent = Dirent & { readonly name: Buffer };

/** Counters of host activity (a snapshot is part of `DocrootStats`). */
export interface HostCounters {
  /** Host descriptors held now (open files, directories and directory streams). */
  fds: number;
  /** Host operations in flight now. */
  inflight: number;
  /** Host operations started since mount. */
  ops: number;
  /** Host failures by errno name (after mapping). */
  errors: Record<string, number>;
}

/** The thread-pool wrappers, with the descriptor and in-flight accounting. */
export class HostFs {
  readonly counters: HostCounters = { fds: 0, inflight: 0, ops: 0, errors: {} };
  #idleWaiters: (() => void)[] = [];

  /** `lstat` with exact (bigint) fields: inode, size, nanosecond times. */
  lstat(path: string): Promise<BigIntStats | number> {
    this.#begin();
    return new Promise((resolve) => lstat(path, { bigint: true }, (err, st) => resolve(this.#end(err, st))));
  }

  fstat(fd: number): Promise<BigIntStats | number> {
    this.#begin();
    return new Promise((resolve) => fstat(fd, { bigint: true }, (err, st) => resolve(this.#end(err, st))));
  }

  /** A symlink's target, as raw bytes. */
  readlink(path: string): Promise<Buffer | number> {
    this.#begin();
    return new Promise((resolve) => readlink(path, { encoding: 'buffer' }, (err, target) => resolve(this.#end(err, target))));
  }

  /** Open read-only with `flags` (host `O_*`; libuv adds O_CLOEXEC): the host fd, or -errno. The fd counts as held until `close`. */
  open(path: string, flags: number): Promise<number> {
    this.#begin();
    return new Promise((resolve) =>
      open(path, flags, (err, fd) => {
        const r = this.#end(err, fd);
        if (r >= 0) this.counters.fds++;
        resolve(r);
      }),
    );
  }

  /** Close a held host fd. Bounded: a read-only descriptor has nothing to flush. */
  close(fd: number): void {
    this.counters.fds--;
    try {
      closeSync(fd);
    } catch (err) {
      this.#count(hostErrno(err as NodeJS.ErrnoException));
    }
  }

  /**
   * Read up to `len` bytes at `position` into `dst[off…]` — straight into the array, which may be
   * a process's memory: bytes read (0 at end of file) or -errno.
   */
  read(fd: number, dst: Uint8Array, off: number, len: number, position: number): Promise<number> {
    this.#begin();
    return new Promise((resolve) => read(fd, dst, off, len, position, (err, n) => resolve(this.#end(err, n))));
  }

  /** A directory stream (its own host fd, held until `closeDir`), with names as raw bytes. */
  opendir(path: string): Promise<Dir | number> {
    this.#begin();
    return new Promise((resolve) =>
      // Node supports 'buffer' here (names as raw bytes); its typings list only text encodings.
      opendir(path, { encoding: 'buffer' as BufferEncoding, bufferSize: 64 }, (err, dir) => {
        const r = this.#end(err, dir);
        if (typeof r !== 'number') this.counters.fds++;
        resolve(r);
      }),
    );
  }

  /** The next entry of a stream (null at its end), or -errno. */
  readDir(dir: Dir): Promise<HostDirent | null | number> {
    this.#begin();
    return new Promise((resolve) => dir.read((err, d) => resolve(this.#end(err, d as HostDirent | null))));
  }

  /** Close a directory stream. Asynchronous because a stream may not be closed synchronously from inside its own read's completion; counted in flight until done. */
  closeDir(dir: Dir): void {
    this.#begin();
    dir.close((err) => {
      this.counters.fds--;
      this.#end(err, 0);
    });
  }

  /**
   * Where the host kernel says an open descriptor is: the readlink of `/proc/self/fd/N`, as raw
   * bytes, or -errno. Synchronous and bounded: procfs answers from the dentry cache.
   */
  whereIs(fd: number): Buffer | number {
    try {
      return readlinkSync(procPath(fd), { encoding: 'buffer' });
    } catch (err) {
      return -this.#count(hostErrno(err as NodeJS.ErrnoException));
    }
  }

  /**
   * Resolves when no host operation is in flight and none was started by the continuations of
   * the last ones (checked again after a turn of the event loop, when those have run).
   */
  async idle(): Promise<void> {
    do {
      if (this.counters.inflight > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } while (this.counters.inflight > 0);
  }

  #begin(): void {
    this.counters.inflight++;
    this.counters.ops++;
  }

  #end<T>(err: NodeJS.ErrnoException | null, value: T): T | number {
    if (--this.counters.inflight === 0 && this.#idleWaiters.length > 0) {
      for (const w of this.#idleWaiters.splice(0)) w();
    }
    return err === null ? value : -this.#count(hostErrno(err));
  }

  #count(errno: number): number {
    const name = ERRNO_NAMES.get(errno) ?? 'EIO';
    this.counters.errors[name] = (this.counters.errors[name] ?? 0) + 1;
    return errno;
  }
}

/** `/proc/self/fd/N`: the host kernel's handle on an open descriptor, usable as a path (follows to the very file or directory that is open). */
export function procPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}
