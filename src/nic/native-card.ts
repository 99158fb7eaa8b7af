/**
 * Cards backed by the exotap addon: a TAP device (the machine's Ethernet card; the host's side of
 * the wire is the TAP interface) and an AF_PACKET socket on a host interface (the host's end of a
 * wire, for tests and benchmarks that must inject or capture raw frames).
 */
import { DaemonError } from '../errors.js';
import { componentLogger, type Logger } from '../util/log.js';
import { CardBase, DEFAULT_TUNING, ETH_FRAME_OVERHEAD_BYTES, SendResult, TSO_MAX_FRAME_BYTES, type NicTuning } from './card-base.js';
import { controlError, loadAddon, openError, RxMeta, type NativePort } from './native-addon.js';
import type { TsoInfo } from './types.js';

/** ifr_flags bits (netdevice(7)). */
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;

/** Host-side view of the interface, as the kernel reports it. */
export interface HostLinkInfo {
  ifindex: number;
  mtuBytes: number;
  up: boolean;
  running: boolean;
  txQueueLenFrames: number;
  mac: Uint8Array;
  ipv6Disabled: boolean;
}

export interface NativeCardOptions {
  /** The machine's MAC on this card (a packet socket uses the interface's own). */
  mac?: Uint8Array;
  /** Open inside this network namespace: a name under /run/netns or an absolute path. */
  netns?: string;
  /** Attach to an existing (persistent) TAP and leave it on close, instead of creating one. */
  attach?: boolean;
  /** Switch the host side's IPv6 off (it would only send router solicitations and MLD). Default true. */
  disableHostIpv6?: boolean;
  /**
   * Bytes of our frames the host may hold in flight (TUNSETSNDBUF / SO_SNDBUF). The host stack
   * normally consumes a TAP write inside the write; it holds frames only when it queues them
   * (tc shaping, RPS), and this bound is what turns that into backpressure. Default: the
   * kernel's (unbounded for a TAP).
   */
  sndbufBytes?: number;
  /** SO_RCVBUF of a packet socket. */
  rcvbufBytes?: number;
  /**
   * TAP only: open it with a vnet header (IFF_VNET_HDR) so the card can hand the host TCP
   * super-segments to cut (`tsoMaxBytes` 65,549). Default true; false: plain frames only
   * (`tsoMaxBytes` 0). A packet socket never segments.
   */
  tso?: boolean;
  /**
   * Write frames from a thread of the card's own instead of the caller's: `transmit` copies the
   * frame into the card's bounded queue and returns `sent` (counted when the thread has written
   * it); `queued` and `tx_queue_full` keep their meaning (the device would block). A TAP write
   * runs the host's receive path for the frame in the writing thread, so this moves that work off
   * the daemon's thread. Default false.
   */
  txThread?: boolean;
  tuning?: Partial<NicTuning>;
  log?: Logger;
}

export class NativeCard extends CardBase {
  readonly kind: 'tap' | 'packet';
  /** True when the card created its TAP (it disappears on close). */
  readonly created: boolean;
  /** Frames are written by the card's writer thread (`NativeCardOptions.txThread`). */
  readonly txThread: boolean;
  readonly #port: NativePort;
  #arena: ArrayBuffer;
  #table: Uint32Array;
  #closing: Promise<void> | undefined;
  #failure: DaemonError | undefined;
  /** The TAP's tx_dropped when the card opened (an attached TAP brings its history), and the last value read. */
  #hostDropBase = 0;
  #hostDropped = 0;

