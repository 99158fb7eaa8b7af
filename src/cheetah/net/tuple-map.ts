/**
 * A map keyed by a TCP 4-tuple without building a key per lookup: the outer level is keyed by
 * the local (address, port) — a handful of listeners — and the inner by the remote
 * (address, port). Each key is a 48-bit integer (exact in a double), so no strings and no
 * allocation on the per-segment lookup.
 */
export class TupleMap<T> {
  readonly #outer = new Map<number, Map<number, T>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): T | undefined {
    return this.#outer.get(localAddr * 65536 + localPort)?.get(remoteAddr * 65536 + remotePort);
  }

  set(localAddr: number, localPort: number, remoteAddr: number, remotePort: number, value: T): void {
    const lk = localAddr * 65536 + localPort;
    let inner = this.#outer.get(lk);
    if (inner === undefined) {
      inner = new Map();
      this.#outer.set(lk, inner);
    }
    const rk = remoteAddr * 65536 + remotePort;
    if (!inner.has(rk)) this.#size++;
    inner.set(rk, value);
  }

  delete(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): boolean {
    const lk = localAddr * 65536 + localPort;
    const inner = this.#outer.get(lk);
    if (inner === undefined || !inner.delete(remoteAddr * 65536 + remotePort)) return false;
    this.#size--;
    if (inner.size === 0) this.#outer.delete(lk);
    return true;
  }

  *values(): IterableIterator<T> {
    for (const inner of this.#outer.values()) yield* inner.values();
  }
}
