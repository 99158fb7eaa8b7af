/**
 * Struct and union templates at work, through the system calls: the inode-table format of
 * `testing/itable-format.ts` (a struct of a header and fifteen union inodes whose discriminator
 * selects the owns function) is imported with type_import, a table is created, inodes are typed
 * with xn_set_type, blocks are allocated under the header and under both arms — and ownership
 * follows the arm: the same bytes mean an extent under one and a single block under the other,
 * and ad-hoc induction holds each allocation to the active arm's owns function. Every refusal
 * has its code. After an unclean restart the boot walk follows the arms to the same blocks.
 */
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, MemoryBlockDevice } from '../../disk/index.js';
import type { XnClient } from '../abi/xn-client.js';
import { XN, XN_DB, XN_REPORT_WALKED } from '../abi/xn.js';
import type { Kernel } from '../kernel.js';
import { ARM_PTR_OFF, ARM_RAW_OFF, DISC_BLOCK, DISC_EXTENT, HDR_RAW_OFF, importItable, inodeOff } from './testing/itable-format.js';
import { u32le } from './testing/libfs-format.js';
import { must } from './testing/libfs-user.js';
import { runXnProcess, xnStack } from './testing/stack.js';

const run = <T>(k: Kernel, uid: number, body: (xc: XnClient) => Promise<T> | T): Promise<T> => runXnProcess(k, uid, (xc) => body(xc), { memoryBytes: 1 << 20 });

/** The discriminator of the inode at `da`, read with readb (or the refusal code). */
function disc(xc: XnClient, da: number): number {
  const b = new Uint8Array(4);
  const code = xc.readb(da, b);
  return code === XN.SUCCESS ? new DataView(b.buffer).getUint32(0, true) : code;
}

const mods = (offset: number, ...words: number[]) => [{ offset, bytes: u32le(...words) }];

