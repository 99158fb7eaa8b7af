/**
 * The library file system of `libfs-format.ts` driven through XN's thick layer (kernel-side unit
 * tests of XN itself; user programs use `libfs-user.ts` over the system calls).
 */
import { BLOCK_SIZE } from '../../../disk/index.js';
import { XN, XN_DB, XN_ZERO_FILL } from '../../abi/xn.js';
import { encodeTemplate } from '../../abi/xn-template.js';
import { dirTemplate } from './libfs-format.js';
import type { Xn, XnContext, XnOp } from '../xn.js';

export * from './libfs-format.js';

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

/**
 * Import a template as Xok's libFS did: stage its bytes in an XN_DB root of that name, write
 * them back, type_import, then write the catalogue so the id is durable → the id or a code.
 */
export async function importType(xn: Xn, ctx: XnContext, name: string, bytes: Uint8Array): Promise<number> {
  const op: XnOp = { db: 0, nelem: Math.ceil(bytes.length / BLOCK_SIZE), type: XN_DB, slot: 0, mods: [] };
  let c = xn.installMount(ctx, name, op, 0o644);
  if (c === XN.SUCCESS) c = xn.bind(ctx, op.db, XN_ZERO_FILL, op.nelem);
  if (c === XN.SUCCESS) c = xn.writeb(ctx, op.db * BLOCK_SIZE, bytes);
  if (c === XN.SUCCESS) c = await writebackWait(xn, ctx, [{ db: op.db, n: op.nelem }]);
  if (c !== XN.SUCCESS) return c;
  const id = xn.typeImport(ctx, name);
  if (id < 0) return id;
  c = await writebackWait(xn, ctx, [{ db: xn.root(), n: 1 }]);
  return c === XN.SUCCESS ? id : c;
}

/** Import the directory type (or find it after a restart) → its id. */
export async function dirType(xn: Xn, ctx: XnContext, name = 'libfs-dir'): Promise<number> {
  const id = xn.typeMount(ctx, name);
  if (id > 0) return id;
  return importType(xn, ctx, name, encodeTemplate(dirTemplate(name)));
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

