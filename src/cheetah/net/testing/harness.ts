/**
 * Test support (not used by the stack): drive one TcpStack from the peer's side, lwIP
 * `tcp_helper` / smoltcp `send!`/`recv!` style. The test plays the client: it builds segments
 * relative to the connection (`peer.seg({ … })`), injects them as real frames, and reads back
 * what the stack sent, parsed and checksum-verified, on a manual clock.
 */
import {
  EtherType,
  EthernetFrame,
  EthernetRepr,
  IpProtocol,
  Ipv4Packet,
  Ipv4Repr,
  TcpPacket,
  TcpRepr,
  isWireError,
  type TcpControl,
} from '../../../wire/index.js';
import type { TcpConfig } from '../config.js';
import type { TcpEvents } from '../core.js';
import { SequenceSecrets } from '../isn.js';
import type { TcpListener } from '../listener.js';
import { Xoshiro128 } from '../rng.js';
import { seqAdd } from '../seqnum.js';
import { TcpStack } from '../stack.js';
import type { TcpConnection } from '../tcb.js';
import type { TxFrame } from '../tx-frame.js';
import type { CloseReason, TcpInterface } from '../types.js';
import { wireFrames } from './tso.js';

export const SERVER_MAC = 0x02_00_00_00_00_02;
export const CLIENT_MAC = 0x02_00_00_00_00_01;
export const SERVER_IP = 0xc6_12_00_02; // 198.18.0.2
export const CLIENT_IP = 0xc6_12_00_01; // 198.18.0.1
export const SERVER_PORT = 80;
export const CLIENT_PORT = 40_000;
export const MSS = 1460;
/** The server's single card unless a test gives others. */
export const SERVER_INTERFACE: TcpInterface = { mac: SERVER_MAC, addr: SERVER_IP, prefixLen: 24, mtuBytes: 1500 };
const STACK_SEED = 0x5eed;

/** A manual clock in milliseconds. */
export class ManualClock {
  now = 0;
}

/** One frame the stack sent, parsed (checksums verified: a bad one fails the test). */
export interface Sent {
  at: number;
  nic: number;
  ethDst: number;
  ip: Ipv4Repr;
  seg: TcpRepr;
  bytes: Uint8Array;
}

/** Parse a frame the stack produced; throws (failing the test) on anything malformed. */
export function parseSent(bytes: Uint8Array, at: number, nic: number): Sent {
  const eth = EthernetFrame.checked(bytes);
  if (isWireError(eth)) throw new Error(`stack sent a bad Ethernet frame: ${eth}`);
  const er = EthernetRepr.parse(eth);
  if (er.ethertype !== EtherType.Ipv4) throw new Error(`not IPv4: ${er.ethertype}`);
  const ipp = Ipv4Packet.checked(bytes, eth.payloadOffset, eth.payloadLen);
  if (isWireError(ipp)) throw new Error(`stack sent a bad IPv4 packet: ${ipp}`);
  const ip = Ipv4Repr.parse(ipp);
  if (isWireError(ip)) throw new Error(`stack sent a bad IPv4 header: ${ip}`);
  if (ip.protocol !== IpProtocol.Tcp) throw new Error('not TCP');
  const tp = TcpPacket.checked(bytes, ipp.payloadOffset, ipp.payloadLen);
  if (isWireError(tp)) throw new Error(`stack sent a bad TCP header: ${tp}`);
  const seg = TcpRepr.parse(tp, ip.srcAddr, ip.dstAddr);
  if (isWireError(seg)) throw new Error(`stack sent a bad TCP segment: ${seg}`);
  seg.payload = seg.payload.slice();
  return { at, nic, ethDst: er.dstAddr, ip, seg, bytes };
}

/** Options of {@link clientFrame}: addresses, TTL, IP options, and a corrupted TCP checksum. */
export interface ClientFrameOptions {
  src?: number;
  dst?: number;
  dstMac?: number;
  ttl?: number;
  /** IPv4 options (padded to a word with End-of-List). */
  ipOptions?: Uint8Array;
  corrupt?: boolean;
}

/**
 * A client→server Ethernet + IPv4 frame (IPv4 checksum set) with `payloadLen` bytes of
 * `protocol` left to fill at `at`.
 */
