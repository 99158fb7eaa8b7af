/**
 * A second library format for the XN tests, built from the other two template classes: an
 * **inode table** block is a `struct` of one 256-byte header and fifteen 256-byte inodes, and
 * each inode is a `union` whose discriminator (bytes [0, 4) of the inode: 1 or 2; 0 = NIL)
 * selects one of two arms with different owns functions over the same bytes [8, 40):
 *
 * - **extent arm** (discriminator 1): 4 slots, each an extent `{db u32, n u32}` of XN_DB blocks
 *   at 8 + 8·slot;
 * - **block arm** (discriminator 2): 8 slots, each one XN_DB block `db u32` at 8 + 4·slot.
 *
 * The header has 4 slots of one XN_DB block (`db u32` at 4·slot) and raw bytes [16, 256). Both
 * arms have raw bytes [40, 256); the discriminator is readable (readb) but written only by
 * `set_type`, once. Pure data on the ABI, shared by the verifier table, the
 * system-call tests and whatever else wants a struct/union format.
 */
import { assemble, encodeTemplate, type TemplateSpec } from '../../abi/xn-template.js';
import { XN_BYTES, XN_DB } from '../../abi/xn.js';

/** Bytes of the header and of each inode. */
export const ITABLE_MEMBER_BYTES = 256;
/** Inodes per table block (after the header). */
export const ITABLE_INODES = 15;
/** Byte offset of inode `i` (0-based) in a table block. */
export const inodeOff = (i: number): number => ITABLE_MEMBER_BYTES * (1 + i);
/** Discriminator value of the extent arm. */
export const DISC_EXTENT = 1;
/** Discriminator value of the block arm. */
export const DISC_BLOCK = 2;
/** Byte offset (in an inode) where the arms' pointers start. */
export const ARM_PTR_OFF = 8;
/** Byte offset (in an inode) where the raw bytes of either arm start; they run to its end. */
export const ARM_RAW_OFF = 40;
/** Byte offset (in the header) where its raw bytes start; they run to its end. */
export const HDR_RAW_OFF = 16;

const raw = (off: number) => [{ off, len: ITABLE_MEMBER_BYTES - off }];

/** A 256-byte base member: `nslots` slots, raw bytes from `rawOff` to its end, the two UDFs as text. */
function member(name: string, nslots: number, rawOff: number, owns: string, readSet: string): TemplateSpec {
  return { cls: 'base', name, nbytes: ITABLE_MEMBER_BYTES, nslots, rawRead: raw(rawOff), rawWrite: raw(rawOff), owns: assemble(owns), readSet: assemble(readSet) };
}

/** The header: 4 single-block pointers at [0, 16). */
export function headerTemplate(name = 'itab-hdr'): TemplateSpec {
  return member(name, 4, HDR_RAW_OFF, `muli r2, r1, 4\nldw r3, r2, 0\nmovi r4, 1\nemit r3, r4, ${XN_DB}\nret r0`, `muli r2, r1, 4\nmovi r3, 4\nemit r2, r3, ${XN_BYTES}\nret r0`);
}

/** The extent arm: 4 slots `{db, n}` at 8 + 8·slot. */
export function extentArmTemplate(name = 'itab-extent'): TemplateSpec {
  return member(
    name,
    4,
    ARM_RAW_OFF,
    `muli r2, r1, 8\nldw r3, r2, ${ARM_PTR_OFF}\nldw r4, r2, ${ARM_PTR_OFF + 4}\nemit r3, r4, ${XN_DB}\nret r0`,
    `muli r2, r1, 8\naddi r2, r2, ${ARM_PTR_OFF}\nmovi r3, 8\nemit r2, r3, ${XN_BYTES}\nret r0`,
  );
}

/** The block arm: 8 slots `db` at 8 + 4·slot. */
export function blockArmTemplate(name = 'itab-block'): TemplateSpec {
  return member(
    name,
    8,
    ARM_RAW_OFF,
    `muli r2, r1, 4\nldw r3, r2, ${ARM_PTR_OFF}\nmovi r4, 1\nemit r3, r4, ${XN_DB}\nret r0`,
    `muli r2, r1, 4\naddi r2, r2, ${ARM_PTR_OFF}\nmovi r3, 4\nemit r2, r3, ${XN_BYTES}\nret r0`,
  );
}

/** The inode union over the two arms (their type ids, known once they are imported). */
export function inodeTemplate(extentArm: number, blockArm: number, name = 'itab-inode'): TemplateSpec {
  return {
    cls: 'union',
    name,
    nbytes: ITABLE_MEMBER_BYTES,
    typeAccess: { off: 0, len: 4 },
    getType: assemble(`
      ldw r2, r0, 0
      beqi r2, ${DISC_EXTENT}, ext
      beqi r2, ${DISC_BLOCK}, blk
      ret r0
    ext:
      movi r3, ${extentArm}
      ret r3
    blk:
      movi r3, ${blockArm}
      ret r3`),
    arms: [extentArm, blockArm],
  };
}

/** The table block: the header, then the inodes. */
export function itableTemplate(header: number, inode: number, name = 'itab'): TemplateSpec {
  return { cls: 'struct', name, members: [header, ...Array.from({ length: ITABLE_INODES }, () => inode)] };
}

/**
 * Import the five templates in dependency order with `importOne(name, bytes) → id or code`
 * (a thick-layer or an XnClient import); the ids, or the first negative code.
 */
export async function importItable(importOne: (name: string, bytes: Uint8Array) => Promise<number>): Promise<{ header: number; extentArm: number; blockArm: number; inode: number; table: number } | number> {
  const header = await importOne('itab-hdr', encodeTemplate(headerTemplate()));
  if (header < 0) return header;
  const extentArm = await importOne('itab-extent', encodeTemplate(extentArmTemplate()));
  if (extentArm < 0) return extentArm;
  const blockArm = await importOne('itab-block', encodeTemplate(blockArmTemplate()));
  if (blockArm < 0) return blockArm;
  const inode = await importOne('itab-inode', encodeTemplate(inodeTemplate(extentArm, blockArm)));
  if (inode < 0) return inode;
  const table = await importOne('itab', encodeTemplate(itableTemplate(header, inode)));
  if (table < 0) return table;
  return { header, extentArm, blockArm, inode, table };
}
