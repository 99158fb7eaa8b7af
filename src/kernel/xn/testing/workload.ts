/**
 * A seeded burst of XN operations over the library file system, with an oracle, shared by the
 * power-loss test (in-process crash simulator) and the kill -9 test (child process on the SQLite
 * device). Operations run one after another; each is acknowledged when its last writeback
 * completes. After a crash and restart, every file must be in its last acknowledged state, or —
 * for the one operation in flight — in the state that operation produces.
 */
import { BLOCK_SIZE, xorshift32 } from '../../../disk/index.js';
import { XN, XN_DB, XN_ZERO_FILL } from '../../abi/xn.js';
import type { Xn, XnContext, XnOp } from '../xn.js';
import { dataBlock, dirType, fileMods, FILE_PTR_OFF, makeRootDir, readinWait, subdirMods, tagOf, writebackWait } from './libfs.js';

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

function rng(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 4294967296;
}

const SLOTS = 12;

/** Build the tree (root dir + one sub-directory), then run `count` seeded operations. */
export async function runWorkload(xn: Xn, ctx: XnContext, seed: number, count: number, report: (r: OpReport) => void): Promise<void> {
  const dir = await dirType(xn, ctx);
  const root = await makeRootDir(xn, ctx, 'crash-root', dir);
  const sub: XnOp = { db: xn.findFree(0, 1), nelem: 1, type: dir, slot: 64, mods: [] };
  sub.mods = subdirMods(0, sub.db);
  if (xn.alloc(ctx, root * BLOCK_SIZE, sub) !== XN.SUCCESS) throw new Error(ctx.lastError);
  xn.bind(ctx, sub.db, XN_ZERO_FILL);
  await must(writebackWait(xn, ctx, [{ db: sub.db, n: 1 }]));
  await must(writebackWait(xn, ctx, [{ db: root, n: 1 }]));
  report({ op: 0, phase: 'ack', key: 'setup', next: null });
  const rand = rng(seed);
  const files = new Map<string, { db: number; n: number; tag: number; dir: number; slot: number }>();
  let tag = 1;
  for (let op = 1; op <= count; op++) {
    const slot = Math.floor(rand() * SLOTS);
    const inRoot = rand() < 0.7;
    const key = `${inRoot ? 'r' : 'd'}:${slot}`;
    const parent = inRoot ? root : sub.db;
    const f = files.get(key);
    const choice = rand();
    if (f === undefined) {
      const n = 1 + Math.floor(rand() * 3);
      const db = xn.findFree(1 + Math.floor(rand() * (xn.device.blockCount - 8)), n);
      const t = tag++;
      report({ op, phase: 'start', key, next: { tag: t, n } });
      const o: XnOp = { db, nelem: n, type: XN_DB, slot, mods: fileMods(slot, db, n) };
      if (xn.alloc(ctx, parent * BLOCK_SIZE, o) !== XN.SUCCESS) throw new Error(`alloc: ${ctx.lastError}`);
      for (let k = 0; k < n; k++) {
        xn.bind(ctx, db + k, XN_ZERO_FILL);
        xn.writeb(ctx, (db + k) * BLOCK_SIZE, dataBlock(t * 16 + k));
      }
      await must(writebackWait(xn, ctx, [{ db, n }]));
      await must(writebackWait(xn, ctx, [{ db: parent, n: 1 }]));
      files.set(key, { db, n, tag: t, dir: parent, slot });
      report({ op, phase: 'ack', key, next: { tag: t, n } });
    } else if (choice < 0.4) {
      const t = tag++;
      report({ op, phase: 'start', key, next: { tag: t, n: f.n } });
      for (let k = 0; k < f.n; k++) xn.writeb(ctx, (f.db + k) * BLOCK_SIZE, dataBlock(t * 16 + k));
      await must(writebackWait(xn, ctx, [{ db: f.db, n: f.n }]));
      f.tag = t;
      report({ op, phase: 'ack', key, next: { tag: t, n: f.n } });
    } else if (choice < 0.75 || !inRoot) {
      report({ op, phase: 'start', key, next: null });
      const o: XnOp = { db: f.db, nelem: f.n, type: XN_DB, slot, mods: fileMods(slot, 0, 0) };
      if (xn.free(ctx, parent * BLOCK_SIZE, o) !== XN.SUCCESS) throw new Error(`free: ${ctx.lastError}`);
      await must(writebackWait(xn, ctx, [{ db: parent, n: 1 }]));
      files.delete(key);
      report({ op, phase: 'ack', key, next: null });
    } else {
      const dkey = `d:${slot}`;
      if (files.has(dkey)) continue;
      report({ op, phase: 'start', key, next: null, key2: dkey, next2: { tag: f.tag, n: f.n } });
      const dst: XnOp = { db: f.db, nelem: f.n, type: XN_DB, slot, mods: fileMods(slot, f.db, f.n) };
      const src: XnOp = { db: f.db, nelem: f.n, type: XN_DB, slot, mods: fileMods(slot, 0, 0) };
      if (xn.move(ctx, sub.db * BLOCK_SIZE, dst, root * BLOCK_SIZE, src) !== XN.SUCCESS) throw new Error(`move: ${ctx.lastError}`);
      await must(writebackWait(xn, ctx, [{ db: root, n: 1 }, { db: sub.db, n: 1 }]));
      files.delete(key);
      files.set(dkey, { ...f, dir: sub.db });
      report({ op, phase: 'ack', key, next: null, key2: dkey, next2: { tag: f.tag, n: f.n } });
    }
  }
}