export function clientIpFrame(protocol: number, payloadLen: number, opts: Omit<ClientFrameOptions, 'corrupt'> = {}): { frame: Uint8Array; at: number; ip: Ipv4Repr } {
  const ip: Ipv4Repr = {
    srcAddr: opts.src ?? CLIENT_IP,
    dstAddr: opts.dst ?? SERVER_IP,
    protocol,
    payloadLen,
    hopLimit: opts.ttl ?? 64,
    dscp: 0,
    ecn: 0,
    ident: 1,
    dontFrag: true,
    moreFrags: false,
    fragOffset: 0,
    options: opts.ipOptions ?? new Uint8Array(0),
  };
  const ipLen = Ipv4Repr.bufferLen(ip);
  const frame = new Uint8Array(14 + ipLen + payloadLen);
  EthernetRepr.emit({ dstAddr: opts.dstMac ?? SERVER_MAC, srcAddr: CLIENT_MAC, ethertype: EtherType.Ipv4 }, EthernetFrame.unchecked(frame));
  Ipv4Repr.emit(ip, Ipv4Packet.unchecked(frame, 14, ipLen));
  return { frame, at: 14 + ipLen, ip };
}

/** Build a client→server frame around `seg` (valid checksums unless `corrupt`). */
export function clientFrame(seg: TcpRepr, opts: ClientFrameOptions = {}): Uint8Array {
  const tcpLen = TcpRepr.bufferLen(seg);
  const { frame, at, ip } = clientIpFrame(IpProtocol.Tcp, tcpLen, opts);
  TcpRepr.emit(seg, TcpPacket.unchecked(frame, at, tcpLen), ip.srcAddr, ip.dstAddr);
  if (opts.corrupt === true) frame[frame.length - 1] = frame[frame.length - 1]! ^ 0x01;
  return frame;
}

/**
 * A client→server frame around `seg` whose TCP options are exactly the raw bytes `options` (a
 * multiple of 4, at most 40) instead of the ones `seg` describes: unknown kinds, or options
 * where they do not belong. Checksums valid.
 */
export function rawOptionsFrame(seg: TcpRepr, options: readonly number[], opts: ClientFrameOptions = {}): Uint8Array {
  if (options.length % 4 !== 0 || options.length > 40) throw new Error(`options must be 0..40 bytes in words: ${options.length}`);
  const bare = clientFrame({ ...seg, maxSegSize: undefined, windowScale: undefined, sackPermitted: false, timestamp: undefined, sackRanges: [] }, opts);
  const tcpAt = 14 + Ipv4Packet.unchecked(bare, 14, bare.length - 14).headerLen;
  const out = new Uint8Array(bare.length + options.length);
  out.set(bare.subarray(0, tcpAt + 20), 0);
  out.set(options, tcpAt + 20);
  out.set(bare.subarray(tcpAt + 20), tcpAt + 20 + options.length);
  const ip = Ipv4Packet.unchecked(out, 14, tcpAt - 14);
  ip.totalLen = out.length - 14;
  ip.fillChecksum();
  const tcp = TcpPacket.unchecked(out, tcpAt, out.length - tcpAt);
  tcp.headerLen = 20 + options.length;
  tcp.fillChecksum(ip.srcAddr, ip.dstAddr);
  return out;
}

/** Everything the events reported, in order. */
export interface EventLog {
  accepted: TcpConnection[];
  connected: TcpConnection[];
  readable: number;
  drained: number;
  closed: { conn: TcpConnection; reason: CloseReason }[];
}

export interface HostOptions {
  config?: Partial<TcpConfig>;
  /** The stack's cards (default: one, SERVER_MAC / SERVER_IP /24, MTU 1500). */
  interfaces?: readonly TcpInterface[];
  /** Force the server's ISS for the 4-tuple (SERVER:80 ← CLIENT:CLIENT_PORT) by choosing the clock start. */
  serverIss?: number;
  /** Extra behaviour on events (e.g. send a response on readable). */
  events?: TcpEvents;
  /** Look at each frame as the stack hands it over (before the harness copies it). */
  onTransmit?: (f: TxFrame) => void;
}

/** One stack (the server side) under test, with its clock, capture and event log. */
export class Host {
  readonly clock = new ManualClock();
  readonly stack: TcpStack;
  readonly sent: Sent[] = [];
  readonly log: EventLog = { accepted: [], connected: [], readable: 0, drained: 0, closed: [] };
  /** Raw frames that were not IPv4/TCP (ARP). */
  readonly raw: Uint8Array[] = [];