  /** `mtuBytes` undefined: the interface's MTU (packet sockets, which then accept any frame size on receive). */
  private constructor(kind: 'tap' | 'packet', name: string, mtuBytes: number | undefined, opts: NativeCardOptions) {
    const log = opts.log ?? componentLogger('nic', { nic: name });
    const addon = loadAddon();
    const tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    let port: NativePort;
    const self = { card: undefined as NativeCard | undefined };
    const tso = kind === 'tap' && opts.tso !== false;
    try {
      port = new addon.Port(
        kind,
        name,
        {
          attach: opts.attach === true,
          ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
          disableIpv6: opts.disableHostIpv6 ?? true,
          sndbufBytes: opts.sndbufBytes ?? 0,
          rcvbufBytes: opts.rcvbufBytes ?? 0,
          vnetHdr: tso,
          maxBatchFrames: tuning.maxBatchFrames,
          maxBatchBytes: tuning.maxBatchBytes,
          maxFrameBytes: mtuBytes === undefined ? addon.readSpaceBytes - 1 : mtuBytes + ETH_FRAME_OVERHEAD_BYTES,
          txQueueFrames: tuning.txQueueFrames,
          txQueueBytes: tuning.txQueueBytes,
          txThread: opts.txThread === true,
        },
        () => {
          if (self.card !== undefined) self.card.#onRx();
        },
        (frames, bytes, errors, drained, tsoFrames, tsoBytes) => self.card?.txDrained(frames, bytes, errors, drained, tsoFrames, tsoBytes),
        (err) => {
          if (self.card !== undefined) self.card.#onError(err);
        },
      );
    } catch (e) {
      throw openError(e, name, opts.attach === true);
    }
    let info;
    try {
      info = opts.mac === undefined || mtuBytes === undefined ? port.info() : undefined;
    } catch (e) {
      port.close();
      throw controlError(e, name, 'read the link state', false);
    }
    super(name, opts.mac ?? info!.mac, mtuBytes ?? info!.mtu, log, tso ? TSO_MAX_FRAME_BYTES : 0);
    this.kind = kind;
    this.created = kind === 'tap' && opts.attach !== true;
    this.txThread = opts.txThread === true;
    this.#port = port;
    [this.#arena, this.#table] = port.rxBuffers();
    self.card = this;
    if (kind === 'tap') this.#hostDropBase = this.#readHostDropped() ?? 0;
  }

  /**
   * Create (or with `attach`, open) TAP `name` for a card of `mtuBytes`; the host side is left
   * unconfigured (see `openNic`). Throws DaemonError: NIC_ERR_TAP_BUSY (name taken / TAP in use),
   * NIC_ERR_TAP_OPEN, NETNS_ERR.
   */
  static openTap(name: string, mtuBytes: number, opts: NativeCardOptions = {}): NativeCard {
    return new NativeCard('tap', name, mtuBytes, opts);
  }

  /**
   * Open an AF_PACKET socket on host interface `name` (typically the host side of a TAP, inside
   * `opts.netns`): frames it transmits leave through that interface (a TAP card receives them),
   * and it receives every frame arriving on it (not its own). The MTU is the interface's.
   */
  static openPacketSocket(name: string, opts: Omit<NativeCardOptions, 'attach' | 'disableHostIpv6'> = {}): NativeCard {
    return new NativeCard('packet', name, undefined, opts);
  }

  /** Set when the device failed under the card (e.g. the TAP was deleted); it receives nothing after. */
  get failure(): DaemonError | undefined {
    return this.#failure;
  }

  #onRx(): void {
    if (this.#arena.byteLength === 0 || this.#table.length === 0) {
      // A handler transferred the arena away; the addon has made a new one.
      [this.#arena, this.#table] = this.#port.rxBuffers();
    }
    const t = this.#table;
    if (t[RxMeta.oversize] !== 0) this.stats.drop('rx_oversize', t[RxMeta.oversize]);
    if (t[RxMeta.runt] !== 0) this.stats.drop('rx_runt', t[RxMeta.runt]);
    if (t[RxMeta.empty] !== 0) this.stats.drop('rx_empty', t[RxMeta.empty]);
    if (t[RxMeta.gso] !== 0) {
      this.stats.drop('rx_gso', t[RxMeta.gso]);
      this.noteRare('rx_gso', 'the host sent a GSO super-segment (no offload was enabled)', {});
    }
    if (t[RxMeta.partialCsum] !== 0) {
      this.stats.drop('rx_partial_csum', t[RxMeta.partialCsum]);
      this.noteRare('rx_partial_csum', 'the host sent a frame with a partial checksum (no offload was enabled)', {});
    }
    if (t[RxMeta.errors] !== 0) {
      this.stats.drop('rx_read_error', t[RxMeta.errors]);
      this.noteRare('rx_read_error', 'read failed', { errno: t[RxMeta.lastErrno] });
    }
    this.deliverBatch(this.#arena, t, RxMeta.header, t[RxMeta.frames]!);
  }

  #onError(err: Error): void {
    this.#failure = new DaemonError('NIC_ERR_TAP_OPEN', `${this.name}: device failed: ${err.message}`, { cause: err });
    this.log.error({ err }, 'device failed; the card receives nothing more');
  }

  protected override sendFrame(iov: readonly Uint8Array[], _bytes: number, tso: TsoInfo | undefined): SendResult {
    const p = this.#port;
    if (tso !== undefined) return this.#sendTso(iov, tso);
    switch (iov.length) {
      case 1:
        return p.send(iov[0]!);
      case 2:
        return p.send(iov[0]!, iov[1]!);
      case 3:
        return p.send(iov[0]!, iov[1]!, iov[2]!);
      default:
        if (iov.length > loadAddon().maxIov) return SendResult.WriteError;
        return p.send(...iov);
    }
  }

  #sendTso(iov: readonly Uint8Array[], tso: TsoInfo): SendResult {
    const p = this.#port;
    const { segmentBytes: s, headerBytes: h, checksumStart: c } = tso;
    switch (iov.length) {
      case 1:
        return p.sendTso(s, h, c, iov[0]!);
      case 2:
        return p.sendTso(s, h, c, iov[0]!, iov[1]!);
      case 3:
        return p.sendTso(s, h, c, iov[0]!, iov[1]!, iov[2]!);
      default:
        if (iov.length > loadAddon().maxIov) return SendResult.WriteError;
        return p.sendTso(s, h, c, ...iov);
    }
  }

