/**
 * The raw block device as a descriptor kind and its system calls (thesis §3.3.1): the baseline
 * of the thesis's Figures 4-3/4-4 ("raw disk reads/writes", a read(2) on the raw SCSI disk) and
 * the minimal asynchronous alternative to XN, `prefetch(fd, block, n, chan)` and `commit`.
 *
 * - `blkdev_open(flags)`: uid 0 only (EACCES otherwise, as opening /dev/sda would be); the
 *   descriptor carries the opener's credential, so a process it is handed to acts as root on
 *   the disk — a descriptor is a capability, as on Linux.
 * - `blkdev_pread/pwrite(fd, buf, count, offset)`: whole blocks at a block-aligned byte offset
 *   (EINVAL otherwise — the O_DIRECT rule, applied to both modes); a read at or past the end
 *   returns 0, a longer one is cut short; a write past the end is ENOSPC. At most RAW_MAX_BLOCKS
 *   blocks move per call (a short count beyond). They block (the caller waits on the disk).
 * - `prefetch/commit(fd, block, n, chan)`: return a request id (≥ 1); the channel gets one record
 *   `{id, BLKDEV_DISK, block, status}` in a slot reserved at issue (EAGAIN when it has none).
 * - Readiness: a block device is always readable and writable (POLLIN | POLLOUT), as on Linux.
 * - Other descriptors given to these calls: ENOTBLK, as Linux says of a file that is not a
 *   block device.
 */
import { BLOCK_SIZE } from '../../disk/index.js';
import { BLKDEV_DISK, O_DIRECT } from '../abi/blkdev.js';
import { O_ACCMODE, O_RDONLY, O_WRONLY } from '../abi/layout.js';
import { EACCES, EAGAIN, EBADF, EINVAL, ENOSPC, ENOTBLK } from '../abi/errno.js';
import { O_CLOEXEC, O_NONBLOCK, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../abi/layout.js';
import type { Kernel } from '../kernel.js';
import { KernelFile } from '../proc/file.js';
import type { Process } from '../proc/process.js';
import type { BufferCache } from './buffer-cache.js';
import { CompletionRoute, completionStats, type CompletionStats } from './completion.js';
import { rawCommit, rawPrefetch, rawRead, rawWrite, RAW_MAX_BLOCKS, type Caller } from './raw-access.js';

/** An open raw disk. */
export class BlockDevFile extends KernelFile {
  readonly kind = 'blkdev';
  /** The opener (uid 0): every request on this descriptor runs with its credential. */
  readonly opener: Caller;
  readonly readable: boolean;
  readonly writable: boolean;
  /** O_DIRECT: writes go through to the disk. */
  readonly direct: boolean;
  bytesRead = 0;
  bytesWritten = 0;
  prefetches = 0;
  commits = 0;

  constructor(opener: Caller, flags: number) {
    super();
    this.opener = { pid: opener.pid, uid: opener.uid };
    this.readable = (flags & O_ACCMODE) !== O_WRONLY;
    this.writable = (flags & O_ACCMODE) !== O_RDONLY;
    this.direct = (flags & O_DIRECT) !== 0;
  }

  poll(): number {
    return POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
  }

  describe(): Record<string, unknown> {
    return {
      readable: this.readable,
      writable: this.writable,
      direct: this.direct,
      bytesRead: this.bytesRead,
      bytesWritten: this.bytesWritten,
      prefetches: this.prefetches,
      commits: this.commits,
    };
  }
}

/** What {@link registerBlockDeviceSyscalls} gives back. */
export interface BlockDeviceSyscalls {
  /** Completion routing counters of prefetch/commit. */
  readonly completions: Readonly<CompletionStats>;
}

const OPEN_FLAGS = O_ACCMODE | O_DIRECT | O_CLOEXEC | O_NONBLOCK;

/** The block range of a transfer, or -errno / 0 (nothing to move). */
function span(cache: BufferCache, count: number, offset: number, write: boolean): { block: number; n: number } | number {
  if (offset % BLOCK_SIZE !== 0 || count % BLOCK_SIZE !== 0) return -EINVAL;
  if (count === 0) return 0;
  const block = offset / BLOCK_SIZE;
  if (block >= cache.device.blockCount) return write ? -ENOSPC : 0;
  return { block, n: Math.min(count / BLOCK_SIZE, cache.device.blockCount - block, RAW_MAX_BLOCKS) };
}

/** Register the raw-device calls on `kernel`, over the machine's buffer cache. */
export function registerBlockDeviceSyscalls(kernel: Kernel, cache: BufferCache): BlockDeviceSyscalls {
  const stats = completionStats();

  const asyncRequest = (
    p: Process,
    f: KernelFile,
    chanFile: KernelFile,
    write: boolean,
    start: (dev: BlockDevFile, id: number, sink: (id: number, db: number, st: number) => void) => number,
  ): number => {
    if (!(f instanceof BlockDevFile)) return -ENOTBLK;
    if (write ? !f.writable : !f.readable) return -EBADF;
    const chan = kernel.asChannel(chanFile);
    if (chan === null) return -EINVAL;
    const route = CompletionRoute.open(kernel, p, chan, 0, cache.nextRequestId(), BLKDEV_DISK, stats);
    if (route === null) return -EAGAIN;
    const r = start(f, route.id, (_id, db, st) => route.deliver(db, st));
    if (r < 0) {
      route.cancel();
      return r;
    }
    if (write) f.commits++;
    else f.prefetches++;
    return route.id;
  };

  kernel.registerSyscalls({
    blkdev_open: (p, flags) => {
      if ((flags & ~OPEN_FLAGS) !== 0 || (flags & O_ACCMODE) === O_ACCMODE) return -EINVAL;
      if (p.uid !== 0) return -EACCES;
      return kernel.installFile(p, new BlockDevFile(p, flags));
    },
    blkdev_pread: (p, f, buf, count, offset) => {
      if (!(f instanceof BlockDevFile)) return -ENOTBLK;
      if (!f.readable) return -EBADF;
      const s = span(cache, count, offset, false);
      if (typeof s === 'number') return s;
      const bytes = s.n * BLOCK_SIZE;
      return rawRead(cache, f.opener, s.block, s.n, p.mem.subarray(buf, buf + bytes)).then((st) => {
        if (st < 0) return st;
        f.bytesRead += bytes;
        return bytes;
      });
    },
    blkdev_pwrite: (p, f, buf, count, offset) => {
      if (!(f instanceof BlockDevFile)) return -ENOTBLK;
      if (!f.writable) return -EBADF;
      const s = span(cache, count, offset, true);
      if (typeof s === 'number') return s;
      const bytes = s.n * BLOCK_SIZE;
      const done = (st: number): number => {
        if (st < 0) return st;
        f.bytesWritten += bytes;
        return bytes;
      };
      const r = rawWrite(cache, f.opener, s.block, s.n, p.mem.subarray(buf, buf + bytes), f.direct);
      return typeof r === 'number' ? done(r) : r.then(done);
    },
    prefetch: (p, f, block, n, chan) => asyncRequest(p, f, chan, false, (dev, id, sink) => rawPrefetch(cache, dev.opener, block, n, id, sink)),
    commit: (p, f, block, n, chan) => asyncRequest(p, f, chan, true, (dev, id, sink) => rawCommit(cache, dev.opener, block, n, id, sink)),
  });

  return { completions: stats };
}
