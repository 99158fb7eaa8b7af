/**
 * The docroot's calls under random and hostile arguments (reliability-methods.md §4.4): random
 * programs of open, fstat, lseek, pread64, read, read_wait, getdents64, dup and close with paths
 * from a hostile set, any flags, pointers straddling the end of memory, huge counts and offsets,
 * and values that are not numbers at all. After every call: it returned (or settled with) a
 * number that is ≥ 0 or a known errno, an EFAULT changed no byte of memory, and the kernel's
 * invariants hold. After each program: no host descriptor, no host I/O in flight, no kernel leak.
 *
 * Seed: printed; `SEED=<n>` replays. `FUZZ_RUNS=<n>` changes the number of programs.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EFAULT, ERRNO_NAMES } from '../abi/errno.js';
import { NR } from '../abi/syscalls.js';
import type { Libc } from '../abi/libc.js';
import { Kernel } from '../kernel.js';
import { Docroot } from './docroot.js';
import { makeTempDocroot, type TempDocroot } from './testing.js';

const SEED = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 200);
console.log(`vfs fuzz seed=${SEED} runs=${RUNS} (SEED=${SEED} reproduces)`);

const MEM = 256 * 1024;
/** Where the prepared path strings start, and the buffer most pointers name. */
const PATHS_AT = 0x2000;
const BUF = 0x10000;
const PATHS = [
  '/index.html', '/', '/files', '/files/65537.bin', `/files/${1 << 20}.bin`, '/a/b/c/deep.txt', '/dirlink/..', '/../..', '/escape-rel',
  '/escape-dir/secret.txt', '/loop1', '/chain39', '/fifo', '/sock', '/private/inner.txt', '/unreadable.txt', 'files/0.bin', '', '/index.html/',
];
const PATH_SLOT = 64;

const throwingValueOf = {
  valueOf(): number {
    throw new Error('the kernel must never coerce arguments');
  },
};
const HOSTILE: unknown[] = [0, -1, 0.5, NaN, Infinity, -0, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 31) - 1, 5n, '4096', null, undefined, throwingValueOf, 4095, MEM - 1, MEM];
const hostile = fc.constantFrom(...HOSTILE);

const pathPtr = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: PATHS.length - 1 }).map((i) => PATHS_AT + i * PATH_SLOT), weight: 10 },
  { arbitrary: fc.integer({ min: 0, max: MEM + 8 }), weight: 1 },
  { arbitrary: hostile, weight: 1 },
);
const ptr = fc.oneof(
  { arbitrary: fc.integer({ min: BUF, max: BUF + 4096 }), weight: 8 },
  { arbitrary: fc.integer({ min: MEM - 300, max: MEM + 8 }), weight: 2 },
  { arbitrary: hostile, weight: 1 },
);
const count = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 70_000 }), weight: 6 },
  { arbitrary: fc.constantFrom(0, 1, 23, 24, 144, 4096, MEM, 2 ** 31 - 1, 2 ** 32 - 1), weight: 2 },
  { arbitrary: hostile, weight: 1 },
);
const fd = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 7 }), weight: 10 }, { arbitrary: fc.integer({ min: -2, max: 2000 }), weight: 1 }, { arbitrary: hostile, weight: 1 });
const int = fc.oneof({ arbitrary: fc.integer({ min: -5, max: 70_000 }), weight: 4 }, { arbitrary: fc.integer(), weight: 2 }, { arbitrary: hostile, weight: 1 });
const flags = fc.oneof(
  { arbitrary: fc.constant(0), weight: 6 },
  { arbitrary: fc.constantFrom(0o200000, 0o400000, 1, 2, 0o100, 0o300, 0o1000, 0o10000000, 0o20200000), weight: 3 },
  { arbitrary: fc.integer(), weight: 1 },
  { arbitrary: hostile, weight: 1 },
);
const offset = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 1 << 21 }), weight: 4 }, { arbitrary: fc.constantFrom(2 ** 53 - 1, 2 ** 40), weight: 1 }, { arbitrary: hostile, weight: 1 });

type Call = [nr: number, ...args: unknown[]];
const call: fc.Arbitrary<Call> = fc.oneof(
  { arbitrary: fc.tuple(fc.constant(NR.open), pathPtr, flags, int), weight: 5 },
  { arbitrary: fc.tuple(fc.constant(NR.fstat), fd, ptr), weight: 2 },
  { arbitrary: fc.tuple(fc.constant(NR.lseek), fd, int, fc.oneof(fc.integer({ min: -1, max: 5 }), hostile)), weight: 2 },
  { arbitrary: fc.tuple(fc.constant(NR.pread64), fd, ptr, count, offset), weight: 3 },
  { arbitrary: fc.tuple(fc.constant(NR.read), fd, ptr, count), weight: 2 },
  { arbitrary: fc.tuple(fc.constant(NR.read_wait), fd, ptr, count, fc.constantFrom(0, 50)), weight: 1 },
  { arbitrary: fc.tuple(fc.constant(NR.getdents64), fd, ptr, count), weight: 3 },
  { arbitrary: fc.tuple(fc.constant(NR.dup), fd), weight: 1 },
  { arbitrary: fc.tuple(fc.constant(NR.close), fd), weight: 2 },
);

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

let t: TempDocroot;
beforeAll(async () => {
  t = await makeTempDocroot();
});
afterAll(async () => {
  await t.cleanup();
});

describe('docroot calls under random arguments', () => {
  it('never throw, answer numbers or known errnos, fault atomically, keep the invariants and leak nothing', async () => {
    const k = new Kernel();
    const d = Docroot.mount(k, { dir: t.root });
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 25 }), async (program) => {
        const problems: string[] = [];
        const p = k.spawn('fuzz', async (sys: Libc) => {
          PATHS.forEach((s, i) => {
            sys.mem.set(Buffer.from(`${s}\0`), PATHS_AT + i * PATH_SLOT);
          });
          // Descriptors the program's fds mostly name: two files, two directories (0..3), a pipe (4, 5).
          for (const i of [0, 3, 2, 1]) await sys.call('open', PATHS_AT + i * PATH_SLOT, 0, 0);
          sys.pipe();
          for (const [nr, ...args] of program) {
            const before = sys.mem.slice();
            let r: unknown;
            try {
              r = await sys.syscall(nr, ...(args as number[]));
            } catch (err) {
              problems.push(`${nr}(${args.map(String).join(', ')}) threw ${String(err)}`);
              return;
            }
            if (typeof r !== 'number' || !Number.isSafeInteger(r) || (r < 0 && !ERRNO_NAMES.has(-r))) problems.push(`${nr}(${args.map(String).join(', ')}) → ${String(r)}`);
            if (r === -EFAULT && !same(before, sys.mem)) problems.push(`${nr}(${args.map(String).join(', ')}) → EFAULT after writing memory`);
            problems.push(...k.checkInvariants());
            if (problems.length > 0) return;
          }
        }, { memoryBytes: MEM, fdLimit: 8 });
        const st = await p.exited;
        await d.idle();
        expect(problems).toEqual([]);
        expect(st.reason).toBe('return');
        expect(d.leaks()).toEqual([]);
        k.assertNoLeaks();
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(k.stats().internalErrors).toBe(0);
  });
});
