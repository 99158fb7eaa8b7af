/**
 * THE system call table: every call a process can make, with its number, its arguments' kinds
 * and whether it may block. The kernel's thin layer is compiled from this table
 * (`src/kernel/syscall/thin.ts`), the libc wrapper calls by these numbers, `docs/syscalls.md`
 * documents it (a test keeps them in step) and traces print these names.
 *
 * Numbers: the Linux x86-64 number where Linux has the call (so a trace reads like strace);
 * ExoLinux's own calls live at 1000 and above. A call declared here but not yet implemented by
 * its subsystem returns -ENOSYS.
 *
 * Argument kinds (what the thin layer checks before the call reaches its implementation):
 * - `int`: a JS number that is an integer in [-2^31, 2^31) (else EINVAL). `-0` is read as 0.
 * - `uint`: an integer in [0, 2^32) (else EINVAL).
 * - `ulong`: an integer in [0, 2^53) — disk block numbers (else EINVAL).
 * - `fd`: an integer naming an open descriptor of the calling process (else EBADF); the
 *   implementation receives the open file.
 * - `fdnum`: a descriptor number that need not be open, in [0, fd limit) (else EBADF).
 * - `timeout`: milliseconds as an `int`; -1 waits forever; other negatives are EINVAL.
 * - `buf`: a user pointer to `len × scale` bytes, where `len` is another argument
 *   (`scale: 'fdset'` means `ceil(len / 64) × 8` bytes, the Linux fd_set layout). The whole
 *   range must lie in mapped memory (else EFAULT); a zero length accepts any pointer value,
 *   as Linux does for `read(fd, NULL, 0)`. `nullable` lets 0 mean "none".
 * - `struct`: a user pointer to `bytes` bytes. `in`: copied once into a kernel buffer before
 *   the call (no double fetch); the implementation gets a `DataView` of that copy. `out`/`inout`:
 *   the range is validated before the call and the implementation writes results there only on
 *   success. `nullable` lets 0 mean "none".
 * - `string`: a NUL-terminated string of at most `maxBytes` bytes including the NUL
 *   (ENAMETOOLONG if longer, EFAULT if memory ends first), copied in and decoded as UTF-8.
 */
import { EFAULT, ENAMETOOLONG } from './errno.js';
import {
  DPF_IFINFO_BYTES,
  EPOLL_EVENT_BYTES,
  IOVEC_BYTES,
  MSGHDR_BYTES,
  PATH_MAX,
  POLLFD_BYTES,
  SIGACTION_BYTES,
  SOCKADDR_DPF_BYTES,
  STAT_BYTES,
  TIMESPEC_BYTES,
  TIMEVAL_BYTES,
  XN_ATTR_BYTES,
  XN_OP_BYTES,
  XN_ROOT_ENTRY_BYTES,
} from './layout.js';
import { XN_INFO_BYTES, XN_IOE_BYTES, XN_NAME_MAX, XN_REPORT_BYTES } from './xn.js';

/** Direction of a pointer argument, from the caller's view. */
export type Dir = 'in' | 'out' | 'inout';

export type ScalarKind = 'int' | 'uint' | 'ulong' | 'fd' | 'fdnum' | 'timeout';

export interface ScalarArg {
  readonly name: string;
  readonly kind: ScalarKind;
}
export interface BufArg {
  readonly name: string;
  readonly kind: 'buf';
  readonly dir: Dir;
  /** Index of the argument that holds the element count. */
  readonly lenArg: number;
  /** Bytes per element, or `'fdset'` for a select bitmap of `len` bits. */
  readonly scale: number | 'fdset';
  readonly nullable: boolean;
}
export interface StructArg {
  readonly name: string;
  readonly kind: 'struct';
  readonly dir: Dir;
  readonly bytes: number;
  readonly nullable: boolean;
}
export interface StringArg {
  readonly name: string;
  readonly kind: 'string';
  readonly maxBytes: number;
}
export type ArgSpec = ScalarArg | BufArg | StructArg | StringArg;

/** How a call reports failures: Linux errnos, or XN's own codes (thin-layer failures are mapped, see `XN_THIN_ERRORS`). */
export type ErrorSpace = 'errno' | 'xn';

