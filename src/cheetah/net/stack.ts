/**
 * Cheetah's user-level network stack: Ethernet, ARP, IPv4 and TCP for one process, pure.
 *
 * Read first: RFC 1122 §3.2.1 (IPv4 receive checks), §3.3.6 and RFC 9293 MUST-57 (no TCP to
 * broadcast or multicast), RFC 826 (ARP), then input.ts and output.ts for TCP.
 *
 * Pure: no I/O, timers or clock of its own. The host (the Cheetah server glue, or a test)
 * hands it received frames (`input`), calls `poll` when `nextDeadline` is reached, and sends
 * the frames it gets through `io.transmit`. Time comes from `io.now()`; randomness from the
 * injected Rng (secrets for ISNs, cookies and timestamp offsets; ephemeral ports).
 *
 * Hot path: one view object per layer and one TcpRepr are reused for every frame; nothing is
 * allocated per segment except the payload subarray. Malformed or unwanted input is dropped and
 * counted by reason (`counters().drops`), never thrown.
 */
import {
  ArpOperation,
  ArpPacket,
  ArpRepr,
  ETHERNET_HEADER_LEN,
  EtherType,
  EthernetFrame,
  IpProtocol,
  Ipv4Packet,
  TcpPacket,
  TcpRepr,
  WireError,
  ipv4SubnetBroadcast,
  isIpv4MartianSource,
  isMacMulticast,
  set16,
  set48,
  ARP_ETHERNET_IPV4_LEN,
} from '../../wire/index.js';
import { resolveTcpConfig, type TcpConfig } from './config.js';
import { StackCore, type TcpEvents } from './core.js';
import { listenInput, runTimers, segmentArrives, timeWaitInput } from './input.js';
import { SequenceSecrets } from './isn.js';
import { TcpListener, type ListenOptions } from './listener.js';
import { prepareTcbHeader, sendArpRequest, sendResetFor, transmitRaw } from './output.js';
import type { Rng } from './rng.js';
import type { TcpConnection } from './tcb.js';
import type { TimeWaitEntry } from './time-wait.js';
import { TcpState, type TcpInterface, type TcpIo, type TcpStackCounters } from './types.js';

export interface TcpStackOptions {
  /** The cards, indexed by the `nic` argument of `input` and of transmitted frames. */
  interfaces: readonly TcpInterface[];
  io: TcpIo;
  events?: TcpEvents;
  config?: Partial<TcpConfig>;
  /** Seeded randomness (the daemon seeds it from a real entropy source). */
  rng: Rng;
}

export interface ConnectOptions {
  nic: number;
  remoteAddr: number;
  remotePort: number;
  /** Default: a free ephemeral port (49152–65535, RFC 6335). */
  localPort?: number;
  /** Skip ARP when the peer's MAC is known. */
  remoteMac?: number;
}

/**
 * True for an address no peer on card `itf` can have: unspecified, broadcast (limited or the
 * card's subnet), multicast, class E, loopback, or the card's own. Segments from it are dropped
 * (RFC 9293 MUST-63, RFC 1122 §3.2.1.3) and an OPEN to it is refused (MUST-46).
 */
function isInvalidPeer(itf: TcpInterface, addr: number): boolean {
  return isIpv4MartianSource(addr) || addr === ipv4SubnetBroadcast(itf.addr, itf.prefixLen) || addr === itf.addr;
}

const EPHEMERAL_FIRST = 49_152;
const EPHEMERAL_COUNT = 65_536 - EPHEMERAL_FIRST;

export class TcpStack {
  readonly #core: StackCore;
  readonly #rng: Rng;
  readonly #eth = new EthernetFrame();
  readonly #ip = new Ipv4Packet();
  readonly #tcp = new TcpPacket();
  readonly #arp = new ArpPacket();
  readonly #seg = TcpRepr.create();

  constructor(opts: TcpStackOptions) {
    const config = resolveTcpConfig(opts.config);
    this.#rng = opts.rng;
    this.#core = new StackCore(config, opts.io, opts.interfaces, opts.events ?? {}, new SequenceSecrets(opts.rng));
  }

  /** The resolved configuration. */
  get config(): Readonly<TcpConfig> {
    return this.#core.config;
  }