describe('XN struct and union templates through the system calls', () => {
  it('imports a struct of a header and union inodes; set_type picks the arm once; allocations follow the active arm’s owns function; the boot walk follows the arms', async () => {
    const dev = new MemoryBlockDevice({ blockCount: 1024 });
    const m1 = xnStack(dev, 256, { virtualClock: true });
    expect((await run(m1.kernel, 0, (xc) => xc.init())).code).toBe(XN.SUCCESS);
    const ids = await run(m1.kernel, 1000, (xc) => importItable((name, bytes) => xc.typeImport(name, bytes)));
    if (typeof ids === 'number') throw new Error(`import: ${ids}`);
    expect(new Set(Object.values(ids)).size).toBe(5);

    const got = await run(m1.kernel, 1000, async (xc) => {
      const root = xc.installMount('itab-root', 1, ids.table, 0o600);
      must(xc.bind(root), 'bind');
      must(await xc.writebackSync(root, 1), 'writeback root');
      must(await xc.writebackSync(xc.root(), 1), 'writeback catalogue');
      const hdr = root * BLOCK_SIZE;
      const ino = (i: number) => root * BLOCK_SIZE + inodeOff(i);
      const free = (n: number) => xc.findFree(0, n);
      const r: Record<string, number> = {};
      const spare = free(1);

      // A NIL inode owns nothing and takes no pointer; its discriminator reads as 0 and is not writable.
      r['nil.alloc'] = xc.alloc(ino(0), { db: spare, nelem: 1, type: XN_DB, slot: 0, mods: mods(ARM_PTR_OFF, spare) });
      r['nil.writeb raw'] = xc.writeb(ino(0) + ARM_RAW_OFF, new Uint8Array(4));
      r['nil.writeb discriminator'] = xc.writeb(ino(0), u32le(DISC_EXTENT));
      r['nil.discriminator'] = disc(xc, ino(0));

      // set_type refusals.
      r['set_type.wrong expected'] = xc.setType(ino(0), ids.blockArm, u32le(DISC_EXTENT), 0);
      r['set_type.no arm'] = xc.setType(ino(0), ids.extentArm, u32le(3), 0);
      r['set_type.outside discriminator'] = xc.setType(ino(0), ids.extentArm, u32le(DISC_EXTENT), 2);
      r['set_type.too long'] = xc.sys.call('xn_set_type', ino(0), ids.extentArm, xc.sys.malloc(64), 33, 0);
      r['set_type.not a union'] = xc.setType(hdr, ids.extentArm, u32le(DISC_EXTENT), 0);
      r['set_type.no member there'] = xc.setType(ino(0) + 4, ids.extentArm, u32le(DISC_EXTENT), 0);
      r['after refusals.discriminator'] = disc(xc, ino(0));
      // …and the working path: inode 0 gets the extent arm, inode 1 the block arm (one byte is enough).
      r['set_type.extent'] = xc.setType(ino(0), ids.extentArm, u32le(DISC_EXTENT), 0);
      r['set_type.again'] = xc.setType(ino(0), ids.extentArm, u32le(DISC_EXTENT), 0);
      r['set_type.block'] = xc.setType(ino(1), ids.blockArm, new Uint8Array([DISC_BLOCK]), 0);
      r['typed.discriminators'] = disc(xc, ino(0)) * 10 + disc(xc, ino(1));

      // Byte 16 of an inode is slot 1 of the extent arm (an extent) and slot 2 of the block arm (one block).
      const ext = free(3);
      r['extent.alloc 3 at slot 1'] = xc.alloc(ino(0), { db: ext, nelem: 3, type: XN_DB, slot: 1, mods: mods(ARM_PTR_OFF + 8, ext, 3) });
      const one = free(1);
      r['block.alloc 1 at slot 2'] = xc.alloc(ino(1), { db: one, nelem: 1, type: XN_DB, slot: 2, mods: mods(ARM_PTR_OFF + 8, one) });
      const two = free(2);
      r['block.extent-shaped write'] = xc.alloc(ino(1), { db: two, nelem: 2, type: XN_DB, slot: 4, mods: mods(ARM_PTR_OFF + 16, two, 2) });
      r['block.claims 2 blocks'] = xc.alloc(ino(1), { db: two, nelem: 2, type: XN_DB, slot: 4, mods: mods(ARM_PTR_OFF + 16, two) });
      r['extent.block-shaped write'] = xc.alloc(ino(0), { db: two, nelem: 1, type: XN_DB, slot: 2, mods: mods(ARM_PTR_OFF + 16, two) });
      r['extent.touches discriminator'] = xc.alloc(ino(0), { db: two, nelem: 1, type: XN_DB, slot: 2, mods: [...mods(ARM_PTR_OFF + 16, two, 1), ...mods(0, DISC_BLOCK)] });
      r['after.discriminators'] = disc(xc, ino(0)) * 10 + disc(xc, ino(1));
      // The header's own slots.
      const h = free(1);
      r['header.alloc slot 3'] = xc.alloc(hdr, { db: h, nelem: 1, type: XN_DB, slot: 3, mods: mods(12, h) });
      const lie = free(1);
      r['header.lie'] = xc.alloc(hdr, { db: lie, nelem: 1, type: XN_DB, slot: 0, mods: mods(0, lie + 1) });
      // Raw bytes of the members, and their pointer bytes.
      r['writeb inode raw'] = xc.writeb(ino(0) + ARM_RAW_OFF, new Uint8Array([1, 2, 3]));
      r['writeb header raw'] = xc.writeb(hdr + HDR_RAW_OFF, new Uint8Array([4, 5]));
      r['writeb inode pointer'] = xc.writeb(ino(0) + ARM_PTR_OFF, new Uint8Array(4));
      r['writeb header pointer'] = xc.writeb(hdr + 12, new Uint8Array(4));

      const attr = (db: number) => {
        const a = xc.readAttr(db);
        return typeof a === 'number' ? a : `${a[0]?.parent}@${a[0]?.parentOff}/${a[0]?.parentSlot}`;
      };
      const parents = { ext: [attr(ext), attr(ext + 2)], one: attr(one), h: attr(h) };

      r['root tainted'] = await xc.writebackSync(root, 1);
      r['bind data'] = xc.bindContents(ext, new Uint8Array(3 * BLOCK_SIZE).fill(7));
      must(xc.bind(one), 'bind');
      must(xc.bind(h), 'bind');
      r['write children'] = (await xc.writebackSync(ext, 3)) + (await xc.writebackSync(one, 1)) + (await xc.writebackSync(h, 1));
      r['write root'] = await xc.writebackSync(root, 1);

      // Swap across two members of one block: the header's slot 3 and the block arm's slot 2.
      r['swap header↔inode'] = xc.swap(hdr, { db: h, nelem: 1, type: XN_DB, slot: 3, mods: mods(12, one) }, ino(1), { db: one, nelem: 1, type: XN_DB, slot: 2, mods: mods(ARM_PTR_OFF + 8, h) });
      r['write root after swap'] = await xc.writebackSync(root, 1); // one block: nothing to couple
      const swapped = { one: attr(one), h: attr(h) };
      return { root, ext, one, h, r, parents, swapped };
    });
    const { root, ext, one, h } = got;
    expect(got.r).toEqual({
      'nil.alloc': XN.BOGUS_TYPE,
      'nil.writeb raw': XN.BOGUS_CAP,
      'nil.writeb discriminator': XN.BOGUS_CAP,
      'nil.discriminator': 0,
      'set_type.wrong expected': XN.TYPE_ERROR,
      'set_type.no arm': XN.TYPE_ERROR,
      'set_type.outside discriminator': XN.WRITE_FAILED,
      'set_type.too long': XN.WRITE_FAILED,
      'set_type.not a union': XN.BOGUS_TYPE,
      'set_type.no member there': XN.BOGUS_TYPE,
      'after refusals.discriminator': 0,
      'set_type.extent': XN.SUCCESS,
      'set_type.again': XN.ILLEGAL_OP,
      'set_type.block': XN.SUCCESS,
      'typed.discriminators': 12,
      'extent.alloc 3 at slot 1': XN.SUCCESS,
      'block.alloc 1 at slot 2': XN.SUCCESS,
      'block.extent-shaped write': XN.CANNOT_ACCESS,
      'block.claims 2 blocks': XN.TYPE_ERROR,
      'extent.block-shaped write': XN.TYPE_ERROR,
      'extent.touches discriminator': XN.CANNOT_ACCESS,
      'after.discriminators': 12,
      'header.alloc slot 3': XN.SUCCESS,
      'header.lie': XN.TYPE_ERROR,
      'writeb inode raw': XN.SUCCESS,
      'writeb header raw': XN.SUCCESS,
      'writeb inode pointer': XN.BOGUS_CAP,
      'writeb header pointer': XN.BOGUS_CAP,
      'root tainted': XN.TAINTED,
      'bind data': XN.SUCCESS,
      'write children': XN.SUCCESS,
      'write root': XN.SUCCESS,
      'swap header↔inode': XN.SUCCESS,
      'write root after swap': XN.SUCCESS,
    });
    expect(got.parents).toEqual({ ext: [`${root}@${inodeOff(0)}/1`, `${root}@${inodeOff(0)}/1`], one: `${root}@${inodeOff(1)}/2`, h: `${root}@0/3` });
    expect(got.swapped).toEqual({ one: `${root}@0/3`, h: `${root}@${inodeOff(1)}/2` });

    // Another user: no capability for the table, so no set_type.
    const other = await run(m1.kernel, 1001, (xc) => [xc.setType(root * BLOCK_SIZE + inodeOff(2), ids.extentArm, u32le(DISC_EXTENT), 0), xc.mount('itab-root')]);
    expect(other).toEqual([XN.BOGUS_CAP, XN.BOGUS_CAP]);

    // 5 template blocks, the table, the extent (3), the two single blocks.
    const reachable = 5 + 1 + 3 + 1 + 1;
    const fsck = await run(m1.kernel, 0, (xc) => xc.fsck());
    expect(fsck.report).toMatchObject({ roots: 6, reachable, dangling: 0, doublyOwned: 0, leaked: 0 });

    // Unclean restart: the boot walk reads the table, runs get_type per inode and the active arm's owns.
    await m1.cache.whenIdle();
    const m2 = xnStack(dev, 256, { virtualClock: true });
    const boot = await run(m2.kernel, 0, (xc) => xc.init());
    expect(boot.code).toBe(XN.SUCCESS);
    expect(boot.report).toMatchObject({ flags: XN_REPORT_WALKED, reachable, dangling: 0, doublyOwned: 0 });
    const after = await run(m2.kernel, 1000, async (xc) => {
      const ino = (i: number) => root * BLOCK_SIZE + inodeOff(i);
      const mounted = xc.mount('itab-root');
      const r = [
        typeof mounted === 'number' ? mounted : mounted.type === ids.table ? 1 : 0,
        ...(['itab-hdr', 'itab-extent', 'itab-block', 'itab-inode', 'itab'] as const).map((n) => xc.typeMount(n)),
        await xc.readinSync(root, 1),
        disc(xc, ino(0)),
        disc(xc, ino(1)),
        disc(xc, ino(2)),
        xc.insertAttr(ino(0), { db: ext, nelem: 3, type: XN_DB, slot: 2 }),
        xc.insertAttr(ino(0), { db: ext, nelem: 3, type: XN_DB, slot: 1 }),
        xc.insertAttr(ino(1), { db: h, nelem: 1, type: XN_DB, slot: 3 }),
        xc.insertAttr(ino(1), { db: h, nelem: 1, type: XN_DB, slot: 2 }),
        xc.insertAttr(root * BLOCK_SIZE, { db: one, nelem: 1, type: XN_DB, slot: 3 }),
        await xc.readinSync(ext, 3),
      ];
      const data = new Uint8Array(3 * BLOCK_SIZE);
      r.push(xc.readb(ext * BLOCK_SIZE, data), data.every((b) => b === 7) ? 1 : 0);
      return r;
    });
    expect(after).toEqual([1, ids.header, ids.extentArm, ids.blockArm, ids.inode, ids.table, XN.SUCCESS, DISC_EXTENT, DISC_BLOCK, 0, XN.TYPE_ERROR, XN.SUCCESS, XN.TYPE_ERROR, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, 1]);
  });
});
