/**
 * Child process of the kill -9 test: the kernel and XN on an SQLite disk, and a root user process
 * that brings XN up with `xn_init` and runs the seeded workload through the system calls,
 * reporting each operation's start and acknowledgement to the parent over IPC. The disk
 * controller can kill this process itself around its K-th commit (`CRASH_AT_COMMIT`); otherwise
 * the parent kills it.
 *
 *   node --import tsx crash-child.ts DISK SEED OPS [CRASH_AT_COMMIT]
 */
import { SqliteBlockDevice } from '../../../disk/index.js';
import { XN } from '../../abi/xn.js';
import { runXnProcess, xnStack } from './stack.js';
import { runWorkload } from './workload.js';

const [path, seedArg, opsArg, crashArg] = process.argv.slice(2);
const send = (m: unknown): Promise<void> => new Promise((resolve) => process.send?.(m, () => resolve()) ?? resolve());

const dev = await SqliteBlockDevice.open(path as string, {
  poolPages: 1024,
  quickCheck: false,
  ...(crashArg === undefined ? {} : { crashAtCommit: Number(crashArg) }),
});
const { kernel } = xnStack(dev, 512);
const pending: Promise<void>[] = [];
try {
  await runXnProcess(kernel, 0, async (xc) => {
    const { code } = await xc.init();
    if (code !== XN.SUCCESS) throw new Error(`xn_init: ${code}`);
    await runWorkload(xc, Number(seedArg), Number(opsArg), (rep) => {
      pending.push(send(rep));
    });
  });
  await Promise.all(pending);
  await send({ done: true });
} catch (e) {
  await Promise.all(pending);
  await send({ fatal: String(e) });
}
await dev.close();
process.exit(0);
