/**
 * The working paths of xn_swap, xn_read_and_insert and xn_read_catalogue through the system
 * calls (xn_set_type: `struct-union.test.ts`), each with the refusals of its set equation and
 * access checks, on the library file system of `testing/libfs-format.ts`: processes of two
 * users, a root directory with a sub-directory and files, everything made durable first.
 */
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, MemoryBlockDevice } from '../../disk/index.js';
import { CHAN_MODE_RECORD, XN_ROOT_ENTRY_BYTES } from '../abi/layout.js';
import type { XnClient, XnRootEntry } from '../abi/xn-client.js';
import { XN, XN_ATTR_IN_CORE, XN_ATTR_INITIALIZED, XN_DB, XN_MODE_OTHER_READ, XN_NO_CHAN, XN_TYPE_TYPE } from '../abi/xn.js';
import type { Kernel } from '../kernel.js';
import { dataBlock, FILE_PTR_OFF, fileMods, fileOp, subdirMods } from './testing/libfs-format.js';
import { dirTypeOf, makeFile, makeRootDir, mountRootDir, must } from './testing/libfs-user.js';
import { runXnProcess, xnStack } from './testing/stack.js';

const run = <T>(k: Kernel, uid: number, body: (xc: XnClient) => Promise<T> | T): Promise<T> => runXnProcess(k, uid, (xc) => body(xc), { memoryBytes: 1 << 20 });

/**
 * A machine with XN online and, for user 1000: root directory `home-a` (R) holding a 2-block file
 * f1 in slot 0 and a sub-directory S in sub-directory slot 0, which holds a 1-block file f2 in
 * its slot 0; for user 1001: root `home-b` (B). All durable.
 */
async function setup() {
  const dev = new MemoryBlockDevice({ blockCount: 2048 });
  const m = xnStack(dev, 512, { virtualClock: true });
  expect((await run(m.kernel, 0, (xc) => xc.init())).code).toBe(XN.SUCCESS);
  const dir = await run(m.kernel, 0, (xc) => dirTypeOf(xc));
  const a = await run(m.kernel, 1000, async (xc) => {
    const R = await makeRootDir(xc, 'home-a', dir);
    const f1 = await makeFile(xc, R, 0, 1, 2);
    const S = xc.findFree(0, 1);
    must(xc.alloc(R * BLOCK_SIZE, { db: S, nelem: 1, type: dir, slot: 64, mods: subdirMods(0, S) }), 'alloc S');
    must(xc.bind(S), 'bind S');
    must(await xc.writebackSync(S, 1), 'write S');
    must(await xc.writebackSync(R, 1), 'write R');
    const f2 = await makeFile(xc, S, 0, 2, 1);
    return { R, S, f1, f2 };
  });
  const B = await run(m.kernel, 1001, (xc) => makeRootDir(xc, 'home-b', dir));
  return { ...m, dir, ...a, B };
}

/** The extent file slot `slot` of directory `db` points to, read with readb. */
function slotOf(xc: XnClient, db: number, slot: number): [number, number] | number {
  const b = new Uint8Array(8);
  const code = xc.readb(db * BLOCK_SIZE + FILE_PTR_OFF + 8 * slot, b);
  if (code !== XN.SUCCESS) return code;
  const dv = new DataView(b.buffer);
  return [dv.getUint32(0, true), dv.getUint32(4, true)];
}

/** `parent/slot` of a registered block, or the refusal code. */
function parentOf(xc: XnClient, db: number): string | number {
  const a = xc.readAttr(db);
  return typeof a === 'number' ? a : `${a[0]?.parent}/${a[0]?.parentSlot}`;
}

