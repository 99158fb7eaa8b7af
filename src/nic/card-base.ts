/**
 * What every backend shares: handing a received batch to the kernel frame by frame, checking and
 * counting transmits, drain notification, the optional pcap tap and the closed state. A backend
 * supplies only how a frame leaves (`sendFrame`) and how it closes.
 */
import type { Logger } from '../util/log.js';
import type { PcapWriter } from './pcap.js';
import { NicStats, type DropReason } from './stats.js';
import type { FrameHandler, NetDevice, NicCounters, TsoInfo, TxStatus } from './types.js';

/** Ethernet header: destination, source, ethertype (IEEE 802.3 §3.1.1). */
export const ETH_HEADER_BYTES = 14;
/** One 802.1Q tag (IEEE 802.1Q §9.3) on top of the header: a frame may be MTU + 18 bytes. */
export const ETH_FRAME_OVERHEAD_BYTES = ETH_HEADER_BYTES + 4;
/** Largest TSO frame: an IPv4 datagram of 65,535 bytes (RFC 791 total length) behind an Ethernet header. */
export const TSO_MAX_FRAME_BYTES = 65_535 + ETH_HEADER_BYTES;
/** The TCP checksum field's offset in the TCP header (RFC 793 §3.1), plus its 2 bytes. */
const TCP_CHECKSUM_END = 18;

/**
 * How a backend's write of one frame went (the numbers are the addon's). `Accepted`: copied into
 * the ring of a card's writer thread, which writes it and counts it then (see `txDrained`).
 */
export const SendResult = { Sent: 0, Queued: 1, QueueFull: 2, WriteError: 3, Accepted: 4 } as const;
export type SendResult = (typeof SendResult)[keyof typeof SendResult];

/** Batching and queueing limits common to all backends. */
export interface NicTuning {
  /** Most frames handed to the kernel per receive batch. Default 64. */
  maxBatchFrames: number;
  /** A batch ends once this many bytes were received (one more frame may follow). Default 256 KiB. */
  maxBatchBytes: number;
  /** Most frames waiting in the transmit queue under backpressure. Default 1024. */
  txQueueFrames: number;
  /** Most bytes waiting in the transmit queue. Default 4 MiB. */
  txQueueBytes: number;
}

export const DEFAULT_TUNING: Readonly<NicTuning> = {
  maxBatchFrames: 64,
  maxBatchBytes: 256 * 1024,
  txQueueFrames: 1024,
  txQueueBytes: 4 * 1024 * 1024,
};

/** Total length of a frame gathered from `iov`. */
export function iovBytes(iov: readonly Uint8Array[]): number {
  let n = 0;
  for (let i = 0; i < iov.length; i++) n += iov[i]!.byteLength;
  return n;
}

function ignoreFrame(): void {}
function noDrain(): void {}

export abstract class CardBase implements NetDevice {
  readonly name: string;
  readonly mac: Uint8Array;
  readonly mtuBytes: number;
  abstract readonly kind: string;
  /** Longest frame accepted either way: MTU + Ethernet header + one VLAN tag. */
  readonly maxFrameBytes: number;
  readonly tsoMaxBytes: number;
  protected readonly stats = new NicStats();
  protected readonly log: Logger;
  #handler: FrameHandler = ignoreFrame;
  #drain: () => void = noDrain;
  #capture: PcapWriter | undefined;
  #closed = false;

  /** `tsoMaxBytes`: largest TSO frame the backend segments (≤ TSO_MAX_FRAME_BYTES), 0 for none. */
  protected constructor(name: string, mac: Uint8Array, mtuBytes: number, log: Logger, tsoMaxBytes = 0) {
    this.name = name;
    this.mac = Uint8Array.from(mac);
    this.mtuBytes = mtuBytes;
    this.maxFrameBytes = mtuBytes + ETH_FRAME_OVERHEAD_BYTES;
    this.tsoMaxBytes = Math.min(tsoMaxBytes, TSO_MAX_FRAME_BYTES);
    this.log = log;
  }

  get closed(): boolean {
    return this.#closed;
  }

  setFrameHandler(handler: FrameHandler): void {
    this.#handler = handler;
  }

  /** Install the drain callback (one per card; replaces any previous one). It runs after the queue empties. */
  onDrain(cb: () => void): void {
    this.#drain = cb;
  }

  /** Copy every frame received and sent (sent or queued) into `writer`; `undefined` stops. */
  capture(writer: PcapWriter | undefined): void {
    this.#capture = writer;
  }

  counters(): NicCounters {
    this.collectTx();
    return this.stats.snapshot(this.txQueueFrames(), this.hostDroppedFrames(), this.txErrorsByErrno());
  }

  /** Writes the device refused since open, by errno name (a fresh object). */
  protected txErrorsByErrno(): Record<string, number> {
    return {};
  }

  /** Bring the tx counters up to date with writes done elsewhere (a writer thread), before they are read. */
  protected collectTx(): void {}

  /** Frames waiting in the transmit queue. */
  abstract txQueueFrames(): number;

  /** Frames the host side dropped on their way in since the card opened (its queue was full). */
  protected abstract hostDroppedFrames(): number;

  abstract close(): Promise<void>;

  /**
   * Write one frame of `bytes` bytes (already checked) or queue it; never keeps `iov`. With `tso`
   * (only when `tsoMaxBytes` > 0) the frame is a TCP super-segment to be cut into segments; a
   * queued copy keeps it.
   */
  protected abstract sendFrame(iov: readonly Uint8Array[], bytes: number, tso: TsoInfo | undefined): SendResult;

