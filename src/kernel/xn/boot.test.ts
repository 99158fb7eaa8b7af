/**
 * XN's boot and shutdown on the SQLite disk (issue 6, "Boot"): after an unclean shutdown
 * `xn_init` walks every root and reports a dangling pointer and a doubly-owned block planted in
 * the file between runs (raw bytes written with SQLite, as `dd` would write a disk), and with
 * XN_INIT_REPAIR clears them so that fsck is clean; after a clean shutdown it trusts the stored
 * freemap — no block below the catalogue is read, and a bit planted in the stored freemap is
 * believed; and `xn_shutdown` writes the clean marker last, after every other write completed
 * (and, on a device with a volatile cache, was flushed).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BLOCK_SIZE, formatDiskFile, MemoryBlockDevice, SqliteBlockDevice, type BlockDevice, type IoDone, type WriteRun } from '../../disk/index.js';
import type { XnClient } from '../abi/xn-client.js';
import { XN, XN_DB, XN_INIT_REPAIR, XN_REPORT_WALKED, XN_REPORT_WAS_CLEAN } from '../abi/xn.js';
import type { Kernel } from '../kernel.js';
import { decodeSuperblock, FREEMAP_START, SUPER_DB } from './layout.js';
import { dataBlock, FILE_PTR_OFF, fileOp, subdirMods, u32le } from './testing/libfs-format.js';
import { dirTypeOf, makeFile, makeRootDir, mountRootDir, must } from './testing/libfs-user.js';
import { runXnProcess, xnStack } from './testing/stack.js';

const dir = mkdtempSync(join(tmpdir(), `xn-boot-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface DevEvent {
  op: 'read' | 'write' | 'flush';
  at: 'issue' | 'done';
  /** Pairs an issue with its completion. */
  id: number;
  block: number;
  n: number;
  /** A write's first block, as issued. */
  head: Uint8Array | null;
}

/** A block device that records the issue and the completion of every request of the one it wraps, in order. */
class RecordingDevice implements BlockDevice {
  readonly events: DevEvent[] = [];
  readonly #d: BlockDevice;
  #ids = 0;

  constructor(inner: BlockDevice) {
    this.#d = inner;
  }
  get blockSizeBytes() {
    return this.#d.blockSizeBytes;
  }
  get blockCount() {
    return this.#d.blockCount;
  }
  get writeThrough() {
    return this.#d.writeThrough;
  }
  get pool() {
    return this.#d.pool;
  }
  get kind() {
    return this.#d.kind;
  }

  /** Record an issue; the returned function records the completion. */
  #issue(op: DevEvent['op'], block: number, n: number, head: Uint8Array | null): () => void {
    const id = ++this.#ids;
    this.events.push({ op, at: 'issue', id, block, n, head });
    return () => this.events.push({ op, at: 'done', id, block, n, head: null });
  }

  readPages(block: number, pages: ArrayLike<number>, done: IoDone): void {
    const end = this.#issue('read', block, pages.length, null);
    this.#d.readPages(block, pages, (st) => {
      end();
      done(st);
    });
  }
  writePages(block: number, pages: ArrayLike<number>, done: IoDone): void {
    this.writeGroup([{ block, pages }], done);
  }
  writeGroup(runs: readonly WriteRun[], done: IoDone): void {
    const ends = runs.map((r) => this.#issue('write', r.block, r.pages.length, this.#d.pool.page(r.pages[0] as number).slice()));
    this.#d.writeGroup(runs, (st) => {
      for (const e of ends) e();
      done(st);
    });
  }
  flushCb(done: IoDone): void {
    const end = this.#issue('flush', 0, 0, null);
    this.#d.flushCb((st) => {
      end();
      done(st);
    });
  }
  async read(block: number, count: number, dst: Uint8Array): Promise<void> {
    const end = this.#issue('read', block, count, null);
    await this.#d.read(block, count, dst);
    end();
  }
  async write(block: number, count: number, src: Uint8Array): Promise<void> {
    const end = this.#issue('write', block, count, src.slice(0, BLOCK_SIZE));
    await this.#d.write(block, count, src);
    end();
  }
  async flush(): Promise<void> {
    const end = this.#issue('flush', 0, 0, null);
    await this.#d.flush();
    end();
  }
  stats() {
    return this.#d.stats();
  }
  close() {
    return this.#d.close();
  }
}

