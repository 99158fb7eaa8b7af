/**
 * XN's protection and ordering rules through a small library file system, per process context
 * (the MIT rules_test must_fail list, and the acceptance refusals of issue 6).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, MemoryBlockDevice } from '../../disk/index.js';
import { BufferCache } from '../bcache/index.js';
import { XN, XN_DB, XN_ZERO_FILL } from '../abi/xn.js';
import { dataBlock, dirType, FILE_PTR_OFF, fileMods, fileOp, makeRootDir, readinWait, subdirMods, writebackWait } from './testing/libfs.js';
import { Xn, type XnOp } from './xn.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
console.log(`xn-rules properties: SEED=${seed}`);

async function boot(blockCount = 2048) {
  const dev = new MemoryBlockDevice({ blockCount });
  const cache = new BufferCache(dev, 512);
  const xn = new Xn(cache);
  const r = await xn.init();
  expect(r.code).toBe(XN.SUCCESS);
  const admin = xn.context(1, 0);
  const dir = await dirType(xn, admin);
  expect(dir).toBeGreaterThanOrEqual(5);
  const a = xn.context(100, 1000);
  const b = xn.context(200, 1001);
  const rootA = await makeRootDir(xn, a, 'home-a', dir);
  const rootB = await makeRootDir(xn, b, 'home-b', dir);
  return { dev, cache, xn, dir, a, b, rootA, rootB };
}

/** Create a file of one block under dir `parent` at slot, written and made durable. */
async function makeFile(xn: Xn, ctx: ReturnType<Xn['context']>, parent: number, slot: number, tag: number): Promise<number> {
  const op = fileOp(slot, 0, 1, false);
  op.mods = [];
  const o: XnOp = { db: 0, nelem: 1, type: XN_DB, slot, mods: [] };
  o.db = xn.findFree(0, 1);
  o.mods = fileMods(slot, o.db, 1);
  expect(xn.alloc(ctx, parent * BLOCK_SIZE, o)).toBe(XN.SUCCESS);
  expect(xn.bind(ctx, o.db, XN_ZERO_FILL)).toBeGreaterThanOrEqual(0);
  expect(xn.writeb(ctx, o.db * BLOCK_SIZE, dataBlock(tag))).toBe(XN.SUCCESS);
  expect(await writebackWait(xn, ctx, [{ db: o.db, n: 1 }])).toBe(XN.SUCCESS);
  expect(await writebackWait(xn, ctx, [{ db: parent, n: 1 }])).toBe(XN.SUCCESS);
  return o.db;
}

