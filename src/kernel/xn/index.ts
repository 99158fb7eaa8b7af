/**
 * XN: protected raw disk access for library file systems (thesis §3.3, Appendix A). The thick
 * layer of every call (kernel-internal functions on plain numbers, kernel buffers and an explicit
 * caller context, returning Xok's codes), templates with verified UDFs, ad-hoc induction, the
 * three crash-ordering rules, boot-time freemap reconstruction and fsck — and the thin layer
 * (`syscalls.ts`) that makes each call a system call: arguments copied in once from the caller's
 * memory, completions routed to a record-mode channel or a counter in the caller's memory.
 *
 * It uses the buffer cache (src/kernel/bcache) and, through it, the disk. The structures and
 * codes a process sees are the ABI's (`src/kernel/abi/xn.ts`, `xn-template.ts`).
 */
export * from '../abi/xn.js';
export { assemble, disassemble, encodeTemplate, OP, UDF_BUDGET, UDF_EXT_MAX, UDF_INST_MAX, type Extent, type TemplateSpec } from '../abi/xn-template.js';
export { runUdf, UdfOutput } from './udf.js';
export { decodeTemplate, importTemplate, verifyTemplate, DB_TYPE, type XnType, type VerifyResult } from './template.js';
export { Freemap, layoutFor, firstDataBlock, type CatalogueEntry, type Superblock } from './layout.js';
export { Xn, type XnOptions, type FsckProblem, type FsckReport, type XnAttr, type XnContext, type XnInitResult, type XnMod, type XnOp } from './xn.js';
export { registerXnSyscalls, type XnSyscalls } from './syscalls.js';
export { openMachineDisk, type MachineDisk, type MachineDiskOptions } from './machine-disk.js';