  constructor(opts: HostOptions = {}) {
    if (opts.serverIss !== undefined) {
      // ISN = floor(now · 250) + F(tuple): pick `now` so that it comes out as requested.
      const f = new SequenceSecrets(new Xoshiro128(STACK_SEED)).isn(0, SERVER_IP, SERVER_PORT, CLIENT_IP, CLIENT_PORT);
      const k = (opts.serverIss - f) >>> 0;
      this.clock.now = (k + 0.5) / 250;
    }
    const clock = this.clock;
    const user = opts.events ?? {};
    const log = this.log;
    this.stack = new TcpStack({
      interfaces: opts.interfaces ?? [SERVER_INTERFACE],
      io: {
        now: () => clock.now,
        transmit: (f: TxFrame) => {
          opts.onTransmit?.(f);
          for (const bytes of wireFrames(f)) {
            const eth = EthernetFrame.checked(bytes);
            if (!isWireError(eth) && eth.ethertype === EtherType.Ipv4) this.sent.push(parseSent(bytes, clock.now, f.nic));
            else this.raw.push(bytes);
          }
        },
      },
      rng: new Xoshiro128(STACK_SEED),
      config: opts.config ?? {},
      events: {
        onAccept: (c, l) => {
          log.accepted.push(c);
          user.onAccept?.(c, l);
        },
        onConnect: (c) => {
          log.connected.push(c);
          user.onConnect?.(c);
        },
        onReadable: (c) => {
          log.readable++;
          user.onReadable?.(c);
        },
        onDrain: (c) => {
          log.drained++;
          user.onDrain?.(c);
        },
        onClose: (c, reason) => {
          log.closed.push({ conn: c, reason });
          user.onClose?.(c, reason);
        },
      },
    });
  }

  /** Inject a frame on card `nic`. */
  inject(frame: Uint8Array, nic = 0): void {
    this.stack.input(frame, nic);
  }

  /** Take (and forget) everything sent so far. */
  take(): Sent[] {
    return this.sent.splice(0);
  }

  /** Advance the clock by `ms`, firing every timer at its exact instant. */
  advance(ms: number): void {
    if (!Number.isFinite(ms)) throw new Error(`advance(${ms}): nothing is scheduled`);
    const end = this.clock.now + ms;
    for (;;) {
      const d = this.stack.nextDeadline();
      if (d > end) break;
      this.clock.now = Math.max(this.clock.now, d);
      this.stack.poll();
    }
    this.clock.now = end;
  }
}

/** Short flag spellings for segments in tests: S, A, F, R, P combined ("SA", "FA", "PA"). */
export type Flags = string;

export interface SegSpec {
  flags?: Flags;
  /** Offset from the peer's next sequence number. */
  seqOff?: number;
  /** Absolute sequence number (overrides seqOff). */
  seq?: number;
  /** Offset from the stack's next sequence number for the ACK field (with 'A'). */
  ackOff?: number;
  ack?: number;
  data?: Uint8Array | string;
  win?: number;
  mss?: number | undefined;
  wscale?: number | undefined;
  sackPermitted?: boolean;
  ts?: { tsVal: number; tsEcr: number } | false;
  sack?: { left: number; right: number }[];
  srcPort?: number;
}

/**
 * The client end of one connection: its sequence state, relative to which segments are built.
 * `nxt` is the client's next sequence number; `ackOf` the server's next expected (what the
 * client will ACK); `serverNxt` what the server has sent up to (from captured segments).
 */
export class Peer {
  nxt: number;
  serverNxt = 0;
  /** Client's timestamp clock (advanced by the test) and the last TSval seen from the server. */
  tsVal = 1000;
  tsRecent = 0;
  useTs: boolean;
  wscale: number | undefined;
  port: number;
  dstPort: number;

  constructor(readonly host: Host, isn: number, opts: { ts?: boolean; wscale?: number | undefined; port?: number; dstPort?: number } = {}) {
    this.nxt = isn;
    this.useTs = opts.ts ?? true;
    this.wscale = opts.wscale;
    this.port = opts.port ?? CLIENT_PORT;
    this.dstPort = opts.dstPort ?? SERVER_PORT;
  }

  /** Build a segment from the client relative to the connection state. */
  seg(spec: SegSpec = {}): TcpRepr {
    const flags = spec.flags ?? 'A';
    const control: TcpControl = flags.includes('S') ? 'syn' : flags.includes('F') ? 'fin' : flags.includes('R') ? 'rst' : 'none';
    const data = typeof spec.data === 'string' ? new TextEncoder().encode(spec.data) : (spec.data ?? new Uint8Array(0));
    const r = TcpRepr.create();
    r.srcPort = spec.srcPort ?? this.port;
    r.dstPort = this.dstPort;
    r.control = control;
    r.push = flags.includes('P');
    r.seqNumber = spec.seq ?? seqAdd(this.nxt, spec.seqOff ?? 0);
    r.ackNumber = flags.includes('A') ? (spec.ack ?? seqAdd(this.serverNxt, spec.ackOff ?? 0)) : undefined;
    r.windowLen = spec.win ?? 65_535;
    r.maxSegSize = spec.mss;
    r.windowScale = spec.wscale;
    r.sackPermitted = spec.sackPermitted ?? false;
    if (spec.sack !== undefined) r.sackRanges = spec.sack;
    const ts = spec.ts ?? (this.useTs ? { tsVal: this.tsVal, tsEcr: this.tsRecent } : false);
    r.timestamp = ts === false ? undefined : ts;
    r.payload = data;
    return r;
  }

