import { describe, expect, it } from 'vitest';
import { clookOrder, DiskLatencyModel, THESIS_DISK } from './latency-model.js';

describe('latency model', () => {
  it('charges no seek on the same track and more for longer seeks', () => {
    const m = new DiskLatencyModel(THESIS_DISK, 196608);
    const first = m.service(0, 1, 0);
    const seq = m.service(1, 1, first); // next block, same track, right under the head
    expect(seq).toBeLessThan(1000);
    const near = new DiskLatencyModel(THESIS_DISK, 196608);
    near.head = 0;
    const far = new DiskLatencyModel(THESIS_DISK, 196608);
    far.head = 0;
    // Same rotational target angle, different distance: the far seek costs more.
    expect(far.service(190000 - (190000 % 24), 1, 0)).toBeGreaterThan(near.service(408, 1, 0));
    expect(THESIS_DISK.seekMaxUs).toBeGreaterThan(THESIS_DISK.seekMinUs);
  });

  it('scales every time by timeScale', () => {
    const a = new DiskLatencyModel(THESIS_DISK, 10000);
    const b = new DiskLatencyModel({ ...THESIS_DISK, timeScale: 0.1 }, 10000);
    expect(b.service(5000, 4, 0)).toBeCloseTo(a.service(5000, 4, 0) * 0.1, 6);
  });

  it('orders a batch C-LOOK from the head', () => {
    expect(clookOrder([50, 10, 70, 30, 50], 40)).toEqual([0, 4, 2, 1, 3]);
  });
});
