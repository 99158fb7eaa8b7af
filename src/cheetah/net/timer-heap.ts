/**
 * An indexed binary min-heap of timer owners keyed by their earliest deadline. Each owner keeps
 * its own slot index, so re-arming (which TCP does on nearly every ACK) is an O(log n) sift
 * with no stale entries and no allocation.
 */

/** Something with one deadline (ms; `Infinity` = none) and a heap slot the heap maintains. */
export interface TimerOwner {
  deadline: number;
  /** −1 when not in the heap. */
  heapIndex: number;
}

export class TimerHeap<T extends TimerOwner> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** The earliest deadline, or Infinity when empty. */
  peekDeadline(): number {
    return this.#items.length === 0 ? Infinity : this.#items[0]!.deadline;
  }

  /** The owner with the earliest deadline. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Set `owner.deadline` and place it; `Infinity` removes it. */
  update(owner: T, deadline: number): void {
    owner.deadline = deadline;
    const i = owner.heapIndex;
    if (deadline === Infinity) {
      if (i >= 0) this.#removeAt(i);
      return;
    }
    if (i < 0) {
      owner.heapIndex = this.#items.length;
      this.#items.push(owner);
      this.#up(owner.heapIndex);
    } else {
      this.#up(i);
      this.#down(owner.heapIndex);
    }
  }

  #removeAt(i: number): void {
    const items = this.#items;
    const gone = items[i]!;
    const last = items.pop()!;
    gone.heapIndex = -1;
    if (i < items.length) {
      items[i] = last;
      last.heapIndex = i;
      this.#up(i);
      this.#down(last.heapIndex);
    }
  }

  #up(i: number): void {
    const items = this.#items;
    const x = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (parent.deadline <= x.deadline) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    items[i] = x;
    x.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const x = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && items[r]!.deadline < items[l]!.deadline ? r : l;
      const child = items[c]!;
      if (child.deadline >= x.deadline) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = x;
    x.heapIndex = i;
  }
}
