import { describe, expect, it } from 'vitest';
import { EAGAIN, EBADF, EPIPE } from '../abi/errno.js';
import { CHAN_REC_BYTES, CHAN_REC_OFF_BLOCK, CHAN_REC_OFF_REQUEST_ID, CHAN_REC_OFF_STATUS, FIONREAD, PIPE_BUF } from '../abi/layout.js';
import type { Libc } from '../abi/libc.js';
import { SIGPIPE } from '../abi/signals.js';
import { Kernel } from '../kernel.js';
import { advanceUntil, runProcess, settle } from '../syscall/test-support.js';
import { VirtualClock } from '../../util/clock.js';

function pipeOf(sys: Libc): [number, number] {
  const r = sys.pipe();
  if (typeof r === 'number') throw new Error(`pipe: ${r}`);
  return r;
}

/** A test subsystem: `prefetch(fd, block, n, chan)` completes after n ms with one channel record (reserved slot, held file). */
function installFakeDisk(k: Kernel, clock: VirtualClock): void {
  let next = 1;
  k.registerSyscalls({
    prefetch: (_p, _dev, block, n, chanFile) => {
      const chan = k.asChannel(chanFile);
      if (chan === null) return -22;
      if (!chan.reserve()) return -EAGAIN;
      const id = next++;
      k.holdFile(chanFile);
      clock.setTimer(n, () => {
        k.channelNotify(chan, id, 7, block, 0, true);
        k.dropFile(chanFile);
      });
      return id;
    },
  });
}

describe('pipes', () => {
  it('moves bytes, reports EAGAIN when empty, EOF when the writer is gone', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const out: number[] = [];
    await runProcess(k, (sys) => {
      const [r, w] = pipeOf(sys);
      const buf = sys.malloc(100);
      sys.mem.set([1, 2, 3, 4, 5], buf);
      out.push(sys.read(r, buf, 10)); // empty, writer open
      out.push(sys.write(w, buf, 5));
      const n = sys.malloc(4);
      out.push(sys.ioctl(r, FIONREAD, n), sys.view.getInt32(n, true));
      out.push(sys.read(r, buf + 50, 3), sys.read(r, buf + 53, 10));
      out.push(sys.close(w), sys.read(r, buf, 10)); // EOF
      out.push(sys.write(r, buf, 1)); // wrong end
      expect([...sys.bytes(buf + 50, 5)]).toEqual([1, 2, 3, 4, 5]);
    });
    expect(out).toEqual([-EAGAIN, 5, 0, 5, 3, 2, 0, 0, -EBADF]);
    k.assertNoLeaks();
  });

  it('writes of at most PIPE_BUF bytes are atomic; larger ones may be partial', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const out: number[] = [];
    await runProcess(k, (sys) => {
      const [, w] = pipeOf(sys);
      const buf = sys.malloc(70000);
      out.push(sys.write(w, buf, 65536 - 100)); // leaves 100 bytes
      out.push(sys.write(w, buf, PIPE_BUF)); // atomic: all or nothing
      out.push(sys.write(w, buf, PIPE_BUF + 1)); // non-atomic: partial
      out.push(sys.write(w, buf, 1));
    }, { memoryBytes: 1 << 17 });
    expect(out).toEqual([65436, -EAGAIN, 100, -EAGAIN]);
  });

  it('a write with no reader fails with EPIPE and raises SIGPIPE (default: the writer dies)', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    let seen = 0;
    const ignoring = await runProcess(k, (sys) => {
      const [r, w] = pipeOf(sys);
      sys.close(r);
      sys.sigaction(SIGPIPE, 'ignore');
      seen = sys.write(w, sys.malloc(4), 4);
    });
    expect(seen).toBe(-EPIPE);
    expect(ignoring.reason).toBe('return');
    const dying = await runProcess(k, (sys) => {
      const [r, w] = pipeOf(sys);
      sys.close(r);
      sys.write(w, sys.malloc(4), 4);
      throw new Error('not reached: SIGPIPE ends the process');
    });
    expect(dying).toMatchObject({ reason: 'signal', signal: SIGPIPE });
    k.assertNoLeaks();
  });

  it('two processes talk through a pair of pipes (ping-pong with blocking reads)', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    let toServer: [number, number] = [0, 0];
    let toClient: [number, number] = [0, 0];
    const setup = k.spawn('setup', async (sys) => {
      toServer = pipeOf(sys);
      toClient = pipeOf(sys);
      await sys.read_wait(toServer[0], sys.malloc(1), 1, -1); // keep the pipes alive until handed over
    });
    await settle();
    const files = (fds: [number, number][]) => fds.map(([child, parent]) => [child, k.fileOf(setup, parent)!] as const);
    const replies: string[] = [];
    const server = k.spawn('server', async (sys) => {
      const buf = sys.malloc(64);
      for (;;) {
        const n = await sys.read_wait(0, buf, 64, -1);
        if (n <= 0) return 0;
        const msg = new TextDecoder().decode(sys.bytes(buf, n));
        const reply = new TextEncoder().encode(msg === 'ping' ? 'pong' : '?');
        sys.mem.set(reply, buf);
        await sys.write_wait(1, buf, reply.length, -1);
      }
    }, { files: files([[0, toServer[0]], [1, toClient[1]]]) });
    const client = k.spawn('client', async (sys) => {
      const buf = sys.malloc(64);
      for (let i = 0; i < 3; i++) {
        sys.mem.set(new TextEncoder().encode('ping'), buf);
        expect(sys.write(1, buf, 4)).toBe(4);
        const n = await sys.read_wait(0, buf, 64, -1);
        replies.push(new TextDecoder().decode(sys.bytes(buf, n)));
      }
      sys.close(1); // EOF for the server
    }, { files: files([[0, toClient[0]], [1, toServer[1]]]) });
    k.kill(setup.pid, 9);
    await client.exited;
    const st = await server.exited;
    expect(replies).toEqual(['pong', 'pong', 'pong']);
    expect(st).toMatchObject({ reason: 'return', code: 0 });
    k.assertNoLeaks();
  });
});

