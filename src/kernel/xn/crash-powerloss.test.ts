/**
 * Simulated power loss (reliability-methods §3.4 test B): the workload runs on a device with a
 * volatile write cache; at a chosen flush each unsynced write is applied or dropped, the device
 * dies, and a reboot on what is durable must find no dangling pointer, no doubly-owned block,
 * and every acknowledged operation intact. A torn-write variant checks that XN's boot never
 * throws and repair leaves a clean tree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from '../../disk/index.js';
import { BufferCache } from '../bcache/index.js';
import { XN } from '../abi/xn.js';
import { applyReport, checkRecovered, runWorkload, type Oracle } from './testing/workload.js';
import { Xn } from './xn.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
const runs = process.env['XN_CRASH_SWEEP'] === 'full' ? 300 : 40;
console.log(`crash-powerloss: SEED=${seed} runs=${runs}`);

async function crashRun(wseed: number, atFlush: number, tear: boolean) {
  const dev = new MemoryBlockDevice({ blockCount: 1024, writeCache: true, crashAtFlush: atFlush, crashSeed: wseed ^ atFlush, tear });
  const xn = new Xn(new BufferCache(dev, 400));
  const oracle: Oracle = { acked: new Map(), inflight: null };
  // A crash can hit the very first boot (format); then there is nothing to check but the reboot.
  if ((await xn.init()).code === XN.SUCCESS) await runWorkload(xn, xn.context(1, 0), wseed, 25, (r) => applyReport(oracle, r)).catch(() => undefined);
  const dev2 = new MemoryBlockDevice({ blockCount: 1024, image: dev.durableImage() });
  const xn2 = new Xn(new BufferCache(dev2, 400));
  return { dev, oracle, xn2, crashed: dev.dead };
}

describe('XN under simulated power loss', () => {
  it('keeps every acknowledged operation and never leaves a dangling or doubly-owned pointer (property)', async () => {
    let crashes = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 80 }), async (wseed, atFlush) => {
        const { oracle, xn2, crashed } = await crashRun(wseed, atFlush, false);
        if (crashed) crashes++;
        const r = await xn2.init();
        expect(r.code).toBe(XN.SUCCESS);
        if (r.fsck !== null) expect({ d: r.fsck.dangling, o: r.fsck.doublyOwned, p: r.fsck.problems.slice(0, 3) }).toEqual({ d: 0, o: 0, p: [] });
        if (r.formatted) return; // crashed before the format reached the disk
        const online = await xn2.fsck();
        expect([online.dangling, online.doublyOwned, online.leaked]).toEqual([0, 0, 0]);
        expect(await checkRecovered(xn2, xn2.context(1, 0), oracle)).toEqual([]);
      }),
      { seed, numRuns: runs },
    );
    expect(crashes).toBeGreaterThan(runs / 4); // most runs really crash mid-workload
  });

  it('boots, reports and repairs after torn writes without throwing', async () => {
    for (let s = 1; s <= 12; s++) {
      const { xn2 } = await crashRun(s * 7919, 10 + s * 3, true);
      const r = await xn2.init({ repair: true });
      expect([XN.SUCCESS, XN.BOGUS_ROOT]).toContain(r.code);
      if (r.code !== XN.SUCCESS) continue;
      if (r.fsck !== null) expect([r.fsck.dangling, r.fsck.doublyOwned]).toEqual([0, 0]);
    }
  });
});
