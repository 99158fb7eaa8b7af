/**
 * The boundary under hostile programs (reliability-methods.md §4.4, trinity/syzkaller style):
 * random sequences of system calls with random and hostile arguments — NULL, pointers straddling
 * the end of memory, huge lengths, NaN, -0, 2^53, BigInts, objects whose valueOf throws, fds
 * never opened, closed, or open only in another process. After every call:
 * - nothing but the process's own exit escapes the trap, and the result is a number (or a
 *   Promise of one) that is ≥ 0 or a known error code;
 * - a call that failed with EFAULT changed no byte of the caller's memory;
 * - the other process's memory never changes, and its canary bytes never show up in the caller's;
 * - `kernel.checkInvariants()` holds.
 * After each program both processes are killed and `assertNoLeaks()` must hold.
 *
 * Seed: printed; `SEED=<n>` replays. `FUZZ_RUNS=<n>` changes the number of programs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EFAULT, ERRNO_NAMES } from '../abi/errno.js';
import {
  AF_PACKET,
  EPOLLIN,
  IOVEC_BYTES,
  POLLIN,
  POLLOUT,
  SOCKADDR_PKT_OFF_DEVICE,
} from '../abi/layout.js';
import { ProcessExit, type Libc } from '../abi/libc.js';
import { SIGKILL } from '../abi/signals.js';
import { SYSCALL_TABLE, type ArgSpec, type SyscallDecl } from '../abi/syscalls.js';
import { Kernel } from '../kernel.js';
import { VirtualClock } from '../../util/clock.js';
import { RecordingDevice, settle } from './test-support.js';

const MEM = 32 * 1024;
/** The victim fills its memory with this byte; the fuzzer must never see a run of it. */
const CANARY = Buffer.alloc(16, 0xb5);

/** Byte equality through the native memcmp. */
function same(x: Uint8Array, y: Uint8Array): boolean {
  return Buffer.from(x.buffer, x.byteOffset, x.length).equals(Buffer.from(y.buffer, y.byteOffset, y.length));
}
const SEED = process.env['SEED'] !== undefined ? Number(process.env['SEED']) : Date.now() % 2 ** 31;
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 1150);

// Prepared structures (rewritten at the start of every program; calls may scribble over them).
const IOV = 0x4000;
const POLLFDS = 0x4100;
const TIMEVAL = 0x4200;
const TIMESPEC = 0x4210;
const EPEV = 0x4300;
const SOCKADDR = 0x4400;
const MSGHDR = 0x4500;
const SIGACT = 0x4600;
const STRING = 0x4700;
const BUF = 0x6000;
const PREPARED = [IOV, POLLFDS, TIMEVAL, TIMESPEC, EPEV, SOCKADDR, MSGHDR, SIGACT, STRING, BUF, BUF + 100];

function prepare(sys: Libc): void {
  const v = sys.view;
  for (let i = 0; i < 4; i++) {
    v.setUint32(IOV + i * IOVEC_BYTES, BUF + i * 0x100, true);
    v.setUint32(IOV + i * IOVEC_BYTES + 4, 14 + i * 20, true);
  }
  for (let i = 0; i < 8; i++) {
    v.setInt32(POLLFDS + i * 8, i, true);
    v.setInt16(POLLFDS + i * 8 + 4, POLLIN | POLLOUT, true);
  }
  sys.mem.fill(0, TIMEVAL, TIMEVAL + 32);
  v.setUint32(TIMESPEC + 8, 1_000_000, true);
  v.setUint32(EPEV, EPOLLIN, true);
  v.setUint16(SOCKADDR, AF_PACKET, true);
  sys.mem.set([0x65, 0x74, 0x68, 0x30, 0], SOCKADDR + SOCKADDR_PKT_OFF_DEVICE); // "eth0"
  v.setUint32(MSGHDR, SOCKADDR, true);
  v.setUint32(MSGHDR + 4, 18, true);
  v.setUint32(MSGHDR + 8, IOV, true);
  v.setUint32(MSGHDR + 12, 2, true);
  sys.mem.fill(0, SIGACT, SIGACT + 16);
  sys.mem.set([0x65, 0x78, 0x6f, 0x30, 0], STRING);
}

