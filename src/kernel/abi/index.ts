/**
 * The ExoLinux process ABI — everything a user process (Cheetah, tests, tools) may see of the
 * kernel: system-call numbers and argument kinds, errno numbers, signal numbers, struct layouts
 * and constants, and `Libc`, the typed wrapper over the trap with a heap allocator in the
 * process's own memory.
 *
 * It must not reach kernel internals: nothing here imports `src/kernel/*` outside this folder
 * (enforced by scripts/check-layers.mjs), and nothing crosses the boundary but numbers and
 * offsets into the process's own memory — so a process could run in a worker thread over a
 * SharedArrayBuffer without changing its code.
 */
export * from './errno.js';
export * from './layout.js';
export * from './signals.js';
export { NR, NR_MAX, SYSCALLS, SYSCALL_TABLE, syscallByNumber, xnThinError } from './syscalls.js';
export type { ArgSpec, BufArg, DeclOf, Dir, ErrorSpace, ScalarArg, ScalarKind, StringArg, StructArg, SyscallDecl, SyscallName, SyscallTable } from './syscalls.js';
export { Libc, ProcessExit } from './libc.js';
export type { SignalHandler, SyscallPort } from './libc.js';
export { Heap, HeapCorruption, readHeapStats } from './malloc.js';
export type { HeapStats } from './malloc.js';
export * from './xn.js';
export * from './xn-template.js';
export * from './blkdev.js';
export { XnClient } from './xn-client.js';
export type { ChanRecord, XnAttrEntry, XnInfo, XnModArg, XnOpArg, XnReport, XnRootEntry } from './xn-client.js';
