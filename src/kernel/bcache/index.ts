/**
 * The one buffer cache of the kernel (thesis §3.3.1, §4.1): block pages from the disk's DMA pool,
 * per-block registry entries XN uses (type, parent, initialized, dirty, locked, taint, pins),
 * LRU eviction of clean unpinned pages under a page budget — and the raw-device access path
 * (prefetch/commit) of the thesis's minimal alternative, on the same cache.
 *
 * It imports only the disk layer. It never decides whether a write is allowed; XN does.
 */
export { BufferCache, type BufEntry, type BufferCacheStats, type RegistryState } from './buffer-cache.js';
export { rawCommit, rawPrefetch, rawRead, rawWrite, RAW_MAX_BLOCKS, type Caller, type CompletionSink } from './raw-access.js';
export { CompletionRoute, completionStats, type CompletionKernel, type CompletionStats } from './completion.js';
