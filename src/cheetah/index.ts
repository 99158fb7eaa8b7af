/**
 * @module cheetah
 *
 * Cheetah, the web server of the thesis (§1.2.1, §4.2.1; DESIGN.md §7), as a process of the
 * emulated kernel: its own TCP/IP stack (`net/`) and HTTP engine (`http/`), joined by the server
 * core (`core.ts`, `session.ts`) and run by the process (`server.ts`), which claims TCP port 80
 * on every card with DPF filters (one per card, one per connection), waits on its AF_DPF sockets
 * with epoll, receives frames in batches into its own memory and sends every segment as one
 * gather list pointing into that memory (headers, cached documents).
 *
 * What it must not do: reach the kernel other than through system calls (`sys`, the ABI), or
 * import kernel internals — enforced by scripts/check-layers.mjs. The daemon sees it only
 * through `CheetahView` (read-only snapshots).
 *
 * Behaviour, configuration, measurements and limits: docs/cheetah.md.
 */
export { CheetahCore, type CheetahCoreInit, type CheetahMemory, type ClosedByReason, type ConnectionHooks } from './core.js';
export { DEFAULT_CHEETAH_OPTIONS, runCheetah, type CheetahOptions, type CheetahStart } from './server.js';
export { Session } from './session.js';
export { ChecksumCache, type ChecksumCacheStats } from './checksum-cache.js';
export { ConnectionFilterTemplate, listenerFilter } from './filters.js';
export {
  CheetahView,
  type CheetahConnectionInfo,
  type CheetahDpfCounters,
  type CheetahExitInfo,
  type CheetahIoCounters,
  type CheetahListenerInfo,
  type CheetahStatus,
  type CheetahTimeWaitInfo,
  type CheetahViewSource,
} from './view.js';
