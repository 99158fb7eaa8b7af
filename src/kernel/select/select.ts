/**
 * select(2) with Linux's fd_set layout: each set is a bitmap of `nfds` bits in little-endian
 * 64-bit words (`ceil(nfds / 64) × 8` bytes; bit `fd % 8` of byte `fd / 8`), so sets larger than
 * FD_SETSIZE (1024) work, as they do at Linux's syscall level. The sets are copied in once; on
 * return each non-NULL set is overwritten with the ready subset and the call returns the number
 * of bits set. A set fd that is not open fails the call with EBADF. The timeout (a copied-in
 * `struct timeval`, NULL = forever) is not written back.
 */
import { EBADF, EINVAL } from '../abi/errno.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDBAND, POLLRDNORM, POLLWRBAND, POLLWRNORM, TIMEVAL_OFF_SEC, TIMEVAL_OFF_USEC } from '../abi/layout.js';
import type { Clock } from '../../util/clock.js';
import type { Process } from '../proc/process.js';
import { ScanScratch, deadlineOf, waitAndRescan, type ScanList } from './wait-scan.js';

// Which poll events make an fd appear in each set (Linux fs/select.c).
const IN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
const OUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
const EX_SET = POLLPRI;
// Interest bits recorded per entry: which sets named the fd.
const WANT_R = 1;
const WANT_W = 2;
const WANT_E = 4;

/** Bytes of a set for `nfds` descriptors. */
export function fdSetBytes(nfds: number): number {
  return Math.ceil(nfds / 64) * 8;
}

/** Ready bits of every entry; a count of set bits, or -EBADF when an fd is not open. */
function selectScan(p: Process, list: ScanList): number {
  let count = 0;
  for (let i = 0; i < list.n; i++) {
    const f = p.fds.get(list.fds[i]!);
    if (f === undefined) return -EBADF;
    const m = f.poll();
    const want = list.interest[i]!;
    let rev = 0;
    if ((want & WANT_R) !== 0 && (m & IN_SET) !== 0) rev |= WANT_R;
    if ((want & WANT_W) !== 0 && (m & OUT_SET) !== 0) rev |= WANT_W;
    if ((want & WANT_E) !== 0 && (m & EX_SET) !== 0) rev |= WANT_E;
    list.revents[i] = rev;
    count += (rev & 1) + ((rev >> 1) & 1) + ((rev >> 2) & 1);
  }
  return count;
}

function writeSets(p: Process, nfds: number, r: number, w: number, e: number, list: ScanList): void {
  const bytes = fdSetBytes(nfds);
  if (r !== 0) p.mem.fill(0, r, r + bytes);
  if (w !== 0) p.mem.fill(0, w, w + bytes);
  if (e !== 0) p.mem.fill(0, e, e + bytes);
  for (let i = 0; i < list.n; i++) {
    const rev = list.revents[i]!;
    if (rev === 0) continue;
    const fd = list.fds[i]!;
    const byte = fd >>> 3;
    const bit = 1 << (fd & 7);
    if ((rev & WANT_R) !== 0) p.mem[r + byte]! |= bit;
    if ((rev & WANT_W) !== 0) p.mem[w + byte]! |= bit;
    if ((rev & WANT_E) !== 0) p.mem[e + byte]! |= bit;
  }
}

/** Timeout in ms from a copied-in timeval; -1 = forever; -2 = invalid. */
function timeoutOf(tv: DataView | null): number {
  if (tv === null) return -1;
  const sec = tv.getBigInt64(TIMEVAL_OFF_SEC, true);
  const usec = tv.getBigInt64(TIMEVAL_OFF_USEC, true);
  if (sec < 0n || usec < 0n || usec >= 1_000_000n) return -2;
  // Anything past ~285 years is "forever" for a process here.
  if (sec > 9_000_000_000n) return -1;
  return Number(sec) * 1000 + Number(usec) / 1000;
}

/**
 * The thick layer of select: `r`/`w`/`e` are validated set pointers (0 = NULL) of
 * `fdSetBytes(nfds)` bytes in `p`'s memory.
 */
export function doSelect(p: Process, clock: Clock, scratch: ScanScratch, nfds: number, r: number, w: number, e: number, tv: DataView | null): number | Promise<number> {
  if (nfds < 0) return -EINVAL;
  const timeoutMs = timeoutOf(tv);
  if (timeoutMs === -2) return -EINVAL;
  // Linux clamps nfds to the size of the descriptor table.
  const n = Math.min(nfds, p.fds.limit);
  // Copy the sets in once (no double fetch), then parse the kernel copy.
  const setBytes = (n + 7) >>> 3;
  const bits = scratch.bitmaps(setBytes);
  bits.fill(0, 0, 3 * setBytes);
  if (r !== 0) bits.set(p.mem.subarray(r, r + setBytes), 0);
  if (w !== 0) bits.set(p.mem.subarray(w, w + setBytes), setBytes);
  if (e !== 0) bits.set(p.mem.subarray(e, e + setBytes), 2 * setBytes);
  let named = 0;
  for (let byte = 0; byte < setBytes; byte++) {
    const any = bits[byte]! | bits[setBytes + byte]! | bits[2 * setBytes + byte]!;
    if (any !== 0) for (let b = 0; b < 8 && byte * 8 + b < n; b++) named += (any >> b) & 1;
  }
  scratch.reset(named);
  let k = 0;
  for (let byte = 0; byte < setBytes; byte++) {
    const rb = bits[byte]!;
    const wb = bits[setBytes + byte]!;
    const eb = bits[2 * setBytes + byte]!;
    if ((rb | wb | eb) === 0) continue;
    for (let b = 0; b < 8 && byte * 8 + b < n; b++) {
      const want = ((rb >> b) & 1) * WANT_R | ((wb >> b) & 1) * WANT_W | ((eb >> b) & 1) * WANT_E;
      if (want === 0) continue;
      scratch.fds[k] = byte * 8 + b;
      scratch.interest[k] = want;
      k++;
    }
  }
  const count = selectScan(p, scratch);
  if (count < 0) return count;
  if (count > 0 || timeoutMs === 0) {
    writeSets(p, nfds, r, w, e, scratch);
    return count;
  }
  const list = scratch.snapshot();
  return waitAndRescan(p, clock, list, deadlineOf(clock, timeoutMs), () => selectScan(p, list)).then((res) => {
    if (res >= 0) writeSets(p, nfds, r, w, e, list);
    return res;
  });
}
