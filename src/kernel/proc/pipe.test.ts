import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EAGAIN, EPIPE } from '../abi/errno.js';
import { PIPE_BUF, POLLERR, POLLHUP, POLLIN, POLLOUT } from '../abi/layout.js';
import { Pipe } from './pipe.js';

const SEED = process.env['SEED'] !== undefined ? Number(process.env['SEED']) : Date.now() % 2 ** 31;

describe('pipe ring (kernel side, kernel buffers)', () => {
  it(`behaves as a bounded FIFO of bytes: same bytes out as in, atomic small writes, exact readiness (seed ${SEED})`, () => {
    console.log(`pipe property: SEED=${SEED}`);
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), len: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 9000 })) }),
      fc.record({ kind: fc.constant('read' as const), len: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 9000 })) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), fc.array(op, { maxLength: 200 }), (capacity, ops) => {
        const pipe = new Pipe(capacity);
        const model: number[] = [];
        let next = 0;
        const src = new Uint8Array(9000);
        const dst = new Uint8Array(9000 + 8);
        for (const o of ops) {
          if (o.kind === 'write') {
            for (let i = 0; i < o.len; i++) src[i] = (next + i) & 0xff;
            const free = capacity - model.length;
            const r = pipe.write(src, 0, o.len);
            if (o.len === 0) expect(r).toBe(0);
            else if (free === 0 || (o.len <= PIPE_BUF && free < o.len)) expect(r).toBe(-EAGAIN);
            else {
              expect(r).toBe(Math.min(o.len, free));
              for (let i = 0; i < r; i++) model.push((next + i) & 0xff);
              next += r;
            }
          } else {
            const r = pipe.read(dst, 4, o.len);
            if (o.len === 0) expect(r).toBe(0);
            else if (model.length === 0) expect(r).toBe(-EAGAIN);
            else {
              const want = model.splice(0, Math.min(o.len, model.length));
              expect(r).toBe(want.length);
              expect([...dst.subarray(4, 4 + r)]).toEqual(want);
            }
          }
          expect(pipe.buffered).toBe(model.length);
          expect((pipe.readMask() & POLLIN) !== 0).toBe(model.length > 0);
          expect((pipe.writeMask() & POLLOUT) !== 0).toBe(capacity - model.length >= PIPE_BUF);
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('reports hang-ups: no writer → POLLHUP and EOF after the data; no reader → POLLERR and EPIPE', () => {
    const pipe = new Pipe();
    const b = new Uint8Array(4);
    expect(pipe.write(b, 0, 4)).toBe(4);
    pipe.writers = 0;
    expect(pipe.readMask()).toBe(POLLIN | POLLHUP | 0x40);
    expect(pipe.read(b, 0, 10)).toBe(4);
    expect(pipe.read(b, 0, 10)).toBe(0);
    pipe.readers = 0;
    expect(pipe.writeMask() & POLLERR).toBe(POLLERR);
    expect(pipe.write(b, 0, 1)).toBe(-EPIPE);
  });
});
