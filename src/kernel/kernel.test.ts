import { describe, expect, it } from 'vitest';
import { isDaemonError } from '../errors.js';
import { EAGAIN, EBADF, EFAULT, EINVAL, EIO, ENOSYS } from './abi/errno.js';
import { PAGE_BYTES } from './abi/layout.js';
import { NR } from './abi/syscalls.js';
import { Kernel } from './kernel.js';
import { VirtualClock } from '../util/clock.js';
import { runProcess } from './syscall/test-support.js';

describe('the thin layer: golden errno table (reliability-methods §4.4)', () => {
  // One row per (call, fault): the arguments as the process passes them and the expected result.
  // The process has 64 KiB of memory; fd 0/1 are a pipe; `B` is a valid 64-byte buffer.
  const MEM = 65536;
  const B = 0x8000;
  const rows: [string, string, unknown[], number][] = [
    ['read', 'NULL buffer', [0, 0, 16], -EFAULT],
    ['read', 'buffer in the unmapped first page', [0, PAGE_BYTES - 1, 16], -EFAULT],
    ['read', 'buffer straddling the end of memory', [0, MEM - 8, 16], -EFAULT],
    ['read', 'buffer at the end of memory', [0, MEM, 1], -EFAULT],
    ['read', 'count reaching exactly the end is fine (nothing to read yet)', [0, MEM - 16, 16], -EAGAIN],
    ['read', 'zero count with a NULL pointer (as Linux)', [0, 0, 0], 0],
    ['read', 'huge count', [0, B, 2 ** 32 - 1], -EFAULT],
    ['read', 'count above 2^32', [0, B, 2 ** 32], -EINVAL],
    ['read', 'count 2^53', [0, B, 2 ** 53], -EINVAL],
    ['read', 'NaN count', [0, B, NaN], -EINVAL],
    ['read', 'fractional count', [0, B, 1.5], -EINVAL],
    ['read', 'negative count', [0, B, -1], -EINVAL],
    ['read', 'BigInt count', [0, B, 16n], -EINVAL],
    ['read', 'string count', [0, B, '16'], -EINVAL],
    ['read', 'pointer 2^53', [0, 2 ** 53, 16], -EFAULT],
    ['read', 'pointer -1', [0, -1, 16], -EFAULT],
    ['read', 'pointer NaN', [0, NaN, 16], -EFAULT],
    ['read', 'pointer -0 is NULL', [0, -0, 16], -EFAULT],
    ['read', 'fd -0 is fd 0', [-0, B, 16], -EAGAIN],
    ['read', 'fd never opened', [7, B, 16], -EBADF],
    ['read', 'fd -1', [-1, B, 16], -EBADF],
    ['read', 'fd 2^31', [2 ** 31, B, 16], -EBADF],
    ['read', 'fd as an object with valueOf', [{ valueOf: () => 0 }, B, 16], -EBADF],
    ['read', 'EBADF wins over EFAULT (fd checked first, as Linux)', [7, 0, 16], -EBADF],
    ['close', 'fd above the limit', [4096, 0, 0], -EBADF],
    ['close', 'fd never opened', [9, 0, 0], -EBADF],
    ['writev', 'iovcnt above UIO_MAXIOV', [1, B, 1025], -EINVAL],
    ['writev', 'iovcnt negative', [1, B, -1], -EINVAL],
    ['writev', 'iovec array straddling the end', [1, MEM - 8, 2], -EFAULT],
    ['poll', 'NULL pollfd array with nfds 1', [0, 1, 0], -EFAULT],
    // Deviation: Linux refuses nfds above RLIMIT_NOFILE (EINVAL) before it looks at the array; our
    // thin layer validates the array's range first, so an array that does not fit is EFAULT.
    ['poll', 'nfds above the fd limit, array past the end', [B, 4097, 0], -EFAULT],
    ['poll', 'nfds above the fd limit, array fits', [PAGE_BYTES * 2, 4097, 0], -EINVAL],
    ['poll', 'timeout below -1', [B, 0, -2], -EINVAL],
    ['epoll_wait', 'not an epoll fd', [0, B, 1, 0], -EINVAL],
    ['rt_sigaction', 'wrong sigset size', [10, 0, 0, 4], -EINVAL],
    ['rt_sigaction', 'act straddling the end', [10, MEM - 8, 0, 8], -EFAULT],
    ['clock_gettime', 'NULL timespec', [1, 0], -EFAULT],
    ['clock_gettime', 'unknown clock', [99, B], -EINVAL],
    ['pipe2', 'bad flags', [B, 1], -EINVAL],
    ['channel', 'unknown mode', [7, 0], -EINVAL],
  ];

  it.each(rows)('%s: %s', async (name, _why, args, expected) => {
    const k = new Kernel({ clock: new VirtualClock() });
    let got: unknown;
    let memChanged = false;
    await runProcess(k, async (sys) => {
      sys.pipe();
      const before = sys.mem.slice();
      const r = (sys.syscall as (...a: unknown[]) => unknown)(NR[name as keyof typeof NR], ...args);
      got = r instanceof Promise ? await r : r;
      memChanged = !before.every((x, i) => x === sys.mem[i]);
    }, { memoryBytes: MEM, fdLimit: 4096 });
    expect(got).toBe(expected);
    if (expected === -EFAULT) expect(memChanged).toBe(false);
  });
});

