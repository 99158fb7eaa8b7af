import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHAN_REC_BYTES, CHAN_REC_OFF_FLAGS, CHAN_REC_OFF_REQUEST_ID, CHAN_REC_OFF_STATUS, CHAN_REC_OVERFLOW, POLLIN } from '../abi/layout.js';
import { Channel } from './channel.js';

const SEED = process.env['SEED'] !== undefined ? Number(process.env['SEED']) : Date.now() % 2 ** 31;

type Op = { kind: 'notify'; reserved: boolean } | { kind: 'reserve' } | { kind: 'read'; records: number };

describe('channel (kernel side, called with kernel buffers)', () => {
  it(`never loses an event: every notify is read as a record or counted in an overflow record (seed ${SEED})`, () => {
    console.log(`channel property: SEED=${SEED}`);
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.boolean().map((reserved) => ({ kind: 'notify' as const, reserved })),
      fc.constant({ kind: 'reserve' as const }),
      fc.integer({ min: 1, max: 6 }).map((records) => ({ kind: 'read' as const, records })),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 300 }), (capacity, ops) => {
        const c = new Channel(1, capacity);
        const buf = new Uint8Array(6 * CHAN_REC_BYTES);
        const dv = new DataView(buf.buffer);
        let notified = 0;
        let reservations = 0;
        let seenRecords = 0;
        let folded = 0;
        let lastId = 0;
        const read = (records: number) => {
          const n = c.read(buf, 0, records * CHAN_REC_BYTES);
          if (n < 0) return;
          expect(n % CHAN_REC_BYTES).toBe(0);
          for (let at = 0; at < n; at += CHAN_REC_BYTES) {
            if (dv.getUint32(at + CHAN_REC_OFF_FLAGS, true) === CHAN_REC_OVERFLOW) folded += dv.getInt32(at + CHAN_REC_OFF_STATUS, true);
            else {
              const id = dv.getUint32(at + CHAN_REC_OFF_REQUEST_ID, true);
              expect(id).toBeGreaterThan(lastId); // records keep notification order
              lastId = id;
              seenRecords++;
            }
          }
        };
        for (const o of ops) {
          if (o.kind === 'reserve') {
            if (c.reserve()) reservations++;
          } else if (o.kind === 'notify') {
            const useReservation = o.reserved && reservations > 0;
            const kept = c.notify(++notified, 0, notified, 0, useReservation);
            if (useReservation) {
              reservations--;
              expect(kept).toBe(true); // a reserved completion is never folded
            }
          } else read(o.records);
          expect((c.poll() & POLLIN) !== 0).toBe(c.pending > 0);
        }
        while (c.pending > 0) read(6);
        expect(seenRecords + folded).toBe(notified);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('bounded memory: the ring never grows past its capacity', () => {
    const c = new Channel(1, 4);
    for (let i = 0; i < 100_000; i++) c.notify(i, 0, i, 0);
    expect(c.pending).toBe(5); // 4 records + the overflow record
    expect(c.readableBytes()).toBe(5 * CHAN_REC_BYTES);
    expect(c.describe()).toMatchObject({ capacityRecords: 4, overflowPending: 99_996, folded: 99_996 });
  });
});