export interface SyscallDecl {
  readonly nr: number;
  readonly name: string;
  readonly args: readonly ArgSpec[];
  /** True: the call returns a Promise and takes a timeout (or is itself a wait). */
  readonly blocking: boolean;
  readonly errors: ErrorSpace;
  /** Which subsystem implements it (for docs and for -ENOSYS until it registers). */
  readonly owner: 'kernel' | 'dpf' | 'xn' | 'docroot' | 'blockdev';
  /** One line for docs/syscalls.md. */
  readonly doc: string;
}

// ---- argument constructors (keep the table readable; literal types flow into the registration API) ----

const int = <N extends string>(name: N) => ({ name, kind: 'int' }) as const;
const uint = <N extends string>(name: N) => ({ name, kind: 'uint' }) as const;
const ulong = <N extends string>(name: N) => ({ name, kind: 'ulong' }) as const;
const fd = <N extends string>(name: N) => ({ name, kind: 'fd' }) as const;
const fdnum = <N extends string>(name: N) => ({ name, kind: 'fdnum' }) as const;
const timeout = <N extends string>(name: N) => ({ name, kind: 'timeout' }) as const;
const buf = <N extends string, D extends Dir, L extends number, S extends number | 'fdset', U extends boolean = false>(
  name: N,
  dir: D,
  lenArg: L,
  scale: S,
  nullable?: U,
) => ({ name, kind: 'buf', dir, lenArg, scale, nullable: (nullable ?? false) as U }) as const;
const struct = <N extends string, D extends Dir, U extends boolean = false>(name: N, dir: D, bytes: number, nullable?: U) =>
  ({ name, kind: 'struct', dir, bytes, nullable: (nullable ?? false) as U }) as const;
const str = <N extends string>(name: N, maxBytes: number) => ({ name, kind: 'string', maxBytes }) as const;

/**
 * XN calls return XN's own codes (`src/kernel/xn`), which overlap errno numbers; a failure found
 * by the thin layer is therefore reported in XN's space: EFAULT → XN_CANNOT_ACCESS (-22),
 * ENAMETOOLONG → XN_BOGUS_NAME (-31), every other thin-layer errno (EINVAL, EBADF, ENOSYS, EIO)
 * → XN_ILLEGAL_OP (-27).
 */
export function xnThinError(errno: number): number {
  if (errno === EFAULT) return -22;
  if (errno === ENAMETOOLONG) return -31;
  return -27;
}

