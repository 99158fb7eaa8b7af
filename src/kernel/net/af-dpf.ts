/**
 * AF_DPF — DPF as a socket family (thesis §3.2: "a new socket type", ~200 lines of glue in
 * Linux's net/dpf/af_dpf.c; DESIGN.md §4–5; docs/dpf.md "The socket").
 *
 * - `socket(AF_DPF, SOCK_RAW, 0)` (uid 0 only, as any raw socket) gives a `DpfSocket`.
 *   `dpf_attach` copies a binary filter in, verifies and merges it (`DpfEngine.insertBinary`),
 *   owned by the calling process {pid, uid}; one filter per socket (a second attach replaces the
 *   first, without a gap). Close removes the filter; process exit removes the process's filters
 *   (`removeOwner`), also on sockets another process still holds.
 * - Receive: `rxHook` is NetStack's receive hook (Linux: `dpf_rcv()` in net/core/dev.c). Every
 *   frame is demultiplexed with one call before the conventional path; a claimed frame is copied
 *   once into its socket's bounded queue (`FrameQueue`, records in the batch ABI's form) or, when
 *   the queue is full, dropped and counted per socket and per filter — it never reaches the
 *   conventional path either way. The card a frame came from travels with it.
 * - Read: `read`/`read_wait`/`readv` (one frame), `dpf_recv`/`dpf_recvfrom` (one frame, the card
 *   as a `sockaddr_dpf`), `dpf_recvbatch`/`dpf_recvbatch_wait` (many frames into a user ring in
 *   one call). POLLIN while frames are queued, for select/poll/epoll.
 * - Send: `dpf_send` (iovec + card index), `sendto`/`sendmsg` (a `sockaddr_dpf`), `write`/`writev`
 *   after `bind`: one whole frame per call, handed to the card through the packet socket's send
 *   path (`PacketSocket`, one bound to each card) — the iovec's views of user memory go straight
 *   to the card's writev. `dpf_send_tso` sends a TCP super-segment (`tso.ts`): checked against
 *   the TSO contract, then given whole to a card that segments (`tsoMaxBytes`), else cut into
 *   segments here; `dpf_send` is `dpf_send_tso` with `segmentBytes` 0.
 * - DPF's refusals come back as errnos (`DPF_ERRNO`); `dpf_geterror` gives the code, the reason
 *   and the verifier's log of the last refused attach.
 *
 * Does not: parse frames (DPF decides), keep a view of a received frame, log per frame.
 */
