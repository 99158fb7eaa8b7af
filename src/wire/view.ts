/**
 * The base of every packet view: a window `[offset, offset + length)` over a Uint8Array that
 * can be re-pointed with {@link PacketView.reset}, so a hot path keeps one view object per
 * layer and allocates nothing per packet.
 *
 * A view never copies. It stays valid as long as the caller keeps the bytes alive and
 * unchanged; whoever re-points it decides what it refers to.
 */
import type { WireError } from './error.js';

const EMPTY = new Uint8Array(0);

export abstract class PacketView {
  /**
   * Wrap untrusted bytes: a view whose accessors are all in bounds, or the reason the bytes
   * cannot be one (allocates the view; hot paths `reset` a kept view and call `check`).
   */
  static checked<T extends PacketView>(this: new () => T, buf: Uint8Array, offset = 0, length = buf.length - offset): T | WireError {
    const v = new this().reset(buf, offset, length);
    return v.check() ?? v;
  }

  /** Wrap a buffer this code sized itself (for emit). No checks: a reused buffer holds stale lengths. */
  static unchecked<T extends PacketView>(this: new () => T, buf: Uint8Array, offset = 0, length = buf.length - offset): T {
    return new this().reset(buf, offset, length);
  }

  /** After `reset` on untrusted bytes: undefined when every accessor is safe, else the error. */
  abstract check(): WireError | undefined;

  /** The underlying buffer (shared, never copied). */
  protected b: Uint8Array = EMPTY;
  /** Offset of the packet's first byte in `b`. */
  protected o = 0;
  /** Packet length in bytes, starting at `o`. */
  protected n = 0;

  /**
   * Point this view at `length` bytes of `buf` from `offset` (defaults: the whole rest of the
   * buffer). Out-of-range arguments are clamped to the buffer, never thrown on; the view is
   * not checked — call `check()` before trusting its fields.
   */
  reset(buf: Uint8Array, offset = 0, length = buf.length - offset): this {
    const o = offset > 0 ? Math.min(offset, buf.length) : 0;
    this.b = buf;
    this.o = o;
    this.n = Math.max(0, Math.min(length, buf.length - o));
    return this;
  }

  /** The buffer this view is over. */
  get buffer(): Uint8Array {
    return this.b;
  }

  /** Offset of the packet in {@link buffer}. */
  get offset(): number {
    return this.o;
  }

  /** Length of the packet in bytes (the window, not a length field). */
  get length(): number {
    return this.n;
  }

  /** The packet's bytes as one subarray (allocates a view object, never copies). */
  bytes(): Uint8Array {
    return this.b.subarray(this.o, this.o + this.n);
  }
}
