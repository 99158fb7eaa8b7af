/** Geometry and status constants shared by every block device (and the disk controller). */

/** Bytes per block; the whole system (XN, buffer cache, SQLite rows) uses this one size. */
export const BLOCK_SIZE = 4096;

/** Bytes per sector: the unit a torn write trashes in the crash simulator (8 per block). */
export const SECTOR_SIZE = 512;

/** Largest run one controller request carries (64 blocks = 256 KiB); longer runs are split. */
export const MAX_RUN_BLOCKS = 64;

/** Request status: success. */
export const IO_OK = 0;
/** Request status: the medium failed (SQLite error, injected fault, dead controller). Linux EIO. */
export const IO_EIO = -5;
/** Request status: bad arguments (range, pages). Linux EINVAL. */
export const IO_EINVAL = -22;
/** Request status: the device is closed. Linux ENODEV. */
export const IO_ENODEV = -19;
