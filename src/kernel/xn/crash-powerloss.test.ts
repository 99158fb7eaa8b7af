/**
 * Simulated power loss (reliability-methods §3.4 test B), through the system calls: a user
 * process runs the seeded workload on a device with a volatile write cache; at a chosen flush
 * each unsynced write is applied or dropped, the device dies, and a reboot on what is durable —
 * a fresh kernel and XN, checked by a user process with `xn_init`, `xn_fsck` and the library FS —
 * must find no dangling pointer, no doubly-owned or leaked block, and every acknowledged
 * operation intact. A torn-write variant checks that XN's boot never throws and repair leaves a
 * clean tree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from '../../disk/index.js';
import { XN, XN_INIT_REPAIR, XN_REPORT_FORMATTED } from '../abi/xn.js';
import { runXnProcess, xnStack } from './testing/stack.js';
import { applyReport, checkRecovered, runWorkload, type Oracle } from './testing/workload.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
const runs = process.env['XN_CRASH_SWEEP'] === 'full' ? 300 : 30;
console.log(`crash-powerloss: SEED=${seed} runs=${runs}`);

async function crashRun(wseed: number, atFlush: number, tear: boolean) {
  const dev = new MemoryBlockDevice({ blockCount: 1024, writeCache: true, crashAtFlush: atFlush, crashSeed: wseed ^ atFlush, tear });
  const { kernel } = xnStack(dev, 400);
  const oracle: Oracle = { acked: new Map(), inflight: null };
  // A crash can hit the very first boot (format); then there is nothing to check but the reboot.
  await runXnProcess(kernel, 0, async (xc) => {
    if ((await xc.init()).code === XN.SUCCESS) await runWorkload(xc, wseed, 25, (r) => applyReport(oracle, r));
  }).catch(() => undefined); // the workload fails once the device is dead
  const dev2 = new MemoryBlockDevice({ blockCount: 1024, image: dev.durableImage() });
  return { oracle, reboot: xnStack(dev2, 400), crashed: dev.dead };
}

describe('XN under simulated power loss, through the system calls', () => {
  it('keeps every acknowledged operation and never leaves a dangling, doubly-owned or leaked block (property)', async () => {
    let crashes = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 80 }), async (wseed, atFlush) => {
        const { oracle, reboot, crashed } = await crashRun(wseed, atFlush, false);
        if (crashed) crashes++;
        const r = await runXnProcess(reboot.kernel, 0, async (xc) => {
          const init = await xc.init();
          if (init.code !== XN.SUCCESS || ((init.report?.flags ?? 0) & XN_REPORT_FORMATTED) !== 0) return { init, fsck: null, bad: [] };
          return { init, fsck: (await xc.fsck()).report, bad: await checkRecovered(xc, oracle) };
        });
        expect(r.init.code).toBe(XN.SUCCESS);
        expect(r.init.report).toMatchObject({ dangling: 0, doublyOwned: 0 });
        if (r.fsck === null) return; // crashed before the format reached the disk
        expect(r.fsck).toMatchObject({ dangling: 0, doublyOwned: 0, leaked: 0 });
        expect(r.bad).toEqual([]);
      }),
      { seed, numRuns: runs },
    );
    expect(crashes).toBeGreaterThan(runs / 4); // most runs really crash mid-workload
  });

  it('boots, reports and repairs after torn writes without throwing', async () => {
    for (let s = 1; s <= 12; s++) {
      const { reboot } = await crashRun(s * 7919, 10 + s * 3, true);
      const r = await runXnProcess(reboot.kernel, 0, (xc) => xc.init(XN_INIT_REPAIR));
      expect([XN.SUCCESS, XN.BOGUS_ROOT]).toContain(r.code);
      if (r.code === XN.SUCCESS) expect(r.report).toMatchObject({ dangling: 0, doublyOwned: 0 });
    }
  });
});
