/**
 * Builds the snapshots a running Cheetah publishes through its `CheetahView`: fresh plain
 * objects from the core's libraries (TCP, HTTP) and the process's own counters (I/O loop, DPF
 * sockets, memory). Only called when the admin API asks — never on the data path.
 */
import type { CheetahCore } from './core.js';
import { ipv4ToString, macToString } from '../wire/index.js';
import type {
  CheetahConnectionInfo,
  CheetahDpfCounters,
  CheetahIoCounters,
  CheetahStatus,
  CheetahTimeWaitInfo,
  CheetahViewSource,
} from './view.js';

/** A card Cheetah serves, as the process learned it (`dpf_ifinfo`). */
export interface ServedCard {
  name: string;
  /** Index the kernel gives the card. */
  index: number;
  mac: number;
  addr: number;
  prefixLen: number;
  mtuBytes: number;
}

/** The process-side state a report needs besides the core. */
export interface ReporterState {
  pid: number;
  port: number;
  /** Wall-clock start, ms since the epoch. */
  startedAtMs: number;
  /** Served cards, in the core's interface order. */
  cards: readonly ServedCard[];
  /** Each card's listener socket and filter, same order. */
  listenerSockets: ReadonlyArray<{ fd: number; filterId: number }>;
  io: CheetahIoCounters;
  dpf: CheetahDpfCounters;
  memory(): CheetahStatus['memory'];
  /** Monotonic and wall-clock ms now. */
  now(): number;
  wallNow(): number;
}

function nonZero(r: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) if (v !== 0) out[k] = v;
  return out;
}

export class CheetahReporter implements CheetahViewSource {
  readonly #core: CheetahCore;
  readonly #st: ReporterState;

  constructor(core: CheetahCore, state: ReporterState) {
    this.#core = core;
    this.#st = state;
  }

  status(): CheetahStatus {
    const core = this.#core;
    const st = this.#st;
    const tcp = core.stack.counters();
    const http = structuredClone(core.engine.stats);
    let closed = 0;
    for (const n of Object.values(core.closedByReason)) closed += n;
    return {
      pid: st.pid,
      state: core.draining ? 'draining' : 'running',
      startedAtMs: st.startedAtMs,
      uptimeMs: st.wallNow() - st.startedAtMs,
      port: st.port,
      listeners: core.listeners.map((l, i) => {
        const d = l.describe();
        const card = st.cards[i]!;
        const sock = st.listenerSockets[i] ?? { fd: -1, filterId: 0 };
        return {
          card: card.name,
          cardIndex: card.index,
          mac: macToString(card.mac),
          addr: d.addr,
          port: d.port,
          backlog: d.backlog,
          halfOpen: d.halfOpen,
          accepted: d.accepted,
          cookiesSent: d.cookiesSent,
          synDropped: d.synDropped,
          fd: sock.fd,
          filterId: sock.filterId,
        };
      }),
      connections: {
        open: tcp.connections,
        established: tcp.established,
        halfOpen: tcp.halfOpen,
        accepted: tcp.passiveOpens,
        closed,
        closedByReason: { ...core.closedByReason },
        timeWait: tcp.timeWaitEntries,
      },
      requests: { total: http.requests, byStatus: nonZero(http.responsesByStatus), byMethod: { ...http.requestsByMethod } },
      bytes: { in: tcp.bytesIn, out: tcp.bytesOut, headers: http.headerBytesSent, bodies: http.bodyBytesSent },
      retransmissions: { segments: tcp.retransmittedSegments, timeouts: tcp.timeouts, fastRetransmits: tcp.fastRetransmits },
      synCookiesSent: tcp.synCookiesSent,
      drops: nonZero(tcp.drops),
      dpf: { ...st.dpf, attachErrors: { ...st.dpf.attachErrors } },
      io: { ...st.io, recvErrors: { ...st.io.recvErrors }, sendErrors: { ...st.io.sendErrors } },
      memory: st.memory(),
      checksums: core.checksums === undefined ? null : { ...core.checksums.stats },
      tcp,
      http,
    };
  }

  connections(): CheetahConnectionInfo[] {
    const cards = this.#st.cards;
    const out: CheetahConnectionInfo[] = [];
    for (const conn of this.#core.stack.connections()) {
      const s = conn.stats();
      const session = this.#core.sessionOf(conn);
      out.push({
        ...s,
        peer: `${s.remoteAddr}:${s.remotePort}`,
        card: cards[s.nic]?.name ?? `#${s.nic}`,
        http:
          session === undefined
            ? { responses: 0, pendingRequests: 0, state: 'none' }
            : { responses: session.responses, pendingRequests: session.http.pendingRequests, state: session.http.state },
        dpf: { fd: session?.fd ?? -1, filterId: session?.filterId ?? 0 },
      });
    }
    return out;
  }

  invariants(): string[] {
    return this.#core.stack.checkInvariants();
  }

  timeWait(): CheetahTimeWaitInfo[] {
    const cards = this.#st.cards;
    const now = this.#st.now();
    const out: CheetahTimeWaitInfo[] = [];
    for (const e of this.#core.stack.timeWaitEntries()) {
      out.push({
        localAddr: ipv4ToString(e.localAddr),
        localPort: e.localPort,
        peer: `${ipv4ToString(e.remoteAddr)}:${e.remotePort}`,
        card: cards[e.nic]?.name ?? `#${e.nic}`,
        expiresInMs: Math.max(0, e.expiresAt - now),
      });
    }
    return out;
  }
}
