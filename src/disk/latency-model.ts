/**
 * An optional mechanical-disk latency model (seek + rotation + transfer), so the thesis's
 * disk-bound experiments (Figures 4-3 and 4-4, a 1998 SCSI disk) can be reproduced on a medium
 * that is really an SQLite file in the page cache. Pure and deterministic: the controller asks
 * it for the service time of each request in service order and sleeps until then.
 *
 * Geometry: blocks are laid out track by track, `blocksPerTrack` per track; the head sits on a
 * block number. Seek time grows with the square root of the distance (the usual short-seek
 * acceleration curve) from `seekMinUs` (one track) to `seekMaxUs` (full stroke); a request on the
 * head's current track does not seek. Rotational delay is the angular distance from where the
 * platter is at the modeled instant to the target block's angle. Transfer takes the time the run's
 * blocks need to pass under the head (so the media rate follows from rpm and blocks per track, and
 * a sequential run continues without a lost revolution).
 */
import { BLOCK_SIZE } from './constants.js';

/** Parameters of the model. Every time is in microseconds. */
export interface LatencyModelConfig {
  /** Track-to-track seek. */
  seekMinUs: number;
  /** Full-stroke seek. */
  seekMaxUs: number;
  /** Spindle speed, revolutions per minute. */
  rpm: number;
  /** Blocks per track. */
  blocksPerTrack: number;
  /** Multiply every modeled time by this (e.g. 0.1 to run a 1998 disk ten times faster). */
  timeScale: number;
}

/** A 1998-class SCSI disk (7200 rpm, ~8 ms average seek, ~12 MB/s media rate), unscaled. */
export const THESIS_DISK: LatencyModelConfig = {
  seekMinUs: 1000,
  seekMaxUs: 16000,
  rpm: 7200,
  blocksPerTrack: 24,
  timeScale: 1,
};

/** Head and platter state of the modeled disk. */
export class DiskLatencyModel {
  readonly config: LatencyModelConfig;
  readonly #blockCount: number;
  /** Block under the head. */
  head = 0;

  constructor(config: LatencyModelConfig, blockCount: number) {
    this.config = config;
    this.#blockCount = Math.max(1, blockCount);
  }

  /** Media rate in bytes per second that the geometry implies. */
  get mediaBytesPerSecond(): number {
    return (this.config.blocksPerTrack * BLOCK_SIZE * this.config.rpm) / 60;
  }

  /** Microseconds one revolution takes (unscaled). */
  get rotationUs(): number {
    return 60e6 / this.config.rpm;
  }

  /**
   * Service time of a request for `count` blocks at `block`, starting at modeled instant `nowUs`
   * (scaled time). Moves the head to the block after the run. Returns scaled microseconds.
   */
  service(block: number, count: number, nowUs: number): number {
    const c = this.config;
    const scale = c.timeScale > 0 ? c.timeScale : 1;
    const t0 = nowUs / scale; // unscaled instant
    const fromTrack = Math.floor(this.head / c.blocksPerTrack);
    const toTrack = Math.floor(block / c.blocksPerTrack);
    let seek = 0;
    if (fromTrack !== toTrack) {
      const tracks = Math.ceil(this.#blockCount / c.blocksPerTrack);
      const frac = Math.abs(toTrack - fromTrack) / Math.max(1, tracks - 1);
      seek = c.seekMinUs + (c.seekMaxUs - c.seekMinUs) * Math.sqrt(frac);
    }
    const rot = this.rotationUs;
    const angleNow = ((t0 + seek) / rot) % 1;
    const angleTarget = (block % c.blocksPerTrack) / c.blocksPerTrack;
    let wait = (((angleTarget - angleNow) % 1) + 1) % 1;
    if (wait > 1 - 1e-9) wait = 0; // float noise at the exact angle is no lost revolution
    const rotation = wait * rot;
    const transfer = (count * rot) / c.blocksPerTrack;
    this.head = block + count;
    return (seek + rotation + transfer) * scale;
  }
}

/**
 * C-LOOK order of a batch: requests at or after the head in ascending block order, then the
 * rest from the lowest block. Returns indexes into `blocks`. Stable for equal blocks.
 */
export function clookOrder(blocks: readonly number[], head: number): number[] {
  const idx = blocks.map((_b, i) => i);
  idx.sort((a, b) => {
    const ba = blocks[a] as number;
    const bb = blocks[b] as number;
    const wa = ba >= head ? 0 : 1;
    const wb = bb >= head ? 0 : 1;
    return wa - wb || ba - bb || a - b;
  });
  return idx;
}
