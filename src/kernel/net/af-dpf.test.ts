/**
 * AF_DPF over the in-memory wire and an in-process kernel: socket rules, attach (and how DPF's
 * refusals come back), receive one frame / a batch / blocking / readiness, send, the bounded
 * queue, close and exit cleanup, overlap between processes, hostile arguments, and the rule that
 * a claimed frame never reaches the conventional path while everything else still does.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { arpFrame, icmpEchoFrame, ip4, mac, tcpFrame, udpFrame, type L3 } from '../../../test/support/frames.js';
import { ArpPacket, EthernetFrame, Icmpv4Packet, Ipv4Packet } from '../../wire/index.js';
import {
  E2BIG,
  EADDRINUSE,
  EAGAIN,
  EBADF,
  EDESTADDRREQ,
  EFAULT,
  EINTR,
  EINVAL,
  EMSGSIZE,
  ENODATA,
  ENODEV,
  ENOENT,
  ENOMEM,
  ENOSPC,
  ENOTSOCK,
  EOPNOTSUPP,
  EPERM,
  EPROTONOSUPPORT,
  ESOCKTNOSUPPORT,
} from '../abi/errno.js';
import {
  AF_DPF,
  AF_PACKET,
  DPF_ERRNO,
  DPF_IFINFO_BYTES,
  DPF_IFINFO_F_TSO,
  DPF_IFINFO_OFF_FLAGS,
  EPOLLIN,
  EPOLL_CTL_ADD,
  EPOLL_EVENT_BYTES,
  FIONREAD,
  IOVEC_BYTES,
  MSGHDR_BYTES,
  MSGHDR_OFF_IOV,
  MSGHDR_OFF_IOVLEN,
  MSGHDR_OFF_NAME,
  MSGHDR_OFF_NAMELEN,
  MSG_PEEK,
  MSG_TRUNC,
  O_NONBLOCK,
  POLLIN,
  SOCKADDR_DPF_BYTES,
  SOCK_RAW,
  dpfRecordBytes,
} from '../abi/layout.js';
import { ProcessExit, type Libc } from '../abi/libc.js';
import { SIGUSR1 } from '../abi/signals.js';
import { DPF_MAX_FILTER_BYTES, encodeFilterBinary, parseFilterText } from '../dpf/index.js';
import { NR } from '../abi/syscalls.js';
import { runSeed } from '../dpf/testing/arbitraries.js';
import type { Process } from '../proc/process.js';
import { settle } from '../syscall/test-support.js';
import { dpfMachine, filterBinary, type DpfMachine } from './af-dpf-testing.js';
import { buildTcpFrame, type TcpFrameSpec } from './tso-testing.js';
import type { DpfSocket } from './af-dpf.js';

const HOST0: L3 = { src: mac('0a:00:00:00:00:01'), dst: mac('02:65:78:00:00:02'), srcIp: ip4('198.18.0.1'), dstIp: ip4('198.18.0.2') };
const HOST1: L3 = { src: mac('0a:00:00:00:01:01'), dst: mac('02:65:78:00:01:02'), srcIp: ip4('198.18.1.1'), dstIp: ip4('198.18.1.2') };
const UDP7 = 'udp and dst host 198.18.0.2 and dst port 7';

const payload = (n: number, seed = 1): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Copy `bytes` into the process's heap; returns the pointer. */
function put(sys: Libc, bytes: Uint8Array): number {
  const p = sys.malloc(Math.max(1, bytes.length));
  sys.mem.set(bytes, p);
  return p;
}

/** socket + attach `source` (a pcap-like expression): [fd, filter id or -errno]. */
function dpfSocket(sys: Libc, source?: string): [number, number] {
  const fd = sys.socket(AF_DPF, SOCK_RAW, 0);
  if (fd < 0 || source === undefined) return [fd, 0];
  return [fd, attach(sys, fd, filterBinary(source))];
}

/** The encoding of DPF text that is parsed but not verified (for filters the kernel must refuse). */
function unverifiedBinary(text: string): Uint8Array {
  const p = parseFilterText(text);
  if (!p.ok) throw new Error(p.reason);
  return encodeFilterBinary(p.ast);
}

function attach(sys: Libc, fd: number, filter: Uint8Array): number {
  return sys.call('dpf_attach', fd, put(sys, filter), filter.length);
}

function geterror(sys: Libc, fd: number): string {
  const buf = sys.malloc(4096);
  const n = sys.call('dpf_geterror', fd, buf, 4096);
  return n <= 0 ? '' : sys.readCString(buf);
}

/** Records of a batch ring, as a process parses them. */
function records(sys: Libc, ring: number, count: number): { card: number; frame: Uint8Array }[] {
  const out = [];
  let at = ring;
  for (let i = 0; i < count; i++) {
    const len = sys.view.getUint16(at, true);
    out.push({ card: sys.view.getUint16(at + 2, true), frame: sys.mem.slice(at + 4, at + 4 + len) });
    at += dpfRecordBytes(len);
  }
  return out;
}

/** A gate a process awaits and the test opens. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

/** Failed expectations inside test processes (a process that throws only dies; the test must fail too). */
const processErrors: unknown[] = [];
afterEach(() => {
  expect(processErrors.splice(0)).toEqual([]);
});

/** Spawn a root process (the test awaits `exited`); an exception in `body` fails the test. */
function spawn(m: DpfMachine, body: (sys: Libc) => Promise<unknown> | unknown, uid = 0): Process {
  return m.kernel.spawn('t', async (sys) => {
    try {
      await body(sys);
    } catch (err) {
      if (!(err instanceof ProcessExit)) processErrors.push(err);
      throw err;
    }
  }, { uid });
}

/** ICMP (type, code) of the frames the host received. */
function icmpTypes(frames: readonly Uint8Array[]): [number, number][] {
  return frames.flatMap((f) => {
    const eth = EthernetFrame.checked(f);
    if (typeof eth === 'string' || eth.ethertype !== 0x0800) return [];
    const ip = Ipv4Packet.checked(f, 14);
    if (typeof ip === 'string' || ip.protocol !== 1) return [];
    const icmp = Icmpv4Packet.checked(f, ip.payloadOffset) as Icmpv4Packet;
    return [[icmp.msgType, icmp.code] as [number, number]];
  });
}

function expectClean(m: DpfMachine): void {
  expect(m.af.checkInvariants()).toEqual([]);
  expect(m.engine.checkTrie()).toEqual([]);
  expect(m.kernel.stats().internalErrors).toBe(0);
}

