/**
 * The disk controller: a worker thread that owns the SQLite connection and serves the
 * submission queue (see controller-protocol.ts). Each time it wakes it takes every queued entry
 * as one batch, runs the batch in one SQLite transaction (reads and writes in submission order),
 * commits, and posts the completions. A commit with `synchronous=FULL` in WAL mode fsyncs the
 * WAL, so a write completes only once it is durable. Batching is where asynchronous callers win:
 * N queued 4 KiB writes cost one fsync, not N.
 *
 * With the latency model on, the batch's requests are served in C-LOOK order on the modeled disk
 * and each completion is posted at its modeled instant (never before the commit).
 *
 * If a batch fails inside SQLite, it is rolled back and its requests are retried one group per
 * transaction, so one failing request fails alone (status IO_EIO).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { DaemonError } from '../errors.js';
import { BLOCK_SIZE, IO_EIO, IO_OK } from './constants.js';
import {
  C_CLOSE,
  C_CQ_TAIL,
  C_SQ_HEAD,
  C_SQ_TAIL,
  C_WAKE,
  CQ_OFF,
  CQE_WORDS,
  ENT_OFF,
  F_GROUP_CONT,
  OP_FLUSH,
  OP_MASK,
  OP_READ,
  OP_WRITE,
  SQ_DEPTH,
  SQ_OFF,
  SQE_WORDS,
  STAT_NAMES,
  type ControllerInit,
  type ControllerMessage,
} from './controller-protocol.js';
import { clookOrder, DiskLatencyModel } from './latency-model.js';
import { ZERO_BLOCK } from './page-pool.js';
import { openDiskFile } from './sqlite-format.js';

const init = workerData as ControllerInit;
const port = parentPort;
if (port === null) throw new Error('sqlite-worker must run as a worker thread');
const post = (m: ControllerMessage): void => port.postMessage(m);

const ring = new Int32Array(init.ring);
const stats = new Float64Array(init.stats);
const statIndex = (name: (typeof STAT_NAMES)[number]): number => STAT_NAMES.indexOf(name);
const S_BATCHES = statIndex('batches');
const S_TX = statIndex('transactions');
const S_MAXB = statIndex('maxBatch');
const S_RREAD = statIndex('rowsRead');
const S_RWRITE = statIndex('rowsWritten');
const S_RDEL = statIndex('rowsDeleted');
const S_ERR = statIndex('sqliteErrors');
const S_MODEL = statIndex('modeledUs');
const S_BUSY = statIndex('busyUs');

// One Buffer and one Int32Array view per pool page, made once: the hot path allocates no views.
const pageCount = init.pool.byteLength / BLOCK_SIZE;
const pageBuf: Buffer[] = [];
const pageWords: Int32Array[] = [];
for (let i = 0; i < pageCount; i++) {
  pageBuf.push(Buffer.from(init.pool, i * BLOCK_SIZE, BLOCK_SIZE));
  pageWords.push(new Int32Array(init.pool, i * BLOCK_SIZE, BLOCK_SIZE / 4));
}
const sleeper = new Int32Array(new SharedArrayBuffer(4));

let db: Database.Database;
let blockCount = 1;
try {
  const opened = openDiskFile(init.path, { quickCheck: init.quickCheck });
  db = opened.db;
  blockCount = opened.geometry.blockCount;
  post({ type: 'ready', blockCount: opened.geometry.blockCount, formatVersion: opened.geometry.formatVersion });
} catch (e) {
  const err = e instanceof DaemonError ? e : new DaemonError('DISK_ERR_IO', String(e));
  post({ type: 'error', code: err.code, message: err.message });
  process.exit(0);
}

const selRun = db.prepare('SELECT n, data FROM blocks WHERE n >= ? AND n < ? ORDER BY n').raw();
const upsert = db.prepare('INSERT INTO blocks (n, data) VALUES (?, ?) ON CONFLICT(n) DO UPDATE SET data = excluded.data');
const del = db.prepare('DELETE FROM blocks WHERE n = ?');
const begin = db.prepare('BEGIN IMMEDIATE');
const beginRead = db.prepare('BEGIN');
const commit = db.prepare('COMMIT');
const rollback = db.prepare('ROLLBACK');
let commits = 0;
const model = init.latency === null ? null : new DiskLatencyModel(init.latency, blockCount);
let modelClockUs = 0; // modeled instant the disk becomes idle (performance.now() µs)

function isZero(words: Int32Array): boolean {
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/** Slot numbers of the batch being served, by batch index (copied at batch start). */
const batchSlot = new Int32Array(SQ_DEPTH);

/** Word offset of the entry at ring position `pos` of the current batch (`pos` relative to head). */
function entryBase(i: number): number {
  return ENT_OFF + (batchSlot[i] as number) * SQE_WORDS;
}

function doRead(base: number): void {
  const block = ring[base + 2] as number;
  const count = ring[base + 3] as number;
  let next = 0; // index of the next page to fill
  for (const row of selRun.iterate(block, block + count) as IterableIterator<[number, Buffer]>) {
    const k = row[0] - block;
    for (; next < k; next++) pageBuf[ring[base + 4 + next] as number]?.set(ZERO_BLOCK);
    pageBuf[ring[base + 4 + k] as number]?.set(row[1]);
    next = k + 1;
    stats[S_RREAD]! += 1;
  }
  for (; next < count; next++) pageBuf[ring[base + 4 + next] as number]?.set(ZERO_BLOCK);
}

