/**
 * Test support (not used by the stack): two TcpStack instances joined by a simulated Ethernet
 * link with seeded faults — loss, duplication, reordering, corruption, delay — on one manual
 * clock (smoltcp's FaultInjector and netsim, in one place). Corruption flips a bit above the
 * Ethernet header, as damage that got past the link would; the IPv4/TCP checksums must catch it.
 */
import { Xoshiro128 } from '../rng.js';
import { TcpStack } from '../stack.js';
import type { TcpEvents } from '../core.js';
import type { TcpConfig } from '../config.js';
import type { TxFrame } from '../tx-frame.js';
import { CLIENT_IP, CLIENT_MAC, SERVER_IP, SERVER_MAC } from './harness.js';
import { wireFrames } from './tso.js';

export interface LinkFaults {
  /** Probabilities in [0, 1]. */
  loss: number;
  duplicate: number;
  reorder: number;
  corrupt: number;
  /** One-way delay and the extra delay a reordered frame gets (ms). */
  delayMs: number;
  reorderDelayMs: number;
}

export const NO_FAULTS: LinkFaults = { loss: 0, duplicate: 0, reorder: 0, corrupt: 0, delayMs: 1, reorderDelayMs: 0 };

interface InFlight {
  at: number;
  seq: number;
  to: 0 | 1;
  frame: Uint8Array;
}

export interface SimStats {
  frames: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
}

/** Side 0 is the "server" (198.18.0.2), side 1 the "client" (198.18.0.1). */
export class NetSim {
  now = 0;
  readonly stacks: [TcpStack, TcpStack];
  readonly stats: SimStats = { frames: 0, lost: 0, duplicated: 0, reordered: 0, corrupted: 0 };
  readonly #rng: Xoshiro128;
  readonly #faults: LinkFaults;
  readonly #queue: InFlight[] = [];
  #seq = 0;
  /** Called for every frame a stack sends (before faults), for debugging a failing seed. */
  trace: ((from: 0 | 1, frame: Uint8Array, now: number) => void) | undefined = undefined;

  constructor(seed: number, faults: LinkFaults, events: [TcpEvents, TcpEvents], config: [Partial<TcpConfig>, Partial<TcpConfig>]) {
    this.#rng = new Xoshiro128(seed);
    this.#faults = faults;
    const mk = (side: 0 | 1): TcpStack =>
      new TcpStack({
        interfaces: [side === 0 ? { mac: SERVER_MAC, addr: SERVER_IP, prefixLen: 24, mtuBytes: 1500 } : { mac: CLIENT_MAC, addr: CLIENT_IP, prefixLen: 24, mtuBytes: 1500 }],
        io: { now: () => this.now, transmit: (f: TxFrame) => { for (const b of wireFrames(f)) this.#send(side === 0 ? 1 : 0, b); } },
        rng: new Xoshiro128(seed * 2 + side + 1),
        events: events[side],
        config: { answerArp: true, ...config[side] },
      });
    this.stacks = [mk(0), mk(1)];
  }

  #chance(p: number): boolean {
    return p > 0 && this.#rng.nextU32() / 2 ** 32 < p;
  }

  #send(to: 0 | 1, frame: Uint8Array): void {
    this.trace?.(to === 0 ? 1 : 0, frame, this.now);
    const f = this.#faults;
    this.stats.frames++;
    if (this.#chance(f.loss)) {
      this.stats.lost++;
      return;
    }
    const copies = this.#chance(f.duplicate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let bytes = frame;
      if (this.#chance(f.corrupt) && frame.length > 14) {
        bytes = frame.slice();
        const at = 14 + (this.#rng.nextU32() % (frame.length - 14));
        bytes[at] = bytes[at]! ^ (1 << (this.#rng.nextU32() % 8));
        this.stats.corrupted++;
      }
      let at = this.now + f.delayMs;
      if (this.#chance(f.reorder)) {
        at += 1 + (this.#rng.nextU32() % Math.max(1, f.reorderDelayMs));
        this.stats.reordered++;
      }
      this.#queue.push({ at, seq: this.#seq++, to, frame: bytes });
    }
  }

  /** Run until `done()` holds or `limitMs` of virtual time passed; returns whether `done()` held. */
  run(done: () => boolean, limitMs: number): boolean {
    const end = this.now + limitMs;
    const q = this.#queue;
    for (;;) {
      if (done()) return true;
      q.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const next = Math.min(q[0]?.at ?? Infinity, this.stacks[0].nextDeadline(), this.stacks[1].nextDeadline());
      if (next > end) {
        this.now = end;
        return done();
      }
      this.now = Math.max(this.now, next);
      while (q.length > 0 && q[0]!.at <= this.now) {
        const f = q.shift()!;
        this.stacks[f.to].input(f.frame, 0);
      }
      for (const s of this.stacks) if (s.nextDeadline() <= this.now) s.poll();
    }
  }

  /** Frames still on the wire. */
  get inFlight(): number {
    return this.#queue.length;
  }
}
