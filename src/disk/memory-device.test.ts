import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, IO_EIO, IO_OK } from './constants.js';
import { MemoryBlockDevice } from './memory-device.js';

const filled = (v: number) => new Uint8Array(BLOCK_SIZE).fill(v);

describe('MemoryBlockDevice crash simulation (test6.c style)', () => {
  it('keeps unflushed writes volatile: visible to reads, absent from the durable image', async () => {
    const d = new MemoryBlockDevice({ blockCount: 8, writeCache: true });
    await d.write(1, 1, filled(1));
    const r = new Uint8Array(BLOCK_SIZE);
    await d.read(1, 1, r);
    expect(r[0]).toBe(1);
    expect(d.durableImage().has(1)).toBe(false);
    await d.flush();
    expect(d.durableImage().get(1)?.[0]).toBe(1);
  });

  it('at the chosen flush applies or drops each pending write, tears only when asked, then dies', async () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const d = new MemoryBlockDevice({ blockCount: 8, writeCache: true, crashAtFlush: 2, crashSeed: seed, tear: seed % 2 === 0 });
      await d.write(0, 1, filled(9));
      await d.flush(); // flush 1: durable
      await d.write(0, 1, filled(1));
      await d.write(2, 1, filled(2));
      await expect(d.flush()).rejects.toThrow(); // flush 2: crash
      expect(d.dead).toBe(true);
      const img = d.durableImage();
      const b0 = img.get(0) as Uint8Array;
      const kinds = new Set(b0);
      if (seed % 2 === 1) expect([...kinds].every((k) => k === 9 || k === 1) && kinds.size === 1).toBe(true);
      outcomes.add(`${d.crashLog?.applied}/${d.crashLog?.dropped}/${d.crashLog?.torn}`);
      expect(await new Promise<number>((res) => d.readPages(0, [0], res))).toBe(IO_EIO);
    }
    expect(outcomes.size).toBeGreaterThan(3);
  });

  it('applies or drops a write group as a whole', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const d = new MemoryBlockDevice({ blockCount: 8, writeCache: true, crashAtFlush: 1, crashSeed: seed });
      const a = d.pool.alloc();
      const b = d.pool.alloc();
      d.pool.page(a).fill(3);
      d.pool.page(b).fill(4);
      expect(await new Promise<number>((r) => d.writeGroup([{ block: 1, pages: [a] }, { block: 6, pages: [b] }], r))).toBe(IO_OK);
      await d.flush().catch(() => undefined);
      const img = d.durableImage();
      expect(img.has(1)).toBe(img.has(6));
    }
  });

  it('fails exactly the n-th request with IO_EIO and changes nothing', async () => {
    const d = new MemoryBlockDevice({ blockCount: 8, failAtOp: 2 });
    await d.write(0, 1, filled(1));
    await expect(d.write(1, 1, filled(2))).rejects.toThrow();
    await d.write(2, 1, filled(3));
    const img = d.durableImage();
    expect([...img.keys()].sort()).toEqual([0, 2]);
    expect(d.stats().errors).toBe(1);
  });
});