  /** Accept connections on (addr, port); addr 0 = every interface address. */
  listen(opts: ListenOptions): TcpListener | 'invalid' | 'address-in-use' {
    const core = this.#core;
    const port = opts.port;
    const addr = opts.addr >>> 0;
    if (!Number.isInteger(port) || port < 1 || port > 65_535) return 'invalid';
    if (addr !== 0 && !core.interfaces.some((i) => i.addr === addr)) return 'invalid';
    const key = addr * 65_536 + port;
    if (core.listeners.has(key)) return 'address-in-use';
    const l = new TcpListener(opts, core.config.synBacklog, (gone) => this.#closeListener(gone, key));
    core.listeners.set(key, l);
    return l;
  }

  #closeListener(l: TcpListener, key: number): void {
    const core = this.#core;
    core.listeners.delete(key);
    core.pass(() => {
      for (const t of [...core.conns.values()]) if (t.listener === l && t.state === TcpState.SynReceived) core.freeTcb(t, 'aborted');
    });
  }

  /**
   * Open a connection (RFC 9293 §3.10.1 active OPEN) from card `nic`'s address. Events:
   * `onConnect` or `onClose`. 'invalid' for a bad card or port, or a remote address no host can
   * have (broadcast, multicast, unspecified, loopback, our own: MUST-46).
   */
  connect(opts: ConnectOptions): TcpConnection | 'invalid' | 'address-in-use' | 'connection-limit' {
    const core = this.#core;
    const itf = core.interfaces[opts.nic];
    if (itf === undefined || !Number.isInteger(opts.remotePort) || opts.remotePort < 1 || opts.remotePort > 65_535) return 'invalid';
    if (core.conns.size >= core.config.maxConnections) return 'connection-limit';
    const remoteAddr = opts.remoteAddr >>> 0;
    if (isInvalidPeer(itf, remoteAddr)) return 'invalid';
    const localPort = opts.localPort ?? this.#ephemeralPort(itf.addr, remoteAddr, opts.remotePort);
    if (localPort === undefined || localPort < 1 || localPort > 65_535) return localPort === undefined ? 'address-in-use' : 'invalid';
    if (core.conns.get(itf.addr, localPort, remoteAddr, opts.remotePort) !== undefined) return 'address-in-use';
    if (core.timeWait.get(itf.addr, localPort, remoteAddr, opts.remotePort) !== undefined) return 'address-in-use';
    return core.pass(() => {
      const now = core.io.now();
      const t = core.newTcb(opts.nic, itf.addr, localPort, remoteAddr, opts.remotePort);
      t.state = TcpState.SynSent;
      t.announced = true;
      t.iss = core.secrets.isn(now, itf.addr, localPort, remoteAddr, opts.remotePort);
      t.sndUna = t.sndNxt = t.sndMax = t.recover = t.iss;
      const mac = opts.remoteMac ?? core.arp.lookup(remoteAddr, now)?.mac;
      if (mac !== undefined) {
        t.peerMac = mac;
        prepareTcbHeader(core, t);
      } else {
        t.awaitingArp = true;
        core.arpWaiters.push(t);
        sendArpRequest(core, opts.nic, remoteAddr);
        t.rtoAt = now + t.rtt.rtoMs;
      }
      core.kick(t);
      return t.handle;
    });
  }

