/**
 * The compliance suite every `NetDevice` backend passes (memory wire without root, TAP inside a
 * network namespace as root): identity, byte-exact batched receive within the budgets, gathered
 * transmit, size checks, backpressure (queued → drained in order, never a silent drop), a full
 * queue, close, hostile handlers, and 10,000 random frames.
 *
 * Random inputs come from fast-check with a logged seed; `SEED=<n>` reproduces a run.
 */
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NicTuning } from '../card-base.js';
import type { NetDevice, TxStatus } from '../types.js';

/** The host's end of the wire, as the suite drives it. */
export interface NetDeviceHarness {
  readonly card: NetDevice;
  /** Send a frame from the host side to the card (copied before this returns). */
  hostSend(frame: Uint8Array): void;
  /** Receive (copies of) the frames the card sends. */
  onHostFrame(handler: (frame: Uint8Array) => void): void;
  /** Make the host stop absorbing the card's frames, so its transmits meet backpressure. */
  blockHost(): void;
  unblockHost(): void;
  /** Frame sizes the host side can send (a host interface enforces its MTU and the header). */
  readonly hostMinFrameBytes: number;
  readonly hostMaxFrameBytes: number;
  /**
   * The card writes from a thread of its own: `sent` means handed to that thread (counted once
   * written), and the thread notices a blocked or unblocked device by itself, so how many frames
   * are `sent` before the first `queued` is not fixed.
   */
  readonly txThread?: boolean;
  dispose(): Promise<void>;
}

export type NetDeviceHarnessFactory = (tuning: Partial<NicTuning>) => Promise<NetDeviceHarness>;

/** IEEE 802 Local Experimental Ethertype 1: test frames, which nothing on the host answers. */
export const TEST_ETHERTYPE = 0x88b5;
const MAGIC = 0x45584f31; // "EXO1"

/** The suite's seed: `SEED` from the environment, else random; logged so a failure can be rerun. */
export function testSeed(): number {
  const env = process.env['SEED'];
  return env !== undefined && env !== '' ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}

/** A test frame: dst, src, TEST_ETHERTYPE, MAGIC, seq, then `fill` repeated up to `length` bytes. */
export function testFrame(dst: Uint8Array, src: Uint8Array, seq: number, length: number, fill = seq): Uint8Array {
  const f = new Uint8Array(Math.max(length, 22));
  f.set(dst, 0);
  f.set(src, 6);
  const dv = new DataView(f.buffer);
  dv.setUint16(12, TEST_ETHERTYPE);
  dv.setUint32(14, MAGIC);
  dv.setUint32(18, seq);
  for (let i = 22; i < f.length; i++) f[i] = (fill * 31 + i * 7) & 0xff;
  return f;
}

/** Sequence number of a test frame, or -1 for any other frame. */
export function testSeq(f: Uint8Array): number {
  if (f.length < 22) return -1;
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  return dv.getUint16(12) === TEST_ETHERTYPE && dv.getUint32(14) === MAGIC ? dv.getUint32(18) : -1;
}

