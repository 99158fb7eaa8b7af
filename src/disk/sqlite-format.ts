/**
 * The on-disk format of an ExoLinux disk file, and the synchronous open/format/check routines the
 * disk controller worker and the `exolinuxd disk` CLI share. (The daemon's event loop never runs
 * these: inside the daemon they run only in the controller thread.)
 *
 * Format version 1:
 * - `meta(key TEXT PRIMARY KEY, value NOT NULL)` with `magic` = {@link DISK_MAGIC},
 *   `format_version` = 1, `block_size` = 4096, `block_count`, `created_at` (ISO time).
 * - `blocks(n INTEGER PRIMARY KEY, data BLOB NOT NULL)`; row `n` holds block `n`, exactly 4096
 *   bytes. An absent row reads as zeros; writing an all-zero block deletes its row (sparse file).
 * - `PRAGMA journal_mode=WAL`, `PRAGMA synchronous=FULL`: a committed transaction's WAL frames
 *   are fsync'd before COMMIT returns, so a completed write survives a process kill, an OS crash
 *   and a power loss (given storage that honours fsync).
 */
import { closeSync, existsSync, openSync, readSync, statSync, unlinkSync } from 'node:fs';
import Database from 'better-sqlite3';
import { DaemonError } from '../errors.js';
import { BLOCK_SIZE } from './constants.js';

/** The `meta.magic` value that marks an ExoLinux disk. */
export const DISK_MAGIC = 'exolinux-disk';
/** The format version this build writes and reads. */
export const DISK_FORMAT_VERSION = 1;
/** Largest block count accepted (2^31 blocks = 8 TiB; block numbers stay int32). */
export const MAX_BLOCK_COUNT = 2 ** 31 - 1;

/** Geometry and identity read from `meta`. */
export interface DiskGeometry {
  blockCount: number;
  blockSizeBytes: number;
  formatVersion: number;
  createdAt: string;
}

const SQLITE_HEADER = 'SQLite format 3\0';

function setPragmas(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
}

/**
 * Create a new disk file with `blockCount` zero blocks. Refuses an existing file unless `force`
 * (then it is replaced, with its WAL and shared-memory files).
 */
export function formatDiskFile(path: string, opts: { blockCount: number; force?: boolean }): DiskGeometry {
  const { blockCount } = opts;
  if (!Number.isInteger(blockCount) || blockCount < 1 || blockCount > MAX_BLOCK_COUNT) {
    throw new DaemonError('DISK_ERR_GEOMETRY', `block count must be an integer in 1..${MAX_BLOCK_COUNT}, got ${blockCount}`);
  }
  if (existsSync(path)) {
    if (opts.force !== true) throw new DaemonError('DISK_ERR_EXISTS', `${path} exists; use --force to replace it`);
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) unlinkSync(path + suffix);
  }
  const db = new Database(path);
  try {
    setPragmas(db);
    const createdAt = new Date().toISOString();
    db.exec(
      'CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY NOT NULL) STRICT;' +
        'CREATE TABLE blocks (n INTEGER PRIMARY KEY, data BLOB NOT NULL) STRICT;',
    );
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    db.transaction(() => {
      put.run('magic', DISK_MAGIC);
      put.run('format_version', DISK_FORMAT_VERSION);
      put.run('block_size', BLOCK_SIZE);
      put.run('block_count', blockCount);
      put.run('created_at', createdAt);
    })();
    return { blockCount, blockSizeBytes: BLOCK_SIZE, formatVersion: DISK_FORMAT_VERSION, createdAt };
  } finally {
    db.close();
  }
}

/** Refuse a missing file or one that is not SQLite at all, from its first 16 bytes. */
function checkHeader(path: string): void {
  if (!existsSync(path)) throw new DaemonError('DISK_ERR_NOT_FOUND', `${path}: no such disk file`);
  if (!statSync(path).isFile()) throw new DaemonError('DISK_ERR_FOREIGN', `${path} is not a regular file`);
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(16);
    const n = readSync(fd, head, 0, 16, 0);
    if (n < 16 || head.toString('latin1') !== SQLITE_HEADER) {
      throw new DaemonError('DISK_ERR_FOREIGN', `${path} is not an ExoLinux disk (not an SQLite database)`);
    }
  } finally {
    closeSync(fd);
  }
}

function sqliteCode(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
}

/** Map an SQLite failure at open to CORRUPT (damage) or rethrow it as DISK_ERR_IO. */
function openFailure(path: string, e: unknown): DaemonError {
  if (e instanceof DaemonError) return e;
  const code = sqliteCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new DaemonError('DISK_ERR_CORRUPT', `${path} is damaged: ${msg}`, { cause: e });
  }
  return new DaemonError('DISK_ERR_IO', `${path}: ${msg}`, { cause: e });
}

