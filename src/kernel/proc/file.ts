/**
 * The open-file object behind a descriptor (Linux's `struct file`), and the registry that counts
 * its references.
 *
 * A subsystem adds an fd kind by subclassing `KernelFile`: give it a `kind`, a `poll()` readiness
 * mask, the operations it supports (the defaults return the errno Linux gives for an object that
 * lacks them), a `describe()` for the admin API, and `release()` for its last reference. Whenever
 * its readiness may have changed it calls `this.waitq.wake(events)`.
 *
 * Buffer convention: operations take `(bytes, offset, length)` over any `Uint8Array` — the
 * process's memory (the thin layer has validated the range) or a kernel buffer (thesis §2.3.2:
 * the thick layer is callable from inside the kernel). An operation never keeps the array.
 */
import { EINVAL, ENOTSOCK, ENOTTY } from '../abi/errno.js';
import { WaitQueue } from './wait.js';

/** Told when a file's last reference goes (epoll registrations use it to unhook). */
export interface FileWatcher {
  fileReleased(file: KernelFile): void;
}

export abstract class KernelFile {
  /** Short kind name shown by the admin API (`pipe`, `channel`, `packet`, `epoll`, …). */
  abstract readonly kind: string;
  /** Woken with the events that may now hold. */
  readonly waitq = new WaitQueue();
  /** Epoll instances (and the like) watching this file; told on release. */
  readonly watchers = new Set<FileWatcher>();
  /** References: descriptors in any process plus kernel holds. Managed by `OpenFiles`. */
  refs = 0;

  /** Current readiness, a POLL* mask. */
  abstract poll(): number;

  /** Read up to `len` bytes into `dst[off…]`: bytes read, 0 at end of file, or -errno (-EAGAIN: nothing yet). */
  read(_dst: Uint8Array, _off: number, _len: number): number {
    return -EINVAL;
  }

  /** Write up to `len` bytes from `src[off…]`: bytes written or -errno (-EAGAIN: no room). */
  write(_src: Uint8Array, _off: number, _len: number): number {
    return -EINVAL;
  }

  /**
   * Write the concatenation of `iov` (`total` bytes). Default: consecutive `write`s, stopping at
   * the first short one (byte-stream semantics). Message-oriented files override it.
   */
  writev(iov: readonly Uint8Array[], _total: number): number {
    return eachPiece(iov, (v) => this.write(v, 0, v.length));
  }

  /** Scatter a read into `iov`. Default: consecutive `read`s, stopping at the first short one. */
  readv(iov: readonly Uint8Array[]): number {
    return eachPiece(iov, (v) => this.read(v, 0, v.length));
  }

  /** Bytes ready to read (FIONREAD), or -ENOTTY. */
  readableBytes(): number {
    return -ENOTTY;
  }

  /** A device-specific request with a scalar argument; -ENOTTY when unknown. */
  ioctl(_request: number, _arg: number): number {
    return -ENOTTY;
  }

  /** Send one message gathered from `iov` to `addr` (a kernel copy of the sockaddr, or null). */
  sendmsg(_iov: readonly Uint8Array[], _total: number, _addr: Uint8Array | null): number {
    return -ENOTSOCK;
  }

  /** Bind a socket to `addr` (a kernel copy). */
  bind(_addr: Uint8Array): number {
    return -ENOTSOCK;
  }

  /** The last reference went: free what the object holds. Called exactly once. */
  release(): void {}

  /** State for the admin API (JSON-safe). */
  abstract describe(): Record<string, unknown>;
}

/**
 * Byte-stream scatter/gather: `op` on each non-empty piece in turn until one is short. Returns
 * the bytes moved, or the first error when nothing moved.
 */
function eachPiece(iov: readonly Uint8Array[], op: (v: Uint8Array) => number): number {
  let done = 0;
  for (const v of iov) {
    if (v.length === 0) continue;
    const r = op(v);
    if (r < 0) return done > 0 ? done : r;
    done += r;
    if (r < v.length) break;
  }
  return done;
}

/** Every file with references, and the reference counting that releases them. */
export class OpenFiles {
  readonly #live = new Set<KernelFile>();

  /** One more reference (a descriptor or a kernel hold). */
  ref(f: KernelFile): void {
    if (f.refs++ === 0) this.#live.add(f);
  }

  /** One reference fewer; the last one releases the file and unhooks its watchers. */
  unref(f: KernelFile): void {
    if (f.refs <= 0) throw new Error(`unref of a released ${f.kind} file`); // a kernel bug: surfaces as EIO + log
    if (--f.refs > 0) return;
    this.#live.delete(f);
    for (const w of f.watchers) w.fileReleased(f);
    f.watchers.clear();
    f.release();
  }

  get size(): number {
    return this.#live.size;
  }

  values(): IterableIterator<KernelFile> {
    return this.#live.values();
  }
}