describe('AF_DPF: sockets and attach', () => {
  it('socket(AF_DPF, SOCK_RAW, 0) is for uid 0 only (CAP_NET_RAW); other types and protocols are refused', async () => {
    const m = dpfMachine();
    const seen: number[] = [];
    await spawn(m, (sys) => {
      seen.push(sys.socket(AF_DPF, SOCK_RAW, 0), sys.socket(AF_DPF, SOCK_RAW | O_NONBLOCK, 0), sys.socket(AF_DPF, 2, 0), sys.socket(AF_DPF, SOCK_RAW, 17));
    }).exited;
    await spawn(m, (sys) => {
      seen.push(sys.socket(AF_DPF, SOCK_RAW, 0));
    }, 1000).exited;
    expect(seen).toEqual([0, 1, -ESOCKTNOSUPPORT, -EPROTONOSUPPORT, -EPERM]);
    m.kernel.assertNoLeaks();
    expect(m.af.stats().sockets).toBe(0);
  });

  it('dpf_ifinfo describes each card: index, MTU, MAC, prefix, flags (no TSO on the memory wire), address, name; ENODEV past the last', async () => {
    const m = dpfMachine();
    let info = new Uint8Array();
    let past = 0;
    await spawn(m, (sys) => {
      const p = sys.malloc(DPF_IFINFO_BYTES);
      expect(sys.call('dpf_ifinfo', 1, p)).toBe(0);
      info = sys.mem.slice(p, p + DPF_IFINFO_BYTES);
      past = sys.call('dpf_ifinfo', 2, p);
    }).exited;
    const dv = new DataView(info.buffer);
    expect([dv.getUint16(0, true), dv.getUint16(2, true), info[10], info[11], dv.getUint32(12, false)]).toEqual([1, 1500, 24, 0, ip4('198.18.1.2')]);
    expect([...info.subarray(4, 10)]).toEqual([0x02, 0x65, 0x78, 0x00, 0x01, 0x02]);
    expect(Buffer.from(info.subarray(16, 21)).toString('latin1')).toBe('exo1\0');
    expect(past).toBe(-ENODEV);
  });

  it('DPF refusals come back as errnos (one per code) with the code, reason and verifier log in dpf_geterror', async () => {
    const m = dpfMachine({ engine: { maxFilters: 2, maxTrieNodes: 40 } });
    const seen: [number, string][] = [];
    await spawn(m, (sys) => {
      const fd = sys.socket(AF_DPF, SOCK_RAW, 0);
      const tryAttach = (bytes: Uint8Array) => seen.push([attach(sys, fd, bytes), geterror(sys, fd).split('\n')[0]!]);
      tryAttach(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])); // not an encoding
      tryAttach(new Uint8Array([0x44, 0x50, 1, 0, 0, 0])); // no atoms
      tryAttach(new Uint8Array([0x44, 0x50, 1, 0, 0x01, 0x2c])); // 300 atoms declared
      tryAttach(unverifiedBinary('eq16 12 0x0800; meq8 23 0x0f 0x11')); // value bits outside the mask
      seen.push([sys.call('dpf_attach', fd, sys.malloc(DPF_MAX_FILTER_BYTES + 1), DPF_MAX_FILTER_BYTES + 1), geterror(sys, fd).split('\n')[0]!]);
      expect(attach(sys, fd, filterBinary(UDP7))).toBe(1);
      const fd2 = sys.socket(AF_DPF, SOCK_RAW, 0);
      expect(attach(sys, fd2, filterBinary('udp and dst port 9'))).toBe(2);
      const fd3 = sys.socket(AF_DPF, SOCK_RAW, 0);
      seen.push([attach(sys, fd3, filterBinary('udp and dst port 10')), geterror(sys, fd3)]);
      sys.close(fd2);
      const big = Array.from({ length: 40 }, (_, i) => `eq8 ${2 * i} ${i}`).join('; '); // 40 atoms that cannot coalesce
      seen.push([attach(sys, fd3, filterBinary(big, 'dpf')), geterror(sys, fd3)]);
    }).exited;
    expect(seen.map(([r]) => r)).toEqual([-EINVAL, -ENODATA, -E2BIG, -EINVAL, -EINVAL, -ENOSPC, -ENOMEM]);
    expect(seen[0]![1]).toMatch(/^DPF_BOGUSOP \(-4\): bad magic/);
    expect(seen[1]![1]).toMatch(/^DPF_NILFILTER \(-7\)/);
    expect(seen[2]![1]).toMatch(/^DPF_TOOMANYELEMS \(-3\)/);
    expect(seen[3]![1]).toMatch(/^DPF_BOGUSOP \(-4\): .*mask/);
    expect(seen[4]![1]).toMatch(/^DPF_BOGUSOP \(-4\): filter is 2823 bytes, more than any valid filter/);
    expect(seen[5]![1]).toMatch(/^DPF_TOOMANYFILTERS \(-2\)/);
    expect(seen[6]![1]).toMatch(/^DPF_NOMEM \(-8\)/);
    expect(Object.values(DPF_ERRNO).sort((a, b) => a - b)).toEqual([...new Set(Object.values(DPF_ERRNO))].sort((a, b) => a - b));
    expect(m.af.stats().refused).toMatchObject({ DPF_BOGUSOP: 3, DPF_NILFILTER: 1, DPF_TOOMANYELEMS: 1, DPF_TOOMANYFILTERS: 1, DPF_NOMEM: 1 });
    m.kernel.assertNoLeaks();
    expect(m.engine.filters()).toEqual([]);
    expectClean(m);
  });

  it('the verifier log of a refused filter is readable, cut to the caller’s buffer, NUL-terminated; 0 when nothing was refused', async () => {
    const m = dpfMachine();
    const seen: unknown[] = [];
    await spawn(m, (sys) => {
      const fd = sys.socket(AF_DPF, SOCK_RAW, 0);
      const buf = sys.malloc(64);
      seen.push(sys.call('dpf_geterror', fd, buf, 64));
      attach(sys, fd, unverifiedBinary('eq16 12 0x0800; meq8 23 0x0f 0x11'));
      const full = geterror(sys, fd);
      sys.mem.fill(0xff, buf, buf + 64);
      const n = sys.call('dpf_geterror', fd, buf, 10);
      seen.push(n === new TextEncoder().encode(full).length, sys.readCString(buf), sys.mem[buf + 10], full.split('\n').length > 1);
    }).exited;
    expect(seen).toEqual([0, true, 'DPF_BOGUS', 0xff, true]);
  });

  it('another process’s filter for the same traffic is refused (EADDRINUSE), a subset too; the same process may refine its own (longest match)', async () => {
    const m = dpfMachine();
    const [g1, g2] = [gate(), gate()];
    const seen: unknown[] = [];
    const a = spawn(m, async (sys) => {
      const [fd, id] = dpfSocket(sys, UDP7);
      seen.push(id);
      await g1.wait;
      const [fd2, id2] = dpfSocket(sys, `${UDP7} and src port 5555`);
      seen.push(id2);
      await g2.wait;
      const buf = sys.malloc(2000);
      seen.push(sys.call('dpf_recv', fd, buf, 2000, 0), sys.call('dpf_recv', fd2, buf, 2000, 0), sys.call('dpf_recv', fd, buf, 2000, 0));
    });
    await settle();
    await spawn(m, (sys) => {
      const [fd, r] = dpfSocket(sys, UDP7);
      seen.push(r, geterror(sys, fd).split('\n')[0]);
      seen.push(attach(sys, fd, filterBinary(`${UDP7} and src port 5555`)), geterror(sys, fd).split('\n')[0]);
    }).exited;
    g1.open();
    await settle();
    await m.hosts[0]!.inject(udpFrame(HOST0, 5555, 7, payload(20)), udpFrame(HOST0, 6666, 7, payload(21)));
    g2.open();
    await a.exited;
    expect(seen).toEqual([
      1,
      -EADDRINUSE,
      'DPF_OVERLAP (-6): exact duplicate of filter #1 of pid 1',
      -EADDRINUSE,
      expect.stringMatching(/^DPF_OVERLAP \(-6\): would receive frames that (filter #1 of pid 1|a filter of pid 1) accepts$/),
      2,
      21 + 42, // the other port: the first socket
      20 + 42, // from 5555: the longer filter wins
      -EAGAIN,
    ]);
    expectClean(m);
  });
});