  protected override lastTxError(): string {
    return this.#port.lastTxErrno();
  }

  txQueueFrames(): number {
    return this.#port.txQueueFrames();
  }

  protected override collectTx(): void {
    if (this.txThread && !this.closed) this.#port.collectTx();
  }

  /** Writes the device refused since open, by errno name (their sum is `drops.tx_error`, less transmits after close). */
  txErrors(): Record<string, number> {
    return this.#port.txErrors();
  }

  protected override txErrorsByErrno(): Record<string, number> {
    return this.#port.txErrors();
  }

  /** With the writer thread: times a transmit found the queue full and waited for the thread to write one frame. */
  txRoomWaits(): number {
    return this.#port.roomWaits();
  }

  /** With the writer thread: frames of 16 KiB or more written by the transmitting thread itself, the queue being idle. */
  txDirectWrites(): number {
    return this.#port.directWrites();
  }

  /** For a TAP: its tx_dropped, i.e. frames the host could not queue for us (0 for a packet socket). */
  protected override hostDroppedFrames(): number {
    if (this.kind === 'tap' && !this.closed) {
      const now = this.#readHostDropped();
      if (now !== undefined) this.#hostDropped = now - this.#hostDropBase;
    }
    return this.#hostDropped;
  }

  #readHostDropped(): number | undefined {
    try {
      return this.#port.stats().txDropped;
    } catch {
      return undefined; // the device is gone; keep the last value
    }
  }

  /** Stop reading from the device (frames then wait in, and overflow, the host's queue). */
  pauseRx(): void {
    this.#port.pauseRx();
  }

  resumeRx(): void {
    this.#port.resumeRx();
  }

  /** Whether an open card keeps the Node process alive (it does by default, like a socket). */
  keepProcessAlive(keep: boolean): void {
    if (keep) this.#port.ref();
    else this.#port.unref();
  }

  hostLink(): HostLinkInfo {
    const i = this.#control('read the link state', () => this.#port.info());
    return {
      ifindex: i.ifindex,
      mtuBytes: i.mtu,
      up: (i.flags & IFF_UP) !== 0,
      running: (i.flags & IFF_RUNNING) !== 0,
      txQueueLenFrames: i.txqueuelen,
      mac: Uint8Array.from(i.mac),
      ipv6Disabled: i.ipv6Disabled,
    };
  }

  /** Set the host side's MAC (not the machine's). Throws NIC_ERR_IOCTL / NIC_ERR_CLOSED. */
  setHostMac(mac: Uint8Array): void {
    this.#control('set the MAC', () => this.#port.setMac(mac));
  }

  setHostMtu(bytes: number): void {
    this.#control('set the MTU', () => this.#port.setMtu(bytes));
  }

  /** Set the host side's primary IPv4 address (`address` in host byte order) and prefix length. */
  setHostIpv4(address: number, prefixLen: number): void {
    this.#control('set the IPv4 address', () => this.#port.setIpv4(address, prefixLen));
  }

  setHostUp(up: boolean): void {
    this.#control(up ? 'bring the link up' : 'bring the link down', () => this.#port.setUp(up));
  }

  setHostTxQueueLen(frames: number): void {
    this.#control('set txqueuelen', () => this.#port.setTxQueueLen(frames));
  }

  #control<T>(action: string, fn: () => T): T {
    if (this.closed) throw controlError(undefined, this.name, action, true);
    try {
      return fn();
    } catch (e) {
      throw controlError(e, this.name, action, false);
    }
  }

  /** Frames still queued are written if the device takes them now, else dropped (`tx_closed`). Resolves once the fd is closed (a created TAP is gone by then). */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.hostDroppedFrames();
    this.markClosed();
    this.#closing = new Promise<void>((resolve) => {
      const dropped = this.#port.close(resolve);
      this.stats.drop('tx_closed', dropped);
    });
    return this.#closing;
  }
}
