/**
 * The exotap N-API addon (`src/nic/native/`, built by `npm install` into `build/Release`): its
 * TypeScript face, its loader and the mapping of its errno-named errors to DaemonError codes.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DaemonError, type ErrorCode } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import type { SendResult } from './card-base.js';

/** Layout of the receive table the addon fills (mirrors `RxMeta` in exotap.cc). */
export const RxMeta = {
  frames: 0,
  oversize: 1,
  runt: 2,
  empty: 3,
  errors: 4,
  lastErrno: 5,
  /** Frames dropped because their vnet header announced GSO / a partial checksum. */
  gso: 6,
  partialCsum: 7,
  /** Index of the first (offset, length) pair. */
  header: 8,
} as const;

export interface NativePortOptions {
  attach?: boolean;
  netns?: string;
  disableIpv6?: boolean;
  sndbufBytes?: number;
  rcvbufBytes?: number;
  /** TAP only: open with IFF_VNET_HDR (a 10-byte little-endian virtio_net_hdr on every read and write). */
  vnetHdr?: boolean;
  maxBatchFrames: number;
  maxBatchBytes: number;
  maxFrameBytes: number;
  txQueueFrames: number;
  txQueueBytes: number;
  /** Transmit from a writer thread of the port's own (see exotap.cc): send() copies into the ring and returns Accepted. */
  txThread?: boolean;
}

export interface NativeLinkInfo {
  ifindex: number;
  mtu: number;
  /** `ifr_flags` (IFF_UP = 0x1, IFF_RUNNING = 0x40 …). */
  flags: number;
  txqueuelen: number;
  mac: Uint8Array;
  ipv6Disabled: boolean;
}

/** One open TAP queue or packet socket. See exotap.cc for the semantics of each call. */
export interface NativePort {
  send(...parts: Uint8Array[]): SendResult;
  /** A TCPV4 super-segment the host kernel segments (needs `vnetHdr`; else WriteError with EOPNOTSUPP). */
  sendTso(segmentBytes: number, headerBytes: number, checksumStart: number, ...parts: Uint8Array[]): SendResult;
  /** Returns how many queued frames were dropped; `onClosed` runs once the fd is closed. */
  close(onClosed?: () => void): number;
  rxBuffers(): [ArrayBuffer, Uint32Array];
  txQueueFrames(): number;
  lastTxErrno(): string;
  /** Writer thread: report through `onTx` what it wrote since the last report (no-op without one). */
  collectTx(): void;
  /** Writer thread: times `send` waited for a slot in a full ring while the writer was writing. */
  roomWaits(): number;
  /** Writer thread: frames of 16 KiB or more `send` wrote itself because the ring was idle. */
  directWrites(): number;
  /** Failed writes since open, by errno name (`EBADFD`, `EIO`, …). */
  txErrors(): Record<string, number>;
  pauseRx(): void;
  resumeRx(): void;
  ref(): void;
  unref(): void;
  info(): NativeLinkInfo;
  /** The interface's counters as the host kernel keeps them (rtnetlink IFLA_STATS64). */
  stats(): { rxPackets: number; txPackets: number; txDropped: number };
  setMac(mac: Uint8Array): void;
  setMtu(bytes: number): void;
  setIpv4(address: number, prefixLen: number): void;
  setUp(up: boolean): void;
  setTxQueueLen(frames: number): void;
}

export interface NativeAddon {
  Port: new (
    kind: 'tap' | 'packet',
    name: string,
    options: NativePortOptions,
    onRx: () => void,
    onTx: (frames: number, bytes: number, errors: number, drained: boolean, tsoFrames: number, tsoBytes: number) => void,
    onError: (err: Error) => void,
  ) => NativePort;
  /** Read space every read gets (the largest TAP frame). */
  readSpaceBytes: number;
  /** Most parts one frame may be gathered from. */
  maxIov: number;
}

let addon: NativeAddon | undefined;

