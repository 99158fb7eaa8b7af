/**
 * Routing the completion of an asynchronous disk request (XN's readin/writeback, the raw
 * device's prefetch/commit) to the process that issued it (thesis §3.3: "XN requires a mechanism
 * to signal applications, but that mechanism should not require writing to the process's
 * memory" — channels; and, for Xok compatibility, the counter in the caller's memory).
 *
 * - **Channel**: a slot is reserved when the request is issued, so the completion can never be
 *   lost or folded into an overflow record; the channel is held open by the kernel until the
 *   completion is posted, even if every descriptor of it is closed meanwhile. The record is
 *   `{request id, device, first block, status}`.
 * - **Counter**: a 4-byte-aligned int in the issuing process's memory, validated at issue (the
 *   memory of a process never shrinks, so it stays valid) and decremented on completion — only
 *   while that process is alive. The kernel never writes any other process's memory; the
 *   completion of a process that exited is counted (`deadProcess`) and dropped.
 *
 * Delivery never throws.
 */
import type { Channel } from '../chan/channel.js';
import type { Kernel } from '../kernel.js';
import type { Process } from '../proc/process.js';

/** Counters of completion routing (one set per subsystem). */
export interface CompletionStats {
  /** Requests issued and not yet completed (gauge). */
  pending: number;
  /** Records posted to channels. */
  channelRecords: number;
  /** Counters decremented in a live process's memory. */
  counterUpdates: number;
  /** Counter updates dropped because the issuing process had exited. */
  deadProcess: number;
  /** Requests refused because the channel had no free slot. */
  noSlot: number;
}

/** A fresh set of counters. */
export function completionStats(): CompletionStats {
  return { pending: 0, channelRecords: 0, counterUpdates: 0, deadProcess: 0, noSlot: 0 };
}

/** What a route needs from the kernel. */
export type CompletionKernel = Pick<Kernel, 'holdFile' | 'dropFile' | 'channelNotify'>;

/** The destinations of one request's completion. Deliver or cancel exactly once. */
export class CompletionRoute {
  readonly #k: CompletionKernel;
  readonly #p: Process;
  readonly #chan: Channel | null;
  readonly #counter: number;
  readonly #device: number;
  readonly #stats: CompletionStats;
  /** The request id (≥ 1) reported in the channel record. */
  readonly id: number;
  #open = true;

  private constructor(k: CompletionKernel, p: Process, chan: Channel | null, counter: number, id: number, device: number, stats: CompletionStats) {
    this.#k = k;
    this.#p = p;
    this.#chan = chan;
    this.#counter = counter;
    this.id = id;
    this.#device = device;
    this.#stats = stats;
  }

  /**
   * Prepare a route for a request of process `p`: reserve a slot on `chan` (null: none) and
   * hold it open; `counter` is a validated, 4-byte-aligned address in `p`'s memory (0: none).
   * Null when the channel has no free slot (the caller refuses the request).
   */
  static open(k: CompletionKernel, p: Process, chan: Channel | null, counter: number, id: number, device: number, stats: CompletionStats): CompletionRoute | null {
    if (chan !== null) {
      if (!chan.reserve()) {
        stats.noSlot++;
        return null;
      }
      k.holdFile(chan);
    }
    stats.pending++;
    return new CompletionRoute(k, p, chan, counter, id, device, stats);
  }

  /** The request completed with `status` (0 or a negative code); `block` is its first block. */
  readonly deliver = (block: number, status: number): void => {
    if (!this.#close()) return;
    if (this.#chan !== null) {
      this.#k.channelNotify(this.#chan, this.id, this.#device, block, status, true);
      this.#k.dropFile(this.#chan);
      this.#stats.channelRecords++;
    }
    if (this.#counter !== 0) {
      if (this.#p.alive) {
        decrement(this.#p, this.#counter);
        this.#stats.counterUpdates++;
      } else this.#stats.deadProcess++;
    }
  };

  /** The request was refused before it started: give the slot and the hold back. */
  cancel(): void {
    if (!this.#close()) return;
    if (this.#chan !== null) {
      this.#chan.unreserve();
      this.#k.dropFile(this.#chan);
    }
  }

  #close(): boolean {
    if (!this.#open) return false;
    this.#open = false;
    this.#stats.pending--;
    return true;
  }
}

/** `*counter -= 1` in `p`'s memory; atomically when the memory is shared with another thread. */
function decrement(p: Process, at: number): void {
  if (p.memory instanceof SharedArrayBuffer) Atomics.sub(new Int32Array(p.memory, at, 1), 0, 1);
  else p.dv.setInt32(at, (p.dv.getInt32(at, true) - 1) | 0, true);
}
