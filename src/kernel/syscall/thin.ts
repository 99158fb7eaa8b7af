/**
 * The thin layer (thesis §2.3.2), compiled once per system call from its declaration in
 * `src/kernel/abi/syscalls.ts`.
 *
 * `compileSyscall(decl, impl)` builds a handler that, per call: converts every argument with a
 * converter chosen at compile time for its kind (type and range checks, fd lookup), then runs one
 * composed post-pass (pointer ranges, struct copy-in into a buffer preallocated for that call,
 * string copy-in) and finally calls the implementation with validated values. Nothing is
 * interpreted or allocated per call on this path (except a decoded string for `string` kinds).
 * Every failure becomes a negative errno (or XN's code for XN calls); no exception is thrown.
 *
 * Values the implementation receives, by kind: `fd` → the open `KernelFile`; `struct in` → a
 * `DataView` of the kernel copy (null for a nullable NULL), valid during the synchronous part of
 * the call; `string` → the decoded string; every other kind → a number (pointers validated).
 */
import { EBADF, EFAULT, EINVAL, ENAMETOOLONG } from '../abi/errno.js';
import { USER_BASE } from '../abi/layout.js';
import { xnThinError, type ArgSpec, type BufArg, type StringArg, type StructArg, type SyscallDecl } from '../abi/syscalls.js';
import type { KernelFile } from '../proc/file.js';
import type { Process } from '../proc/process.js';

/** A compiled call: raw arguments in, a number or a Promise of one out. Never throws by itself. */
export type Handler = (p: Process, a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown, a5?: unknown) => number | Promise<number>;

/** An implementation, as the thin layer calls it (typed per call in `types.ts`). */
export type AnyImpl = (p: Process, ...args: any[]) => number | Promise<number>;

const FAIL: unique symbol = Symbol('thin-fail');
type Converted = number | KernelFile | DataView | string | null | typeof FAIL;
type Conv = (p: Process, x: unknown) => Converted;
/** Post-pass step: 0 or a positive errno; may replace entries of `vals`. */
type Post = (p: Process, vals: Converted[]) => number;

/** Per-handler failure slot (converters return FAIL and leave the errno here). */
interface ThinState {
  errno: number;
}

/** The one pointer-validation rule: `[ptr, ptr + bytes)` lies in mapped memory (subtraction form; no float rounding). */
export function rangeOk(p: Process, ptr: number, bytes: number): boolean {
  return ptr >= USER_BASE && bytes <= p.memSize - ptr;
}

function converter(a: ArgSpec, st: ThinState): Conv {
  const fail = (e: number): typeof FAIL => {
    st.errno = e;
    return FAIL;
  };
  // `(x | 0) === x` accepts exactly the int32 values (and -0, returned as 0); `x >>> 0 === x` the uint32 ones.
  switch (a.kind) {
    case 'int':
      return (_p, x) => (typeof x === 'number' && (x | 0) === x ? x | 0 : fail(EINVAL));
    case 'uint':
      return (_p, x) => (typeof x === 'number' && x >>> 0 === x ? x >>> 0 : fail(EINVAL));
    case 'ulong':
      return (_p, x) => (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x + 0 : fail(EINVAL));
    case 'timeout':
      return (_p, x) => (typeof x === 'number' && (x | 0) === x && x >= -1 ? x | 0 : fail(EINVAL));
    case 'fd':
      return (p, x) => {
        if (typeof x === 'number' && (x | 0) === x && x >= 0) {
          const f = p.fds.get(x | 0);
          if (f !== undefined) return f;
        }
        return fail(EBADF);
      };
    case 'fdnum':
      return (p, x) => (typeof x === 'number' && (x | 0) === x && x >= 0 && x < p.fds.limit ? x | 0 : fail(EBADF));
    case 'buf':
    case 'struct':
    case 'string':
      return (_p, x) => (typeof x === 'number' && x >>> 0 === x ? x >>> 0 : fail(EFAULT));
  }
}

function bufStep(i: number, a: BufArg): Post {
  const scale = a.scale;
  const nullable = a.nullable;
  return (p, vals) => {
    const ptr = vals[i] as number;
    const len = vals[a.lenArg] as number;
    if (len < 0) return EINVAL;
    const bytes = scale === 'fdset' ? Math.ceil(len / 64) * 8 : len * scale;
    // A zero-length range accepts any pointer (Linux: read(fd, NULL, 0) is fine).
    if (bytes === 0 || (ptr === 0 && nullable)) return 0;
    return rangeOk(p, ptr, bytes) ? 0 : EFAULT;
  };
}

