/**
 * The docroot's calls as a process sees them: open's errnos and flags, byte-exact reads through
 * pread64 and read, fstat against the host, lseek, getdents64 (layout, resumption, cookies), and
 * the lifetime of host descriptors (close, exit, I/O in flight, a kill during an open).
 * Containment under hostile paths is in containment.test.ts; random arguments in fuzz.test.ts.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDaemonError } from '../../errors.js';
import { packageRoot } from '../../util/package-root.js';
import { EACCES, EAGAIN, EBADF, EEXIST, EINVAL, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, ENXIO, EROFS, ESPIPE } from '../abi/errno.js';
import {
  DIRENT64_OFF_INO,
  DIRENT64_OFF_NAME,
  DIRENT64_OFF_OFF,
  DIRENT64_OFF_RECLEN,
  DIRENT64_OFF_TYPE,
  DT_DIR,
  DT_FIFO,
  DT_LNK,
  DT_REG,
  DT_SOCK,
  EPOLLIN,
  EPOLL_CTL_ADD,
  EPOLL_EVENT_BYTES,
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDWR,
  O_TMPFILE,
  O_TRUNC,
  O_WRONLY,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
  STAT_BYTES,
  STAT_OFF_BLKSIZE,
  STAT_OFF_BLOCKS,
  STAT_OFF_DEV,
  STAT_OFF_INO,
  STAT_OFF_MODE,
  STAT_OFF_MTIME,
  STAT_OFF_NLINK,
  STAT_OFF_SIZE,
  S_IFIFO,
  S_IFMT,
} from '../abi/layout.js';
import type { Libc } from '../abi/libc.js';
import { SIGKILL } from '../abi/signals.js';
import { Kernel } from '../kernel.js';
import { settle } from '../syscall/test-support.js';
import { Docroot } from './docroot.js';
import { READAHEAD_BYTES } from './node.js';
import { SIZES, inProcess, makeTempDocroot, openPath, patternBytes, preadAll, readAll, type TempDocroot } from './testing.js';

let t: TempDocroot;
beforeAll(async () => {
  t = await makeTempDocroot();
});
afterAll(async () => {
  await t.cleanup();
});

function mounted(dir = t.root): { k: Kernel; d: Docroot } {
  const k = new Kernel();
  return { k, d: Docroot.mount(k, { dir }) };
}

const text = (b: Uint8Array | number): string => (typeof b === 'number' ? `errno ${b}` : Buffer.from(b).toString('utf8'));

/** After every process has exited: no host descriptor, no host I/O, no kernel leak. */
async function noLeaks(k: Kernel, d: Docroot): Promise<void> {
  await d.idle();
  expect(d.leaks()).toEqual([]);
  k.assertNoLeaks();
}

