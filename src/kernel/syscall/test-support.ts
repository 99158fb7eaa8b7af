/**
 * Helpers for tests of the kernel boundary (used by `*.test.ts` files; not part of the daemon).
 * `RecordingDevice` is an in-memory NetDevice that keeps every transmitted frame, for unit tests
 * of the packet socket; the real TAP path is tested when the daemon is assembled.
 */
import type { FrameHandler, NetDevice, NicCounters, TxStatus } from '../../nic/types.js';
import type { Libc } from '../abi/libc.js';
import type { Kernel, SpawnOptions } from '../kernel.js';
import type { VirtualClock } from '../../util/clock.js';
import type { ExitStatus } from '../proc/process.js';

/** A card that records what is sent; `full` makes it drop like a card whose queue is full. */
export class RecordingDevice implements NetDevice {
  readonly name: string;
  readonly mac = new Uint8Array([2, 0, 0, 0, 0, 1]);
  readonly mtuBytes: number;
  readonly kind = 'memory';
  readonly tsoMaxBytes: number = 0;
  readonly frames: Uint8Array[] = [];
  full = false;
  #dropped = 0;

  constructor(name: string, mtuBytes = 1500) {
    this.name = name;
    this.mtuBytes = mtuBytes;
  }
  setFrameHandler(_handler: FrameHandler): void {}
  transmit(iov: readonly Uint8Array[]): TxStatus {
    if (this.full) {
      this.#dropped++;
      return 'dropped';
    }
    let n = 0;
    for (const v of iov) n += v.length;
    const frame = new Uint8Array(n);
    let at = 0;
    for (const v of iov) {
      frame.set(v, at);
      at += v.length;
    }
    this.frames.push(frame);
    return 'sent';
  }
  onDrain(_cb: () => void): void {}
  counters(): NicCounters {
    const txBytes = this.frames.reduce((s, f) => s + f.length, 0);
    return { rxFrames: 0, rxBytes: 0, txFrames: this.frames.length, txBytes, drops: { tx_queue_full: this.#dropped }, rxBatches: 0, rxBatchSizes: {}, backpressureEvents: 0, txQueueFrames: 0, txTsoFrames: 0, txTsoBytes: 0, txErrors: {} };
  }
  async close(): Promise<void> {}
}

/** Run `body` as a process and wait for it to end; resolves with its exit status. */
export async function runProcess(k: Kernel, body: (sys: Libc) => Promise<number | void> | number | void, opts: SpawnOptions = {}): Promise<ExitStatus> {
  return k.spawn('test', body, opts).exited;
}

/** Let every queued microtask and the current macrotask turn finish. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Advance `clock` 1 ms at a time, letting processes run in between, while `busy()` holds (at most `maxMs`). */
export async function advanceUntil(clock: VirtualClock, busy: () => boolean, maxMs = 10_000): Promise<void> {
  await settle();
  for (let t = 0; t < maxMs && busy(); t++) {
    clock.advance(1);
    await settle();
  }
  if (busy()) throw new Error(`still busy after ${maxMs} virtual ms`);
}
