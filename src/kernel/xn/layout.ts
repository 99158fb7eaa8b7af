/**
 * XN's on-disk layout: block 0 unused (db 0 is the nil pointer), block 1 the superblock, then
 * the freemap (one bit per block, **bit set = allocated**, as in Xok's code), then the root
 * catalogue. Everything else belongs to library file systems.
 *
 * Superblock (little-endian u32 words): magic "XNSB", version 1, blockCount, freemapStart,
 * freemapBlocks, catalogueStart, catalogueBlocks, clean (1 after a clean shutdown), generation
 * (mount count), checksum (sum of the previous words + 133, Xok's cookie idea).
 *
 * Catalogue entry (128 bytes, 32 per block): name (80 bytes, NUL-padded, unique), db, nelem,
 * type, typeId (≠ 0: this entry stores the template of that type id), uid (owner), mode
 * (XN_MODE_* bits), used flag, template size in bytes. An entry of templates is a "type root" (Xok stored templates as
 * named roots too); ids are kept here, so they are stable across restarts.
 */
import { BLOCK_SIZE } from '../../disk/index.js';

export const SB_MAGIC = 0x42534e58; // "XNSB"
export const SB_VERSION = 1;
export const SUPER_DB = 1;
export const FREEMAP_START = 2;
/** Catalogue size in blocks (→ 128 entries: roots plus stored templates). */
export const CATALOGUE_BLOCKS = 4;
export const CAT_ENTRY_BYTES = 128;
export const CAT_ENTRIES_PER_BLOCK = BLOCK_SIZE / CAT_ENTRY_BYTES;
const NAME_BYTES = 80;

/** Decoded superblock. */
export interface Superblock {
  blockCount: number;
  freemapStart: number;
  freemapBlocks: number;
  catalogueStart: number;
  catalogueBlocks: number;
  clean: boolean;
  generation: number;
}

/** The layout a device of `blockCount` blocks gets. */
export function layoutFor(blockCount: number): Superblock {
  const freemapBlocks = Math.ceil(blockCount / (BLOCK_SIZE * 8));
  return {
    blockCount,
    freemapStart: FREEMAP_START,
    freemapBlocks,
    catalogueStart: FREEMAP_START + freemapBlocks,
    catalogueBlocks: CATALOGUE_BLOCKS,
    clean: false,
    generation: 0,
  };
}

/** First block a library file system may own. */
export function firstDataBlock(sb: Superblock): number {
  return sb.catalogueStart + sb.catalogueBlocks;
}

export function encodeSuperblock(sb: Superblock, out: Uint8Array): void {
  out.fill(0);
  const dv = new DataView(out.buffer, out.byteOffset, BLOCK_SIZE);
  const w = [SB_MAGIC, SB_VERSION, sb.blockCount, sb.freemapStart, sb.freemapBlocks, sb.catalogueStart, sb.catalogueBlocks, sb.clean ? 1 : 0, sb.generation];
  let sum = 133;
  w.forEach((x, i) => {
    dv.setUint32(i * 4, x >>> 0, true);
    sum = (sum + (x >>> 0)) >>> 0;
  });
  dv.setUint32(w.length * 4, sum, true);
}

/** Decode; 'empty' for an all-zero block (a fresh disk), a string reason when invalid. */
export function decodeSuperblock(b: Uint8Array): Superblock | 'empty' | string {
  if (b.every((x) => x === 0)) return 'empty';
  const dv = new DataView(b.buffer, b.byteOffset, BLOCK_SIZE);
  const w: number[] = [];
  for (let i = 0; i < 10; i++) w.push(dv.getUint32(i * 4, true));
  if (w[0] !== SB_MAGIC) return 'bad superblock magic (not an XN disk)';
  if (w[1] !== SB_VERSION) return `superblock version ${w[1]} (this build reads ${SB_VERSION})`;
  let sum = 133;
  for (let i = 0; i < 9; i++) sum = (sum + (w[i] as number)) >>> 0;
  if (sum !== w[9]) return 'superblock checksum mismatch';
  const sb: Superblock = {
    blockCount: w[2] as number,
    freemapStart: w[3] as number,
    freemapBlocks: w[4] as number,
    catalogueStart: w[5] as number,
    catalogueBlocks: w[6] as number,
    clean: w[7] === 1,
    generation: w[8] as number,
  };
  const want = layoutFor(sb.blockCount);
  if (sb.freemapStart !== want.freemapStart || sb.freemapBlocks !== want.freemapBlocks || sb.catalogueStart !== want.catalogueStart || sb.catalogueBlocks !== want.catalogueBlocks) {
    return 'superblock geometry is inconsistent';
  }
  return sb;
}

