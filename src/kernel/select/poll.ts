/**
 * poll(2): an array of `struct pollfd` in user memory, copied in once; `revents` written back
 * for every entry when the call returns a count. A negative fd is skipped (revents 0); an fd that
 * is not open reports POLLNVAL; POLLERR and POLLHUP are reported whether asked or not.
 */
import { EINVAL } from '../abi/errno.js';
import { POLLERR, POLLFD_BYTES, POLLFD_OFF_EVENTS, POLLFD_OFF_FD, POLLFD_OFF_REVENTS, POLLHUP, POLLNVAL } from '../abi/layout.js';
import type { Clock } from '../../util/clock.js';
import type { Process } from '../proc/process.js';
import { ScanScratch, deadlineOf, waitAndRescan, type ScanList } from './wait-scan.js';

/** Fill `revents` for every entry; the number of entries with events. */
export function pollScan(p: Process, list: ScanList): number {
  let count = 0;
  for (let i = 0; i < list.n; i++) {
    const fd = list.fds[i]!;
    let rev = 0;
    if (fd >= 0) {
      const f = p.fds.get(fd);
      rev = f === undefined ? POLLNVAL : f.poll() & (list.interest[i]! | POLLERR | POLLHUP);
    }
    list.revents[i] = rev;
    if (rev !== 0) count++;
  }
  return count;
}

function writeRevents(p: Process, fdsPtr: number, list: ScanList): void {
  for (let i = 0; i < list.n; i++) p.dv.setInt16(fdsPtr + i * POLLFD_BYTES + POLLFD_OFF_REVENTS, list.revents[i]!, true);
}

/**
 * The thick layer of poll: `fdsPtr` names `nfds` validated pollfd entries in `p`'s memory.
 * Returns the count (≥ 0), -EINVAL when nfds exceeds the fd limit, or -EINTR.
 */
export function doPoll(p: Process, clock: Clock, scratch: ScanScratch, fdsPtr: number, nfds: number, timeoutMs: number): number | Promise<number> {
  if (nfds > p.fds.limit) return -EINVAL;
  scratch.reset(nfds);
  const dv = p.dv;
  for (let i = 0; i < nfds; i++) {
    const at = fdsPtr + i * POLLFD_BYTES;
    scratch.fds[i] = dv.getInt32(at + POLLFD_OFF_FD, true);
    scratch.interest[i] = dv.getUint16(at + POLLFD_OFF_EVENTS, true);
  }
  const count = pollScan(p, scratch);
  if (count > 0 || timeoutMs === 0) {
    writeRevents(p, fdsPtr, scratch);
    return count;
  }
  const list = scratch.snapshot();
  return waitAndRescan(p, clock, list, deadlineOf(clock, timeoutMs), () => pollScan(p, list)).then((r) => {
    if (r >= 0) writeRevents(p, fdsPtr, list);
    return r;
  });
}