describe('registration API', () => {
  it('subsystems implement declared calls by name; unknown names and duplicates are refused', () => {
    const k = new Kernel({ clock: new VirtualClock() });
    expect(k.implemented('dpf_recv')).toBe(false);
    k.registerSyscalls({ dpf_recv: () => 0 });
    expect(k.implemented('dpf_recv')).toBe(true);
    const refused = (f: () => void) => {
      try {
        f();
        return false;
      } catch (e) {
        return isDaemonError(e, 'KERNEL_ERR_REGISTER');
      }
    };
    expect(refused(() => k.registerSyscalls({ dpf_recv: () => 0 }))).toBe(true);
    expect(refused(() => k.registerSyscalls({ read: () => 0 }))).toBe(true);
    expect(refused(() => k.registerSyscalls({ no_such_call: () => 0 } as never))).toBe(true);
    expect(refused(() => k.registerSocketFamily(64, () => -1))).toBe(false);
    expect(refused(() => k.registerSocketFamily(64, () => -1))).toBe(true);
  });

  it('declared but unimplemented calls answer -ENOSYS (XN calls: XN_ILLEGAL_OP); unknown numbers -ENOSYS', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const seen: unknown[] = [];
    await runProcess(k, (sys) => {
      seen.push(sys.call('dpf_recv', 0, 0, 0, 0), sys.call('xn_root'), sys.syscall(999), sys.syscall(-1), sys.syscall(1e9));
    });
    expect(seen).toEqual([-ENOSYS, -27, -ENOSYS, -ENOSYS, -ENOSYS]);
  });

  it('a socket family registered by a subsystem creates its files through socket()', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const { Channel } = await import('./chan/channel.js');
    k.registerSocketFamily(64, (_p, type) => (type === 3 ? new Channel(0, 0) : -EINVAL));
    const seen: number[] = [];
    await runProcess(k, (sys) => {
      seen.push(sys.socket(64, 3, 0), sys.socket(64, 1, 0));
    });
    expect(seen).toEqual([0, -EINVAL]);
    k.assertNoLeaks();
  });

  it('an implementation sees a kernel copy of an in-struct: changing user memory during the call does not change it (no double fetch)', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const views: number[] = [];
    k.registerSyscalls({
      xn_insert_attr: (p, _da, op) => {
        views.push(op.getUint32(0, true));
        p.mem.fill(0xee); // a hostile second thread rewriting the struct
        views.push(op.getUint32(0, true));
        return 0;
      },
    });
    await runProcess(k, (sys) => {
      const op = sys.calloc(32);
      sys.view.setUint32(op, 1234, true);
      expect(sys.call('xn_insert_attr', 1, op)).toBe(0);
    });
    expect(views).toEqual([1234, 1234]);
  });

  it('string arguments: copied in and decoded; ENAMETOOLONG past the limit, EFAULT when memory ends first (XN space)', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const names: string[] = [];
    k.registerSyscalls({
      type_import: (_p, name) => {
        names.push(name);
        return 5;
      },
    });
    const seen: number[] = [];
    await runProcess(k, (sys) => {
      seen.push(sys.call('type_import', sys.cstring('ffs-inode')));
      const long = sys.malloc(100);
      sys.mem.fill(0x61, long, long + 100);
      seen.push(sys.call('type_import', long)); // no NUL within 80 bytes
      const end = sys.mem.length - 4;
      sys.mem.fill(0x61, end);
      seen.push(sys.call('type_import', end)); // no NUL before the end of memory
      seen.push(sys.call('type_import', 0));
    }, { memoryBytes: 1 << 16 });
    expect(names).toEqual(['ffs-inode']);
    expect(seen).toEqual([5, -31, -22, -22]); // XN_BOGUS_NAME, XN_CANNOT_ACCESS
  });

  it('an exception inside an implementation, or a result that is not an integer, becomes -EIO and an error log; the kernel stays consistent', async () => {
    const logged: unknown[] = [];
    const log = { error: (o: unknown) => logged.push(o), warn: () => {}, info: () => {} } as never;
    const k = new Kernel({ clock: new VirtualClock(), log });
    k.registerSyscalls({
      dpf_detach: () => {
        throw new TypeError('kernel bug');
      },
      dpf_send: () => Promise.reject(new Error('async kernel bug')) as never,
      dpf_recv: () => NaN,
      dpf_attach: () => undefined as never,
      dpf_recvbatch: () => Promise.resolve(0.5) as never,
    });
    const seen: number[] = [];
    const st = await runProcess(k, async (sys) => {
      sys.pipe();
      seen.push(sys.call('dpf_detach', 0, 1));
      seen.push(await (sys.call('dpf_send', 0, 0, 0, 0) as unknown as Promise<number>));
      seen.push(sys.call('dpf_recv', 0, 0, 0, 0), sys.call('dpf_attach', 0, 0, 0));
      seen.push(await (sys.call('dpf_recvbatch', 0, 0, 0, 0) as unknown as Promise<number>));
      seen.push(sys.getpid());
    });
    expect(seen).toEqual([-EIO, -EIO, -EIO, -EIO, -EIO, 1]);
    expect(st.reason).toBe('return');
    expect(logged).toHaveLength(5);
    expect(k.stats().internalErrors).toBe(5);
    k.assertNoLeaks();
  });
});

