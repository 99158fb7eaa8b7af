import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RxBuffer } from './rx-buffer.js';
import { useSeed } from './testing/seed.js';

useSeed('rx-buffer');

const alloc = (n: number): Uint8Array => new Uint8Array(n);

describe('RxBuffer', () => {
  it('delivers in-order data and wraps the ring', () => {
    const rx = new RxBuffer(8, 4, alloc);
    expect(rx.write(0, new Uint8Array([1, 2, 3, 4, 5, 6]), 0, 6)).toBe(6);
    const out = new Uint8Array(8);
    expect(rx.read(out, 0, 4)).toBe(4);
    expect(rx.write(0, new Uint8Array([7, 8, 9, 10, 11]), 0, 5)).toBe(5);
    expect(rx.readable).toBe(7);
    expect(rx.free).toBe(1);
    expect(rx.read(out)).toBe(7);
    expect(Array.from(out.subarray(0, 7))).toEqual([5, 6, 7, 8, 9, 10, 11]);
  });

  it('holds out-of-order data in place and releases it when the gap fills', () => {
    const rx = new RxBuffer(16, 4, alloc);
    expect(rx.write(4, new Uint8Array([5, 6]), 0, 2)).toBe(0);
    expect(rx.write(8, new Uint8Array([9]), 0, 1)).toBe(0);
    expect(rx.oooRanges).toBe(2);
    expect(rx.write(0, new Uint8Array([1, 2, 3, 4]), 0, 4)).toBe(6);
    expect(rx.write(0, new Uint8Array([7, 8]), 0, 2)).toBe(3);
    const out = new Uint8Array(9);
    rx.read(out);
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('refuses a segment that needs one range more than allowed, but never one at RCV.NXT', () => {
    const rx = new RxBuffer(64, 2, alloc);
    expect(rx.write(10, new Uint8Array(2), 0, 2)).toBe(0);
    expect(rx.write(20, new Uint8Array(2), 0, 2)).toBe(0);
    expect(rx.write(30, new Uint8Array(2), 0, 2)).toBe(-1);
    expect(rx.write(12, new Uint8Array(2), 0, 2)).toBe(0);
    expect(rx.write(0, new Uint8Array(3), 0, 3)).toBe(3);
  });

  it('reports SACK blocks most recent first', () => {
    const rx = new RxBuffer(64, 4, alloc);
    rx.write(10, new Uint8Array(5), 0, 5);
    rx.write(30, new Uint8Array(5), 0, 5);
    rx.write(20, new Uint8Array(2), 0, 2);
    const out: { left: number; right: number }[] = [];
    expect(rx.sackBlocks(0xfffffff0, out, 0)).toBe(0);
    expect(rx.sackBlocks(0xfffffff0, out, -1)).toBe(0);
    expect(rx.sackBlocks(0xfffffff0, out, 4)).toBe(3);
    expect(out).toEqual([
      { left: 4, right: 6 },
      { left: 0xfffffffa, right: 0xffffffff },
      { left: 14, right: 19 },
    ]);
  });

  it('reassembles any arrival order byte-exact (model test)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(40)), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 6 }),
        (data, cuts, maxRanges) => {
          const rx = new RxBuffer(256, maxRanges, alloc);
          let nxt = 0;
          const got: number[] = [];
          const out = new Uint8Array(256);
          const deliver = (adv: number): void => {
            nxt += adv;
            const n = rx.read(out);
            got.push(...out.subarray(0, n));
          };
          for (const [at, len] of cuts) {
            const start = at % data.length;
            const end = Math.min(data.length, start + len);
            if (end <= nxt) continue;
            const s = Math.max(start, nxt);
            const adv = rx.write(s - nxt, data, s, end - s);
            if (adv > 0) deliver(adv);
            expect(rx.oooRanges).toBeLessThanOrEqual(maxRanges);
          }
          // Finally the whole rest arrives in order.
          if (nxt < data.length) deliver(rx.write(0, data, nxt, data.length - nxt));
          expect(Uint8Array.from(got)).toEqual(data);
        },
      ),
    );
  });
});
