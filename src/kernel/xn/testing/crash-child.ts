/**
 * Child process of the kill -9 test: runs the seeded workload on an SQLite disk and reports each
 * operation's start and acknowledgement to the parent over IPC. The disk controller can kill
 * this process itself around its K-th commit (`--crash-at-commit K`); otherwise the parent kills
 * it.
 *
 *   node --import tsx crash-child.ts DISK SEED OPS [CRASH_AT_COMMIT]
 */
import { SqliteBlockDevice } from '../../../disk/index.js';
import { BufferCache } from '../../bcache/index.js';
import { XN } from '../../abi/xn.js';
import { Xn } from '../xn.js';
import { runWorkload } from './workload.js';

const [path, seedArg, opsArg, crashArg] = process.argv.slice(2);
const send = (m: unknown): Promise<void> => new Promise((resolve) => process.send?.(m, () => resolve()) ?? resolve());

const dev = await SqliteBlockDevice.open(path as string, {
  poolPages: 1024,
  quickCheck: false,
  ...(crashArg === undefined ? {} : { crashAtCommit: Number(crashArg) }),
});
const xn = new Xn(new BufferCache(dev, 512));
const r = await xn.init();
if (r.code !== XN.SUCCESS) {
  await send({ fatal: `init ${r.code} ${r.reason}` });
  process.exit(1);
}
const pending: Promise<void>[] = [];
try {
  await runWorkload(xn, xn.context(1, 0), Number(seedArg), Number(opsArg), (rep) => {
    pending.push(send(rep));
  });
  await Promise.all(pending);
  await send({ done: true });
} catch (e) {
  await send({ fatal: String(e) });
}
await dev.close();
process.exit(0);