const run = <T>(k: Kernel, body: (xc: XnClient) => Promise<T> | T): Promise<T> => runXnProcess(k, 0, (xc) => body(xc), { memoryBytes: 1 << 20 });

/** One boot of a machine on the SQLite file at `path`: the body runs, then the disk is closed — without an XN shutdown unless the body made one. */
async function session<T>(path: string, body: (m: ReturnType<typeof xnStack>, dev: RecordingDevice) => Promise<T>): Promise<T> {
  const dev = new RecordingDevice(await SqliteBlockDevice.open(path, { poolPages: 1024 }));
  try {
    const m = xnStack(dev, 512, { virtualClock: true });
    const out = await body(m, dev);
    await m.cache.whenIdle();
    return out;
  } finally {
    await dev.close();
  }
}

/** Read, change and store one block of the SQLite file directly (the device is closed). */
function patchBlock(path: string, db: number, patch: (b: Uint8Array) => void): Uint8Array {
  const sq = new Database(path);
  try {
    const row = sq.prepare('SELECT data FROM blocks WHERE n = ?').get(db) as { data: Buffer } | undefined;
    const b = new Uint8Array(BLOCK_SIZE);
    if (row !== undefined) b.set(row.data);
    patch(b);
    sq.prepare('INSERT INTO blocks (n, data) VALUES (?, ?) ON CONFLICT(n) DO UPDATE SET data = excluded.data').run(db, Buffer.from(b.buffer));
    return b;
  } finally {
    sq.close();
  }
}

const readBlock = (path: string, db: number) => patchBlock(path, db, () => undefined);

/** File slot `slot` of directory bytes `b` → [db, n]. */
const slotIn = (b: Uint8Array, slot: number) => {
  const dv = new DataView(b.buffer, b.byteOffset + FILE_PTR_OFF + 8 * slot, 8);
  return [dv.getUint32(0, true), dv.getUint32(4, true)];
};

/** File slot `slot` of in-core directory `db`, through readb. */
function slotOf(xc: XnClient, db: number, slot: number): number[] | number {
  const b = new Uint8Array(8);
  const code = xc.readb(db * BLOCK_SIZE + FILE_PTR_OFF + 8 * slot, b);
  const dv = new DataView(b.buffer);
  return code === XN.SUCCESS ? [dv.getUint32(0, true), dv.getUint32(4, true)] : code;
}

/** Blocks [block, block + n) of every read the device saw. */
const reads = (dev: RecordingDevice) => dev.events.filter((e) => e.op === 'read' && e.at === 'issue').map((e) => [e.block, e.n] as const);
const readsBlock = (rs: readonly (readonly [number, number])[], db: number) => rs.some(([b, n]) => db >= b && db < b + n);

