/**
 * @module kernel/vfs
 *
 * The docroot file system: one host directory mounted read-only as every process's `/`, and the
 * system calls over it (`open`, `fstat`, `lseek`, `pread64`, `getdents64`; `read` and `close` are
 * the kernel's generic calls on the descriptor kinds `file` and `dir` made here).
 *
 * It guarantees containment — no path, `..`, symlink, odd byte or race on the host reaches
 * anything outside the docroot — and that host I/O never stalls the event loop (the thread pool
 * does it). It must not write to the host, hold a host descriptor beyond the life of the kernel
 * file it belongs to (plus the I/O in flight on it), or throw across the system-call boundary.
 * Contract: docs/vfs.md.
 */
export { Docroot, resolveDocrootDir, type DocrootOptions, type DocrootStats } from './docroot.js';
export { DIRENTS_PER_CALL, READAHEAD_BYTES } from './node.js';
export { MAX_SYMLINKS } from './walk.js';