import { DaemonError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import { componentLogger, type Logger } from '../../util/log.js';
import { EAGAIN, EBADF, EDESTADDRREQ, EINVAL, EMSGSIZE, ENODEV, ENOTSOCK, EOPNOTSUPP, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../abi/errno.js';
import {
  AF_DPF,
  AF_PACKET,
  DPF_ERRNO,
  DPF_IFINFO_BYTES,
  DPF_IFINFO_NAME_BYTES,
  DPF_IFINFO_F_TSO,
  DPF_IFINFO_OFF_ADDR,
  DPF_IFINFO_OFF_CARD,
  DPF_IFINFO_OFF_FLAGS,
  DPF_IFINFO_OFF_MAC,
  DPF_IFINFO_OFF_MTU,
  DPF_IFINFO_OFF_NAME,
  DPF_IFINFO_OFF_PREFIX_LEN,
  MSG_PEEK,
  MSG_TRUNC,
  O_CLOEXEC,
  O_NONBLOCK,
  POLLIN,
  POLLOUT,
  POLLRDNORM,
  POLLWRNORM,
  SOCKADDR_DPF_BYTES,
  SOCKADDR_DPF_OFF_ADDR,
  SOCKADDR_DPF_OFF_CARD,
  SOCKADDR_DPF_OFF_FAMILY,
  SOCKADDR_DPF_OFF_MAC,
  SOCKADDR_PKT_BYTES,
  SOCKADDR_PKT_DEVICE_BYTES,
  SOCKADDR_PKT_OFF_DEVICE,
  SOCKADDR_PKT_OFF_FAMILY,
  SOCK_RAW,
  dpfRecordBytes,
} from '../abi/layout.js';
import {
  DPF_BOGUSID,
  DPF_BOGUSOP,
  DPF_MAX_FILTER_BYTES,
  type DpfEngine,
  type DpfErrorCode,
  type DpfOwner,
  type FilterInfo,
  dpfErrorName,
  formatNormalFilter,
  normalize,
  parseFilterBinary,
  verify,
} from '../dpf/index.js';
import type { Kernel } from '../kernel.js';
import { MessageSocket } from './message-socket.js';
import type { Process } from '../proc/process.js';
import type { SyscallImpls } from '../syscall/types.js';
import { waitForIo } from '../syscall/calls.js';
import { importIovec } from '../syscall/usercopy.js';
import { DPF_MAX_RECORD_FRAME_BYTES, FrameQueue } from './af-dpf-queue.js';
import type { NetStack, RxHook } from './dev.js';
import type { NetIface } from './iface.js';
import { PacketSocket } from './packet-socket.js';
import { TSO_MAX_FRAME_BYTES, TsoSender } from './tso.js';

/** `socket()` type bits Linux lets a caller add; accepted and without effect (every descriptor is non-blocking here). */
const SOCK_TYPE_FLAGS = O_NONBLOCK | O_CLOEXEC;

/** Options of {@link AfDpf}. */
export interface AfDpfOptions {
  /** The machine's network stack: its cards, and the receive hook DPF takes. */
  readonly net: NetStack;
  /** The demultiplexer every socket's filter goes into. */
  readonly engine: DpfEngine;
  /** Frames one socket's receive queue holds. Default 512. */
  readonly queueFrames?: number;
  /**
   * Bytes of one socket's receive queue (frames as batch records: +4 bytes each, padded to 4),
   * allocated at its first attach. Default 262144; raised to hold one frame of the largest card.
   */
  readonly queueBytes?: number;
  /** Logger; default `componentLogger('af_dpf')`. */
  readonly log?: Logger;
}

/** An installed filter as the admin API shows it: the engine's view plus its socket's queue. */
export interface DpfFilterView extends FilterInfo {
  /** Frames this filter claimed that its socket's full queue refused (since it was attached). */
  readonly drops: number;
  readonly queue: DpfQueueView;
}

/** A socket's receive queue: what is in it and its bounds. */
export interface DpfQueueView {
  readonly frames: number;
  readonly bytes: number;
  readonly capacityFrames: number;
  readonly capacityBytes: number;
  /** Bytes of ring allocated now: it grows on demand up to `capacityBytes` and trims back when empty at a detach or attach. */
  readonly allocatedBytes: number;
}

/** Counters of the socket layer (the engine has its own: `engine.stats()`). */
export interface AfDpfStats {
  /** Open AF_DPF sockets. */
  readonly sockets: number;
  /** Bytes of receive rings allocated over all sockets now (each grows on demand and trims back when empty at a detach). */
  readonly ringBytesAllocated: number;
  /** Frames a filter claimed (queued or dropped: either way not the conventional path's). */
  readonly framesClaimed: number;
  /** Frames copied into a socket's queue, and frames a full queue refused. */
  readonly framesQueued: number;
  readonly queueDrops: number;
  /** Frames processes took out of the queues (recv, read, batches). */
  readonly framesDelivered: number;
  /** Frames sent from DPF sockets, their bytes, and sends the card refused. */
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly sendErrors: number;
  /** `dpf_send_tso` super-segments sent (by the card, or cut in software). */
  readonly tsoFrames: number;
  /** Segments the kernel cut in software for cards that cannot segment. */
  readonly tsoSegmentsSoftware: number;
  /** Super-segment sends refused, by errno name (EINVAL, EMSGSIZE; ENOBUFS when the card dropped). */
  readonly tsoRefused: Readonly<Record<string, number>>;
  /** Successful attaches and detaches (closes and exits included), and refusals by DPF code. */
  readonly attaches: number;
  readonly detaches: number;
  readonly refused: Readonly<Record<string, number>>;
  /** Bounds of each socket's queue. */
  readonly queueFrames: number;
  readonly queueBytes: number;
}

/** One card as the sockets see it: index = position in `NetStack.ifaces`. */
interface Card {
  readonly iface: NetIface;
  /** A packet socket bound to the card: the send path DPF sockets reuse. */
  readonly sender: PacketSocket;
  /** The `sockaddr_dpf` of frames from this card. */
  readonly sockaddr: Uint8Array;
  /** Its `dpf_ifinfo`. */
  readonly info: Uint8Array;
}

function checkedOption(v: number | undefined, fallback: number, min: number, name: string): number {
  const x = v ?? fallback;
  if (!Number.isSafeInteger(x) || x < min) throw new RangeError(`AfDpf: ${name} must be an integer ≥ ${min}`);
  return x;
}

const utf8 = new TextEncoder();

/**
 * The AF_DPF socket layer of one machine: the sockets, the filter → socket map the receive hook
 * uses, the cards, and the system calls. Create it, then `install(kernel)`.
 */
export class AfDpf {
  readonly engine: DpfEngine;
  readonly #net: NetStack;
  readonly #log: Logger;
  readonly #cards: readonly Card[];
  readonly #queueFrames: number;
  readonly #queueBytes: number;
  /** The socket of each installed filter, by filter id. */
  readonly #byFilter: (DpfSocket | undefined)[];
  /** Queue drops per filter id, since that filter was attached. */
  readonly #filterDrops: Float64Array;
  readonly #sockets = new Set<DpfSocket>();
  /** Kernel copy of a filter being attached (never kept past the call). */
  readonly #scratch = new Uint8Array(DPF_MAX_FILTER_BYTES);
  /** Reused list of iovec views for `dpf_send`. */
  readonly #iov: Uint8Array[] = [];
  /** Checks and sends super-segments (one for all cards: a send runs to completion). */
  readonly #tso = new TsoSender();
  readonly #refused: Record<string, number> = {};
  #framesQueued = 0;
  #queueDrops = 0;
  #framesDelivered = 0;
  #framesSent = 0;
  #bytesSent = 0;
  #sendErrors = 0;
  #attaches = 0;
  #detaches = 0;

  constructor(opts: AfDpfOptions) {
    this.engine = opts.engine;
    this.#net = opts.net;
    this.#log = opts.log ?? componentLogger('af_dpf');
    const maxFrame = Math.max(0, ...opts.net.ifaces.map((i) => i.dev.mtuBytes + 18));
    this.#queueFrames = checkedOption(opts.queueFrames, 512, 1, 'queueFrames');
    const bytes = checkedOption(opts.queueBytes, 262144, 4, 'queueBytes');
    this.#queueBytes = Math.max(bytes, dpfRecordBytes(Math.min(maxFrame, DPF_MAX_RECORD_FRAME_BYTES))) & ~3;
    const maxFilters = this.engine.stats().maxFilters;
    this.#byFilter = new Array<DpfSocket | undefined>(maxFilters + 1).fill(undefined);
    this.#filterDrops = new Float64Array(maxFilters + 1);
    this.#cards = opts.net.ifaces.map((iface, index) => this.#card(iface, index));
  }

  #card(iface: NetIface, index: number): Card {
    // Private to this card: whatever name the sockaddr_pkt carries (14 bytes may cut a 15-byte
    // interface name) means this card.
    const sender = new PacketSocket(() => iface.dev);
    const pkt = new Uint8Array(SOCKADDR_PKT_BYTES);
    pkt[SOCKADDR_PKT_OFF_FAMILY] = AF_PACKET & 0xff;
    pkt[SOCKADDR_PKT_OFF_FAMILY + 1] = AF_PACKET >>> 8;
    pkt.set(utf8.encode(iface.name).subarray(0, SOCKADDR_PKT_DEVICE_BYTES), SOCKADDR_PKT_OFF_DEVICE);
    if (sender.bind(pkt) !== 0) throw new DaemonError('KERNEL_ERR_REGISTER', `AF_DPF: card ${iface.name} cannot be named in a sockaddr_pkt`);

    const sockaddr = new Uint8Array(SOCKADDR_DPF_BYTES);
    const sa = new DataView(sockaddr.buffer);
    sa.setUint16(SOCKADDR_DPF_OFF_FAMILY, AF_DPF, true);
    sa.setUint16(SOCKADDR_DPF_OFF_CARD, index, true);
    sockaddr.set(iface.dev.mac.subarray(0, 6), SOCKADDR_DPF_OFF_MAC);
    sa.setUint32(SOCKADDR_DPF_OFF_ADDR, iface.ip >>> 0, false);

    const info = new Uint8Array(DPF_IFINFO_BYTES);
    const iv = new DataView(info.buffer);
    iv.setUint16(DPF_IFINFO_OFF_CARD, index, true);
    iv.setUint16(DPF_IFINFO_OFF_MTU, Math.min(iface.dev.mtuBytes, 0xffff), true);
    info.set(iface.dev.mac.subarray(0, 6), DPF_IFINFO_OFF_MAC);
    info[DPF_IFINFO_OFF_PREFIX_LEN] = iface.prefixLen;
    info[DPF_IFINFO_OFF_FLAGS] = iface.dev.tsoMaxBytes >= TSO_MAX_FRAME_BYTES ? DPF_IFINFO_F_TSO : 0;
    iv.setUint32(DPF_IFINFO_OFF_ADDR, iface.ip >>> 0, false);
    info.set(utf8.encode(iface.name).subarray(0, DPF_IFINFO_NAME_BYTES - 1), DPF_IFINFO_OFF_NAME);
    return { iface, sender, sockaddr, info };
  }

  /** Register the socket family, the calls and the exit hook with `kernel`, and take the receive hook. */
  install(kernel: Kernel): void {
    kernel.registerSocketFamily(AF_DPF, (p, type, protocol) => this.socket(p, type, protocol));
    kernel.registerSyscalls(this.#syscalls(kernel.clock));
    kernel.onProcessExit((p) => this.processExited(p.pid));
    this.#net.setRxHook(this.rxHook);
  }

  /**
   * NetStack's receive hook: demultiplex, and queue a claimed frame on its socket (or count the
   * drop). True = claimed: the conventional path never sees the frame. Allocates nothing.
   */
  readonly rxHook: RxHook = (iface, frame) => {
    const id = this.engine.demux(frame, frame.length);
    if (id === 0) return false;
    const s = this.#byFilter[id];
    // Every installed filter has its socket (kept in step by attach/detach); if that were ever
    // broken, the frame goes on to the conventional path rather than vanishing.
    if (s === undefined) return false;
    if (s.deliver(frame, this.#cardIndex(iface))) {
      this.#framesQueued++;
    } else {
      this.#queueDrops++;
      this.#filterDrops[id] = (this.#filterDrops[id] as number) + 1;
    }
    return true;
  };

  #cardIndex(iface: NetIface): number {
    const cards = this.#cards;
    for (let i = 0; i < cards.length; i++) if (cards[i]!.iface === iface) return i;
    return 0xffff;
  }

  /** `socket(AF_DPF, type, protocol)` for `p`: a new socket, or -errno. */
  socket(p: Process, type: number, protocol: number): DpfSocket | number {
    if ((type & ~SOCK_TYPE_FLAGS) !== SOCK_RAW) return -ESOCKTNOSUPPORT;
    if (protocol !== 0) return -EPROTONOSUPPORT;
    // Raw access to the machine's frames is a root privilege (Linux: CAP_NET_RAW), checked once
    // at creation; a descriptor handed to another process keeps working.
    if (p.uid !== 0) return -EPERM;
    const s = new DpfSocket(this);
    this.#sockets.add(s);
    return s;
  }

  /**
   * Attach the filter encoded in `bytes` to `s` for `owner` (thick layer: `bytes` is a kernel
   * copy, not kept). Returns the filter id, or -errno (`DPF_ERRNO`) with the reason kept for
   * `dpf_geterror`. Replaces the socket's filter: the new one is merged before the old one goes,
   * so a refused filter leaves the old one in place. Re-attaching the filter the socket already
   * has, from its owner, keeps it (same id).
   */
  attach(s: DpfSocket, bytes: Uint8Array, owner: DpfOwner): number {
    if (s.refs === 0) return -EBADF;
    const old = s.filterId;
    if (old !== 0 && s.owner?.pid === owner.pid && this.#sameFilter(old, bytes)) return old;
    const r = this.engine.insertBinary(bytes, owner);
    if (!r.ok) return this.#refuse(s, r.code, r.reason, r.log);
    if (old !== 0) this.#unhook(s);
    this.#byFilter[r.id] = s;
    this.#filterDrops[r.id] = 0;
    s.filterAttached(r.id, { pid: owner.pid, uid: owner.uid }, this.#queueFrames, this.#queueBytes);
    this.#attaches++;
    // Guarded: Cheetah attaches per connection, and the fields object is built even when unlogged.
    if (this.#log.isLevelEnabled('debug')) this.#log.debug({ id: r.id, pid: owner.pid }, 'filter attached');
    return r.id;
  }

  /** Whether `bytes` encode filter `id`'s canonical atoms (only asked on a re-attach). */
  #sameFilter(id: number, bytes: Uint8Array): boolean {
    const p = parseFilterBinary(bytes);
    const v = p.ok ? verify(p.ast) : undefined;
    return v?.ok === true && formatNormalFilter(normalize(v.filter)) === this.engine.filter(id)?.canonical;
  }

  /** Remove `s`'s filter `id` (which must be its filter): 0, or -ENOENT. Queued frames stay. */
  detach(s: DpfSocket, id: number): number {
    if (id === 0 || id !== s.filterId) {
      return this.#refuse(s, DPF_BOGUSID, id === 0 ? 'filter id 0 names no filter' : `filter #${id} is not this socket's filter`);
    }
    this.#unhook(s);
    return 0;
  }

  /** The filter of `s` leaves the engine and the map. */
  #unhook(s: DpfSocket): void {
    const id = s.filterId;
    this.engine.remove(id);
    this.#byFilter[id] = undefined;
    s.filterDetached();
    this.#detaches++;
    if (this.#log.isLevelEnabled('debug')) this.#log.debug({ id }, 'filter detached');
  }

  #refuse(s: DpfSocket, code: DpfErrorCode, reason: string, log: readonly string[] = []): number {
    const name = dpfErrorName(code);
    this.#refused[name] = (this.#refused[name] ?? 0) + 1;
    s.lastError = `${name} (${code}): ${reason}${log.length > 0 ? `\n${log.join('\n')}` : ''}`;
    return -DPF_ERRNO[code];
  }

  /** Process `pid` exited: its filters go (`removeOwner`), also from sockets other processes hold. */
  processExited(pid: number): void {
    // Its own descriptors were closed before the exit hooks ran, so only filters on sockets
    // shared with a process that lives on can be left.
    if (this.engine.removeOwner(pid) === 0) return;
    for (const s of this.#sockets) {
      if (s.filterId !== 0 && s.owner?.pid === pid) {
        this.#byFilter[s.filterId] = undefined;
        s.filterDetached();
        this.#detaches++;
      }
    }
  }

  /** The last reference to `s` went: its filter and queue go. */
  released(s: DpfSocket): void {
    if (s.filterId !== 0) this.#unhook(s);
    this.#sockets.delete(s);
  }

  /** The `sockaddr_dpf` of frames from `card`, or undefined. */
  sockaddrOf(card: number): Uint8Array | undefined {
    return this.#cards[card]?.sockaddr;
  }

  /** The card a `sockaddr_dpf` (a kernel copy) names: its index, or -errno. */
  cardOf(addr: Uint8Array): number {
    if (addr.length < SOCKADDR_DPF_BYTES) return -EINVAL;
    if ((addr[SOCKADDR_DPF_OFF_FAMILY]! | (addr[SOCKADDR_DPF_OFF_FAMILY + 1]! << 8)) !== AF_DPF) return -EINVAL;
    const card = addr[SOCKADDR_DPF_OFF_CARD]! | (addr[SOCKADDR_DPF_OFF_CARD + 1]! << 8);
    return card < this.#cards.length ? card : -ENODEV;
  }

  /**
   * Send one frame gathered from `iov` (`total` bytes) out of `card`: bytes sent, or -errno.
   * `segmentBytes` > 0 makes it a TCP super-segment of that many payload bytes per segment
   * (`TsoSender.send`); 0 an ordinary frame.
   */
  transmit(card: number, iov: readonly Uint8Array[], total: number, segmentBytes = 0): number {
    const c = this.#cards[card];
    const r = c === undefined ? -ENODEV : segmentBytes === 0 ? c.sender.sendmsg(iov, total, null) : this.#tso.send(c.iface.dev, iov, total, segmentBytes);
    if (r >= 0) {
      this.#framesSent++;
      this.#bytesSent += r;
    } else {
      this.#sendErrors++;
    }
    return r;
  }

  /** Count frames a process took out of a queue. */
  delivered(n: number): void {
    this.#framesDelivered += n;
  }

  /** Every installed filter with its drops and its socket's queue. */
  filterViews(): DpfFilterView[] {
    return this.engine.filters().map((f) => this.#view(f));
  }

  /** One installed filter, or undefined. */
  filterView(id: number): DpfFilterView | undefined {
    const f = this.engine.filter(id);
    return f === undefined ? undefined : this.#view(f);
  }

  #view(f: FilterInfo): DpfFilterView {
    const s = this.#byFilter[f.id];
    return { ...f, drops: this.#filterDrops[f.id]!, queue: s?.queueView() ?? { frames: 0, bytes: 0, capacityFrames: 0, capacityBytes: 0, allocatedBytes: 0 } };
  }

  /** Counters of the socket layer. */
  stats(): AfDpfStats {
    return {
      ...this.#tso.stats(),
      sockets: this.#sockets.size,
      ringBytesAllocated: this.#ringBytes(),
      framesClaimed: this.#framesQueued + this.#queueDrops,
      framesQueued: this.#framesQueued,
      queueDrops: this.#queueDrops,
      framesDelivered: this.#framesDelivered,
      framesSent: this.#framesSent,
      bytesSent: this.#bytesSent,
      sendErrors: this.#sendErrors,
      attaches: this.#attaches,
      detaches: this.#detaches,
      refused: { ...this.#refused },
      queueFrames: this.#queueFrames,
      queueBytes: this.#queueBytes,
    };
  }

  #ringBytes(): number {
    let n = 0;
    for (const s of this.#sockets) n += s.queueView().allocatedBytes;
    return n;
  }

  /**
   * Consistency of the socket layer with the engine (for tests): every installed filter has the
   * socket that names it, and every socket's filter is installed and mapped to it.
   */
  checkInvariants(): string[] {
    const problems: string[] = [];
    const installed = new Set(this.engine.filters().map((f) => f.id));
    this.#byFilter.forEach((s, id) => {
      if (s === undefined) return;
      if (s.filterId !== id) problems.push(`filter #${id} maps to a socket whose filter is #${s.filterId}`);
      if (!installed.has(id)) problems.push(`filter #${id} maps to a socket but is not installed`);
      if (!this.#sockets.has(s)) problems.push(`filter #${id} maps to a released socket`);
    });
    for (const id of installed) if (this.#byFilter[id] === undefined) problems.push(`installed filter #${id} has no socket`);
    for (const s of this.#sockets) if (s.filterId !== 0 && this.#byFilter[s.filterId] !== s) problems.push(`a socket's filter #${s.filterId} is not mapped to it`);
    return problems;
  }

  /** `dpf_send_tso` (and `dpf_send`, with `segmentBytes` 0): the iovec's views go to the card or the segmenter. */
  #send(p: Process, f: unknown, iovPtr: number, iovcnt: number, card: number, segmentBytes: number): number {
    if (!(f instanceof DpfSocket)) return -ENOTSOCK;
    const total = importIovec(p, iovPtr, iovcnt, this.#iov);
    return total < 0 ? total : f.sendOn(card, this.#iov, total, segmentBytes);
  }

  /** The AF_DPF system calls (docs/dpf.md "The socket"). */
  #syscalls(clock: Clock): SyscallImpls {
    const af = this;
    return {
      dpf_attach: (p, f, ptr, len) => {
        if (!(f instanceof DpfSocket)) return -ENOTSOCK;
        if (len > DPF_MAX_FILTER_BYTES) return af.#refuse(f, DPF_BOGUSOP, `filter is ${len} bytes, more than any valid filter (${DPF_MAX_FILTER_BYTES})`);
        // One copy in (no double fetch); the engine reads only the copy.
        const bytes = af.#scratch.subarray(0, len);
        bytes.set(p.mem.subarray(ptr, ptr + len));
        return af.attach(f, bytes, { pid: p.pid, uid: p.uid });
      },
      dpf_detach: (_p, f, id) => (f instanceof DpfSocket ? af.detach(f, id) : -ENOTSOCK),
      dpf_recv: (p, f, buf, len, flags) => (f instanceof DpfSocket ? f.recv(p.mem, buf, len, flags, null, 0) : -ENOTSOCK),
      dpf_recvfrom: (p, f, buf, len, flags, from) => (f instanceof DpfSocket ? f.recv(p.mem, buf, len, flags, from === 0 ? null : p.mem, from) : -ENOTSOCK),
      dpf_recvbatch: (p, f, ring, len, maxFrames) => (f instanceof DpfSocket ? f.recvBatch(p.mem, ring, len, maxFrames) : -ENOTSOCK),
      dpf_recvbatch_wait: (p, f, ring, len, maxFrames, timeoutMs) => {
        if (!(f instanceof DpfSocket)) return -ENOTSOCK;
        return waitForIo(p, clock, f, POLLIN, timeoutMs, () => f.recvBatch(p.mem, ring, len, maxFrames));
      },
      dpf_send: (p, f, iovPtr, iovcnt, card) => af.#send(p, f, iovPtr, iovcnt, card, 0),
      dpf_send_tso: (p, f, iovPtr, iovcnt, card, segmentBytes) => af.#send(p, f, iovPtr, iovcnt, card, segmentBytes),
      dpf_geterror: (p, f, buf, len) => {
        if (!(f instanceof DpfSocket)) return -ENOTSOCK;
        const text = f.lastError;
        if (text === null) return 0;
        const bytes = utf8.encode(text);
        if (len > 0) {
          const n = Math.min(bytes.length, len - 1);
          p.mem.set(bytes.subarray(0, n), buf);
          p.mem[buf + n] = 0;
        }
        return bytes.length;
      },
      dpf_ifinfo: (p, card, info) => {
        const c = af.#cards[card];
        if (c === undefined) return -ENODEV;
        p.mem.set(c.info, info);
        return 0;
      },
    };
  }
}

/**
 * An AF_DPF socket: at most one filter, a bounded receive queue, and a send path to every card.
 * Operations take `(bytes, offset, length)` over any `Uint8Array` (a process's memory or a kernel
 * buffer) and never keep it.
 */
export class DpfSocket extends MessageSocket {
  readonly kind = 'dpf';
  readonly #af: AfDpf;
  #filterId = 0;
  #owner: DpfOwner | null = null;
  #queue: FrameQueue | null = null;
  #boundCard = -1;
  /** The last refused attach or detach: "DPF_CODE (n): reason" and the verifier's log. */
  lastError: string | null = null;
  framesQueued = 0;
  drops = 0;
  framesRead = 0;
  framesSent = 0;
  bytesSent = 0;
  sendErrors = 0;
  /** Reused list of frame pieces for single-buffer writes. */

  /** Made by `AfDpf.socket`. */
  constructor(af: AfDpf) {
    super();
    this.#af = af;
  }

  /** Id of the attached filter, 0 when none. */
  get filterId(): number {
    return this.#filterId;
  }

  /** Owner of the attached filter, null when none. */
  get owner(): DpfOwner | null {
    return this.#owner;
  }

  /** @internal AfDpf: filter `id` now feeds this socket; the queue is made at the first attach. */
  filterAttached(id: number, owner: DpfOwner, queueFrames: number, queueBytes: number): void {
    this.#filterId = id;
    this.#owner = owner;
    if (this.#queue === null) this.#queue = new FrameQueue(queueFrames, queueBytes);
    else this.#queue.trim();
  }

  /** @internal AfDpf: the filter is gone (frames already queued stay readable; the ring shrinks once empty). */
  filterDetached(): void {
    this.#filterId = 0;
    this.#owner = null;
    this.#queue?.trim();
  }

  /** @internal the receive hook: copy a claimed frame in. False when the queue refused it (counted). */
  deliver(frame: Uint8Array, card: number): boolean {
    if (this.#queue === null || !this.#queue.push(frame, card)) {
      this.drops++;
      return false;
    }
    this.framesQueued++;
    this.waitq.wake(POLLIN | POLLRDNORM);
    return true;
  }

  poll(): number {
    const q = this.#queue;
    return POLLOUT | POLLWRNORM | (q !== null && q.frames > 0 ? POLLIN | POLLRDNORM : 0);
  }

  /**
   * Take one frame: copy its first `len` bytes to `dst[off…]` and, when `from` is given, the
   * `sockaddr_dpf` of its card to `from[fromOff…]`. Returns the bytes copied (with MSG_TRUNC:
   * the frame's length), -EAGAIN when none is queued. MSG_PEEK leaves it queued.
   */
  recv(dst: Uint8Array, off: number, len: number, flags: number, from: Uint8Array | null, fromOff: number): number {
    if ((flags & ~(MSG_PEEK | MSG_TRUNC)) !== 0) return -EOPNOTSUPP;
    const q = this.#queue;
    const n = q === null ? -1 : q.peekLength();
    if (q === null || n < 0) return -EAGAIN;
    const c = Math.min(n, len);
    if (from !== null) {
      const sa = this.#af.sockaddrOf(q.peekCard());
      if (sa !== undefined) from.set(sa, fromOff);
    }
    q.copyOldest(0, dst, off, c);
    if ((flags & MSG_PEEK) === 0) {
      q.shift();
      this.#took(1);
    }
    return (flags & MSG_TRUNC) !== 0 ? n : c;
  }

  /**
   * Move up to `maxFrames` (0: no limit) whole frames into `dst[off, off + len)` as batch records.
   * Returns the count; -EAGAIN when none is queued, -EMSGSIZE when the oldest frame's record
   * alone does not fit in `len`.
   */
  recvBatch(dst: Uint8Array, off: number, len: number, maxFrames: number): number {
    const q = this.#queue;
    if (q === null || q.frames === 0) return -EAGAIN;
    const n = q.takeRecords(dst, off, len, maxFrames);
    if (n === 0) return -EMSGSIZE;
    this.#took(n);
    return n;
  }

  #took(n: number): void {
    this.framesRead += n;
    this.#af.delivered(n);
    // A detached socket read empty shrinks too: it may wait long in a server's pool of idle sockets.
    if (this.#filterId === 0 && this.#queue!.frames === 0) this.#queue!.trim();
  }

  /** One frame, cut to `len` (datagram semantics: the rest of it is discarded). */
  override read(dst: Uint8Array, off: number, len: number): number {
    return this.recv(dst, off, len, 0, null, 0);
  }

  /** One frame scattered over `iov`. */
  override readv(iov: readonly Uint8Array[]): number {
    const q = this.#queue;
    const n = q === null ? -1 : q.peekLength();
    if (q === null || n < 0) return -EAGAIN;
    let done = 0;
    for (const v of iov) {
      const c = Math.min(v.length, n - done);
      q.copyOldest(done, v, 0, c);
      done += c;
      if (done === n) break;
    }
    q.shift();
    this.#took(1);
    return done;
  }

  /** FIONREAD: the length of the next frame (0 when none), as Linux reports for datagram sockets. */
  override readableBytes(): number {
    const n = this.#queue?.peekLength() ?? -1;
    return n < 0 ? 0 : n;
  }

  /** Name the card `write`/`writev` and address-less sends go out of. */
  override bind(addr: Uint8Array): number {
    const card = this.#af.cardOf(addr);
    if (card < 0) return card;
    this.#boundCard = card;
    return 0;
  }

  /** One whole frame to the card `addr` (a `sockaddr_dpf`) names, or the bound card. */
  override sendmsg(iov: readonly Uint8Array[], total: number, addr: Uint8Array | null): number {
    let card = this.#boundCard;
    if (addr !== null) {
      card = this.#af.cardOf(addr);
      if (card < 0) return card;
    }
    if (card < 0) return -EDESTADDRREQ;
    return this.sendOn(card, iov, total);
  }

  /** One whole frame gathered from `iov` out of card index `card` (a super-segment when `segmentBytes` > 0): bytes sent, or -errno. */
  sendOn(card: number, iov: readonly Uint8Array[], total: number, segmentBytes = 0): number {
    const r = this.#af.transmit(card, iov, total, segmentBytes);
    if (r >= 0) {
      this.framesSent++;
      this.bytesSent += r;
    } else {
      this.sendErrors++;
    }
    return r;
  }

  /** The queue's contents and bounds (zeros before the first attach). */
  queueView(): DpfQueueView {
    const q = this.#queue;
    return q === null
      ? { frames: 0, bytes: 0, capacityFrames: 0, capacityBytes: 0, allocatedBytes: 0 }
      : { frames: q.frames, bytes: q.usedBytes, capacityFrames: q.capacityFrames, capacityBytes: q.capacityBytes, allocatedBytes: q.allocatedBytes };
  }

  override release(): void {
    this.#af.released(this);
    this.#queue = null;
  }

  describe(): Record<string, unknown> {
    return {
      filterId: this.#filterId === 0 ? null : this.#filterId,
      owner: this.#owner,
      boundCard: this.#boundCard < 0 ? null : this.#boundCard,
      queue: this.queueView(),
      framesQueued: this.framesQueued,
      drops: this.drops,
      framesRead: this.framesRead,
      framesSent: this.framesSent,
      bytesSent: this.bytesSent,
      sendErrors: this.sendErrors,
      lastError: this.lastError,
    };
  }
}
