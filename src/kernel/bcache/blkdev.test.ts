/** The raw block device through system calls: blkdev_open/pread/pwrite, prefetch/commit with a channel. */
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, MemoryBlockDevice } from '../../disk/index.js';
import { VirtualClock } from '../../util/clock.js';
import { BLKDEV_DISK, O_DIRECT } from '../abi/blkdev.js';
import { O_RDONLY, O_RDWR, O_WRONLY } from '../abi/layout.js';
import { EACCES, EAGAIN, EBADF, EBUSY, EINVAL, ENOSPC, ENOTBLK } from '../abi/errno.js';
import { CHAN_MODE_RECORD, CHAN_REC_BYTES, POLLIN, POLLOUT, POLLFD_BYTES } from '../abi/layout.js';
import type { Libc } from '../abi/libc.js';
import { Kernel, type SpawnOptions } from '../kernel.js';
import { runXnProcess } from '../xn/testing/stack.js';
import { registerBlockDeviceSyscalls } from './blkdev.js';
import { BufferCache } from './buffer-cache.js';

function machine() {
  const dev = new MemoryBlockDevice({ blockCount: 256 });
  const cache = new BufferCache(dev, 64);
  const k = new Kernel({ clock: new VirtualClock() });
  const bd = registerBlockDeviceSyscalls(k, cache);
  return { dev, cache, k, bd };
}

const run = <T>(k: Kernel, uid: number, body: (sys: Libc) => Promise<T> | T, files?: SpawnOptions['files']): Promise<T> =>
  runXnProcess(k, uid, (_xc, sys) => body(sys), { memoryBytes: 1 << 20, ...(files === undefined ? {} : { files }) });

/** The next record of a channel: [request id, device, block, status]. */
async function record(sys: Libc, chan: number): Promise<number[]> {
  const buf = sys.malloc(CHAN_REC_BYTES);
  const n = await sys.read_wait(chan, buf, CHAN_REC_BYTES, -1);
  const v = sys.view;
  const r = [n, v.getUint32(buf, true), v.getUint32(buf + 4, true), Number(v.getBigUint64(buf + 8, true)), v.getInt32(buf + 16, true)];
  sys.free(buf);
  return r;
}

