/**
 * The disk half of the machine for tests that run outside the daemon (the crash tests, the
 * benchmark): a kernel with the XN and raw-device system calls over one buffer cache on a
 * device — assembled as `machine-disk.ts` does — and a helper that runs a user program as a
 * process and hands back its result. XN is left offline: a process brings it up with `xn_init`.
 */
import type { BlockDevice } from '../../../disk/index.js';
import { VirtualClock } from '../../../util/clock.js';
import type { Libc } from '../../abi/libc.js';
import { XnClient } from '../../abi/xn-client.js';
import { registerBlockDeviceSyscalls } from '../../bcache/blkdev.js';
import { BufferCache } from '../../bcache/buffer-cache.js';
import { Kernel, type SpawnOptions } from '../../kernel.js';
import { registerXnSyscalls } from '../syscalls.js';
import { Xn } from '../xn.js';

/** Kernel + cache + XN over `device`. `virtualClock`: timers only advance when a test says so. */
export function xnStack(device: BlockDevice, cachePages: number, opts: { virtualClock?: boolean } = {}) {
  const cache = new BufferCache(device, cachePages);
  const xn = new Xn(cache);
  const kernel = new Kernel(opts.virtualClock === true ? { clock: new VirtualClock() } : {});
  const syscalls = registerXnSyscalls(kernel, xn);
  const blkdev = registerBlockDeviceSyscalls(kernel, cache);
  return { kernel, cache, xn, syscalls, blkdev };
}

/**
 * Run `body` as a process of `uid` (4 MiB of memory unless `opts` says otherwise) with an
 * XnClient; its result, or its error rethrown.
 */
export async function runXnProcess<T>(kernel: Kernel, uid: number, body: (xc: XnClient, sys: Libc) => Promise<T> | T, opts: Omit<SpawnOptions, 'uid'> = {}): Promise<T> {
  let out = { e: new Error('did not run') as unknown } as { v: T } | { e: unknown };
  const p = kernel.spawn('xn-user', async (sys) => {
    try {
      out = { v: await body(new XnClient(sys), sys) };
    } catch (e) {
      out = { e };
    }
  }, { memoryBytes: 4 << 20, ...opts, uid });
  await p.exited;
  if ('e' in out) throw out.e;
  return out.v;
}
