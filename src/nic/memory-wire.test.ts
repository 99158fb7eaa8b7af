import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TSO_MAX_FRAME_BYTES } from './card-base.js';
import { MemoryCard } from './memory-wire.js';
import { describeNetDevice, testFrame, testSeed, waitFor } from './testing/describe-net-device.js';
import type { TsoInfo } from './types.js';

describeNetDevice('memory wire', async (tuning) => {
  const card = new MemoryCard('mem0', 1500, { tuning });
  return {
    card,
    hostSend: (f) => {
      card.host.send(f);
    },
    onHostFrame: (handler) => card.host.onFrame(handler),
    blockHost: () => card.host.pause(),
    unblockHost: () => card.host.resume(),
    hostMinFrameBytes: 0,
    hostMaxFrameBytes: 1500 + 100,
    dispose: () => card.close(),
  };
});

describe('memory wire specifics', () => {
  it('poisons a batch after its handler calls, so a kept view shows it', async () => {
    const card = new MemoryCard('mem1', 1500);
    const kept: Uint8Array[] = [];
    card.setFrameHandler((f) => kept.push(f));
    card.host.send(testFrame(card.mac, card.host.mac, 1, 100));
    await waitFor(() => kept.length === 1, 'one frame');
    expect(kept[0]!.every((b) => b === 0xa5)).toBe(true);
    await card.close();
  });

  it('drops (and counts on the host) frames beyond its queue, like a full txqueuelen', async () => {
    const card = new MemoryCard('mem2', 1500, { hostQueueFrames: 10 });
    let n = 0;
    card.setFrameHandler(() => n++);
    const accepted = Array.from({ length: 15 }, (_, i) => card.host.send(testFrame(card.mac, card.host.mac, i, 60)));
    expect(accepted.filter(Boolean)).toHaveLength(10);
    expect(card.host.droppedFrames).toBe(5);
    expect(card.counters().drops['rx_host_dropped']).toBe(5);
    await waitFor(() => n === 10, '10 frames');
    await card.close();
  });

  it('on close hands queued frames to a host that accepts them, and drops them for one that does not', async () => {
    const open = new MemoryCard('mem3', 1500);
    const got: Uint8Array[] = [];
    open.host.onFrame((f) => got.push(f));
    open.host.pause();
    open.transmit([testFrame(open.host.mac, open.mac, 1, 60)]);
    open.host.resume();
    const closing = open.close(); // before the resume's drain turn
    expect(got).toHaveLength(1);
    await closing;

    const blocked = new MemoryCard('mem4', 1500);
    blocked.host.pause();
    blocked.transmit([testFrame(blocked.host.mac, blocked.mac, 1, 60)]);
    await blocked.close();
    expect(blocked.counters().drops['tx_closed']).toBe(1);
  });

  it('without the option takes no TSO frame (tx_tso_unsupported): the kernel must segment in software', async () => {
    const card = new MemoryCard('mem5', 1500);
    expect(card.tsoMaxBytes).toBe(0);
    const tso: TsoInfo = { segmentBytes: 1448, headerBytes: 54, checksumStart: 34 };
    expect(card.transmit([new Uint8Array(10_054)], tso)).toBe('dropped');
    expect(card.counters().drops['tx_tso_unsupported']).toBe(1);
    await card.close();
  });

  it('with tsoMaxBytes hands a super-frame to the host whole, counted as TSO, also when it was queued', async () => {
    const card = new MemoryCard('mem6', 1500, { tsoMaxBytes: TSO_MAX_FRAME_BYTES });
    const got: Uint8Array[] = [];
    card.host.onFrame((f) => got.push(f));
    const tso: TsoInfo = { segmentBytes: 1448, headerBytes: 54, checksumStart: 34 };
    const frame = testFrame(card.host.mac, card.mac, 1, 10_054);
    expect(card.transmit([frame.subarray(0, 54), frame.subarray(54)], tso)).toBe('sent');
    card.host.pause();
    expect(card.transmit([frame], tso)).toBe('queued');
    expect(card.transmit([testFrame(card.host.mac, card.mac, 2, 60)])).toBe('queued');
    card.host.resume();
    await waitFor(() => got.length === 3, 'three frames');
    expect(got[0]).toEqual(frame);
    expect(got[1]).toEqual(frame);
    const c = card.counters();
    expect([c.txFrames, c.txBytes, c.txTsoFrames, c.txTsoBytes]).toEqual([3, 2 * 10_054 + 60, 2, 2 * 10_054]);
    await card.close();
  });

  it('property: a TSO transmit is sent exactly when the frame and its TsoInfo fit the card, else dropped and counted; never throws', () => {
    const seed = testSeed();
    console.info(`[memory wire TSO checks] fast-check seed ${seed} (rerun with SEED=${seed})`);
    const card = new MemoryCard('mem7', 1500, { tsoMaxBytes: TSO_MAX_FRAME_BYTES });
    let bytesSent = 0;
    card.host.onFrame((f) => (bytesSent += f.byteLength));
    const frames = new Map<number, Uint8Array>();
    const zeros = (n: number): Uint8Array => frames.get(n) ?? (frames.set(n, new Uint8Array(n)), frames.get(n)!);
    const anyNumber = fc.oneof(fc.integer({ min: -2, max: 1600 }), fc.double({ noNaN: false }));
    let attempts = 0;
    fc.assert(
      fc.property(
        // Mostly near the valid region, so both outcomes are common.
        fc.oneof({ arbitrary: fc.integer({ min: 1500, max: TSO_MAX_FRAME_BYTES }), weight: 3 }, fc.integer({ min: 0, max: TSO_MAX_FRAME_BYTES + 2 })),
        fc.oneof({ arbitrary: fc.integer({ min: 1, max: 1500 }), weight: 3 }, anyNumber),
        fc.oneof({ arbitrary: fc.integer({ min: 32, max: 140 }), weight: 3 }, anyNumber),
        fc.oneof({ arbitrary: fc.integer({ min: 14, max: 60 }), weight: 3 }, anyNumber),
        (bytes, segmentBytes, headerBytes, checksumStart) => {
          attempts++;
          const before = card.counters();
          const status = card.transmit([zeros(bytes)], { segmentBytes, headerBytes, checksumStart });
          const fits =
            bytes >= 14 &&
            bytes <= TSO_MAX_FRAME_BYTES &&
            Number.isInteger(segmentBytes) &&
            Number.isInteger(headerBytes) &&
            Number.isInteger(checksumStart) &&
            segmentBytes >= 1 &&
            checksumStart >= 14 &&
            checksumStart + 18 <= headerBytes &&
            headerBytes + segmentBytes <= 1514 &&
            bytes > headerBytes + segmentBytes;
          expect(status).toBe(fits ? 'sent' : 'dropped');
          const after = card.counters();
          expect(after.txTsoFrames - before.txTsoFrames).toBe(fits ? 1 : 0);
        },
      ),
      { seed, numRuns: 400 },
    );
    const c = card.counters();
    const dropped = Object.values(c.drops).reduce((x, y) => x + y, 0);
    expect(c.txTsoFrames + dropped).toBe(attempts);
    expect(c.txTsoFrames).toBeGreaterThan(attempts / 10); // the generators reach both outcomes
    expect(c.txTsoBytes).toBe(bytesSent);
  });
});
