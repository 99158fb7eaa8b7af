import { describe, expect, it } from 'vitest';
import { EDESTADDRREQ, EFAULT, EINVAL, EMSGSIZE, ENOBUFS, ENODEV, EOPNOTSUPP, EPERM, ESOCKTNOSUPPORT, EAFNOSUPPORT } from '../abi/errno.js';
import { AF_PACKET, IOVEC_BYTES, MSGHDR_BYTES, SOCKADDR_PKT_BYTES, SOCKADDR_PKT_OFF_DEVICE, SOCK_PACKET, SOCK_RAW } from '../abi/layout.js';
import type { Libc } from '../abi/libc.js';
import { Kernel } from '../kernel.js';
import { RecordingDevice, runProcess } from '../syscall/test-support.js';
import { VirtualClock } from '../../util/clock.js';

function sockaddr(sys: Libc, dev: string): number {
  const a = sys.calloc(SOCKADDR_PKT_BYTES);
  sys.view.setUint16(a, AF_PACKET, true);
  sys.mem.set(new TextEncoder().encode(dev), a + SOCKADDR_PKT_OFF_DEVICE);
  return a;
}

function frame(sys: Libc, bytes: number, fill: number): number {
  const f = sys.malloc(bytes);
  sys.mem.fill(fill, f, f + bytes);
  return f;
}

function setup() {
  const eth0 = new RecordingDevice('eth0');
  const eth1 = new RecordingDevice('eth1', 9000);
  const k = new Kernel({ clock: new VirtualClock(), devices: new Map([['eth0', eth0], ['eth1', eth1]]) });
  return { k, eth0, eth1 };
}

describe('raw-send packet socket (SOCK_PACKET)', () => {
  it('is refused to a process without uid 0 (EPERM); other families/types have their errnos', async () => {
    const { k } = setup();
    const seen: number[] = [];
    await runProcess(k, (sys) => {
      seen.push(sys.socket(AF_PACKET, SOCK_PACKET, 0), sys.socket(AF_PACKET, 2, 0), sys.socket(2, 1, 0));
    }, { uid: 1000 });
    expect(seen).toEqual([-EPERM, -ESOCKTNOSUPPORT, -EAFNOSUPPORT]);
  });

  it('sendto puts one whole frame on the named card', async () => {
    const { k, eth0, eth1 } = setup();
    const seen: number[] = [];
    await runProcess(k, (sys) => {
      const s = sys.socket(AF_PACKET, SOCK_PACKET, 0x0300);
      const f = frame(sys, 60, 0xab);
      seen.push(sys.sendto(s, f, 60, 0, sockaddr(sys, 'eth0'), SOCKADDR_PKT_BYTES));
      seen.push(sys.sendto(s, f, 60, 0, sockaddr(sys, 'eth9'), SOCKADDR_PKT_BYTES));
      seen.push(sys.sendto(s, f, 13, 0, sockaddr(sys, 'eth0'), SOCKADDR_PKT_BYTES)); // shorter than an Ethernet header
      seen.push(sys.sendto(s, f, 1515, 0, sockaddr(sys, 'eth0'), SOCKADDR_PKT_BYTES)); // above MTU + 14
      seen.push(sys.write(s, f, 60)); // not bound: no destination
      seen.push(sys.read(s, f, 60));
    }, { uid: 0 });
    expect(seen).toEqual([60, -ENODEV, -EINVAL, -EMSGSIZE, -EDESTADDRREQ, -EOPNOTSUPP]);
    expect(eth0.frames).toHaveLength(1);
    expect([...eth0.frames[0]!]).toEqual(new Array(60).fill(0xab));
    expect(eth1.frames).toHaveLength(0);
  });

  it('sendmsg gathers the frame from an iovec (header and payload apart); bind + writev does the same', async () => {
    const { k, eth1 } = setup();
    const seen: number[] = [];
    await runProcess(k, (sys) => {
      const s = sys.socket(AF_PACKET, SOCK_RAW, 0);
      const hdr = frame(sys, 14, 1);
      const payload = frame(sys, 8000, 2);
      const iov = sys.malloc(2 * IOVEC_BYTES);
      sys.view.setUint32(iov, hdr, true);
      sys.view.setUint32(iov + 4, 14, true);
      sys.view.setUint32(iov + 8, payload, true);
      sys.view.setUint32(iov + 12, 8000, true);
      const msg = sys.calloc(MSGHDR_BYTES);
      sys.view.setUint32(msg, sockaddr(sys, 'eth1'), true);
      sys.view.setUint32(msg + 4, SOCKADDR_PKT_BYTES, true);
      sys.view.setUint32(msg + 8, iov, true);
      sys.view.setUint32(msg + 12, 2, true);
      seen.push(sys.sendmsg(s, msg, 0));
      seen.push(sys.bind(s, sockaddr(sys, 'eth1'), SOCKADDR_PKT_BYTES));
      seen.push(sys.writev(s, iov, 2));
      // A faulting tail: the second iovec runs off the end of memory. Nothing is sent.
      sys.view.setUint32(iov + 8, sys.mem.length - 10, true);
      seen.push(sys.writev(s, iov, 2), sys.sendmsg(s, msg, 0));
    }, { uid: 0, memoryBytes: 1 << 16 });
    expect(seen).toEqual([8014, 0, 8014, -EFAULT, -EFAULT]);
    expect(eth1.frames.map((f) => [f.length, f[0], f[13], f[14], f[8013]])).toEqual([
      [8014, 1, 1, 2, 2],
      [8014, 1, 1, 2, 2],
    ]);
  });

  it('a card with a full queue drops the frame: ENOBUFS, counted on the socket', async () => {
    const { k, eth0 } = setup();
    eth0.full = true;
    let r = 0;
    const p = k.spawn('sender', (sys) => {
      const s = sys.socket(AF_PACKET, SOCK_PACKET, 0);
      r = sys.sendto(s, frame(sys, 60, 0), 60, 0, sockaddr(sys, 'eth0'), SOCKADDR_PKT_BYTES);
      return new Promise<void>(() => {}); // stay alive so the admin view can be read
    }, { uid: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(r).toBe(-ENOBUFS);
    expect(k.describeFds(p)[0]).toMatchObject({ kind: 'packet', state: { framesDropped: 1, framesSent: 0 } });
    k.kill(p.pid, 9);
    await p.exited;
    k.assertNoLeaks();
  });
});
