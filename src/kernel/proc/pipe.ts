/**
 * Pipes: a bounded byte ring shared by a read end and a write end (pipe(7) semantics).
 *
 * - Read: up to the bytes buffered; 0 (EOF) when empty and every write end is closed; -EAGAIN when
 *   empty with a writer.
 * - Write: -EPIPE when every read end is closed (the caller also raises SIGPIPE). Writes of at
 *   most PIPE_BUF bytes are atomic (all or -EAGAIN); larger writes may be partial.
 * - Readiness: read end POLLIN when data is buffered, POLLHUP when no writer is left; write end
 *   POLLOUT when at least PIPE_BUF bytes are free, plus POLLERR when no reader is left.
 *
 * The ring grows on demand up to its capacity (a program with thousands of idle pipes holds
 * almost no memory), and is linearised when it grows.
 */
import { EAGAIN, EBADF, EPIPE } from '../abi/errno.js';
import { PIPE_BUF, PIPE_CAPACITY_BYTES, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../abi/layout.js';
import { KernelFile } from './file.js';

const EMPTY = new Uint8Array(0);

/** The shared buffer of one pipe. */
export class Pipe {
  readonly capacity: number;
  #buf: Uint8Array = EMPTY;
  #head = 0;
  #len = 0;
  readers = 0;
  writers = 0;
  readonly readEnd: PipeReadEnd;
  readonly writeEnd: PipeWriteEnd;
  /** Bytes ever written and read (admin counters). */
  bytesIn = 0;
  bytesOut = 0;

  constructor(capacity = PIPE_CAPACITY_BYTES) {
    this.capacity = capacity;
    this.readEnd = new PipeReadEnd(this);
    this.writeEnd = new PipeWriteEnd(this);
    this.readers = 1;
    this.writers = 1;
  }

  get buffered(): number {
    return this.#len;
  }

  read(dst: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.#len);
    if (n === 0) return len === 0 ? 0 : this.writers === 0 ? 0 : -EAGAIN;
    const size = this.#buf.length;
    const first = Math.min(n, size - this.#head);
    dst.set(this.#buf.subarray(this.#head, this.#head + first), off);
    if (first < n) dst.set(this.#buf.subarray(0, n - first), off + first);
    this.#head = (this.#head + n) % size;
    this.#len -= n;
    this.bytesOut += n;
    // Wake on every change, not only on edges: edge-triggered epoll users expect it (as Linux does).
    if (this.capacity - this.#len >= PIPE_BUF) this.writeEnd.waitq.wake(POLLOUT | POLLWRNORM);
    return n;
  }

  write(src: Uint8Array, off: number, len: number): number {
    if (this.readers === 0) return -EPIPE;
    const free = this.capacity - this.#len;
    if (len === 0) return 0;
    if (free === 0 || (len <= PIPE_BUF && free < len)) return -EAGAIN;
    const n = Math.min(len, free);
    if (this.#len + n > this.#buf.length) this.#grow(this.#len + n);
    const size = this.#buf.length;
    const tail = (this.#head + this.#len) % size;
    const first = Math.min(n, size - tail);
    this.#buf.set(src.subarray(off, off + first), tail);
    if (first < n) this.#buf.set(src.subarray(off + first, off + n), 0);
    this.#len += n;
    this.bytesIn += n;
    this.readEnd.waitq.wake(POLLIN | POLLRDNORM);
    return n;
  }

  #grow(need: number): void {
    const size = Math.min(this.capacity, Math.max(need, 2 * this.#buf.length, 256));
    const next = new Uint8Array(size);
    const old = this.#buf;
    const first = Math.min(this.#len, old.length - this.#head);
    next.set(old.subarray(this.#head, this.#head + first), 0);
    if (first < this.#len) next.set(old.subarray(0, this.#len - first), first);
    this.#buf = next;
    this.#head = 0;
  }

  readMask(): number {
    let m = 0;
    if (this.#len > 0) m |= POLLIN | POLLRDNORM;
    if (this.writers === 0) m |= POLLHUP;
    return m;
  }

  writeMask(): number {
    // As Linux's pipe_poll: room and a missing reader are reported independently.
    const room = this.capacity - this.#len >= PIPE_BUF ? POLLOUT | POLLWRNORM : 0;
    return this.readers === 0 ? room | POLLERR : room;
  }
}

/** What both ends share: the pipe they are ends of. */
abstract class PipeEnd extends KernelFile {
  readonly kind = 'pipe';
  protected readonly pipe: Pipe;
  constructor(pipe: Pipe) {
    super();
    this.pipe = pipe;
  }
}

export class PipeReadEnd extends PipeEnd {
  poll(): number {
    return this.pipe.readMask();
  }
  override read(dst: Uint8Array, off: number, len: number): number {
    return this.pipe.read(dst, off, len);
  }
  override write(): number {
    return -EBADF;
  }
  override writev(): number {
    return -EBADF;
  }
  override readableBytes(): number {
    return this.pipe.buffered;
  }
  override release(): void {
    this.pipe.readers--;
    this.pipe.writeEnd.waitq.wake(POLLERR);
  }
  describe(): Record<string, unknown> {
    const p = this.pipe;
    return { end: 'read', bufferedBytes: p.buffered, capacityBytes: p.capacity, writers: p.writers, bytesRead: p.bytesOut };
  }
}

export class PipeWriteEnd extends PipeEnd {
  poll(): number {
    return this.pipe.writeMask();
  }
  override read(): number {
    return -EBADF;
  }
  override readv(): number {
    return -EBADF;
  }
  override write(src: Uint8Array, off: number, len: number): number {
    return this.pipe.write(src, off, len);
  }
  override release(): void {
    this.pipe.writers--;
    this.pipe.readEnd.waitq.wake(POLLHUP | POLLIN);
  }
  describe(): Record<string, unknown> {
    const p = this.pipe;
    return { end: 'write', bufferedBytes: p.buffered, capacityBytes: p.capacity, readers: p.readers, bytesWritten: p.bytesIn };
  }
}