describe('xn_swap through the system calls', () => {
  it('exchanges two extents between slots of two directories, re-parents them and couples the parents; a lie in either half, one slot, a foreign root or a bogus extent is refused and changes nothing', async () => {
    const { kernel, xn, R, S, f1, f2 } = await setup();
    const r = await run(kernel, 1000, async (xc) => {
      await mountRootDir(xc, 'home-a');
      const at = (db: number) => db * BLOCK_SIZE;
      // R's slot 0 gives up f1 (2 blocks) for f2; S's slot 0 gives up f2 for f1.
      const op1 = { db: f1, nelem: 2, type: XN_DB, slot: 0, mods: fileMods(0, f2, 1) };
      const op2 = { db: f2, nelem: 1, type: XN_DB, slot: 0, mods: fileMods(0, f1, 2) };
      const state = () => [slotOf(xc, R, 0), slotOf(xc, S, 0), parentOf(xc, f1), parentOf(xc, f2)];
      const before = state();
      const refused = {
        'second half lies': xc.swap(at(R), op1, at(S), { ...op2, mods: fileMods(0, f1, 1) }),
        'first half lies': xc.swap(at(R), { ...op1, mods: fileMods(0, f2, 2) }, at(S), op2),
        'names an extent the slot does not own': xc.swap(at(R), { ...op1, db: f2 }, at(S), { ...op2, db: f1, nelem: 2 }),
        'one slot': xc.swap(at(R), op1, at(R), { ...op1, mods: fileMods(0, f1, 2) }),
        'extent outside the disk': xc.swap(at(R), op1, at(S), { ...op2, db: 2 ** 40 }),
        'modification reaching another slot': xc.swap(at(R), { ...op1, mods: [{ offset: FILE_PTR_OFF + 4, bytes: new Uint8Array(8) }] }, at(S), op2),
        'not a pointer member': xc.swap(at(R) + 8, op1, at(S), op2),
      };
      const unchanged = JSON.stringify(state()) === JSON.stringify(before);
      const ok = xc.swap(at(R), op1, at(S), op2);
      const after = state();
      const writes = [await xc.writebackSync(R, 1), await xc.writebackSync(S, 1)];
      const chan = xc.sys.channel(CHAN_MODE_RECORD, 2);
      writes.push(await xc.awaitRequest(chan, xc.writebackv([{ db: R, n: 1 }, { db: S, n: 1 }], chan)));
      const data = new Uint8Array(2 * BLOCK_SIZE);
      const read = [xc.readb(f1 * BLOCK_SIZE, data), Buffer.compare(data.subarray(0, BLOCK_SIZE), dataBlock(1 * 16)), Buffer.compare(data.subarray(BLOCK_SIZE), dataBlock(1 * 16 + 1))];
      return { before, refused, unchanged, ok, after, writes, read };
    });
    expect(r.before).toEqual([[f1, 2], [f2, 1], `${R}/0`, `${S}/0`]);
    expect(r.refused).toEqual({
      'second half lies': XN.TYPE_ERROR,
      'first half lies': XN.TYPE_ERROR,
      'names an extent the slot does not own': XN.TYPE_ERROR,
      'one slot': XN.ILLEGAL_OP,
      'extent outside the disk': XN.BOGUS_PTR,
      'modification reaching another slot': XN.CANNOT_ACCESS,
      'not a pointer member': XN.BOGUS_TYPE,
    });
    expect(r.unchanged).toBe(true);
    expect(r.ok).toBe(XN.SUCCESS);
    expect(r.after).toEqual([[f2, 1], [f1, 2], `${S}/0`, `${R}/0`]);
    // Neither parent alone may reach the disk (the swap would be half-durable); both together may.
    expect(r.writes).toEqual([XN.TAINTED, XN.TAINTED, XN.SUCCESS]);
    expect(r.read).toEqual([XN.SUCCESS, 0, 0]);

    // Another user holds no capability for R or S: refused before any UDF runs.
    const other = await run(kernel, 1001, (xc) =>
      xc.swap(R * BLOCK_SIZE, { db: f2, nelem: 1, type: XN_DB, slot: 0, mods: fileMods(0, f1, 2) }, S * BLOCK_SIZE, { db: f1, nelem: 2, type: XN_DB, slot: 0, mods: fileMods(0, f2, 1) }),
    );
    expect(other).toBe(XN.BOGUS_CAP);
    const fsck = await xn.fsck();
    expect([fsck.dangling, fsck.doublyOwned, fsck.leaked]).toEqual([0, 0, 0]);
  });
});