function structStep(i: number, a: StructArg): Post {
  const bytes = a.bytes;
  const nullable = a.nullable;
  if (a.dir !== 'in') return (p, vals) => ((vals[i] === 0 && nullable) || rangeOk(p, vals[i] as number, bytes) ? 0 : EFAULT);
  // Copy-in target, allocated once for this call: the struct is fetched exactly once.
  const copy = new Uint8Array(bytes);
  const view = new DataView(copy.buffer);
  return (p, vals) => {
    const ptr = vals[i] as number;
    if (ptr === 0 && nullable) {
      vals[i] = null;
      return 0;
    }
    if (!rangeOk(p, ptr, bytes)) return EFAULT;
    copy.set(p.mem.subarray(ptr, ptr + bytes));
    vals[i] = view;
    return 0;
  };
}

const utf8 = new TextDecoder();

function stringStep(i: number, a: StringArg): Post {
  const max = a.maxBytes;
  return (p, vals) => {
    const ptr = vals[i] as number;
    if (ptr < USER_BASE || ptr >= p.memSize) return EFAULT;
    const limit = Math.min(max, p.memSize - ptr);
    // One fetch: copy the candidate bytes, then look for the NUL in the kernel copy.
    const copy = p.mem.slice(ptr, ptr + limit);
    const nul = copy.indexOf(0);
    if (nul < 0) return limit === max ? ENAMETOOLONG : EFAULT;
    vals[i] = utf8.decode(copy.subarray(0, nul));
    return 0;
  };
}

function postPass(args: readonly ArgSpec[]): Post | null {
  let post: Post | null = null;
  args.forEach((a, i) => {
    let step: Post | null = null;
    if (a.kind === 'buf') step = bufStep(i, a);
    else if (a.kind === 'struct') step = structStep(i, a);
    else if (a.kind === 'string') step = stringStep(i, a);
    if (step === null) return;
    const prev = post;
    const s = step;
    post = prev === null ? s : (p, v) => prev(p, v) || s(p, v);
  });
  return post;
}

/** Compile the handler of `decl` around `impl`. */
export function compileSyscall(decl: SyscallDecl, impl: AnyImpl): Handler {
  const st: ThinState = { errno: 0 };
  const convs = decl.args.map((a) => converter(a, st));
  const post = postPass(decl.args);
  const vals: Converted[] = decl.args.map(() => 0);
  const fail = decl.errors === 'xn' ? xnThinError : (e: number) => -e;
  const pass = (p: Process): number => {
    if (post === null) return 0;
    return post(p, vals);
  };
  const none: Conv = () => 0;
  const [c0 = none, c1 = none, c2 = none, c3 = none, c4 = none, c5 = none] = convs;
  let e = 0;
  switch (decl.args.length) {
    case 0:
      return (p) => impl(p);
    case 1:
      return (p, a0) => {
        if ((vals[0] = c0(p, a0)) === FAIL) return fail(st.errno);
        if ((e = pass(p)) !== 0) return fail(e);
        return impl(p, vals[0]);
      };
    case 2:
      return (p, a0, a1) => {
        if ((vals[0] = c0(p, a0)) === FAIL || (vals[1] = c1(p, a1)) === FAIL) return fail(st.errno);
        if ((e = pass(p)) !== 0) return fail(e);
        return impl(p, vals[0], vals[1]);
      };
    case 3:
      return (p, a0, a1, a2) => {
        if ((vals[0] = c0(p, a0)) === FAIL || (vals[1] = c1(p, a1)) === FAIL || (vals[2] = c2(p, a2)) === FAIL) return fail(st.errno);
        if ((e = pass(p)) !== 0) return fail(e);
        return impl(p, vals[0], vals[1], vals[2]);
      };
    case 4:
      return (p, a0, a1, a2, a3) => {
        if ((vals[0] = c0(p, a0)) === FAIL || (vals[1] = c1(p, a1)) === FAIL || (vals[2] = c2(p, a2)) === FAIL || (vals[3] = c3(p, a3)) === FAIL) return fail(st.errno);
        if ((e = pass(p)) !== 0) return fail(e);
        return impl(p, vals[0], vals[1], vals[2], vals[3]);
      };
    case 5:
      return (p, a0, a1, a2, a3, a4) => {
        if ((vals[0] = c0(p, a0)) === FAIL || (vals[1] = c1(p, a1)) === FAIL || (vals[2] = c2(p, a2)) === FAIL || (vals[3] = c3(p, a3)) === FAIL || (vals[4] = c4(p, a4)) === FAIL) return fail(st.errno);
        if ((e = pass(p)) !== 0) return fail(e);
        return impl(p, vals[0], vals[1], vals[2], vals[3], vals[4]);
      };
    case 6:
      return (p, a0, a1, a2, a3, a4, a5) => {
        if ((vals[0] = c0(p, a0)) === FAIL || (vals[1] = c1(p, a1)) === FAIL || (vals[2] = c2(p, a2)) === FAIL || (vals[3] = c3(p, a3)) === FAIL || (vals[4] = c4(p, a4)) === FAIL || (vals[5] = c5(p, a5)) === FAIL) return fail(st.errno);
        if ((e = pass(p)) !== 0) return fail(e);
        return impl(p, vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]);
      };
    default:
      throw new Error(`${decl.name}: more than 6 arguments`);
  }
}
