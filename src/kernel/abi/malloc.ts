/**
 * The user-level allocator: `malloc`/`free` over the process's own memory, from `HEAP_START` to
 * the end. All of its state lives in that memory (free-list heads and counters in the libc page,
 * boundary tags around every block), so it works unchanged over a SharedArrayBuffer in a worker
 * and the kernel can report its use without trusting it.
 *
 * Block layout (8-byte aligned): `[u32 size|USED][u32 magic] payload… [u32 size]`. `size` counts
 * the whole block. A free block keeps `next`/`prev` free-list links in its first payload bytes.
 * Free blocks sit in 32 power-of-two size classes; allocation takes the first fit in the
 * smallest class that can hold the request, splits off the tail, and `free` coalesces with both
 * neighbours (boundary tags make that O(1)). A prologue and an epilogue block bound the heap so
 * coalescing never checks the edges.
 *
 * Misuse (double free, a pointer the allocator never returned) is a bug in the process, reported
 * by throwing `HeapCorruption` — the process dies, as glibc aborts.
 */
import {
  HEAP_START,
  LIBC_BIN_COUNT,
  LIBC_MAGIC,
  LIBC_OFF_BINS,
  LIBC_OFF_HEAP_END,
  LIBC_OFF_HEAP_START,
  LIBC_OFF_INUSE_BLOCKS,
  LIBC_OFF_INUSE_BYTES,
  LIBC_OFF_MAGIC,
  LIBC_OFF_PEAK_BYTES,
  LIBC_PAGE,
} from './layout.js';

const USED = 1;
const MAGIC_USED = 0xa110c8ed;
const MAGIC_FREE = 0xf4eeb10c;
/** header (8) + two links (8) + footer (4), rounded up to the alignment. */
const MIN_BLOCK = 24;
const HDR = 8;
const FTR = 4;
const ALIGN = 8;

/** Thrown (in the process) when `free` gets a pointer that is not a live allocation. */
export class HeapCorruption extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeapCorruption';
  }
}

/** Allocator counters, as kept in the libc page. */
export interface HeapStats {
  heapStart: number;
  heapEnd: number;
  inUseBytes: number;
  inUseBlocks: number;
  peakInUseBytes: number;
}

function binOf(size: number): number {
  // size ≥ 16: class i holds [2^(i+4), 2^(i+5)).
  const b = 27 - Math.clz32(size);
  return b < 0 ? 0 : b >= LIBC_BIN_COUNT ? LIBC_BIN_COUNT - 1 : b;
}

/** The allocator over one process memory. */
export class Heap {
  readonly #dv: DataView;
  readonly #end: number;

  /** Formats the heap when `format` is true (a fresh process), else attaches to an existing one. */
  constructor(dv: DataView, format: boolean) {
    this.#dv = dv;
    // Blocks and tags are 8-aligned; the last partial word of an odd-sized memory is unused.
    this.#end = Math.floor(dv.byteLength / ALIGN) * ALIGN;
    if (format) this.#format();
  }

  #format(): void {
    const dv = this.#dv;
    dv.setUint32(LIBC_PAGE + LIBC_OFF_MAGIC, LIBC_MAGIC, true);
    dv.setUint32(LIBC_PAGE + LIBC_OFF_HEAP_START, HEAP_START, true);
    dv.setUint32(LIBC_PAGE + LIBC_OFF_HEAP_END, this.#end, true);
    dv.setUint32(LIBC_PAGE + LIBC_OFF_INUSE_BYTES, 0, true);
    dv.setUint32(LIBC_PAGE + LIBC_OFF_INUSE_BLOCKS, 0, true);
    dv.setUint32(LIBC_PAGE + LIBC_OFF_PEAK_BYTES, 0, true);
    for (let i = 0; i < LIBC_BIN_COUNT; i++) dv.setUint32(LIBC_PAGE + LIBC_OFF_BINS + 4 * i, 0, true);
    // Prologue: a used block of MIN_BLOCK; epilogue: a used header of size 0 in the last 8 bytes.
    this.#setTags(HEAP_START, MIN_BLOCK, true);
    const first = HEAP_START + MIN_BLOCK;
    const epilogue = this.#end - HDR;
    dv.setUint32(epilogue, USED, true);
    dv.setUint32(epilogue + 4, MAGIC_USED, true);
    const size = epilogue - first;
    if (size >= MIN_BLOCK) {
      this.#setTags(first, size, false);
      this.#push(first, size);
    }
  }

