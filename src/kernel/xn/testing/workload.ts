/**
 * A seeded burst of XN system calls over the library file system, run by a user process, with an
 * oracle — shared by the power-loss test (in-process crash simulator) and the kill -9 test (a
 * child OS process on the SQLite disk). Operations run one after another; each is acknowledged
 * when its last writeback completed. The three notification paths take turns: the synchronous
 * calls, a record-mode channel, and Xok's counter in the process's memory (polled with
 * sched_yield). After a crash and restart every file must be in its last acknowledged state, or —
 * for the one operation in flight — in the state that operation produces.
 *
 * User side only: `XnClient` and the ABI.
 */
import { CHAN_MODE_RECORD } from '../../abi/layout.js';
import { XN, XN_ATTR_DIRTY, XN_DB } from '../../abi/xn.js';
import type { XnClient } from '../../abi/xn-client.js';
import { xorshift32 } from '../../../disk/index.js';
import { dataBlock, fileMods, FILE_PTR_OFF, subdirMods, tagOf } from './libfs-format.js';
import { dirTypeOf, makeRootDir, must } from './libfs-user.js';

/** A file's state: its tag and length in blocks, or null when absent. */
export type FileState = { tag: number; n: number } | null;

/** What a crash may leave: acked states plus the in-flight op's target. */
export interface Oracle {
  acked: Map<string, FileState>;
  inflight: { key: string; next: FileState; key2?: string; next2?: FileState } | null;
}

/** Progress report of one operation (what the child sends its parent). */
export interface OpReport {
  op: number;
  phase: 'start' | 'ack';
  key: string;
  next: FileState;
  key2?: string;
  next2?: FileState;
}

const BLOCK = 4096;
const SLOTS = 12;

/** The writeback styles the operations rotate through. */
type Style = 'sync' | 'channel' | 'counter';

/** Build the tree (root dir + one sub-directory), then run `count` seeded operations. */
export async function runWorkload(xc: XnClient, seed: number, count: number, report: (r: OpReport) => void): Promise<void> {
  const sys = xc.sys;
  const chan = sys.channel(CHAN_MODE_RECORD, 16);
  const counter = sys.calloc(4);
  /** Write runs back in the given style and wait for the status. */
  const writeback = async (runs: { db: number; n: number }[], style: Style): Promise<void> => {
    if (style === 'sync' && runs.length === 1) return must(await xc.writebackSync((runs[0] as { db: number }).db, (runs[0] as { n: number }).n), 'writeback');
    if (style === 'counter') {
      sys.view.setInt32(counter, 1, true);
      const id = xc.writebackv(runs, -1, counter);
      if (id < 0) must(id, 'writebackv');
      while (sys.view.getInt32(counter, true) > 0) await sys.sched_yield();
      // A counter says "done", not "how": read the state back to know it worked.
      const attrs = xc.readAttr((runs[0] as { db: number }).db, 1);
      if (typeof attrs === 'number' || ((attrs[0] as { flags: number }).flags & XN_ATTR_DIRTY) !== 0) throw new Error('writeback failed');
      return;
    }
    must(await xc.awaitRequest(chan, xc.writebackv(runs, chan)), 'writebackv');
  };
  const dir = await dirTypeOf(xc);
  const root = await makeRootDir(xc, 'crash-root', dir);
  const sub = { db: xc.findFree(0, 1), nelem: 1, type: dir, slot: 64, mods: [] as ReturnType<typeof subdirMods> };
  sub.mods = subdirMods(0, sub.db);
  must(xc.alloc(root * BLOCK, sub), 'alloc sub-directory');
  must(xc.bind(sub.db), 'bind sub-directory');
  await writeback([{ db: sub.db, n: 1 }], 'sync');
  await writeback([{ db: root, n: 1 }], 'sync');
  report({ op: 0, phase: 'ack', key: 'setup', next: null });
  const next = xorshift32(seed);
  const rand = (): number => next() / 4294967296;
  const files = new Map<string, { db: number; n: number; tag: number }>();
  const blockCount = (xc.info() as { blockCount: number }).blockCount;
  let tag = 1;
  for (let op = 1; op <= count; op++) {
    const style = (['sync', 'channel', 'counter'] as const)[op % 3] as Style;
    const slot = Math.floor(rand() * SLOTS);
    const inRoot = rand() < 0.7;
    const key = `${inRoot ? 'r' : 'd'}:${slot}`;
    const parent = inRoot ? root : sub.db;
    const f = files.get(key);
    const choice = rand();
    if (f === undefined) {
      const n = 1 + Math.floor(rand() * 3);
      const db = xc.findFree(1 + Math.floor(rand() * (blockCount - 8)), n);
      const t = tag++;
      report({ op, phase: 'start', key, next: { tag: t, n } });
      must(xc.alloc(parent * BLOCK, { db, nelem: n, type: XN_DB, slot, mods: fileMods(slot, db, n) }), 'alloc');
      must(xc.bind(db, n), 'bind');
      for (let k = 0; k < n; k++) must(xc.writeb((db + k) * BLOCK, dataBlock(t * 16 + k)), 'writeb');
      await writeback([{ db, n }], style);
      await writeback([{ db: parent, n: 1 }], style);
      files.set(key, { db, n, tag: t });
      report({ op, phase: 'ack', key, next: { tag: t, n } });
    } else if (choice < 0.4) {
      const t = tag++;
      report({ op, phase: 'start', key, next: { tag: t, n: f.n } });
      for (let k = 0; k < f.n; k++) must(xc.writeb((f.db + k) * BLOCK, dataBlock(t * 16 + k)), 'rewrite');
      await writeback([{ db: f.db, n: f.n }], style);
      f.tag = t;
      report({ op, phase: 'ack', key, next: { tag: t, n: f.n } });
    } else if (choice < 0.75 || !inRoot) {
      report({ op, phase: 'start', key, next: null });
      must(xc.free(parent * BLOCK, { db: f.db, nelem: f.n, type: XN_DB, slot, mods: fileMods(slot, 0, 0) }), 'free');
      await writeback([{ db: parent, n: 1 }], style);
      files.delete(key);
      report({ op, phase: 'ack', key, next: null });
    } else {
      const dkey = `d:${slot}`;
      if (files.has(dkey)) continue;
      report({ op, phase: 'start', key, next: null, key2: dkey, next2: { tag: f.tag, n: f.n } });
      const dst = { db: f.db, nelem: f.n, type: XN_DB, slot, mods: fileMods(slot, f.db, f.n) };
      const src = { db: f.db, nelem: f.n, type: XN_DB, slot, mods: fileMods(slot, 0, 0) };
      must(xc.move(sub.db * BLOCK, dst, root * BLOCK, src), 'move');
      await writeback([{ db: root, n: 1 }, { db: sub.db, n: 1 }], style === 'sync' ? 'channel' : style);
      files.delete(key);
      files.set(dkey, f);
      report({ op, phase: 'ack', key, next: null, key2: dkey, next2: { tag: f.tag, n: f.n } });
    }
  }
}

