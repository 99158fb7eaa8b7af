/**
 * `src/nic` — the machine's Ethernet cards (the physical layer).
 *
 * Does: move whole Ethernet frames between a card and the kernel above, in batches, with the
 * ownership and backpressure rules of `types.ts`; count everything (`NicCounters`); set up the
 * host side of a TAP (MAC, MTU, IPv4 address, link state); hand TCP super-segments to a TAP's
 * host kernel to cut (TSO through the vnet header, `tsoMaxBytes`). Backends: real TAP devices through the
 * in-project exotap N-API addon (`src/nic/native`, `binding.gyp`), AF_PACKET sockets on host
 * interfaces (the host's end of a wire, for tests and benchmarks), and an in-memory wire (tests
 * without root). Optional pcap capture.
 *
 * Does not: parse anything above the Ethernet frame length (that is `src/kernel/net`), keep any
 * received frame beyond the handler call, or import anything above it (layer rule).
 */
export type { FrameHandler, NetDevice, NicCounters, TsoInfo, TxStatus } from './types.js';
export { openNic, machineMac, hostMac, type NicConfig, type OpenNicOptions } from './open.js';
export { NativeCard, type HostLinkInfo, type NativeCardOptions } from './native-card.js';
export { MemoryCard, MemoryHost, type HostFrameHandler, type MemoryWireOptions } from './memory-wire.js';
export {
  CardBase,
  DEFAULT_TUNING,
  ETH_HEADER_BYTES,
  ETH_FRAME_OVERHEAD_BYTES,
  TSO_MAX_FRAME_BYTES,
  type NicTuning,
} from './card-base.js';
export { NicStats, DROP_REASONS, batchBucketLabel, type DropReason } from './stats.js';
export { PcapWriter, type PcapWriterOptions } from './pcap.js';
export { deriveMac, formatMac, isUsableUnicastMac, parseMac } from './addr.js';
