/**
 * The small library file system of the XN tests and benchmark, as a format: directories are one
 * block with 64 file slots (each an extent of XN_DB data blocks: `{db u32, nblocks u32}` at
 * 64 + 8·i) and 32 sub-directory slots (`db u32` at 576 + 4·i, type = the directory type
 * itself). Bytes [0, 64) and [704, 4096) are raw (names, sizes). Pure data and the template, on
 * the ABI only, so the thick-layer helpers (`libfs.ts`) and user programs (`libfs-user.ts`) share it.
 */
import { assemble, BLOCK_TYPE_BYTES as BLOCK_SIZE, type TemplateSpec } from '../../abi/xn-template.js';
import { XN_DB } from '../../abi/xn.js';
import type { XnModArg, XnOpArg } from '../../abi/xn-client.js';

export const FILE_SLOTS = 64;
export const SUBDIR_SLOTS = 32;
export const FILE_PTR_OFF = 64;
export const SUBDIR_PTR_OFF = 576;
export const RAW_OFF = 704;

export const DIR_OWNS = `
  bgei r1, 64, sub
  muli r2, r1, 8
  ldw r3, r2, 64
  ldw r4, r2, 68
  emit r3, r4, ${XN_DB}
  ret r0
sub:
  bgei r1, 96, done
  subi r2, r1, 64
  muli r2, r2, 4
  ldw r3, r2, 576
  movi r4, 1
  emit r3, r4, self
done:
  ret r0`;

export const DIR_READSET = `
  bgei r1, 64, sub
  muli r2, r1, 8
  addi r2, r2, 64
  movi r3, 8
  emit r2, r3, 3
  ret r0
sub:
  subi r2, r1, 64
  muli r2, r2, 4
  addi r2, r2, 576
  movi r3, 4
  emit r2, r3, 3
  ret r0`;

/** The directory template. */
export function dirTemplate(name = 'libfs-dir'): TemplateSpec {
  return {
    cls: 'base',
    name,
    nbytes: BLOCK_SIZE,
    nslots: FILE_SLOTS + SUBDIR_SLOTS,
    rawRead: [{ off: 0, len: 64 }, { off: RAW_OFF, len: BLOCK_SIZE - RAW_OFF }],
    rawWrite: [{ off: 0, len: 64 }, { off: RAW_OFF, len: BLOCK_SIZE - RAW_OFF }],
    owns: assemble(DIR_OWNS),
    readSet: assemble(DIR_READSET),
  };
}

/** Little-endian u32s. */
export function u32le(...xs: number[]): Uint8Array {
  const b = new Uint8Array(4 * xs.length);
  const dv = new DataView(b.buffer);
  xs.forEach((x, i) => dv.setUint32(4 * i, x >>> 0, true));
  return b;
}

/** The mods that set file slot `slot` to the extent (db, n) (0, 0 clears it). */
export function fileMods(slot: number, db: number, n: number): XnModArg[] {
  return [{ offset: FILE_PTR_OFF + 8 * slot, bytes: u32le(db, n) }];
}

/** The mods that set sub-directory slot `slot` (0..31) to block db. */
export function subdirMods(slot: number, db: number): XnModArg[] {
  return [{ offset: SUBDIR_PTR_OFF + 4 * slot, bytes: u32le(db) }];
}

/** An op for file slot `slot` of extent (db, n). */
export function fileOp(slot: number, db: number, n: number, set: boolean): XnOpArg & { mods: XnModArg[] } {
  return { db, nelem: n, type: XN_DB, slot, mods: fileMods(slot, set ? db : 0, set ? n : 0) };
}

/** A recognizable data block: the tag in its first 4 bytes (little-endian), then a pattern. */
export function dataBlock(tag: number): Uint8Array {
  const b = new Uint8Array(BLOCK_SIZE);
  for (let i = 4; i < BLOCK_SIZE; i++) b[i] = (tag * 31 + i * 7) & 0xff;
  new DataView(b.buffer).setUint32(0, tag >>> 0, true);
  return b;
}

/** The tag `dataBlock` wrote into `b`. */
export function tagOf(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}