const throwingValueOf = {
  valueOf(): number {
    throw new Error('the kernel must never coerce arguments');
  },
};

const HOSTILE: unknown[] = [
  0, -1, 0.5, NaN, Infinity, -Infinity, -0, 2 ** 31, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 31), -(2 ** 31) - 1,
  1e300, 5n, '4096', null, undefined, true, throwingValueOf, [4096], 4095, 4096, MEM - 1, MEM, MEM + 1,
];

const hostile = fc.constantFrom(...HOSTILE);
const ptrArb = fc.oneof(
  { arbitrary: fc.constantFrom(...PREPARED), weight: 8 },
  { arbitrary: hostile, weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: MEM + 16 }), weight: 2 },
  { arbitrary: fc.integer({ min: MEM - 64, max: MEM }), weight: 2 },
);
const lenArb = fc.oneof(
  { arbitrary: fc.constantFrom(0, 1, 2, 8, 12, 14, 16, 18, 24, 28, 64, 4096, MEM, 2 ** 31, 2 ** 32 - 1, 2 ** 53), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 256 }), weight: 6 },
  { arbitrary: hostile, weight: 1 },
);
// Most fds name the ones every program starts with (0..5, see the setup) or ones it opened since.
const fdArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 9 }), weight: 12 },
  { arbitrary: fc.integer({ min: -2, max: 70 }), weight: 3 },
  { arbitrary: hostile, weight: 1 },
);
// Flag and request values the calls know (FIONREAD, AF_PACKET, SOCK_PACKET, O_CLOEXEC, EPOLLET, SA_RESETHAND…).
const NAMED = [0x541b, 17, 10, 3, 64, 0x80000, 0x800, 0x8000_0000, 0x40, 0x4000, 8];
const intArb = fc.oneof(
  { arbitrary: fc.integer({ min: -3, max: 70 }), weight: 6 },
  { arbitrary: fc.constantFrom(...NAMED), weight: 2 },
  { arbitrary: fc.integer(), weight: 1 },
  { arbitrary: hostile, weight: 1 },
);

/** Plausible values by argument name (syzkaller's flags[]), mixed with anything. */
const BY_NAME: Record<string, number[]> = {
  op: [1, 2, 3],
  mode: [0, 1],
  flags: [0, 0, 0x80000, 0x40],
  sig: [0, 10, 12, 13, 15, 17],
  domain: [17],
  type: [10, 3],
  protocol: [0, 3],
  clockid: [0, 1],
  sigsetsize: [8],
  capacity: [0, 1, 2, 4],
  maxevents: [1, 4, 8],
  nfds: [1, 4, 8, 64],
  iovcnt: [1, 2, 4],
  request: [0x541b],
};

/** The prepared structure a pointer argument usually names. */
const PTR_BY_NAME: Record<string, number> = { msg: MSGHDR, addr: SOCKADDR, iov: IOV, event: EPEV, act: SIGACT, req: TIMESPEC, timeout: TIMEVAL, buf: BUF, fds: POLLFDS };

function argArb(a: ArgSpec): fc.Arbitrary<unknown> {
  const ptr = PTR_BY_NAME[a.name];
  if (ptr !== undefined && a.kind !== 'fd' && a.kind !== 'fdnum') return fc.oneof({ arbitrary: fc.constant(ptr), weight: 2 }, { arbitrary: ptrArb, weight: 1 });
  const plausible = BY_NAME[a.name];
  if (plausible !== undefined) return fc.oneof({ arbitrary: fc.constantFrom(...plausible), weight: 3 }, { arbitrary: intArb, weight: 1 });
  switch (a.kind) {
    case 'fd':
    case 'fdnum':
      return fdArb;
    case 'buf':
    case 'struct':
    case 'string':
      return ptrArb;
    case 'timeout':
      return fc.oneof(fc.constantFrom(0, -1, 1, 5, 1000), hostile);
    default:
      if (a.name === 'arg') return fc.oneof(ptrArb, intArb); // ioctl's argument is a pointer for FIONREAD
      return a.name.includes('len') || a.name.includes('count') || a.name === 'n' || a.name.includes('nbytes') ? lenArb : intArb;
  }
}

