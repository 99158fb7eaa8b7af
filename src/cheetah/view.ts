/**
 * The read-only window on a running Cheetah — the equivalent of reading /proc. The machine makes
 * one `CheetahView` and hands it to both the Cheetah process (which publishes a source into it
 * while it runs) and the admin API (which reads it). Every read returns fresh plain objects built
 * from Cheetah's counters at that moment; nothing handed out refers to Cheetah's own state, and
 * the view has no method that changes Cheetah.
 */
import type { ClosedByReason } from './core.js';
import type { ChecksumCacheStats } from './checksum-cache.js';
import type { HttpStats } from './http/index.js';
import type { TcpConnectionStats, TcpStackCounters } from './net/index.js';

/** One card's listener. */
export interface CheetahListenerInfo {
  card: string;
  /** Card index (as `dpf_ifinfo` numbers the cards). */
  cardIndex: number;
  mac: string;
  addr: string;
  port: number;
  /** Half-open connections kept before SYN cookies answer. */
  backlog: number;
  halfOpen: number;
  accepted: number;
  cookiesSent: number;
  synDropped: number;
  /** The listener's DPF socket and filter. */
  fd: number;
  filterId: number;
}

/** Counters of the process's I/O loop (syscalls and frames). */
export interface CheetahIoCounters {
  /** Turns of the event loop (one `epoll_wait` each). */
  loops: number;
  /** Events `epoll_wait` reported. */
  events: number;
  /** `dpf_recvbatch` calls and the frames and bytes they brought in. */
  recvCalls: number;
  framesReceived: number;
  bytesReceived: number;
  /** Receive calls that failed other than EAGAIN, by errno name (expected: none). */
  recvErrors: Record<string, number>;
  /** Frames sent (one `dpf_send` each) and their bytes. */
  framesSent: number;
  bytesSent: number;
  /** Sends the kernel refused (a full card queue: ENOBUFS), by errno name. */
  sendErrors: Record<string, number>;
  /** Frames with a piece outside process memory, copied into it before sending (expected: 0). */
  bouncedFrames: number;
  bouncedBytes: number;
  /** Records in a batch that were malformed (length past the ring) — a kernel bug if ever non-zero. */
  badRecords: number;
}

/** Cheetah's DPF sockets and filters. */
export interface CheetahDpfCounters {
  /** Filters held now: one per card's listener plus one per connection that has its own. */
  filters: number;
  listenerFilters: number;
  connectionFilters: number;
  /** AF_DPF sockets held now (listeners, connections, and idle ones kept for reuse). */
  sockets: number;
  pooledSockets: number;
  socketsCreated: number;
  socketsClosed: number;
  /** Connection filters attached and detached since start. */
  attaches: number;
  detaches: number;
  /** Connections served without a filter of their own (attach refused or no descriptor left): their frames come through the listener. */
  fallbacks: number;
  /** Refused attaches by errno name. */
  attachErrors: Record<string, number>;
}

/** Everything `GET /v1/cheetah` shows. */
export interface CheetahStatus {
  pid: number;
  state: 'running' | 'draining';
  /** Wall-clock start (ms since the epoch) and age. */
  startedAtMs: number;
  uptimeMs: number;
  port: number;
  listeners: CheetahListenerInfo[];
  connections: {
    /** In the connection table (every state but LISTEN and TIME-WAIT). */
    open: number;
    established: number;
    halfOpen: number;
    /** Handed to HTTP since start, and those gone since. */
    accepted: number;
    closed: number;
    closedByReason: ClosedByReason;
    timeWait: number;
  };
  requests: { total: number; byStatus: Record<string, number>; byMethod: Record<string, number> };
  bytes: { in: number; out: number; headers: number; bodies: number };
  retransmissions: { segments: number; timeouts: number; fastRetransmits: number };
  synCookiesSent: number;
  /** Frames and segments the TCP stack dropped, by reason (non-zero ones). */
  drops: Record<string, number>;
  dpf: CheetahDpfCounters;
  io: CheetahIoCounters;
  memory: { processBytes: number; heapInUseBytes: number; heapPeakBytes: number; heapBlocks: number };
  checksums: ChecksumCacheStats | null;
  /** The full counters of the two libraries. */
  tcp: TcpStackCounters;
  http: HttpStats;
}

/** One connection as `GET /v1/cheetah/connections` shows it. */
export interface CheetahConnectionInfo extends TcpConnectionStats {
  /** `remoteAddr:remotePort`. */
  peer: string;
  card: string;
  http: { responses: number; pendingRequests: number; state: string };
  dpf: { fd: number; filterId: number };
}

/** One TIME-WAIT entry. */
export interface CheetahTimeWaitInfo {
  localAddr: string;
  localPort: number;
  peer: string;
  card: string;
  expiresInMs: number;
}

/** What a running Cheetah publishes. Each call builds new objects. */
export interface CheetahViewSource {
  status(): CheetahStatus;
  connections(): CheetahConnectionInfo[];
  timeWait(): CheetahTimeWaitInfo[];
  /** Violated invariants of the TCP tables (empty when consistent): a diagnostic, O(connections). */
  invariants(): string[];
}

/** How the last Cheetah ended (while none runs). */
export interface CheetahExitInfo {
  pid: number;
  /** Exit code, or null if it did not return normally. */
  code: number | null;
  error: string | null;
}

export class CheetahView {
  #source: CheetahViewSource | undefined;
  #pid = 0;
  #lastExit: CheetahExitInfo | undefined;

  /** Called by the Cheetah process `pid` once it serves: its state is readable until it ends. */
  publish(pid: number, source: CheetahViewSource): void {
    this.#pid = pid;
    this.#source = source;
  }

  /**
   * Process `exit.pid` ended (told by the process itself when it gives up, and by whoever
   * spawned it when the kernel reports the exit): its state is no longer readable. An error
   * already recorded for that pid is kept when the later report has none.
   */
  ended(exit: CheetahExitInfo): void {
    if (this.#pid === exit.pid) this.#source = undefined;
    const prev = this.#lastExit;
    this.#lastExit = { ...exit, error: exit.error ?? (prev?.pid === exit.pid ? prev.error : null) };
  }

  /** Whether a Cheetah is publishing. */
  get running(): boolean {
    return this.#source !== undefined;
  }

  /** How the last one ended (undefined before any ended). */
  get lastExit(): CheetahExitInfo | undefined {
    return this.#lastExit === undefined ? undefined : { ...this.#lastExit };
  }

  status(): CheetahStatus | undefined {
    return this.#source?.status();
  }

  /** Connections in id order. */
  connections(): CheetahConnectionInfo[] | undefined {
    return this.#source?.connections().sort((a, b) => a.id - b.id);
  }

  timeWait(): CheetahTimeWaitInfo[] | undefined {
    return this.#source?.timeWait();
  }

  invariants(): string[] | undefined {
    return this.#source?.invariants();
  }
}
