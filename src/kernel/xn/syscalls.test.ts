/**
 * XN through the system-call boundary (issue 6 acceptance): the library file system's protection
 * rules from processes of different users, each refusal with its code; notification by record
 * channel and by counter; a process's exit releases its XN state; copy-in happens before the
 * thick layer runs; bad input of every kind gets a code, never a throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, MemoryBlockDevice } from '../../disk/index.js';
import { VirtualClock } from '../../util/clock.js';
import { CHAN_MODE_BYTE, CHAN_MODE_RECORD, XN_OP_BYTES } from '../abi/layout.js';
import type { Libc } from '../abi/libc.js';
import { XnClient, type XnAttrEntry } from '../abi/xn-client.js';
import { XN, XN_ALREADY_ONLINE, XN_ATTR_DIRTY, XN_ATTR_IN_CORE, XN_DB, XN_DEV, XN_NO_CHAN, XN_REPORT_FORMATTED, XN_REPORT_WALKED, XN_ZERO_FILL } from '../abi/xn.js';
import { BufferCache } from '../bcache/index.js';
import { Kernel } from '../kernel.js';
import { registerXnSyscalls } from './syscalls.js';
import { runXnProcess } from './testing/stack.js';
import { dataBlock, fileMods, fileOp, FILE_PTR_OFF, RAW_OFF, subdirMods } from './testing/libfs-format.js';
import { dirTypeOf, makeFile, makeRootDir, mountRootDir, must } from './testing/libfs-user.js';
import { Xn } from './xn.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
console.log(`xn syscalls properties: SEED=${seed}`);

async function machine(blockCount = 2048) {
  const dev = new MemoryBlockDevice({ blockCount });
  const cache = new BufferCache(dev, 512);
  const xn = new Xn(cache);
  expect((await xn.init()).code).toBe(XN.SUCCESS);
  const k = new Kernel({ clock: new VirtualClock() });
  const sc = registerXnSyscalls(k, xn);
  return { dev, cache, xn, k, sc };
}

/** Run `body` as a process of `uid` to its end; its result (a thrown error fails the test). */
const run = <T>(k: Kernel, uid: number, body: (xc: XnClient, sys: Libc) => Promise<T> | T): Promise<T> => runXnProcess(k, uid, body, { memoryBytes: 1 << 20 });

const settle = () => new Promise<void>((r) => setImmediate(r));

/**
 * The blocks a file slot `{db, n}` owns, as the directory's owns UDF reports them: a nil pointer
 * (block 0 or count 0) owns nothing.
 */
const extentBlocks = (db: number, n: number): Set<number> => new Set(db === 0 || n === 0 ? [] : Array.from({ length: n }, (_, i) => db + i));
const sameBlocks = (a: Set<number>, b: Set<number>) => a.size === b.size && [...a].every((x) => b.has(x));
/**
 * The induction oracle over block sets (the bytes written are not the criterion: a slot may be
 * rewritten to any extent whose blocks are the right set). alloc: `add ∩ old = ∅` and
 * `new = old ∪ add`; free: `del ⊆ old` and `new = old − del`.
 */
const allocIsHonest = (old: Set<number>, now: Set<number>, add: Set<number>) => [...add].every((x) => !old.has(x)) && sameBlocks(now, new Set([...old, ...add]));
const freeIsHonest = (old: Set<number>, now: Set<number>, del: Set<number>) => [...del].every((x) => old.has(x)) && sameBlocks(now, new Set([...old].filter((x) => !del.has(x))));

