/**
 * The kernel's ARP cache (RFC 826), one per card: IPv4 → MAC with an expiry, bounded in size.
 * Entries are learned from ARP requests addressed to us and from replies (RFC 826's "merge"
 * rule: update a sender already known, add it when the packet is for us). A full cache
 * replaces the entry closest to expiry.
 */
import type { Ipv4Addr, MacAddr } from '../../wire/index.js';

export interface ArpEntry {
  ip: Ipv4Addr;
  mac: MacAddr;
  /** When the entry stops being used (clock ms). */
  expiresAtMs: number;
}

export class ArpCache {
  readonly #entries = new Map<Ipv4Addr, ArpEntry>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {}

  /** RFC 826 merge: refresh the sender if known; returns whether it was. */
  refresh(ip: Ipv4Addr, mac: MacAddr, nowMs: number): boolean {
    const e = this.#entries.get(ip);
    if (e === undefined) return false;
    e.mac = mac;
    e.expiresAtMs = nowMs + this.ttlMs;
    return true;
  }

  /** Add or refresh an entry, evicting the one closest to expiry when full. */
  learn(ip: Ipv4Addr, mac: MacAddr, nowMs: number): void {
    if (this.refresh(ip, mac, nowMs)) return;
    if (this.#entries.size >= this.maxEntries) this.#evictOne(nowMs);
    this.#entries.set(ip, { ip, mac, expiresAtMs: nowMs + this.ttlMs });
  }

  /** The MAC for `ip`, or undefined when unknown or expired (an expired entry is dropped). */
  lookup(ip: Ipv4Addr, nowMs: number): MacAddr | undefined {
    const e = this.#entries.get(ip);
    if (e === undefined) return undefined;
    if (e.expiresAtMs <= nowMs) {
      this.#entries.delete(ip);
      return undefined;
    }
    return e.mac;
  }

  /** Live entries (expired ones are dropped on the way). */
  entries(nowMs: number): ArpEntry[] {
    const out: ArpEntry[] = [];
    for (const e of this.#entries.values()) {
      if (e.expiresAtMs <= nowMs) this.#entries.delete(e.ip);
      else out.push({ ...e });
    }
    return out;
  }

  get size(): number {
    return this.#entries.size;
  }

  #evictOne(nowMs: number): void {
    let victim: ArpEntry | undefined;
    for (const e of this.#entries.values()) {
      if (e.expiresAtMs <= nowMs) {
        victim = e;
        break;
      }
      if (victim === undefined || e.expiresAtMs < victim.expiresAtMs) victim = e;
    }
    if (victim !== undefined) this.#entries.delete(victim.ip);
  }
}
