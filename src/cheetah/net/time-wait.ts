/**
 * TIME-WAIT, off the connection table: when a connection reaches TIME-WAIT its TCB and buffers
 * are released and only what TIME-WAIT needs is kept here — the 4-tuple, the next sequence
 * numbers to re-ACK a retransmitted FIN, and the timestamp state to judge a new SYN that reuses
 * the tuple (RFC 9293 MAY-2, RFC 6191).
 *
 * Every entry lives the same 2·MSL, so expiry is a FIFO queue, O(1) per entry. The table is
 * bounded: when full, the oldest entry is evicted early (counted). That shortens TIME-WAIT only
 * under a load that would otherwise exhaust memory — the same trade Linux makes with
 * tcp_max_tw_buckets, except Linux skips TIME-WAIT for the *new* connection instead.
 */
import { TupleMap } from './tuple-map.js';

export interface TimeWaitEntry {
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;
  nic: number;
  peerMac: number;
  /** SND.NXT and RCV.NXT when TIME-WAIT began (after our FIN and theirs). */
  sndNxt: number;
  rcvNxt: number;
  /** Window field (already scaled down) to put in re-ACKs. */
  windowField: number;
  tsEnabled: boolean;
  tsRecent: number;
  tsOffset: number;
  expiresAt: number;
  /** Removed from the table (a stale queue slot may still point at it). */
  dead: boolean;
  /** Last ACK sent for an unexpected segment (rate limit, as for connections). */
  lastAckAt: number;
}

export class TimeWaitTable {
  readonly #map = new TupleMap<TimeWaitEntry>();
  readonly #queue: TimeWaitEntry[] = [];
  readonly #queueAt: number[] = [];
  #head = 0;
  readonly #lifetimeMs: number;
  readonly #maxEntries: number;
  /** Entries evicted before their time because the table was full. */
  evicted = 0;

  constructor(lifetimeMs: number, maxEntries: number) {
    this.#lifetimeMs = lifetimeMs;
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#map.size;
  }

  get(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): TimeWaitEntry | undefined {
    return this.#map.get(localAddr, localPort, remoteAddr, remotePort);
  }

  /** Enter `e` for 2·MSL from `now`; returns false when the table holds no entries at all (max 0). */
  add(e: TimeWaitEntry, now: number): boolean {
    if (this.#maxEntries === 0) return false;
    const old = this.get(e.localAddr, e.localPort, e.remoteAddr, e.remotePort);
    if (old !== undefined) this.remove(old);
    while (this.#map.size >= this.#maxEntries) {
      const victim = this.#popHead();
      if (victim === undefined) break;
      this.remove(victim);
      this.evicted++;
    }
    e.dead = false;
    this.#map.set(e.localAddr, e.localPort, e.remoteAddr, e.remotePort, e);
    this.restart(e, now);
    return true;
  }

  /** Restart the 2·MSL timer (a retransmitted FIN arrived, RFC 9293 §3.10.7.4). */
  restart(e: TimeWaitEntry, now: number): void {
    e.expiresAt = now + this.#lifetimeMs;
    this.#queue.push(e);
    this.#queueAt.push(e.expiresAt);
  }

  remove(e: TimeWaitEntry): void {
    if (e.dead) return;
    e.dead = true;
    this.#map.delete(e.localAddr, e.localPort, e.remoteAddr, e.remotePort);
  }

  /** When the oldest live entry expires (Infinity when none). */
  nextExpiry(): number {
    this.#skipStale();
    return this.#head < this.#queue.length ? this.#queueAt[this.#head]! : Infinity;
  }

  /** Remove every entry whose time is up; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (;;) {
      this.#skipStale();
      if (this.#head >= this.#queue.length || this.#queueAt[this.#head]! > now) break;
      this.remove(this.#popHead()!);
      n++;
    }
    return n;
  }

  *entries(): IterableIterator<TimeWaitEntry> {
    yield* this.#map.values();
  }

  /** Drop queue slots of removed entries and superseded restarts. */
  #skipStale(): void {
    const q = this.#queue;
    while (this.#head < q.length) {
      const e = q[this.#head]!;
      if (!e.dead && e.expiresAt === this.#queueAt[this.#head]) break;
      this.#advance();
    }
  }

  #popHead(): TimeWaitEntry | undefined {
    this.#skipStale();
    if (this.#head >= this.#queue.length) return undefined;
    const e = this.#queue[this.#head]!;
    this.#advance();
    return e;
  }

  #advance(): void {
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#queueAt.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
