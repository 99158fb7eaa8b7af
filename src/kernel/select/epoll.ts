/**
 * epoll(7): a set of (fd, file) registrations whose readiness is pushed, not polled. Each
 * registration hooks the target file's wait queue once (at EPOLL_CTL_ADD); a wake-up that
 * matches its interest links it into the ready list in O(1), so `epoll_wait` costs O(ready),
 * not O(registered).
 *
 * Semantics follow Linux: level-triggered by default (an item that is still ready after being
 * reported goes to the tail of the ready list), EPOLLET reports once per wake-up, EPOLLONESHOT
 * disables the item after one report until EPOLL_CTL_MOD re-arms it; EPOLLERR and EPOLLHUP are
 * always reported. A registration is keyed by (file, fd) and disappears when the file's last
 * reference goes — closing one of two dup'd descriptors keeps it, as on Linux. An epoll fd can
 * be watched by another epoll; a registration that would make a cycle fails with ELOOP.
 */
import { EEXIST, EINVAL, ELOOP, ENOENT } from '../abi/errno.js';
import {
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLONESHOT,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLL_EVENT_BYTES,
  EPOLL_EVENT_OFF_DATA,
  EPOLL_EVENT_OFF_EVENTS,
  EPOLLRDNORM,
} from '../abi/layout.js';
import { KernelFile, type FileWatcher } from '../proc/file.js';
import type { WaitEntry } from '../proc/wait.js';

const EPOLLEXCLUSIVE = 1 << 28;
/** Event bits a registration may ask for (all the POLL* bits; flag bits are not events). */
const EVENT_BITS = 0xffff;

class EpollItem implements WaitEntry, FileWatcher {
  /** A registration belongs to its epoll file, not to a process (the file may be shared): owner 0. */
  readonly owner = 0;
  readonly ep: Epoll;
  readonly file: KernelFile;
  readonly fd: number;
  /** The registration's events word as given (flags included). */
  events = 0;
  /** Events that make it ready (0 when a one-shot item has fired). */
  interest = 0;
  dataLo = 0;
  dataHi = 0;
  prev: EpollItem | null = null;
  next: EpollItem | null = null;
  inReady = false;

  constructor(ep: Epoll, file: KernelFile, fd: number) {
    this.ep = ep;
    this.file = file;
    this.fd = fd;
  }

  set(events: number, dataLo: number, dataHi: number): void {
    this.events = events;
    this.interest = (events & EVENT_BITS) | EPOLLERR | EPOLLHUP;
    this.dataLo = dataLo;
    this.dataHi = dataHi;
  }

  wake(mask: number): void {
    if ((mask & this.interest) !== 0) this.ep.markReady(this);
  }

  fileReleased(): void {
    this.ep.unlink(this);
  }
}

export class Epoll extends KernelFile {
  readonly kind = 'epoll';
  readonly #items = new Map<KernelFile, Map<number, EpollItem>>();
  #count = 0;
  #head: EpollItem | null = null;
  #tail: EpollItem | null = null;
  #readyLen = 0;
  /** Events reported by epoll_wait so far (admin counter). */
  reported = 0;

  /** Registered (file, fd) pairs. */
  get size(): number {
    return this.#count;
  }
  /** Items in the ready list (some may turn out stale when checked). */
  get readyLength(): number {
    return this.#readyLen;
  }

  poll(): number {
    return this.#readyLen > 0 ? EPOLLIN | EPOLLRDNORM : 0;
  }

