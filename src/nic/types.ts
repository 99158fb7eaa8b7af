/**
 * The contract between a virtual Ethernet card and the kernel above it.
 *
 * A card delivers received frames in batches (one native→JS crossing per batch); inside a batch
 * the kernel's handler runs once per frame. **Ownership:** a received frame is a view into a
 * buffer the card reuses; it is valid only during the handler call, and anything that keeps it
 * (a socket queue) copies it. A transmitted iovec is read synchronously: when `transmit`
 * returns, the card no longer refers to the caller's buffers (a frame that could not be written
 * at once was copied into the card's bounded queue).
 */

/** TCP segmentation offload of one IPv4/TCP frame (virtio_net_hdr, VIRTIO_NET_HDR_GSO_TCPV4). */
export interface TsoInfo {
  /** TCP payload bytes per segment on the wire (the MSS); the last segment may be shorter. */
  readonly segmentBytes: number;
  /** Ethernet + IPv4 + TCP header bytes at the start of the frame (virtio `hdr_len`). */
  readonly headerBytes: number;
  /** Offset of the TCP header from the frame's start (virtio `csum_start`); the checksum field is at +16. */
  readonly checksumStart: number;
}

/**
 * Outcome of a transmit. `queued` is backpressure (the TAP would block; the frame was copied into
 * the card's bounded queue and goes out in order). `dropped` is always counted, by reason: the
 * bounded queue is full (`tx_queue_full`), the frame is shorter than an Ethernet header or longer
 * than MTU + 18 (`tx_runt`, `tx_oversize`; a TSO frame: longer than `tsoMaxBytes`), a TSO frame
 * on a card that cannot segment (`tx_tso_unsupported`) or with impossible `TsoInfo`
 * (`tx_tso_invalid`), the device refused it (`tx_error`), or the card is closed (`tx_closed`).
 */
export type TxStatus = 'sent' | 'queued' | 'dropped';

/** TCP segmentation offload of one IPv4/TCP frame (virtio_net_hdr, VIRTIO_NET_HDR_GSO_TCPV4). */
export interface TsoInfo {
  /** TCP payload bytes per segment on the wire (the MSS); the last segment may be shorter. */
  readonly segmentBytes: number;
  /** Ethernet + IPv4 + TCP header bytes at the start of the frame (virtio `hdr_len`). */
  readonly headerBytes: number;
  /** Offset of the TCP header from the frame's start (virtio `csum_start`); the checksum field is at +16. */
  readonly checksumStart: number;
}

/** Called once per received frame; `frame` is valid only during the call. */
export type FrameHandler = (frame: Uint8Array) => void;

/** Per-card counters, as the admin API shows them. */
export interface NicCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** TCP super-segments written with TSO (also counted in `txFrames`), and their bytes (also in `txBytes`). */
  txTsoFrames: number;
  txTsoBytes: number;
  /** Frames lost, by reason (e.g. `tx_queue_full`, `rx_oversize`, `rx_read_error`). */
  drops: Record<string, number>;
  /** Number of receive batches, and how many frames they held: histogram by power-of-two bucket (`"1"`, `"2-3"`, `"4-7"`, …). */
  rxBatches: number;
  rxBatchSizes: Record<string, number>;
  /** Times a transmit found the device would block and queued instead. */
  backpressureEvents: number;
  /** Frames currently queued for transmit. */
  txQueueFrames: number;
  /** Writes the device refused, by errno name (`EBADFD`, `EIO`, …; their sum is in `drops.tx_error`); empty when none. */
  txErrors: Record<string, number>;
}

/** A virtual Ethernet card as the kernel sees it. */
export interface NetDevice {
  /** Interface name (`exo0`). */
  readonly name: string;
  /** The machine's MAC on this card (6 bytes; the host side of a TAP has its own). */
  readonly mac: Uint8Array;
  readonly mtuBytes: number;
  /** `tap` or `memory`. */
  readonly kind: string;
  /** Install the receive handler (one per card; replaces any previous one). */
  setFrameHandler(handler: FrameHandler): void;
  /** Largest frame `transmit(iov, tso)` takes, in bytes; 0 when the card cannot segment (the kernel segments in software). */
  readonly tsoMaxBytes: number;
  /** Send one frame gathered from `iov` (one `writev` on a TAP); with `tso`, a TCP super-segment the card cuts into segments. See the ownership rule above. */
  transmit(iov: readonly Uint8Array[], tso?: TsoInfo): TxStatus;
  /** Called when a queued transmit backlog has drained. */
  onDrain(cb: () => void): void;
  counters(): NicCounters;
  /** Stop receiving, flush or drop the queue (counted), release the device; a created TAP disappears. Idempotent. */
  close(): Promise<void>;
}
