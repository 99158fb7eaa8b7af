/**
 * A process's descriptor table: small integers → open files, with a limit (RLIMIT_NOFILE).
 * New descriptors get the lowest free number, as POSIX requires. Reference counting is the
 * caller's (`OpenFiles`); the table only maps numbers.
 */
import type { KernelFile } from './file.js';

export class FdTable {
  /** Highest descriptor number + 1 a process may use. */
  readonly limit: number;
  readonly #files: (KernelFile | undefined)[] = [];
  #count = 0;
  /** No descriptor below this is free. */
  #lowFree = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** The file at `fd`, or undefined (also for any non-descriptor number). */
  get(fd: number): KernelFile | undefined {
    return this.#files[fd];
  }

  /** Open descriptors. */
  get count(): number {
    return this.#count;
  }

  /** How many more descriptors can be opened. */
  available(): number {
    return this.limit - this.#count;
  }

  /** Put `file` at the lowest free number; -1 when the table is full. */
  install(file: KernelFile): number {
    const files = this.#files;
    let fd = this.#lowFree;
    while (fd < files.length && files[fd] !== undefined) fd++;
    if (fd >= this.limit) return -1;
    if (fd === files.length) files.push(file);
    else files[fd] = file;
    this.#count++;
    this.#lowFree = fd + 1;
    return fd;
  }

  /** Put `file` at `fd` (< limit), returning what was there. */
  installAt(fd: number, file: KernelFile): KernelFile | undefined {
    const files = this.#files;
    while (files.length <= fd) files.push(undefined);
    const old = files[fd];
    files[fd] = file;
    if (old === undefined) {
      this.#count++;
      if (fd === this.#lowFree) this.#lowFree = fd + 1;
    }
    return old;
  }

  /** Take the file out of `fd`. */
  remove(fd: number): KernelFile | undefined {
    const old = this.#files[fd];
    if (old === undefined) return undefined;
    this.#files[fd] = undefined;
    this.#count--;
    if (fd < this.#lowFree) this.#lowFree = fd;
    // Keep the array short when the top descriptors close (process exit, many short-lived fds).
    while (this.#files.length > 0 && this.#files[this.#files.length - 1] === undefined) this.#files.pop();
    return old;
  }

  /** `[fd, file]` for every open descriptor, in order. */
  *entries(): IterableIterator<[number, KernelFile]> {
    const files = this.#files;
    for (let fd = 0; fd < files.length; fd++) {
      const f = files[fd];
      if (f !== undefined) yield [fd, f];
    }
  }
}
