/**
 * Public vocabulary of Cheetah's TCP: states, events, close reasons, counters, interfaces.
 */
import type { Ipv4Addr, MacAddr } from '../../wire/index.js';
import type { TxFrame } from './tx-frame.js';

/** RFC 9293 §3.3.2 connection states. */
export const TcpState = {
  Closed: 0,
  Listen: 1,
  SynSent: 2,
  SynReceived: 3,
  Established: 4,
  FinWait1: 5,
  FinWait2: 6,
  CloseWait: 7,
  Closing: 8,
  LastAck: 9,
  TimeWait: 10,
} as const;
export type TcpState = (typeof TcpState)[keyof typeof TcpState];

/** States as the RFC writes them (`SYN-RECEIVED`), indexed by {@link TcpState}. */
export const TCP_STATE_NAMES: readonly string[] = [
  'CLOSED',
  'LISTEN',
  'SYN-SENT',
  'SYN-RECEIVED',
  'ESTABLISHED',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSE-WAIT',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
];

/** Why a connection ended. */
export type CloseReason =
  /** Orderly: both FINs exchanged (the connection went to TIME-WAIT or LAST-ACK completed). */
  | 'closed'
  /** The peer reset it. */
  | 'reset'
  /** The peer refused an active open (RST in SYN-SENT). */
  | 'refused'
  /** Retransmissions or FIN-WAIT-2 ran out of time. */
  | 'timeout'
  /** The application called `abort()`, or the stack was shut down. */
  | 'aborted'
  /** The peer's MAC could not be resolved for an active open. */
  | 'unreachable';

/** One network interface (card) the stack speaks on. */
export interface TcpInterface {
  mac: MacAddr;
  addr: Ipv4Addr;
  /** Prefix length of the card's subnet (its directed broadcast is never a valid peer). */
  prefixLen: number;
  /** IP MTU in bytes (1500 on Ethernet); our MSS is MTU − 40. */
  mtuBytes: number;
}

/**
 * What the stack needs from its host (the Cheetah server glue, or a test harness). The stack
 * calls nothing else: no timers, no clock, no I/O of its own.
 */
export interface TcpIo {
  /** Monotonic time in milliseconds. */
  now(): number;
  /** Send one frame; must consume it synchronously (see {@link TxFrame}). */
  transmit(frame: TxFrame): void;
  /**
   * Memory for per-connection header buffers (they go out by reference in every frame, so the
   * glue allocates them in the process's memory). Default: `new Uint8Array`.
   */
  alloc?(bytes: number): Uint8Array;
  /**
   * Gives back a header buffer from `alloc` that the stack no longer needs (its reuse pool is
   * full). Without it, such buffers are left to the garbage collector — right for the default
   * `new Uint8Array`, a leak for memory the glue manages itself (process memory).
   */
  free?(bytes: Uint8Array): void;
}

/** Counters of the whole stack (monotonic unless marked as a gauge). */
export interface TcpStackCounters {
  activeOpens: number;
  passiveOpens: number;
  /** Gauge: connections in the table (every state but LISTEN and TIME-WAIT). */
  connections: number;
  /** Gauge: of those, ESTABLISHED or CLOSE-WAIT. */
  established: number;
  /** Gauge: half-open (SYN-RECEIVED). */
  halfOpen: number;
  /** Gauge: TIME-WAIT entries. */
  timeWaitEntries: number;
  timeWaitEvicted: number;
  timeWaitReused: number;
  segmentsIn: number;
  /** Segments sent; a super-segment counts as the segments it is cut into. */
  segmentsOut: number;
  /** Super-segments sent (TSO frames, each counted in `segmentsOut` as its segments). */
  tsoFrames: number;
  retransmittedSegments: number;
  timeouts: number;
  fastRetransmits: number;
  resetsSent: number;
  resetsReceived: number;
  challengeAcks: number;
  invalidAcksSuppressed: number;
  synCookiesSent: number;
  synCookiesAccepted: number;
  synCookiesRejected: number;
  delayedAcks: number;
  bytesIn: number;
  bytesOut: number;
  precomputedChecksums: number;
  arpRequestsSent: number;
  arpRepliesSent: number;
  /** Frames and segments dropped, by reason. */
  drops: Record<string, number>;
}

/** A snapshot of one connection for the admin API. */
export interface TcpConnectionStats {
  id: number;
  state: string;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  nic: number;
  /** Effective send MSS (bytes). */
  mss: number;
  cwnd: number;
  ssthresh: number;
  srttMs: number;
  rttvarMs: number;
  rtoMs: number;
  /** Peer's window (bytes, scaled) and ours. */
  sndWnd: number;
  rcvWnd: number;
  bytesIn: number;
  bytesOut: number;
  segmentsIn: number;
  segmentsOut: number;
  retransmissions: number;
  /** Bytes queued by reference and not yet acknowledged. */
  unackedBytes: number;
  timestamps: boolean;
  windowScaling: boolean;
  sack: boolean;
  synCookie: boolean;
  ageMs: number;
}