describe('XN boot on the SQLite disk: report and repair after an unclean shutdown, trust after a clean one', () => {
  it('reports a planted dangling pointer and a doubly-owned block, repairs them with XN_INIT_REPAIR, then fsck is clean; after the clean shutdown that follows, init reads no block below the catalogue and believes the stored freemap', async () => {
    const path = join(dir, 'boot.db');
    formatDiskFile(path, { blockCount: 1024 });
    // Run 1: a root directory R with a file f1 (slot 0) and a sub-directory S holding f2 (slot 0). No shutdown.
    const made = await session(path, ({ kernel }) =>
      run(kernel, async (xc) => {
        must((await xc.init()).code, 'init');
        const type = await dirTypeOf(xc);
        const R = await makeRootDir(xc, 'r', type);
        const f1 = await makeFile(xc, R, 0, 1);
        const S = xc.findFree(0, 1);
        must(xc.alloc(R * BLOCK_SIZE, { db: S, nelem: 1, type, slot: 64, mods: subdirMods(0, S) }), 'alloc S');
        must(xc.bind(S), 'bind S');
        must(await xc.writebackSync(S, 1), 'write S');
        must(await xc.writebackSync(R, 1), 'write R');
        const f2 = await makeFile(xc, S, 0, 2);
        return { type, R, S, f1, f2 };
      }),
    );
    const { type, R, S, f1, f2 } = made;

    // Between runs: R's slot 5 points into XN's own blocks (the superblock); S's slot 3 at f1, which R's slot 0 owns.
    patchBlock(path, R, (b) => b.set(u32le(SUPER_DB, 1), FILE_PTR_OFF + 8 * 5));
    patchBlock(path, S, (b) => b.set(u32le(f1, 1), FILE_PTR_OFF + 8 * 3));

    // Run 2: init reports both (the walk reads R and S); nothing is changed on disk without repair.
    const seen = await session(path, async ({ kernel, xn }, dev) => {
      const init = await run(kernel, (xc) => xc.init());
      return { init, problems: xn.bootReport?.fsck?.problems, reads: reads(dev) };
    });
    expect(seen.init.code).toBe(XN.SUCCESS);
    expect(seen.init.report).toMatchObject({ flags: XN_REPORT_WALKED, roots: 2, dangling: 1, doublyOwned: 1, repaired: 0 });
    expect(seen.problems).toEqual([
      { kind: 'dangling', db: SUPER_DB, parentDb: R, parentOff: 0, slot: 5, detail: "points into XN's own blocks" },
      { kind: 'doubly-owned', db: f1, parentDb: S, parentOff: 0, slot: 3, detail: `already owned by block ${R}` },
    ]);
    expect([readsBlock(seen.reads, R), readsBlock(seen.reads, S)]).toEqual([true, true]);
    expect([slotIn(readBlock(path, R), 5), slotIn(readBlock(path, S), 3)]).toEqual([[SUPER_DB, 1], [f1, 1]]);

    // Run 3: repair clears the second owner's slot and the dangling one; the first owner keeps f1; then a clean shutdown.
    const fixed = await session(path, ({ kernel }) =>
      run(kernel, async (xc) => {
        const init = await xc.init(XN_INIT_REPAIR);
        const fsck = await xc.fsck();
        await mountRootDir(xc, 'r');
        must(xc.insertAttr(R * BLOCK_SIZE, { db: S, nelem: 1, type, slot: 64 }), 'insert S');
        must(xc.insertAttr(R * BLOCK_SIZE, fileOp(0, f1, 1, true)), 'insert f1');
        must(await xc.readinSync(S, 1), 'read S');
        must(await xc.readinSync(f1, 1), 'read f1');
        const slots = [slotOf(xc, R, 0), slotOf(xc, R, 5), slotOf(xc, S, 0), slotOf(xc, S, 3)];
        const data = new Uint8Array(BLOCK_SIZE);
        const same = [xc.readb(f1 * BLOCK_SIZE, data), Buffer.compare(data, dataBlock(16))];
        return { init, fsck, slots, same, shutdown: await xc.shutdown() };
      }),
    );
    expect(fixed.init.code).toBe(XN.SUCCESS);
    expect(fixed.init.report).toMatchObject({ flags: XN_REPORT_WALKED, dangling: 0, doublyOwned: 0, repaired: 2 });
    expect(fixed.fsck.report).toMatchObject({ dangling: 0, doublyOwned: 0, leaked: 0 });
    expect(fixed.slots).toEqual([[f1, 1], [0, 0], [f2, 1], [0, 0]]);
    expect(fixed.same).toEqual([XN.SUCCESS, 0]);
    expect(fixed.shutdown).toBe(XN.SUCCESS);
    expect([slotIn(readBlock(path, R), 5), slotIn(readBlock(path, S), 3)]).toEqual([[0, 0], [0, 0]]);

    // Between runs: mark a free block allocated in the stored freemap. Only a trusted freemap believes it.
    const planted = 1000;
    patchBlock(path, FREEMAP_START, (b) => {
      b[planted >> 3] = (b[planted >> 3] as number) | (1 << (planted & 7));
    });

    // Run 4: clean boot — no walk: the only blocks read are XN's own and the stored template.
    const trusted = await session(path, async ({ kernel, xn }, dev) => {
      const r = await run(kernel, async (xc) => {
        const init = await xc.init();
        const info = xc.info();
        const catalogue = xc.readCatalogue();
        return { init, info, catalogue, free: xc.findFree(planted, 1) };
      });
      const bootReads = reads(dev);
      const fsck = await xn.fsck();
      return { ...r, walked: xn.bootReport?.fsck ?? null, bootReads, fsck };
    });
    expect(trusted.init.code).toBe(XN.SUCCESS);
    expect(trusted.init.report?.flags).toBe(XN_REPORT_WAS_CLEAN);
    expect(trusted.walked).toBeNull();
    if (typeof trusted.info === 'number' || typeof trusted.catalogue === 'number') throw new Error('info/catalogue refused');
    const firstData = trusted.info.catalogueDb + trusted.info.catalogueBlocks;
    const template = trusted.catalogue.find((e) => e.name === 'libfs-dir')?.db ?? -1;
    expect(trusted.bootReads.filter(([b, n]) => b + n > firstData && !(b === template && n === 1))).toEqual([]);
    expect([R, S, f1, f2].map((db) => readsBlock(trusted.bootReads, db))).toEqual([false, false, false, false]);
    expect(trusted.free).not.toBe(planted);
    expect(trusted.fsck).toMatchObject({ dangling: 0, doublyOwned: 0, leaked: 1 });
    expect(trusted.fsck.problems).toEqual([{ kind: 'leaked', db: planted, parentDb: -1, parentOff: 0, slot: 0, detail: 'allocated but unreachable' }]);
  });
});