describe('mount', () => {
  it('refuses a missing directory, a file, and a directory others may not search (VFS_ERR_MOUNT)', () => {
    const k = new Kernel();
    const base = mkdtempSync(join(tmpdir(), `exo-vfs-mount-${process.pid}-`));
    try {
      writeFileSync(join(base, 'f'), 'x');
      mkdirSync(join(base, 'closed'), { mode: 0o700 });
      for (const dir of [join(base, 'missing'), join(base, 'f'), join(base, 'closed')]) {
        let err: unknown;
        try {
          Docroot.mount(k, { dir });
        } catch (e) {
          err = e;
        }
        expect(isDaemonError(err, 'VFS_ERR_MOUNT'), dir).toBe(true);
      }
      expect(k.implemented('open')).toBe(false);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('after unmount, opens are ENOENT while descriptors already open keep working', async () => {
    const { k, d } = mounted();
    await inProcess(k, async (sys) => {
      const fd = await openPath(sys, '/index.html');
      await d.unmount();
      expect(d.stats().mounted).toBe(false);
      expect(await openPath(sys, '/index.html')).toBe(-ENOENT);
      expect(text(await preadAll(sys, fd))).toContain('<h1>index</h1>');
    });
    await noLeaks(k, d);
  });

  it('a relative directory is relative to the package root (the default site/www)', async () => {
    const { k, d } = mounted('site/www');
    expect(d.stats().root).toBe(join(packageRoot(), 'site', 'www'));
    const got = await inProcess(k, async (sys) => {
      const fd = await openPath(sys, '/index.html');
      return preadAll(sys, fd);
    });
    expect(Buffer.compare(got as Uint8Array, readFileSync(join(packageRoot(), 'site/www/index.html')))).toBe(0);
    await noLeaks(k, d);
  });
});

describe('open: errnos and flags (read-only mount)', () => {
  const cases: [string, number, number | 'ok'][] = [
    ['/index.html', 0, 'ok'],
    ['index.html', 0, 'ok'], // relative to the working directory, which is always /
    ['/', O_DIRECTORY, 'ok'],
    ['/a/b/c/deep.txt', 0, 'ok'],
    ['/missing.txt', 0, -ENOENT],
    ['/missing/deep.txt', 0, -ENOENT],
    ['', 0, -ENOENT],
    ['/index.html/', 0, -ENOTDIR],
    ['/index.html/x', 0, -ENOTDIR],
    ['/index.html', O_DIRECTORY, -ENOTDIR],
    ['/' + 'n'.repeat(256), 0, -ENAMETOOLONG],
    ['/' + 'n'.repeat(255), 0, -ENOENT],
    ['/unreadable.txt', 0, -EACCES],
    ['/private', 0, -EACCES],
    ['/private/inner.txt', 0, -EACCES],
    ['/fifo', 0, -EACCES],
    ['/sock', 0, -ENXIO],
    ['/index.html', O_WRONLY, -EROFS],
    ['/index.html', O_RDWR, -EROFS],
    ['/index.html', O_TRUNC, -EROFS],
    ['/index.html', O_CREAT, 'ok'], // O_CREAT on an existing file opens it
    ['/index.html', O_APPEND, 'ok'],
    ['/new.txt', O_CREAT | O_WRONLY, -EROFS],
    ['/missing/new.txt', O_CREAT, -ENOENT],
    ['/index.html', O_CREAT | O_EXCL, -EEXIST],
    ['/missing.txt', O_WRONLY, -ENOENT],
    ['/a', O_WRONLY, -EISDIR],
    ['/a', O_CREAT, -EISDIR],
    ['/', O_TMPFILE | O_RDWR, -EROFS],
    ['/', O_TMPFILE, -EINVAL],
    ['/index.html', O_PATH, -EINVAL],
    ['/inside-rel', O_NOFOLLOW, -ELOOP],
    ['/dirlink/c/deep.txt', O_NOFOLLOW, 'ok'], // O_NOFOLLOW only concerns the last component
  ];
  it.each(cases)('open(%j, %o) → %s', async (path, flags, want) => {
    const { k, d } = mounted();
    const r = await inProcess(k, (sys) => openPath(sys, path, flags));
    if (want === 'ok') expect(r).toBeGreaterThanOrEqual(0);
    else expect(r).toBe(want);
    await noLeaks(k, d);
  });

  it('counts opens and failures by errno; a full descriptor table is EMFILE before any lookup', async () => {
    const k = new Kernel();
    const d = Docroot.mount(k, { dir: t.root });
    const p = k.spawn('t', async (sys) => {
      expect(await openPath(sys, '/index.html')).toBe(0);
      expect(await openPath(sys, '/index.html')).toBe(-24);
      expect(await openPath(sys, '/nope')).toBe(-24);
    }, { fdLimit: 1 });
    expect((await p.exited).reason).toBe('return');
    const s = d.stats();
    expect(s.opens).toBe(1);
    expect(s.openErrors).toEqual({ EMFILE: 2 });
    await noLeaks(k, d);
  });
});

describe('reading', () => {
  it.each(SIZES)('a %d-byte file arrives byte-exact through pread64 and through read/read_wait', async (n) => {
    const { k, d } = mounted();
    const [viaPread, viaRead] = await inProcess(k, async (sys) => {
      const fd = await openPath(sys, `/files/${n}.bin`);
      const a = await preadAll(sys, fd, 100_000);
      const b = await readAll(sys, fd, 10_000);
      expect(sys.close(fd)).toBe(0);
      return [a, b];
    });
    const want = patternBytes(n, n + 1);
    expect(Buffer.compare(viaPread as Uint8Array, want)).toBe(0);
    expect(Buffer.compare(viaRead as Uint8Array, want)).toBe(0);
    const s = d.stats();
    expect(s.preadBytes).toBe(n);
    expect(s.readaheadBytes).toBe(n);
    await noLeaks(k, d);
  });

  it('pread64 at offsets: exact bytes, a short read at the end, 0 past it, 0 for count 0; the position does not move', async () => {
    const { k, d } = mounted();
    const n = 200_000;
    const want = patternBytes(n, n + 1);
    await inProcess(k, async (sys) => {
      const fd = await openPath(sys, `/files/${n}.bin`);
      const buf = sys.malloc(70_000);
      for (const off of [0, 1, 4095, 65536, 120_000, n - 70_000]) {
        expect(await sys.call('pread64', fd, buf, 70_000, off)).toBe(70_000);
        expect(Buffer.compare(sys.bytes(buf, 70_000), want.subarray(off, off + 70_000))).toBe(0);
      }
      expect(await sys.call('pread64', fd, buf, 70_000, n - 10)).toBe(10);
      expect(await sys.call('pread64', fd, buf, 70_000, n)).toBe(0);
      expect(await sys.call('pread64', fd, buf, 70_000, 2 ** 40)).toBe(0);
      expect(await sys.call('pread64', fd, buf, 0, 0)).toBe(0);
      expect(sys.call('lseek', fd, 0, SEEK_CUR)).toBe(0);
    });
    await noLeaks(k, d);
  });

  it('read is non-blocking: EAGAIN until the read-ahead fill lands, then bytes; epoll wakes for it', async () => {
    const { k, d } = mounted();
    await inProcess(k, async (sys) => {
      const fd = await openPath(sys, '/files/65537.bin');
      const buf = sys.malloc(READAHEAD_BYTES + 10);
      expect(sys.read(fd, buf, 10)).toBe(-EAGAIN);
      const ep = sys.epoll_create1(0);
      const ev = sys.malloc(EPOLL_EVENT_BYTES);
      sys.view.setUint32(ev, EPOLLIN, true);
      expect(sys.epoll_ctl(ep, EPOLL_CTL_ADD, fd, ev)).toBe(0);
      expect(await sys.epoll_wait(ep, ev, 1, -1)).toBe(1);
      // One fill holds the read-ahead window; the byte after it needs another fill.
      expect(sys.read(fd, buf, READAHEAD_BYTES + 10)).toBe(READAHEAD_BYTES);
      expect(sys.read(fd, buf, 10)).toBe(-EAGAIN);
      expect(await sys.read_wait(fd, buf, 10, -1)).toBe(1);
      expect(await sys.read_wait(fd, buf, 10, -1)).toBe(0);
      expect(sys.read(fd, buf, 0)).toBe(0);
      expect(sys.write(fd, buf, 1)).toBe(-EBADF);
    });
    await noLeaks(k, d);
  });

  it('directories: read is EISDIR, pread64 EISDIR; other descriptors: pread64 and lseek ESPIPE, getdents64 ENOTDIR', async () => {
    const { k, d } = mounted();
    await inProcess(k, async (sys) => {
      const dir = await openPath(sys, '/a');
      const buf = sys.malloc(64);
      expect(sys.read(dir, buf, 64)).toBe(-EISDIR);
      expect(await sys.call('pread64', dir, buf, 64, 0)).toBe(-EISDIR);
      const file = await openPath(sys, '/index.html');
      expect(await sys.call('getdents64', file, buf, 64)).toBe(-ENOTDIR);
      const fds = sys.pipe() as [number, number];
      expect(await sys.call('pread64', fds[0], buf, 64, 0)).toBe(-ESPIPE);
      expect(sys.call('lseek', fds[0], 0, SEEK_SET)).toBe(-ESPIPE);
      expect(await sys.call('getdents64', fds[0], buf, 64)).toBe(-ENOTDIR);
      expect(await sys.call('pread64', 99, buf, 64, 0)).toBe(-EBADF);
    });
    await noLeaks(k, d);
  });
});

describe('fstat and lseek', () => {
  it('fstat gives the host file’s Linux struct stat: mode, size, inode, device, links, blocks, mtime in ns', async () => {
    const { k, d } = mounted();
    const paths = ['/index.html', '/files/65537.bin', '/a/b', '/', '/inside-rel'];
    const got = await inProcess(k, async (sys) => {
      const st = sys.malloc(STAT_BYTES);
      const out: DataView[] = [];
      for (const p of paths) {
        const fd = await openPath(sys, p);
        expect(await sys.call('fstat', fd, st)).toBe(0);
        out.push(new DataView(sys.bytes(st, STAT_BYTES).slice().buffer));
      }
      return out;
    });
    for (const [i, p] of paths.entries()) {
      const host = lstatSync(join(t.root, p === '/inside-rel' ? '/index.html' : p), { bigint: true });
      const v = got[i]!;
      expect(v.getUint32(STAT_OFF_MODE, true), p).toBe(Number(host.mode));
      expect(v.getBigInt64(STAT_OFF_SIZE, true)).toBe(host.size);
      expect(v.getBigUint64(STAT_OFF_INO, true)).toBe(host.ino);
      expect(v.getBigUint64(STAT_OFF_DEV, true)).toBe(host.dev);
      expect(v.getBigUint64(STAT_OFF_NLINK, true)).toBe(host.nlink);
      expect(v.getBigInt64(STAT_OFF_BLOCKS, true)).toBe(host.blocks);
      expect(v.getBigInt64(STAT_OFF_BLKSIZE, true)).toBe(host.blksize);
      expect(v.getBigInt64(STAT_OFF_MTIME, true) * 1_000_000_000n + v.getBigInt64(STAT_OFF_MTIME + 8, true)).toBe(host.mtimeNs);
    }
    await noLeaks(k, d);
  });

  it('fstat of a pipe is a FIFO; of an epoll an anonymous inode (no type bits); distinct inode numbers', async () => {
    const { k, d } = mounted();
    await inProcess(k, async (sys) => {
      const st = sys.malloc(STAT_BYTES);
      const [r] = sys.pipe() as [number, number];
      expect(await sys.call('fstat', r, st)).toBe(0);
      expect(sys.view.getUint32(st + STAT_OFF_MODE, true) & S_IFMT).toBe(S_IFIFO);
      const ino = sys.view.getBigUint64(st + STAT_OFF_INO, true);
      const ep = sys.epoll_create1(0);
      expect(await sys.call('fstat', ep, st)).toBe(0);
      expect(sys.view.getUint32(st + STAT_OFF_MODE, true)).toBe(0o600);
      expect(sys.view.getBigUint64(st + STAT_OFF_INO, true)).not.toBe(ino);
    });
    await noLeaks(k, d);
  });

  it('lseek: SET, CUR, END, DATA, HOLE; negative results EINVAL; read follows the position', async () => {
    const { k, d } = mounted();
    const want = patternBytes(4096, 4097);
    await inProcess(k, async (sys) => {
      const fd = await openPath(sys, '/files/4096.bin');
      const buf = sys.malloc(16);
      expect(sys.call('lseek', fd, 100, SEEK_SET)).toBe(100);
      expect(sys.call('lseek', fd, 28, SEEK_CUR)).toBe(128);
      expect(await readAll(sys, fd, 16)).toEqual(Buffer.from(want.subarray(128)));
      expect(sys.call('lseek', fd, -16, SEEK_END)).toBe(4080);
      expect(await sys.read_wait(fd, buf, 16, -1)).toBe(16);
      expect(Buffer.compare(sys.bytes(buf, 16), want.subarray(4080))).toBe(0);
      expect(sys.call('lseek', fd, -1, SEEK_SET)).toBe(-EINVAL);
      expect(sys.call('lseek', fd, -5000, SEEK_END)).toBe(-EINVAL);
      expect(sys.call('lseek', fd, 0, 9)).toBe(-EINVAL);
      expect(sys.call('lseek', fd, 10, SEEK_DATA)).toBe(10);
      expect(sys.call('lseek', fd, 10, SEEK_HOLE)).toBe(4096);
      expect(sys.call('lseek', fd, 4096, SEEK_DATA)).toBe(-ENXIO);
      expect(sys.call('lseek', fd, 8192, SEEK_SET)).toBe(8192);
      expect(await sys.read_wait(fd, buf, 16, -1)).toBe(0);
    });
    await noLeaks(k, d);
  });
});

interface Dirent {
  ino: bigint;
  off: number;
  type: number;
  name: string;
}

function parseDirents(bytes: Uint8Array): Dirent[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out: Dirent[] = [];
  for (let at = 0; at < bytes.length; ) {
    const reclen = dv.getUint16(at + DIRENT64_OFF_RECLEN, true);
    expect(reclen % 8).toBe(0);
    const nameStart = at + DIRENT64_OFF_NAME;
    const nul = bytes.indexOf(0, nameStart);
    expect(nul).toBeLessThan(at + reclen);
    out.push({
      ino: dv.getBigUint64(at + DIRENT64_OFF_INO, true),
      off: Number(dv.getBigInt64(at + DIRENT64_OFF_OFF, true)),
      type: dv.getUint8(at + DIRENT64_OFF_TYPE),
      name: Buffer.from(bytes.subarray(nameStart, nul)).toString('utf8'),
    });
    at += reclen;
  }
  return out;
}

/** All entries of `path` read with `count`-byte getdents64 calls. */
async function listDir(sys: Libc, fd: number, count: number): Promise<Dirent[] | number> {
  const buf = sys.malloc(count);
  const all: Dirent[] = [];
  for (;;) {
    const n = await sys.call('getdents64', fd, buf, count);
    if (n < 0) return n;
    if (n === 0) return all;
    all.push(...parseDirents(sys.bytes(buf, n).slice()));
  }
}

describe('getdents64', () => {
  it('lists . and .. then every host entry a process can name, with the host inode and type, in any buffer size', async () => {
    const { k, d } = mounted();
    const [big, small] = await inProcess(k, async (sys) => {
      const a = await listDir(sys, await openPath(sys, '/', O_DIRECTORY), 32768);
      const b = await listDir(sys, await openPath(sys, '/'), 48);
      return [a, b];
    });
    if (typeof big === 'number' || typeof small === 'number') throw new Error(`getdents64: ${String(big)} ${String(small)}`);
    const hostNames = readdirSync(t.root).filter((n) => !n.includes('\uFFFD'));
    expect(big.map((e) => e.name).sort()).toEqual(['.', '..', ...hostNames].sort());
    expect(small).toEqual(big);
    expect(d.stats().hiddenNames).toBeGreaterThanOrEqual(4); // two names, two listings
    const byName = new Map(big.map((e) => [e.name, e]));
    expect(byName.get('.')!.ino).toBe(lstatSync(t.root, { bigint: true }).ino);
    expect(byName.get('..')!.ino).toBe(byName.get('.')!.ino); // the root is its own parent
    expect(byName.get('index.html')!.type).toBe(DT_REG);
    expect(byName.get('a')!.type).toBe(DT_DIR);
    expect(byName.get('inside-rel')!.type).toBe(DT_LNK);
    expect(byName.get('fifo')!.type).toBe(DT_FIFO);
    expect(byName.get('sock')!.type).toBe(DT_SOCK);
    for (const e of big) if (e.name !== '..') expect(e.ino, e.name).toBe(lstatSync(join(t.root, e.name), { bigint: true }).ino);
    expect(big.map((e) => e.off)).toEqual(big.map((_, i) => i + 1));
    await noLeaks(k, d);
  });

  it('.. of a subdirectory is its real parent, also when reached through a symlink', async () => {
    const { k, d } = mounted();
    const list = await inProcess(k, async (sys) => listDir(sys, await openPath(sys, '/dirlink'), 4096));
    if (typeof list === 'number') throw new Error(String(list));
    expect(list.find((e) => e.name === '..')!.ino).toBe(lstatSync(join(t.root, 'a'), { bigint: true }).ino);
    expect(list.map((e) => e.name).sort()).toEqual(['.', '..', 'c', 'escape-deep']);
    await noLeaks(k, d);
  });

  it('a buffer too small for the next record is EINVAL and loses nothing; d_off cookies resume with lseek; 0 rewinds', async () => {
    const { k, d } = mounted();
    await inProcess(k, async (sys) => {
      const fd = await openPath(sys, '/files');
      const buf = sys.malloc(4096);
      expect(await sys.call('getdents64', fd, buf, 23)).toBe(-EINVAL);
      const all = await listDir(sys, fd, 4096);
      if (typeof all === 'number') throw new Error(String(all));
      expect(all.length).toBe(SIZES.length + 2);
      expect(await sys.call('getdents64', fd, buf, 4096)).toBe(0);
      const cookie = all[4]!.off;
      expect(sys.call('lseek', fd, cookie, SEEK_SET)).toBe(cookie);
      expect(await listDir(sys, fd, 100)).toEqual(all.slice(5));
      expect(sys.call('lseek', fd, 0, SEEK_SET)).toBe(0);
      expect(await listDir(sys, fd, 64)).toEqual(all);
      expect(sys.call('lseek', fd, 0, SEEK_END)).toBe(-EINVAL);
      expect(sys.call('lseek', fd, 1000, SEEK_SET)).toBe(1000);
      expect(await sys.call('getdents64', fd, buf, 4096)).toBe(0);
    });
    await noLeaks(k, d);
  });

  it('two getdents64 calls in flight on one directory return disjoint entries', async () => {
    const { k, d } = mounted();
    await inProcess(k, async (sys) => {
      const fd = await openPath(sys, '/');
      const a = sys.malloc(256);
      const b = sys.malloc(256);
      const [na, nb] = await Promise.all([sys.call('getdents64', fd, a, 256), sys.call('getdents64', fd, b, 256)]);
      const ea = parseDirents(sys.bytes(a, na).slice()).map((e) => e.name);
      const eb = parseDirents(sys.bytes(b, nb).slice()).map((e) => e.name);
      expect(ea.length).toBeGreaterThan(0);
      expect(eb.length).toBeGreaterThan(0);
      expect(ea.filter((n) => eb.includes(n))).toEqual([]);
    });
    await noLeaks(k, d);
  });
});

describe('host descriptors live only as long as the kernel file (and its I/O)', () => {
  it('close releases the host descriptor; exit releases what was never closed', async () => {
    const { k, d } = mounted();
    await inProcess(k, async (sys) => {
      const a = await openPath(sys, '/index.html');
      await openPath(sys, '/a');
      const dir = await openPath(sys, '/files');
      await listDir(sys, dir, 64); // opens a host directory stream too
      expect(d.stats().host.fds).toBe(4);
      expect(sys.close(a)).toBe(0);
      expect(d.stats().host.fds).toBe(3);
    });
    await noLeaks(k, d);
  });

  it('a pread64 in flight when its descriptor is closed completes with the bytes; the host fd closes after it', async () => {
    const { k, d } = mounted();
    const want = patternBytes(1 << 20, (1 << 20) + 1);
    await inProcess(k, async (sys) => {
      const fd = await openPath(sys, `/files/${1 << 20}.bin`);
      const buf = sys.malloc(1 << 20);
      const pending = sys.call('pread64', fd, buf, 1 << 20, 0);
      expect(sys.close(fd)).toBe(0);
      expect(d.stats().host.fds).toBe(1);
      expect(await pending).toBe(1 << 20);
      expect(Buffer.compare(sys.bytes(buf, 1 << 20), want)).toBe(0);
    });
    await noLeaks(k, d);
  });

  it('getdents64 calls queued on a directory still list it when its descriptor is closed meanwhile', async () => {
    const { k, d } = mounted();
    await inProcess(k, async (sys) => {
      const fd = await openPath(sys, '/files');
      const a = sys.malloc(4096);
      const b = sys.malloc(4096);
      const first = sys.call('getdents64', fd, a, 200);
      const second = sys.call('getdents64', fd, b, 4096);
      expect(sys.close(fd)).toBe(0);
      // Another open may get the host descriptor number the directory had, if it were closed too early.
      const other = await openPath(sys, '/a/b');
      const names = [...parseDirents(sys.bytes(a, await first).slice()), ...parseDirents(sys.bytes(b, await second).slice())].map((e) => e.name);
      expect(names.sort()).toEqual(['.', '..', ...SIZES.map((n) => `${n}.bin`)].sort());
      sys.close(other);
    });
    await noLeaks(k, d);
  });

  it('a process killed during an open or a read leaves no host descriptor behind', async () => {
    const { k, d } = mounted();
    const p = k.spawn('victim', async (sys) => {
      const fd = await openPath(sys, '/index.html');
      void sys.call('pread64', fd, sys.malloc(4096), 4096, 0);
      void sys.read(fd, sys.malloc(16), 16);
      await openPath(sys, '/a/b/c/deep.txt');
    });
    await settle();
    for (let i = 0; i < 50 && d.stats().host.fds === 0; i++) await settle();
    expect(k.kill(p.pid, SIGKILL)).toBe(0);
    expect((await p.exited).reason).toBe('signal');
    await noLeaks(k, d);
  });
});