describe('processes', () => {
  it('spawn validates its options', () => {
    const k = new Kernel({ clock: new VirtualClock() });
    for (const bad of [{ memoryBytes: 100 }, { memoryBytes: 2 ** 31 }, { uid: -1 }, { fdLimit: 0 }, { traceEntries: 1.5 }]) {
      expect(() => k.spawn('x', () => {}, bad)).toThrow(/spawn x/);
    }
  });

  it('a program that throws kills only its process, never the kernel', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const st = await runProcess(k, () => {
      throw new RangeError('oops');
    });
    expect(st).toMatchObject({ reason: 'exception', error: 'oops' });
    expect((await runProcess(k, () => 9)).code).toBe(9);
    k.assertNoLeaks();
  });

  it('EMFILE at the descriptor limit; dup and dup2 share one open file', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const seen: number[] = [];
    await runProcess(k, (sys) => {
      seen.push(sys.channel(0), sys.channel(0), sys.channel(0));
      const p = sys.pipe();
      seen.push(typeof p === 'number' ? p : -1, sys.dup(0));
      sys.close(2);
      seen.push(sys.dup(0), sys.dup2(0, 1), sys.dup2(0, 0), sys.dup2(0, 3));
    }, { fdLimit: 3 });
    expect(seen).toEqual([0, 1, 2, -24, -24, 2, 1, 0, -EBADF]);
    k.assertNoLeaks();
  });
});

describe('tracing', () => {
  it('keeps the most recent calls in a bounded ring with names, args, results and durations; off costs nothing', async () => {
    const k = new Kernel({ clock: new VirtualClock() });
    const p = k.spawn('traced', (sys) => {
      for (let i = 0; i < 10; i++) sys.getpid();
      sys.read(5, 0, 1);
    }, { traceEntries: 4 });
    await p.exited;
    const t = k.traceOf(p);
    expect(t.map((e) => [e.seq, e.name, e.result, e.errno])).toEqual([
      [8, 'getpid', 1, null],
      [9, 'getpid', 1, null],
      [10, 'getpid', 1, null],
      [11, 'read', -EBADF, 'EBADF'],
    ]);
    expect(t[3]!.args).toEqual([5, 0, 1]);
    expect(t[3]!.durationUs).toBe(0); // virtual clock
    const q = k.spawn('untraced', (sys) => void sys.getpid(), { traceEntries: 0 });
    await q.exited;
    expect(q.trace).toBeNull();
    expect(k.traceOf(q)).toEqual([]);
    expect(q.syscalls).toBe(1);
  });
});