  /** Send a segment to the stack (advancing `nxt` by its length when `advance`). */
  send(spec: SegSpec = {}, opts: { advance?: boolean; corrupt?: boolean } = {}): TcpRepr {
    const r = this.seg(spec);
    this.host.inject(clientFrame(r, { corrupt: opts.corrupt === true }));
    if (opts.advance !== false && spec.seq === undefined && (spec.seqOff ?? 0) === 0) {
      this.nxt = seqAdd(this.nxt, r.payload.length + (r.control === 'syn' || r.control === 'fin' ? 1 : 0));
    }
    return r;
  }

  /**
   * Take what the server sent to this peer (frames for other peers stay with the host) and
   * learn its sequence state and timestamps.
   */
  take(): Sent[] {
    const all = this.host.take();
    const mine = all.filter((s) => s.seg.dstPort === this.port && s.seg.srcPort === this.dstPort);
    this.host.sent.push(...all.filter((s) => !mine.includes(s)));
    for (const s of mine) this.observe(s.seg);
    return mine;
  }

  observe(seg: TcpRepr): void {
    const end = seqAdd(seg.seqNumber, seg.payload.length + (seg.control === 'syn' || seg.control === 'fin' ? 1 : 0));
    if (((end - this.serverNxt) | 0) > 0 || this.serverNxt === 0) this.serverNxt = end;
    if (seg.timestamp !== undefined) this.tsRecent = seg.timestamp.tsVal;
  }
}

/** SYN options a Linux client sends. */
export const LINUX_SYN = { mss: MSS, wscale: 7, sackPermitted: true } as const;

/**
 * A host listening on :80 and a client peer that completed the handshake, with the accepted
 * connection. `clientIsn` / `serverIss` choose the sequence spaces (near wrap or not).
 */
export function established(opts: HostOptions & { clientIsn?: number; ts?: boolean; wscale?: number | undefined; synOpts?: Partial<SegSpec> } = {}): {
  host: Host;
  peer: Peer;
  conn: TcpConnection;
  listener: TcpListener;
  synAck: Sent;
} {
  const host = new Host(opts);
  const listener = host.stack.listen({ addr: 0, port: SERVER_PORT });
  if (typeof listener === 'string') throw new Error(listener);
  const peer = new Peer(host, opts.clientIsn ?? 1000, { ts: opts.ts ?? true, wscale: 'wscale' in opts ? opts.wscale : 7 });
  peer.send({ flags: 'S', mss: MSS, wscale: peer.wscale, sackPermitted: true, ts: peer.useTs ? { tsVal: peer.tsVal, tsEcr: 0 } : false, ...opts.synOpts });
  const [synAck] = peer.take();
  if (synAck === undefined) throw new Error('no SYN-ACK');
  peer.send({ flags: 'A' });
  peer.take();
  const conn = host.log.accepted[0];
  if (conn === undefined) throw new Error('not accepted');
  return { host, peer, conn, listener, synAck };
}

/** The two sequence-space placements every scenario runs in (lwIP's wrap trick: 0xFFFFFF00 − MSS). */
export const ISN_CASES = [
  { name: 'mid-space ISNs', clientIsn: 1000, serverIss: 0x0001_0000 },
  { name: 'ISNs near wrap', clientIsn: 0xffff_ff00 - MSS, serverIss: 0xffff_ff00 - MSS },
] as const;

/** Flags of a segment in the short form tests use: S, F, R, P, A in that order ("SA", "FPA"). */
export function flagsOf(seg: TcpRepr): string {
  return (
    (seg.control === 'syn' ? 'S' : '') +
    (seg.control === 'fin' ? 'F' : '') +
    (seg.control === 'rst' ? 'R' : '') +
    (seg.push ? 'P' : '') +
    (seg.ackNumber !== undefined ? 'A' : '')
  );
}

/** A compact description of sent segments for `toEqual`: [flags, seq, ack, payload length]. */
export function brief(sent: readonly Sent[]): [string, number, number | undefined, number][] {
  return sent.map((s) => [flagsOf(s.seg), s.seg.seqNumber, s.seg.ackNumber, s.seg.payload.length]);
}
