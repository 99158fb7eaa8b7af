/**
 * The kernel's per-card state: the card, the machine's addresses on it, its ARP cache, ICMP
 * error rate limiter, counters and a reusable transmit buffer for replies.
 */
import type { NetDevice } from '../../nic/types.js';
import { TokenBucket } from '../../util/token-bucket.js';
import { get48, type Ipv4Addr, type MacAddr } from '../../wire/index.js';
import { ArpCache } from './arp-cache.js';
import { NetCounters } from './stats.js';

export interface IfaceOptions {
  /** The machine's IPv4 address on this card. */
  ip: Ipv4Addr;
  /** Prefix length of the card's subnet (from the host side's CIDR). */
  prefixLen: number;
  arpCacheTtlMs: number;
  arpCacheMaxEntries: number;
  icmpErrorsPerSecond: number;
  icmpErrorBurst: number;
  nowMs: number;
}

export class NetIface {
  readonly name: string;
  readonly mac: MacAddr;
  readonly ip: Ipv4Addr;
  readonly prefixLen: number;
  readonly arp: ArpCache;
  readonly icmpErrors: TokenBucket;
  readonly counters = new NetCounters();
  /** Scratch buffer replies are built in; `transmit` reads it synchronously, so one suffices. */
  readonly txBuf: Uint8Array;

  constructor(
    readonly dev: NetDevice,
    opts: IfaceOptions,
  ) {
    this.name = dev.name;
    this.mac = get48(dev.mac, 0);
    this.ip = opts.ip;
    this.prefixLen = opts.prefixLen;
    this.arp = new ArpCache(opts.arpCacheTtlMs, opts.arpCacheMaxEntries);
    this.icmpErrors = new TokenBucket(opts.icmpErrorsPerSecond, opts.icmpErrorBurst, opts.nowMs);
    this.txBuf = new Uint8Array(14 + dev.mtuBytes);
  }
}
