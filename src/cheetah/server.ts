/**
 * The Cheetah process: everything between the kernel's system calls and the server core.
 *
 * - Cards: learned with `dpf_ifinfo` (name, MAC, MTU, the machine's address). Per served card one
 *   AF_DPF socket with the listener filter (TCP to the card's address and Cheetah's port).
 * - Connections: when the core hands a connection to HTTP, it gets a socket of its own with a
 *   filter for its peer (DPF's hash nodes: no code generated); when it ends, the filter is
 *   detached, the frames still queued are read, and the socket goes back to a small pool (or is
 *   closed). Without a socket (attach refused, no descriptor) its frames keep coming through the
 *   listener: nothing is lost but a little demultiplexing.
 * - Waiting: one epoll set, edge-triggered, every socket in it; `epoll_wait`'s timeout is the
 *   core's next deadline (TCP timers, HTTP timeouts).
 * - Receiving: `dpf_recvbatch` moves queued frames as records into one ring in process memory;
 *   each frame is fed to the core as a view of that ring, inside one TCP pass per loop turn (one
 *   ACK per connection per batch, replies merged).
 * - Sending: every TCP frame is one `dpf_send` of a gather list (`struct iovec`) pointing into
 *   process memory: the TCP header buffer, the response head, the cached document. A TCP
 *   super-segment (`TxFrame.tsoSegmentBytes` > 0, up to 64 KiB) goes out with `dpf_send_tso`:
 *   the card cuts it into segments (TSO), or the kernel does when the card cannot.
 * - SIGTERM: stop accepting, let responses in progress finish for `drainMs`, reset the rest,
 *   close everything, return 0.
 *
 * Clocks: the monotonic and wall clocks are read once per loop turn (`clock_gettime`), so
 * protocol code sees a time that only moves between batches.
 */
import {
  AF_DPF,
  CLOCK_MONOTONIC,
  CLOCK_REALTIME,
  DPF_IFINFO_BYTES,
  DPF_IFINFO_NAME_BYTES,
  DPF_IFINFO_OFF_ADDR,
  DPF_IFINFO_OFF_MAC,
  DPF_IFINFO_OFF_MTU,
  DPF_IFINFO_OFF_NAME,
  DPF_IFINFO_OFF_PREFIX_LEN,
  DPF_REC_HEADER_BYTES,
  DPF_REC_OFF_CARD,
  DPF_REC_OFF_LEN,
  EAGAIN,
  EINTR,
  ENODEV,
  ENOMEM,
  EPOLLET,
  EPOLLIN,
  EPOLL_CTL_ADD,
  EPOLL_EVENT_BYTES,
  EPOLL_EVENT_OFF_DATA,
  IOVEC_BYTES,
  SIGTERM,
  SOCK_RAW,
  TIMESPEC_OFF_NSEC,
  TIMESPEC_OFF_SEC,
  dpfRecordBytes,
  errnoName,
  type Libc,
} from '../kernel/abi/index.js';
import { DPF_MAX_FILTER_BYTES } from '../kernel/dpf/lang/index.js';
import { macFromBytes } from '../wire/index.js';
import { CheetahCore, type CheetahMemory } from './core.js';
import { ConnectionFilterTemplate, listenerFilter } from './filters.js';
import type { HttpOptions } from './http/index.js';
import { SyscallDocumentSource } from './http/syscall-source.js';
import { Xoshiro128, resolveTcpConfig, type Rng, type TcpConfig, type TxFrame } from './net/index.js';
import type { Session } from './session.js';
import { CheetahReporter, type ServedCard } from './status.js';
import type { CheetahDpfCounters, CheetahIoCounters, CheetahView } from './view.js';