describe('XN system calls: the library file system rules, per process (issue 6)', () => {
  it('refuses, with Xok’s codes: claiming another root’s block, pointing a slot at a free or foreign block, writing pointer fields, reusing a block before its parent is written', async () => {
    const { k, xn } = await machine();
    const dir = await run(k, 0, (xc) => dirTypeOf(xc));
    expect(dir).toBeGreaterThanOrEqual(5);
    const { rootA, f } = await run(k, 1000, async (xc) => {
      const rootA = await makeRootDir(xc, 'home-a', dir);
      return { rootA, f: await makeFile(xc, rootA, 0, 1) };
    });
    const rootB = await run(k, 1001, (xc) => makeRootDir(xc, 'home-b', dir));

    // Another user cannot claim A's block, nor change A's directory, nor mount it (mode 0600).
    const b = await run(k, 1001, (xc) => [
      typeof xc.mount('home-b') === 'number' ? -1 : 0,
      xc.alloc(rootB * BLOCK_SIZE, { db: f, nelem: 1, type: XN_DB, slot: 0, mods: fileMods(0, f, 1) }),
      xc.alloc(rootA * BLOCK_SIZE, { db: 0, nelem: 1, type: XN_DB, slot: 1, mods: [] }),
      xc.writeb(rootA * BLOCK_SIZE + RAW_OFF, new Uint8Array(4)),
      xc.mount('home-a'),
    ]);
    expect(b).toEqual([0, XN.CANNOT_ALLOC, XN.BOGUS_CAP, XN.BOGUS_CAP, XN.BOGUS_CAP]);

    const a = await run(k, 1000, async (xc) => {
      await mountRootDir(xc, 'home-a');
      const free = xc.findFree(0, 1);
      const out: number[] = [];
      // Claim a fresh block but write a pointer to another free block; or to A's own file (foreign to this slot).
      out.push(xc.alloc(rootA * BLOCK_SIZE, { db: free, nelem: 1, type: XN_DB, slot: 1, mods: fileMods(1, free + 1, 1) }));
      out.push(xc.alloc(rootA * BLOCK_SIZE, { db: free, nelem: 1, type: XN_DB, slot: 1, mods: fileMods(1, f, 1) }));
      // A modification reaching into another slot's pointer.
      out.push(xc.alloc(rootA * BLOCK_SIZE, { db: free, nelem: 1, type: XN_DB, slot: 1, mods: [{ offset: FILE_PTR_OFF, bytes: new Uint8Array(16) }] }));
      // writeb on pointer fields, or straddling one.
      out.push(xc.writeb(rootA * BLOCK_SIZE + FILE_PTR_OFF, new Uint8Array([1, 2, 3, 4])));
      out.push(xc.writeb(rootA * BLOCK_SIZE + 60, new Uint8Array(8)));
      // Nothing changed: slot 0 still points to f, slot 1 is empty.
      const ptrs = new Uint8Array(16);
      out.push(xc.readb(rootA * BLOCK_SIZE + FILE_PTR_OFF, ptrs));
      const dv = new DataView(ptrs.buffer);
      out.push(dv.getUint32(0, true) === f ? 1 : 0, dv.getUint32(8, true));
      // Free, then try to reuse before the parent is written: will-free.
      out.push(xc.insertAttr(rootA * BLOCK_SIZE, fileOp(0, f, 1, true)));
      out.push(xc.free(rootA * BLOCK_SIZE, fileOp(0, f, 1, false)));
      out.push(xc.alloc(rootA * BLOCK_SIZE, { db: f, nelem: 1, type: XN_DB, slot: 2, mods: fileMods(2, f, 1) }));
      out.push(await xc.writebackSync(rootA, 1));
      out.push(xc.alloc(rootA * BLOCK_SIZE, { db: f, nelem: 1, type: XN_DB, slot: 2, mods: fileMods(2, f, 1) }));
      return out;
    });
    expect(a).toEqual([
      XN.TYPE_ERROR,
      XN.TYPE_ERROR,
      XN.CANNOT_ACCESS,
      XN.BOGUS_CAP,
      XN.BOGUS_CAP,
      XN.SUCCESS,
      1,
      0,
      XN.SUCCESS,
      XN.SUCCESS,
      XN.CANNOT_ALLOC,
      XN.SUCCESS,
      XN.SUCCESS,
    ]);
    const rep = await xn.fsck();
    expect([rep.dangling, rep.doublyOwned]).toEqual([0, 0]);
  });

  it('a parent pointing to a never-written block cannot be written (XN_TAINTED) and the block cannot be read (XN_DIRTY_BLOCKS); move couples parents into one writebackv', async () => {
    const { k, xn } = await machine();
    const dir = await run(k, 0, (xc) => dirTypeOf(xc));
    const got = await run(k, 1000, async (xc) => {
      const root = await makeRootDir(xc, 'r', dir);
      const out: number[] = [];
      const op = { db: 0, nelem: 1, type: XN_DB, slot: 3, mods: [] as ReturnType<typeof fileMods> };
      op.db = xc.findFree(0, 1);
      op.mods = fileMods(3, op.db, 1);
      out.push(xc.alloc(root * BLOCK_SIZE, op));
      out.push(await xc.writebackSync(root, 1), await xc.readinSync(op.db, 1));
      out.push(xc.bind(op.db), await xc.writebackSync(op.db, 1), await xc.writebackSync(root, 1));
      // A sub-directory, then move the file into it.
      const sub = { db: xc.findFree(0, 1), nelem: 1, type: dir, slot: 64, mods: [] as ReturnType<typeof fileMods> };
      sub.mods = subdirMods(0, sub.db);
      out.push(xc.alloc(root * BLOCK_SIZE, sub), xc.bind(sub.db), await xc.writebackSync(sub.db, 1), await xc.writebackSync(root, 1));
      out.push(xc.move(sub.db * BLOCK_SIZE, { db: op.db, nelem: 1, type: XN_DB, slot: 0, mods: fileMods(0, op.db, 1) }, root * BLOCK_SIZE, { db: op.db, nelem: 1, type: XN_DB, slot: 3, mods: fileMods(3, 0, 0) }));
      out.push(await xc.writebackSync(root, 1));
      const chan = xc.sys.channel(CHAN_MODE_RECORD, 4);
      out.push(await xc.awaitRequest(chan, xc.writebackv([{ db: root, n: 1 }, { db: sub.db, n: 1 }], chan)));
      return out;
    });
    expect(got).toEqual([XN.SUCCESS, XN.TAINTED, XN.DIRTY_BLOCKS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.TAINTED, XN.SUCCESS]);
    const rep = await xn.fsck();
    expect([rep.dangling, rep.doublyOwned, rep.leaked]).toEqual([0, 0, 0]);
  });

  it('bind with XN_BIND_CONTENTS gives raw data blocks the caller’s bytes in one call; it is refused for blocks with pointers, without contents, and with XN_FORCE_READIN', async () => {
    const { k } = await machine();
    const dir = await run(k, 0, (xc) => dirTypeOf(xc));
    const r = await run(k, 1000, async (xc, sys) => {
      const root = await makeRootDir(xc, 'r', dir);
      const db = xc.findFree(0, 2);
      const out: number[] = [xc.alloc(root * BLOCK_SIZE, { db, nelem: 2, type: XN_DB, slot: 0, mods: fileMods(0, db, 2) })];
      const data = new Uint8Array(2 * BLOCK_SIZE).map((_v, i) => (i * 13) & 0xff);
      out.push(xc.bindContents(db, data), await xc.writebackSync(db, 2), await xc.writebackSync(root, 1));
      const back = new Uint8Array(2 * BLOCK_SIZE);
      out.push(xc.readb(db * BLOCK_SIZE, back), Buffer.compare(back, data));
      const sub = xc.findFree(0, 1);
      out.push(xc.alloc(root * BLOCK_SIZE, { db: sub, nelem: 1, type: dir, slot: 64, mods: subdirMods(0, sub) }));
      out.push(xc.bindContents(sub, new Uint8Array(BLOCK_SIZE).fill(1))); // a directory: pointers come only through XN
      out.push(sys.call('xn_bind', sub, 1, 0, 0)); // XN_BIND_CONTENTS without contents
      out.push(sys.call('xn_bind', sub, 1, 1, 0)); // XN_FORCE_READIN
      out.push(xc.bindContents(db, data)); // in core already
      return out;
    });
    expect(r).toEqual([XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, XN.SUCCESS, 0, XN.SUCCESS, XN.ILLEGAL_OP, XN.CANNOT_ACCESS, XN.ILLEGAL_OP, XN.IN_CORE]);
  });

  it('xn_write_sync and xn_read_sync move raw data blocks in one call each and leave no page behind; they refuse what bind and readin refuse, and a bad buffer changes nothing', async () => {
    const { k, dev } = await machine();
    const dir = await run(k, 0, (xc) => dirTypeOf(xc));
    const r = await run(k, 1000, async (xc, sys) => {
      const root = await makeRootDir(xc, 'r', dir);
      const db = xc.findFree(0, 3);
      must(xc.alloc(root * BLOCK_SIZE, { db, nelem: 3, type: XN_DB, slot: 0, mods: fileMods(0, db, 3) }), 'alloc');
      // Never written: nothing to read, and the data blocks are uninitialized until a write.
      const src = sys.malloc(3 * BLOCK_SIZE);
      const dst = sys.malloc(3 * BLOCK_SIZE);
      for (let i = 0; i < 3 * BLOCK_SIZE; i++) sys.mem[src + i] = (i * 7 + 3) & 0xff;
      const neverWritten = await xc.readSync(dst, db, 3);
      const write = await xc.writeSync(db, 3, src);
      const inCoreAfterWrite = (xc.readAttr(db, 3) as XnAttrEntry[]).map((a) => (a.flags & XN_ATTR_IN_CORE) !== 0);
      const written = await xc.writebackSync(root, 1);
      const read = await xc.readSync(dst, db, 3);
      const same = Buffer.compare(sys.mem.subarray(src, src + 3 * BLOCK_SIZE), sys.mem.subarray(dst, dst + 3 * BLOCK_SIZE));
      const inCoreAfterRead = (xc.readAttr(db, 3) as XnAttrEntry[]).map((a) => (a.flags & XN_ATTR_IN_CORE) !== 0);
      // In core (bound by this process): both refuse, as readin and bind do; the pages stay.
      must(xc.bind(db, 1, XN_ZERO_FILL), 'bind');
      const inCore = [await xc.readSync(dst, db, 1), await xc.writeSync(db, 1, src)];
      must(await xc.writebackSync(db, 1), 'writeback');
      must(xc.unbind(db, 1), 'unbind');
      // A directory block takes contents only through XN; a buffer past the end of memory is refused before anything starts.
      must(xc.unbind(root, 1), 'unbind root');
      const dirBlock = await xc.writeSync(root, 1, src);
      const badDst = await xc.readSync(sys.mem.length - BLOCK_SIZE, db + 1, 2);
      const badSrc = await xc.writeSync(db + 1, 2, sys.mem.length - BLOCK_SIZE);
      const untouched = (xc.readAttr(db + 1, 2) as XnAttrEntry[]).map((a) => (a.flags & XN_ATTR_IN_CORE) !== 0);
      return { db, neverWritten, write, inCoreAfterWrite, written, read, same, inCoreAfterRead, inCore, dirBlock, badDst, badSrc, untouched };
    });
    expect(r).toMatchObject({
      neverWritten: XN.DIRTY_BLOCKS,
      write: XN.SUCCESS,
      inCoreAfterWrite: [false, false, false],
      written: XN.SUCCESS,
      read: XN.SUCCESS,
      same: 0,
      inCoreAfterRead: [false, false, false],
      inCore: [XN.IN_CORE, XN.IN_CORE],
      dirBlock: XN.ILLEGAL_OP,
      badDst: XN.CANNOT_ACCESS,
      badSrc: XN.CANNOT_ACCESS,
      untouched: [false, false],
    });
    // Durable on return: the medium holds the bytes (the device is write-through).
    const onDisk = dev.durableImage().get(r.db + 2);
    expect(onDisk?.[5]).toBe((2 * BLOCK_SIZE + 5) * 7 + 3 & 0xff);
    // Another user has no capability for the blocks.
    expect(await run(k, 1001, async (xc, sys) => {
      xc.mount('r');
      const b = sys.malloc(BLOCK_SIZE);
      return [await xc.writeSync(r.db, 1, b), await xc.readSync(b, r.db, 1)];
    })).toEqual([XN.BOGUS_CAP, XN.BOGUS_CAP]);
  });

  it('a failed xn_write_sync keeps the pages bound and dirty (not durable, retry with writeback); a failed xn_read_sync leaves no page', async () => {
    // The same deterministic workload twice: first to count the device requests before the
    // combined call, then with the device failing exactly that call's request.
    const workload = async (failAtOp?: number) => {
      const dev = new MemoryBlockDevice({ blockCount: 2048, ...(failAtOp === undefined ? {} : { failAtOp }) });
      const xn = new Xn(new BufferCache(dev, 512));
      expect((await xn.init()).code).toBe(XN.SUCCESS);
      const k = new Kernel({ clock: new VirtualClock() });
      registerXnSyscalls(k, xn);
      const ops = () => { const st = dev.stats(); return (st['readRequests'] ?? 0) + (st['writeRequests'] ?? 0) + (st['flushRequests'] ?? 0); };
      return run(k, 0, async (xc, sys) => {
        const root = await makeRootDir(xc, 'r', await dirTypeOf(xc));
        const f = await makeFile(xc, root, 0, 2, 1);
        must(xc.unbind(f, 1), 'unbind');
        const src = sys.malloc(BLOCK_SIZE);
        sys.mem.fill(9, src, src + BLOCK_SIZE);
        const before = ops();
        const write = await xc.writeSync(f, 1, src);
        const attr = (xc.readAttr(f, 1) as XnAttrEntry[])[0]!.flags;
        const retry = write === XN.SUCCESS ? XN.SUCCESS : await xc.writebackSync(f, 1);
        if (write !== XN.SUCCESS) must(xc.unbind(f, 1), 'unbind after retry');
        const beforeRead = ops();
        const read = await xc.readSync(src, f, 1);
        const afterRead = (xc.readAttr(f, 1) as XnAttrEntry[])[0]!.flags;
        return { before, beforeRead, write, dirtyInCore: (attr & (XN_ATTR_DIRTY | XN_ATTR_IN_CORE)) === (XN_ATTR_DIRTY | XN_ATTR_IN_CORE), retry, read, inCoreAfterRead: (afterRead & XN_ATTR_IN_CORE) !== 0 };
      });
    };
    const clean = await workload();
    expect(clean).toMatchObject({ write: XN.SUCCESS, dirtyInCore: false, read: XN.SUCCESS, inCoreAfterRead: false });
    const failedWrite = await workload(clean.before + 1);
    expect(failedWrite).toMatchObject({ write: XN.WRITE_FAILED, dirtyInCore: true, retry: XN.SUCCESS, read: XN.SUCCESS, inCoreAfterRead: false });
    const failedRead = await workload(clean.beforeRead + 1);
    expect(failedRead).toMatchObject({ write: XN.SUCCESS, read: expect.any(Number), inCoreAfterRead: false });
    expect(failedRead.read).toBeLessThan(0);
  });

  it('xn_init reports the boot, xn_fsck walks the tree; both are root-only', async () => {
    const { k } = await machine();
    const r = await run(k, 0, async (xc) => {
      const dir = await dirTypeOf(xc);
      const root = await makeRootDir(xc, 'r', dir);
      await makeFile(xc, root, 0, 1, 3);
      return { init: await xc.init(), fsck: await xc.fsck() };
    });
    expect(r.init.code).toBe(XN_ALREADY_ONLINE);
    expect(r.init.report?.flags).toBe(XN_REPORT_FORMATTED | XN_REPORT_WALKED); // a fresh format is walked (it was never shut down clean)
    expect(r.fsck.report).toMatchObject({ roots: 2, dangling: 0, doublyOwned: 0, leaked: 0 });
    expect(r.fsck.report?.reachable).toBe(1 + 1 + 3); // template block, root dir, 3 file blocks
    const user = await run(k, 1000, async (xc) => [(await xc.init()).code, (await xc.fsck()).code, await xc.shutdown()]);
    expect(user).toEqual([XN.BOGUS_CAP, XN.BOGUS_CAP, XN.BOGUS_CAP]);
  });
});