/** One root-catalogue entry. */
export interface CatalogueEntry {
  name: string;
  db: number;
  nelem: number;
  type: number;
  /** ≠ 0: this entry holds the template of type `typeId`. */
  typeId: number;
  uid: number;
  mode: number;
  /** Template entries: exact byte length of the stored template (0 for roots). */
  size: number;
}

export function encodeCatalogueEntry(e: CatalogueEntry | null, out: Uint8Array, off: number): void {
  out.fill(0, off, off + CAT_ENTRY_BYTES);
  if (e === null) return;
  out.set(new TextEncoder().encode(e.name).subarray(0, NAME_BYTES - 1), off);
  const dv = new DataView(out.buffer, out.byteOffset + off, CAT_ENTRY_BYTES);
  dv.setUint32(80, e.db, true);
  dv.setUint32(84, e.nelem, true);
  dv.setInt32(88, e.type, true);
  dv.setUint32(92, e.typeId, true);
  dv.setUint32(96, e.uid, true);
  dv.setUint32(100, e.mode, true);
  dv.setUint32(104, 1, true);
  dv.setUint32(108, e.size, true);
}

/** Decode an entry: null when unused, a string when damaged. */
export function decodeCatalogueEntry(b: Uint8Array, off: number): CatalogueEntry | null | string {
  const dv = new DataView(b.buffer, b.byteOffset + off, CAT_ENTRY_BYTES);
  if (dv.getUint32(104, true) !== 1) return null;
  const nameBytes = b.subarray(off, off + NAME_BYTES);
  const nul = nameBytes.indexOf(0);
  if (nul <= 0) return 'entry name empty or not NUL-terminated';
  return {
    name: new TextDecoder().decode(nameBytes.subarray(0, nul)),
    db: dv.getUint32(80, true),
    nelem: dv.getUint32(84, true),
    type: dv.getInt32(88, true),
    typeId: dv.getUint32(92, true),
    uid: dv.getUint32(96, true),
    mode: dv.getUint32(100, true),
    size: dv.getUint32(108, true),
  };
}

/** The in-memory freemap: bit set = allocated. */
export class Freemap {
  readonly bits: Uint8Array;
  readonly blockCount: number;
  #rotor = 1;

  constructor(blockCount: number, bits?: Uint8Array) {
    this.blockCount = blockCount;
    this.bits = bits ?? new Uint8Array(Math.ceil(blockCount / 8));
  }

  isAllocated(db: number): boolean {
    return ((this.bits[db >> 3] as number) & (1 << (db & 7))) !== 0;
  }

  set(db: number, allocated: boolean): void {
    const i = db >> 3;
    if (allocated) this.bits[i] = (this.bits[i] as number) | (1 << (db & 7));
    else this.bits[i] = (this.bits[i] as number) & ~(1 << (db & 7));
  }

  /** True when `[db, db+n)` is inside the disk and entirely free. */
  runFree(db: number, n: number): boolean {
    if (db < 1 || db + n > this.blockCount) return false;
    for (let b = db; b < db + n; b++) if (this.isAllocated(b)) return false;
    return true;
  }

  /** First block of a free run of `n` starting the search at `hint` (or the rotor); 0 if none. */
  findFree(hint: number, n: number): number {
    if (n < 1 || n > this.blockCount) return 0;
    const start = hint > 0 && hint < this.blockCount ? hint : this.#rotor;
    for (let pass = 0; pass < 2; pass++) {
      let b = pass === 0 ? start : 1;
      const end = pass === 0 ? this.blockCount : start;
      while (b + n <= (pass === 0 ? end : Math.min(this.blockCount, end + n))) {
        let k = 0;
        while (k < n && !this.isAllocated(b + k)) k++;
        if (k === n) {
          this.#rotor = b + n < this.blockCount ? b + n : 1;
          return b;
        }
        b += k + 1;
      }
    }
    return 0;
  }

  allocatedCount(): number {
    let c = 0;
    for (let b = 0; b < this.blockCount; b++) if (this.isAllocated(b)) c++;
    return c;
  }
}
