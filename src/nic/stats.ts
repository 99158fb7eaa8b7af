import type { NicCounters } from './types.js';

/**
 * Why a card lost a frame. Every drop is counted under exactly one reason.
 * - `rx_oversize`: received frame longer than MTU + 18 (Ethernet header + one 802.1Q tag).
 * - `rx_runt`: received frame shorter than an Ethernet header (14 bytes).
 * - `rx_empty`: a zero-length read (spurious readiness); no frame was lost, counted for visibility.
 * - `rx_read_error`: a failed read on the device.
 * - `rx_handler_error`: the frame handler threw; the frame is treated as consumed.
 * - `rx_closed`: frames of a batch still undelivered when the handler closed the card.
 * - `rx_gso`: a received frame whose vnet header announced GSO (a super-segment). The host never
 *   sends one: we do not enable TUNSETOFFLOAD.
 * - `rx_partial_csum`: a received frame whose vnet header said NEEDS_CSUM (its TCP/UDP checksum
 *   left for us to finish); likewise never sent by the host without TUNSETOFFLOAD(TUN_F_CSUM).
 * - `tx_runt` / `tx_oversize`: a transmit shorter than 14 bytes or longer than MTU + 18 (a TSO
 *   frame: longer than the card's `tsoMaxBytes`).
 * - `tx_tso_unsupported`: a TSO transmit on a card whose `tsoMaxBytes` is 0.
 * - `tx_tso_invalid`: a TSO transmit whose `TsoInfo` cannot describe the frame (segment size 0,
 *   headers + segment longer than MTU + 14, checksum field outside the headers, payload not
 *   longer than one segment).
 * - `tx_queue_full`: the device would block and the bounded transmit queue was full.
 * - `tx_error`: the device refused the write (errno other than EAGAIN).
 * - `tx_closed`: a transmit after close, or frames still queued when the card closed.
 * - `rx_host_dropped`: frames the host side dropped on their way to the card because its queue
 *   was full (the card did not read fast enough) — the TAP's own tx_dropped, read from the
 *   host when the counters are taken; the memory wire's host queue likewise.
 */
export const DROP_REASONS = [
  'rx_oversize',
  'rx_runt',
  'rx_empty',
  'rx_read_error',
  'rx_handler_error',
  'rx_closed',
  'rx_gso',
  'rx_partial_csum',
  'tx_runt',
  'tx_oversize',
  'tx_tso_unsupported',
  'tx_tso_invalid',
  'tx_queue_full',
  'tx_error',
  'tx_closed',
  'rx_host_dropped',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Power-of-two buckets of the batch-size histogram: `"1"`, `"2-3"`, `"4-7"`, …, up to 2^20. */
const BUCKETS = 21;
const BUCKET_LABELS: readonly string[] = Array.from({ length: BUCKETS }, (_, i) =>
  i === 0 ? '1' : `${2 ** i}-${2 ** (i + 1) - 1}`,
);

/** Histogram bucket label of a batch of `frames` (≥ 1) frames. */
export function batchBucketLabel(frames: number): string {
  return BUCKET_LABELS[Math.min(BUCKETS - 1, 31 - Math.clz32(frames))] ?? '1';
}

/**
 * The per-card counters, one implementation for every backend (TAP, packet socket, memory wire).
 * Plain numeric fields so the data path updates them without allocating; `snapshot()` builds
 * the `NicCounters` object the admin API shows.
 */
export class NicStats {
  rxFrames = 0;
  rxBytes = 0;
  txFrames = 0;
  txBytes = 0;
  txTsoFrames = 0;
  txTsoBytes = 0;
  rxBatches = 0;
  backpressureEvents = 0;
  readonly #drops = new Float64Array(DROP_REASONS.length);
  readonly #batchSizes = new Float64Array(BUCKETS);

  /** A batch of `frames` frames reached the card (called before the frames are handed out). */
  rxBatch(frames: number): void {
    if (frames <= 0) return;
    this.rxBatches++;
    this.#batchSizes[Math.min(BUCKETS - 1, 31 - Math.clz32(frames))]! += 1;
  }

  drop(reason: DropReason, frames = 1): void {
    if (frames > 0) this.#drops[DROP_REASONS.indexOf(reason)]! += frames;
  }

  dropped(reason: DropReason): number {
    return this.#drops[DROP_REASONS.indexOf(reason)] ?? 0;
  }

  /**
   * The counters as the admin API shows them; every drop reason is listed, zeros included.
   * `hostDroppedFrames` is what the host side counts (`rx_host_dropped`).
   */
  snapshot(txQueueFrames: number, hostDroppedFrames = 0, txErrors: Record<string, number> = {}): NicCounters {
    const drops: Record<string, number> = {};
    DROP_REASONS.forEach((r, i) => (drops[r] = this.#drops[i] ?? 0));
    drops['rx_host_dropped'] = hostDroppedFrames;
    const rxBatchSizes: Record<string, number> = {};
    this.#batchSizes.forEach((n, i) => {
      if (n > 0) rxBatchSizes[BUCKET_LABELS[i] ?? String(i)] = n;
    });
    return {
      rxFrames: this.rxFrames,
      rxBytes: this.rxBytes,
      txFrames: this.txFrames,
      txBytes: this.txBytes,
      txTsoFrames: this.txTsoFrames,
      txTsoBytes: this.txTsoBytes,
      drops,
      rxBatches: this.rxBatches,
      rxBatchSizes,
      backpressureEvents: this.backpressureEvents,
      txQueueFrames,
      txErrors,
    };
  }
}