describe('xn_read_and_insert through the system calls', () => {
  it('registers a block its parent points to and reads it in with one call, notifying a channel or a counter; a slot that does not point there, a block in core, no capability or a bad channel are refused', async () => {
    const { kernel, syscalls: sc, dir, R, S, f1, f2, B } = await setup();
    // Forget the registrations below R (clean, written; children first): a restarted library's view.
    const forget = await run(kernel, 1000, (xc) => {
      xc.mount('home-a');
      return [xc.unbind(f1, 2), xc.deleteAttr(f1, 2), xc.unbind(f2, 1), xc.deleteAttr(f2, 1), xc.unbind(S, 1), xc.deleteAttr(S, 1), parentOf(xc, f1), parentOf(xc, S)];
    });
    expect(forget).toEqual([XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.REGISTRY_MISS, XN.REGISTRY_MISS]);

    const r = await run(kernel, 1000, async (xc) => {
      await mountRootDir(xc, 'home-a');
      const sys = xc.sys;
      const chan = sys.channel(CHAN_MODE_RECORD, 4);
      const out: Record<string, unknown> = {};
      // Refusals first; none may leave a registration behind.
      out['slot does not point there'] = xc.readAndInsert(R * BLOCK_SIZE, fileOp(1, f1, 2, true), chan);
      out['wrong length'] = xc.readAndInsert(R * BLOCK_SIZE, fileOp(0, f1, 3, true), chan);
      out['a file under a sub-directory slot'] = xc.readAndInsert(R * BLOCK_SIZE, { db: f1, nelem: 2, type: XN_DB, slot: 64 }, chan);
      out['bad channel'] = xc.readAndInsert(R * BLOCK_SIZE, fileOp(0, f1, 2, true), 99);
      out['misaligned counter'] = xc.readAndInsert(R * BLOCK_SIZE, fileOp(0, f1, 2, true), XN_NO_CHAN, 6);
      out['parent not registered'] = xc.readAndInsert(S * BLOCK_SIZE, fileOp(0, f2, 1, true), chan);
      out['not a pointer member'] = xc.readAndInsert(R * BLOCK_SIZE + 1, fileOp(0, f1, 2, true), chan);
      out['after refusals'] = parentOf(xc, f1);
      // The working path: one call, one record.
      const id = xc.readAndInsert(R * BLOCK_SIZE, fileOp(0, f1, 2, true), chan);
      out['id'] = id > 0;
      const rec = await xc.nextRecord(chan);
      out['record'] = typeof rec === 'number' ? rec : [rec.requestId === id, rec.block, rec.status];
      const attrs = xc.readAttr(f1, 2);
      out['attrs'] = typeof attrs === 'number' ? attrs : attrs.map((x) => [x.parent, x.parentSlot, x.flags & (XN_ATTR_INITIALIZED | XN_ATTR_IN_CORE)]);
      const data = new Uint8Array(2 * BLOCK_SIZE);
      out['data'] = [xc.readb(f1 * BLOCK_SIZE, data), Buffer.compare(data.subarray(BLOCK_SIZE), dataBlock(1 * 16 + 1))];
      out['again'] = xc.readAndInsert(R * BLOCK_SIZE, fileOp(0, f1, 2, true), chan);
      // With a counter instead: the sub-directory first (a directory is read the same way), then f2 below it.
      const counter = sys.calloc(4);
      sys.view.setInt32(counter, 2, true);
      const ids = [xc.readAndInsert(R * BLOCK_SIZE, { db: S, nelem: 1, type: 0, slot: 64 }, XN_NO_CHAN, counter)];
      out['S wrong type'] = ids[0];
      ids.push(xc.readAndInsert(R * BLOCK_SIZE, { db: S, nelem: 1, type: dir, slot: 64 }, XN_NO_CHAN, counter));
      while (sys.view.getInt32(counter, true) > 1) await sys.sched_yield();
      ids.push(xc.readAndInsert(S * BLOCK_SIZE, fileOp(0, f2, 1, true), XN_NO_CHAN, counter));
      while (sys.view.getInt32(counter, true) > 0) await sys.sched_yield();
      out['counter ids'] = ids.slice(1).map((x) => x > 0);
      out['f2'] = [parentOf(xc, f2), xc.readb(f2 * BLOCK_SIZE, data.subarray(0, BLOCK_SIZE)), Buffer.compare(data.subarray(0, BLOCK_SIZE), dataBlock(2 * 16))];
      return out;
    });
    expect(r).toEqual({
      'slot does not point there': XN.TYPE_ERROR,
      'wrong length': XN.TYPE_ERROR,
      'a file under a sub-directory slot': XN.TYPE_ERROR,
      'bad channel': XN.ILLEGAL_OP,
      'misaligned counter': XN.CANNOT_ACCESS,
      'parent not registered': XN.REGISTRY_MISS,
      'not a pointer member': XN.BOGUS_TYPE,
      'after refusals': XN.REGISTRY_MISS,
      id: true,
      record: [true, f1, XN.SUCCESS],
      attrs: [[R, 0, XN_ATTR_INITIALIZED | XN_ATTR_IN_CORE], [R, 0, XN_ATTR_INITIALIZED | XN_ATTR_IN_CORE]],
      data: [XN.SUCCESS, 0],
      again: XN.IN_CORE,
      'S wrong type': XN.BOGUS_TYPE,
      'counter ids': [true, true],
      f2: [`${S}/0`, XN.SUCCESS, 0],
    });
    // User 1001 has no capability for R (mode 0600), and cannot claim A's blocks through its own root B.
    const other = await run(kernel, 1001, (xc) => {
      xc.mount('home-b');
      return [xc.readAndInsert(R * BLOCK_SIZE, fileOp(0, f1, 2, true)), xc.readAndInsert(B * BLOCK_SIZE, fileOp(0, f1, 2, true)), parentOf(xc, f1)];
    });
    expect(other).toEqual([XN.BOGUS_CAP, XN.TYPE_ERROR, `${R}/0`]);
    expect(sc.completions.pending).toBe(0);
  });
});

