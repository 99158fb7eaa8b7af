/**
 * XN: protected raw disk access for library file systems (thesis §3.3, Appendix A). The thick
 * layer of every call (kernel-internal functions on plain numbers, kernel buffers and an explicit
 * caller context, returning Xok's codes), templates with verified UDFs, ad-hoc induction, the
 * three crash-ordering rules, boot-time freemap reconstruction and fsck.
 *
 * It uses the buffer cache (src/kernel/bcache) and, through it, the disk. It knows nothing of
 * processes' memory or file descriptors: the syscall glue copies arguments in and routes
 * completions.
 */
export * from './codes.js';
export { assemble, disassemble, runUdf, UdfOutput, OP, UDF_BUDGET, UDF_EXT_MAX, UDF_INST_MAX, type Extent } from './udf.js';
export { decodeTemplate, encodeTemplate, importTemplate, verifyTemplate, DB_TYPE, type TemplateSpec, type XnType, type VerifyResult } from './template.js';
export { Freemap, layoutFor, firstDataBlock, type CatalogueEntry, type Superblock } from './layout.js';
export { Xn, type FsckProblem, type FsckReport, type XnAttr, type XnContext, type XnInitResult, type XnMod, type XnOp } from './xn.js';