type Op = { kind: 'call'; nr: unknown; args: unknown[] } | { kind: 'advance'; ms: number };

// exit ends a program at once (it has its own tests); kill often hits the caller, so it is rarer.
const FATAL = new Set(['exit', 'kill']);
const IMPLEMENTED = SYSCALL_TABLE.filter((d) => d.owner === 'kernel' && !FATAL.has(d.name));
const declCall = (decls: readonly SyscallDecl[]): fc.Arbitrary<Op> =>
  fc.constantFrom(...decls).chain((d: SyscallDecl) =>
    fc.tuple(...d.args.map(argArb)).map((t) => ({ kind: 'call' as const, nr: d.nr, args: t as unknown[] })),
  );
const callArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: declCall(IMPLEMENTED), weight: 40 },
  { arbitrary: declCall(SYSCALL_TABLE.filter((d) => d.name === 'kill')), weight: 1 },
  {
    arbitrary: fc.tuple(fc.constantFrom(...SYSCALL_TABLE.filter((d) => d.owner !== 'kernel')), fc.array(intArb, { minLength: 6, maxLength: 6 })).map(([d, args]) => ({ kind: 'call' as const, nr: d.nr, args })),
    weight: 1,
  },
  { arbitrary: fc.tuple(fc.constantFrom(-1, 4, 999, 1e9, NaN, '0', 2 ** 32, 1.5, -0), fc.array(intArb, { maxLength: 6 })).map(([nr, args]) => ({ kind: 'call' as const, nr, args })), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 2000 }).map((ms) => ({ kind: 'advance' as const, ms })), weight: 1 },
);

/** Known error codes: Linux errnos, and XN's codes for XN calls. */
const BY_NR = new Map<unknown, SyscallDecl>(SYSCALL_TABLE.map((d) => [d.nr, d]));

function knownError(nr: unknown, r: number): boolean {
  const d = BY_NR.get(nr);
  if (d?.errors === 'xn') return r >= -43;
  return ERRNO_NAMES.has(-r);
}

/** Successful calls by name: the fuzz must reach the working paths, not only the failures. */
const succeeded = new Map<string, number>();

function checkResult(nr: unknown, r: unknown): void {
  if (typeof r !== 'number' || !Number.isInteger(r)) throw new Error(`syscall ${String(nr)} returned ${String(r)}`);
  if (r < 0 && !knownError(nr, r)) throw new Error(`syscall ${String(nr)} returned unknown error ${r}`);
  if (r >= 0) {
    const name = BY_NR.get(nr)?.name ?? '?';
    succeeded.set(name, (succeeded.get(name) ?? 0) + 1);
  }
}

