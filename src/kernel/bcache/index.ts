/**
 * The one buffer cache of the kernel (thesis §3.3.1, §4.1): block pages from the disk's DMA pool,
 * per-block registry entries XN uses (type, parent, initialized, dirty, locked, taint, pins),
 * LRU eviction of clean unpinned pages under a page budget — and the raw-device access path
 * (prefetch/commit) of the thesis's minimal alternative, on the same cache.
 *
 * The raw device's descriptor kind and system calls (`blkdev.ts`) and the routing of asynchronous
 * completions to channels and counters (`completion.ts`, shared with XN) live here too. The cache
 * itself never decides whether a write is allowed; XN, or the raw device's root-only rule, does.
 */
export { BufferCache, type BufEntry, type BufferCacheStats, type RegistryState } from './buffer-cache.js';
export { rawCommit, rawDropClean, rawPrefetch, rawRead, rawSync, rawWrite, RAW_MAX_BLOCKS, type Caller, type CompletionSink } from './raw-access.js';
export { CompletionRoute, completionStats, type CompletionKernel, type CompletionStats } from './completion.js';
export { BlockDevFile, registerBlockDeviceSyscalls, type BlockDeviceSyscalls } from './blkdev.js';
