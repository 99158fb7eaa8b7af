/**
 * `exolinuxd disk format|info|check FILE` — make, describe and verify disk files without
 * starting the daemon. (A CLI, so it uses SQLite synchronously; the daemon never does.)
 *
 *   exolinuxd disk format FILE [--blocks N | --size 64M] [--force]
 *   exolinuxd disk info FILE
 *   exolinuxd disk check FILE
 *
 * Exit status: 0 success, 1 the file is refused or damaged, 2 usage error.
 */
import { DaemonError } from '../errors.js';
import { BLOCK_SIZE } from './constants.js';
import { checkDiskFile, formatDiskFile, openDiskFile } from './sqlite-format.js';

const USAGE = `usage: exolinuxd disk format FILE [--blocks N | --size BYTES[K|M|G]] [--force]
       exolinuxd disk info FILE
       exolinuxd disk check FILE`;

/** Default size of a new disk: 64 MiB (16384 blocks). */
const DEFAULT_BLOCKS = 16384;

function parseSize(s: string): number | undefined {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (m === null) return undefined;
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').toUpperCase()] ?? 1;
  const bytes = Number(m[1]) * mult;
  return bytes % BLOCK_SIZE === 0 ? bytes / BLOCK_SIZE : undefined;
}

/** Output sinks, replaceable in tests. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const stdio: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

/** Run `exolinuxd disk …` with the arguments after `disk`; resolves to the exit status. */
export async function runDiskCli(args: string[], io: CliIo = stdio): Promise<number> {
  const [cmd, file, ...rest] = args;
  if (cmd === undefined || file === undefined || !['format', 'info', 'check'].includes(cmd)) {
    io.err(USAGE);
    return 2;
  }
  try {
    if (cmd === 'format') {
      let blocks = DEFAULT_BLOCKS;
      let force = false;
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        const v = rest[i + 1];
        if (a === '--force') force = true;
        else if (a === '--blocks' && v !== undefined && /^\d+$/.test(v)) {
          blocks = Number(v);
          i++;
        } else if (a === '--size' && v !== undefined && parseSize(v) !== undefined) {
          blocks = parseSize(v) as number;
          i++;
        } else {
          io.err(`bad argument ${a ?? ''}${v === undefined ? '' : ` ${v}`}\n${USAGE}`);
          return 2;
        }
      }
      const g = formatDiskFile(file, { blockCount: blocks, force });
      io.out(`formatted ${file}: ${g.blockCount} blocks of ${g.blockSizeBytes} bytes (${(g.blockCount * g.blockSizeBytes) / 2 ** 20} MiB), format ${g.formatVersion}`);
      return 0;
    }
    if (cmd === 'info') {
      const { db, geometry: g } = openDiskFile(file, { readonly: true });
      try {
        const stored = db.prepare('SELECT count(*) FROM blocks').pluck().get() as number;
        io.out(
          JSON.stringify(
            { file, formatVersion: g.formatVersion, blockSizeBytes: g.blockSizeBytes, blockCount: g.blockCount, sizeBytes: g.blockCount * g.blockSizeBytes, storedBlocks: stored, createdAt: g.createdAt },
            null,
            2,
          ),
        );
      } finally {
        db.close();
      }
      return 0;
    }
    const r = checkDiskFile(file);
    if (r.ok) {
      io.out(`${file}: ok (${r.geometry?.blockCount ?? 0} blocks, ${r.storedBlocks} stored)`);
      return 0;
    }
    for (const p of r.problems) io.err(`${file}: ${p}`);
    return 1;
  } catch (e) {
    if (e instanceof DaemonError) {
      io.err(`${e.code}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
