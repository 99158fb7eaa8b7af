/**
 * @module cheetah/net
 *
 * Cheetah's own network stack, run inside the Cheetah process: Ethernet, ARP (a small cache;
 * replies go to the MAC the client's frames came from), IPv4 and TCP per RFC 9293, with the
 * thesis's specializations — responses sent by reference from buffers the application keeps
 * (merged file cache and retransmission pool), ACK and FIN merged into data segments, checksums
 * finished from precomputed partial sums.
 *
 * Pure: this layer does no I/O and has no timers or clock of its own. The server glue feeds it
 * received frames, sends the frames it produces (`TcpIo.transmit`), and calls `poll()` at
 * `nextDeadline()`. It imports only `src/wire` (packet formats) — never kernel internals.
 *
 * Supported and unsupported features, and every deviation from the RFCs: docs/tcp.md.
 */
export { TcpStack, type ConnectOptions, type TcpStackOptions } from './stack.js';
export { TcpConnection, type TcpCallResult } from './tcb.js';
export { TcpListener, type ListenOptions } from './listener.js';
export { DROP_REASONS, type DropReason, type TcpEvents } from './core.js';
export { DEFAULT_TCP_CONFIG, resolveTcpConfig, type TcpConfig } from './config.js';
export { TxFrame } from './tx-frame.js';
export { precomputeChecksums, type RangeChecksums } from './send-queue.js';
export { Xoshiro128, halfSipHash, type Rng } from './rng.js';
export {
  TCP_STATE_NAMES,
  TcpState,
  type CloseReason,
  type TcpConnectionStats,
  type TcpInterface,
  type TcpIo,
  type TcpStackCounters,
} from './types.js';
export { seqAdd, seqGe, seqGt, seqInWindow, seqLe, seqLt, seqMax, seqMin, seqSub } from './seqnum.js';