describe('XN shutdown writes the clean marker last', () => {
  /**
   * The events of a shutdown (from `from`): the marker — one superblock write saying clean — is
   * issued after every other write completed (and, without write-through, after a flush issued
   * after them completed), and nothing is written after it.
   */
  function expectMarkerLast(events: DevEvent[], writeThrough: boolean): { others: number[] } {
    const issues = events.filter((e) => e.op === 'write' && e.at === 'issue');
    const supers = issues.filter((e) => e.block === SUPER_DB);
    expect(supers.length).toBe(1);
    const marker = supers[0] as DevEvent;
    const sb = decodeSuperblock(marker.head as Uint8Array);
    expect(typeof sb === 'object' && sb.clean).toBe(true);
    const at = events.indexOf(marker);
    const others = issues.filter((e) => e !== marker);
    const lastDone = Math.max(...others.map((o) => events.findIndex((e) => e.at === 'done' && e.id === o.id)));
    expect(lastDone).toBeGreaterThan(-1);
    expect(lastDone).toBeLessThan(at);
    if (!writeThrough) {
      const flushes = events.filter((e, i) => e.op === 'flush' && e.at === 'issue' && i > lastDone);
      expect(flushes.some((f) => events.findIndex((e) => e.at === 'done' && e.id === f.id) < at)).toBe(true);
    }
    expect(events.slice(at + 1).some((e) => e.op === 'write' && e.at === 'issue')).toBe(false);
    return { others: others.map((o) => o.block) };
  }

  /** Boot, leave a root whose catalogue entry is not yet written (so shutdown must write the catalogue), shut down. */
  async function shutdownEvents(dev: RecordingDevice): Promise<{ events: DevEvent[]; code: number; catalogueDb: number }> {
    const { kernel } = xnStack(dev, 256, { virtualClock: true });
    let from = 0;
    let catalogueDb = 0;
    const code = await run(kernel, async (xc) => {
      must((await xc.init()).code, 'init');
      const R = await makeRootDir(xc, 'r', await dirTypeOf(xc));
      await makeFile(xc, R, 0, 1);
      const N = xc.installMount('late', 1, XN_DB, 0o600);
      must(xc.bind(N), 'bind');
      must(await xc.writebackSync(N, 1), 'write');
      catalogueDb = xc.root();
      from = dev.events.length;
      return xc.shutdown();
    });
    return { events: dev.events.slice(from), code, catalogueDb };
  }

  it('on the SQLite disk (write-through): after the catalogue and the freemap are on disk', async () => {
    const path = join(dir, 'order.db');
    formatDiskFile(path, { blockCount: 512 });
    const dev = new RecordingDevice(await SqliteBlockDevice.open(path, { poolPages: 512 }));
    try {
      const { events, code, catalogueDb } = await shutdownEvents(dev);
      expect(code).toBe(XN.SUCCESS);
      expect(expectMarkerLast(events, true).others).toEqual([catalogueDb, FREEMAP_START]);
    } finally {
      await dev.close();
    }
  });

  it('on a device with a volatile write cache: after they were flushed', async () => {
    const dev = new RecordingDevice(new MemoryBlockDevice({ blockCount: 512, writeCache: true }));
    const { events, code, catalogueDb } = await shutdownEvents(dev);
    expect(code).toBe(XN.SUCCESS);
    expect(expectMarkerLast(events, false).others).toEqual([catalogueDb, FREEMAP_START]);
    expect(events.filter((e) => e.op === 'flush' && e.at === 'issue').length).toBe(3);
  });
});