  /**
   * EPOLL_CTL_ADD/MOD/DEL of `file` (open at `fd`) with a copied-in event (`events`, data as two
   * 32-bit halves; ignored for DEL). Returns 0 or -errno.
   */
  ctl(op: number, fd: number, file: KernelFile, events: number, dataLo: number, dataHi: number): number {
    if (file === this) return -EINVAL;
    const byFd = this.#items.get(file);
    const item = byFd?.get(fd);
    switch (op) {
      case EPOLL_CTL_ADD: {
        if (item !== undefined) return -EEXIST;
        if (file instanceof Epoll && file.#reaches(this)) return -ELOOP;
        const it = new EpollItem(this, file, fd);
        it.set(events, dataLo, dataHi);
        if (byFd === undefined) this.#items.set(file, new Map([[fd, it]]));
        else byFd.set(fd, it);
        this.#count++;
        file.waitq.add(it);
        file.watchers.add(it);
        if ((file.poll() & it.interest) !== 0) this.markReady(it);
        return 0;
      }
      case EPOLL_CTL_MOD: {
        if (item === undefined) return -ENOENT;
        item.set(events, dataLo, dataHi);
        if ((file.poll() & item.interest) !== 0) this.markReady(item);
        return 0;
      }
      case EPOLL_CTL_DEL:
        if (item === undefined) return -ENOENT;
        this.unlink(item);
        return 0;
      default:
        return -EINVAL;
    }
  }

  /** Check an event word: EPOLLEXCLUSIVE is refused with MOD (as Linux does); unknown bits are ignored. */
  static checkEvents(op: number, events: number): number {
    return op === EPOLL_CTL_MOD && (events & EPOLLEXCLUSIVE) !== 0 ? -EINVAL : 0;
  }

  /** Whether `target` is this epoll or is watched, directly or through nested epolls, by it. */
  #reaches(target: Epoll): boolean {
    if (this === target) return true;
    for (const f of this.#items.keys()) if (f instanceof Epoll && f.#reaches(target)) return true;
    return false;
  }

  /** Link `it` into the ready list (idempotent) and wake whoever waits on this epoll. */
  markReady(it: EpollItem): void {
    if (it.inReady) return;
    it.inReady = true;
    it.prev = this.#tail;
    it.next = null;
    if (this.#tail !== null) this.#tail.next = it;
    else this.#head = it;
    this.#tail = it;
    this.#readyLen++;
    this.waitq.wake(EPOLLIN | EPOLLRDNORM);
  }

  #unready(it: EpollItem): void {
    if (!it.inReady) return;
    if (it.prev !== null) it.prev.next = it.next;
    else this.#head = it.next;
    if (it.next !== null) it.next.prev = it.prev;
    else this.#tail = it.prev;
    it.prev = it.next = null;
    it.inReady = false;
    this.#readyLen--;
  }

  /** Remove a registration entirely. */
  unlink(it: EpollItem): void {
    const byFd = this.#items.get(it.file);
    if (byFd?.get(it.fd) !== it) return;
    byFd.delete(it.fd);
    if (byFd.size === 0) this.#items.delete(it.file);
    this.#count--;
    this.#unready(it);
    it.file.waitq.remove(it);
    it.file.watchers.delete(it);
  }

  /**
   * Write up to `max` ready events (`struct epoll_event`) at `dv[off…]`; returns how many.
   * Each ready item is checked once against its file's current readiness: O(ready list).
   */
  collect(dv: DataView, off: number, max: number): number {
    let n = 0;
    let budget = this.#readyLen;
    while (n < max && budget-- > 0) {
      const it = this.#head!;
      this.#unready(it);
      const m = it.file.poll() & it.interest;
      if (m === 0) continue;
      const at = off + n * EPOLL_EVENT_BYTES;
      dv.setUint32(at + EPOLL_EVENT_OFF_EVENTS, m, true);
      dv.setUint32(at + EPOLL_EVENT_OFF_DATA, it.dataLo, true);
      dv.setUint32(at + EPOLL_EVENT_OFF_DATA + 4, it.dataHi, true);
      n++;
      if ((it.events & EPOLLONESHOT) !== 0) it.interest = 0;
      else if ((it.events & EPOLLET) === 0) this.markReady(it);
    }
    this.reported += n;
    return n;
  }

  override release(): void {
    for (const byFd of this.#items.values()) for (const it of byFd.values()) {
      it.file.waitq.remove(it);
      it.file.watchers.delete(it);
    }
    this.#items.clear();
    this.#count = 0;
    this.#head = this.#tail = null;
    this.#readyLen = 0;
  }

  /** Each registration (for the admin API and invariant checks). */
  *registrations(): IterableIterator<{ fd: number; file: KernelFile; events: number; ready: boolean }> {
    for (const byFd of this.#items.values()) for (const it of byFd.values()) yield { fd: it.fd, file: it.file, events: it.events, ready: it.inReady };
  }

  describe(): Record<string, unknown> {
    return { registered: this.#count, ready: this.#readyLen, reported: this.reported };
  }
}
