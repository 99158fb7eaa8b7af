/**
 * The raw-send packet socket (Linux `SOCK_PACKET`, thesis §3.2: "sending came for free"): a
 * process with uid 0 (the CAP_NET_RAW analogue, checked at `socket()`) sends one whole Ethernet
 * frame, gathered from an iovec, out of a card named in a `sockaddr_pkt` (per call, or once with
 * `bind`). Receiving is DPF's job: this socket never has anything to read.
 *
 * The frame is handed to the card's `transmit(iov)` as views of the caller's memory — the card
 * reads them synchronously, so nothing is copied on the JS side.
 */
import { EINVAL, EMSGSIZE, ENOBUFS, ENODEV, EDESTADDRREQ, EOPNOTSUPP } from '../abi/errno.js';
import { AF_PACKET, ETH_HLEN, POLLOUT, POLLWRNORM, SOCKADDR_PKT_DEVICE_BYTES, SOCKADDR_PKT_OFF_DEVICE, SOCKADDR_PKT_OFF_FAMILY } from '../abi/layout.js';
import type { NetDevice } from '../../nic/types.js';
import { MessageSocket } from './message-socket.js';

/** Finds a card by interface name. */
export type DeviceLookup = (name: string) => NetDevice | undefined;

/** Smallest address length accepted (Linux checks `sizeof(struct sockaddr)`). */
const MIN_ADDR_BYTES = 16;

export class PacketSocket extends MessageSocket {
  readonly kind = 'packet';
  readonly #lookup: DeviceLookup;
  #bound: NetDevice | null = null;
  framesSent = 0;
  bytesSent = 0;
  framesDropped = 0;
  /** Reused list of frame pieces for single-buffer sends. */

  constructor(lookup: DeviceLookup) {
    super();
    this.#lookup = lookup;
  }

  poll(): number {
    return POLLOUT | POLLWRNORM;
  }

  override read(): number {
    return -EOPNOTSUPP;
  }

  override bind(addr: Uint8Array): number {
    const dev = this.#device(addr);
    if (typeof dev === 'number') return dev;
    this.#bound = dev;
    return 0;
  }

  override sendmsg(iov: readonly Uint8Array[], total: number, addr: Uint8Array | null): number {
    let dev: NetDevice | null = this.#bound;
    if (addr !== null) {
      const d = this.#device(addr);
      if (typeof d === 'number') return d;
      dev = d;
    }
    if (dev === null) return -EDESTADDRREQ;
    if (total < ETH_HLEN) return -EINVAL;
    if (total > dev.mtuBytes + ETH_HLEN) return -EMSGSIZE;
    if (dev.transmit(iov) === 'dropped') {
      this.framesDropped++;
      return -ENOBUFS;
    }
    this.framesSent++;
    this.bytesSent += total;
    return total;
  }

  /** The card a `sockaddr_pkt` names, or -errno. */
  #device(addr: Uint8Array): NetDevice | number {
    if (addr.length < MIN_ADDR_BYTES) return -EINVAL;
    const family = addr[SOCKADDR_PKT_OFF_FAMILY]! | (addr[SOCKADDR_PKT_OFF_FAMILY + 1]! << 8);
    if (family !== AF_PACKET) return -EINVAL;
    // Linux: spkt_device is NUL-terminated or fills all 14 bytes; shorter addresses cut it.
    const end = Math.min(addr.length, SOCKADDR_PKT_OFF_DEVICE + SOCKADDR_PKT_DEVICE_BYTES);
    let name = '';
    for (let i = SOCKADDR_PKT_OFF_DEVICE; i < end && addr[i] !== 0; i++) name += String.fromCharCode(addr[i]!);
    const dev = name === '' ? undefined : this.#lookup(name);
    return dev ?? -ENODEV;
  }

  describe(): Record<string, unknown> {
    return { boundTo: this.#bound?.name ?? null, framesSent: this.framesSent, bytesSent: this.bytesSent, framesDropped: this.framesDropped };
  }
}