/** Fold reports into the oracle. */
export function applyReport(o: Oracle, r: OpReport): void {
  if (r.phase === 'start') {
    o.inflight = { key: r.key, next: r.next, ...(r.key2 === undefined ? {} : { key2: r.key2, next2: r.next2 ?? null }) };
    return;
  }
  if (r.key !== 'setup') o.acked.set(r.key, r.next);
  if (r.key2 !== undefined) o.acked.set(r.key2, r.next2 ?? null);
  o.inflight = null;
}

/**
 * Read the recovered tree (as root, through the system calls) and compare it with the oracle.
 * Returns the mismatches (empty = every acknowledged write is intact and nothing else appeared).
 */
export async function checkRecovered(xc: XnClient, o: Oracle): Promise<string[]> {
  const bad: string[] = [];
  const r = xc.mount('crash-root');
  if (typeof r === 'number') return o.acked.size === 0 && o.inflight === null ? [] : [`root missing (${r})`];
  const root = r.db;
  if ((await xc.readinSync(root, 1)) !== XN.SUCCESS) return ['root unreadable'];
  const ptrs = new Uint8Array(512 + 128);
  xc.readb(root * BLOCK + FILE_PTR_OFF, ptrs);
  const subDb = new DataView(ptrs.buffer).getUint32(512, true);
  const dirs: [string, number][] = [['r', root]];
  if (subDb !== 0) {
    must(xc.insertAttr(root * BLOCK, { db: subDb, nelem: 1, type: xc.typeMount('libfs-dir'), slot: 64 }), 'insert sub-directory');
    must(await xc.readinSync(subDb, 1), 'read sub-directory');
    dirs.push(['d', subDb]);
  }
  const seen = new Map<string, FileState>();
  const blk = new Uint8Array(BLOCK);
  for (const [prefix, d] of dirs) {
    const p = new Uint8Array(8 * SLOTS);
    xc.readb(d * BLOCK + FILE_PTR_OFF, p);
    const dv = new DataView(p.buffer);
    for (let s = 0; s < SLOTS; s++) {
      const db = dv.getUint32(8 * s, true);
      const n = dv.getUint32(8 * s + 4, true);
      if (db === 0) continue;
      const code = xc.insertAttr(d * BLOCK, { db, nelem: n, type: XN_DB, slot: s });
      if (code !== XN.SUCCESS) {
        bad.push(`${prefix}:${s} insert_attr: ${code}`);
        continue;
      }
      if ((await xc.readinSync(db, n)) !== XN.SUCCESS) {
        bad.push(`${prefix}:${s} readin failed`);
        continue;
      }
      xc.readb(db * BLOCK, blk);
      const tag = Math.floor(tagOf(blk) / 16);
      let ok = tag > 0;
      for (let k = 0; k < n && ok; k++) {
        xc.readb((db + k) * BLOCK, blk);
        ok = Buffer.compare(blk, dataBlock(tag * 16 + k)) === 0;
      }
      seen.set(`${prefix}:${s}`, ok ? { tag, n } : { tag: -1, n });
    }
  }
  const keys = new Set([...o.acked.keys(), ...seen.keys()]);
  if (o.inflight !== null) keys.add(o.inflight.key);
  for (const k of keys) {
    const got = seen.get(k) ?? null;
    const allowed: FileState[] = [o.acked.get(k) ?? null];
    if (o.inflight?.key === k) allowed.push(o.inflight.next);
    if (o.inflight?.key2 === k) allowed.push(o.inflight.next2 ?? null);
    if (!allowed.some((a) => (a === null ? got === null : got !== null && got.tag === a.tag && got.n === a.n))) {
      bad.push(`${k}: found ${JSON.stringify(got)}, allowed ${JSON.stringify(allowed)}`);
    }
  }
  return bad;
}
