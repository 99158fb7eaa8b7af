/**
 * A pcap file writer for looking at a card's traffic in tcpdump/Wireshark (debugging only; not on
 * by default). Read first: draft-ietf-opsawg-pcap (file header, record header, nanosecond magic),
 * LINKTYPE_ETHERNET = 1.
 *
 * Records go into a reused buffer that is written out when full, at most every `flushIntervalMs`
 * on a later write, and on close, so capturing does not cost a syscall per frame.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Magic of a pcap file whose timestamps are in nanoseconds. */
const PCAP_MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const FILE_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;
const BUFFER_BYTES = 256 * 1024;

export interface PcapWriterOptions {
  /** Longest part of a frame stored (the rest is cut, its original length kept). Default 65535. */
  snaplenBytes?: number;
  /** Write buffered records out at least this often while frames keep coming. Default 1000 ms. */
  flushIntervalMs?: number;
}

export class PcapWriter {
  readonly path: string;
  readonly snaplenBytes: number;
  #fd: number;
  readonly #buf = new Uint8Array(BUFFER_BYTES);
  readonly #view = new DataView(this.#buf.buffer);
  #used = 0;
  #lastFlushMs = performance.now();
  readonly #flushIntervalMs: number;
  /** Frames written (whole or cut). */
  frames = 0;

  private constructor(path: string, fd: number, opts: PcapWriterOptions) {
    this.path = path;
    this.#fd = fd;
    this.snaplenBytes = Math.max(1, Math.min(opts.snaplenBytes ?? 65535, BUFFER_BYTES - RECORD_HEADER_BYTES));
    this.#flushIntervalMs = opts.flushIntervalMs ?? 1000;
    const v = this.#view;
    v.setUint32(0, PCAP_MAGIC_NS, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true);
    v.setUint32(12, 0, true);
    v.setUint32(16, this.snaplenBytes, true);
    v.setUint32(20, LINKTYPE_ETHERNET, true);
    this.#used = FILE_HEADER_BYTES;
  }

  /** Create (truncate) `path` and write the file header. Throws the fs error if it cannot. */
  static open(path: string, opts: PcapWriterOptions = {}): PcapWriter {
    return new PcapWriter(path, openSync(path, 'w'), opts);
  }

  /** Append one frame gathered from `parts`; the parts are copied, not kept. */
  write(parts: readonly Uint8Array[]): void {
    if (this.#fd < 0) return;
    let origLen = 0;
    for (const p of parts) origLen += p.byteLength;
    const inclLen = Math.min(origLen, this.snaplenBytes);
    if (this.#used + RECORD_HEADER_BYTES + inclLen > BUFFER_BYTES) this.flush();
    const nowMs = performance.timeOrigin + performance.now();
    const sec = Math.floor(nowMs / 1000);
    const v = this.#view;
    let at = this.#used;
    v.setUint32(at, sec, true);
    v.setUint32(at + 4, Math.min(999_999_999, Math.round((nowMs - sec * 1000) * 1e6)), true);
    v.setUint32(at + 8, inclLen, true);
    v.setUint32(at + 12, origLen, true);
    at += RECORD_HEADER_BYTES;
    let left = inclLen;
    for (const p of parts) {
      if (left === 0) break;
      const n = Math.min(left, p.byteLength);
      this.#buf.set(n === p.byteLength ? p : p.subarray(0, n), at);
      at += n;
      left -= n;
    }
    this.#used = at;
    this.frames++;
    if (performance.now() - this.#lastFlushMs >= this.#flushIntervalMs) this.flush();
  }

  /** Write buffered records to the file now. */
  flush(): void {
    if (this.#fd < 0) return;
    let off = 0;
    while (off < this.#used) off += writeSync(this.#fd, this.#buf, off, this.#used - off);
    this.#used = 0;
    this.#lastFlushMs = performance.now();
  }

  /** Flush and close the file. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    this.flush();
    closeSync(this.#fd);
    this.#fd = -1;
  }
}
