import { describe, expect, it } from 'vitest';
import { MemoryCard } from './memory-wire.js';
import { describeNetDevice, testFrame, waitFor } from './testing/describe-net-device.js';

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
});
