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
 * Bounded in frames and in bytes, both fixed at construction. The ring starts small
 * (`INITIAL_RING_BYTES`) and doubles, up to the byte bound, only when a frame would not fit: a
 * per-connection socket that never holds more than a few frames costs a few KiB, not its bound
 * (a server with 1,000 connections would otherwise hold 1,000 × the bound). Growth copies the
 * queued records once, oldest first; `trim` gives an empty ring back its initial size; nothing
 * is allocated per frame otherwise. A frame that does
 * not fit the bound is refused (the caller counts the drop); queued frames are never overwritten.
 */
import { DPF_REC_HEADER_BYTES, DPF_REC_OFF_CARD, DPF_REC_OFF_LEN, dpfRecordBytes } from '../abi/layout.js';

/** Largest frame a record can describe (its length is a u16). */
export const DPF_MAX_RECORD_FRAME_BYTES = 0xffff;

/** Size of a new ring: a few full-size frames. */
const INITIAL_RING_BYTES = 8192;

export class FrameQueue {
  /** Most frames held at once. */
  readonly capacityFrames: number;
  /** Bytes of the ring (records with their headers and padding). */
  readonly capacityBytes: number;
  readonly #initialBytes: number;
  #buf: Uint8Array;
  /** Offset of the oldest record (meaningful when `#frames > 0`). */
  #head = 0;
  /** Where the next record goes. */
  #tail = 0;
  /** True when records continue at offset 0: the upper run is `[#head, #wrapEnd)`, the lower `[0, #tail)`. */
  #wrapped = false;
  #wrapEnd = 0;
  #frames = 0;
  #usedBytes = 0;

  /** `capacityFrames` ≥ 1; `capacityBytes` ≥ 4, a multiple of 4; the ring starts at `initialBytes` (a multiple of 4). */
  constructor(capacityFrames: number, capacityBytes: number, initialBytes = INITIAL_RING_BYTES) {
    if (!Number.isSafeInteger(capacityFrames) || capacityFrames < 1) throw new RangeError('FrameQueue: capacityFrames must be a positive integer');
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < DPF_REC_HEADER_BYTES || capacityBytes % 4 !== 0) {
      throw new RangeError('FrameQueue: capacityBytes must be a positive multiple of 4');
    }
    this.capacityFrames = capacityFrames;
    this.capacityBytes = capacityBytes;
    this.#initialBytes = Math.max(DPF_REC_HEADER_BYTES, Math.min(capacityBytes, initialBytes & ~3));
    this.#buf = new Uint8Array(this.#initialBytes);
  }

  /**
   * Give back what growth took: an empty ring larger than its initial size goes back to it.
   * Called when a socket's filter changes hands (detach, re-attach), so a pooled socket keeps
   * only the small ring, not the peak of its last connection. False when nothing changed.
   */
  trim(): boolean {
    if (this.#frames > 0 || this.#buf.length <= this.#initialBytes) return false;
    this.#buf = new Uint8Array(this.#initialBytes);
    this.#head = 0;
    this.#tail = 0;
    this.#wrapped = false;
    return true;
  }

  /** Bytes of the ring allocated now (grows up to `capacityBytes`). */
  get allocatedBytes(): number {
    return this.#buf.length;
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
    if (this.#usedBytes + rec > this.capacityBytes) return false;
    const at = this.#place(rec);
    if (at < 0) return false;
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

  /** Where a record of `rec` bytes goes, growing the ring if it must; -1 when it cannot fit. */
  #place(rec: number): number {
    for (;;) {
      if (this.#frames === 0) {
        this.#head = 0;
        this.#tail = 0;
        this.#wrapped = false;
      }
      if (this.#wrapped) {
        if (this.#tail + rec <= this.#head) return this.#tail;
      } else if (this.#tail + rec <= this.#buf.length) {
        return this.#tail;
      } else if (rec <= this.#head) {
        this.#wrapEnd = this.#tail;
        this.#wrapped = true;
        return 0;
      }
      if (this.#buf.length >= this.capacityBytes) return -1;
      this.#grow();
    }
  }

  /** Double the ring (up to the bound), laying the queued records out from offset 0, oldest first. */
  #grow(): void {
    const next = new Uint8Array(Math.min(this.capacityBytes, this.#buf.length * 2));
    let used = 0;
    if (this.#frames > 0) {
      const upperEnd = this.#wrapped ? this.#wrapEnd : this.#tail;
      next.set(this.#buf.subarray(this.#head, upperEnd), 0);
      used = upperEnd - this.#head;
      if (this.#wrapped) {
        next.set(this.#buf.subarray(0, this.#tail), used);
        used += this.#tail;
      }
    }
    this.#buf = next;
    this.#head = 0;
    this.#tail = used;
    this.#wrapped = false;
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
