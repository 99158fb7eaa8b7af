/**
 * Tunables of Cheetah's TCP, with the RFC limit or the reference behaviour each default follows.
 * Every field is optional for callers; {@link resolveTcpConfig} fills defaults and clamps values
 * into the ranges the RFCs allow, so the stack never runs with an illegal setting.
 */

export interface TcpConfig {
  /** Receive buffer per connection (bytes); the largest window advertised. Default 64 KiB. */
  rcvBufBytes: number;
  /** Initial window in segments (RFC 6928: min(n·MSS, max(2·MSS, n·1460))). Default 10. */
  initialWindowSegments: number;
  /** RTO before any RTT sample (RFC 6298 §2.1: 1 s). */
  initialRtoMs: number;
  /**
   * Lower bound of the RTO. RFC 6298 §2.4 says SHOULD 1 s; default 200 ms as Linux, because on
   * a LAN a 1 s floor turns every tail loss into a second of idle. Set 1000 for the RFC value.
   */
  rtoMinMs: number;
  /** Upper bound of the RTO (RFC 6298 §2.5: at least 60 s). Default 60 s. */
  rtoMaxMs: number;
  /** Give up on unacknowledged data after this long (R2, RFC 9293 MUST-20: ≥ 100 s). Default 120 s. */
  dataGiveUpMs: number;
  /** Give up an active open (SYN) after this long (R2 for SYN, MUST-23: ≥ 180 s). Default 180 s. */
  synGiveUpMs: number;
  /** SYN-ACK retransmissions before a half-open connection is dropped (Linux tcp_synack_retries). Default 5. */
  synAckRetries: number;
  /** Delayed-ACK timeout (RFC 9293 MUST-40: < 500 ms). Default 40 ms (Linux's minimum). */
  delayedAckMs: number;
  /** TIME-WAIT duration, 2·MSL (RFC 9293 MUST-13). Default 60 s (Linux; MSL = 30 s). */
  timeWaitMs: number;
  /** Bound of the TIME-WAIT table; when full the oldest entry is evicted. Default 16384. */
  timeWaitMaxEntries: number;
  /** FIN-WAIT-2 idle lifetime: how long we wait, after our FIN is acknowledged, for any segment of the peer (Linux tcp_fin_timeout). Default 60 s. */
  finWait2TimeoutMs: number;
  /** Half-open (SYN-RECEIVED) connections per listener before SYN cookies take over. Default 256. */
  synBacklog: number;
  /** Answer SYNs with SYN cookies (RFC 4987 §3.6) when the backlog is full; else drop them. Default true. */
  synCookies: boolean;
  /** Offer and accept the timestamps option (RFC 7323). Default true. */
  timestamps: boolean;
  /** Offer and accept window scaling (RFC 7323). Default true. */
  windowScaling: boolean;
  /** Offer SACK-permitted and send SACK blocks for out-of-order data (RFC 2018). Default true. */
  sack: boolean;
  /** Out-of-order ranges kept per connection (the reassembly bound besides the window). Default 8. */
  reassemblyMaxRanges: number;
  /** Hold an ACK for received data until the application's callbacks ran, so a reply carries it. Default true. */
  mergeAck: boolean;
  /** Put FIN on the last data segment of a response sent with `close: true`. Default true. */
  mergeFin: boolean;
  /** Nagle's algorithm (RFC 9293 §3.7.4). Off by default: the application writes whole responses. */
  nagle: boolean;
  /**
   * Minimum interval between ACKs sent for invalid segments on one connection — challenge ACKs
   * (RFC 5961 §7) and out-of-window duplicates — per connection, not global (CVE-2016-5696).
   * Default 500 ms (Linux tcp_invalid_ratelimit).
   */
  invalidAckIntervalMs: number;
  /** Most connections (all states but TIME-WAIT) the stack will hold. Default 65536. */
  maxConnections: number;
  /** ARP cache entries (learned from received frames) and their lifetime. */
  arpCacheMaxEntries: number;
  arpCacheTtlMs: number;
  /** Answer ARP requests for our addresses (off when the kernel answers, as in the daemon). */
  answerArp: boolean;
  /** IPv4 TTL of segments we send. Default 64. */
  ttl: number;
  /**
   * Most MSS-sized segments one TCP super-segment (a TSO frame the card or the kernel cuts into
   * segments, `TxFrame.tsoSegmentBytes`) carries; 0 or 1 = never send super-segments. Default 44
   * (Linux's GSO limit: 44 × 1448 + headers stays under the 64 KiB IPv4 bound).
   */
  tsoMaxSegments: number;
}