/** What the process is told (the daemon's `cheetah` config section carries the same names). */
export interface CheetahOptions {
  /** TCP port claimed on every served card. */
  port: number;
  /** Names of the cards to serve; empty = every card. */
  cards: readonly string[];
  /** Frames taken per `dpf_recvbatch`. */
  recvBatchFrames: number;
  /** Events taken per `epoll_wait`. */
  maxEvents: number;
  /** Idle connection sockets kept for the next accepts. */
  socketPool: number;
  /**
   * A DPF filter and socket per accepted connection (the thesis's design). False leaves every
   * connection's frames to its card's listener — only to measure what the filters cost.
   */
  connectionFilters: boolean;
  /** After SIGTERM, how long responses in progress may finish (ms). */
  drainMs: number;
  /** Keep per-segment checksums of cached documents. */
  precomputeChecksums: boolean;
  http: Partial<HttpOptions>;
  tcp: Partial<TcpConfig>;
}

export const DEFAULT_CHEETAH_OPTIONS: Readonly<CheetahOptions> = Object.freeze({
  port: 80,
  cards: [],
  recvBatchFrames: 128,
  maxEvents: 1024,
  socketPool: 64,
  connectionFilters: true,
  drainMs: 1000,
  precomputeChecksums: true,
  http: {},
  tcp: { rcvBufBytes: 16384 },
});

/** What the process gets from whoever starts it besides its options. */
export interface CheetahStart {
  /** At least 24 bytes of entropy (the secrets of ISNs, SYN cookies, timestamp offsets) — Linux's AT_RANDOM. */
  seed: Uint8Array;
  /** Where to publish its state for the admin API. */
  view?: CheetahView;
}

/** Most cards the kernel describes (`dpf_ifinfo` past the last one is ENODEV). */
const MAX_CARDS = 64;
/** Largest frame a batch record can carry (its length is a u16). */
const MAX_FRAME_BYTES = 0xffff;
/** Largest TCP super-segment: a 64 KiB IPv4 packet in an Ethernet frame (the `dpf_send_tso` bound). */
const MAX_TSO_FRAME_BYTES = 0xffff + 14;
/**
 * Gather-list entries per frame: the TCP header and the payload pieces — a few for a segment, up
 * to two per response for a super-segment of pipelined responses (head and document).
 */
const MAX_IOV = 64;

/** The kernel's entropy first (as many words as it gave), then a generator seeded from it. */
class SeedRng implements Rng {
  readonly #words: number[] = [];
  #next = 0;
  readonly #gen: Xoshiro128;

  constructor(seed: Uint8Array) {
    for (let i = 0; i + 4 <= seed.length; i += 4) this.#words.push(((seed[i]! << 24) | (seed[i + 1]! << 16) | (seed[i + 2]! << 8) | seed[i + 3]!) >>> 0);
    let mix = 0;
    for (const w of this.#words) mix = (Math.imul(mix, 0x9e3779b1) ^ w) >>> 0;
    this.#gen = new Xoshiro128(mix);
  }

  nextU32(): number {
    return this.#next < this.#words.length ? this.#words[this.#next++]! : this.#gen.nextU32();
  }
}

/** Process memory as views: what TCP and HTTP send by reference lives here. */
class ProcessMemory implements CheetahMemory {
  readonly #sys: Libc;

  constructor(sys: Libc) {
    this.#sys = sys;
  }

  alloc(bytes: number): Uint8Array | undefined {
    const p = this.#sys.malloc(Math.max(1, bytes));
    return p === 0 ? undefined : this.#sys.mem.subarray(p, p + bytes);
  }

