/**
 * The shared-memory queues between the main thread and the disk controller worker, shaped like an
 * NVMe submission/completion queue pair: fixed-size entries in a SharedArrayBuffer, single
 * producer and single consumer per queue, indexes published with `Atomics.store` and doorbells
 * rung with `Atomics.notify`. No message is posted per request: the controller wakes the main
 * thread with one small message per batch, and only when main asked for it (`C_WAKE`).
 *
 * Layout (Int32 words): control words; the submission ring (`SQ_DEPTH` words, each the number
 * of an entry slot, in submission order); `SQ_DEPTH` entry slots; the completion ring
 * (`SQ_DEPTH` × {slot, status}). Main takes a slot from its free list, fills it, appends its
 * number to the submission ring; the controller completes slots in any order (the latency model
 * serves a batch in C-LOOK order), and main frees a slot only when it has consumed its
 * completion, so a completion always names the request it belongs to. At most `SQ_DEPTH` slots
 * are in use, so neither ring can overflow.
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
/** Control word: main sets 1 when it wants a wake-up message at the next completion. */
export const C_WAKE = 3;
/** Control word: submission head (written by the controller once it has copied a batch's slot
 * numbers); main never writes a ring position the controller has not passed. */
export const C_SQ_HEAD = 4;
/** Control words reserved. */
export const CTRL_WORDS = 8;
/** Words per entry slot: (unused), op|flags, block, count, then the page list. */
export const SQE_WORDS = 4 + MAX_RUN_BLOCKS;
/** Words per completion entry: id, status. */
export const CQE_WORDS = 2;
/** Offset (words) of the submission ring (slot numbers). */
export const SQ_OFF = CTRL_WORDS;
/** Offset (words) of the entry slots. */
export const ENT_OFF = SQ_OFF + SQ_DEPTH;
/** Offset (words) of the completion queue. */
export const CQ_OFF = ENT_OFF + SQ_DEPTH * SQE_WORDS;
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
  | { type: 'closed' }
  | { type: 'cq' };
