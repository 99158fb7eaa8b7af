/**
 * The DPF filter language — the part a process links, like ExOS's filter-building library: the
 * AST, the text syntax, the binary encoding copied into the kernel, the verifier, the canonical
 * form, the pcap-like expression compiler, the DPF codes and limits.
 *
 * Pure: imports nothing outside this folder, holds no state, never throws on bad input. The
 * kernel runs the same verifier on what it copies in; a user-side verify is a convenience.
 */
export * from './ast.js';
export * from './binary.js';
export * from './codes.js';
export { compatibleWith, determinedValue, SegmentBytes } from './bytes.js';
export * from './compile.js';
export * from './normalize.js';
export * from './pcap.js';
export * from './text.js';
export * from './verify.js';
