/**
 * A small library file system on XN, for tests and benchmarks: directories are one block with
 * 64 file slots (each an extent of XN_DB data blocks: `{db u32, nblocks u32}` at 64 + 8·i) and
 * 32 sub-directory slots (`db u32` at 576 + 4·i, type = the directory type itself). Bytes
 * [0, 64) and [704, 4096) are raw (names, sizes). It talks to XN only through the thick-layer
 * calls a process would make through syscalls.
 */
import { BLOCK_SIZE } from '../../../disk/index.js';
import { XN, XN_DB, XN_ZERO_FILL } from '../../abi/xn.js';
import { assemble, encodeTemplate, type TemplateSpec } from '../../abi/xn-template.js';
import type { Xn, XnContext, XnMod, XnOp } from '../xn.js';

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

function u32le(...xs: number[]): Uint8Array {
  const b = new Uint8Array(4 * xs.length);
  const dv = new DataView(b.buffer);
  xs.forEach((x, i) => dv.setUint32(4 * i, x >>> 0, true));
  return b;
}

/** The mods that set file slot `slot` to the extent (db, n) (0, 0 clears it). */
export function fileMods(slot: number, db: number, n: number): XnMod[] {
  return [{ offset: FILE_PTR_OFF + 8 * slot, bytes: u32le(db, n) }];
}

/** The mods that set sub-directory slot `slot` (0..31) to block db. */
export function subdirMods(slot: number, db: number): XnMod[] {
  return [{ offset: SUBDIR_PTR_OFF + 4 * slot, bytes: u32le(db) }];
}

/** An op for file slot `slot` of extent (db, n). */
export function fileOp(slot: number, db: number, n: number, set: boolean): XnOp {
  return { db, nelem: n, type: XN_DB, slot, mods: fileMods(slot, set ? db : 0, set ? n : 0) };
}

/** Write back and wait for the completion status. */
export function writebackWait(xn: Xn, ctx: XnContext, runs: { db: number; n: number }[]): Promise<number> {
  return new Promise((resolve) => {
    const c = xn.writebackv(ctx, runs, 1, (_id, _db, st) => resolve(st));
    if (c !== XN.SUCCESS) resolve(c);
  });
}

/** readin and wait. */
export function readinWait(xn: Xn, ctx: XnContext, db: number, n: number): Promise<number> {
  return new Promise((resolve) => {
    const c = xn.readin(ctx, db, n, 1, (_id, _db, st) => resolve(st));
    if (c !== XN.SUCCESS) resolve(c);
  });
}

/** Import the directory type (or find it after a restart) → its id. */
export async function dirType(xn: Xn, ctx: XnContext, name = 'libfs-dir'): Promise<number> {
  const id = xn.typeMount(ctx, name);
  if (id > 0) return id;
  return xn.typeImport(ctx, name, encodeTemplate(dirTemplate(name)));
}

/** Create a root directory `name` and make it durable → its block. Throws on refusal (tests). */
export async function makeRootDir(xn: Xn, ctx: XnContext, name: string, type: number, mode = 0o600): Promise<number> {
  const op: XnOp = { db: 0, nelem: 1, type, slot: 0, mods: [] };
  let c = xn.installMount(ctx, name, op, mode);
  if (c !== XN.SUCCESS) throw new Error(`install_mount ${name}: ${c} ${ctx.lastError}`);
  c = xn.bind(ctx, op.db, XN_ZERO_FILL);
  if (c < 0) throw new Error(`bind: ${c}`);
  c = await writebackWait(xn, ctx, [{ db: op.db, n: 1 }]);
  if (c !== XN.SUCCESS) throw new Error(`writeback root: ${c}`);
  c = await writebackWait(xn, ctx, [{ db: xn.root(), n: 1 }]);
  if (c !== XN.SUCCESS) throw new Error(`writeback catalogue: ${c}`);
  return op.db;
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
