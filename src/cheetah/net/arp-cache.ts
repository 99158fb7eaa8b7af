/**
 * Cheetah's small ARP cache: IPv4 address → MAC and card, learned from the frames that arrive
 * (a reply goes to the MAC the client's frames came from) and from ARP packets (RFC 826 "merge"
 * rule: update an entry we have; add one when the packet is for us). Bounded; the oldest entry
 * is evicted first; entries expire after a TTL (RFC 1122 §2.3.2.1 asks for a timeout).
 */

export interface ArpEntry {
  mac: number;
  nic: number;
  expiresAt: number;
}

export class ArpCache {
  readonly #map = new Map<number, ArpEntry>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;

  constructor(maxEntries: number, ttlMs: number) {
    this.#maxEntries = maxEntries;
    this.#ttlMs = ttlMs;
  }

  get size(): number {
    return this.#map.size;
  }

  /** Record that `addr` is at `mac` on card `nic` (refreshes an existing entry in place). */
  learn(addr: number, mac: number, nic: number, now: number): void {
    const e = this.#map.get(addr);
    if (e !== undefined) {
      e.mac = mac;
      e.nic = nic;
      e.expiresAt = now + this.#ttlMs;
      return;
    }
    if (this.#map.size >= this.#maxEntries) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
    this.#map.set(addr, { mac, nic, expiresAt: now + this.#ttlMs });
  }

  /** Update only an address already known (RFC 826 merge without "am I the target"). */
  refresh(addr: number, mac: number, nic: number, now: number): void {
    if (this.#map.has(addr)) this.learn(addr, mac, nic, now);
  }

  lookup(addr: number, now: number): ArpEntry | undefined {
    const e = this.#map.get(addr);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.#map.delete(addr);
      return undefined;
    }
    return e;
  }

  *entries(): IterableIterator<[number, ArpEntry]> {
    yield* this.#map.entries();
  }
}
