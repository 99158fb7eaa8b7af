/**
 * The machine's disk, as the composition root boots and stops it: the SQLite device from
 * `config.disk`, the one buffer cache, XN brought online on it, and — once the kernel exists —
 * the XN and raw-device system calls.
 *
 * Boot: a relative `disk.path` is resolved against `baseDir` (the `--config` file's folder, or
 * the package folder); without a `baseDir` the disk is *ephemeral*, in a temporary folder removed
 * at stop (an in-process machine that did not say where its files live). A missing file is
 * created and formatted (`formatBlocks`) and that is logged; a foreign or damaged file is refused
 * with its `DISK_ERR_*` code, and XN failing to come online with `XN_ERR_INIT`.
 *
 * Stop (after the processes are gone): every dirty XN block the ordering rules allow is written
 * back (`Xn.flushAll`); then XN shuts down and writes its clean marker — or, when some blocks
 * could not be written, stays unclean and says which (the next boot then rebuilds the freemap
 * from the roots, which is exactly crash recovery); raw buffered writes are synced; the device
 * is closed.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Config } from '../../config/schema.js';
import { formatDiskFile, SqliteBlockDevice } from '../../disk/index.js';
import { DaemonError } from '../../errors.js';
import type { Logger } from '../../util/log.js';
import { xnCodeName, XN } from '../abi/xn.js';
import { registerBlockDeviceSyscalls, type BlockDeviceSyscalls } from '../bcache/blkdev.js';
import { BufferCache } from '../bcache/buffer-cache.js';
import { rawSync } from '../bcache/raw-access.js';
import type { Kernel } from '../kernel.js';
import { registerXnSyscalls, type XnSyscalls } from './syscalls.js';
import { Xn, type XnInitResult } from './xn.js';

/** Options of {@link openMachineDisk}. */
export interface MachineDiskOptions {
  log: Logger;
  /** Folder a relative `disk.path` is resolved against; absent: an ephemeral disk. */
  baseDir?: string;
}

/** The disk of a running machine. */
export interface MachineDisk {
  /** The disk file in use. */
  readonly path: string;
  /** In a temporary folder that stop removes. */
  readonly ephemeral: boolean;
  /** The file did not exist and was formatted at this boot. */
  readonly created: boolean;
  readonly device: SqliteBlockDevice;
  readonly cache: BufferCache;
  readonly xn: Xn;
  /** What XN's boot reported. */
  readonly boot: XnInitResult;
  /** The system-call layers, once attached. */
  readonly syscalls: { xn: XnSyscalls; blkdev: BlockDeviceSyscalls } | null;
  /** Register the XN and raw-device system calls on the machine's kernel (once). */
  attach(kernel: Kernel): void;
  /** Write back, shut XN down, sync, close (see the module comment). Idempotent. */
  stop(): Promise<void>;
}

/** Open (or create) the machine's disk and bring XN online on it. */
export async function openMachineDisk(cfg: Config['disk'], opts: MachineDiskOptions): Promise<MachineDisk> {
  const { log } = opts;
  if (cfg.cachePages > cfg.poolPages - 64) {
    throw new DaemonError('CONFIG_ERR_INVALID', `disk.cachePages (${cfg.cachePages}) must leave 64 of disk.poolPages (${cfg.poolPages}) for bounce transfers`);
  }
  const scratch = opts.baseDir === undefined ? mkdtempSync(join(tmpdir(), 'exolinux-disk-')) : null;
  const path = isAbsolute(cfg.path) ? cfg.path : resolve(scratch ?? (opts.baseDir as string), cfg.path);
  const dropScratch = (): void => {
    if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
  };
  let created = false;
  let device: SqliteBlockDevice;
  try {
    if (!existsSync(path)) {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (err) {
        throw new DaemonError('DISK_ERR_IO', `cannot create the folder of the disk file ${path}: ${(err as Error).message}`, { cause: err });
      }
      formatDiskFile(path, { blockCount: cfg.formatBlocks });
      created = true;
      log.info({ path, blocks: cfg.formatBlocks, ephemeral: scratch !== null }, 'disk file did not exist: created and formatted');
    }
    device = await SqliteBlockDevice.open(path, { poolPages: cfg.poolPages, quickCheck: cfg.quickCheck, latency: cfg.latencyModel });
  } catch (err) {
    dropScratch();
    throw err;
  }
  const cache = new BufferCache(device, cfg.cachePages);
  const xn = new Xn(cache, { log: log.child({ component: 'xn' }) });
  const boot = await xn.init({ repair: cfg.xnRepair });
  if (boot.code !== XN.SUCCESS) {
    await device.close();
    dropScratch();
    throw new DaemonError('XN_ERR_INIT', `XN cannot come online on ${path}: ${xnCodeName(boot.code)} ${boot.reason}`);
  }
  const f = boot.fsck;
  log.info(
    {
      path,
      blocks: device.blockCount,
      formatted: boot.formatted,
      wasClean: boot.wasClean,
      ...(f === null ? {} : { roots: f.roots, reachableBlocks: f.reachableBlocks, dangling: f.dangling, doublyOwned: f.doublyOwned, repaired: f.repaired }),
    },
    boot.wasClean || boot.formatted ? 'disk online' : 'disk online after an unclean shutdown: freemap rebuilt from the roots',
  );
  if (f !== null && f.dangling + f.doublyOwned > 0) log.warn({ problems: f.problems.slice(0, 20) }, 'XN found damaged pointers at boot (set disk.xnRepair to clear them)');
  if (boot.reason !== '') log.warn({ reason: boot.reason }, 'XN dropped damaged catalogue entries at boot');

  let syscalls: MachineDisk['syscalls'] = null;
  let stopped: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    const { written, left } = await xn.flushAll();
    if (left.length > 0) {
      log.warn({ left: left.length, blocks: left.slice(0, 20), written }, 'XN blocks left dirty (a never-written child without a page, or I/O errors): XN stays unclean, the next boot rebuilds the freemap from the roots');
    } else {
      const code = await xn.shutdown();
      if (code === XN.BOGUS_CTX) log.info('XN was already shut down');
      else if (code !== XN.SUCCESS) log.error({ code: xnCodeName(code) }, 'XN shutdown failed: the disk stays unclean');
    }
    const raw = await rawSync(cache);
    await cache.whenIdle();
    await device.close();
    dropScratch();
    log.info({ path, xnBlocksWritten: written, rawBlocksWritten: raw }, 'disk closed');
  };
  return {
    path,
    ephemeral: scratch !== null,
    created,
    device,
    cache,
    xn,
    boot,
    get syscalls() {
      return syscalls;
    },
    attach(kernel) {
      if (syscalls !== null) return;
      syscalls = { xn: registerXnSyscalls(kernel, xn), blkdev: registerBlockDeviceSyscalls(kernel, cache) };
    },
    stop: () => (stopped ??= stop()),
  };
}