/** Load the addon once. Throws NIC_ERR_TAP_OPEN when it was not built (e.g. `npm install --ignore-scripts`). */
export function loadAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  const path = join(packageRoot(), 'build', 'Release', 'exotap.node');
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (cause) {
    throw new DaemonError('NIC_ERR_TAP_OPEN', `the exotap addon is not built (${path}); run "npm rebuild" or "npm run install"`, {
      cause,
    });
  }
  return addon;
}

/** A system error from the addon (or Node): errno name, syscall. */
interface SysErrorLike {
  code?: unknown;
  syscall?: unknown;
  message?: unknown;
  /** Set by the addon when a name is taken: `tap-in-use`, `tap-persistent` or `not-a-tap`. */
  detail?: unknown;
}

function sysFields(e: unknown): { code: string; syscall: string; message: string; detail: string } {
  const s = (typeof e === 'object' && e !== null ? e : {}) as SysErrorLike;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return { code: str(s.code), syscall: str(s.syscall), message: str(s.message) || String(e), detail: str(s.detail) };
}

/** Map a failure to open a TAP/packet socket to a DaemonError with a message that says what to do. */
export function openError(e: unknown, name: string, attach: boolean): DaemonError {
  if (e instanceof DaemonError) return e;
  const { code, syscall, message, detail } = sysFields(e);
  let errorCode: ErrorCode = 'NIC_ERR_TAP_OPEN';
  let what = message;
  if (syscall === 'setns' || syscall === 'open(netns)' || syscall === 'open(/proc/thread-self/ns/net)') {
    errorCode = 'NETNS_ERR';
    what = `${name}: cannot enter the network namespace (${message})`;
  } else if (detail === 'tap-persistent') {
    errorCode = 'NIC_ERR_TAP_BUSY';
    what = `${name}: a persistent TAP with this name already exists (set "attach": true to use it, or delete it)`;
  } else if (detail === 'not-a-tap' || code === 'EEXIST') {
    errorCode = 'NIC_ERR_TAP_BUSY';
    what = `${name}: the name belongs to an existing interface that is not a TAP`;
  } else if (code === 'EBUSY') {
    errorCode = 'NIC_ERR_TAP_BUSY';
    what = `${name}: the TAP is in use by another process (is another exolinuxd running?)`;
  } else if (code === 'EINVAL' && syscall === 'ioctl(TUNSETIFF)') {
    errorCode = 'NIC_ERR_TAP_BUSY';
    what = `${name}: the name belongs to an interface that is not a single-queue TAP`;
  } else if (code === 'ENODEV' && attach) {
    what = `${name}: no such interface to attach to (create it with "ip tuntap add ${name} mode tap", or set "attach": false)`;
  } else if (code === 'ENODEV') {
    what = `${name}: no such interface`;
  } else if (detail === 'no-vnet-hdr') {
    what = `${name}: this kernel's TAP has no IFF_VNET_HDR, so it cannot take TCP super-segments (set "tso": false on the card)`;
  } else if (code === 'EPERM' || code === 'EACCES') {
    what = `${name}: not permitted (${syscall}); TAP devices need root or CAP_NET_ADMIN`;
  } else if (code === 'ENOENT' && syscall === 'open(/dev/net/tun)') {
    what = `${name}: /dev/net/tun is missing (load the tun module: modprobe tun)`;
  }
  return new DaemonError(errorCode, what, { cause: e });
}

/** Map a failed control call (ioctl) to NIC_ERR_IOCTL, or NIC_ERR_CLOSED after close. */
export function controlError(e: unknown, name: string, action: string, closed: boolean): DaemonError {
  if (closed) return new DaemonError('NIC_ERR_CLOSED', `${name}: card is closed (${action})`, { cause: e });
  const { message } = sysFields(e);
  return new DaemonError('NIC_ERR_IOCTL', `${name}: cannot ${action}: ${message}`, { cause: e });
}