describe('AF_DPF: receiving', () => {
  it('dpf_recvfrom: the frame byte-exact and its card as a sockaddr_dpf (with the card’s MAC and address); MSG_PEEK, MSG_TRUNC, read, readv, FIONREAD', async () => {
    const m = dpfMachine();
    const frames = [udpFrame(HOST0, 5555, 7, payload(100, 1)), udpFrame(HOST0, 5556, 7, payload(30, 2)), udpFrame(HOST0, 5557, 7, payload(60, 3)), udpFrame(HOST0, 5558, 7, payload(61, 4))];
    const g = gate();
    const out: unknown[] = [];
    const p = spawn(m, async (sys) => {
      const [fd] = dpfSocket(sys, UDP7);
      const buf = sys.malloc(2000);
      const from = sys.malloc(SOCKADDR_DPF_BYTES);
      const nread = sys.malloc(4);
      out.push(sys.call('dpf_recv', fd, buf, 2000, 0), sys.ioctl(fd, FIONREAD, nread), sys.view.getInt32(nread, true));
      await g.wait;
      sys.ioctl(fd, FIONREAD, nread);
      out.push(sys.view.getInt32(nread, true));
      out.push(sys.call('dpf_recvfrom', fd, buf, 2000, MSG_PEEK, from));
      out.push(sys.call('dpf_recvfrom', fd, buf, 2000, 0, from));
      out.push(same(sys.mem.subarray(buf, buf + frames[0]!.length), frames[0]!));
      out.push([...sys.mem.subarray(from, from + SOCKADDR_DPF_BYTES)]);
      out.push(sys.call('dpf_recv', fd, buf, 10, MSG_TRUNC));
      out.push(same(sys.mem.subarray(buf, buf + 10), frames[1]!.subarray(0, 10)));
      out.push(sys.read(fd, buf, 2000), same(sys.mem.subarray(buf, buf + frames[2]!.length), frames[2]!));
      const iov = sys.malloc(2 * IOVEC_BYTES);
      sys.view.setUint32(iov, buf, true);
      sys.view.setUint32(iov + 4, 14, true);
      sys.view.setUint32(iov + 8, buf + 100, true);
      sys.view.setUint32(iov + 12, 1000, true);
      out.push(sys.readv(fd, iov, 2), same(sys.mem.subarray(buf, buf + 14), frames[3]!.subarray(0, 14)), same(sys.mem.subarray(buf + 100, buf + 100 + frames[3]!.length - 14), frames[3]!.subarray(14)));
      out.push(sys.read(fd, buf, 2000), sys.call('dpf_recv', fd, buf, 10, 0x1), sys.call('dpf_recvfrom', fd, buf, 10, 0, 0));
    });
    await settle();
    await m.hosts[0]!.inject(...frames);
    g.open();
    await p.exited;
    expect(out).toEqual([
      -EAGAIN,
      0,
      0,
      frames[0]!.length,
      frames[0]!.length,
      frames[0]!.length,
      true,
      [AF_DPF, 0, 0, 0, 0x02, 0x65, 0x78, 0x00, 0x00, 0x02, 0, 0, 198, 18, 0, 2],
      frames[1]!.length,
      true,
      frames[2]!.length,
      true,
      frames[3]!.length,
      true,
      true,
      -EAGAIN,
      -EOPNOTSUPP,
      -EAGAIN,
    ]);
    // Claimed: queued on the socket; the conventional path never saw them (no ICMP unreachable).
    const t = m.net.stats().total;
    expect(t.dpfClaimed).toBe(4);
    expect(t.handled['udp_port_unreachable_sent'] ?? 0).toBe(0);
    expect(m.hosts[0]!.received).toHaveLength(0);
    expect(m.af.stats()).toMatchObject({ framesQueued: 4, framesDelivered: 4, queueDrops: 0 });
    expectClean(m);
    m.kernel.assertNoLeaks();
  });

  it('dpf_recvbatch: many frames from two cards in one call as records {len, card, frame, pad}; maxFrames, the ring’s size, EMSGSIZE, EAGAIN', async () => {
    const m = dpfMachine();
    const on0 = [10, 200, 1, 1400, 37].map((n, i) => udpFrame(HOST0, 4000 + i, 7, payload(n, i)));
    const on1 = [3, 500].map((n, i) => udpFrame(HOST1, 5000 + i, 7, payload(n, i + 9)));
    const g = gate();
    const got: { card: number; frame: Uint8Array }[] = [];
    const results: number[] = [];
    const p = spawn(m, async (sys) => {
      const [fd] = dpfSocket(sys, 'udp and dst port 7');
      const ring = sys.malloc(8192);
      results.push(sys.call('dpf_recvbatch', fd, ring, 8192, 0));
      await g.wait;
      const take = (len: number, max: number) => {
        const n = sys.call('dpf_recvbatch', fd, ring, len, max);
        results.push(n);
        if (n > 0) got.push(...records(sys, ring, n));
      };
      take(8192, 2); // two records
      take(dpfRecordBytes(on0[2]!.length), 0); // the ring fits exactly one (the 1-byte payload)
      take(100, 0); // the 1400-byte frame does not fit: EMSGSIZE, nothing lost
      take(8192, 0); // the rest
      take(8192, 0);
    });
    await settle();
    await m.hosts[0]!.inject(...on0);
    await m.hosts[1]!.inject(...on1);
    g.open();
    await p.exited;
    expect(results).toEqual([-EAGAIN, 2, 1, -EMSGSIZE, 4, -EAGAIN]);
    expect(got.map((r) => r.card)).toEqual([0, 0, 0, 0, 0, 1, 1]);
    const sent = [...on0, ...on1];
    got.forEach((r, i) => expect(same(r.frame, sent[i]!)).toBe(true));
    expectClean(m);
  });

  it('blocking receive: dpf_recvbatch_wait and read_wait wake on a frame; time out with EAGAIN on the kernel clock; EINTR on a signal', async () => {
    const m = dpfMachine();
    const results: number[] = [];
    let pid = 0;
    const p = spawn(m, async (sys) => {
      pid = sys.getpid();
      sys.sigaction(SIGUSR1, () => {});
      const [fd] = dpfSocket(sys, UDP7);
      const ring = sys.malloc(4096);
      results.push(await sys.call('dpf_recvbatch_wait', fd, ring, 4096, 0, -1));
      results.push(await sys.read_wait(fd, ring, 4096, -1));
      results.push(await sys.call('dpf_recvbatch_wait', fd, ring, 4096, 0, 50));
      results.push(await sys.call('dpf_recvbatch_wait', fd, ring, 4096, 0, -1));
      results.push(await sys.call('dpf_recvbatch_wait', fd, ring, 4096, 0, 0));
    });
    await settle();
    await m.hosts[0]!.inject(udpFrame(HOST0, 1, 7, payload(5)), udpFrame(HOST0, 2, 7, payload(6)));
    await settle();
    await m.hosts[0]!.inject(udpFrame(HOST0, 3, 7, payload(7)));
    await settle();
    m.clock.advance(49);
    await settle();
    expect(results).toEqual([2, 7 + 42]);
    m.clock.advance(1);
    await settle();
    expect(results).toEqual([2, 49, -EAGAIN]);
    m.kernel.kill(pid, SIGUSR1);
    await p.exited;
    expect(results).toEqual([2, 49, -EAGAIN, -EINTR, -EAGAIN]);
    expectClean(m);
    m.kernel.assertNoLeaks();
  });

  it('readiness: poll, select and epoll report POLLIN while frames are queued, and wake on arrival', async () => {
    const m = dpfMachine();
    const results: number[] = [];
    const p = spawn(m, async (sys) => {
      const [fd] = dpfSocket(sys, UDP7);
      const ep = sys.epoll_create1(0);
      const ev = sys.malloc(EPOLL_EVENT_BYTES);
      sys.view.setUint32(ev, EPOLLIN, true);
      sys.view.setUint32(ev + 4, 77, true);
      sys.epoll_ctl(ep, EPOLL_CTL_ADD, fd, ev);
      const pfd = sys.malloc(8);
      sys.view.setInt32(pfd, fd, true);
      sys.view.setInt16(pfd + 4, POLLIN, true);
      results.push(await sys.poll(pfd, 1, 0), sys.view.getInt16(pfd + 6, true));
      const events = sys.malloc(EPOLL_EVENT_BYTES);
      results.push(await sys.epoll_wait(ep, events, 1, -1), sys.view.getUint32(events, true), sys.view.getUint32(events + 4, true));
      results.push(await sys.poll(pfd, 1, 0), sys.view.getInt16(pfd + 6, true) & POLLIN);
      const set = sys.calloc(8);
      sys.mem[set + (fd >> 3)] = 1 << (fd & 7);
      results.push(await sys.select(fd + 1, set, 0, 0, 0));
      const ring = sys.malloc(4096);
      results.push(sys.call('dpf_recvbatch', fd, ring, 4096, 0));
      results.push(await sys.poll(pfd, 1, 0), sys.view.getInt16(pfd + 6, true) & POLLIN);
    });
    await settle();
    await m.hosts[0]!.inject(udpFrame(HOST0, 1, 7, payload(5)));
    await p.exited;
    // POLLOUT is always set on a DPF socket (sending needs no room of its own).
    expect(results).toEqual([0, 0, 1, EPOLLIN, 77, 1, POLLIN, 1, 1, 0, 0]);
    expectClean(m);
  });

  it('a full queue drops and counts (per socket, per filter, in total); the queued frames are the oldest, in order; nothing reaches the conventional path', async () => {
    const m = dpfMachine({ queueFrames: 4 });
    const frames = Array.from({ length: 10 }, (_, i) => udpFrame(HOST0, 1000 + i, 7, payload(50, i)));
    const g = gate();
    const got: Uint8Array[] = [];
    let described: Record<string, unknown> = {};
    const p = spawn(m, async (sys) => {
      const [fd] = dpfSocket(sys, UDP7);
      await g.wait;
      const ring = sys.malloc(65536);
      const n = sys.call('dpf_recvbatch', fd, ring, 65536, 0);
      got.push(...records(sys, ring, n).map((r) => r.frame));
    });
    await settle();
    await m.hosts[0]!.inject(...frames);
    const [view] = m.af.filterViews();
    expect(view).toMatchObject({ id: 1, owner: { pid: p.pid, uid: 0 }, matches: 10, drops: 6, queue: { frames: 4, capacityFrames: 4 } });
    described = m.kernel.describeFds(p)[0]!.state;
    expect(described).toMatchObject({ filterId: 1, framesQueued: 4, drops: 6 });
    g.open();
    await p.exited;
    expect(got.map((f) => frames.findIndex((x) => same(x, f)))).toEqual([0, 1, 2, 3]);
    expect(m.af.stats()).toMatchObject({ framesQueued: 4, queueDrops: 6 });
    const t = m.net.stats().total;
    expect(t.dpfClaimed).toBe(10);
    expect(t.handled['udp_port_unreachable_sent'] ?? 0).toBe(0);
    expect(m.hosts[0]!.received).toHaveLength(0);
    expectClean(m);
  });

  it('the queue is bounded in bytes too', async () => {
    const m = dpfMachine({ queueBytes: 4096 });
    const frames = Array.from({ length: 5 }, (_, i) => udpFrame(HOST0, 1000 + i, 7, payload(1000, i)));
    const p = spawn(m, async (sys) => {
      dpfSocket(sys, UDP7);
      await sys.sleep(10);
    });
    await settle();
    await m.hosts[0]!.inject(...frames);
    expect(m.af.filterViews()[0]).toMatchObject({ drops: 2, queue: { frames: 3, capacityBytes: 4096 } });
    m.clock.advance(10);
    await p.exited;
  });

  it('the ring grows with the frames queued and goes back to 8 KiB when a drained socket’s filter is detached, or when a detached socket is read empty (a pooled socket keeps no peak)', async () => {
    const m = dpfMachine();
    const g = gate();
    const g2 = gate();
    const seen: unknown[] = [];
    const p = spawn(m, async (sys) => {
      const [fd, id] = dpfSocket(sys, UDP7);
      await g.wait;
      seen.push(m.af.filterViews()[0]!.queue.allocatedBytes);
      const ring = sys.malloc(65536);
      seen.push(sys.call('dpf_recvbatch', fd, ring, 65536, 0));
      seen.push(sys.call('dpf_detach', fd, id));
      seen.push(attach(sys, fd, filterBinary(UDP7)), m.af.filterViews()[0]!.queue.allocatedBytes);
      // Detached with frames still queued: the ring keeps them, and shrinks once they are read.
      await g2.wait;
      seen.push(sys.call('dpf_detach', fd, 2), allocated());
      seen.push(sys.call('dpf_recvbatch', fd, ring, 65536, 0), allocated());
    });
    const allocated = (): number => (m.kernel.describeFds(p)[0]!.state as { queue: { allocatedBytes: number } }).queue.allocatedBytes;
    const burst = (): Promise<void> => m.hosts[0]!.inject(...Array.from({ length: 30 }, (_, i) => udpFrame(HOST0, 1000 + i, 7, payload(1000, i))));
    await settle();
    await burst();
    g.open();
    await settle();
    await burst();
    g2.open();
    await p.exited;
    expect(seen[0]).toBeGreaterThan(30 * 1000);
    expect(seen.slice(1, 5)).toEqual([30, 0, 2, 8192]);
    expect(seen[5]).toBe(0);
    expect(seen[6]).toBeGreaterThan(30 * 1000);
    expect(seen.slice(7)).toEqual([30, 8192]);
    expectClean(m);
  });
});

