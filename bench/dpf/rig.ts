/**
 * The in-process machine the AF_DPF benchmarks run on: one card that only counts what it is
 * given (no TAP: kernel-side CPU only, nothing is sent anywhere), a network stack, a kernel and
 * the AF_DPF socket layer over a given engine; and a process that does its setup, hands back
 * what it made, and stays alive until the benchmark is done with it.
 */
import type { Libc } from '../../src/kernel/abi/index.js';
import type { DpfEngine } from '../../src/kernel/dpf/index.js';
import { Kernel } from '../../src/kernel/index.js';
import { AfDpf } from '../../src/kernel/net/af-dpf.js';
import { NetStack } from '../../src/kernel/net/dev.js';
import type { FrameHandler, NetDevice, NicCounters, TxStatus } from '../../src/nic/types.js';
import { VirtualClock } from '../../src/util/clock.js';

/** A card that only counts the frames the kernel sends. */
export class SinkCard implements NetDevice {
  readonly name = 'exo0';
  readonly mac = new Uint8Array([0x02, 0x65, 0x78, 0, 0, 2]);
  readonly mtuBytes = 1500;
  readonly kind = 'memory';
  readonly tsoMaxBytes = 0;
  txFrames = 0;
  setFrameHandler(_h: FrameHandler): void {}
  transmit(iov: readonly Uint8Array[]): TxStatus {
    this.txFrames += iov.length > 0 ? 1 : 0;
    return 'sent';
  }
  onDrain(_cb: () => void): void {}
  counters(): NicCounters {
    return { rxFrames: 0, rxBytes: 0, txFrames: this.txFrames, txBytes: 0, drops: {}, rxBatches: 0, rxBatchSizes: {}, backpressureEvents: 0, txQueueFrames: 0, txTsoFrames: 0, txTsoBytes: 0, txErrors: {} };
  }
  async close(): Promise<void> {}
}

/** The machine of one benchmark contender. */
export interface DpfMachine {
  readonly card: SinkCard;
  readonly net: NetStack;
  readonly kernel: Kernel;
  readonly engine: DpfEngine;
}

/** A machine whose card has address `ip` (/24), with AF_DPF over `engine` installed. */
export function dpfMachine(ip: number, engine: DpfEngine, queue: { frames: number; bytes: number } | null = null): DpfMachine {
  const card = new SinkCard();
  const clock = new VirtualClock(0);
  const net = new NetStack({ cards: [{ dev: card, ip, prefixLen: 24 }], arpCacheTtlMs: 60_000, arpCacheMaxEntries: 16, icmpErrorsPerSecond: 0, icmpErrorBurst: 1, clock });
  net.start();
  const kernel = new Kernel({ clock, devices: new Map([[card.name, card]]) });
  new AfDpf(queue === null ? { net, engine } : { net, engine, queueFrames: queue.frames, queueBytes: queue.bytes }).install(kernel);
  return { card, net, kernel, engine };
}

/** A process that ran its setup and waits; `stop()` lets it exit. */
export interface HeldProcess<T> {
  readonly pid: number;
  readonly sys: Libc;
  /** What the setup returned. */
  readonly made: T;
  stop(): Promise<void>;
}

/** Spawn `name` (uid 0) on `kernel`, run `setup` in it, and keep it alive until `stop()`. */
export async function heldProcess<T>(kernel: Kernel, name: string, setup: (sys: Libc) => T): Promise<HeldProcess<T>> {
  let ready!: (v: { sys: Libc; made: T }) => void;
  let failed!: (e: unknown) => void;
  const got = new Promise<{ sys: Libc; made: T }>((res, rej) => {
    ready = res;
    failed = rej;
  });
  let end!: () => void;
  const ended = new Promise<void>((r) => (end = r));
  const p = kernel.spawn(
    name,
    async (sys) => {
      try {
        ready({ sys, made: setup(sys) });
      } catch (e) {
        failed(e);
        return;
      }
      await ended;
    },
    { uid: 0, memoryBytes: 4 << 20, traceEntries: 0 },
  );
  const { sys, made } = await got;
  return {
    pid: p.pid,
    sys,
    made,
    stop: async () => {
      end();
      await p.exited;
    },
  };
}