describe('XN protection (per-process capabilities)', () => {
  it('a process cannot claim a block another root owns', async () => {
    const { xn, a, b, rootA, rootB } = await boot();
    const f = await makeFile(xn, a, rootA, 0, 1);
    const steal: XnOp = { db: f, nelem: 1, type: XN_DB, slot: 0, mods: fileMods(0, f, 1) };
    expect(xn.alloc(b, rootB * BLOCK_SIZE, steal)).toBe(XN.CANNOT_ALLOC);
    // Nor modify A's directory at all.
    const mine: XnOp = { db: 0, nelem: 1, type: XN_DB, slot: 1, mods: [] };
    expect(xn.alloc(b, rootA * BLOCK_SIZE, mine)).toBe(XN.BOGUS_CAP);
    expect(xn.writeb(b, rootA * BLOCK_SIZE, new Uint8Array(4))).toBe(XN.BOGUS_CAP);
    expect(xn.mount(b, 'home-a', [])).toBe(XN.BOGUS_CAP); // mode 0600
  });

  it('cannot point a slot at a free or foreign block (induction refuses, state rolls back)', async () => {
    const { xn, a, rootA } = await boot();
    const f = await makeFile(xn, a, rootA, 0, 1);
    const free = xn.findFree(0, 1);
    // Claim one fresh block but write a pointer to another free block.
    const lie: XnOp = { db: free, nelem: 1, type: XN_DB, slot: 1, mods: fileMods(1, free + 1, 1) };
    expect(xn.alloc(a, rootA * BLOCK_SIZE, lie)).toBe(XN.TYPE_ERROR);
    // Claim a fresh block but point at an existing (foreign to this slot) block.
    const dup: XnOp = { db: free, nelem: 1, type: XN_DB, slot: 1, mods: fileMods(1, f, 1) };
    expect(xn.alloc(a, rootA * BLOCK_SIZE, dup)).toBe(XN.TYPE_ERROR);
    // A modification reaching into another slot is refused before any UDF runs.
    const wide: XnOp = { db: free, nelem: 1, type: XN_DB, slot: 1, mods: [{ offset: 64, bytes: new Uint8Array(16) }] };
    expect(xn.alloc(a, rootA * BLOCK_SIZE, wide)).toBe(XN.CANNOT_ACCESS);
    const page = new Uint8Array(16);
    expect(xn.readb(a, page, rootA * BLOCK_SIZE + 64)).toBe(XN.SUCCESS);
    expect([...page.subarray(8, 16)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]); // slot 1 unchanged
    expect(new DataView(page.buffer).getUint32(0, true)).toBe(f);
  });

  it('cannot write pointer fields with writeb', async () => {
    const { xn, a, rootA } = await boot();
    expect(xn.writeb(a, rootA * BLOCK_SIZE + 64, new Uint8Array([1, 2, 3, 4]))).toBe(XN.BOGUS_CAP);
    expect(xn.writeb(a, rootA * BLOCK_SIZE + 60, new Uint8Array(8))).toBe(XN.BOGUS_CAP); // straddles
    expect(xn.writeb(a, rootA * BLOCK_SIZE + 700, new Uint8Array(8))).toBe(XN.BOGUS_CAP);
    expect(xn.writeb(a, rootA * BLOCK_SIZE + 704, new Uint8Array(8).fill(9))).toBe(XN.SUCCESS);
  });

  it('cannot reuse a freed block before the parent is written without the pointer (will-free)', async () => {
    const { xn, a, rootA } = await boot();
    const f = await makeFile(xn, a, rootA, 0, 1);
    expect(xn.free(a, rootA * BLOCK_SIZE, fileOp(0, f, 1, false))).toBe(XN.SUCCESS);
    const reuse: XnOp = { db: f, nelem: 1, type: XN_DB, slot: 2, mods: fileMods(2, f, 1) };
    expect(xn.alloc(a, rootA * BLOCK_SIZE, reuse)).toBe(XN.CANNOT_ALLOC);
    expect(xn.free(a, rootA * BLOCK_SIZE, fileOp(0, f, 1, false))).toBe(XN.REGISTRY_MISS); // no double free
    expect(await writebackWait(xn, a, [{ db: rootA, n: 1 }])).toBe(XN.SUCCESS);
    expect(xn.alloc(a, rootA * BLOCK_SIZE, reuse)).toBe(XN.SUCCESS);
  });

  it('refuses writing a parent that points to a never-written block (XN_TAINTED) and reading it (XN_DIRTY_BLOCKS)', async () => {
    const { xn, a, rootA } = await boot();
    const op: XnOp = { db: 0, nelem: 1, type: XN_DB, slot: 3, mods: [] };
    op.db = xn.findFree(0, 1);
    op.mods = fileMods(3, op.db, 1);
    expect(xn.alloc(a, rootA * BLOCK_SIZE, op)).toBe(XN.SUCCESS);
    expect(await writebackWait(xn, a, [{ db: rootA, n: 1 }])).toBe(XN.TAINTED);
    expect(await readinWait(xn, a, op.db, 1)).toBe(XN.DIRTY_BLOCKS);
    expect(xn.bind(a, op.db, XN_ZERO_FILL)).toBeGreaterThanOrEqual(0);
    expect(await writebackWait(xn, a, [{ db: op.db, n: 1 }])).toBe(XN.SUCCESS);
    expect(await writebackWait(xn, a, [{ db: rootA, n: 1 }])).toBe(XN.SUCCESS);
  });

  it('move and swap couple their two parents into one atomic write; swap exchanges two extents, and a refused half rolls both back', async () => {
    const { xn, a, b, rootA, dir } = await boot();
    // A subdirectory under rootA.
    const sub: XnOp = { db: 0, nelem: 1, type: dir, slot: 64, mods: [] };
    sub.db = xn.findFree(0, 1);
    sub.mods = subdirMods(0, sub.db);
    expect(xn.alloc(a, rootA * BLOCK_SIZE, sub)).toBe(XN.SUCCESS);
    expect(xn.bind(a, sub.db, XN_ZERO_FILL)).toBeGreaterThanOrEqual(0);
    expect(await writebackWait(xn, a, [{ db: sub.db, n: 1 }])).toBe(XN.SUCCESS);
    const f = await makeFile(xn, a, rootA, 5, 7);
    const dst: XnOp = { db: f, nelem: 1, type: XN_DB, slot: 0, mods: fileMods(0, f, 1) };
    const src: XnOp = { db: f, nelem: 1, type: XN_DB, slot: 5, mods: fileMods(5, 0, 0) };
    expect(xn.move(a, sub.db * BLOCK_SIZE, dst, rootA * BLOCK_SIZE, src)).toBe(XN.SUCCESS);
    expect(xn.attrOf(f)?.parentDb).toBe(sub.db);
    expect(await writebackWait(xn, a, [{ db: rootA, n: 1 }])).toBe(XN.TAINTED);
    expect(await writebackWait(xn, a, [{ db: rootA, n: 1 }, { db: sub.db, n: 1 }])).toBe(XN.SUCCESS);
    // A move that lies about the extent is refused and leaves both parents unchanged.
    const bad: XnOp = { db: f, nelem: 1, type: XN_DB, slot: 1, mods: fileMods(1, f + 1, 1) };
    expect(xn.move(a, rootA * BLOCK_SIZE, bad, sub.db * BLOCK_SIZE, { ...dst, mods: fileMods(0, 0, 0) })).toBe(XN.TYPE_ERROR);
    expect(xn.attrOf(f)?.parentDb).toBe(sub.db);

    // Swap: f (sub's slot 0) and a two-block file g (rootA's slot 6) trade places.
    const g = await makeFile(xn, a, rootA, 6, 9);
    const ptrs = (db: number, slot: number) => {
      const b = new Uint8Array(8);
      expect(xn.readb(a, b, db * BLOCK_SIZE + FILE_PTR_OFF + 8 * slot)).toBe(XN.SUCCESS);
      return [new DataView(b.buffer).getUint32(0, true), new DataView(b.buffer).getUint32(4, true)];
    };
    const gOp: XnOp = { db: g, nelem: 1, type: XN_DB, slot: 6, mods: fileMods(6, f, 1) };
    const fOp: XnOp = { db: f, nelem: 1, type: XN_DB, slot: 0, mods: fileMods(0, g, 1) };
    // Refusals first, each leaving both parents as they were: a lie in the second half rolls the first half back too.
    expect(xn.swap(a, rootA * BLOCK_SIZE, gOp, sub.db * BLOCK_SIZE, { ...fOp, mods: fileMods(0, g, 2) })).toBe(XN.TYPE_ERROR);
    expect(xn.swap(a, rootA * BLOCK_SIZE, { ...gOp, db: g + 1 }, sub.db * BLOCK_SIZE, fOp)).toBe(XN.TYPE_ERROR); // slot 6 does not own g + 1
    expect(xn.swap(a, rootA * BLOCK_SIZE, gOp, rootA * BLOCK_SIZE, { ...gOp, mods: fileMods(6, g, 1) })).toBe(XN.ILLEGAL_OP); // one slot
    expect(xn.swap(a, rootA * BLOCK_SIZE, { ...gOp, db: 2 ** 40 }, sub.db * BLOCK_SIZE, fOp)).toBe(XN.BOGUS_PTR);
    expect(xn.swap(b, rootA * BLOCK_SIZE, gOp, sub.db * BLOCK_SIZE, fOp)).toBe(XN.BOGUS_CAP);
    expect([ptrs(rootA, 6), ptrs(sub.db, 0)]).toEqual([[g, 1], [f, 1]]);
    expect(xn.swap(a, rootA * BLOCK_SIZE, gOp, sub.db * BLOCK_SIZE, fOp)).toBe(XN.SUCCESS);
    expect([ptrs(rootA, 6), ptrs(sub.db, 0)]).toEqual([[f, 1], [g, 1]]);
    expect([xn.attrOf(f), xn.attrOf(g)].map((x) => [x?.parentDb, x?.parentSlot])).toEqual([[rootA, 6], [sub.db, 0]]);
    expect(await writebackWait(xn, a, [{ db: sub.db, n: 1 }])).toBe(XN.TAINTED); // coupled by the swap
    expect(await writebackWait(xn, a, [{ db: rootA, n: 1 }, { db: sub.db, n: 1 }])).toBe(XN.SUCCESS);
    const data = new Uint8Array(BLOCK_SIZE);
    expect(xn.readb(a, data, g * BLOCK_SIZE)).toBe(XN.SUCCESS);
    expect(Buffer.compare(data, dataBlock(9))).toBe(0);
    const fsck = await xn.fsck();
    expect([fsck.dangling, fsck.doublyOwned, fsck.leaked]).toEqual([0, 0, 0]);
  });

  it('survives shutdown and restart: same type ids, roots, data', async () => {
    const { dev, cache, xn, a, rootA, dir } = await boot();
    const f = await makeFile(xn, a, rootA, 9, 42);
    expect(await xn.shutdown()).toBe(XN.SUCCESS);
    const xn2 = new Xn(cache);
    const r = await xn2.init();
    expect(r).toMatchObject({ code: XN.SUCCESS, wasClean: true, formatted: false });
    const a2 = xn2.context(100, 1000);
    expect(xn2.typeMount(a2, 'libfs-dir')).toBe(dir);
    const out: { db: number }[] = [];
    expect(xn2.mount(a2, 'home-a', out as never)).toBe(XN.SUCCESS);
    expect(out[0]?.db).toBe(rootA);
    expect(await readinWait(xn2, a2, rootA, 1)).toBe(XN.SUCCESS);
    expect(xn2.insertAttr(a2, rootA * BLOCK_SIZE, fileOp(9, f, 1, true))).toBe(XN.SUCCESS);
    expect(await readinWait(xn2, a2, f, 1)).toBe(XN.SUCCESS);
    const got = new Uint8Array(BLOCK_SIZE);
    expect(xn2.readb(a2, got, f * BLOCK_SIZE)).toBe(XN.SUCCESS);
    expect(Buffer.compare(got, dataBlock(42))).toBe(0);
    // insert_attr checks containment (Xok ignored it).
    expect(xn2.insertAttr(a2, rootA * BLOCK_SIZE, fileOp(8, f + 3, 1, true))).toBe(XN.TYPE_ERROR);
    expect(dev.stats().errors).toBe(0);
  });

  it('shutdown refuses while dirty blocks remain, delete_attr refuses dirty blocks', async () => {
    const { xn, a, rootA } = await boot();
    expect(xn.writeb(a, rootA * BLOCK_SIZE + 800, new Uint8Array([1]))).toBe(XN.SUCCESS);
    expect(await xn.shutdown()).toBe(XN.DIRTY_BLOCKS);
    const f = await makeFile(xn, a, rootA, 0, 1);
    expect(xn.writeb(a, f * BLOCK_SIZE, new Uint8Array([1]))).toBe(XN.SUCCESS);
    expect(xn.deleteAttr(a, f, 1)).toBe(XN.DIRTY_BLOCKS);
    expect(await writebackWait(xn, a, [{ db: f, n: 1 }])).toBe(XN.SUCCESS);
    expect(xn.deleteAttr(a, f, 1)).toBe(XN.SUCCESS);
    expect(await xn.shutdown()).toBe(XN.SUCCESS);
  });

  it('bad input — random modification vectors, out-of-range blocks, huge counts, bogus pointers — gets codes, never a throw (property)', async () => {
    const { xn, a, b, rootA } = await boot(512);
    const int = fc.oneof(fc.integer({ min: -5, max: 600 }), fc.constantFrom(0, 2 ** 31, -(2 ** 31), 2 ** 53, Number.NaN, 1.5, Infinity));
    const mods = fc.array(fc.record({ offset: int, bytes: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 20 });
    const op = fc.record({ db: int, nelem: int, type: int, slot: int, mods });
    const call = fc.record({ which: fc.integer({ min: 0, max: 15 }), ctx: fc.boolean(), da: fc.oneof(int, fc.constant(rootA * BLOCK_SIZE), fc.integer({ min: 0, max: 512 * BLOCK_SIZE })), op, op2: op, n: int, bytes: fc.uint8Array({ maxLength: 64 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(call, { maxLength: 30 }), async (calls) => {
        for (const c of calls) {
          const ctx = c.ctx ? a : b;
          const sink = () => undefined;
          let r: number;
          switch (c.which) {
            case 0: r = xn.alloc(ctx, c.da, c.op); break;
            case 1: r = xn.free(ctx, c.da, c.op); break;
            case 2: r = xn.swap(ctx, c.da, c.op, c.da, c.op2); break;
            case 3: r = xn.move(ctx, c.da, c.op, rootA * BLOCK_SIZE, c.op2); break;
            case 4: r = xn.bind(ctx, c.op.db, c.n); break;
            case 5: r = xn.unbind(ctx, c.op.db); break;
            case 6: r = xn.writeb(ctx, c.da, c.bytes); break;
            case 7: r = xn.readb(ctx, new Uint8Array(c.bytes.length), c.da); break;
            case 8: r = xn.readin(ctx, c.op.db, c.n, 1, sink); break;
            case 9: r = xn.writeback(ctx, c.op.db, c.n, 1, sink); break;
            case 10: r = xn.insertAttr(ctx, c.da, c.op); break;
            case 11: r = xn.deleteAttr(ctx, c.op.db, c.n); break;
            case 12: r = xn.setType(ctx, c.da, c.n, c.bytes, c.op.slot); break;
            case 13: r = xn.readAttr(ctx, c.op.db, c.n, []); break;
            case 14: r = xn.installMount(ctx, `r${c.n}`, c.op, c.op.slot); break;
            default: r = xn.findFree(c.op.db, c.n); break;
          }
          expect(typeof r).toBe('number');
          expect(Number.isInteger(r)).toBe(true);
        }
        await new Promise((res) => setImmediate(res));
        const rep = await xn.fsck();
        expect([rep.dangling, rep.doublyOwned, rep.leaked]).toEqual([0, 0, 0]);
      }),
      { seed, numRuns: 60 },
    );
  });
});