describe('AF_DPF: sending', () => {
  it('dpf_send gathers header and payload from separate buffers straight to the card; sendto/sendmsg take a sockaddr_dpf; bind + write/writev', async () => {
    const m = dpfMachine();
    const reply = udpFrame({ ...HOST1, src: HOST1.dst, dst: HOST1.src, srcIp: HOST1.dstIp, dstIp: HOST1.srcIp }, 7, 5555, payload(300));
    const results: number[] = [];
    await spawn(m, (sys) => {
      const fd = sys.socket(AF_DPF, SOCK_RAW, 0);
      const hdr = put(sys, reply.subarray(0, 42));
      const body = put(sys, reply.subarray(42));
      const iov = sys.malloc(2 * IOVEC_BYTES);
      sys.view.setUint32(iov, hdr, true);
      sys.view.setUint32(iov + 4, 42, true);
      sys.view.setUint32(iov + 8, body, true);
      sys.view.setUint32(iov + 12, reply.length - 42, true);
      results.push(sys.call('dpf_send', fd, iov, 2, 1));
      const whole = put(sys, reply);
      const addr = sys.calloc(SOCKADDR_DPF_BYTES);
      sys.view.setUint16(addr, AF_DPF, true);
      sys.view.setUint16(addr + 2, 1, true);
      results.push(sys.sendto(fd, whole, reply.length, 0, addr, SOCKADDR_DPF_BYTES));
      const msg = sys.calloc(MSGHDR_BYTES);
      sys.view.setUint32(msg + MSGHDR_OFF_NAME, addr, true);
      sys.view.setUint32(msg + MSGHDR_OFF_NAMELEN, SOCKADDR_DPF_BYTES, true);
      sys.view.setUint32(msg + MSGHDR_OFF_IOV, iov, true);
      sys.view.setUint32(msg + MSGHDR_OFF_IOVLEN, 2, true);
      results.push(sys.sendmsg(fd, msg, 0));
      results.push(sys.write(fd, whole, reply.length));
      results.push(sys.bind(fd, addr, SOCKADDR_DPF_BYTES), sys.write(fd, whole, reply.length), sys.writev(fd, iov, 2));
      // Refusals: unknown card, a runt, a frame above MTU + 14, a wrong family, a short address.
      results.push(sys.call('dpf_send', fd, iov, 2, 2), sys.call('dpf_send', fd, iov, 1, 9));
      results.push(sys.write(fd, whole, 13));
      const huge = sys.malloc(1515);
      results.push(sys.write(fd, huge, 1515));
      sys.view.setUint16(addr, AF_PACKET, true);
      results.push(sys.sendto(fd, whole, reply.length, 0, addr, SOCKADDR_DPF_BYTES), sys.bind(fd, addr, 8));
      const bad = sys.malloc(IOVEC_BYTES);
      sys.view.setUint32(bad, 10, true);
      sys.view.setUint32(bad + 4, 100, true);
      results.push(sys.call('dpf_send', fd, bad, 1, 1), sys.call('dpf_send', fd, 0, 1, 1));
    }).exited;
    expect(results).toEqual([
      reply.length,
      reply.length,
      reply.length,
      -EDESTADDRREQ,
      0,
      reply.length,
      reply.length,
      -ENODEV,
      -ENODEV,
      -EINVAL,
      -EMSGSIZE,
      -EINVAL,
      -EINVAL,
      -EFAULT,
      -EFAULT,
    ]);
    expect(m.hosts[1]!.received).toHaveLength(5);
    for (const f of m.hosts[1]!.received) expect(same(f, reply)).toBe(true);
    expect(m.hosts[0]!.received).toHaveLength(0);
    expect(m.af.stats()).toMatchObject({ framesSent: 5, bytesSent: 5 * reply.length, sendErrors: 4 });
    expectClean(m);
    m.kernel.assertNoLeaks();
  });

  /** A TCP super-segment from the machine's exo1 address to HOST1, carrying `n` payload bytes. */
  const superSpec: TcpFrameSpec = {
    dstMac: new Uint8Array([0x0a, 0, 0, 0, 1, 1]),
    srcMac: new Uint8Array([0x02, 0x65, 0x78, 0, 1, 2]),
    srcIp: ip4('198.18.1.2'),
    dstIp: ip4('198.18.1.1'),
    ipOptions: new Uint8Array(0),
    tos: 0,
    ttl: 64,
    dontFragment: true,
    ipId: 77,
    srcPort: 80,
    dstPort: 40000,
    seq: 1000,
    ack: 5000,
    flags: 0x10 | 0x08 | 0x01,
    window: 65535,
    urgent: 0,
    tcpOptions: new Uint8Array([1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 3]),
  };
  const superFrame = buildTcpFrame(superSpec, payload(20_000), 'partial');
  const SUPER_HB = 14 + 20 + 32;

  /** The process sends `frame` as header + payload pieces with dpf_send_tso; returns what the call returned. */
  function sendTso(sys: Libc, fd: number, frame: Uint8Array, card: number, segmentBytes: number, split = SUPER_HB): number {
    const iov = sys.malloc(2 * IOVEC_BYTES);
    sys.view.setUint32(iov, put(sys, frame.subarray(0, split)), true);
    sys.view.setUint32(iov + 4, split, true);
    sys.view.setUint32(iov + 8, put(sys, frame.subarray(split)), true);
    sys.view.setUint32(iov + 12, frame.length - split, true);
    return sys.call('dpf_send_tso', fd, iov, 2, card, segmentBytes);
  }

  it('dpf_send_tso on a card without TSO: the kernel cuts the super-segment; the host receives exactly the segments TCP would have sent one by one', async () => {
    const m = dpfMachine();
    expect(m.net.ifaces[1]!.dev.tsoMaxBytes).toBe(0);
    const results: number[] = [];
    await spawn(m, (sys) => {
      const [fd] = dpfSocket(sys);
      results.push(sendTso(sys, fd, superFrame, 1, 1448));
      // Header and payload pieces cut anywhere (inside the TCP header here) read the same.
      results.push(sendTso(sys, fd, superFrame, 1, 1000, 40));
    }).exited;
    expect(results).toEqual([superFrame.length, superFrame.length]);
    const want = [1448, 1000].flatMap((mss) => {
      const n = Math.ceil(20_000 / mss);
      return Array.from({ length: n }, (_, i) =>
        buildTcpFrame(
          { ...superSpec, seq: superSpec.seq + i * mss, ipId: superSpec.ipId + i, flags: i === n - 1 ? superSpec.flags : superSpec.flags & ~0x09 },
          payload(20_000).subarray(i * mss, (i + 1) * mss),
          'full',
        ),
      );
    });
    expect(m.hosts[1]!.received).toEqual(want);
    expect(m.hosts[0]!.received).toHaveLength(0);
    expect(m.af.stats()).toMatchObject({ framesSent: 2, bytesSent: 2 * superFrame.length, sendErrors: 0, tsoFrames: 2, tsoSegmentsSoftware: want.length, tsoRefused: {} });
    // The card's own count: the segments, and the gratuitous ARP sent at start.
    expect(m.hosts[1]!.card.counters()).toMatchObject({ txFrames: want.length + 1 });
    expectClean(m);
    m.kernel.assertNoLeaks();
  });

  it('dpf_send_tso on a card with TSO (tsoMaxBytes ≥ the frame): the card gets the super-segment whole', async (ctx) => {
    const m = dpfMachine({ tsoMaxBytes: 65_549 });
    // The memory wire's tsoMaxBytes option comes with the tso-nic branch; nothing is faked here.
    if (m.net.ifaces[1]!.dev.tsoMaxBytes === 0) ctx.skip('MemoryCard has no tsoMaxBytes option on this branch (tso-nic adds it)');
    const results: number[] = [];
    await spawn(m, (sys) => {
      const [fd] = dpfSocket(sys);
      results.push(sendTso(sys, fd, superFrame, 1, 1448));
      const info = sys.malloc(DPF_IFINFO_BYTES);
      sys.call('dpf_ifinfo', 1, info);
      results.push(sys.mem[info + DPF_IFINFO_OFF_FLAGS]!);
    }).exited;
    expect(results).toEqual([superFrame.length, DPF_IFINFO_F_TSO]);
    expect(m.hosts[1]!.received).toEqual([superFrame]);
    expect(m.af.stats()).toMatchObject({ tsoFrames: 1, tsoSegmentsSoftware: 0 });
    expectClean(m);
  });

  it('dpf_send_tso refusals: off the contract EINVAL, too big EMSGSIZE, unknown card ENODEV, bad iovec EFAULT, not a DPF socket ENOTSOCK; segmentBytes 0 is dpf_send; counters', async () => {
    const m = dpfMachine();
    const ordinary = buildTcpFrame(superSpec, payload(1000), 'full');
    const syn = Uint8Array.from(superFrame);
    syn[14 + 20 + 13] = 0x02;
    const results: number[] = [];
    await spawn(m, (sys) => {
      const [fd] = dpfSocket(sys);
      results.push(sendTso(sys, fd, syn, 1, 1448));
      results.push(sendTso(sys, fd, superFrame, 1, 1500));
      results.push(sendTso(sys, fd, superFrame, 1, 0));
      results.push(sendTso(sys, fd, superFrame, 7, 1448));
      results.push(sendTso(sys, fd, ordinary, 1, 0));
      results.push(sys.call('dpf_send_tso', fd, 0, 2, 1, 1448));
      const pipe = sys.pipe();
      results.push(typeof pipe === 'number' ? pipe : sendTso(sys, pipe[0], superFrame, 1, 1448));
    }).exited;
    expect(results).toEqual([-EINVAL, -EMSGSIZE, -EMSGSIZE, -ENODEV, ordinary.length, -EFAULT, -ENOTSOCK]);
    expect(m.hosts[1]!.received).toEqual([ordinary]);
    expect(m.af.stats()).toMatchObject({ framesSent: 1, sendErrors: 4, tsoFrames: 0, tsoSegmentsSoftware: 0, tsoRefused: { EINVAL: 1, EMSGSIZE: 1 } });
    expectClean(m);
    m.kernel.assertNoLeaks();
  });

  it('root is checked at socket(): a DPF socket handed to a process of another uid keeps receiving and sending', async () => {
    const m = dpfMachine();
    const g = gate();
    let sock!: DpfSocket;
    const owner = spawn(m, async (sys) => {
      const [fd] = dpfSocket(sys, UDP7);
      sock = m.kernel.fileOf(m.kernel.process(sys.getpid())!, fd) as DpfSocket;
      await g.wait;
    });
    await settle();
    await m.hosts[0]!.inject(udpFrame(HOST0, 5, 7, payload(8)));
    const seen: number[] = [];
    const user = m.kernel.spawn('user', (sys) => {
      const ring = sys.malloc(4096);
      const iov = sys.malloc(IOVEC_BYTES);
      seen.push(sys.call('dpf_recvbatch', 3, ring, 4096, 0));
      sys.view.setUint32(iov, ring + 4, true);
      sys.view.setUint32(iov + 4, 50, true);
      seen.push(sys.call('dpf_send', 3, iov, 1, 0), sys.socket(AF_DPF, SOCK_RAW, 0));
    }, { uid: 1000, files: [[3, sock]] });
    await user.exited;
    g.open();
    await owner.exited;
    expect(seen).toEqual([1, 50, -EPERM]);
    expect(m.hosts[0]!.received).toHaveLength(1);
    m.kernel.assertNoLeaks();
  });

  it('the reply goes out of the card the frame came from, addressed by the sockaddr_dpf recvfrom returned', async () => {
    const m = dpfMachine();
    const p = spawn(m, async (sys) => {
      const [fd] = dpfSocket(sys, 'udp and dst port 7');
      const buf = sys.malloc(2000);
      const from = sys.malloc(SOCKADDR_DPF_BYTES);
      const pfd = sys.malloc(8);
      sys.view.setInt32(pfd, fd, true);
      sys.view.setInt16(pfd + 4, POLLIN, true);
      for (let i = 0; i < 2; i++) {
        await sys.poll(pfd, 1, -1);
        const n = sys.call('dpf_recvfrom', fd, buf, 2000, 0, from);
        sys.mem[buf + 42] = 0xee; // mark it
        expect(sys.sendto(fd, buf, n, 0, from, SOCKADDR_DPF_BYTES)).toBe(n);
      }
    });
    await settle();
    await m.hosts[1]!.inject(udpFrame(HOST1, 1, 7, payload(9)));
    await m.hosts[0]!.inject(udpFrame(HOST0, 1, 7, payload(9)));
    await p.exited;
    expect(m.hosts.map((h) => h.received.map((f) => f[42]))).toEqual([[0xee], [0xee]]);
  });
});

