/**
 * Channels (thesis §2.3.4): descriptors the *kernel* writes to when an event happens, so a
 * process can wait for kernel notifications with `read_wait`, `select`, `poll` or `epoll`
 * alongside any other descriptor.
 *
 * Two modes:
 * - **byte** (the thesis prototype): one byte (value 1) per event. The kernel keeps only a count,
 *   so a byte channel cannot overflow.
 * - **record** (the thesis's proposed improvement): one 24-byte `chan_rec` per event — request
 *   id, device, block, status — so one channel serves any number of pending requests. The ring
 *   holds `capacity` records (bounded memory).
 *
 * A full record channel never loses an event silently. Two mechanisms:
 * 1. **Reservations.** A subsystem that starts an asynchronous request calls `reserve()` first
 *    (and fails the request with EAGAIN when it cannot); the completion's `notify(…, true)` then
 *    always has a slot. Completions of reserved requests are never folded.
 * 2. **Overflow record.** An unreserved event that finds the ring full is folded into a pending
 *    overflow count; from then on further unreserved events fold too, until the reader has
 *    drained the ring and read the overflow record (`flags = CHAN_REC_OVERFLOW`,
 *    `status = number of events folded`). It comes after every record that was queued before the
 *    first folded event; the reader must then resynchronise with the subsystem (as with inotify's
 *    IN_Q_OVERFLOW). Reserved completions may overtake it.
 *
 * Reading returns whole records only (`len` < 24 is EINVAL) and drains what it returns.
 */
import { EAGAIN, EINVAL } from '../abi/errno.js';
import {
  CHAN_MODE_BYTE,
  CHAN_REC_BYTES,
  CHAN_REC_OFF_BLOCK,
  CHAN_REC_OFF_DEVICE,
  CHAN_REC_OFF_FLAGS,
  CHAN_REC_OFF_REQUEST_ID,
  CHAN_REC_OFF_STATUS,
  CHAN_REC_OVERFLOW,
  POLLIN,
  POLLRDNORM,
} from '../abi/layout.js';
import { KernelFile } from '../proc/file.js';

/** Default and largest ring size of a record channel, in records. */
export const CHAN_DEFAULT_RECORDS = 256;
export const CHAN_MAX_RECORDS = 65536;

const STATUS_MAX = 0x7fff_ffff;

export class Channel extends KernelFile {
  readonly kind = 'channel';
  readonly mode: 'byte' | 'record';
  /** Ring size in records (record mode). */
  readonly capacity: number;
  readonly #ring: Uint8Array;
  readonly #dv: DataView;
  #head = 0;
  #count = 0;
  #reserved = 0;
  #overflow = 0;
  /** Byte mode: events not yet read. */
  #bytes = 0;
  /** Events notified, events folded into overflow records, records/bytes read (admin counters). */
  notified = 0;
  folded = 0;
  readCount = 0;

  /** `mode`: CHAN_MODE_BYTE or CHAN_MODE_RECORD; `capacity`: records (record mode). */
  constructor(mode: number, capacity: number) {
    super();
    this.mode = mode === CHAN_MODE_BYTE ? 'byte' : 'record';
    this.capacity = this.mode === 'record' ? capacity : 0;
    this.#ring = new Uint8Array(this.capacity * CHAN_REC_BYTES);
    this.#dv = new DataView(this.#ring.buffer);
  }

  /** Events waiting to be read (the overflow record counts as one). */
  get pending(): number {
    return this.mode === 'byte' ? this.#bytes : this.#count + (this.#overflow > 0 ? 1 : 0);
  }