export const SYSCALLS = [
  // ---- files and descriptors ----
  { nr: 0, name: 'read', args: [fd('fd'), buf('buf', 'out', 2, 1), uint('count')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'read up to count bytes; -EAGAIN when nothing is ready (never blocks: see read_wait)' },
  { nr: 1, name: 'write', args: [fd('fd'), buf('buf', 'in', 2, 1), uint('count')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'write up to count bytes; -EAGAIN when full (never blocks: see write_wait)' },
  { nr: 2, name: 'open', args: [str('path', PATH_MAX), int('flags'), uint('mode')], blocking: true, errors: 'errno', owner: 'docroot', doc: 'open a file or directory of the read-only docroot; write, create and truncate flags are EROFS' },
  { nr: 3, name: 'close', args: [fdnum('fd')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'close a descriptor; the object goes when its last descriptor does' },
  { nr: 5, name: 'fstat', args: [fd('fd'), struct('statbuf', 'out', STAT_BYTES)], blocking: true, errors: 'errno', owner: 'docroot', doc: 'Linux x86-64 struct stat of a descriptor (docroot files: the host file’s)' },
  { nr: 8, name: 'lseek', args: [fd('fd'), int('offset'), int('whence')], blocking: false, errors: 'errno', owner: 'docroot', doc: 'move a docroot file’s position (SEEK_SET/CUR/END/DATA/HOLE) or a directory’s cookie; 32-bit offset' },
  { nr: 16, name: 'ioctl', args: [fd('fd'), uint('request'), uint('arg')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'device control; FIONREAD writes the readable byte count (int) at arg' },
  { nr: 17, name: 'pread64', args: [fd('fd'), buf('buf', 'out', 2, 1), uint('count'), ulong('offset')], blocking: true, errors: 'errno', owner: 'docroot', doc: 'read at an offset of a docroot file, straight into the buffer; the position is unchanged' },
  { nr: 19, name: 'readv', args: [fd('fd'), buf('iov', 'in', 2, IOVEC_BYTES), int('iovcnt')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'scatter read; every iovec is validated before any byte moves' },
  { nr: 20, name: 'writev', args: [fd('fd'), buf('iov', 'in', 2, IOVEC_BYTES), int('iovcnt')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'gather write; on a bound packet socket the gathered bytes are one frame' },
  { nr: 32, name: 'dup', args: [fd('oldfd')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'lowest free descriptor for the same open file' },
  { nr: 33, name: 'dup2', args: [fd('oldfd'), fdnum('newfd')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'make newfd refer to oldfd’s file, closing newfd first' },
  { nr: 217, name: 'getdents64', args: [fd('fd'), buf('dirp', 'out', 2, 1), uint('count')], blocking: true, errors: 'errno', owner: 'docroot', doc: 'next struct linux_dirent64 records of a docroot directory; 0 at the end' },
  { nr: 293, name: 'pipe2', args: [struct('fds', 'out', 8), int('flags')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'create a pipe; writes [readfd, writefd] (two ints) at fds' },

  // ---- waiting ----
  { nr: 7, name: 'poll', args: [buf('fds', 'inout', 1, POLLFD_BYTES), uint('nfds'), timeout('timeoutMs')], blocking: true, errors: 'errno', owner: 'kernel', doc: 'wait for events on an array of struct pollfd' },
  { nr: 23, name: 'select', args: [int('nfds'), buf('readfds', 'inout', 0, 'fdset', true), buf('writefds', 'inout', 0, 'fdset', true), buf('exceptfds', 'inout', 0, 'fdset', true), struct('timeout', 'in', TIMEVAL_BYTES, true)], blocking: true, errors: 'errno', owner: 'kernel', doc: 'wait for readiness on fd_set bitmaps (NULL timeout: forever)' },
  { nr: 24, name: 'sched_yield', args: [], blocking: true, errors: 'errno', owner: 'kernel', doc: 'let every other runnable process run, then return 0' },
  { nr: 35, name: 'nanosleep', args: [struct('req', 'in', TIMESPEC_BYTES), struct('rem', 'out', TIMESPEC_BYTES, true)], blocking: true, errors: 'errno', owner: 'kernel', doc: 'sleep on the kernel clock; -EINTR (and rem) when a signal interrupts' },
  { nr: 232, name: 'epoll_wait', args: [fd('epfd'), buf('events', 'out', 2, EPOLL_EVENT_BYTES), int('maxevents'), timeout('timeoutMs')], blocking: true, errors: 'errno', owner: 'kernel', doc: 'wait for ready registered fds; cost is O(ready), not O(registered)' },
  { nr: 233, name: 'epoll_ctl', args: [fd('epfd'), int('op'), fdnum('fd'), struct('event', 'in', EPOLL_EVENT_BYTES, true)], blocking: false, errors: 'errno', owner: 'kernel', doc: 'add, modify or delete an fd in an epoll set' },
  { nr: 291, name: 'epoll_create1', args: [int('flags')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'new epoll instance' },
  { nr: 1001, name: 'read_wait', args: [fd('fd'), buf('buf', 'out', 2, 1), uint('count'), timeout('timeoutMs')], blocking: true, errors: 'errno', owner: 'kernel', doc: 'read, waiting until something is readable; -EAGAIN on timeout' },
  { nr: 1002, name: 'write_wait', args: [fd('fd'), buf('buf', 'in', 2, 1), uint('count'), timeout('timeoutMs')], blocking: true, errors: 'errno', owner: 'kernel', doc: 'write, waiting until there is room; -EAGAIN on timeout' },

  // ---- processes, time, signals ----
  { nr: 13, name: 'rt_sigaction', args: [int('sig'), struct('act', 'in', SIGACTION_BYTES, true), struct('oldact', 'out', SIGACTION_BYTES, true), uint('sigsetsize')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'set and/or get the disposition of a signal' },
  { nr: 39, name: 'getpid', args: [], blocking: false, errors: 'errno', owner: 'kernel', doc: 'process id' },
  { nr: 60, name: 'exit', args: [int('status')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'end the process with status & 0xff; releases everything it holds' },
  { nr: 62, name: 'kill', args: [int('pid'), int('sig')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'send a signal (0: check only); uid 0 may signal anyone, others only their own uid' },
  { nr: 102, name: 'getuid', args: [], blocking: false, errors: 'errno', owner: 'kernel', doc: 'user id (0 = root, the CAP_NET_RAW analogue)' },
  { nr: 110, name: 'getppid', args: [], blocking: false, errors: 'errno', owner: 'kernel', doc: 'parent process id (0: started by the kernel)' },
  { nr: 228, name: 'clock_gettime', args: [int('clockid'), struct('tp', 'out', TIMESPEC_BYTES)], blocking: false, errors: 'errno', owner: 'kernel', doc: 'kernel clock time (CLOCK_MONOTONIC or CLOCK_REALTIME)' },

  // ---- sockets ----
  { nr: 41, name: 'socket', args: [int('domain'), int('type'), int('protocol')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'AF_PACKET/SOCK_PACKET raw-send socket (uid 0 only); other families register themselves' },
  { nr: 44, name: 'sendto', args: [fd('fd'), buf('buf', 'in', 2, 1), uint('len'), uint('flags'), buf('addr', 'in', 5, 1, true), uint('addrlen')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'send one message (a whole frame on a packet socket) to addr' },
  { nr: 46, name: 'sendmsg', args: [fd('fd'), struct('msg', 'in', MSGHDR_BYTES), uint('flags')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'send one message gathered from msg_iov to msg_name' },
  { nr: 49, name: 'bind', args: [fd('fd'), buf('addr', 'in', 2, 1), uint('addrlen')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'bind a socket (a packet socket to a card by name)' },

  // ---- channels (thesis §2.3.4) ----
  { nr: 1000, name: 'channel', args: [int('mode'), uint('capacity')], blocking: false, errors: 'errno', owner: 'kernel', doc: 'new channel fd: mode 0 = one byte per event, 1 = 24-byte records; capacity in records (0 = default)' },

  // ---- AF_DPF (docs/dpf.md "The socket"; DPF refusals come back as errnos, see DPF_ERRNO) ----
  { nr: 1010, name: 'dpf_attach', args: [fd('fd'), buf('filter', 'in', 2, 1), uint('len')], blocking: false, errors: 'errno', owner: 'dpf', doc: 'copy in, verify and install a binary DPF filter on an AF_DPF socket (replacing its filter); returns the filter id' },
  { nr: 1011, name: 'dpf_detach', args: [fd('fd'), uint('filterId')], blocking: false, errors: 'errno', owner: 'dpf', doc: 'remove the socket’s filter (filterId must be it); queued frames stay readable' },
  { nr: 1012, name: 'dpf_recv', args: [fd('fd'), buf('buf', 'out', 2, 1), uint('len'), uint('flags')], blocking: false, errors: 'errno', owner: 'dpf', doc: 'copy one frame (cut to len; MSG_PEEK, MSG_TRUNC); -EAGAIN when none' },
  { nr: 1013, name: 'dpf_recvbatch', args: [fd('fd'), buf('ring', 'out', 2, 1), uint('len'), uint('maxFrames')], blocking: false, errors: 'errno', owner: 'dpf', doc: 'copy up to maxFrames (0: no limit) whole frames as records {u16 len, u16 card, frame, pad to 4}; returns the count' },
  { nr: 1014, name: 'dpf_send', args: [fd('fd'), buf('iov', 'in', 2, IOVEC_BYTES), uint('iovcnt'), uint('card')], blocking: false, errors: 'errno', owner: 'dpf', doc: 'send one frame gathered from an iovec out of card (an index)' },
  { nr: 1015, name: 'dpf_recvfrom', args: [fd('fd'), buf('buf', 'out', 2, 1), uint('len'), uint('flags'), struct('from', 'out', SOCKADDR_DPF_BYTES, true)], blocking: false, errors: 'errno', owner: 'dpf', doc: 'dpf_recv, and the card the frame came from as a sockaddr_dpf' },
  { nr: 1016, name: 'dpf_recvbatch_wait', args: [fd('fd'), buf('ring', 'out', 2, 1), uint('len'), uint('maxFrames'), timeout('timeoutMs')], blocking: true, errors: 'errno', owner: 'dpf', doc: 'dpf_recvbatch, waiting until a frame is queued; -EAGAIN on timeout' },
  { nr: 1017, name: 'dpf_geterror', args: [fd('fd'), buf('buf', 'out', 2, 1), uint('len')], blocking: false, errors: 'errno', owner: 'dpf', doc: 'the socket’s last refused dpf_attach/dpf_detach: "DPF_CODE (n): reason" and the verifier log, NUL-terminated; returns its full length' },
  { nr: 1018, name: 'dpf_ifinfo', args: [uint('card'), struct('info', 'out', DPF_IFINFO_BYTES)], blocking: false, errors: 'errno', owner: 'dpf', doc: 'describe card (an index): name, MAC, MTU, flags (DPF_IFINFO_F_TSO: the card segments super-segments itself), the machine’s IPv4 address; -ENODEV past the last card' },
  { nr: 1019, name: 'dpf_send_tso', args: [fd('fd'), buf('iov', 'in', 2, IOVEC_BYTES), uint('iovcnt'), uint('card'), uint('segmentBytes')], blocking: false, errors: 'errno', owner: 'dpf', doc: 'dpf_send of a TCP super-segment cut into segmentBytes of payload each (0: an ordinary frame); the card segments it (TSO) or the kernel does; -EINVAL off the TSO contract, -EMSGSIZE over 65,549 bytes or segmentBytes + headers > MTU + 14' },

  // ---- XN (thesis §3.3, Appendix A; structures and codes in ./xn.ts). Asynchronous calls return
  // a request id (≥ 1, kernel-assigned) and notify on completion: `chan` (a channel fd, or
  // XN_NO_CHAN = -1) gets one record {id, XN_DEV, first block, status} in a slot reserved at
  // issue; `counter` (a 4-byte-aligned int in the caller's memory, or 0) is decremented (Xok's
  // xn_cnt_t). ----
  { nr: 1100, name: 'xn_init', args: [struct('report', 'out', XN_REPORT_BYTES, true), uint('flags')], blocking: true, errors: 'xn', owner: 'xn', doc: 'uid 0: bring XN online (flags: XN_INIT_REPAIR) and report the boot; 1 when it already was (the report is the boot’s)' },
  { nr: 1101, name: 'xn_shutdown', args: [], blocking: true, errors: 'xn', owner: 'xn', doc: 'uid 0: write the catalogue, freemap and clean marker; XN_DIRTY_BLOCKS while a registered block is dirty' },
  { nr: 1102, name: 'xn_root', args: [], blocking: false, errors: 'xn', owner: 'xn', doc: 'first block of the root catalogue (sys_root)' },
  { nr: 1103, name: 'xn_info', args: [struct('info', 'out', XN_INFO_BYTES)], blocking: false, errors: 'xn', owner: 'xn', doc: 'layout: catalogue and freemap blocks, freemap bytes, disk size (struct xn_info)' },
  { nr: 1104, name: 'db_find_free', args: [ulong('hint'), uint('nblocks')], blocking: false, errors: 'xn', owner: 'xn', doc: 'first block of a free run of nblocks at or after hint, or 0' },
  { nr: 1105, name: 'xn_alloc', args: [ulong('da'), struct('op', 'inout', XN_OP_BYTES)], blocking: false, errors: 'xn', owner: 'xn', doc: 'allocate op’s extent under the pointer slot at byte address da (op.db = 0: XN chooses, written back)' },
  { nr: 1106, name: 'xn_free', args: [ulong('da'), struct('op', 'in', XN_OP_BYTES)], blocking: false, errors: 'xn', owner: 'xn', doc: 'free op’s extent from the slot at da; reusable once the parent is written without it' },
  { nr: 1107, name: 'xn_swap', args: [ulong('da1'), struct('op1', 'in', XN_OP_BYTES), ulong('da2'), struct('op2', 'in', XN_OP_BYTES)], blocking: false, errors: 'xn', owner: 'xn', doc: 'atomically exchange two extents between two pointer slots' },
  { nr: 1108, name: 'xn_move', args: [ulong('dst'), struct('dstOp', 'in', XN_OP_BYTES), ulong('src'), struct('srcOp', 'in', XN_OP_BYTES)], blocking: false, errors: 'xn', owner: 'xn', doc: 'move an extent from the slot at src to the slot at dst (new pointer set before the old is cleared)' },
  { nr: 1109, name: 'xn_bind', args: [ulong('db'), uint('nblocks'), uint('flag'), buf('src', 'in', 1, 4096, true)], blocking: false, errors: 'xn', owner: 'xn', doc: 'give registered blocks [db, db+nblocks) cache pages: zero-filled (XN_ZERO_FILL, XN_ALLOC_ZERO), or src’s bytes for raw data blocks (XN_BIND_CONTENTS)' },
  { nr: 1110, name: 'xn_unbind', args: [ulong('db'), uint('nblocks')], blocking: false, errors: 'xn', owner: 'xn', doc: 'drop the cache pages of clean registered blocks [db, db+nblocks)' },
  { nr: 1111, name: 'xn_writeb', args: [ulong('da'), buf('src', 'in', 2, 1), uint('nbytes')], blocking: false, errors: 'xn', owner: 'xn', doc: 'copy bytes into raw-writable fields at da (may span consecutive blocks)' },
  { nr: 1112, name: 'xn_readb', args: [buf('dst', 'out', 2, 1), ulong('da'), uint('nbytes')], blocking: false, errors: 'xn', owner: 'xn', doc: 'copy readable bytes at da out (may span consecutive blocks)' },
  { nr: 1113, name: 'xn_readin', args: [ulong('db'), uint('nblocks'), int('chan'), uint('counter')], blocking: false, errors: 'xn', owner: 'xn', doc: 'asynchronous read of [db, db+nblocks) into the cache; a request id, one notification when all are in' },
  { nr: 1114, name: 'xn_writeback', args: [ulong('db'), uint('nblocks'), int('chan'), uint('counter')], blocking: false, errors: 'xn', owner: 'xn', doc: 'asynchronous durable write of [db, db+nblocks); a request id, one notification' },
  { nr: 1115, name: 'xn_read_and_insert', args: [ulong('da'), struct('op', 'in', XN_OP_BYTES), int('chan'), uint('counter')], blocking: false, errors: 'xn', owner: 'xn', doc: 'insert_attr of op’s extent under da, then readin of it; one notification' },
  { nr: 1116, name: 'install_mount', args: [str('name', XN_NAME_MAX + 1), struct('db', 'inout', 8), uint('nelem'), uint('type'), uint('mode')], blocking: false, errors: 'xn', owner: 'xn', doc: 'create a named root owned by the caller’s uid (*db = 0: XN chooses, written back); mode: XN_MODE_OTHER_*' },
  { nr: 1117, name: 'xn_mount', args: [struct('root', 'out', XN_ROOT_ENTRY_BYTES), str('name', XN_NAME_MAX + 1)], blocking: false, errors: 'xn', owner: 'xn', doc: 'look up a named root, take the capability the caller’s uid allows, copy out its struct xn_root_entry' },
  { nr: 1118, name: 'type_import', args: [str('name', XN_NAME_MAX + 1)], blocking: false, errors: 'xn', owner: 'xn', doc: 'make the XN_DB root name, written with an encoded template, a type; its id (stable; durable with the catalogue)' },
  { nr: 1119, name: 'type_mount', args: [str('name', XN_NAME_MAX + 1)], blocking: false, errors: 'xn', owner: 'xn', doc: 'the (stable) type id of a stored template' },
  { nr: 1120, name: 'xn_read_catalogue', args: [buf('entries', 'out', 1, XN_ROOT_ENTRY_BYTES), uint('max')], blocking: false, errors: 'xn', owner: 'xn', doc: 'copy out up to max catalogue entries (struct xn_root_entry); how many were copied' },
  { nr: 1121, name: 'xn_insert_attr', args: [ulong('da'), struct('op', 'in', XN_OP_BYTES)], blocking: false, errors: 'xn', owner: 'xn', doc: 'register blocks the slot at da already points to, without reading them' },
  { nr: 1122, name: 'xn_read_attr', args: [buf('dst', 'out', 2, XN_ATTR_BYTES), ulong('db'), uint('nblocks')], blocking: false, errors: 'xn', owner: 'xn', doc: 'copy out the registry entries (struct xn_attr) of [db, db+nblocks)' },
  { nr: 1123, name: 'xn_delete_attr', args: [ulong('db'), uint('nblocks')], blocking: false, errors: 'xn', owner: 'xn', doc: 'forget clean, initialized, childless registry entries (and their pages)' },
  { nr: 1124, name: 'xn_set_type', args: [ulong('da'), int('expectedType'), buf('src', 'in', 3, 1), uint('nbytes'), uint('at')], blocking: false, errors: 'xn', owner: 'xn', doc: 'set the discriminator of the union member at da once: src goes to byte at of the member' },
  { nr: 1125, name: 'xn_readinv', args: [buf('iov', 'in', 1, XN_IOE_BYTES), uint('iovcnt'), int('chan'), uint('counter')], blocking: false, errors: 'xn', owner: 'xn', doc: 'asynchronous read of several runs (struct xn_ioe); one notification when all are in' },
  { nr: 1126, name: 'xn_writebackv', args: [buf('iov', 'in', 1, XN_IOE_BYTES), uint('iovcnt'), int('chan'), uint('counter')], blocking: false, errors: 'xn', owner: 'xn', doc: 'write several runs as one atomic group (required for blocks a swap/move coupled); one notification' },
  { nr: 1127, name: 'xn_readin_sync', args: [ulong('db'), uint('nblocks')], blocking: true, errors: 'xn', owner: 'xn', doc: 'readin that returns when the blocks are in (status of the read)' },
  { nr: 1128, name: 'xn_writeback_sync', args: [ulong('db'), uint('nblocks')], blocking: true, errors: 'xn', owner: 'xn', doc: 'writeback that returns when the blocks are durable (status of the write)' },
  { nr: 1129, name: 'xn_fsck', args: [struct('report', 'out', XN_REPORT_BYTES)], blocking: true, errors: 'xn', owner: 'xn', doc: 'uid 0: walk every root over the current state, read-only; fills struct xn_report' },
  { nr: 1130, name: 'xn_read_sync', args: [buf('dst', 'out', 2, 4096), ulong('db'), uint('nblocks')], blocking: true, errors: 'xn', owner: 'xn', doc: 'readin_sync + readb + unbind in one call: copy the blocks’ readable bytes out and drop the pages again (readin’s preconditions)' },
  { nr: 1131, name: 'xn_write_sync', args: [ulong('db'), uint('nblocks'), buf('src', 'in', 1, 4096)], blocking: true, errors: 'xn', owner: 'xn', doc: 'bind(XN_BIND_CONTENTS) + writeback_sync + unbind in one call: src’s bytes to raw data blocks, durable on return; a failed write leaves the pages dirty' },

  // ---- raw block device (thesis §3.3.1's minimal alternative; constants in ./blkdev.ts) ----
  { nr: 1200, name: 'prefetch', args: [fd('fd'), ulong('block'), uint('n'), fd('chan')], blocking: false, errors: 'errno', owner: 'blockdev', doc: 'read n blocks of a block-device fd into the buffer cache; a request id, then one channel record' },
  { nr: 1201, name: 'commit', args: [fd('fd'), ulong('block'), uint('n'), fd('chan')], blocking: false, errors: 'errno', owner: 'blockdev', doc: 'write the dirty cached blocks of [block, block+n) to disk; a request id, then one channel record' },
  { nr: 1202, name: 'blkdev_open', args: [int('flags')], blocking: false, errors: 'errno', owner: 'blockdev', doc: 'uid 0: open the raw disk (O_RDONLY/O_WRONLY/O_RDWR, O_DIRECT, O_CLOEXEC); the fd' },
  { nr: 1203, name: 'blkdev_pread', args: [fd('fd'), buf('buf', 'out', 2, 1), uint('count'), ulong('offset')], blocking: true, errors: 'errno', owner: 'blockdev', doc: 'read count bytes at a block-aligned byte offset (cached blocks from the cache, others from the disk)' },
  { nr: 1204, name: 'blkdev_pwrite', args: [fd('fd'), buf('buf', 'in', 2, 1), uint('count'), ulong('offset')], blocking: true, errors: 'errno', owner: 'blockdev', doc: 'write count bytes at a block-aligned offset: to the disk (O_DIRECT, durable on return) or into the cache (commit writes)' },
] as const satisfies readonly SyscallDecl[];

/** All declarations, as the general type. */
export const SYSCALL_TABLE: readonly SyscallDecl[] = SYSCALLS;

export type SyscallTable = typeof SYSCALLS;
export type SyscallName = SyscallTable[number]['name'];
/** The declaration of call `N`. */
export type DeclOf<N extends SyscallName> = Extract<SyscallTable[number], { name: N }>;

/** Syscall numbers by name (`NR.read === 0`). */
export const NR = Object.fromEntries(SYSCALLS.map((d) => [d.name, d.nr])) as { readonly [N in SyscallName]: DeclOf<N>['nr'] };

/** Highest number in the table; the dispatcher's table has this many + 1 slots. */
export const NR_MAX = Math.max(...SYSCALLS.map((d) => d.nr));

/** Declaration by number, or undefined. */
export function syscallByNumber(nr: number): SyscallDecl | undefined {
  return BY_NR.get(nr);
}
const BY_NR: ReadonlyMap<number, SyscallDecl> = new Map(SYSCALL_TABLE.map((d) => [d.nr, d]));