describe('AF_DPF: lifetime', () => {
  it('close removes the filter: the same datagram then gets ICMP port unreachable from the conventional path', async () => {
    const m = dpfMachine();
    const g = gate();
    let closed = -1;
    let filtersAfterClose = -1;
    const p = spawn(m, async (sys) => {
      const [fd] = dpfSocket(sys, UDP7);
      await g.wait;
      closed = sys.close(fd);
      filtersAfterClose = m.engine.filters().length;
    });
    await settle();
    await m.hosts[0]!.inject(udpFrame(HOST0, 5, 7, payload(8)));
    expect(icmpTypes(m.hosts[0]!.received)).toEqual([]);
    g.open();
    await p.exited;
    expect([closed, filtersAfterClose]).toEqual([0, 0]);
    await m.hosts[0]!.inject(udpFrame(HOST0, 5, 7, payload(8)));
    expect(icmpTypes(m.hosts[0]!.received)).toEqual([[3, 3]]);
    expect(m.af.stats()).toMatchObject({ sockets: 0, attaches: 1, detaches: 1 });
    m.kernel.assertNoLeaks(p.pid);
    expectClean(m);
  });

  it('process exit removes its filters and sockets (no close needed), whatever way it ends', async () => {
    const m = dpfMachine();
    for (const end of ['return', 'throw', 'kill'] as const) {
      const p = m.kernel.spawn('t', async (sys) => {
        dpfSocket(sys, UDP7);
        dpfSocket(sys, 'udp and dst port 9');
        if (end === 'throw') throw new Error('boom');
        if (end === 'kill') await sys.sleep(1000);
      }, { uid: 0 });
      await settle();
      expect(m.engine.filters()).toHaveLength(end === 'kill' ? 2 : 0);
      if (end === 'kill') m.kernel.kill(p.pid, 9);
      await p.exited;
      expect(m.engine.filters()).toEqual([]);
      expect(m.af.stats().sockets).toBe(0);
      m.kernel.assertNoLeaks(p.pid);
    }
    await m.hosts[0]!.inject(udpFrame(HOST0, 5, 7, payload(8)));
    expect(icmpTypes(m.hosts[0]!.received)).toEqual([[3, 3]]);
    expectClean(m);
  });

  it('a socket shared with another process: the filter goes when its owner exits; the other keeps the socket and the frames already queued', async () => {
    const m = dpfMachine();
    const [ga, gb] = [gate(), gate()];
    const seen: unknown[] = [];
    let shared!: DpfSocket;
    const a = spawn(m, async (sys) => {
      const [fd] = dpfSocket(sys, UDP7);
      shared = m.kernel.fileOf(m.kernel.process(sys.getpid())!, fd) as DpfSocket;
      await ga.wait;
    });
    await settle();
    await m.hosts[0]!.inject(udpFrame(HOST0, 5, 7, payload(8)));
    const b = m.kernel.spawn('b', async (sys) => {
      await gb.wait;
      const buf = sys.malloc(2000);
      seen.push(sys.call('dpf_recv', 3, buf, 2000, 0), sys.call('dpf_recv', 3, buf, 2000, 0), sys.call('dpf_detach', 3, 1));
    }, { uid: 0, files: [[3, shared]] });
    ga.open();
    await a.exited;
    expect(m.engine.filters()).toEqual([]);
    expect(shared.filterId).toBe(0);
    expectClean(m);
    await m.hosts[0]!.inject(udpFrame(HOST0, 5, 7, payload(8)));
    expect(icmpTypes(m.hosts[0]!.received)).toEqual([[3, 3]]);
    gb.open();
    await b.exited;
    expect(seen).toEqual([8 + 42, -EAGAIN, -ENOENT]);
    m.kernel.assertNoLeaks();
    expectClean(m);
  });

  it('attach replaces the socket’s filter (a refused one leaves it in place); re-attaching the same filter keeps its id; detach needs the socket’s own id; queued frames survive a detach', async () => {
    const m = dpfMachine();
    const g = gate();
    const seen: unknown[] = [];
    const p = spawn(m, async (sys) => {
      const [fd, id] = dpfSocket(sys, UDP7);
      seen.push(id, attach(sys, fd, filterBinary(UDP7)), attach(sys, fd, filterBinary('udp and dst host 198.18.0.2 and dst port 9')));
      seen.push(attach(sys, fd, new Uint8Array([1, 2, 3]))); // refused: the filter in place stays
      seen.push(m.engine.filters().map((f) => f.id));
      await g.wait;
      seen.push(sys.call('dpf_detach', fd, 1), geterror(sys, fd).split('\n')[0]);
      seen.push(sys.call('dpf_detach', fd, 0), sys.call('dpf_detach', fd, 2), sys.call('dpf_detach', fd, 2));
      const buf = sys.malloc(100);
      seen.push(sys.call('dpf_recv', fd, buf, 100, 0), sys.call('dpf_recv', fd, buf, 100, 0));
    });
    await settle();
    await m.hosts[0]!.inject(udpFrame(HOST0, 5, 7, payload(8)), udpFrame(HOST0, 5, 9, payload(9)));
    g.open();
    await p.exited;
    expect(seen).toEqual([1, 1, 2, -EINVAL, [2], -ENOENT, "DPF_BOGUSID (-5): filter #1 is not this socket's filter", -ENOENT, 0, -ENOENT, 9 + 42, -EAGAIN]);
    expect(icmpTypes(m.hosts[0]!.received)).toEqual([[3, 3]]); // port 7 is nobody's after the replace
    expectClean(m);
  });
});

