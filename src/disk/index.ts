/**
 * The disk layer: block devices with a fixed 4096-byte block.
 *
 * - {@link BlockDevice}: the contract (page-level DMA requests with callbacks, copying Promise
 *   helpers, flush barrier, counters).
 * - {@link SqliteBlockDevice}: the machine's disk — an SQLite file whose I/O runs in a worker
 *   thread (the disk controller) fed through shared-memory queues; optional mechanical latency
 *   model.
 * - {@link MemoryBlockDevice}: in-memory, with a volatile write cache + crash simulation and
 *   fault injection, for fast tests.
 * - `runDiskCli`: `exolinuxd disk format|info|check FILE`.
 *
 * This layer knows nothing of XN, the buffer cache or processes; it imports only util/errors.
 */
export { BLOCK_SIZE, IO_EINVAL, IO_EIO, IO_ENODEV, IO_OK, MAX_RUN_BLOCKS, SECTOR_SIZE } from './constants.js';
export { BlockDeviceBase, ioError, type BlockDevice, type BlockDeviceStats, type IoDone, type WriteRun } from './block-device.js';
export { PagePool, ZERO_BLOCK } from './page-pool.js';
export { MemoryBlockDevice, xorshift32, type MemoryDeviceOptions } from './memory-device.js';
export { SqliteBlockDevice, type SqliteDeviceOptions } from './sqlite-device.js';
export { checkDiskFile, DISK_FORMAT_VERSION, DISK_MAGIC, formatDiskFile, openDiskFile, type DiskCheckReport, type DiskGeometry } from './sqlite-format.js';
export { clookOrder, DiskLatencyModel, THESIS_DISK, type LatencyModelConfig } from './latency-model.js';
export { runDiskCli, type CliIo } from './cli.js';