  free(bytes: Uint8Array): void {
    if (bytes.buffer === this.#sys.mem.buffer) this.#sys.free(bytes.byteOffset);
  }
}

/** A call the server cannot do without failed: its errno (the exit status) and which call. */
class SetupError extends Error {
  constructor(
    readonly errno: number,
    what: string,
  ) {
    super(`${what}: ${errnoName(errno)}`);
  }
}

/**
 * Run Cheetah in the calling process until SIGTERM. Returns the exit status: 0, or the errno of
 * the setup call that failed (the view's `lastExit.error` says which).
 */
export async function runCheetah(sys: Libc, options: Partial<CheetahOptions>, start: CheetahStart): Promise<number> {
  const opts: CheetahOptions = { ...DEFAULT_CHEETAH_OPTIONS, ...options, tcp: { ...DEFAULT_CHEETAH_OPTIONS.tcp, ...options.tcp } };
  const pid = sys.getpid();
  const server = new CheetahServer(sys, opts);
  try {
    server.setUp(start.seed);
    start.view?.publish(pid, server.reporter);
    await server.run();
    start.view?.ended({ pid, code: 0, error: null });
    return 0;
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    server.closeAll();
    start.view?.ended({ pid, code: e.errno, error: e.message });
    return e.errno;
  }
}

/**
 * The loop and its resources. `setUp` acquires everything (and may throw `SetupError`, after
 * which `closeAll` releases what it got); `run` serves until SIGTERM.
 */
class CheetahServer {
  readonly io: CheetahIoCounters = {
    loops: 0,
    events: 0,
    recvCalls: 0,
    framesReceived: 0,
    bytesReceived: 0,
    recvErrors: {},
    framesSent: 0,
    bytesSent: 0,
    sendErrors: {},
    bouncedFrames: 0,
    bouncedBytes: 0,
    badRecords: 0,
  };
  readonly dpf: CheetahDpfCounters = {
    filters: 0,
    listenerFilters: 0,
    connectionFilters: 0,
    sockets: 0,
    pooledSockets: 0,
    socketsCreated: 0,
    socketsClosed: 0,
    attaches: 0,
    detaches: 0,
    fallbacks: 0,
    attachErrors: {},
  };
  readonly #sys: Libc;
  readonly #opts: CheetahOptions;
  #core!: CheetahCore;
  #reporter!: CheetahReporter;
  #cards: ServedCard[] = [];
  /** Core interface index → the kernel's card index, and back (-1: a card not served). */
  #kernelCard: number[] = [];
  readonly #nicOf = new Int32Array(MAX_CARDS).fill(-1);
  readonly #listeners: Array<{ fd: number; filterId: number }> = [];
  #templates: ConnectionFilterTemplate[] = [];
  #ep = -1;
  // Process memory the loop reuses (pointers): events, the receive ring, one gather list, one
  // epoll_event, a bounce buffer (also where filters are copied from), a timespec.
  #events = 0;
  #ring = 0;
  #ringBytes = 0;
  #iov = 0;
  #event = 0;
  #bounce = 0;
  #bounceBytes = 0;
  #timespec = 0;
  /** Idle connection sockets (no filter, queue read empty). */
  readonly #pool: number[] = [];
  /** Sockets of connections that ended this turn: read what is still queued, then pool or close. */
  readonly #retiring: number[] = [];
  /** Every connection socket held (in use, retiring or pooled). */
  readonly #connSockets = new Set<number>();
  #now = 0;
  #wallOffset = 0;
  #stopping = false;
  /** The last `epoll_wait` filled its event array: sockets may be ready that were not read yet. */
  #eventsTruncated = false;

  constructor(sys: Libc, opts: CheetahOptions) {
    this.#sys = sys;
    this.#opts = opts;
  }

  get reporter(): CheetahReporter {
    return this.#reporter;
  }