describe('AF_DPF: the conventional path beside DPF', () => {
  it('ARP and ping are still answered while filters are installed; a frame DPF claims is never answered by the kernel', async () => {
    const m = dpfMachine();
    const g = gate();
    const p = spawn(m, async (sys) => {
      dpfSocket(sys, UDP7);
      dpfSocket(sys, 'tcp and dst port 80');
      dpfSocket(sys, 'icmp and dst host 198.18.1.2');
      await g.wait;
    });
    await settle();
    const h0 = m.hosts[0]!;
    await h0.inject(arpFrame({ src: HOST0.src, dst: 0xffffffffffff }, 'request', { sha: HOST0.src, spa: HOST0.srcIp, tha: 0, tpa: HOST0.dstIp }));
    await h0.inject(icmpEchoFrame(HOST0, 1, 1, payload(56)));
    await h0.inject(tcpFrame(HOST0, { srcPort: 999, dstPort: 81, control: 'syn' }));
    expect(h0.received).toHaveLength(3);
    expect((ArpPacket.checked(h0.received[0]!, 14) as ArpPacket).operation).toBe(2);
    expect(icmpTypes([h0.received[1]!])).toEqual([[0, 0]]);
    await h0.inject(tcpFrame(HOST0, { srcPort: 999, dstPort: 80, control: 'syn' })); // claimed: no RST
    await m.hosts[1]!.inject(icmpEchoFrame(HOST1, 1, 1, payload(56))); // claimed: no echo reply
    expect(h0.received).toHaveLength(3);
    expect(m.hosts[1]!.received).toHaveLength(0);
    expect(m.net.stats().cards['exo1']!.handled['icmp_echo_answered'] ?? 0).toBe(0);
    g.open();
    await p.exited;
    await m.hosts[1]!.inject(icmpEchoFrame(HOST1, 1, 2, payload(56)));
    expect(icmpTypes(m.hosts[1]!.received)).toEqual([[0, 0]]);
    expectClean(m);
  });

  it('every frame is either claimed by exactly one socket (queued or counted as a drop) or handled by the conventional path — never both (property)', async () => {
    const seed = runSeed('af-dpf claim');
    const frameArb = fc.oneof(
      fc.record({ k: fc.constant('udp'), port: fc.constantFrom(7, 9, 53, 1000), card: fc.integer({ min: 0, max: 1 }), n: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ k: fc.constant('tcp'), port: fc.constantFrom(80, 81), card: fc.integer({ min: 0, max: 1 }), n: fc.constant(0) }),
      fc.record({ k: fc.constant('icmp'), port: fc.constant(0), card: fc.integer({ min: 0, max: 1 }), n: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ k: fc.constant('junk'), port: fc.constant(0), card: fc.integer({ min: 0, max: 1 }), n: fc.integer({ min: 14, max: 200 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 6 }), fc.infiniteStream(fc.integer({ min: 0, max: 255 })), async (specs, queueFrames, bytes) => {
        const m = dpfMachine({ queueFrames });
        const g = gate();
        const p = spawn(m, async (sys) => {
          dpfSocket(sys, 'udp and dst port 7');
          dpfSocket(sys, 'udp and dst host 198.18.1.2 and dst port 9');
          dpfSocket(sys, 'tcp and dst port 80');
          dpfSocket(sys, 'icmp and dst host 198.18.0.2');
          await g.wait;
        });
        await settle();
        const L = [HOST0, HOST1];
        for (const s of specs) {
          const l3 = L[s.card]!;
          const f =
            s.k === 'udp'
              ? udpFrame(l3, 1234, s.port, payload(s.n))
              : s.k === 'tcp'
                ? tcpFrame(l3, { srcPort: 1234, dstPort: s.port, control: 'syn' })
                : s.k === 'icmp'
                  ? icmpEchoFrame(l3, 1, 1, payload(s.n))
                  : new Uint8Array(Array.from({ length: s.n }, () => bytes.next().value as number));
          await m.hosts[s.card]!.inject(f);
        }
        const t = m.net.stats().total;
        const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
        const st = m.af.stats();
        const matched = m.engine.filters().reduce((a, f) => a + f.matches, 0);
        expect(t.rxFrames).toBe(specs.length);
        expect(t.dpfClaimed + sum(t.handled) + sum(t.drops)).toBe(t.rxFrames);
        expect(t.dpfClaimed).toBe(matched);
        expect([st.framesClaimed, st.framesQueued + st.queueDrops]).toEqual([t.dpfClaimed, t.dpfClaimed]);
        expect(m.af.filterViews().every((v) => v.queue.frames <= queueFrames)).toBe(true);
        g.open();
        await p.exited;
        expectClean(m);
      }),
      { seed, numRuns: 60 },
    );
  });
});

describe('AF_DPF: hostile arguments', () => {
  it('random bytes as filters, hostile lengths and pointers: an errno or an id, never an exception (property)', async () => {
    const m = dpfMachine();
    const seed = runSeed('af-dpf hostile attach');
    const results: number[] = [];
    await spawn(m, (sys) => {
      const fd = sys.socket(AF_DPF, SOCK_RAW, 0);
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 6, maxLength: 64 }).map((b) => Uint8Array.of(0x44, 0x50, 1, 0, ...b))), (bytes) => {
          const r = attach(sys, fd, bytes);
          results.push(r);
          expect(Number.isSafeInteger(r)).toBe(true);
          if (r > 0) expect(sys.call('dpf_detach', fd, r)).toBe(0);
          else expect(Object.values(DPF_ERRNO)).toContain(-r);
        }),
        { seed, numRuns: 500 },
      );
      const mem = sys.mem.length;
      for (const [ptr, len] of [
        [0, 10],
        [mem - 4, 10],
        [mem, 1],
        [4096, 2 ** 32 - 1],
        [-1, 10],
        [1.5, 10],
      ] as const) {
        const r = sys.call('dpf_attach', fd, ptr, len);
        expect([-EFAULT, -EINVAL]).toContain(r);
      }
    }).exited;
    expect(results.length).toBe(500);
    expectClean(m);
    m.kernel.assertNoLeaks();
  });

  it('every AF_DPF call with random arguments and other kinds of descriptors: a number, never an exception; invariants hold (property)', async () => {
    const m = dpfMachine();
    const seed = runSeed('af-dpf hostile calls');
    const calls = ['dpf_attach', 'dpf_detach', 'dpf_recv', 'dpf_recvbatch', 'dpf_send', 'dpf_send_tso', 'dpf_recvfrom', 'dpf_geterror', 'dpf_ifinfo', 'read', 'write', 'sendto', 'bind', 'ioctl'] as const;
    const arg = fc.oneof(
      fc.integer({ min: -3, max: 12 }),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.constantFrom(0, 4096, 8192, 65536 - 8, 65536, 2 ** 31 - 1, -(2 ** 31), 2 ** 53, NaN, Infinity, -0),
    );
    const g = gate();
    // Another process's descriptors: its fd numbers mean nothing (or something else) here.
    const other = spawn(m, async (sys) => {
      for (let i = 0; i < 6; i++) dpfSocket(sys, `udp and dst port ${100 + i}`);
      await g.wait;
    });
    await settle();
    await spawn(m, async (sys) => {
      const [fd] = dpfSocket(sys, UDP7);
      sys.pipe();
      sys.epoll_create1(0);
      expect(fd).toBe(0);
      fc.assert(
        fc.property(fc.constantFrom(...calls), fc.array(arg, { minLength: 6, maxLength: 6 }), (name, a) => {
          const r = (sys.syscall as (...x: unknown[]) => unknown)(NR[name], ...a);
          expect(typeof r).toBe('number');
          expect(Number.isSafeInteger(r)).toBe(true);
        }),
        { seed, numRuns: 3000 },
      );
      const buf = sys.malloc(100);
      expect(sys.call('dpf_recv', 1, buf, 100, 0)).toBe(-ENOTSOCK); // a pipe
      expect(sys.call('dpf_recv', 9, buf, 100, 0)).toBe(-EBADF); // open only in the other process
      expect(sys.call('dpf_recv', 0, 0, 100, 0)).toBe(-EFAULT);
    }).exited;
    expect(m.kernel.stats().internalErrors).toBe(0);
    expect(m.af.checkInvariants()).toEqual([]);
    g.open();
    await other.exited;
    m.kernel.assertNoLeaks();
    expect(m.engine.filters()).toEqual([]);
    expectClean(m);
  });
});