describe('XN system calls: notification', () => {
  it('a record channel gets {request id, XN_DEV, first block, status}; a counter in the caller’s memory counts down; sync and semi-sync agree', async () => {
    const { k, sc } = await machine();
    const r = await run(k, 0, async (xc, sys) => {
      const dir = await dirTypeOf(xc);
      const root = await makeRootDir(xc, 'r', dir);
      const f = await makeFile(xc, root, 0, 5, 4);
      const chan = sys.channel(CHAN_MODE_RECORD, 8);
      const counter = sys.calloc(4);
      sys.view.setInt32(counter, 2, true);
      const ids = [xc.unbind(f, 4), xc.readin(f, 2, chan, counter), xc.readin(f + 2, 2, chan, counter)];
      const recs = [await xc.nextRecord(chan), await xc.nextRecord(chan)];
      const afterCounter = sys.view.getInt32(counter, true);
      const data = new Uint8Array(BLOCK_SIZE);
      xc.readb((f + 3) * BLOCK_SIZE, data);
      const sameData = Buffer.compare(data, dataBlock(5 * 16 + 3)) === 0;
      // The same read, synchronously and semi-synchronously.
      const sync = [xc.unbind(f, 4), await xc.readinSync(f, 4), xc.unbind(f, 4), await xc.awaitRequest(chan, xc.readin(f, 4, chan))];
      // A byte channel counts events.
      const bytes = sys.channel(CHAN_MODE_BYTE, 0);
      const one = sys.malloc(8);
      const viaByte = [xc.writeback(f, 4, bytes), await sys.read_wait(bytes, one, 8, -1), sys.mem[one]];
      return { ids, recs, afterCounter, sameData, sync, viaByte, f };
    });
    expect(r.ids[0]).toBe(XN.SUCCESS);
    expect(r.ids[1]).toBeGreaterThan(0);
    expect(r.ids[2]).toBe((r.ids[1] as number) + 1);
    expect(r.recs).toEqual([
      { requestId: r.ids[1], device: XN_DEV, block: r.f, status: XN.SUCCESS, flags: 0 },
      { requestId: r.ids[2], device: XN_DEV, block: r.f + 2, status: XN.SUCCESS, flags: 0 },
    ]);
    expect(r.afterCounter).toBe(0);
    expect(r.sameData).toBe(true);
    expect(r.sync).toEqual([0, 0, 0, 0]);
    expect(r.viaByte).toEqual([expect.any(Number), 1, 1]);
    expect(sc.completions).toMatchObject({ pending: 0, counterUpdates: 2, deadProcess: 0 });
  });

  it('a full channel refuses the request (XN_NO_MEMORY) instead of losing a completion; bad targets are refused before anything starts', async () => {
    const { k, sc } = await machine();
    const r = await run(k, 0, async (xc, sys) => {
      const dir = await dirTypeOf(xc);
      const root = await makeRootDir(xc, 'r', dir);
      const f = await makeFile(xc, root, 0, 1, 3);
      xc.unbind(f, 3);
      const chan = sys.channel(CHAN_MODE_RECORD, 2);
      const pipe = sys.pipe() as [number, number];
      const res = [xc.readin(f, 1, chan), xc.readin(f + 1, 1, chan), xc.readin(f + 2, 1, chan)];
      const bad = [xc.readin(f + 2, 1, 77), xc.readin(f + 2, 1, pipe[0]), xc.readin(f + 2, 1, XN_NO_CHAN, 4097 + 4096), xc.readin(f + 2, 1, XN_NO_CHAN, 2), xc.readin(f + 2, 1, -2)];
      const recs = [await xc.nextRecord(chan), await xc.nextRecord(chan)];
      return { res, bad, recs };
    });
    expect(r.res.slice(0, 2).every((x) => x > 0)).toBe(true);
    expect(r.res[2]).toBe(XN.NO_MEMORY);
    expect(r.bad).toEqual([XN.ILLEGAL_OP, XN.ILLEGAL_OP, XN.CANNOT_ACCESS, XN.CANNOT_ACCESS, XN.ILLEGAL_OP]);
    expect(r.recs.map((x) => (typeof x === 'number' ? x : x.status))).toEqual([0, 0]);
    expect(sc.completions).toMatchObject({ pending: 0, noSlot: 1 });
  });

  it('a process’s exit releases its XN state; its pending completions never write its (or anyone’s) memory, and the channel is released after them', async () => {
    const { k, sc, cache, dev } = await machine();
    const f = await run(k, 0, async (xc) => {
      const dir = await dirTypeOf(xc);
      const root = await makeRootDir(xc, 'r', dir);
      return makeFile(xc, root, 0, 1, 8);
    });
    expect(sc.contexts()).toBe(0);
    // A process laid out like the victim, alive through the victim's completion.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const other = k.spawn('other', async (sys) => {
      new XnClient(sys);
      const at = sys.calloc(4);
      sys.view.setInt32(at, 1, true);
      await gate;
      return sys.view.getInt32(at, true);
    }, { uid: 1000 });
    dev.pause(); // the disk is slow: the read completes after the victim is gone
    let counterAt = -1;
    const victim = k.spawn('victim', (sys) => {
      const xc = new XnClient(sys);
      xc.mount('r');
      expect(xc.unbind(f, 8)).toBe(XN.SUCCESS);
      const chan = sys.channel(CHAN_MODE_RECORD, 4);
      counterAt = sys.calloc(4);
      sys.view.setInt32(counterAt, 1, true);
      expect(xc.readin(f, 8, chan, counterAt)).toBeGreaterThan(0);
      expect(sc.contextOf(sys.getpid())?.caps.size).toBe(1);
      return 0; // exits with the read in flight and its channel open
    }, { uid: 0 });
    expect(await victim.exited).toMatchObject({ reason: 'return', code: 0 });
    expect(sc.contexts()).toBe(0);
    expect(sc.completions.pending).toBe(1);
    expect(k.stats().kernelHolds).toBe(1); // the channel, held for the pending completion
    dev.resume();
    await cache.whenIdle();
    await settle();
    expect(sc.completions).toMatchObject({ pending: 0, deadProcess: 1, counterUpdates: 0 });
    expect(k.stats().kernelHolds).toBe(0);
    release();
    expect(await other.exited).toMatchObject({ code: 1 }); // its word at the victim's counter address is untouched
    expect(counterAt).toBeGreaterThan(0);
    k.assertNoLeaks();
  });
});

