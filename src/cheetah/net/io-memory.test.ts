/**
 * The stack's header buffers come from `io.alloc` and go back through `io.free` once the reuse
 * pool is full — the contract the Cheetah process relies on to keep them in its own memory
 * without leaking it.
 */
import { describe, expect, it } from 'vitest';
import { CLIENT_IP, CLIENT_MAC, SERVER_IP, SERVER_MAC } from './testing/harness.js';
import { Xoshiro128 } from './rng.js';
import { TcpStack } from './stack.js';
import type { TcpConnection } from './tcb.js';

describe('TcpIo.alloc / TcpIo.free', () => {
  it('every buffer freed was allocated, is freed once, and only after its connection is gone', () => {
    let now = 0;
    const wire: Array<{ to: 0 | 1; frame: Uint8Array }> = [];
    const allocated = new Set<Uint8Array>();
    const freed = new Set<Uint8Array>();
    const server = new TcpStack({
      interfaces: [{ mac: SERVER_MAC, addr: SERVER_IP, prefixLen: 24, mtuBytes: 1500 }],
      io: {
        now: () => now,
        transmit: (f) => wire.push({ to: 1, frame: f.toBytes() }),
        alloc: (n) => {
          const b = new Uint8Array(n);
          allocated.add(b);
          return b;
        },
        free: (b) => {
          expect(allocated.has(b)).toBe(true);
          expect(freed.has(b)).toBe(false);
          freed.add(b);
        },
      },
      rng: new Xoshiro128(1),
      config: { answerArp: true },
    });
    const client = new TcpStack({
      interfaces: [{ mac: CLIENT_MAC, addr: CLIENT_IP, prefixLen: 24, mtuBytes: 1500 }],
      io: { now: () => now, transmit: (f) => wire.push({ to: 0, frame: f.toBytes() }) },
      rng: new Xoshiro128(2),
      config: { answerArp: true },
    });
    server.listen({ addr: 0, port: 80 });
    const conns: TcpConnection[] = [];
    for (let i = 0; i < 300; i++) {
      const c = client.connect({ nic: 0, remoteAddr: SERVER_IP, remotePort: 80, localPort: 20_000 + i, remoteMac: SERVER_MAC });
      if (typeof c === 'string') throw new Error(c);
      conns.push(c);
    }
    const deliver = () => {
      while (wire.length > 0) {
        const { to, frame } = wire.shift()!;
        (to === 0 ? server : client).input(frame, 0);
      }
    };
    deliver();
    now += 1;
    expect(server.counters().established).toBe(300);
    expect(freed.size).toBe(0);
    server.shutdown();
    deliver();
    // 256 buffers stay in the reuse pool; the rest go back.
    expect(freed.size).toBe(300 - 256);
    expect(server.counters().connections).toBe(0);
  });
});