describe('xn_read_catalogue through the system calls', () => {
  it('copies out every root and stored template with its owner, mode, type and durability; bounded by max; refused offline', async () => {
    const { kernel, dir, R, B } = await setup();
    const r = await run(kernel, 1000, async (xc) => {
      const first = xc.readCatalogue();
      // A new root is listed at once, not durable until its block and then the catalogue are written.
      const N = xc.installMount('scratch', 2, XN_DB, 0o640);
      const fresh = xc.readCatalogue();
      must(xc.bind(N, 2), 'bind');
      must(await xc.writebackSync(N, 2), 'write');
      const blocksOnly = xc.readCatalogue();
      must(await xc.writebackSync(xc.root(), 1), 'write catalogue');
      const durable = xc.readCatalogue();
      // max bounds the copy: one entry, and not a byte past it.
      const sys = xc.sys;
      const buf = sys.malloc(3 * XN_ROOT_ENTRY_BYTES);
      sys.mem.fill(0xa5, buf, buf + 3 * XN_ROOT_ENTRY_BYTES);
      const one = sys.call('xn_read_catalogue', buf, 1);
      const tail = sys.mem.subarray(buf + XN_ROOT_ENTRY_BYTES, buf + 3 * XN_ROOT_ENTRY_BYTES).every((b) => b === 0xa5);
      const none = sys.call('xn_read_catalogue', buf, 0);
      const bad = sys.call('xn_read_catalogue', (1 << 20) - 64, 2);
      return { first, fresh, blocksOnly, durable, N, one, tail, none, bad };
    });
    const pick = (es: XnRootEntry[] | number) => (typeof es === 'number' ? es : es.map((e) => ({ name: e.name, db: e.db, nelem: e.nelem, type: e.type, typeId: e.typeId, uid: e.uid, mode: e.mode, persisted: e.persisted })));
    const base = [
      { name: 'libfs-dir', db: expect.any(Number), nelem: 1, type: XN_TYPE_TYPE, typeId: dir, uid: 0, mode: XN_MODE_OTHER_READ | 0o600, persisted: true },
      { name: 'home-a', db: R, nelem: 1, type: dir, typeId: 0, uid: 1000, mode: 0o600, persisted: true },
      { name: 'home-b', db: B, nelem: 1, type: dir, typeId: 0, uid: 1001, mode: 0o600, persisted: true },
    ];
    expect(pick(r.first)).toEqual(base);
    const scratch = { name: 'scratch', db: r.N, nelem: 2, type: XN_DB, typeId: 0, uid: 1000, mode: 0o640, persisted: false };
    expect(pick(r.fresh)).toEqual([...base, scratch]);
    expect(pick(r.blocksOnly)).toEqual([...base, scratch]);
    expect(pick(r.durable)).toEqual([...base, { ...scratch, persisted: true }]);
    expect(typeof r.durable === 'number' ? [] : new Set(r.durable.map((e) => e.index)).size).toBe(4);
    expect([r.one, r.tail, r.none, r.bad]).toEqual([1, true, 0, XN.CANNOT_ACCESS]);

    // Offline (after a clean shutdown) there is no catalogue to read.
    const off = await run(kernel, 0, async (xc) => [await xc.shutdown(), xc.readCatalogue()]);
    expect(off).toEqual([XN.SUCCESS, XN.BOGUS_CTX]);
  });
});