describe('XN system calls: copy-in and bad input', () => {
  it('the op, its m_vec and every modification byte are copied in before the thick layer runs (no double fetch)', async () => {
    const { k, xn } = await machine();
    const dir = await run(k, 0, (xc) => dirTypeOf(xc));
    const seen: string[] = [];
    const alloc = xn.alloc.bind(xn);
    let hostile: Uint8Array | null = null;
    xn.alloc = (ctx, da, op) => {
      hostile?.fill(0xee); // a second thread rewriting the caller's memory during the call
      seen.push(`${op.db}/${op.nelem}/${op.type}/${op.slot}/${op.mods.map((m) => `${m.offset}:${[...m.bytes].join(',')}`).join(';')}`);
      return alloc(ctx, da, op);
    };
    const r = await run(k, 1000, async (xc, sys) => {
      const root = await makeRootDir(xc, 'r', dir);
      hostile = sys.mem.subarray(4096 * 2);
      const free = xc.findFree(0, 1);
      const code = xc.alloc(root * BLOCK_SIZE, { db: free, nelem: 1, type: XN_DB, slot: 1, mods: fileMods(1, free, 1) });
      hostile = null;
      return { code, free };
    });
    expect(r.code).toBe(XN.SUCCESS);
    const le = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24];
    expect(seen).toEqual([`${r.free}/1/${XN_DB}/1/${FILE_PTR_OFF + 8}:${[...le(r.free), ...le(1)].join(',')}`]);
  });

  it('random system calls — bogus pointers, NULL, huge counts, out-of-range blocks, random m_vecs, other processes’ fds — get codes, never a throw; the tree stays consistent (property)', async () => {
    const { k, xn } = await machine(512);
    const dir = await run(k, 0, (xc) => dirTypeOf(xc));
    const rootA = await run(k, 1000, async (xc) => {
      const root = await makeRootDir(xc, 'a', dir);
      await makeFile(xc, root, 0, 1, 2);
      return root;
    });
    // A process owning a channel, whose fd numbers the fuzzer will try to use.
    let otherChan = -1;
    const holder = k.spawn('holder', async (sys) => {
      otherChan = sys.channel(CHAN_MODE_RECORD, 4);
      await sys.sleep(1e9);
    }, { uid: 1000 });
    await settle();
    const names = ['xn_alloc', 'xn_free', 'xn_swap', 'xn_move', 'xn_bind', 'xn_unbind', 'xn_writeb', 'xn_readb', 'xn_readin', 'xn_writeback', 'xn_read_and_insert', 'install_mount', 'xn_mount', 'type_import', 'type_mount', 'xn_read_catalogue', 'xn_insert_attr', 'xn_read_attr', 'xn_delete_attr', 'xn_set_type', 'xn_readinv', 'xn_writebackv', 'xn_readin_sync', 'xn_writeback_sync', 'xn_read_sync', 'xn_write_sync', 'xn_info', 'db_find_free', 'xn_root'] as const;
    const mem = 1 << 18;
    const scalar = fc.oneof(
      fc.integer({ min: -3, max: 600 }),
      fc.constantFrom(0, -1, 2 ** 31, 2 ** 32 - 1, 2 ** 53, 2 ** 53 - 1, mem - 8, mem, 4095, otherChan, rootA * BLOCK_SIZE, rootA * BLOCK_SIZE + FILE_PTR_OFF, rootA),
      fc.integer({ min: 4096, max: mem }),
    );
    const call = fc.record({ name: fc.constantFrom(...names), args: fc.array(scalar, { minLength: 6, maxLength: 6 }), fill: fc.uint8Array({ minLength: 64, maxLength: 64 }), uid: fc.constantFrom(0, 1000, 1001) });
    const internal = k.stats().internalErrors;
    await fc.assert(
      fc.asyncProperty(fc.array(call, { maxLength: 25 }), async (calls) => {
        for (const c of calls) {
          const r = await run(k, c.uid, async (xc, sys) => {
            // Plausible structs at the low heap addresses the scalars may point to.
            const at = sys.malloc(4096);
            for (let i = 0; i < 64; i++) sys.mem.set(c.fill, at + i * 64);
            sys.view.setUint32(at + 8, 1, true);
            sys.view.setUint32(at + 20, c.fill[0]! % 20, true);
            sys.view.setUint32(at + 24, at + XN_OP_BYTES, true);
            xc.mount('a');
            return await (sys.call as unknown as (n: string, ...a: number[]) => number | Promise<number>)(c.name, ...c.args);
          });
          expect(Number.isSafeInteger(r)).toBe(true);
          if (r < 0) expect(r).toBeGreaterThanOrEqual(-43);
        }
        await settle();
        await xn.cache.whenIdle();
        const rep = await xn.fsck();
        expect([rep.dangling, rep.doublyOwned]).toEqual([0, 0]);
      }),
      { seed, numRuns: 40 },
    );
    expect(k.stats().internalErrors).toBe(internal);
    k.kill(holder.pid, 9);
    await holder.exited;
    expect(k.checkInvariants()).toEqual([]);
  });

  it('alloc may rewrite a slot to an extent that merges the new blocks with the ones it already owns (SEED=744347515): the equation is over blocks, not bytes', async () => {
    const { k, xn } = await machine(512);
    const dir = await run(k, 0, (xc) => dirTypeOf(xc));
    const out = await run(k, 0, async (xc) => {
      const root = await makeRootDir(xc, 'a', dir);
      // The seed's state: slot 8 owns {b + 2} (it was 14/1), and b, b + 1 are the first free run of 2.
      const b = xc.findFree(0, 3);
      const res: number[] = [xc.alloc(root * BLOCK_SIZE, { db: b + 2, nelem: 1, type: XN_DB, slot: 8, mods: fileMods(8, b + 2, 1) }), xc.findFree(0, 2) - b];
      // b + 2 is durable, as the earlier runs of the property left it.
      res.push(xc.bind(b + 2), xc.writeb((b + 2) * BLOCK_SIZE, dataBlock(7)), await xc.writebackSync(b + 2, 1), await xc.writebackSync(root, 1));
      const add = (db: number, n: number) => xc.alloc(root * BLOCK_SIZE, { db: b, nelem: 2, type: XN_DB, slot: 8, mods: fileMods(8, db, n) });
      // Lies: dropping b + 2, claiming a block beyond, shifting by one; each leaves the slot at {b + 2}.
      res.push(add(b, 2), add(b, 4), add(b + 1, 2));
      // The seed's call, alloc [b, +2) writing {b, 3} ("n + 1"): old ∪ add = [b, b + 3), honest.
      res.push(add(b, 3));
      const p = new Uint8Array(8);
      xc.readb(root * BLOCK_SIZE + FILE_PTR_OFF + 8 * 8, p);
      const dv = new DataView(p.buffer);
      res.push(dv.getUint32(0, true) - b, dv.getUint32(4, true));
      // The merged extent is a file like any other: its new blocks written, then its parent; then freed whole.
      const blk = new Uint8Array(BLOCK_SIZE);
      res.push(xc.bind(b, 2), await xc.writebackSync(b, 2), await xc.writebackSync(root, 1), xc.readb((b + 2) * BLOCK_SIZE, blk), blk[0]!);
      res.push(xc.insertAttr(root * BLOCK_SIZE, fileOp(8, b, 3, true)), xc.free(root * BLOCK_SIZE, fileOp(8, b, 3, false)), await xc.writebackSync(root, 1));
      return res;
    });
    const ok = XN.SUCCESS;
    expect(out).toEqual([ok, 0, ok, ok, ok, ok, XN.TYPE_ERROR, XN.TYPE_ERROR, XN.TYPE_ERROR, ok, 0, 3, ok, ok, ok, ok, 7, ok, ok, ok]);
    await xn.cache.whenIdle();
    const rep = await xn.fsck();
    expect([rep.dangling, rep.doublyOwned, rep.leaked]).toEqual([0, 0, 0]);
  });

  it('well-formed but random modification vectors through alloc/free/swap/move/insert_attr: the induction check accepts exactly the honest changes and a refusal leaves the parent unchanged; the tree stays consistent (property)', async () => {
    const { k, xn } = await machine(512);
    const dir = await run(k, 0, (xc) => dirTypeOf(xc));
    const { root, files } = await run(k, 0, async (xc) => {
      const root = await makeRootDir(xc, 'a', dir);
      return { root, files: [await makeFile(xc, root, 0, 1, 2), await makeFile(xc, root, 1, 2, 1)] };
    });
    const blockArb = fc.oneof(fc.constantFrom(0, root, ...files, files[0]! + 1, 511, 512, 2 ** 40), fc.integer({ min: 1, max: 520 }));
    const mod = fc.record({ offset: fc.oneof(fc.integer({ min: 0, max: 4200 }), fc.constantFrom(FILE_PTR_OFF, FILE_PTR_OFF + 8, 576, RAW_OFF)), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) });
    const op = fc.record({ db: blockArb, nelem: fc.integer({ min: 0, max: 4 }), type: fc.constantFrom(XN_DB, dir, 0, 3, 99), slot: fc.integer({ min: 0, max: 100 }), mods: fc.array(mod, { maxLength: 4 }) });
    const da = fc.oneof(fc.constant(root * BLOCK_SIZE), fc.integer({ min: 0, max: 520 * BLOCK_SIZE }));
    // Plausible changes: a file slot set to a fresh extent, or cleared — honest, or lying by one in the block or the length.
    const honest = fc.record({ free: fc.boolean(), slot: fc.integer({ min: 2, max: 20 }), n: fc.integer({ min: 1, max: 3 }), lieDb: fc.constantFrom(0, 0, 0, 1, -1), lieN: fc.constantFrom(0, 0, 0, 1) });
    const call = fc.oneof(
      fc.record({ kind: fc.constant('random' as const), which: fc.integer({ min: 0, max: 4 }), da, op, da2: da, op2: op }),
      fc.record({ kind: fc.constant('plausible' as const), h: honest }),
    );
    let accepted = 0;
    let lies = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(call, { maxLength: 12 }), async (calls) => {
        await run(k, 0, async (xc) => {
          xc.mount('a');
          for (const c of calls) {
            const before = new Uint8Array(BLOCK_SIZE);
            expect(xc.readb(root * BLOCK_SIZE, before)).toBe(XN.SUCCESS);
            let r: number;
            let lying = false;
            if (c.kind === 'random') {
              r = [xc.alloc, xc.free, xc.insertAttr][c.which]?.call(xc, c.da, c.op) ?? (c.which === 3 ? xc.swap(c.da, c.op, c.da2, c.op2) : xc.move(c.da, c.op, c.da2, c.op2));
            } else {
              const { free, slot, n, lieDb, lieN } = c.h;
              const dv = new DataView(before.buffer, FILE_PTR_OFF + 8 * slot, 8);
              const cur = { db: dv.getUint32(0, true), n: dv.getUint32(4, true) };
              const old = extentBlocks(cur.db, cur.n);
              if (free && old.size > 0) {
                xc.insertAttr(root * BLOCK_SIZE, { db: cur.db, nelem: cur.n, type: XN_DB, slot });
                // The lie: the slot is left pointing at a shifted extent instead of being cleared.
                const to = lieDb !== 0 || lieN !== 0 ? { db: cur.db + 1, n: cur.n } : { db: 0, n: 0 };
                r = xc.free(root * BLOCK_SIZE, { db: cur.db, nelem: cur.n, type: XN_DB, slot, mods: fileMods(slot, to.db, to.n) });
                lying = !freeIsHonest(old, extentBlocks(to.db, to.n), old);
              } else {
                const db = xc.findFree(0, n);
                expect(db).toBeGreaterThan(0); // the tree stays far below 512 blocks, so no refusal is for space
                r = xc.alloc(root * BLOCK_SIZE, { db, nelem: n, type: XN_DB, slot, mods: fileMods(slot, db + lieDb, n + lieN) });
                lying = !allocIsHonest(old, extentBlocks(db + lieDb, n + lieN), extentBlocks(db, n));
              }
              if (lying) {
                lies++;
                expect(r).not.toBe(XN.SUCCESS);
              } else {
                expect(r).toBe(XN.SUCCESS); // every honest change is accepted, too
              }
            }
            expect(Number.isSafeInteger(r) && r <= 0 && r >= -43).toBe(true);
            if (r === XN.SUCCESS && !(c.kind === 'random' && c.which === 2)) accepted++;
            const after = new Uint8Array(BLOCK_SIZE);
            expect(xc.readb(root * BLOCK_SIZE, after)).toBe(XN.SUCCESS);
            if (r !== XN.SUCCESS) expect(Buffer.compare(before, after)).toBe(0); // a refusal changes nothing
          }
          // Make it durable as far as the rules allow, so fsck sees a tree XN can write.
          for (let s = 2; s <= 20; s++) {
            const p = new Uint8Array(8);
            xc.readb(root * BLOCK_SIZE + FILE_PTR_OFF + 8 * s, p);
            const pv = new DataView(p.buffer);
            if (pv.getUint32(0, true) !== 0 && xc.bind(pv.getUint32(0, true), pv.getUint32(4, true)) === XN.SUCCESS) await xc.writebackSync(pv.getUint32(0, true), pv.getUint32(4, true));
          }
          await xc.writebackSync(root, 1);
        });
        await xn.cache.whenIdle();
        const rep = await xn.fsck();
        expect([rep.dangling, rep.doublyOwned, rep.leaked]).toEqual([0, 0, 0]);
      }),
      { seed, numRuns: 60 },
    );
    console.log(`structured m_vec property: ${accepted} changes accepted, ${lies} lies refused`);
    expect(accepted).toBeGreaterThan(10);
    expect(lies).toBeGreaterThan(10);
  });
});
