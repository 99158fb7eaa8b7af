/**
 * The raw block device as a process sees it (thesis §3.3.1, the minimal alternative to XN):
 * `blkdev_open(flags)` (uid 0) gives a descriptor for the whole disk; `blkdev_pread` /
 * `blkdev_pwrite` move whole blocks at block-aligned byte offsets; `prefetch` / `commit` work
 * asynchronously on the buffer cache and notify a channel.
 *
 * Flags keep their Linux x86-64 values (`fcntl.h`; the access modes are in layout.ts). With `O_DIRECT` a write goes to the disk and
 * is durable when the call returns; without it, writes go into the buffer cache and `commit`
 * writes them. Reads always see the newest data (cached blocks come from the cache).
 */

/** Write through to the disk instead of into the cache. */
export const O_DIRECT = 0x4000;
/** `chan_rec.device` of prefetch/commit completions: the machine's one disk (as XN's XN_DEV). */
export const BLKDEV_DISK = 0;