describe('memory backed by a SharedArrayBuffer (what a worker-thread process would use)', () => {
  it('runs the same program unchanged', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const out: number[] = [];
    const p = k.spawn('shared', async (sys) => {
      const [r, w] = pipeOf(sys);
      const buf = sys.malloc(8);
      sys.mem.set([9, 8, 7], buf);
      out.push(sys.write(w, buf, 3), await sys.read_wait(r, buf + 4, 3, 0), sys.mem[buf + 6]!);
      out.push(sys.read(r, 0, 3));
    }, { sharedMemory: true });
    expect(p.memory).toBeInstanceOf(SharedArrayBuffer);
    await p.exited;
    expect(out).toEqual([3, 3, 7, -14]);
    k.assertNoLeaks();
  });
});

describe('channels', () => {
  it('byte mode: one byte per event, read drains, never overflows', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const out: number[] = [];
    await runProcess(k, (sys) => {
      const c = sys.channel(0);
      const chan = k.asChannel(k.fileOf(k.process(sys.getpid())!, c)!)!;
      for (let i = 0; i < 10_000; i++) k.channelNotify(chan, i, 0, 0, 0);
      const buf = sys.malloc(20_000);
      out.push(sys.read(c, buf, 4), sys.read(c, buf, 20_000), sys.read(c, buf, 1));
      out.push(sys.mem[buf]!);
    });
    expect(out).toEqual([4, 9996, -EAGAIN, 1]);
  });

  it('record mode: 24-byte records; a full channel folds events into one overflow record, then resumes', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const records: [number, number, number, number, number][] = [];
    await runProcess(k, (sys) => {
      const c = sys.channel(1, 4);
      const chan = k.asChannel(k.fileOf(k.process(sys.getpid())!, c)!)!;
      const buf = sys.malloc(10 * CHAN_REC_BYTES);
      expect(sys.read(c, buf, CHAN_REC_BYTES - 1)).toBe(-22); // whole records only
      for (let i = 1; i <= 7; i++) k.channelNotify(chan, i, 3, 2 ** 40 + i, -i); // 4 fit, 3 fold
      const drain = () => {
        const n = sys.read(c, buf, 10 * CHAN_REC_BYTES);
        for (let at = buf; at < buf + Math.max(0, n); at += CHAN_REC_BYTES) {
          const v = sys.view;
          records.push([
            v.getUint32(at + CHAN_REC_OFF_REQUEST_ID, true),
            v.getUint32(at + 4, true),
            Number(v.getBigUint64(at + CHAN_REC_OFF_BLOCK, true)),
            v.getInt32(at + CHAN_REC_OFF_STATUS, true),
            v.getUint32(at + 20, true),
          ]);
        }
      };
      drain();
      k.channelNotify(chan, 8, 3, 8, 0);
      drain();
    });
    expect(records).toEqual([
      [1, 3, 2 ** 40 + 1, -1, 0],
      [2, 3, 2 ** 40 + 2, -2, 0],
      [3, 3, 2 ** 40 + 3, -3, 0],
      [4, 3, 2 ** 40 + 4, -4, 0],
      [0, 0, 0, 3, 1], // overflow: 3 events folded
      [8, 3, 8, 0, 0],
    ]);
  });

  it('two processes: one starts asynchronous requests on the other’s channel; the other waits and reads one record per completion', async () => {
    const clock = new VirtualClock();
    const k = new Kernel({ clock });
    installFakeDisk(k, clock);
    let chanFd = -1;
    const got: number[][] = [];
    const reader = k.spawn('reader', async (sys) => {
      chanFd = sys.channel(1, 2);
      const buf = sys.malloc(CHAN_REC_BYTES);
      for (let i = 0; i < 3; i++) {
        const n = await sys.read_wait(chanFd, buf, CHAN_REC_BYTES, -1);
        got.push([n, sys.view.getUint32(buf, true), Number(sys.view.getBigUint64(buf + 8, true))]);
      }
    });
    await settle();
    const results: number[] = [];
    const requester = k.spawn('requester', async (sys) => {
      for (const block of [100, 200, 300]) results.push(sys.call('prefetch', 0, block, 5, 9));
      await sys.sleep(6);
      results.push(sys.call('prefetch', 0, 400, 5, 9));
      // fd 9 is the reader's channel; fd 0 stands for the device.
    }, { files: [[9, k.fileOf(reader, chanFd)!], [0, k.fileOf(reader, chanFd)!]] });
    await advanceUntil(clock, () => reader.alive || requester.alive);
    // Capacity 2: the third request cannot reserve a completion slot and fails with EAGAIN instead of losing an event.
    expect(results).toEqual([1, 2, -EAGAIN, 3]);
    expect(got).toEqual([
      [24, 1, 100],
      [24, 2, 200],
      [24, 3, 400],
    ]);
    k.assertNoLeaks();
  });
});