describe('the raw block device through system calls (thesis §3.3.1)', () => {
  it('is root’s: other users get EACCES; bad flags EINVAL; access modes are enforced (EBADF)', async () => {
    const { k } = machine();
    expect(await run(k, 1000, (sys) => sys.call('blkdev_open', O_RDWR))).toBe(-EACCES);
    const r = await run(k, 0, async (sys) => {
      const buf = sys.malloc(BLOCK_SIZE);
      const ro = sys.call('blkdev_open', O_RDONLY);
      const wo = sys.call('blkdev_open', O_WRONLY | O_DIRECT);
      return [sys.call('blkdev_open', 3), sys.call('blkdev_open', 0x40), await sys.call('blkdev_pwrite', ro, buf, BLOCK_SIZE, 0), await sys.call('blkdev_pread', wo, buf, BLOCK_SIZE, 0)];
    });
    expect(r).toEqual([-EINVAL, -EINVAL, -EBADF, -EBADF]);
  });

  it('O_DIRECT writes reach the disk before the call returns; reads return them; offsets and sizes are whole blocks; the end of the disk is EOF / ENOSPC', async () => {
    const { k, dev } = machine();
    const r = await run(k, 0, async (sys) => {
      const fd = sys.call('blkdev_open', O_RDWR | O_DIRECT);
      const buf = sys.malloc(4 * BLOCK_SIZE);
      sys.mem.fill(0x5a, buf, buf + 4 * BLOCK_SIZE);
      const w = await sys.call('blkdev_pwrite', fd, buf, 4 * BLOCK_SIZE, 10 * BLOCK_SIZE);
      const durable = dev.durableImage().get(13)?.[0];
      sys.mem.fill(0, buf, buf + 4 * BLOCK_SIZE);
      const rd = await sys.call('blkdev_pread', fd, buf, 4 * BLOCK_SIZE, 10 * BLOCK_SIZE);
      const same = sys.mem.subarray(buf, buf + 4 * BLOCK_SIZE).every((b) => b === 0x5a);
      return {
        w,
        durable,
        rd,
        same,
        unaligned: [await sys.call('blkdev_pread', fd, buf, 100, 0), await sys.call('blkdev_pwrite', fd, buf, BLOCK_SIZE, 512)],
        end: [await sys.call('blkdev_pread', fd, buf, BLOCK_SIZE, 256 * BLOCK_SIZE), await sys.call('blkdev_pread', fd, buf, 4 * BLOCK_SIZE, 254 * BLOCK_SIZE), await sys.call('blkdev_pwrite', fd, buf, BLOCK_SIZE, 300 * BLOCK_SIZE)],
        zero: await sys.call('blkdev_pread', fd, buf, 0, 0),
        fault: await sys.call('blkdev_pread', fd, 0, BLOCK_SIZE, 0),
      };
    });
    expect(r).toEqual({ w: 4 * BLOCK_SIZE, durable: 0x5a, rd: 4 * BLOCK_SIZE, same: true, unaligned: [-EINVAL, -EINVAL], end: [0, 2 * BLOCK_SIZE, -ENOSPC], zero: 0, fault: -14 });
  });

  it('buffered writes stay in the cache until commit, which notifies a record channel; prefetch fills the cache so reads need no disk I/O', async () => {
    const { k, dev } = machine();
    const r = await run(k, 0, async (sys) => {
      const fd = sys.call('blkdev_open', O_RDWR);
      const chan = sys.channel(CHAN_MODE_RECORD, 4);
      const buf = sys.malloc(2 * BLOCK_SIZE);
      sys.mem.fill(7, buf, buf + 2 * BLOCK_SIZE);
      const w = await sys.call('blkdev_pwrite', fd, buf, 2 * BLOCK_SIZE, 20 * BLOCK_SIZE);
      const before = dev.durableImage().has(20);
      const id = sys.call('commit', fd, 0, 256, chan);
      const rec = await record(sys, chan);
      const after = dev.durableImage().get(21)?.[0];
      const pf = sys.call('prefetch', fd, 30, 8, chan);
      const rec2 = await record(sys, chan);
      const reads = dev.stats().readRequests;
      const rd = await sys.call('blkdev_pread', fd, buf, 2 * BLOCK_SIZE, 30 * BLOCK_SIZE);
      return { w, before, id, rec, after, pf, rec2, rd, diskReads: dev.stats().readRequests - reads };
    });
    expect(r).toMatchObject({ w: 2 * BLOCK_SIZE, before: false, after: 7, rd: 2 * BLOCK_SIZE, diskReads: 0 });
    expect(r.id).toBeGreaterThan(0);
    expect(r.rec).toEqual([CHAN_REC_BYTES, r.id, BLKDEV_DISK, 0, 0]);
    expect(r.rec2).toEqual([CHAN_REC_BYTES, r.pf, BLKDEV_DISK, 30, 0]);
  });

  it('a full channel refuses the request (EAGAIN); a non-channel is EINVAL, a non-device ENOTBLK; XN’s blocks are EBUSY; the fd is always ready', async () => {
    const { k, cache } = machine();
    cache.ensure(50).reg = { type: 4, parentDb: -1, parentOff: 0, parentSlot: 0, initialized: true, uninitChildren: 0 };
    const r = await run(k, 0, async (sys) => {
      const fd = sys.call('blkdev_open', O_RDWR);
      const chan = sys.channel(CHAN_MODE_RECORD, 1);
      const pipe = sys.pipe() as [number, number];
      const buf = sys.malloc(BLOCK_SIZE);
      const first = sys.call('prefetch', fd, 1, 1, chan);
      const pfd = sys.malloc(POLLFD_BYTES);
      sys.view.setInt32(pfd, fd, true);
      sys.view.setInt16(pfd + 4, POLLIN | POLLOUT, true);
      const polled = await sys.poll(pfd, 1, 0);
      return [
        first > 0 ? 1 : first,
        sys.call('prefetch', fd, 2, 1, chan),
        sys.call('prefetch', fd, 2, 1, pipe[0]),
        sys.call('prefetch', pipe[0], 2, 1, chan),
        await sys.call('blkdev_pread', pipe[0], buf, BLOCK_SIZE, 0),
        await sys.call('blkdev_pread', fd, buf, BLOCK_SIZE, 50 * BLOCK_SIZE),
        polled,
        sys.view.getInt16(pfd + 6, true),
      ];
    });
    expect(r).toEqual([1, -EAGAIN, -EINVAL, -ENOTBLK, -ENOTBLK, -EBUSY, 1, POLLIN | POLLOUT]);
  });

  it('a descriptor handed to another process keeps its opener’s rights (a capability, as on Linux); exit and close release it', async () => {
    const { k, dev } = machine();
    let opener = -1;
    const owner = k.spawn('owner', async (sys) => {
      opener = sys.call('blkdev_open', O_RDWR | O_DIRECT);
      await new Promise((r) => setTimeout(r, 5));
    }, { uid: 0 });
    await new Promise((r) => setImmediate(r));
    const file = k.fileOf(owner, opener);
    const n = await run(k, 1000, async (sys) => {
      const buf = sys.malloc(BLOCK_SIZE);
      sys.mem.fill(3, buf, buf + BLOCK_SIZE);
      return sys.call('blkdev_pwrite', 5, buf, BLOCK_SIZE, 9 * BLOCK_SIZE);
    }, [[5, file!]]);
    expect(n).toBe(BLOCK_SIZE);
    expect(dev.durableImage().get(9)?.[0]).toBe(3);
    await owner.exited;
    k.assertNoLeaks();
  });
});
