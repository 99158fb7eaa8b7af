/**
 * @module kernel
 *
 * The emulated Linux kernel: the process table and system-call boundary (`kernel.ts`, `proc/`,
 * `syscall/`, `select/`, `chan/`), the network device layer and conventional path (`net/`), DPF
 * (`dpf/`), the one buffer cache (`bcache/`), XN (`xn/`) and the read-only docroot file system
 * (`vfs/`). User processes see none of this — only `abi/` (numbers, layouts and the `Libc`
 * wrapper).
 *
 * This file is the kernel's public surface for the composition root (`src/machine.ts`) and the
 * admin API.
 */
export { Kernel, type KernelOptions, type SpawnOptions, type Program, type ExitHook, type ProcessView, type FdView, type ExitStatus } from './kernel.js';
export { KernelFile } from './proc/file.js';
export type { Process } from './proc/process.js';
export { NetStack, NetIface, NetCounters, DropReason, HandledKind, type RxHook, type NetStackOptions, type ArpEntryView } from './net/index.js';
export { Docroot, resolveDocrootDir, type DocrootOptions, type DocrootStats } from './vfs/index.js';
