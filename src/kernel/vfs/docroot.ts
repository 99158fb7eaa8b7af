/**
 * The docroot mount: one host directory, read-only, as every process's file system, and the
 * system calls over it — `open`, `fstat`, `lseek`, `pread64`, `getdents64` (plain `read` and
 * `close` are the kernel's generic calls on the files made here). docs/vfs.md is the contract.
 */
import { closeSync, constants as fsc, openSync, readlinkSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DaemonError } from '../../errors.js';
import { componentLogger, type Logger } from '../../util/log.js';
import { packageRoot } from '../../util/package-root.js';
import { EACCES, EAGAIN, EBADF, EEXIST, EINVAL, EISDIR, EMFILE, ENOENT, ENOTDIR, ENXIO, EROFS, ESPIPE, errnoName } from '../abi/errno.js';
import {
  O_ACCMODE,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_TMPFILE,
  O_TRUNC,
  SSIZE_MAX,
  S_IFDIR,
  S_IFIFO,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  S_IROTH,
  S_IXOTH,
} from '../abi/layout.js';
import type { Kernel } from '../kernel.js';
import type { KernelFile } from '../proc/file.js';
import type { Process } from '../proc/process.js';
import type { SyscallImpls } from '../syscall/types.js';
import { HostFs, type HostCounters } from './host.js';
import { DocrootDir, DocrootFile, DocrootNode, type NodeContext, type NodeCounters } from './node.js';
import { writeStat, writeSyntheticStat } from './stat.js';
import { isWalkFailure, walk, type MountRoot, type WalkCounters } from './walk.js';

/** How the docroot is mounted. */
export interface DocrootOptions {
  /** The host directory: absolute, or relative to the package root (`site/www` is the sample site). */
  dir: string;
  /** Default: `componentLogger('docroot')`. */
  log?: Logger;
}

/** The mount's counters and state (admin API, tests). */
export interface DocrootStats extends NodeCounters, WalkCounters {
  /** The docroot's real host path. */
  root: string;
  mounted: boolean;
  /** Successful opens, and failed ones by errno name. */
  opens: number;
  openErrors: Record<string, number>;
  /** Host descriptors held, host operations in flight and started, host failures. */
  host: HostCounters;
}

/**
 * `st_mode` of descriptors that are not docroot files, by kind: a pipe is a FIFO, a packet
 * socket a socket (Linux: pipefs, sockfs); other kinds are anonymous inodes, which on Linux carry
 * permission bits and no type.
 */
const SYNTHETIC_MODES: ReadonlyMap<string, number> = new Map([
  ['pipe', S_IFIFO | 0o600],
  ['packet', S_IFSOCK | 0o777],
]);
const ANON_INODE_MODE = 0o600;

/** Host open flags: never follow a final symlink (the walk already resolved them), never wait, never take a terminal. */
const HOST_OPEN_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY;

/** The configured docroot as an absolute host path (relative paths are relative to the package root). */
export function resolveDocrootDir(configured: string): string {
  return isAbsolute(configured) ? configured : resolve(packageRoot(), configured);
}

/** The read-only docroot mounted into one kernel. */
export class Docroot {
  readonly root: MountRoot;
  readonly #host = new HostFs();
  readonly #counters: Omit<DocrootStats, 'root' | 'mounted' | 'host'>;
  readonly #log: Logger;
  readonly #ctx: NodeContext;
  #mounted = true;
  readonly #syntheticIno = new WeakMap<KernelFile, number>();
  #nextSyntheticIno = 1;

