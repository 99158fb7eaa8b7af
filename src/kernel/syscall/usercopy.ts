/**
 * Nested user pointers: structures that point to more user memory (iovecs, a msghdr's name and
 * iov). The thin layer validated the outer array; these helpers read each inner (pointer, length)
 * once, validate every range before any byte moves (all-or-nothing: a faulting tail transfers
 * nothing), and hand out views — the large buffers themselves are not copied (thesis §2.3.2).
 */
import { EFAULT, EINVAL } from '../abi/errno.js';
import { IOVEC_BYTES, IOVEC_OFF_BASE, IOVEC_OFF_LEN, SSIZE_MAX, UIO_MAXIOV } from '../abi/layout.js';
import type { Process } from '../proc/process.js';
import { rangeOk } from './thin.js';

/**
 * Read `iovcnt` iovecs at `iovPtr` (a range the caller validated) into `out` as views of the
 * process's memory. Returns the total byte count, or -EINVAL (count out of range, total above
 * SSIZE_MAX) / -EFAULT (an entry outside memory). `out` is cleared first and reused.
 */
export function importIovec(p: Process, iovPtr: number, iovcnt: number, out: Uint8Array[]): number {
  out.length = 0;
  if (iovcnt < 0 || iovcnt > UIO_MAXIOV) return -EINVAL;
  let total = 0;
  const dv = p.dv;
  for (let i = 0; i < iovcnt; i++) {
    const base = dv.getUint32(iovPtr + i * IOVEC_BYTES + IOVEC_OFF_BASE, true);
    const len = dv.getUint32(iovPtr + i * IOVEC_BYTES + IOVEC_OFF_LEN, true);
    total += len;
    if (total > SSIZE_MAX) {
      out.length = 0;
      return -EINVAL;
    }
    if (len !== 0 && !rangeOk(p, base, len)) {
      out.length = 0;
      return -EFAULT;
    }
    out.push(p.mem.subarray(base, base + len));
  }
  return total;
}

/** A kernel copy of `len` bytes at `ptr`, or null when the range is not mapped. */
export function copyIn(p: Process, ptr: number, len: number): Uint8Array | null {
  return rangeOk(p, ptr, len) ? p.mem.slice(ptr, ptr + len) : null;
}
