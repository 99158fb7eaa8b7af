/**
 * A map keyed by a TCP 4-tuple without building a key per lookup. Buckets are found by the
 * remote port alone — a small integer V8 hashes fastest, and the field that differs between
 * the many connections of one client — and chained through the few entries that share it.
 */

interface Node<T> {
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  value: T;
  next: Node<T> | undefined;
}

export class TupleMap<T> {
  readonly #buckets = new Map<number, Node<T>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): T | undefined {
    for (let n = this.#buckets.get(remotePort); n !== undefined; n = n.next) {
      if (n.remoteAddr === remoteAddr && n.localPort === localPort && n.localAddr === localAddr) return n.value;
    }
    return undefined;
  }

  set(localAddr: number, localPort: number, remoteAddr: number, remotePort: number, value: T): void {
    const head = this.#buckets.get(remotePort);
    for (let n = head; n !== undefined; n = n.next) {
      if (n.remoteAddr === remoteAddr && n.localPort === localPort && n.localAddr === localAddr) {
        n.value = value;
        return;
      }
    }
    this.#buckets.set(remotePort, { localAddr, localPort, remoteAddr, value, next: head });
    this.#size++;
  }

  delete(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): boolean {
    let prev: Node<T> | undefined;
    for (let n = this.#buckets.get(remotePort); n !== undefined; prev = n, n = n.next) {
      if (n.remoteAddr !== remoteAddr || n.localPort !== localPort || n.localAddr !== localAddr) continue;
      if (prev !== undefined) prev.next = n.next;
      else if (n.next !== undefined) this.#buckets.set(remotePort, n.next);
      else this.#buckets.delete(remotePort);
      this.#size--;
      return true;
    }
    return false;
  }

  *values(): IterableIterator<T> {
    for (const head of this.#buckets.values()) for (let n: Node<T> | undefined = head; n !== undefined; n = n.next) yield n.value;
  }
}