  private constructor(root: MountRoot, log: Logger) {
    this.root = root;
    this.#log = log;
    this.#counters = {
      opens: 0,
      openErrors: {},
      races: 0,
      symlinksFollowed: 0,
      escapesRefused: 0,
      preads: 0,
      preadBytes: 0,
      readaheadFills: 0,
      readaheadBytes: 0,
      getdentsCalls: 0,
      direntsReturned: 0,
      hiddenNames: 0,
    };
    this.#ctx = { host: this.#host, counters: this.#counters };
  }

  /**
   * Mount `opts.dir` into `kernel` and register the docroot's system calls. Synchronous (boot
   * time). Throws `VFS_ERR_MOUNT` when the directory is missing, not a directory, not readable
   * and searchable by others, or when /proc cannot confirm its real path (the containment check
   * of every open relies on /proc/self/fd).
   */
  static mount(kernel: Kernel, opts: DocrootOptions): Docroot {
    const dir = resolveDocrootDir(opts.dir);
    const bad = (why: string, cause?: unknown): never => {
      throw new DaemonError('VFS_ERR_MOUNT', `docroot ${dir}: ${why}`, cause === undefined ? undefined : { cause });
    };
    let real = '';
    let isDir = false;
    let mode = 0;
    try {
      real = realpathSync.native(dir);
      const st = statSync(real);
      isDir = st.isDirectory();
      mode = st.mode;
    } catch (err) {
      bad((err as Error).message, err);
    }
    if (!isDir) bad('not a directory');
    if ((mode & (S_IROTH | S_IXOTH)) !== (S_IROTH | S_IXOTH)) bad(`mode ${(mode & 0o7777).toString(8)} does not let others read and search it`);
    let where = '';
    try {
      const fd = openSync(real, fsc.O_RDONLY | fsc.O_DIRECTORY);
      try {
        where = readlinkSync(`/proc/self/fd/${fd}`);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      bad(`/proc/self/fd is not usable: ${(err as Error).message}`, err);
    }
    if (where !== real) bad(`/proc/self/fd reports ${where}, not its real path ${real}`);
    const d = new Docroot({ real, parts: real.split('/').filter((p) => p !== '') }, opts.log ?? componentLogger('docroot'));
    kernel.registerSyscalls(d.#syscalls(kernel));
    d.#log.info({ root: real }, 'docroot mounted read-only');
    return d;
  }

  /** Counters and state. */
  stats(): DocrootStats {
    return { root: this.root.real, mounted: this.#mounted, ...structuredClone(this.#counters), host: structuredClone(this.#host.counters) };
  }

  /** Resolves when no host operation is in flight. */
  idle(): Promise<void> {
    return this.#host.idle();
  }

  /** Host resources still held: what a leak check after every process has exited must find empty. */
  leaks(): string[] {
    const c = this.#host.counters;
    const out: string[] = [];
    if (c.fds !== 0) out.push(`docroot: ${c.fds} host descriptors still open`);
    if (c.inflight !== 0) out.push(`docroot: ${c.inflight} host operations in flight`);
    return out;
  }

  /**
   * Stop answering: later opens are ENOENT (nothing is mounted). Files already open keep working
   * until closed. Resolves when the host I/O in flight has finished.
   */
  async unmount(): Promise<void> {
    this.#mounted = false;
    await this.#host.idle();
    const left = this.leaks();
    if (left.length > 0) this.#log.warn({ left }, 'docroot unmounted with files still open');
  }

  #syscalls(kernel: Kernel): SyscallImpls {
    return {
      open: (p, path, flags) => this.#open(kernel, p, path, flags),
      fstat: (p, f, statbuf) => {
        if (!(f instanceof DocrootNode)) {
          writeSyntheticStat(p.dv, statbuf, SYNTHETIC_MODES.get(f.kind) ?? ANON_INODE_MODE, this.#inoOf(f));
          return 0;
        }
        return f.stat().then((st) => {
          if (typeof st === 'number') return st;
          writeStat(p.dv, statbuf, st);
          return 0;
        });
      },
      lseek: (_p, f, offset, whence) => (f instanceof DocrootNode ? f.lseek(offset, whence) : -ESPIPE),
      pread64: (p, f, buf, count, offset) => {
        if (f instanceof DocrootFile) return f.pread(p.mem, buf, Math.min(count, SSIZE_MAX), offset);
        return f instanceof DocrootDir ? -EISDIR : -ESPIPE;
      },
      getdents64: (p, f, dirp, count) => (f instanceof DocrootDir ? f.getdents(p.mem, p.dv, dirp, count) : -ENOTDIR),
    };
  }

  #inoOf(f: KernelFile): number {
    let ino = this.#syntheticIno.get(f);
    if (ino === undefined) {
      ino = this.#nextSyntheticIno++;
      this.#syntheticIno.set(f, ino);
    }
    return ino;
  }

  async #open(kernel: Kernel, p: Process, path: string, flags: number): Promise<number> {
    const r = await this.#openFile(kernel, p, path, flags);
    if (r < 0) {
      const name = errnoName(r);
      this.#counters.openErrors[name] = (this.#counters.openErrors[name] ?? 0) + 1;
    } else {
      this.#counters.opens++;
    }
    return r;
  }

  /**
   * open(2) on a read-only mount, checks in Linux's order: flags that cannot work (O_TMPFILE,
   * O_PATH), a free descriptor (EMFILE), the walk (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, EACCES
   * for escapes and unsearchable directories), O_CREAT|O_EXCL (EEXIST), O_DIRECTORY (ENOTDIR),
   * writing a directory (EISDIR), devices and FIFOs (EACCES: the mount is nodev and serves no
   * FIFOs), any write, create or truncate (EROFS), read permission for others (EACCES), sockets
   * (ENXIO). Then the host open, and the containment proof: the descriptor must be the inode the
   * walk found (fstat) at the path the walk found (/proc/self/fd), else the host changed the tree
   * meanwhile and the open fails with EAGAIN (as openat2's RESOLVE_BENEATH does).
   */
  async #openFile(kernel: Kernel, p: Process, path: string, flags: number): Promise<number> {
    const wantsWrite = (flags & O_ACCMODE) !== O_RDONLY;
    if ((flags & O_TMPFILE) === O_TMPFILE) return wantsWrite ? -EROFS : -EINVAL;
    // Deviation: O_PATH descriptors are not supported (nothing here could use one).
    if ((flags & O_PATH) !== 0) return -EINVAL;
    if (p.fds.available() === 0) return -EMFILE;
    if (!this.#mounted) return -ENOENT;
    const res = await walk(this.root, this.#host, path, (flags & O_NOFOLLOW) === 0, this.#counters);
    if (isWalkFailure(res)) return res.missingFinal && (flags & O_CREAT) !== 0 ? -EROFS : -res.errno;
    if ((flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) return -EEXIST;
    const mode = Number(res.st.mode);
    const type = mode & S_IFMT;
    if ((flags & O_DIRECTORY) !== 0 && type !== S_IFDIR) return -ENOTDIR;
    if (type === S_IFDIR && (wantsWrite || (flags & (O_CREAT | O_TRUNC)) !== 0)) return -EISDIR;
    if (type !== S_IFDIR && type !== S_IFREG && type !== S_IFSOCK) return -EACCES;
    if (wantsWrite || (flags & O_TRUNC) !== 0) return -EROFS;
    if ((mode & S_IROTH) === 0) return -EACCES;
    if (type === S_IFSOCK) return -ENXIO;

    const fd = await this.#host.open(res.hostPath, HOST_OPEN_FLAGS | (type === S_IFDIR ? fsc.O_DIRECTORY : 0));
    if (fd < 0) return fd;
    const st = await this.#host.fstat(fd);
    const err = typeof st === 'number' ? st : this.#verify(fd, res.hostPath, res.st, st);
    if (err !== 0 || !p.alive) {
      this.#host.close(fd);
      return err !== 0 ? err : -EBADF;
    }
    const opened = st as BigIntStats;
    const docPath = `/${res.rel.join('/')}`;
    const file = type === S_IFDIR ? new DocrootDir(this.#ctx, fd, docPath, opened, res.rel.length === 0) : new DocrootFile(this.#ctx, fd, docPath, opened);
    // installFile releases the file (closing the host fd) when the table filled up meanwhile.
    return kernel.installFile(p, file);
  }

  /** 0 when host descriptor `fd` is the inode `walked` at `hostPath`; else -EAGAIN (the host tree changed) or -errno. */
  #verify(fd: number, hostPath: string, walked: BigIntStats, opened: BigIntStats): number {
    const where = this.#host.whereIs(fd);
    if (typeof where === 'number') return where;
    if (opened.dev === walked.dev && opened.ino === walked.ino && where.equals(Buffer.from(hostPath))) return 0;
    this.#counters.races++;
    this.#log.debug({ hostPath, where: where.toString() }, 'docroot changed during an open; refused');
    return -EAGAIN;
  }
}
