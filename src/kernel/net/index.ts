/**
 * @module kernel/net
 *
 * The kernel's network code: the device layer (`netif_rx`/`dev_queue_xmit`, the receive hook
 * DPF plugs into) and the conventional path for the machine's own address on each card (ARP,
 * ICMP echo, RST for closed TCP ports, ICMP unreachable for UDP and unknown protocols).
 * AF_DPF (`af-dpf.ts`) sends TCP super-segments through the transmit side of GSO (`tso.ts`):
 * the card segments them when it can (`tsoMaxBytes`), else the kernel does.
 * It sees cards only through `NetDevice` (src/nic/types.ts) and parses frames only through
 * `src/wire`; it never throws on frame contents.
 */
export { NetStack, type RxHook, type NetStackOptions, type ArpEntryView } from './dev.js';
export { NetIface } from './iface.js';
export { NetCounters, DropReason, HandledKind } from './stats.js';