async function must(p: Promise<number>): Promise<void> {
  const st = await p;
  if (st !== XN.SUCCESS) throw new Error(`I/O failed: ${st}`);
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
 * Read the recovered tree (as root) and compare it with the oracle. Returns the mismatches
 * (empty = every acknowledged write is intact and nothing else appeared).
 */
export async function checkRecovered(xn: Xn, ctx: XnContext, o: Oracle): Promise<string[]> {
  const bad: string[] = [];
  const out: { db: number }[] = [];
  if (xn.mount(ctx, 'crash-root', out as never) !== XN.SUCCESS) return o.acked.size === 0 ? [] : ['root missing'];
  const root = (out[0] as { db: number }).db;
  await readinWait(xn, ctx, root, 1);
  const ptrs = new Uint8Array(512 + 128);
  xn.readb(ctx, ptrs, root * BLOCK_SIZE + FILE_PTR_OFF);
  const subDb = new DataView(ptrs.buffer).getUint32(512, true);
  const dirs: [string, number][] = [['r', root]];
  if (subDb !== 0) {
    xn.insertAttr(ctx, root * BLOCK_SIZE, { db: subDb, nelem: 1, type: xn.typeMount(ctx, 'libfs-dir'), slot: 64, mods: [] });
    await readinWait(xn, ctx, subDb, 1);
    dirs.push(['d', subDb]);
  }
  const seen = new Map<string, FileState>();
  for (const [prefix, d] of dirs) {
    const p = new Uint8Array(8 * SLOTS);
    xn.readb(ctx, p, d * BLOCK_SIZE + FILE_PTR_OFF);
    const dv = new DataView(p.buffer);
    for (let s = 0; s < SLOTS; s++) {
      const db = dv.getUint32(8 * s, true);
      const n = dv.getUint32(8 * s + 4, true);
      if (db === 0) continue;
      if (xn.insertAttr(ctx, d * BLOCK_SIZE, { db, nelem: n, type: XN_DB, slot: s, mods: [] }) !== XN.SUCCESS) {
        bad.push(`${prefix}:${s} insert_attr: ${ctx.lastError}`);
        continue;
      }
      if ((await readinWait(xn, ctx, db, n)) !== XN.SUCCESS) {
        bad.push(`${prefix}:${s} readin failed`);
        continue;
      }
      const blk = new Uint8Array(BLOCK_SIZE);
      xn.readb(ctx, blk, db * BLOCK_SIZE);
      const tag = Math.floor(tagOf(blk) / 16);
      let ok = tag > 0;
      for (let k = 0; k < n && ok; k++) {
        xn.readb(ctx, blk, (db + k) * BLOCK_SIZE);
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
