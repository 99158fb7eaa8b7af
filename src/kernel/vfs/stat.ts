/**
 * `struct stat` (Linux x86-64, 144 bytes; layout in src/kernel/abi/layout.ts) and
 * `struct linux_dirent64` records, written into a process's memory at ranges the caller has
 * validated.
 */
import type { BigIntStats } from 'node:fs';
import {
  DIRENT64_OFF_INO,
  DIRENT64_OFF_NAME,
  DIRENT64_OFF_OFF,
  DIRENT64_OFF_RECLEN,
  DIRENT64_OFF_TYPE,
  DT_BLK,
  DT_CHR,
  DT_DIR,
  DT_FIFO,
  DT_LNK,
  DT_REG,
  DT_SOCK,
  DT_UNKNOWN,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  STAT_BYTES,
  STAT_OFF_ATIME,
  STAT_OFF_BLKSIZE,
  STAT_OFF_BLOCKS,
  STAT_OFF_CTIME,
  STAT_OFF_DEV,
  STAT_OFF_GID,
  STAT_OFF_INO,
  STAT_OFF_MODE,
  STAT_OFF_MTIME,
  STAT_OFF_NLINK,
  STAT_OFF_RDEV,
  STAT_OFF_SIZE,
  STAT_OFF_UID,
} from '../abi/layout.js';

const NS_PER_S = 1_000_000_000n;

/** A `struct timespec` from nanoseconds since the epoch (nsec in [0, 1e9) also before 1970). */
function writeTimespec(dv: DataView, at: number, ns: bigint): void {
  let sec = ns / NS_PER_S;
  let nsec = ns % NS_PER_S;
  if (nsec < 0n) {
    nsec += NS_PER_S;
    sec -= 1n;
  }
  dv.setBigInt64(at, sec, true);
  dv.setBigInt64(at + 8, nsec, true);
}

/** Write a host file's `stat` (exact: bigint fields, nanosecond times) at `at`. */
export function writeStat(dv: DataView, at: number, st: BigIntStats): void {
  zero(dv, at, STAT_BYTES);
  dv.setBigUint64(at + STAT_OFF_DEV, st.dev, true);
  dv.setBigUint64(at + STAT_OFF_INO, st.ino, true);
  dv.setBigUint64(at + STAT_OFF_NLINK, st.nlink, true);
  dv.setUint32(at + STAT_OFF_MODE, Number(st.mode), true);
  dv.setUint32(at + STAT_OFF_UID, Number(st.uid), true);
  dv.setUint32(at + STAT_OFF_GID, Number(st.gid), true);
  dv.setBigUint64(at + STAT_OFF_RDEV, st.rdev, true);
  dv.setBigInt64(at + STAT_OFF_SIZE, st.size, true);
  dv.setBigInt64(at + STAT_OFF_BLKSIZE, st.blksize, true);
  dv.setBigInt64(at + STAT_OFF_BLOCKS, st.blocks, true);
  writeTimespec(dv, at + STAT_OFF_ATIME, st.atimeNs);
  writeTimespec(dv, at + STAT_OFF_MTIME, st.mtimeNs);
  writeTimespec(dv, at + STAT_OFF_CTIME, st.ctimeNs);
}

/**
 * The `stat` of a descriptor that is not a docroot file (pipe, socket, epoll, channel): its type
 * in `mode`, a kernel-chosen inode number, one link, a page as block size; size, owner, device
 * and times 0.
 */
export function writeSyntheticStat(dv: DataView, at: number, mode: number, ino: number): void {
  zero(dv, at, STAT_BYTES);
  dv.setBigUint64(at + STAT_OFF_INO, BigInt(ino), true);
  dv.setBigUint64(at + STAT_OFF_NLINK, 1n, true);
  dv.setUint32(at + STAT_OFF_MODE, mode, true);
  dv.setBigInt64(at + STAT_OFF_BLKSIZE, 4096n, true);
}

function zero(dv: DataView, at: number, n: number): void {
  new Uint8Array(dv.buffer, dv.byteOffset + at, n).fill(0);
}

/** `d_type` of a mode. */
export function direntType(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return DT_REG;
    case S_IFDIR:
      return DT_DIR;
    case S_IFLNK:
      return DT_LNK;
    case S_IFIFO:
      return DT_FIFO;
    case S_IFSOCK:
      return DT_SOCK;
    case S_IFCHR:
      return DT_CHR;
    case S_IFBLK:
      return DT_BLK;
    default:
      return DT_UNKNOWN;
  }
}

/** Bytes of the record for a name of `nameBytes` bytes: header, name, NUL, padded to 8. */
export function direntRecordBytes(nameBytes: number): number {
  return (DIRENT64_OFF_NAME + nameBytes + 1 + 7) & ~7;
}

/**
 * Write one record at `at` (the caller checked it fits): inode, `nextCookie` as d_off, type,
 * name, NUL and zero padding. Returns its length.
 */
export function writeDirent(mem: Uint8Array, dv: DataView, at: number, ino: bigint, nextCookie: number, type: number, name: Uint8Array): number {
  const reclen = direntRecordBytes(name.length);
  dv.setBigUint64(at + DIRENT64_OFF_INO, ino, true);
  dv.setBigInt64(at + DIRENT64_OFF_OFF, BigInt(nextCookie), true);
  dv.setUint16(at + DIRENT64_OFF_RECLEN, reclen, true);
  dv.setUint8(at + DIRENT64_OFF_TYPE, type);
  mem.set(name, at + DIRENT64_OFF_NAME);
  mem.fill(0, at + DIRENT64_OFF_NAME + name.length, at + reclen);
  return reclen;
}
