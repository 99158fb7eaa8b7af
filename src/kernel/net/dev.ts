/**
 * The kernel's network device layer (Linux `net/core/dev.c`): `netif_rx` is the single entry
 * for every frame from every card, and `dev_queue_xmit` the single exit.
 *
 * `netif_rx` offers each frame first to the receive hook — where DPF plugs in, exactly as the
 * thesis hooked `dpf_rcv()` into `dev.c` — and a frame the hook claims never reaches the
 * conventional path (`inet.ts`).
 */
import type { NetDevice, TxStatus } from '../../nic/types.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import { ipv4ToString, macToString, type Ipv4Addr } from '../../wire/index.js';
import { NetIface } from './iface.js';
import { Inet } from './inet.js';
import { NetCounters } from './stats.js';

/** Offered every received frame before the conventional path; returns true to claim it. `frame` is valid only during the call. */
export type RxHook = (iface: NetIface, frame: Uint8Array) => boolean;

export interface NetStackOptions {
  cards: ReadonlyArray<{ dev: NetDevice; ip: Ipv4Addr; prefixLen: number }>;
  arpCacheTtlMs: number;
  arpCacheMaxEntries: number;
  icmpErrorsPerSecond: number;
  icmpErrorBurst: number;
  clock: Clock;
  log?: Logger | undefined;
}

/** An ARP cache entry as the admin API shows it. */
export interface ArpEntryView {
  card: string;
  ip: string;
  mac: string;
  state: 'reachable';
  expiresInMs: number;
}

export class NetStack {
  readonly ifaces: readonly NetIface[];
  readonly #byName: Map<string, NetIface>;
  readonly #inet: Inet;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  #rxHook: RxHook | undefined;
  #lastErrorLogMs = -Infinity;

  constructor(opts: NetStackOptions) {
    this.#clock = opts.clock;
    this.#log = opts.log;
    const now = opts.clock.now();
    this.ifaces = opts.cards.map(
      (c) =>
        new NetIface(c.dev, {
          ip: c.ip,
          prefixLen: c.prefixLen,
          arpCacheTtlMs: opts.arpCacheTtlMs,
          arpCacheMaxEntries: opts.arpCacheMaxEntries,
          icmpErrorsPerSecond: opts.icmpErrorsPerSecond,
          icmpErrorBurst: opts.icmpErrorBurst,
          nowMs: now,
        }),
    );
    this.#byName = new Map(this.ifaces.map((i) => [i.name, i]));
    this.#inet = new Inet(
      (iface, len) => {
        this.dev_queue_xmit(iface, [iface.txBuf.subarray(0, len)]);
      },
      () => this.#clock.now(),
    );
  }

  /** Attach to every card's receive path and announce each address with a gratuitous ARP. */
  start(): void {
    for (const iface of this.ifaces) {
      iface.dev.setFrameHandler((frame) => this.netif_rx(iface, frame));
      this.#inet.sendGratuitousArp(iface);
    }
  }

  /** The single entry: every frame from every card. Never throws. */
  netif_rx(iface: NetIface, frame: Uint8Array): void {
    const c = iface.counters;
    c.rxFrames++;
    try {
      if (this.#rxHook !== undefined && this.#rxHook(iface, frame)) {
        c.dpfClaimed++;
        return;
      }
      this.#inet.input(iface, frame);
    } catch (err) {
      c.drop('internal_error');
      const now = this.#clock.now();
      if (now - this.#lastErrorLogMs > 1000) {
        this.#lastErrorLogMs = now;
        this.#log?.error({ err, card: iface.name }, 'netif_rx: frame handler threw; frame dropped');
      }
    }
  }

  /** The single exit: one frame gathered from `iov` (see NetDevice ownership rules). */
  dev_queue_xmit(iface: NetIface, iov: readonly Uint8Array[]): TxStatus {
    const status = iface.dev.transmit(iov);
    if (status === 'dropped') iface.counters.txDropped++;
    else iface.counters.txFrames++;
    return status;
  }

  /** Install (or remove) the receive hook — DPF's demultiplexer. */
  setRxHook(hook: RxHook | undefined): void {
    this.#rxHook = hook;
  }

  iface(name: string): NetIface | undefined {
    return this.#byName.get(name);
  }

  arpTable(): ArpEntryView[] {
    const now = this.#clock.now();
    return this.ifaces.flatMap((i) =>
      i.arp.entries(now).map((e) => ({
        card: i.name,
        ip: ipv4ToString(e.ip),
        mac: macToString(e.mac),
        state: 'reachable' as const,
        expiresInMs: Math.max(0, Math.round(e.expiresAtMs - now)),
      })),
    );
  }

  stats(): { total: ReturnType<NetCounters['toJSON']>; cards: Record<string, ReturnType<NetCounters['toJSON']>> } {
    const total = new NetCounters();
    const cards: Record<string, ReturnType<NetCounters['toJSON']>> = {};
    for (const i of this.ifaces) {
      total.addFrom(i.counters);
      cards[i.name] = i.counters.toJSON();
    }
    return { total: total.toJSON(), cards };
  }
}