  /** Payload address of at least `bytes` bytes, or 0 (NULL) when the heap cannot satisfy it. */
  malloc(bytes: number): number {
    if (!(bytes >= 0) || bytes > this.#end) return 0;
    let need = (Math.ceil(bytes / ALIGN) * ALIGN) + HDR + FTR;
    need = need < MIN_BLOCK ? MIN_BLOCK : Math.ceil(need / ALIGN) * ALIGN;
    const dv = this.#dv;
    for (let bin = binOf(need); bin < LIBC_BIN_COUNT; bin++) {
      let blk = dv.getUint32(LIBC_PAGE + LIBC_OFF_BINS + 4 * bin, true);
      while (blk !== 0) {
        const size = dv.getUint32(blk, true) & ~USED;
        if (size >= need) return this.#take(blk, size, need);
        blk = dv.getUint32(blk + HDR, true);
      }
    }
    return 0;
  }

  /** Like `malloc`, with the payload zeroed. */
  calloc(bytes: number): number {
    const p = this.malloc(bytes);
    if (p !== 0) new Uint8Array(this.#dv.buffer, p, bytes).fill(0);
    return p;
  }

  /** Release a block returned by `malloc`; `free(0)` does nothing. Throws `HeapCorruption` on misuse. */
  free(ptr: number): void {
    if (ptr === 0) return;
    const dv = this.#dv;
    const blk = ptr - HDR;
    if (!Number.isInteger(ptr) || ptr % ALIGN !== 0 || blk < HEAP_START + MIN_BLOCK || ptr >= this.#end - HDR) {
      throw new HeapCorruption(`free(): invalid pointer ${ptr}`);
    }
    const word = dv.getUint32(blk, true);
    if (dv.getUint32(blk + 4, true) !== MAGIC_USED || (word & USED) === 0) {
      throw new HeapCorruption(`free(): ${ptr} is not an allocated block (double free?)`);
    }
    let start = blk;
    let size = word & ~USED;
    this.#account(-(size), -1);
    // Coalesce with the previous block (its footer sits just before us) and the next one.
    const prevSize = dv.getUint32(blk - FTR, true);
    const prevWord = dv.getUint32(blk - prevSize, true);
    if ((prevWord & USED) === 0) {
      this.#unlink(blk - prevSize, prevSize);
      start = blk - prevSize;
      size += prevSize;
    }
    const next = blk + (word & ~USED);
    const nextWord = dv.getUint32(next, true);
    if ((nextWord & USED) === 0) {
      this.#unlink(next, nextWord);
      size += nextWord;
    }
    this.#setTags(start, size, false);
    this.#push(start, size);
  }

  /** Payload bytes usable in the block at `ptr` (≥ what was asked). */
  usableSize(ptr: number): number {
    return (this.#dv.getUint32(ptr - HDR, true) & ~USED) - HDR - FTR;
  }

  /** The counters from the libc page. */
  stats(): HeapStats {
    return readHeapStats(this.#dv) as HeapStats; // formatted by the constructor
  }

  #take(blk: number, size: number, need: number): number {
    this.#unlink(blk, size);
    const rest = size - need;
    if (rest >= MIN_BLOCK) {
      this.#setTags(blk, need, true);
      this.#setTags(blk + need, rest, false);
      this.#push(blk + need, rest);
      size = need;
    } else {
      this.#setTags(blk, size, true);
    }
    this.#account(size, 1);
    return blk + HDR;
  }

  #account(deltaBytes: number, deltaBlocks: number): void {
    const dv = this.#dv;
    const inUse = dv.getUint32(LIBC_PAGE + LIBC_OFF_INUSE_BYTES, true) + deltaBytes;
    dv.setUint32(LIBC_PAGE + LIBC_OFF_INUSE_BYTES, inUse, true);
    dv.setUint32(LIBC_PAGE + LIBC_OFF_INUSE_BLOCKS, dv.getUint32(LIBC_PAGE + LIBC_OFF_INUSE_BLOCKS, true) + deltaBlocks, true);
    if (inUse > dv.getUint32(LIBC_PAGE + LIBC_OFF_PEAK_BYTES, true)) dv.setUint32(LIBC_PAGE + LIBC_OFF_PEAK_BYTES, inUse, true);
  }

  #setTags(blk: number, size: number, used: boolean): void {
    const dv = this.#dv;
    dv.setUint32(blk, used ? size | USED : size, true);
    dv.setUint32(blk + 4, used ? MAGIC_USED : MAGIC_FREE, true);
    dv.setUint32(blk + size - FTR, size, true);
  }

  #push(blk: number, size: number): void {
    const dv = this.#dv;
    const head = LIBC_PAGE + LIBC_OFF_BINS + 4 * binOf(size);
    const first = dv.getUint32(head, true);
    dv.setUint32(blk + HDR, first, true);
    dv.setUint32(blk + HDR + 4, 0, true);
    if (first !== 0) dv.setUint32(first + HDR + 4, blk, true);
    dv.setUint32(head, blk, true);
  }

  #unlink(blk: number, size: number): void {
    const dv = this.#dv;
    const next = dv.getUint32(blk + HDR, true);
    const prev = dv.getUint32(blk + HDR + 4, true);
    if (prev !== 0) dv.setUint32(prev + HDR, next, true);
    else dv.setUint32(LIBC_PAGE + LIBC_OFF_BINS + 4 * binOf(size), next, true);
    if (next !== 0) dv.setUint32(next + HDR + 4, prev, true);
  }
}

/**
 * The allocator counters of a process memory, or null when its libc page does not hold a
 * formatted heap. Safe on hostile memory: it only reads five words of the libc page.
 */
export function readHeapStats(dv: DataView): HeapStats | null {
  if (dv.byteLength < HEAP_START || dv.getUint32(LIBC_PAGE + LIBC_OFF_MAGIC, true) !== LIBC_MAGIC) return null;
  return {
    heapStart: dv.getUint32(LIBC_PAGE + LIBC_OFF_HEAP_START, true),
    heapEnd: dv.getUint32(LIBC_PAGE + LIBC_OFF_HEAP_END, true),
    inUseBytes: dv.getUint32(LIBC_PAGE + LIBC_OFF_INUSE_BYTES, true),
    inUseBlocks: dv.getUint32(LIBC_PAGE + LIBC_OFF_INUSE_BLOCKS, true),
    peakInUseBytes: dv.getUint32(LIBC_PAGE + LIBC_OFF_PEAK_BYTES, true),
  };
}