  #ephemeralPort(localAddr: number, remoteAddr: number, remotePort: number): number | undefined {
    const core = this.#core;
    const start = this.#rng.nextU32() % EPHEMERAL_COUNT;
    for (let i = 0; i < EPHEMERAL_COUNT; i++) {
      const p = EPHEMERAL_FIRST + ((start + i) % EPHEMERAL_COUNT);
      if (core.conns.get(localAddr, p, remoteAddr, remotePort) === undefined && core.timeWait.get(localAddr, p, remoteAddr, remotePort) === undefined) return p;
    }
    return undefined;
  }

  /**
   * Process one received Ethernet frame from card `nic`. The frame is only read during the
   * call (data is copied into receive buffers); the caller may reuse it afterwards.
   */
  input(frame: Uint8Array, nic: number): void {
    const core = this.#core;
    core.enter();
    try {
      this.#inputFrame(frame, nic);
    } finally {
      core.leave();
    }
  }

  /** Run `fn` as one pass: frames produced by calls inside it are sent when it returns. */
  batch<R>(fn: () => R): R {
    return this.#core.pass(fn);
  }

  /** Fire every timer due at `io.now()`. */
  poll(): void {
    const core = this.#core;
    core.pass(() => {
      const now = core.io.now();
      const heap = core.heap;
      while (heap.peekDeadline() <= now) {
        const t = heap.peek()!;
        // Out of the heap while its timers run; the end-of-pass flush puts it back.
        heap.update(t, Infinity);
        runTimers(core, t, now);
      }
      core.timeWait.expire(now);
      core.counters.timeWaitEntries = core.timeWait.size;
    });
  }

  /** When `poll` must next run (ms, on the `io.now()` clock); Infinity when nothing is pending. */
  nextDeadline(): number {
    const core = this.#core;
    return Math.min(core.heap.peekDeadline(), core.timeWait.nextExpiry());
  }

  /** A snapshot of the counters (gauges computed now). */
  counters(): TcpStackCounters {
    const core = this.#core;
    const c = core.counters;
    let established = 0;
    for (const t of core.conns.values()) if (t.state === TcpState.Established || t.state === TcpState.CloseWait) established++;
    let halfOpen = 0;
    for (const l of core.listeners.values()) halfOpen += l.halfOpen;
    return {
      ...c,
      connections: core.conns.size,
      established,
      halfOpen,
      timeWaitEntries: core.timeWait.size,
      timeWaitEvicted: core.timeWait.evicted,
      drops: { ...c.drops },
    };
  }

  /** Every connection in the table (all states but LISTEN and TIME-WAIT). */
  *connections(): IterableIterator<TcpConnection> {
    for (const t of this.#core.conns.values()) if (t.announced) yield t.handle;
  }

  listeners(): TcpListener[] {
    return [...this.#core.listeners.values()];
  }

  /** TIME-WAIT entries (read-only view for the admin API). */
  *timeWaitEntries(): IterableIterator<Readonly<TimeWaitEntry>> {
    yield* this.#core.timeWait.entries();
  }

  /** Invariant violations of the stack's tables and TCBs (empty when consistent); for tests and diagnostics. */
  checkInvariants(): string[] {
    return this.#core.checkInvariants();
  }

  /** Abort every connection and close every listener. */
  shutdown(): void {
    const core = this.#core;
    for (const l of [...core.listeners.values()]) l.close();
    core.pass(() => {
      for (const t of [...core.conns.values()]) {
        if (t.announced) t.handle.abort();
        else core.freeTcb(t, 'aborted');
      }
    });
  }

  // ---- receive path ---------------------------------------------------------------------

  #inputFrame(frame: Uint8Array, nic: number): void {
    const core = this.#core;
    const itf = core.interfaces[nic];
    const eth = this.#eth.reset(frame);
    if (itf === undefined) {
      core.drop('notForUs');
      return;
    }
    if (eth.check() !== undefined) {
      core.drop('truncated');
      return;
    }
    const dstMac = eth.dstAddr;
    const type = eth.ethertype;
    if (type === EtherType.Arp) {
      this.#arpInput(frame, nic);
      return;
    }
    if (type !== EtherType.Ipv4) {
      core.drop('etherType');
      return;
    }
    if (dstMac !== itf.mac) {
      core.drop(isMacMulticast(dstMac) ? 'linkBroadcast' : 'notForUs');
      return;
    }
    const ip = this.#ip.reset(frame, eth.payloadOffset, eth.payloadLen);
    const ipErr = ip.check();
    if (ipErr !== undefined) {
      core.drop(ipErr === WireError.Truncated ? 'truncated' : 'malformed');
      return;
    }
    if (ip.version !== 4) {
      core.drop('malformed');
      return;
    }
    if (!ip.verifyChecksum()) {
      core.drop('ipChecksum');
      return;
    }
    const dst = ip.dstAddr;
    const src = ip.srcAddr;
    // Only our unicast address: this also refuses broadcast and multicast (MUST-57).
    if (dst !== itf.addr) {
      core.drop('notForUs');
      return;
    }
    if (isInvalidPeer(itf, src)) {
      core.drop('martian');
      return;
    }
    if (ip.moreFrags || ip.fragOffset !== 0) {
      core.drop('fragment');
      return;
    }
    if (ip.protocol !== IpProtocol.Tcp) {
      core.drop('ipProtocol');
      return;
    }
    const tcp = this.#tcp.reset(frame, ip.payloadOffset, ip.payloadLen);
    const tcpErr = tcp.check();
    if (tcpErr !== undefined) {
      core.drop(tcpErr === WireError.Truncated ? 'truncated' : 'malformed');
      return;
    }
    const seg = this.#seg;
    const err = TcpRepr.parseInto(tcp, src, dst, seg);
    if (err !== undefined) {
      core.drop(err === WireError.BadChecksum ? 'tcpChecksum' : 'malformed');
      return;
    }
    core.counters.segmentsIn++;
    const peerMac = eth.srcAddr;
    const t = core.conns.get(dst, seg.dstPort, src, seg.srcPort);
    if (t !== undefined) {
      if (t.nic === nic) {
        segmentArrives(core, t, seg);
        return;
      }
      // The same 4-tuple on another card would be another host: not this connection.
      core.drop('notForUs');
      return;
    }
    const l = core.listeners.get(dst * 65_536 + seg.dstPort) ?? core.listeners.get(seg.dstPort);
    const tw = core.timeWait.get(dst, seg.dstPort, src, seg.srcPort);
    if (tw !== undefined) {
      timeWaitInput(core, tw, seg, nic, peerMac, l);
      return;
    }
    if (l !== undefined) {
      listenInput(core, l, seg, nic, src, dst, peerMac);
      return;
    }
    // CLOSED (RFC 9293 §3.10.7.1): RST for anything but a RST.
    if (seg.control === 'rst') return;
    const segLen = seg.payload.length + (seg.control === 'syn' || seg.control === 'fin' ? 1 : 0);
    sendResetFor(core, nic, peerMac, dst, seg.dstPort, src, seg.srcPort, seg.seqNumber, seg.ackNumber, segLen);
  }

  /** ARP (RFC 826): learn, answer requests for our address when configured, wake active opens. */
  #arpInput(frame: Uint8Array, nic: number): void {
    const core = this.#core;
    const itf = core.interfaces[nic]!;
    const eth = this.#eth;
    const p = this.#arp.reset(frame, eth.payloadOffset, eth.payloadLen);
    if (p.check() !== undefined) {
      core.drop('truncated');
      return;
    }
    const r = ArpRepr.parse(p);
    if (typeof r === 'string') {
      core.drop('arpUnsupported');
      return;
    }
    const now = core.io.now();
    const forUs = r.targetProtocolAddr === itf.addr;
    const sender = r.senderProtocolAddr;
    if (!isIpv4MartianSource(sender) && !isMacMulticast(r.senderHardwareAddr)) {
      if (forUs) core.arp.learn(sender, r.senderHardwareAddr, nic, now);
      else core.arp.refresh(sender, r.senderHardwareAddr, nic, now);
      this.#wakeArpWaiters(sender, r.senderHardwareAddr, nic);
    }
    if (forUs && r.operation === ArpOperation.Request && core.config.answerArp) {
      const buf = core.scratchHdr;
      set48(buf, 0, r.senderHardwareAddr);
      set48(buf, 6, itf.mac);
      set16(buf, 12, EtherType.Arp);
      ArpRepr.emit(
        { operation: ArpOperation.Reply, senderHardwareAddr: itf.mac, senderProtocolAddr: itf.addr, targetHardwareAddr: r.senderHardwareAddr, targetProtocolAddr: sender },
        core.arpView.reset(buf, ETHERNET_HEADER_LEN, ARP_ETHERNET_IPV4_LEN),
      );
      core.counters.arpRepliesSent++;
      transmitRaw(core, nic, buf, ETHERNET_HEADER_LEN + ARP_ETHERNET_IPV4_LEN);
    }
  }

  #wakeArpWaiters(addr: number, mac: number, nic: number): void {
    const core = this.#core;
    const waiters = core.arpWaiters;
    for (let i = waiters.length - 1; i >= 0; i--) {
      const t = waiters[i]!;
      if (t.remoteAddr !== addr || t.nic !== nic) continue;
      waiters.splice(i, 1);
      t.awaitingArp = false;
      t.peerMac = mac;
      prepareTcbHeader(core, t);
      t.rtoAt = Infinity;
      core.kick(t);
    }
  }
}
