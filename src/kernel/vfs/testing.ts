/**
 * Helpers for tests of the docroot (used by `*.test.ts` files; not part of the daemon): a hostile
 * temp docroot planted with every kind of trap, and small process-side wrappers over the calls.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EAGAIN } from '../abi/errno.js';
import type { Libc } from '../abi/libc.js';
import type { Kernel } from '../kernel.js';

/** Deterministic bytes (xorshift32), so sizes and contents are reproducible. */
export function patternBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** What the outside file holds: a reader that ever sees it has escaped. */
export const SECRET = 'SECRET-OUTSIDE-THE-DOCROOT';

/** Sizes of the `files/` test documents (bytes): around the read-ahead window and the page size. */
export const SIZES = [0, 1, 4095, 4096, 65535, 65536, 65537, 200_000, 1 << 20] as const;

export interface TempDocroot {
  /** The temp folder holding the docroot and the things outside it. */
  readonly base: string;
  /** The docroot (real path). */
  readonly root: string;
  /** A directory next to the docroot holding `secret.txt`. */
  readonly outside: string;
  /** Stop the socket listener and remove everything. */
  cleanup(): Promise<void>;
}

/**
 * A docroot with: index.html; files/<size>.bin for `SIZES`; nested a/b/c/deep.txt and a/marker.txt;
 * sub/index.html; an unreadable file (0600) and an unsearchable directory (0700); symlinks that
 * stay inside (relative, absolute, to a directory, a chain of 40) and ones that escape (relative
 * `..`, absolute outside, absolute through `..`, to a directory outside), a loop, a dangling link,
 * a 41-link chain, a link whose target is not UTF-8; a FIFO, a Unix socket and (as root) a
 * character device; a name that is not UTF-8 and one holding U+FFFD. Outside it: secret.txt.
 */
export async function makeTempDocroot(): Promise<TempDocroot> {
  const base = realpathSync(mkdtempSync(join(tmpdir(), `exo-vfs-${process.pid}-`)));
  const root = join(base, 'www');
  const outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  writeFileSync(join(base, 'secret.txt'), SECRET);
  mkdirSync(join(root, 'files'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!DOCTYPE html><title>t</title><h1>index</h1>\n');
  for (const n of SIZES) writeFileSync(join(root, 'files', `${n}.bin`), patternBytes(n, n + 1));
  mkdirSync(join(root, 'a', 'b', 'c'), { recursive: true });
  writeFileSync(join(root, 'a', 'b', 'c', 'deep.txt'), 'deep\n');
  writeFileSync(join(root, 'a', 'marker.txt'), 'marker in a\n');
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub', 'index.html'), '<p>sub</p>\n');
  writeFileSync(join(root, 'unreadable.txt'), 'no');
  chmodSync(join(root, 'unreadable.txt'), 0o600);
  mkdirSync(join(root, 'private'));
  writeFileSync(join(root, 'private', 'inner.txt'), 'inner');
  chmodSync(join(root, 'private'), 0o700);

  symlinkSync('index.html', join(root, 'inside-rel'));
  symlinkSync(join(root, 'a', 'b'), join(root, 'inside-abs'));
  symlinkSync('a/b', join(root, 'dirlink'));
  symlinkSync('../secret.txt', join(root, 'escape-rel'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'escape-abs'));
  symlinkSync(`${root}/../secret.txt`, join(root, 'escape-abs-dotdot'));
  symlinkSync(outside, join(root, 'escape-dir'));
  symlinkSync('../../../secret.txt', join(root, 'a', 'b', 'escape-deep'));
  symlinkSync('sub/../../secret.txt', join(root, 'escape-through'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
  symlinkSync('does-not-exist', join(root, 'dangling'));
  symlinkSync(Buffer.from([0x66, 0xff, 0x66]), join(root, 'bad-target'));
  // chainN → chain(N-1) → … → chain0 → index.html: opening chainN follows N + 1 links.
  symlinkSync('index.html', join(root, 'chain0'));
  for (let i = 1; i <= 40; i++) symlinkSync(`chain${i - 1}`, join(root, `chain${i}`));

  execFileSync('mkfifo', [join(root, 'fifo')]);
  if (process.getuid?.() === 0) execFileSync('mknod', [join(root, 'null-dev'), 'c', '1', '3']);
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));

  writeFileSync(Buffer.from(`${root}/bad-\xff-name`, 'latin1'), 'not utf-8');
  writeFileSync(join(root, 'repl-\uFFFD-name'), 'replacement char');

  return {
    base,
    root,
    outside,
    cleanup: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      chmodSync(join(root, 'private'), 0o755);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** `open(path, flags)` from a process: the fd or -errno. */
export async function openPath(sys: Libc, path: string, flags = 0): Promise<number> {
  const p = sys.cstring(path);
  try {
    return await sys.call('open', p, flags, 0);
  } finally {
    sys.free(p);
  }
}

/** The whole file behind `fd` through `pread64` in `chunk`-byte calls, or -errno. */
export async function preadAll(sys: Libc, fd: number, chunk = 1 << 20): Promise<Uint8Array | number> {
  const parts: Uint8Array[] = [];
  const buf = sys.malloc(chunk);
  try {
    for (let off = 0; ; ) {
      const n = await sys.call('pread64', fd, buf, chunk, off);
      if (n < 0) return n;
      if (n === 0) break;
      parts.push(sys.bytes(buf, n).slice());
      off += n;
    }
  } finally {
    sys.free(buf);
  }
  return Buffer.concat(parts);
}

/** The rest of the file behind `fd` through plain `read` (waiting with `read_wait` on EAGAIN), or -errno. */
export async function readAll(sys: Libc, fd: number, chunk = 4096): Promise<Uint8Array | number> {
  const parts: Uint8Array[] = [];
  const buf = sys.malloc(chunk);
  try {
    for (;;) {
      let n = sys.read(fd, buf, chunk);
      if (n === -EAGAIN) n = await sys.read_wait(fd, buf, chunk, -1);
      if (n < 0) return n;
      if (n === 0) break;
      parts.push(sys.bytes(buf, n).slice());
    }
  } finally {
    sys.free(buf);
  }
  return Buffer.concat(parts);
}

/** Run `body` in a process of `k` with `memoryBytes` and return what it returns; the process must end normally. */
export async function inProcess<T>(k: Kernel, body: (sys: Libc) => Promise<T>, memoryBytes = 8 << 20): Promise<T> {
  let out: T | undefined;
  const p = k.spawn('t', async (sys) => {
    out = await body(sys);
  }, { memoryBytes });
  const st = await p.exited;
  if (st.reason !== 'return') throw new Error(`process ended by ${st.reason}: ${st.error ?? ''}`);
  return out as T;
}
