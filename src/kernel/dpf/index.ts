/**
 * DPF — dynamic packet filters (thesis §3.2; Engler & Kaashoek, SIGCOMM '96): processes claim
 * raw frames with filters in a little language; the kernel merges every filter into one trie,
 * compiles it into JS functions, and demultiplexes each received frame with one call.
 *
 * Pipeline of pure passes: parse (text or binary) → verify (`VerifiedFilter` + log) → normalize
 * (the canonical atoms; rewrites happen only here and after) → merge into the refcounted trie →
 * codegen (fixed templates, verified numbers only, shape-cached) → install by swapping one
 * reference. `DpfEngine` is the kernel object; `lang/` is the language a process links.
 *
 * This layer does not: own sockets, queues or processes (AF_DPF in `src/kernel/net` does),
 * touch NICs, log per frame above trace, or throw on anything a process supplied.
 */
export * from './lang/index.js';
export { DpfEngine } from './engine.js';
export type { DpfEngineOptions, DpfOwner, DpfStats, FilterInfo, InsertResult } from './engine.js';
export type { CodegenStats } from './codegen.js';
export type { FilterShapeCacheStats } from './shape-cache.js';
export { NaiveMatcher, compareFilters, matchesAlone } from './naive.js';
