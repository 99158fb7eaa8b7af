/**
 * `openNic`: what the daemon calls for each configured card.
 */
import { DaemonError } from '../errors.js';
import { componentLogger, type Logger } from '../util/log.js';
import { ipv4ToString, parseIpv4Cidr } from '../wire/address.js';
import { deriveMac, formatMac, isUsableUnicastMac, parseMac } from './addr.js';
import type { NicTuning } from './card-base.js';
import { MemoryCard } from './memory-wire.js';
import { NativeCard } from './native-card.js';
import type { NetDevice } from './types.js';

/**
 * What a card needs from the configuration: the `NicConfig` of `src/config/schema.ts` fits it
 * (restated here structurally because `src/nic` sits below `src/config`).
 */
export interface NicConfig {
  /** TAP interface name (≤ 15 characters). */
  name: string;
  /** The host side's address, `a.b.c.d/len`. */
  hostAddress: string;
  /** The machine's MAC, `aa:bb:cc:dd:ee:ff`; default derived from the name. */
  mac?: string | undefined;
  mtuBytes: number;
  /** Open an existing TAP (left in place on close) instead of creating one. */
  attach: boolean;
  /** TAP only: open it with a vnet header so it takes TCP super-segments (TSO). Default true. */
  tso?: boolean | undefined;
  /** TAP only: write frames from a thread of the card's own (`NativeCardOptions.txThread`). Default true (the config's default). */
  txThread?: boolean | undefined;
}

export interface OpenNicOptions {
  /** `tap`: a real TAP device; `memory`: an in-process wire (`card.host` is the other end). */
  backend: 'tap' | 'memory';
  log?: Logger;
  /** TAP only: create/attach the TAP inside this network namespace (a name under /run/netns or a path). */
  netns?: string;
  tuning?: Partial<NicTuning>;
  /** TAP only: see `NativeCardOptions.sndbufBytes`. */
  sndbufBytes?: number;
  /**
   * TAP only: the host-side queue of frames waiting for the card (txqueuelen). Default: Linux's
   * (1000). A longer queue absorbs the moments the daemon is not scheduled, at the price of
   * latency when it is overloaded (bench/nic rx-flood shows the trade).
   */
  hostTxQueueLenFrames?: number;
}

/** The machine's MAC on a card: `cfg.mac`, else a stable locally administered one derived from the name. */
export function machineMac(cfg: Pick<NicConfig, 'name' | 'mac'>): Uint8Array {
  if (cfg.mac === undefined) return deriveMac(cfg.name);
  const mac = parseMac(cfg.mac);
  if (mac === undefined || !isUsableUnicastMac(mac)) {
    throw new DaemonError('CONFIG_ERR_INVALID', `nic ${cfg.name}: mac ${cfg.mac} is not a unicast MAC`);
  }
  return mac;
}

/** The host side's MAC on a TAP the daemon creates: stable, and never equal to the machine's. */
export function hostMac(cfg: Pick<NicConfig, 'name'>, machine: Uint8Array): Uint8Array {
  const mac = deriveMac(`${cfg.name}/host`);
  if (formatMac(mac) === formatMac(machine)) mac[5] = (mac[5] ?? 0) ^ 1;
  return mac;
}

/**
 * Open the card `cfg` describes. With the TAP backend: create the TAP (or with `cfg.attach` open
 * the existing one, which is left in place on close), then set up its host side — MAC (created
 * TAPs only), MTU `cfg.mtuBytes`, IPv4 `cfg.hostAddress`, IPv6 off, link up. If any step fails the
 * TAP is closed again (a created one disappears) and a DaemonError is thrown: NIC_ERR_TAP_BUSY,
 * NIC_ERR_TAP_OPEN, NIC_ERR_IOCTL, NETNS_ERR or CONFIG_ERR_INVALID.
 */
export async function openNic(cfg: NicConfig, opts: OpenNicOptions): Promise<NetDevice> {
  const log = opts.log ?? componentLogger('nic', { nic: cfg.name });
  const mac = machineMac(cfg);
  const host = parseIpv4Cidr(cfg.hostAddress);
  if (host === undefined) throw new DaemonError('CONFIG_ERR_INVALID', `nic ${cfg.name}: bad hostAddress ${cfg.hostAddress}`);
  if (opts.backend === 'memory') {
    return new MemoryCard(cfg.name, cfg.mtuBytes, {
      mac,
      hostMac: hostMac(cfg, mac),
      log,
      ...(opts.tuning !== undefined ? { tuning: opts.tuning } : {}),
    });
  }
  const card = NativeCard.openTap(cfg.name, cfg.mtuBytes, {
    mac,
    attach: cfg.attach,
    tso: cfg.tso !== false,
    txThread: cfg.txThread !== false,
    log,
    ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
    ...(opts.tuning !== undefined ? { tuning: opts.tuning } : {}),
    ...(opts.sndbufBytes !== undefined ? { sndbufBytes: opts.sndbufBytes } : {}),
  });
  try {
    if (card.created) card.setHostMac(hostMac(cfg, mac));
    card.setHostMtu(cfg.mtuBytes);
    if (opts.hostTxQueueLenFrames !== undefined) card.setHostTxQueueLen(opts.hostTxQueueLenFrames);
    card.setHostIpv4(host.addr, host.prefixLen);
    card.setHostUp(true);
  } catch (e) {
    await card.close();
    throw e;
  }
  const link = card.hostLink();
  log.info(
    {
      tap: cfg.name,
      created: card.created,
      netns: opts.netns,
      machineMac: formatMac(mac),
      hostMac: formatMac(link.mac),
      hostAddress: `${ipv4ToString(host.addr)}/${host.prefixLen}`,
      mtuBytes: link.mtuBytes,
      hostIpv6: link.ipv6Disabled ? 'off' : 'on',
      tsoMaxBytes: card.tsoMaxBytes,
      txThread: card.txThread,
    },
    'card up',
  );
  return card;
}
