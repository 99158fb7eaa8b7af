/**
 * The receive queue of an AF_DPF socket: a bounded byte ring of frames stored as the records
 * of the batch-receive ABI (`{u16 len, u16 card, frame, zero padding to 4}`, abi/layout.ts).
 *
 * Storing frames in the form the process reads them makes a batch receive one `set` per
 * contiguous run (at most two per call, at the wrap point) — no per-frame work on the way out
 * but reading two header bytes. A record never wraps: when it does not fit before the end of
 * the ring it starts again at offset 0 (if the oldest record leaves room there), and the end of
 * the upper run is remembered.
 *
 * Bounded in frames and in bytes, both fixed at construction; one buffer allocated once, nothing
 * allocated per frame on the way in. A frame that does not fit is refused (the caller counts
 * the drop); queued frames are never overwritten.
 */
import { DPF_REC_HEADER_BYTES, DPF_REC_OFF_CARD, DPF_REC_OFF_LEN, dpfRecordBytes } from '../abi/layout.js';

/** Largest frame a record can describe (its length is a u16). */
export const DPF_MAX_RECORD_FRAME_BYTES = 0xffff;

export class FrameQueue {
  /** Most frames held at once. */
  readonly capacityFrames: number;
  /** Bytes of the ring (records with their headers and padding). */
  readonly capacityBytes: number;
  readonly #buf: Uint8Array;
  /** Offset of the oldest record (meaningful when `#frames > 0`). */
  #head = 0;
  /** Where the next record goes. */
  #tail = 0;
  /** True when records continue at offset 0: the upper run is `[#head, #wrapEnd)`, the lower `[0, #tail)`. */
  #wrapped = false;
  #wrapEnd = 0;
  #frames = 0;
  #usedBytes = 0;

  /** `capacityFrames` ≥ 1; `capacityBytes` ≥ 4, a multiple of 4. */
  constructor(capacityFrames: number, capacityBytes: number) {
    if (!Number.isSafeInteger(capacityFrames) || capacityFrames < 1) throw new RangeError('FrameQueue: capacityFrames must be a positive integer');
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < DPF_REC_HEADER_BYTES || capacityBytes % 4 !== 0) {
      throw new RangeError('FrameQueue: capacityBytes must be a positive multiple of 4');
    }
    this.capacityFrames = capacityFrames;
    this.capacityBytes = capacityBytes;
    this.#buf = new Uint8Array(capacityBytes);
  }

  /** Frames queued. */
  get frames(): number {
    return this.#frames;
  }

  /** Bytes the queued records take (headers and padding included). */
  get usedBytes(): number {
    return this.#usedBytes;
  }

  /**
   * Copy `frame` in as a record from `card`. False (nothing changed) when the queue is full in
   * frames or bytes, or the frame is empty or longer than a record can describe.
   */
  push(frame: Uint8Array, card: number): boolean {
    const len = frame.length;
    if (len === 0 || len > DPF_MAX_RECORD_FRAME_BYTES || this.#frames >= this.capacityFrames) return false;
    const rec = dpfRecordBytes(len);
    let at: number;
    if (this.#frames === 0) {
      this.#head = 0;
      this.#tail = 0;
      this.#wrapped = false;
    }
    if (this.#wrapped) {
      if (this.#tail + rec > this.#head) return false;
      at = this.#tail;
    } else if (this.#tail + rec <= this.capacityBytes) {
      at = this.#tail;
    } else if (rec <= this.#head) {
      this.#wrapEnd = this.#tail;
      this.#wrapped = true;
      at = 0;
    } else {
      return false;
    }
    const b = this.#buf;
    b[at + DPF_REC_OFF_LEN] = len & 0xff;
    b[at + DPF_REC_OFF_LEN + 1] = len >>> 8;
    b[at + DPF_REC_OFF_CARD] = card & 0xff;
    b[at + DPF_REC_OFF_CARD + 1] = (card >>> 8) & 0xff;
    b.set(frame, at + DPF_REC_HEADER_BYTES);
    // Padding is zeroed: a process never sees stale bytes between records.
    for (let i = at + DPF_REC_HEADER_BYTES + len; i < at + rec; i++) b[i] = 0;
    this.#tail = at + rec;
    this.#frames++;
    this.#usedBytes += rec;
    return true;
  }

  /** Length of the oldest frame, or -1 when empty. */
  peekLength(): number {
    if (this.#frames === 0) return -1;
    return this.#lenAt(this.#head);
  }

  /** Card index of the oldest frame, or -1 when empty. */
  peekCard(): number {
    if (this.#frames === 0) return -1;
    const b = this.#buf;
    const h = this.#head;
    return b[h + DPF_REC_OFF_CARD]! | (b[h + DPF_REC_OFF_CARD + 1]! << 8);
  }

  /** Copy `n` bytes of the oldest frame, from its byte `from`, to `dst[dstOff…]`. The caller keeps `from + n` within the frame. */
  copyOldest(from: number, dst: Uint8Array, dstOff: number, n: number): void {
    if (n <= 0) return;
    const start = this.#head + DPF_REC_HEADER_BYTES + from;
    dst.set(this.#buf.subarray(start, start + n), dstOff);
  }

  /** Drop the oldest frame (no-op when empty). */
  shift(): void {
    if (this.#frames === 0) return;
    this.#advance(this.#head + dpfRecordBytes(this.#lenAt(this.#head)), 1);
  }

  /**
   * Move up to `maxFrames` whole records (0: no limit), oldest first, into `dst[off, off + len)`,
   * packed from `off`. Returns the number moved; 0 when the oldest record alone does not fit
   * (or the queue is empty — ask `frames`).
   */
  takeRecords(dst: Uint8Array, off: number, len: number, maxFrames: number): number {
    const limit = maxFrames === 0 ? this.#frames : Math.min(maxFrames, this.#frames);
    let moved = 0;
    let out = off;
    const end = off + len;
    while (moved < limit) {
      const runEnd = this.#wrapped ? this.#wrapEnd : this.#tail;
      const from = this.#head;
      let h = from;
      let n = 0;
      while (h < runEnd && moved + n < limit) {
        const rec = dpfRecordBytes(this.#lenAt(h));
        if (out + (h - from) + rec > end) break;
        h += rec;
        n++;
      }
      if (n === 0) break;
      dst.set(this.#buf.subarray(from, h), out);
      out += h - from;
      moved += n;
      const more = h === runEnd && this.#wrapped;
      this.#advance(h, n);
      if (!more) break;
    }
    return moved;
  }

  #lenAt(at: number): number {
    return this.#buf[at + DPF_REC_OFF_LEN]! | (this.#buf[at + DPF_REC_OFF_LEN + 1]! << 8);
  }

  /** The oldest `n` records, ending at `newHead`, are gone. */
  #advance(newHead: number, n: number): void {
    this.#usedBytes -= newHead - this.#head;
    this.#frames -= n;
    this.#head = newHead;
    if (this.#wrapped && newHead === this.#wrapEnd) {
      this.#head = 0;
      this.#wrapped = false;
    }
    if (this.#frames === 0) {
      this.#head = 0;
      this.#tail = 0;
      this.#wrapped = false;
    }
  }
}
