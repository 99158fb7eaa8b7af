/**
 * Types of the registration API: what an implementation of each declared call receives.
 * Derived from the declaration table, so a subsystem that registers `dpf_recv` is type-checked
 * against the arguments the table declares.
 */
import type { DeclOf, SyscallName } from '../abi/syscalls.js';
import type { KernelFile } from '../proc/file.js';
import type { Process } from '../proc/process.js';

type ValueOf<A> = A extends { kind: 'fd' }
  ? KernelFile
  : A extends { kind: 'struct'; dir: 'in'; nullable: true }
    ? DataView | null
    : A extends { kind: 'struct'; dir: 'in' }
      ? DataView
      : A extends { kind: 'string' }
        ? string
        : number;

/** Validated argument values of a call, in declaration order. */
export type ImplArgs<A extends readonly unknown[]> = { -readonly [K in keyof A]: ValueOf<A[K]> };

/**
 * The implementation of call `N`: the calling process and the validated arguments. Returns the
 * result (≥ 0) or -errno (XN calls: XN's code); a blocking call may return a Promise the kernel's
 * wait queues settle. It may throw only on a kernel bug (the dispatcher turns that into EIO).
 */
export type SyscallImpl<N extends SyscallName> = (
  p: Process,
  ...args: ImplArgs<DeclOf<N>['args']>
) => DeclOf<N>['blocking'] extends true ? number | Promise<number> : number;

/** A set of implementations keyed by declared name. */
export type SyscallImpls = { [N in SyscallName]?: SyscallImpl<N> };