  setUp(seed: Uint8Array): void {
    const sys = this.#sys;
    const opts = this.#opts;
    this.#timespec = this.#malloc(16, 'timespec');
    this.#readClocks();
    const startedAtMs = this.#now + this.#wallOffset;

    this.#cards = this.#discoverCards(opts.cards);
    this.#kernelCard = this.#cards.map((c) => c.index);
    this.#cards.forEach((c, i) => (this.#nicOf[c.index] = i));
    this.#templates = this.#cards.map((c) => new ConnectionFilterTemplate(c.addr, opts.port));

    const maxFrame = Math.min(MAX_FRAME_BYTES, Math.max(...this.#cards.map((c) => c.mtuBytes + 18)));
    this.#events = this.#malloc(opts.maxEvents * EPOLL_EVENT_BYTES, 'epoll events');
    this.#ringBytes = opts.recvBatchFrames * dpfRecordBytes(maxFrame);
    this.#ring = this.#malloc(this.#ringBytes, 'receive ring');
    this.#iov = this.#malloc(MAX_IOV * IOVEC_BYTES, 'iovec');
    this.#event = this.#malloc(EPOLL_EVENT_BYTES, 'epoll_event');
    // Super-segments may need the bounce buffer too (a piece outside process memory).
    this.#bounceBytes = Math.max(maxFrame, DPF_MAX_FILTER_BYTES, resolveTcpConfig(opts.tcp).tsoMaxSegments > 1 ? MAX_TSO_FRAME_BYTES : 0);
    this.#bounce = this.#malloc(this.#bounceBytes, 'bounce buffer');

    const ep = sys.epoll_create1(0);
    if (ep < 0) throw new SetupError(-ep, 'epoll_create1');
    this.#ep = ep;

    this.#core = new CheetahCore({
      interfaces: this.#cards.map((c) => ({ mac: c.mac, addr: c.addr, prefixLen: c.prefixLen, mtuBytes: c.mtuBytes })),
      port: opts.port,
      source: new SyscallDocumentSource(sys),
      http: opts.http,
      tcp: opts.tcp,
      rng: new SeedRng(seed),
      now: () => this.#now,
      wallNow: () => this.#now + this.#wallOffset,
      transmit: (f) => this.#send(f),
      memory: new ProcessMemory(sys),
      precomputeChecksums: opts.precomputeChecksums,
      hooks: { opened: (s) => this.#opened(s), closed: (s) => this.#closed(s) },
    });

    for (const c of this.#cards) {
      const fd = this.#socket();
      if (fd < 0) throw new SetupError(-fd, `socket(AF_DPF) for the listener on ${c.name}`);
      this.#listeners.push({ fd, filterId: 0 });
      const id = this.#attach(fd, listenerFilter(c.addr, opts.port));
      if (id < 0) throw new SetupError(-id, `dpf_attach (listener on ${c.name})`);
      this.#listeners[this.#listeners.length - 1]!.filterId = id;
      this.dpf.listenerFilters++;
    }

    this.#reporter = new CheetahReporter(this.#core, {
      pid: sys.getpid(),
      port: opts.port,
      startedAtMs,
      cards: this.#cards,
      listenerSockets: this.#listeners,
      io: this.io,
      dpf: this.dpf,
      memory: () => {
        const h = sys.heapStats();
        return { processBytes: sys.mem.length, heapInUseBytes: h.inUseBytes, heapPeakBytes: h.peakInUseBytes, heapBlocks: h.inUseBlocks };
      },
      now: () => this.#now,
      wallNow: () => this.#now + this.#wallOffset,
    });
    this.#syncGauges();
  }

  #malloc(bytes: number, what: string): number {
    const p = this.#sys.malloc(bytes);
    if (p === 0) throw new SetupError(ENOMEM, `malloc (${what}, ${bytes} bytes)`);
    return p;
  }