/** The defaults (see each field). */
export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = Object.freeze({
  rcvBufBytes: 65_536,
  initialWindowSegments: 10,
  initialRtoMs: 1000,
  rtoMinMs: 200,
  rtoMaxMs: 60_000,
  dataGiveUpMs: 120_000,
  synGiveUpMs: 180_000,
  synAckRetries: 5,
  delayedAckMs: 40,
  timeWaitMs: 60_000,
  timeWaitMaxEntries: 16_384,
  finWait2TimeoutMs: 60_000,
  synBacklog: 256,
  synCookies: true,
  timestamps: true,
  windowScaling: true,
  sack: true,
  reassemblyMaxRanges: 8,
  mergeAck: true,
  mergeFin: true,
  nagle: false,
  invalidAckIntervalMs: 500,
  maxConnections: 65_536,
  arpCacheMaxEntries: 1024,
  arpCacheTtlMs: 60_000,
  answerArp: false,
  ttl: 64,
  tsoMaxSegments: 44,
});

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Number.isFinite(v) ? v : lo));
}

/** Fill defaults and clamp every number into its legal range. */
export function resolveTcpConfig(partial: Partial<TcpConfig> = {}): TcpConfig {
  const c: TcpConfig = { ...DEFAULT_TCP_CONFIG, ...partial };
  c.rcvBufBytes = Math.floor(clamp(c.rcvBufBytes, 1024, 1 << 30));
  c.initialWindowSegments = Math.floor(clamp(c.initialWindowSegments, 1, 64));
  c.rtoMinMs = clamp(c.rtoMinMs, 1, 60_000);
  c.rtoMaxMs = clamp(c.rtoMaxMs, Math.max(c.rtoMinMs, 60_000), 600_000);
  c.initialRtoMs = clamp(c.initialRtoMs, c.rtoMinMs, c.rtoMaxMs);
  c.dataGiveUpMs = clamp(c.dataGiveUpMs, 100_000, 86_400_000);
  c.synGiveUpMs = clamp(c.synGiveUpMs, 180_000, 86_400_000);
  c.synAckRetries = Math.floor(clamp(c.synAckRetries, 0, 20));
  c.delayedAckMs = clamp(c.delayedAckMs, 1, 499);
  c.timeWaitMs = clamp(c.timeWaitMs, 1, 600_000);
  c.timeWaitMaxEntries = Math.floor(clamp(c.timeWaitMaxEntries, 0, 1 << 22));
  c.finWait2TimeoutMs = clamp(c.finWait2TimeoutMs, 1, 86_400_000);
  c.synBacklog = Math.floor(clamp(c.synBacklog, 1, 1 << 20));
  c.reassemblyMaxRanges = Math.floor(clamp(c.reassemblyMaxRanges, 1, 64));
  c.invalidAckIntervalMs = clamp(c.invalidAckIntervalMs, 0, 60_000);
  c.maxConnections = Math.floor(clamp(c.maxConnections, 1, 1 << 22));
  c.arpCacheMaxEntries = Math.floor(clamp(c.arpCacheMaxEntries, 1, 1 << 20));
  c.arpCacheTtlMs = clamp(c.arpCacheTtlMs, 1000, 86_400_000);
  c.ttl = Math.floor(clamp(c.ttl, 1, 255));
  c.tsoMaxSegments = Math.floor(clamp(c.tsoMaxSegments, 0, 64));
  return c;
}
