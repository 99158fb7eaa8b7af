/**
 * The shared-memory queues between the main thread and the disk controller worker, shaped like an
 * NVMe submission/completion queue pair: fixed-size entries in a SharedArrayBuffer, single
 * producer and single consumer per queue, indexes published with `Atomics.store` and doorbells
 * rung with `Atomics.notify`. No message is posted per request.
 *
 * Layout (Int32 words): control words, then `SQ_DEPTH` submission entries, then `SQ_DEPTH`
 * completion entries. The main thread never has more than `SQ_DEPTH` entries outstanding, so the
 * completion queue cannot overflow.
 */
import { MAX_RUN_BLOCKS } from './constants.js';

/** Entries per queue (a power of two). */
export const SQ_DEPTH = 256;
/** Control word: submission tail (written by main). */
export const C_SQ_TAIL = 0;
/** Control word: completion tail (written by the controller). */
export const C_CQ_TAIL = 1;
/** Control word: 1 once main asks the controller to close. */
export const C_CLOSE = 2;
/** Control words reserved. */
export const CTRL_WORDS = 8;
/** Words per submission entry: id, op|flags, block, count, then the page list. */
export const SQE_WORDS = 4 + MAX_RUN_BLOCKS;
/** Words per completion entry: id, status. */
export const CQE_WORDS = 2;
/** Offset (words) of the submission queue. */
export const SQ_OFF = CTRL_WORDS;
/** Offset (words) of the completion queue. */
export const CQ_OFF = SQ_OFF + SQ_DEPTH * SQE_WORDS;
/** Total words of the ring buffer. */
export const RING_WORDS = CQ_OFF + SQ_DEPTH * CQE_WORDS;

/** Submission opcodes. */
export const OP_READ = 1;
export const OP_WRITE = 2;
export const OP_FLUSH = 3;
/** Flag on a write entry: the next entry belongs to the same atomic group. */
export const F_GROUP_CONT = 0x100;
/** Mask of the opcode in the op|flags word. */
export const OP_MASK = 0xff;

/** Shared counters the controller keeps (Float64 slots of the stats buffer). */
export const STAT_NAMES = [
  'batches',
  'transactions',
  'maxBatch',
  'rowsRead',
  'rowsWritten',
  'rowsDeleted',
  'sqliteErrors',
  'modeledUs',
  'busyUs',
] as const;

/** What the controller thread is started with. */
export interface ControllerInit {
  path: string;
  pool: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  quickCheck: boolean;
  latency: import('./latency-model.js').LatencyModelConfig | null;
  /** Test hook: SIGKILL this process around the n-th commit (1-based). */
  crashAtCommit: number | null;
  crashWhen: 'before' | 'after';
}

/** The controller's messages to main (only at start-up and shutdown, never per request). */
export type ControllerMessage =
  | { type: 'ready'; blockCount: number; formatVersion: number }
  | { type: 'error'; code: string; message: string }
  | { type: 'closed' };