  transmit(iov: readonly Uint8Array[], tso?: TsoInfo): TxStatus {
    if (this.#closed) return this.#dropTx('tx_closed');
    const bytes = iovBytes(iov);
    if (bytes < ETH_HEADER_BYTES) return this.#dropTx('tx_runt');
    if (tso === undefined) {
      if (bytes > this.maxFrameBytes) return this.#dropTx('tx_oversize');
    } else {
      if (this.tsoMaxBytes === 0) return this.#dropTx('tx_tso_unsupported');
      if (bytes > this.tsoMaxBytes) return this.#dropTx('tx_oversize');
      if (!this.#tsoFits(tso, bytes)) return this.#dropTx('tx_tso_invalid');
    }
    switch (this.sendFrame(iov, bytes, tso)) {
      case SendResult.Sent:
        this.stats.txFrames++;
        this.stats.txBytes += bytes;
        if (tso !== undefined) {
          this.stats.txTsoFrames++;
          this.stats.txTsoBytes += bytes;
        }
        this.#capture?.write(iov);
        return 'sent';
      case SendResult.Accepted:
        this.#capture?.write(iov);
        return 'sent';
      case SendResult.Queued:
        this.stats.backpressureEvents++;
        this.#capture?.write(iov);
        return 'queued';
      case SendResult.QueueFull:
        return this.#dropTx('tx_queue_full');
      default:
        this.#dropTx('tx_error');
        this.noteRare('tx_error', 'transmit failed', { errno: this.lastTxError() });
        return 'dropped';
    }
  }

  /**
   * Whether `tso` can describe a frame of `bytes` bytes on this card: what the device needs to cut
   * it (segments of at most MTU + 14 bytes, the checksum field inside the headers, more than one
   * segment of payload). The protocol headers themselves are the sender's contract (the kernel
   * checks them before it calls the card).
   */
  #tsoFits(tso: TsoInfo, bytes: number): boolean {
    const { segmentBytes, headerBytes, checksumStart } = tso;
    return (
      Number.isInteger(segmentBytes) &&
      Number.isInteger(headerBytes) &&
      Number.isInteger(checksumStart) &&
      segmentBytes >= 1 &&
      checksumStart >= ETH_HEADER_BYTES &&
      checksumStart + TCP_CHECKSUM_END <= headerBytes &&
      headerBytes + segmentBytes <= this.mtuBytes + ETH_HEADER_BYTES &&
      bytes > headerBytes + segmentBytes
    );
  }

  /** errno name of the last failed write, for the log. */
  protected lastTxError(): string {
    return '';
  }

  #dropTx(reason: DropReason): TxStatus {
    this.stats.drop(reason);
    return 'dropped';
  }

  /**
   * Hand a received batch to the handler: frame i is `arena[table[base+2i] .. +table[base+2i+1]]`.
   * The views are valid only during the handler call (the arena is reused for the next batch).
   */
  protected deliverBatch(arena: ArrayBuffer, table: Uint32Array, base: number, frames: number): void {
    this.stats.rxBatch(frames);
    for (let i = 0; i < frames; i++) {
      if (this.#closed) {
        this.stats.drop('rx_closed', frames - i);
        return;
      }
      if (arena.byteLength === 0) {
        // A handler transferred the arena away: the rest of this batch went with it.
        this.stats.drop('rx_handler_error', frames - i);
        return;
      }
      const length = table[base + 2 * i + 1]!;
      const frame = new Uint8Array(arena, table[base + 2 * i]!, length);
      this.stats.rxFrames++;
      this.stats.rxBytes += length;
      if (this.#capture !== undefined) this.#capture.write([frame]);
      try {
        this.#handler(frame);
      } catch (err) {
        this.stats.drop('rx_handler_error');
        this.noteRare('rx_handler_error', 'frame handler threw; frame dropped', { err });
      }
    }
  }

  /**
   * Account for frames the queue (or the writer thread) wrote out later, of which `tsoFrames` TSO
   * frames of `tsoBytes`, and `errors` writes the device refused; `drained`: the queue has emptied
   * after backpressure, so the drain callback runs.
   */
  protected txDrained(frames: number, bytes: number, errors: number, drained: boolean, tsoFrames = 0, tsoBytes = 0): void {
    this.stats.txFrames += frames;
    this.stats.txBytes += bytes;
    this.stats.txTsoFrames += tsoFrames;
    this.stats.txTsoBytes += tsoBytes;
    if (errors > 0) {
      this.stats.drop('tx_error', errors);
      this.noteRare('tx_error', 'queued transmit failed', { errno: this.lastTxError() });
    }
    if (drained && !this.#closed) {
      try {
        this.#drain();
      } catch (err) {
        this.log.error({ err }, 'drain callback threw');
      }
    }
  }

  /** Mark closed (further transmits are dropped as `tx_closed`); true the first time. */
  protected markClosed(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    return true;
  }

  /** After counting a drop: log it at warn level on its 1st, 2nd, 4th, 8th… occurrence only. */
  protected noteRare(reason: DropReason, msg: string, fields: Record<string, unknown>): void {
    const n = this.stats.dropped(reason);
    if ((n & (n - 1)) === 0) this.log.warn({ ...fields, reason, occurrences: n }, msg);
  }
}