  /** Claim a ring slot for a future `notify(…, true)`; false when none is free (byte channels always succeed). */
  reserve(): boolean {
    if (this.mode === 'byte') return true;
    if (this.#count + this.#reserved >= this.capacity) return false;
    this.#reserved++;
    return true;
  }

  /** Give back a reservation whose request will never complete (cancelled). */
  unreserve(): void {
    if (this.#reserved > 0) this.#reserved--;
  }

  /**
   * Post an event. `reserved`: it uses a slot claimed with `reserve()`. Returns false when the
   * event was folded into the overflow record (record mode, ring full, unreserved).
   * Arguments are clamped to the record's field widths.
   */
  notify(requestId: number, device: number, block: number, status: number, reserved = false): boolean {
    this.notified++;
    if (this.mode === 'byte') {
      this.#bytes++;
      this.waitq.wake(POLLIN | POLLRDNORM);
      return true;
    }
    if (reserved && this.#reserved > 0) {
      this.#reserved--;
    } else if (this.#overflow > 0 || this.#count + this.#reserved >= this.capacity) {
      if (this.#overflow < STATUS_MAX) this.#overflow++;
      this.folded++;
      this.waitq.wake(POLLIN | POLLRDNORM);
      return false;
    }
    const at = ((this.#head + this.#count) % this.capacity) * CHAN_REC_BYTES;
    const dv = this.#dv;
    dv.setUint32(at + CHAN_REC_OFF_REQUEST_ID, requestId >>> 0, true);
    dv.setUint32(at + CHAN_REC_OFF_DEVICE, device >>> 0, true);
    const blk = Number.isSafeInteger(block) && block >= 0 ? block : 0;
    dv.setUint32(at + CHAN_REC_OFF_BLOCK, blk % 0x1_0000_0000, true);
    dv.setUint32(at + CHAN_REC_OFF_BLOCK + 4, Math.floor(blk / 0x1_0000_0000), true);
    dv.setInt32(at + CHAN_REC_OFF_STATUS, status | 0, true);
    dv.setUint32(at + CHAN_REC_OFF_FLAGS, 0, true);
    this.#count++;
    this.waitq.wake(POLLIN | POLLRDNORM);
    return true;
  }

  poll(): number {
    return this.pending > 0 ? POLLIN | POLLRDNORM : 0;
  }

  override read(dst: Uint8Array, off: number, len: number): number {
    if (this.mode === 'byte') {
      if (len === 0) return 0;
      const n = Math.min(len, this.#bytes);
      if (n === 0) return -EAGAIN;
      dst.fill(1, off, off + n);
      this.#bytes -= n;
      this.readCount += n;
      return n;
    }
    if (len < CHAN_REC_BYTES) return -EINVAL;
    let room = Math.floor(len / CHAN_REC_BYTES);
    let out = off;
    while (room > 0 && this.#count > 0) {
      const at = this.#head * CHAN_REC_BYTES;
      dst.set(this.#ring.subarray(at, at + CHAN_REC_BYTES), out);
      out += CHAN_REC_BYTES;
      this.#head = (this.#head + 1) % this.capacity;
      this.#count--;
      room--;
    }
    if (room > 0 && this.#count === 0 && this.#overflow > 0) {
      dst.fill(0, out, out + CHAN_REC_BYTES);
      writeU32(dst, out + CHAN_REC_OFF_STATUS, this.#overflow);
      writeU32(dst, out + CHAN_REC_OFF_FLAGS, CHAN_REC_OVERFLOW);
      this.#overflow = 0;
      out += CHAN_REC_BYTES;
    }
    const n = out - off;
    if (n === 0) return -EAGAIN;
    this.readCount += n / CHAN_REC_BYTES;
    return n;
  }

  override readableBytes(): number {
    return this.mode === 'byte' ? this.#bytes : this.pending * CHAN_REC_BYTES;
  }

  describe(): Record<string, unknown> {
    return {
      mode: this.mode,
      capacityRecords: this.capacity,
      pending: this.pending,
      reserved: this.#reserved,
      overflowPending: this.#overflow,
      notified: this.notified,
      folded: this.folded,
      read: this.readCount,
    };
  }
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

/** The channel behind a file, or null (XN and others check the fd they were given with this). */
export function asChannel(f: unknown): Channel | null {
  return f instanceof Channel ? f : null;
}