  /** Both clocks, once per loop turn (the wall clock kept as an offset from the monotonic one). */
  #readClocks(): void {
    const sys = this.#sys;
    const v = sys.view;
    const ts = this.#timespec;
    sys.clock_gettime(CLOCK_MONOTONIC, ts);
    this.#now = Number(v.getBigInt64(ts + TIMESPEC_OFF_SEC, true)) * 1000 + Number(v.getBigInt64(ts + TIMESPEC_OFF_NSEC, true)) / 1e6;
    sys.clock_gettime(CLOCK_REALTIME, ts);
    const wall = Number(v.getBigInt64(ts + TIMESPEC_OFF_SEC, true)) * 1000 + Number(v.getBigInt64(ts + TIMESPEC_OFF_NSEC, true)) / 1e6;
    this.#wallOffset = wall - this.#now;
  }

  #discoverCards(wanted: readonly string[]): ServedCard[] {
    const sys = this.#sys;
    const info = this.#malloc(DPF_IFINFO_BYTES, 'dpf_ifinfo');
    const cards: ServedCard[] = [];
    const text = new TextDecoder();
    for (let i = 0; i < MAX_CARDS; i++) {
      const r = sys.call('dpf_ifinfo', i, info);
      if (r === -ENODEV) break;
      if (r < 0) throw new SetupError(-r, `dpf_ifinfo ${i}`);
      const nameBytes = sys.mem.subarray(info + DPF_IFINFO_OFF_NAME, info + DPF_IFINFO_OFF_NAME + DPF_IFINFO_NAME_BYTES);
      const nul = nameBytes.indexOf(0);
      const name = text.decode(nameBytes.subarray(0, nul < 0 ? nameBytes.length : nul));
      if (wanted.length > 0 && !wanted.includes(name)) continue;
      cards.push({
        name,
        index: i,
        mac: macFromBytes(sys.mem, info + DPF_IFINFO_OFF_MAC),
        addr: sys.view.getUint32(info + DPF_IFINFO_OFF_ADDR, false),
        prefixLen: sys.mem[info + DPF_IFINFO_OFF_PREFIX_LEN]!,
        mtuBytes: sys.view.getUint16(info + DPF_IFINFO_OFF_MTU, true),
      });
    }
    sys.free(info);
    if (cards.length === 0) throw new SetupError(ENODEV, wanted.length > 0 ? `no card named ${wanted.join(', ')}` : 'no card');
    return cards;
  }

  /** A new AF_DPF socket in the epoll set (edge-triggered: each wake-up is read to EAGAIN); its fd or -errno. */
  #socket(): number {
    const sys = this.#sys;
    const fd = sys.socket(AF_DPF, SOCK_RAW, 0);
    if (fd < 0) return fd;
    const v = sys.view;
    const ev = this.#event;
    v.setUint32(ev, EPOLLIN | EPOLLET, true);
    v.setUint32(ev + EPOLL_EVENT_OFF_DATA, fd, true);
    v.setUint32(ev + EPOLL_EVENT_OFF_DATA + 4, 0, true);
    const r = sys.epoll_ctl(this.#ep, EPOLL_CTL_ADD, fd, ev);
    if (r < 0) {
      sys.close(fd);
      return r;
    }
    this.dpf.socketsCreated++;
    return fd;
  }

  /** Copy a filter into process memory and attach it to `fd`: the filter id, or -errno. */
  #attach(fd: number, bytes: Uint8Array): number {
    const sys = this.#sys;
    sys.mem.set(bytes, this.#bounce);
    return sys.call('dpf_attach', fd, this.#bounce, bytes.length);
  }

  // ---- the loop ----

  async run(): Promise<void> {
    const sys = this.#sys;
    sys.sigaction(SIGTERM, () => {
      this.#stopping = true;
    });
    const core = this.#core;
    const events = this.#events;
    let drainUntil = Infinity;
    for (;;) {
      if (this.#stopping && drainUntil === Infinity) {
        core.drain();
        drainUntil = this.#now + this.#opts.drainMs;
      }
      if (this.#stopping && (core.sessions.size === 0 || this.#now >= drainUntil)) break;
      const deadline = Math.min(core.nextDeadline(), drainUntil);
      const timeoutMs = deadline === Infinity ? -1 : Math.max(0, Math.ceil(deadline - this.#now));
      const n = await sys.epoll_wait(this.#ep, events, this.#opts.maxEvents, timeoutMs);
      this.#readClocks();
      this.io.loops++;
      if (n < 0) {
        if (n === -EINTR) continue;
        throw new SetupError(-n, 'epoll_wait');
      }
      this.io.events += n;
      this.#eventsTruncated = n === this.#opts.maxEvents;
      if (n > 0) {
        core.batch(() => {
          const v = sys.view;
          for (let i = 0; i < n; i++) this.#drain(v.getUint32(events + i * EPOLL_EVENT_BYTES + EPOLL_EVENT_OFF_DATA, true));
        });
      }
      core.poll();
      this.#retire();
    }
    // Whatever is left after the drain time is reset.
    this.#eventsTruncated = true;
    core.abort();
    this.#retire();
    this.closeAll();
  }

  /** Feed every frame queued on socket `fd` to the core (the caller runs this inside a TCP pass). */
  #drain(fd: number): void {
    const sys = this.#sys;
    const mem = sys.mem;
    const ring = this.#ring;
    const ringEnd = ring + this.#ringBytes;
    const max = this.#opts.recvBatchFrames;
    const io = this.io;
    for (;;) {
      const n = sys.call('dpf_recvbatch', fd, ring, this.#ringBytes, max);
      if (n < 0) {
        // EAGAIN: read to the end. Anything else ends this socket's turn too, counted.
        if (n !== -EAGAIN) count(io.recvErrors, errnoName(n));
        return;
      }
      io.recvCalls++;
      let at = ring;
      for (let k = 0; k < n; k++) {
        const len = mem[at + DPF_REC_OFF_LEN]! | (mem[at + DPF_REC_OFF_LEN + 1]! << 8);
        const card = mem[at + DPF_REC_OFF_CARD]! | (mem[at + DPF_REC_OFF_CARD + 1]! << 8);
        const frame = at + DPF_REC_HEADER_BYTES;
        if (frame + len > ringEnd) {
          io.badRecords++;
          break;
        }
        io.framesReceived++;
        io.bytesReceived += len;
        // A frame from a card not served goes in as an unknown interface: dropped and counted ('notForUs').
        const nic = card < MAX_CARDS ? this.#nicOf[card]! : -1;
        this.#core.input(mem.subarray(frame, frame + len), nic < 0 ? this.#cards.length : nic);
        at += dpfRecordBytes(len);
      }
      if (n < max) return;
    }
  }

  /**
   * One frame out of its card: one `dpf_send` of a gather list into process memory, or
   * `dpf_send_tso` for a super-segment.
   */
  #send(f: TxFrame): void {
    const sys = this.#sys;
    const v = sys.view;
    const membuf = sys.mem.buffer;
    const iov = this.#iov;
    let total = f.headerLen;
    let inMemory = f.header.buffer === membuf && f.pieces < MAX_IOV;
    for (let i = 0; i < f.pieces; i++) {
      total += f.pieceLength[i]!;
      if (f.pieceBuf[i]!.buffer !== membuf) inMemory = false;
    }
    let cnt: number;
    if (inMemory) {
      v.setUint32(iov, f.header.byteOffset + f.headerOffset, true);
      v.setUint32(iov + 4, f.headerLen, true);
      for (let i = 0; i < f.pieces; i++) {
        const at = iov + (i + 1) * IOVEC_BYTES;
        v.setUint32(at, f.pieceBuf[i]!.byteOffset + f.pieceOffset[i]!, true);
        v.setUint32(at + 4, f.pieceLength[i]!, true);
      }
      cnt = f.pieces + 1;
    } else {
      // A piece on the JS heap (process memory ran out when it was made): one copy, counted.
      if (total > this.#bounceBytes) {
        count(this.io.sendErrors, 'EMSGSIZE');
        return;
      }
      const mem = sys.mem;
      let at = this.#bounce;
      mem.set(f.header.subarray(f.headerOffset, f.headerOffset + f.headerLen), at);
      at += f.headerLen;
      for (let i = 0; i < f.pieces; i++) {
        const o = f.pieceOffset[i]!;
        mem.set(f.pieceBuf[i]!.subarray(o, o + f.pieceLength[i]!), at);
        at += f.pieceLength[i]!;
      }
      v.setUint32(iov, this.#bounce, true);
      v.setUint32(iov + 4, total, true);
      cnt = 1;
      this.io.bouncedFrames++;
      this.io.bouncedBytes += total;
    }
    // Any DPF socket sends out of any card; the card's listener is the one always open.
    const via = this.#listeners[f.nic];
    if (via === undefined) {
      count(this.io.sendErrors, 'EBADF');
      return;
    }
    const card = this.#kernelCard[f.nic]!;
    const r = f.tsoSegmentBytes > 0 ? sys.call('dpf_send_tso', via.fd, iov, cnt, card, f.tsoSegmentBytes) : sys.call('dpf_send', via.fd, iov, cnt, card);
    if (r < 0) {
      // The card's queue is full (ENOBUFS): the segment is lost here and TCP sends it again.
      count(this.io.sendErrors, errnoName(r));
      return;
    }
    this.io.framesSent++;
    this.io.bytesSent += total;
  }

  // ---- per-connection sockets ----

  /** A connection was handed to HTTP: a socket with a filter for its peer. */
  #opened(s: Session): void {
    if (!this.#opts.connectionFilters) return;
    let fd = this.#pool.pop();
    if (fd === undefined) {
      fd = this.#socket();
      if (fd < 0) return this.#fallback(errnoName(fd));
      this.#connSockets.add(fd);
    }
    const conn = s.tcp;
    const id = this.#attach(fd, this.#templates[s.nic]!.filter(conn.remoteAddr, conn.remotePort));
    if (id < 0) {
      this.#recycle(fd);
      return this.#fallback(errnoName(id));
    }
    s.fd = fd;
    s.filterId = id;
    this.dpf.attaches++;
    this.#syncGauges();
  }

  #fallback(why: string): void {
    this.dpf.fallbacks++;
    count(this.dpf.attachErrors, why);
    this.#syncGauges();
  }

  /** The connection is gone: its filter goes now, its socket once what is queued has been read. */
  #closed(s: Session): void {
    if (s.fd < 0) return;
    const r = this.#sys.call('dpf_detach', s.fd, s.filterId);
    if (r < 0) count(this.dpf.attachErrors, `detach ${errnoName(r)}`);
    this.dpf.detaches++;
    this.#retiring.push(s.fd);
    s.fd = -1;
    s.filterId = 0;
    this.#syncGauges();
  }

  /**
   * Pool or close the sockets of connections that ended. Frames reach a socket only between two
   * turns of the loop, and every socket `epoll_wait` reported was read to EAGAIN, so a retiring
   * socket is empty — unless the event array was full and some ready socket was not reported:
   * then what retiring sockets still hold (the peer's last ACK or FIN) is read first.
   */
  #retire(): void {
    const r = this.#retiring;
    if (r.length === 0) return;
    if (this.#eventsTruncated) {
      this.#core.batch(() => {
        // Reading may end more connections, which append to the list being walked.
        for (let i = 0; i < r.length; i++) this.#drain(r[i]!);
      });
    }
    for (const fd of r) this.#recycle(fd);
    r.length = 0;
    this.#syncGauges();
  }

  #recycle(fd: number): void {
    if (this.#pool.length < this.#opts.socketPool && !this.#stopping) {
      this.#pool.push(fd);
      return;
    }
    this.#sys.close(fd);
    this.#connSockets.delete(fd);
    this.dpf.socketsClosed++;
  }

  #syncGauges(): void {
    const d = this.dpf;
    d.connectionFilters = d.attaches - d.detaches;
    d.filters = d.listenerFilters + d.connectionFilters;
    d.pooledSockets = this.#pool.length;
    d.sockets = this.#listeners.length + this.#connSockets.size;
  }

  /** Close every descriptor the server holds: its filters go with them (exit path; idempotent). */
  closeAll(): void {
    const sys = this.#sys;
    for (const fd of this.#connSockets) sys.close(fd);
    for (const l of this.#listeners) sys.close(l.fd);
    this.dpf.socketsClosed += this.#connSockets.size + this.#listeners.length;
    this.dpf.detaches = this.dpf.attaches;
    this.dpf.listenerFilters = 0;
    this.#connSockets.clear();
    this.#pool.length = 0;
    this.#listeners.length = 0;
    if (this.#ep >= 0) sys.close(this.#ep);
    this.#ep = -1;
    this.#syncGauges();
  }
}

function count(r: Record<string, number>, key: string): void {
  r[key] = (r[key] ?? 0) + 1;
}
