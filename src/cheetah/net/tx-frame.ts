/**
 * One outgoing Ethernet frame as a gather list: the headers (Ethernet + IPv4 + TCP) in a
 * buffer the stack owns, then up to a few payload pieces that are *references* into buffers the
 * application keeps alive (cached documents, prebuilt response headers). Nothing is copied to
 * build a frame; the server glue turns the list into one `sendv` iovec.
 *
 * Ownership: the stack reuses the same TxFrame object and header buffers for the next frame, so
 * the transmit callback must consume the frame synchronously (write it or copy it) and keep no
 * reference after it returns.
 */
export class TxFrame {
  /** Index of the interface (card) to send on. */
  nic = 0;
  /** Buffer holding the headers at `[headerOffset, headerOffset + headerLen)`. */
  header: Uint8Array = new Uint8Array(0);
  headerOffset = 0;
  headerLen = 0;
  /**
   * 0 for an ordinary frame. Otherwise the frame is a TCP super-segment (TCP segmentation
   * offload): the host cuts it into segments of this many payload bytes (the connection's MSS)
   * — `dpf_send_tso` in the server — and its TCP checksum field holds only the folded pseudo-header
   * sum (Linux's CHECKSUM_PARTIAL), which segmentation completes per segment.
   */
  tsoSegmentBytes = 0;
  /** Number of payload pieces in use. */
  pieces = 0;
  readonly pieceBuf: Uint8Array[] = [];
  readonly pieceOffset: number[] = [];
  readonly pieceLength: number[] = [];

  /** Append a payload piece (a reference, not a copy). */
  addPiece(buf: Uint8Array, offset: number, length: number): void {
    const i = this.pieces++;
    this.pieceBuf[i] = buf;
    this.pieceOffset[i] = offset;
    this.pieceLength[i] = length;
  }

  /** Total frame length in bytes. */
  get length(): number {
    let n = this.headerLen;
    for (let i = 0; i < this.pieces; i++) n += this.pieceLength[i]!;
    return n;
  }

  /** The frame as subarrays (allocates; for glue that wants a plain iovec). */
  toIov(): Uint8Array[] {
    const iov = [this.header.subarray(this.headerOffset, this.headerOffset + this.headerLen)];
    for (let i = 0; i < this.pieces; i++) {
      const o = this.pieceOffset[i]!;
      iov.push(this.pieceBuf[i]!.subarray(o, o + this.pieceLength[i]!));
    }
    return iov;
  }

  /** The frame copied into one new buffer (tests, captures). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.toIov()) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
