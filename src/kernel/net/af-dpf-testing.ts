/**
 * A small machine for tests and benchmarks of AF_DPF (not part of the daemon): in-memory cards
 * whose host ends the test drives, the kernel's network stack, a DPF engine, the socket layer
 * installed in a kernel on a virtual clock.
 */
import { MemoryCard, type MemoryWireOptions } from '../../nic/index.js';
import { VirtualClock } from '../../util/clock.js';
import { parseIpv4 } from '../../wire/index.js';
import { type DpfEngineOptions, DpfEngine, compileFilter, type FilterSyntax } from '../dpf/index.js';
import { Kernel } from '../kernel.js';
import { AfDpf } from './af-dpf.js';
import { NetStack } from './dev.js';

/** The host end of one card: frames it received from the machine, and a way to send. */
export class HostEnd {
  readonly received: Uint8Array[] = [];

  constructor(readonly card: MemoryCard) {
    card.host.onFrame((f) => this.received.push(f));
  }

  /** Send frames from the host and wait until the card has handed them all to the kernel. */
  async inject(...frames: Uint8Array[]): Promise<void> {
    for (const f of frames) if (!this.card.host.send(f)) throw new Error('host queue full');
    while (this.card.host.pendingFrames > 0) await new Promise((r) => setImmediate(r));
  }
}

export interface DpfMachine {
  readonly clock: VirtualClock;
  readonly kernel: Kernel;
  readonly net: NetStack;
  readonly engine: DpfEngine;
  readonly af: AfDpf;
  /** Host ends of exo0, exo1 (machine addresses 198.18.0.2, 198.18.1.2). */
  readonly hosts: readonly HostEnd[];
}

export interface DpfMachineOptions {
  queueFrames?: number;
  queueBytes?: number;
  engine?: DpfEngineOptions;
  /** Frames the in-memory host may have in flight to a card. Default 1000. */
  hostQueueFrames?: number;
  /**
   * Largest TSO frame the cards take whole (the memory wire's `tsoMaxBytes` option, from the tso-nic
   * branch); check `card.tsoMaxBytes` — a memory wire without that option ignores it and stays 0.
   */
  tsoMaxBytes?: number;
}

/** Two cards, `exo0` and `exo1`, with the default addressing of DESIGN.md §4. */
export function dpfMachine(opts: DpfMachineOptions = {}): DpfMachine {
  const clock = new VirtualClock(1000);
  const cards = [0, 1].map((n) => {
    const cardOpts: MemoryWireOptions & { tsoMaxBytes?: number } = {
      mac: new Uint8Array([0x02, 0x65, 0x78, 0x00, n, 0x02]),
      hostMac: new Uint8Array([0x0a, 0x00, 0x00, 0x00, n, 0x01]),
      hostQueueFrames: opts.hostQueueFrames ?? 1000,
      ...(opts.tsoMaxBytes !== undefined ? { tsoMaxBytes: opts.tsoMaxBytes } : {}),
    };
    return new MemoryCard(`exo${n}`, 1500, cardOpts);
  });
  const hosts = cards.map((c) => new HostEnd(c));
  const net = new NetStack({
    cards: cards.map((dev, n) => ({ dev, ip: parseIpv4(`198.18.${n}.2`)!, prefixLen: 24 })),
    arpCacheTtlMs: 60_000,
    arpCacheMaxEntries: 16,
    icmpErrorsPerSecond: 1000,
    icmpErrorBurst: 1000,
    clock,
  });
  net.start();
  for (const h of hosts) h.received.length = 0; // the gratuitous ARPs
  const kernel = new Kernel({ clock, devices: new Map(cards.map((c) => [c.name, c])) });
  const engine = new DpfEngine(opts.engine ?? { maxFilters: 256 });
  const af = new AfDpf({
    net,
    engine,
    ...(opts.queueFrames !== undefined ? { queueFrames: opts.queueFrames } : {}),
    ...(opts.queueBytes !== undefined ? { queueBytes: opts.queueBytes } : {}),
  });
  af.install(kernel);
  return { clock, kernel, net, engine, af, hosts };
}

/** The binary encoding of a filter written in DPF text or as a pcap-like expression (must give one filter). */
export function filterBinary(source: string, syntax: FilterSyntax = 'pcap'): Uint8Array {
  const r = compileFilter(source, syntax);
  if (!r.ok) throw new Error(`filter refused: ${r.reason}`);
  if (r.filters.length !== 1) throw new Error(`${source} gives ${r.filters.length} filters`);
  return r.filters[0]!.binary;
}