/** Read and validate `meta`; throws FOREIGN / VERSION / CORRUPT. */
function readGeometry(path: string, db: Database.Database): DiskGeometry {
  const tables = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('meta', 'blocks')")
    .pluck()
    .all() as string[];
  if (!tables.includes('meta')) throw new DaemonError('DISK_ERR_FOREIGN', `${path} is an SQLite database but not an ExoLinux disk (no meta table)`);
  const rows = db.prepare('SELECT key, value FROM meta').raw().all() as [string, unknown][];
  const meta = new Map(rows);
  if (meta.get('magic') !== DISK_MAGIC) {
    throw new DaemonError('DISK_ERR_FOREIGN', `${path} is an SQLite database but not an ExoLinux disk (meta.magic is ${JSON.stringify(meta.get('magic'))})`);
  }
  const version = meta.get('format_version');
  if (version !== DISK_FORMAT_VERSION) {
    throw new DaemonError('DISK_ERR_VERSION', `${path} has format version ${String(version)}; this build reads ${DISK_FORMAT_VERSION}`);
  }
  if (meta.get('block_size') !== BLOCK_SIZE) {
    throw new DaemonError('DISK_ERR_VERSION', `${path} has block size ${String(meta.get('block_size'))}; this build uses ${BLOCK_SIZE}`);
  }
  const count = meta.get('block_count');
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_BLOCK_COUNT) {
    throw new DaemonError('DISK_ERR_CORRUPT', `${path}: meta.block_count is ${String(count)}`);
  }
  if (!tables.includes('blocks')) throw new DaemonError('DISK_ERR_CORRUPT', `${path}: the blocks table is missing`);
  const cols = db.prepare('PRAGMA table_info(blocks)').all() as { name: string; pk: number }[];
  const names = cols.map((c) => c.name).join(',');
  if (names !== 'n,data' || cols[0]?.pk !== 1) throw new DaemonError('DISK_ERR_CORRUPT', `${path}: the blocks table has columns (${names})`);
  return { blockCount: count, blockSizeBytes: BLOCK_SIZE, formatVersion: version, createdAt: String(meta.get('created_at') ?? '') };
}

/**
 * Open and validate a disk file. `quickCheck` runs SQLite's `PRAGMA quick_check` (reads every
 * page; a few ms per MiB) so damage inside the file is refused at open, not met mid-run.
 */
export function openDiskFile(
  path: string,
  opts: { readonly?: boolean; quickCheck?: boolean } = {},
): { db: Database.Database; geometry: DiskGeometry } {
  checkHeader(path);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: opts.readonly === true, fileMustExist: true });
    if (opts.readonly !== true) setPragmas(db);
    const geometry = readGeometry(path, db);
    if (opts.quickCheck === true) {
      const res = db.pragma('quick_check(8)', { simple: false }) as { quick_check: string }[];
      if (res.length !== 1 || res[0]?.quick_check !== 'ok') {
        throw new DaemonError('DISK_ERR_CORRUPT', `${path} is damaged: ${res.map((r) => r.quick_check).join('; ')}`);
      }
    }
    return { db, geometry };
  } catch (e) {
    db?.close();
    throw openFailure(path, e);
  }
}

/** The result of a full check. */
export interface DiskCheckReport {
  ok: boolean;
  geometry: DiskGeometry | null;
  /** Rows present (blocks that are not all zeros). */
  storedBlocks: number;
  problems: string[];
}

/**
 * Full check: SQLite `integrity_check`, then every row's size and number. Never throws for a bad
 * file (the problems are listed); throws only for a missing file.
 */
export function checkDiskFile(path: string): DiskCheckReport {
  const problems: string[] = [];
  let geometry: DiskGeometry | null = null;
  let storedBlocks = 0;
  let opened: ReturnType<typeof openDiskFile> | undefined;
  try {
    opened = openDiskFile(path, { readonly: true });
  } catch (e) {
    if (e instanceof DaemonError && e.code === 'DISK_ERR_NOT_FOUND') throw e;
    problems.push(e instanceof Error ? e.message : String(e));
    return { ok: false, geometry, storedBlocks, problems };
  }
  const { db } = opened;
  geometry = opened.geometry;
  try {
    const integrity = db.pragma('integrity_check(100)', { simple: false }) as { integrity_check: string }[];
    for (const r of integrity) if (r.integrity_check !== 'ok') problems.push(`sqlite: ${r.integrity_check}`);
    const bad = db
      .prepare('SELECT n, length(data) FROM blocks WHERE n < 0 OR n >= ? OR length(data) != ? OR typeof(data) != ? LIMIT 100')
      .raw()
      .all(geometry.blockCount, BLOCK_SIZE, 'blob') as [number, number][];
    for (const [n, len] of bad) problems.push(`block row ${n}: ${len} bytes${n < 0 || n >= geometry.blockCount ? ', outside the disk' : ''}`);
    storedBlocks = db.prepare('SELECT count(*) FROM blocks').pluck().get() as number;
  } catch (e) {
    problems.push(openFailure(path, e).message);
  } finally {
    db.close();
  }
  return { ok: problems.length === 0, geometry, storedBlocks, problems };
}
