/**
 * Linux errno numbers (x86-64, `include/uapi/asm-generic/errno-base.h` and `errno.h`).
 *
 * A system call returns a non-negative value on success and `-errno` on failure, exactly as the
 * raw Linux syscall ABI does (libc's `errno` variable is not emulated). Only the numbers the
 * kernel can return are listed; `ERRNO_NAMES` is the inverse map, used by traces and tests.
 */

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const ENOTBLK = 15;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ENOTTY = 25;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EROFS = 30;
export const EPIPE = 32;
export const ERANGE = 34;
export const ENAMETOOLONG = 36;
export const ENOSYS = 38;
export const ELOOP = 40;
export const ENODATA = 61;
export const EOVERFLOW = 75;
export const ENOTSOCK = 88;
export const EDESTADDRREQ = 89;
export const EMSGSIZE = 90;
export const EPROTOTYPE = 91;
export const EPROTONOSUPPORT = 93;
export const ESOCKTNOSUPPORT = 94;
export const EOPNOTSUPP = 95;
export const EAFNOSUPPORT = 97;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const ENETDOWN = 100;
export const ENOBUFS = 105;
export const EISCONN = 106;
export const ENOTCONN = 107;
export const ETIMEDOUT = 110;
export const EALREADY = 114;
export const EINPROGRESS = 115;
export const ECANCELED = 125;

/** errno number → symbolic name (`11` → `"EAGAIN"`). */
export const ERRNO_NAMES: ReadonlyMap<number, string> = new Map([
  [EPERM, 'EPERM'],
  [ENOENT, 'ENOENT'],
  [ESRCH, 'ESRCH'],
  [EINTR, 'EINTR'],
  [EIO, 'EIO'],
  [ENXIO, 'ENXIO'],
  [E2BIG, 'E2BIG'],
  [EBADF, 'EBADF'],
  [EAGAIN, 'EAGAIN'],
  [ENOMEM, 'ENOMEM'],
  [EACCES, 'EACCES'],
  [EFAULT, 'EFAULT'],
  [EBUSY, 'EBUSY'],
  [EEXIST, 'EEXIST'],
  [ENODEV, 'ENODEV'],
  [ENOTDIR, 'ENOTDIR'],
  [EISDIR, 'EISDIR'],
  [EINVAL, 'EINVAL'],
  [ENFILE, 'ENFILE'],
  [EMFILE, 'EMFILE'],
  [ENOTTY, 'ENOTTY'],
  [ENOTBLK, 'ENOTBLK'],
  [EFBIG, 'EFBIG'],
  [ENOSPC, 'ENOSPC'],
  [ESPIPE, 'ESPIPE'],
  [EROFS, 'EROFS'],
  [EPIPE, 'EPIPE'],
  [ERANGE, 'ERANGE'],
  [ENAMETOOLONG, 'ENAMETOOLONG'],
  [ENOSYS, 'ENOSYS'],
  [ELOOP, 'ELOOP'],
  [ENODATA, 'ENODATA'],
  [EOVERFLOW, 'EOVERFLOW'],
  [ENOTSOCK, 'ENOTSOCK'],
  [EDESTADDRREQ, 'EDESTADDRREQ'],
  [EMSGSIZE, 'EMSGSIZE'],
  [EPROTOTYPE, 'EPROTOTYPE'],
  [EPROTONOSUPPORT, 'EPROTONOSUPPORT'],
  [ESOCKTNOSUPPORT, 'ESOCKTNOSUPPORT'],
  [EOPNOTSUPP, 'EOPNOTSUPP'],
  [EAFNOSUPPORT, 'EAFNOSUPPORT'],
  [EADDRINUSE, 'EADDRINUSE'],
  [EADDRNOTAVAIL, 'EADDRNOTAVAIL'],
  [ENETDOWN, 'ENETDOWN'],
  [ENOBUFS, 'ENOBUFS'],
  [EISCONN, 'EISCONN'],
  [ENOTCONN, 'ENOTCONN'],
  [ETIMEDOUT, 'ETIMEDOUT'],
  [EALREADY, 'EALREADY'],
  [EINPROGRESS, 'EINPROGRESS'],
  [ECANCELED, 'ECANCELED'],
]);

/** Symbolic name of an errno (positive or negated), or `"E?<n>"` for a number not in the table. */
export function errnoName(errno: number): string {
  const n = errno < 0 ? -errno : errno;
  return ERRNO_NAMES.get(n) ?? `E?${n}`;
}
