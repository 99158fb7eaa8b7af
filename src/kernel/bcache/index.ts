/**
 * The one buffer cache of the kernel (thesis §3.3.1, §4.1): block pages from the disk's DMA pool,
 * per-block registry entries XN uses (type, parent, initialized, dirty, locked, taint, pins),
 * LRU eviction of clean unpinned pages under a page budget — and the raw-device access path
 * (prefetch/commit) of the thesis's minimal alternative, on the same cache.
 *
 * It imports only the disk layer. It never decides whether a write is allowed; XN does.
 */
export { BufferCache, type BufEntry, type BufferCacheStats, type RegistryState } from './buffer-cache.js';
export {
  rawCommit,
  rawCopyIn,
  rawCopyOut,
  rawPrefetch,
  RAW_EAGAIN,
  RAW_EBUSY,
  RAW_EINVAL,
  RAW_EIO,
  RAW_ENOMEM,
  RAW_EPERM,
  RAW_MAX_BLOCKS,
  type Caller,
  type CompletionSink,
} from './raw-access.js';
