/**
 * The library file system of `libfs-format.ts` as a user program: the same directories and
 * files, built only on the ABI (`XnClient` over the XN system calls), as Cheetah's C-FFS will
 * be. Helpers throw on an unexpected refusal (they are test and benchmark code).
 */
import { encodeTemplate } from '../../abi/xn-template.js';
import { XN, XN_DB } from '../../abi/xn.js';
import type { XnClient } from '../../abi/xn-client.js';
import { dataBlock, dirTemplate, fileMods } from './libfs-format.js';

const BLOCK = 4096;

/** Throw unless `code` is XN_SUCCESS. */
export function must(code: number, what: string): void {
  if (code !== XN.SUCCESS) throw new Error(`${what}: XN code ${code}`);
}

/** The directory type's id: mounted if stored, else imported (staged as Xok did) and made durable. */
export async function dirTypeOf(xc: XnClient, name = 'libfs-dir'): Promise<number> {
  const id = xc.typeMount(name);
  if (id > 0) return id;
  const got = await xc.typeImport(name, encodeTemplate(dirTemplate(name)));
  if (got < 0) throw new Error(`type_import ${name}: ${got}`);
  return got;
}

/** Create the root directory `name` and make it durable (its block, then the catalogue) → its block. */
export async function makeRootDir(xc: XnClient, name: string, type: number, mode = 0o600): Promise<number> {
  const db = xc.installMount(name, 1, type, mode);
  if (db < 0) throw new Error(`install_mount ${name}: ${db}`);
  must(xc.bind(db), 'bind root');
  must(await xc.writebackSync(db, 1), 'writeback root');
  must(await xc.writebackSync(xc.root(), 1), 'writeback catalogue');
  return db;
}

/** Mount the root directory `name` and read it in → its block. */
export async function mountRootDir(xc: XnClient, name: string): Promise<number> {
  const r = xc.mount(name);
  if (typeof r === 'number') throw new Error(`mount ${name}: ${r}`);
  const st = await xc.readinSync(r.db, 1);
  if (st !== XN.SUCCESS && st !== XN.IN_CORE) throw new Error(`readin ${name}: ${st}`);
  return r.db;
}

/**
 * Create a file of `n` blocks under directory block `parent` at file slot `slot`, holding
 * `dataBlock(tag·16 + k)` in block k, and make it durable (data, then the parent) → its first block.
 */
export async function makeFile(xc: XnClient, parent: number, slot: number, tag: number, n = 1): Promise<number> {
  const op = { db: xc.findFree(0, n), nelem: n, type: XN_DB, slot, mods: [] as ReturnType<typeof fileMods> };
  op.mods = fileMods(slot, op.db, n);
  must(xc.alloc(parent * BLOCK, op), `alloc slot ${slot}`);
  must(xc.bind(op.db, n), 'bind file');
  for (let k = 0; k < n; k++) must(xc.writeb((op.db + k) * BLOCK, dataBlock(tag * 16 + k)), 'writeb file');
  must(await xc.writebackSync(op.db, n), 'writeback file');
  must(await xc.writebackSync(parent, 1), 'writeback parent');
  return op.db;
}