/** Poll `cond` every few ms until true; fail with `what` after `timeoutMs` (a guard, not a measurement). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const HOST_MAC = Uint8Array.of(0x02, 0x68, 0x6f, 0x73, 0x74, 0x01);

export function describeNetDevice(label: string, make: NetDeviceHarnessFactory): void {
  describe(`NetDevice compliance: ${label}`, () => {
    const seed = testSeed();
    let h: NetDeviceHarness | undefined;
    beforeAll(() => {
      console.info(`[${label}] fast-check seed ${seed} (rerun with SEED=${seed})`);
    });
    afterEach(async () => {
      await h?.dispose();
      h = undefined;
    });
    const open = async (tuning: Partial<NicTuning> = {}): Promise<NetDeviceHarness> => {
      h = await make(tuning);
      return h;
    };

    /** Collect the test frames the card receives (copies), and the sizes of the batches they came in. */
    function recordRx(card: NetDevice): { frames: Uint8Array[]; batches: number[] } {
      const out = { frames: [] as Uint8Array[], batches: [] as number[] };
      let inBatch = 0;
      card.setFrameHandler((f) => {
        if (testSeq(f) < 0) return;
        // Frames of one batch are handed out in one synchronous loop; a microtask runs after it.
        if (inBatch === 0) queueMicrotask(() => (out.batches.push(inBatch), (inBatch = 0)));
        inBatch++;
        out.frames.push(Uint8Array.from(f));
      });
      return out;
    }

    function recordHost(hh: NetDeviceHarness): Uint8Array[] {
      const got: Uint8Array[] = [];
      hh.onHostFrame((f) => {
        if (testSeq(f) >= 0) got.push(f);
      });
      return got;
    }

    it('has a name, a unicast MAC and an MTU', async () => {
      const { card } = await open();
      expect(card.name.length).toBeGreaterThan(0);
      expect(card.mac).toHaveLength(6);
      expect(card.mac[0]! & 1).toBe(0);
      expect(card.mtuBytes).toBeGreaterThanOrEqual(68);
      expect(typeof card.kind).toBe('string');
    });

    it('delivers host frames byte-exact and in order, in batches', async () => {
      const hh = await open();
      const rx = recordRx(hh.card);
      let sent: Uint8Array[] = [];
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: Math.max(22, hh.hostMinFrameBytes), max: Math.min(hh.hostMaxFrameBytes, hh.card.mtuBytes + 14) }), {
            minLength: 1,
            maxLength: 150,
          }),
          async (lengths) => {
            rx.frames.length = 0;
            sent = lengths.map((len, i) => testFrame(hh.card.mac, HOST_MAC, i, len, i * len));
            for (const f of sent) hh.hostSend(f);
            await waitFor(() => rx.frames.length >= sent.length, `${sent.length} frames`);
            expect(rx.frames.length).toBe(sent.length);
            rx.frames.forEach((f, i) => expect(f).toEqual(sent[i]));
          },
        ),
        { seed, numRuns: 8 },
      );
      const c = hh.card.counters();
      expect(c.rxFrames).toBeGreaterThanOrEqual(rx.batches.reduce((a, b) => a + b, 0));
      expect(c.rxBatches).toBeLessThan(c.rxFrames); // some batch carried several frames
      expect(Math.max(...rx.batches)).toBeGreaterThan(1);
      expect(Object.values(c.rxBatchSizes).reduce((a, b) => a + b, 0)).toBe(c.rxBatches);
    });

    it('keeps each batch within maxBatchFrames', async () => {
      const hh = await open({ maxBatchFrames: 8 });
      const rx = recordRx(hh.card);
      for (let i = 0; i < 100; i++) hh.hostSend(testFrame(hh.card.mac, HOST_MAC, i, 60));
      await waitFor(() => rx.frames.length >= 100, '100 frames');
      await new Promise((r) => setImmediate(r));
      expect(rx.batches.reduce((a, b) => a + b, 0)).toBe(100);
      expect(Math.max(...rx.batches)).toBe(8);
      expect(Object.keys(hh.card.counters().rxBatchSizes).every((k) => ['1', '2-3', '4-7', '8-15'].includes(k))).toBe(true);
    });

    it('ends a batch once maxBatchBytes is reached', async () => {
      const hh = await open({ maxBatchBytes: 4096 });
      const rx = recordRx(hh.card);
      for (let i = 0; i < 40; i++) hh.hostSend(testFrame(hh.card.mac, HOST_MAC, i, 1000));
      await waitFor(() => rx.frames.length >= 40, '40 frames');
      await new Promise((r) => setImmediate(r));
      // Reading stops once 4096 bytes are in: at most 5 frames of 1000 (8-aligned) bytes.
      expect(Math.max(...rx.batches)).toBeLessThanOrEqual(5);
      expect(Math.max(...rx.batches)).toBeGreaterThan(1);
    });

    it('sends a frame gathered from several buffers as one whole frame', async () => {
      const hh = await open();
      const got = recordHost(hh);
      const frame = testFrame(HOST_MAC, hh.card.mac, 7, 300);
      const backing = new Uint8Array(400);
      backing.set(frame.subarray(40, 250), 3);
      const parts = [frame.subarray(0, 14), new Uint8Array(0), frame.subarray(14, 40), backing.subarray(3, 213), frame.subarray(250)];
      expect(hh.card.transmit(parts)).toBe('sent');
      await waitFor(() => got.length >= 1 && hh.card.counters().txFrames >= 1, 'the frame on the host side');
      expect(got).toHaveLength(1);
      expect(got[0]).toEqual(frame);
      const c = hh.card.counters();
      expect(c.txFrames).toBe(1);
      expect(c.txBytes).toBe(300);
    });

    it('sends the largest legal frame and drops (and counts) runts and oversize frames', async () => {
      const hh = await open();
      const got = recordHost(hh);
      const max = testFrame(HOST_MAC, hh.card.mac, 1, hh.card.mtuBytes + 14);
      expect(hh.card.transmit([max])).toBe('sent');
      expect(hh.card.transmit([new Uint8Array(13)])).toBe('dropped');
      expect(hh.card.transmit([])).toBe('dropped');
      expect(hh.card.transmit([new Uint8Array(hh.card.mtuBytes + 19)])).toBe('dropped');
      await waitFor(() => got.length >= 1 && hh.card.counters().txFrames >= 1, 'the largest frame');
      expect(got[0]).toEqual(max);
      const c = hh.card.counters();
      expect(c.drops['tx_runt']).toBe(2);
      expect(c.drops['tx_oversize']).toBe(1);
      expect(c.txFrames).toBe(1);
    });

    it('under backpressure queues (copying the frame), then drains in order and calls onDrain', async () => {
      const hh = await open();
      const got = recordHost(hh);
      let drains = 0;
      hh.card.onDrain(() => drains++);
      hh.blockHost();
      const statuses: TxStatus[] = [];
      const reused = new Uint8Array(200); // rewritten for every frame: a queued frame must be a copy
      const sent: Uint8Array[] = [];
      for (let i = 0; i < 300; i++) {
        const f = testFrame(HOST_MAC, hh.card.mac, i, 200);
        sent.push(f);
        reused.set(f);
        statuses.push(hh.card.transmit([reused.subarray(0, 14), reused.subarray(14)]));
      }
      const queued = statuses.filter((s) => s === 'queued').length;
      expect(statuses).not.toContain('dropped');
      // Once one frame queued, every later one queued behind it (order is kept).
      if (queued > 0) expect(statuses.slice(statuses.indexOf('queued')).every((s) => s === 'queued')).toBe(true);
      let c = hh.card.counters();
      expect(c.backpressureEvents).toBe(queued);
      if (hh.txThread === true) {
        // The writer meets the blocked device by itself; until then it writes what the host holds.
        let before = -1;
        await waitFor(() => {
          const n = hh.card.counters().txFrames;
          const still = n === before;
          before = n;
          return still && hh.card.counters().txQueueFrames > 0;
        }, 'the writer to block');
        c = hh.card.counters();
        expect(c.txFrames + c.txQueueFrames).toBe(300);
        expect(c.txFrames).toBeLessThanOrEqual(300 - queued);
      } else {
        expect(queued).toBeGreaterThan(0);
        expect(c.txQueueFrames).toBe(queued);
        expect(c.txFrames).toBe(300 - queued);
      }
      reused.fill(0);
      hh.unblockHost();
      // The device can take frames again, but the queue has not drained yet (that needs an event
      // loop turn, which this synchronous pause withholds): new frames must still queue behind it.
      // A writer thread drains without the event loop: its new frames go behind the rest anyway.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      for (let i = 300; i < 310; i++) {
        const f = testFrame(HOST_MAC, hh.card.mac, i, 200);
        sent.push(f);
        const status = hh.card.transmit([f]);
        if (hh.txThread === true) expect(status).not.toBe('dropped');
        else expect(status).toBe('queued');
      }
      await waitFor(() => drains > 0 && got.length >= 310 && hh.card.counters().txFrames >= 310, 'the queue to drain');
      expect(got.map(testSeq)).toEqual(sent.map((_, i) => i));
      got.forEach((f, i) => expect(f).toEqual(sent[i]));
      c = hh.card.counters();
      expect(c.txFrames).toBe(310);
      expect(c.txBytes).toBe(310 * 200);
      expect(c.txQueueFrames).toBe(0);
      expect(Object.values(c.drops).reduce((a, b) => a + b, 0)).toBe(0);
    });

    it('drops and counts frames beyond a full queue, and delivers the rest in order', async () => {
      const hh = await open({ txQueueFrames: 16 });
      const got = recordHost(hh);
      let drains = 0;
      hh.card.onDrain(() => drains++);
      hh.blockHost();
      const statuses = Array.from({ length: 100 }, (_, i) => hh.card.transmit([testFrame(HOST_MAC, hh.card.mac, i, 100)]));
      const sentCount = statuses.filter((s) => s === 'sent').length;
      const queuedCount = statuses.filter((s) => s === 'queued').length;
      // A writer thread may block with sent frames still in the queue: fewer than 16 then queue.
      if (hh.txThread === true) expect(queuedCount).toBeLessThanOrEqual(16);
      else expect(queuedCount).toBe(16);
      const accepted = sentCount + queuedCount;
      expect(statuses.slice(0, accepted).every((s, i) => s === (i < sentCount ? 'sent' : 'queued'))).toBe(true);
      expect(statuses.slice(accepted).every((s) => s === 'dropped')).toBe(true);
      expect(accepted).toBeLessThan(100);
      expect(hh.card.counters().drops['tx_queue_full']).toBe(100 - accepted);
      hh.unblockHost();
      await waitFor(() => drains > 0 && got.length >= accepted, 'the queue to drain');
      await new Promise((r) => setTimeout(r, 20));
      expect(got.map(testSeq)).toEqual(Array.from({ length: accepted }, (_, i) => i));
    });

    it('a handler that throws costs that frame only', async () => {
      const hh = await open();
      const seqs: number[] = [];
      hh.card.setFrameHandler((f) => {
        const s = testSeq(f);
        if (s === 3) throw new Error('handler bug');
        if (s >= 0) seqs.push(s);
      });
      for (let i = 0; i < 10; i++) hh.hostSend(testFrame(hh.card.mac, HOST_MAC, i, 64));
      await waitFor(() => seqs.length >= 9, '9 frames');
      expect(seqs).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
      expect(hh.card.counters().drops['rx_handler_error']).toBe(1);
    });

    it('survives a handler that transfers the receive buffer away', async () => {
      const hh = await open();
      const rx: Uint8Array[] = [];
      let stolen = false;
      hh.card.setFrameHandler((f) => {
        if (testSeq(f) < 0) return;
        rx.push(Uint8Array.from(f));
        if (!stolen) {
          stolen = true;
          structuredClone(f.buffer, { transfer: [f.buffer as ArrayBuffer] });
        }
      });
      hh.hostSend(testFrame(hh.card.mac, HOST_MAC, 0, 64));
      await waitFor(() => rx.length >= 1, 'the first frame');
      const later = Array.from({ length: 20 }, (_, i) => testFrame(hh.card.mac, HOST_MAC, i + 1, 64 + i));
      for (const f of later) hh.hostSend(f);
      await waitFor(() => rx.length >= 21, '20 more frames');
      rx.slice(1).forEach((f, i) => expect(f).toEqual(later[i]));
    });

    it('closes idempotently; a transmit after close is dropped and counted', async () => {
      const hh = await open();
      await Promise.all([hh.card.close(), hh.card.close()]);
      await hh.card.close();
      expect(hh.card.transmit([testFrame(HOST_MAC, hh.card.mac, 0, 64)])).toBe('dropped');
      expect(hh.card.counters().drops['tx_closed']).toBe(1);
    });

    it('10,000 random frames from the host never crash the reader, and each is counted', async () => {
      const hh = await open();
      let handled = 0;
      hh.card.setFrameHandler((f) => {
        handled++;
        // A consumer that reads the frame, as a parser would.
        let x = 0;
        for (let i = 0; i < f.length; i += 97) x ^= f[i]!;
        if (x === 256) throw new Error('unreachable');
      });
      const lengths = fc.sample(fc.integer({ min: hh.hostMinFrameBytes, max: hh.hostMaxFrameBytes }), { numRuns: 10_000, seed });
      const fills = fc.sample(fc.integer(), { numRuns: 10_000, seed: seed + 1 });
      const accounted = (): number => {
        const c = hh.card.counters();
        return c.rxFrames + (c.drops['rx_runt'] ?? 0) + (c.drops['rx_oversize'] ?? 0);
      };
      for (let start = 0; start < 10_000; start += 500) {
        for (let i = start; i < start + 500; i++) {
          const f = new Uint8Array(lengths[i]!);
          let s = fills[i]! | 1;
          for (let j = 0; j < f.length; j++) {
            s ^= s << 13;
            s ^= s >>> 17;
            s ^= s << 5;
            f[j] = s & 0xff;
          }
          hh.hostSend(f);
        }
        await waitFor(() => accounted() >= start + 500, `frames up to ${start + 500}`);
      }
      expect(accounted()).toBe(10_000);
      expect(handled).toBe(hh.card.counters().rxFrames);
    });
  });
}