describe('system call boundary under random hostile programs', () => {
  it(`never throws, returns only values or errnos, EFAULT changes nothing, isolates processes (seed ${SEED})`, async () => {
    console.log(`syscall fuzz: SEED=${SEED} FUZZ_RUNS=${RUNS}`);
    let calls = 0;
    const reasons = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(callArb, { minLength: 90, maxLength: 130, size: 'max' }), fc.constantFrom(0, 1000), async (ops, uidA) => {
        const clock = new VirtualClock();
        const eth0 = new RecordingDevice('eth0');
        const k = new Kernel({ clock, devices: new Map([['eth0', eth0]]), traceEntries: 16 });
        const failures: string[] = [];
        const b = k.spawn('victim', async (sys) => {
          sys.mem.fill(CANARY[0]!, 8192);
          const fds = sys.pipe();
          if (typeof fds === 'number') throw new Error('pipe failed');
          await sys.read_wait(fds[0], 8192, 16, -1);
        }, { memoryBytes: MEM, uid: 1000 });
        await settle();
        const bSnapshot = b.mem.slice();
        const a = k.spawn('fuzzer', async (sys) => {
          prepare(sys);
          // Start with one of each kind (fds 0..5): a pipe, a record and a byte channel, an epoll
          // watching the pipe, and (root only) a packet socket bound to eth0.
          sys.pipe();
          sys.channel(1, 4);
          sys.channel(0);
          const ep = sys.epoll_create1(0);
          sys.epoll_ctl(ep, 1, 0, EPEV);
          const ps = sys.socket(AF_PACKET, 10, 0);
          if (ps >= 0) sys.bind(ps, SOCKADDR, 18);
          sys.write(1, BUF, 100);
          for (const op of ops) {
            if (op.kind === 'advance') {
              clock.advance(op.ms);
              await settle();
              continue;
            }
            // Before a blocking call, let earlier calls' continuations finish, so that any write
            // to memory seen afterwards is this call's.
            if (BY_NR.get(op.nr)?.blocking === true) await settle();
            const before = sys.mem.slice();
            let r: unknown;
            try {
              r = (sys.syscall as (...x: unknown[]) => unknown)(op.nr, ...op.args);
            } catch (e) {
              if (e instanceof ProcessExit) return; // the fuzzer exited or was killed
              throw e;
            }
            calls++;
            if (r instanceof Promise) {
              let settled: unknown = 'pending';
              r.then((v) => {
                settled = v;
                checkResult(op.nr, v);
              }).catch((e: unknown) => {
                if (!(e instanceof ProcessExit)) failures.push(`blocking ${String(op.nr)} rejected: ${String(e)}`);
              });
              // A call that can complete at once settles within a few microtask turns.
              for (let t = 0; t < 4; t++) await Promise.resolve();
              if (settled === -EFAULT && !same(before, sys.mem)) failures.push(`EFAULT from ${String(op.nr)} changed memory`);
            } else {
              checkResult(op.nr, r);
              if (r === -EFAULT && !same(before, sys.mem)) failures.push(`EFAULT from ${String(op.nr)} ${JSON.stringify(op.args.map(String))} changed memory`);
            }
            if (!same(bSnapshot, b.mem)) failures.push(`call ${String(op.nr)} changed another process's memory`);
            // Nothing the fuzzer does can produce the victim's canary; seeing it means a leak across address spaces.
            if (Buffer.from(sys.mem.buffer).indexOf(CANARY) >= 0) failures.push(`call ${String(op.nr)} leaked the other process's bytes`);
            const problems = k.checkInvariants();
            if (problems.length > 0) failures.push(`after ${String(op.nr)}: ${problems.join('; ')}`);
            if (failures.length > 0) return;
          }
        }, { memoryBytes: MEM, uid: uidA, fdLimit: 64 });
        // Let the program run to its end (advance ops fire timers of blocked calls).
        await Promise.race([a.exited, (async () => { for (let i = 0; i < 1000 && a.alive; i++) await settle(); })()]);
        k.kill(a.pid, SIGKILL);
        k.kill(b.pid, SIGKILL);
        await Promise.all([a.exited, b.exited]);
        reasons.set(`${a.exitStatus?.reason}:${a.exitStatus?.signal}`, (reasons.get(`${a.exitStatus?.reason}:${a.exitStatus?.signal}`) ?? 0) + 1);
        expect(failures).toEqual([]);
        expect(a.exitStatus?.reason).not.toBe('exception');
        k.assertNoLeaks();
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`syscall fuzz: ${calls} system calls; exits`, reasons, 'successes', succeeded);
    if (RUNS >= 1150) {
      expect(calls).toBeGreaterThanOrEqual(100_000);
      // Every call the kernel implements (except the blocking ones that need an event) succeeded somewhere.
      for (const d of IMPLEMENTED) if (!d.blocking) expect(succeeded.get(d.name) ?? 0, d.name).toBeGreaterThan(0);
    }
  });
});