function doWrite(base: number): void {
  const block = ring[base + 2] as number;
  const count = ring[base + 3] as number;
  for (let i = 0; i < count; i++) {
    const p = ring[base + 4 + i] as number;
    if (isZero(pageWords[p] as Int32Array)) {
      del.run(block + i);
      stats[S_RDEL]! += 1;
    } else {
      upsert.run(block + i, pageBuf[p]);
      stats[S_RWRITE]! += 1;
    }
  }
}

function runEntries(from: number, to: number): void {
  for (let s = from; s < to; s++) {
    const base = entryBase(s);
    const op = (ring[base + 1] as number) & OP_MASK;
    if (op === OP_READ) doRead(base);
    else if (op === OP_WRITE) doWrite(base);
  }
}

function maybeCrash(when: 'before' | 'after'): void {
  if (init.crashAtCommit !== null && commits === init.crashAtCommit && init.crashWhen === when) {
    process.kill(process.pid, 'SIGKILL');
  }
}

/** Run entries [from, to) in one transaction; true on success. */
function transaction(from: number, to: number, writes: boolean): boolean {
  try {
    (writes ? begin : beginRead).run();
    runEntries(from, to);
    if (writes) {
      commits++;
      maybeCrash('before');
    }
    commit.run();
    if (writes) maybeCrash('after');
    stats[S_TX]! += 1;
    return true;
  } catch {
    stats[S_ERR]! += 1;
    if (db.inTransaction) rollback.run();
    return false;
  }
}

const status = new Int32Array(SQ_DEPTH);

function hasWrite(from: number, to: number): boolean {
  for (let s = from; s < to; s++) if (((ring[entryBase(s) + 1] as number) & OP_MASK) === OP_WRITE) return true;
  return false;
}

const batchOp = new Int32Array(SQ_DEPTH);
const batchBlock: number[] = [];
const batchCount = new Int32Array(SQ_DEPTH);

/** Serve batch indexes [0, n) (their slots are in batchSlot). */
function serveBatch(n: number): void {
  const t0 = performance.now();
  stats[S_BATCHES]! += 1;
  if (n > (stats[S_MAXB] as number)) stats[S_MAXB] = n;
  if (transaction(0, n, hasWrite(0, n))) {
    for (let i = 0; i < n; i++) status[i] = IO_OK;
  } else {
    // Retry one atomic group per transaction so a failing request fails alone.
    let s = 0;
    while (s < n) {
      let e = s;
      while (((ring[entryBase(e) + 1] as number) & F_GROUP_CONT) !== 0 && e + 1 < n) e++;
      e++;
      const ok = transaction(s, e, hasWrite(s, e));
      for (let k = s; k < e; k++) status[k] = ok ? IO_OK : IO_EIO;
      s = e;
    }
  }
  stats[S_BUSY]! += (performance.now() - t0) * 1000;
  if (model === null) {
    for (let i = 0; i < n; i++) complete(batchSlot[i] as number, status[i] as number);
    wake();
    return;
  }
  // Modeled service: C-LOOK over the batch; flushes cost nothing on the model.
  batchBlock.length = n;
  for (let i = 0; i < n; i++) {
    const base = entryBase(i);
    batchOp[i] = (ring[base + 1] as number) & OP_MASK;
    batchBlock[i] = ring[base + 2] as number;
    batchCount[i] = ring[base + 3] as number;
  }
  const order = clookOrder(batchBlock, model.head);
  let clock = Math.max(modelClockUs, t0 * 1000);
  for (const i of order) {
    if (batchOp[i] !== OP_FLUSH) {
      const us = model.service(batchBlock[i] as number, batchCount[i] as number, clock);
      clock += us;
      stats[S_MODEL]! += us;
    }
    const waitMs = clock / 1000 - performance.now();
    if (waitMs > 0) Atomics.wait(sleeper, 0, 0, waitMs);
    complete(batchSlot[i] as number, status[i] as number);
    wake();
  }
  modelClockUs = clock;
}

/** Tell main completions are waiting, if it asked (one message per batch at most). */
function wake(): void {
  if (Atomics.exchange(ring, C_WAKE, 0) === 1) post({ type: 'cq' });
}

let cqTail = 0;
function complete(slot: number, st: number): void {
  const c = CQ_OFF + (cqTail & (SQ_DEPTH - 1)) * CQE_WORDS;
  ring[c] = slot;
  ring[c + 1] = st;
  cqTail = (cqTail + 1) | 0;
  Atomics.store(ring, C_CQ_TAIL, cqTail);
}

/** How long an idle controller sleeps before it looks at C_CLOSE again (ms). */
const CLOSE_POLL_MS = 50;

let head = 0;
for (;;) {
  const tail = Atomics.load(ring, C_SQ_TAIL);
  if (tail === head) {
    if (Atomics.load(ring, C_CLOSE) === 1) break;
    // Bounded: a close raised between the check above and this wait notifies before we sleep
    // (the tail is unchanged, so the wait would not return); the timeout re-checks it.
    Atomics.wait(ring, C_SQ_TAIL, tail, CLOSE_POLL_MS);
    continue;
  }
  // Take every queued entry (main publishes the tail only after whole groups).
  const n = (tail - head) | 0;
  for (let i = 0; i < n; i++) batchSlot[i] = ring[SQ_OFF + (((head + i) | 0) & (SQ_DEPTH - 1))] as number;
  head = tail;
  Atomics.store(ring, C_SQ_HEAD, head);
  serveBatch(n);
}
db.close();
post({ type: 'closed' });
