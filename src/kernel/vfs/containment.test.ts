/**
 * Containment, the docroot's security property: no path — `..` runs, `//` and `.`, symlinks
 * planted to escape (relative, absolute, through `..`, to directories, chains, loops), NUL bytes,
 * over-long names, bytes that are not UTF-8 — and no host-side rename race reaches anything
 * outside the docroot. A table of hostile paths with their exact answers, a property over random
 * paths built from hostile pieces (whatever opens must be an inode inside the docroot), and a race
 * against a directory flipped to an escaping symlink on every turn of the event loop.
 */
import { lstatSync, mkdirSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EACCES, EAGAIN, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR } from '../abi/errno.js';
import { O_DIRECTORY, STAT_BYTES, STAT_OFF_DEV, STAT_OFF_INO } from '../abi/layout.js';
import type { Libc } from '../abi/libc.js';
import { Kernel } from '../kernel.js';
import { Docroot } from './docroot.js';
import { MAX_SYMLINKS } from './walk.js';
import { SECRET, inProcess, makeTempDocroot, openPath, preadAll, type TempDocroot } from './testing.js';

const SEED = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
console.log(`containment.test fast-check seed=${SEED} (SEED=${SEED} reproduces)`);

let t: TempDocroot;
beforeAll(async () => {
  t = await makeTempDocroot();
});
afterAll(async () => {
  await t.cleanup();
});

/** Every inode reachable below the docroot without following a symlink (as "dev:ino"). */
function insideInodes(root: string): Set<string> {
  const out = new Set<string>();
  // Buffer paths: some names are not UTF-8.
  const visit = (p: Buffer): void => {
    const st = lstatSync(p, { bigint: true });
    if (st.isSymbolicLink()) return;
    out.add(`${st.dev}:${st.ino}`);
    if (st.isDirectory()) for (const n of readdirSync(p, { encoding: 'buffer' })) visit(Buffer.concat([p, Buffer.from('/'), n]));
  };
  visit(Buffer.from(root));
  return out;
}

/** open() with a path given as raw bytes (NUL added), from a process. */
async function openBytes(sys: Libc, bytes: Uint8Array, flags = 0): Promise<number> {
  const p = sys.malloc(bytes.length + 1);
  sys.mem.set(bytes, p);
  sys.mem[p + bytes.length] = 0;
  try {
    return await sys.call('open', p, flags, 0);
  } finally {
    sys.free(p);
  }
}

/** What a process got for one path: an errno, or the inode and (for files) the text it read. */
type Outcome = number | { devIno: string; text: string | null };

async function probe(sys: Libc, path: string | Uint8Array): Promise<Outcome> {
  const fd = typeof path === 'string' ? await openPath(sys, path) : await openBytes(sys, path);
  if (fd < 0) return fd;
  const st = sys.malloc(STAT_BYTES);
  expect(await sys.call('fstat', fd, st)).toBe(0);
  const devIno = `${sys.view.getBigUint64(st + STAT_OFF_DEV, true)}:${sys.view.getBigUint64(st + STAT_OFF_INO, true)}`;
  sys.free(st);
  const data = await preadAll(sys, fd);
  sys.close(fd);
  return { devIno, text: typeof data === 'number' ? null : Buffer.from(data).toString('latin1') };
}

const INDEX = '<!DOCTYPE html><title>t</title><h1>index</h1>\n';

describe('hostile paths (exact answers)', () => {
  const latin1 = (s: string) => Buffer.from(s, 'latin1');
  const cases: [string, string | Uint8Array, number | string][] = [
    ['.. above the root stays at the root', '/../secret.txt', -ENOENT],
    ['many ..', `${'/..'.repeat(200)}/secret.txt`, -ENOENT],
    ['relative ..', '../secret.txt', -ENOENT],
    ['.. after a directory', '/a/../../secret.txt', -ENOENT],
    ['.. deep', '/a/b/c/../../../../secret.txt', -ENOENT],
    ['// and .', '//a/./b///c/./deep.txt', 'deep\n'],
    ['.. back inside', '/a/b/../../index.html', INDEX],
    ['relative symlink inside', '/inside-rel', INDEX],
    ['absolute symlink inside, then below it', '/inside-abs/c/deep.txt', 'deep\n'],
    ['.. after a directory symlink is the real parent', '/dirlink/../marker.txt', 'marker in a\n'],
    ['relative symlink escaping with ..', '/escape-rel', -EACCES],
    ['absolute symlink outside', '/escape-abs', -EACCES],
    ['absolute symlink through the root’s ..', '/escape-abs-dotdot', -EACCES],
    ['symlink to a directory outside', '/escape-dir/secret.txt', -EACCES],
    ['deep relative symlink escaping', '/a/b/escape-deep', -EACCES],
    ['the same, reached through a directory symlink', '/dirlink/escape-deep', -EACCES],
    ['symlink climbing through a subdirectory', '/escape-through', -EACCES],
    ['symlink loop', '/loop1', -ELOOP],
    [`${MAX_SYMLINKS} links are followed`, `/chain${MAX_SYMLINKS - 1}`, INDEX],
    [`${MAX_SYMLINKS + 1} are not`, `/chain${MAX_SYMLINKS}`, -ELOOP],
    ['dangling symlink', '/dangling', -ENOENT],
    ['symlink target that is not UTF-8', '/bad-target', -ENOENT],
    ['NUL ends the path', latin1('/index.html\0/../../secret.txt'), INDEX],
    ['a name with bytes that are not UTF-8 (exists on the host)', latin1('/bad-\xff-name'), -ENOENT],
    ['a name holding U+FFFD (exists on the host)', '/repl-\uFFFD-name', -ENOENT],
    ['a component of 256 bytes', `/${'é'.repeat(128)}`, -ENAMETOOLONG],
    ['a component of 255 bytes', `/${'é'.repeat(127)}x`, -ENOENT],
    ['a path of 4096 bytes without its NUL', `/${'a/'.repeat(2047)}b`, -ENAMETOOLONG],
    ['a file used as a directory', '/index.html/../secret.txt', -ENOTDIR],
    ['an unsearchable directory', '/private/inner.txt', -EACCES],
  ];
  it.each(cases)('%s', async (_what, path, want) => {
    const k = new Kernel();
    const d = Docroot.mount(k, { dir: t.root });
    const got = await inProcess(k, (sys) => probe(sys, path));
    if (typeof want === 'number') expect(got).toBe(want);
    else expect(typeof got === 'number' ? got : got.text).toBe(want);
    await d.idle();
    expect(d.leaks()).toEqual([]);
    k.assertNoLeaks();
  });

  it('a character device planted in the docroot is refused without being opened (nodev)', async (ctx) => {
    if (process.getuid?.() !== 0) {
      if (process.env['CI'] === 'true') throw new Error('CI runs as root: the device test must run');
      ctx.skip();
    }
    const k = new Kernel();
    const d = Docroot.mount(k, { dir: t.root });
    expect(await inProcess(k, (sys) => openPath(sys, '/null-dev'))).toBe(-EACCES);
    await d.idle();
    expect(d.stats().host.fds).toBe(0);
  });

  it('escapes are counted', async () => {
    const k = new Kernel();
    const d = Docroot.mount(k, { dir: t.root });
    await inProcess(k, async (sys) => {
      for (const p of ['/escape-rel', '/escape-abs', '/escape-dir/secret.txt']) expect(await openPath(sys, p)).toBe(-EACCES);
    });
    expect(d.stats().escapesRefused).toBe(3);
  });
});

describe('random hostile paths never leave the docroot (property)', () => {
  it('whatever opens is an inode below the docroot, and no read ever returns the outside secret', async () => {
    const inside = insideInodes(t.root);
    const pieces = [
      '..', '.', '', 'a', 'b', 'c', 'index.html', 'files', 'marker.txt', 'deep.txt', 'secret.txt', 'outside', 'www',
      'inside-rel', 'inside-abs', 'dirlink', 'escape-rel', 'escape-abs', 'escape-abs-dotdot', 'escape-dir', 'escape-deep',
      'escape-through', 'loop1', 'chain39', 'dangling', 'bad-target', 'private', 'sub', 'fifo', 'sock', '\uFFFD', 'x'.repeat(300),
    ];
    const segment = fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 4 }));
    const pathArb = fc.tuple(fc.boolean(), fc.array(segment, { minLength: 0, maxLength: 12 }), fc.boolean()).map(([abs, segs, trailing]) => `${abs ? '/' : ''}${segs.join('/')}${trailing ? '/' : ''}`);
    const k = new Kernel();
    const d = Docroot.mount(k, { dir: t.root });
    await inProcess(k, async (sys) => {
      await fc.assert(
        fc.asyncProperty(pathArb, async (path) => {
          const got = await probe(sys, path);
          if (typeof got === 'number') return;
          expect(inside.has(got.devIno), `${path} opened ${got.devIno}`).toBe(true);
          expect(got.text ?? '').not.toContain(SECRET);
        }),
        { seed: SEED, numRuns: 400 },
      );
    });
    await d.idle();
    expect(d.leaks()).toEqual([]);
    k.assertNoLeaks();
  });
});

describe('host-side rename races', () => {
  it('a directory flipped to an escaping symlink on random event-loop turns never lets an open out (EAGAIN when caught)', async () => {
    const race = join(t.root, 'race');
    const parkedDir = join(t.root, 'race-dir');
    const parkedLink = join(t.root, 'race-link');
    mkdirSync(parkedDir);
    writeFileSync(join(parkedDir, 'f'), 'inside');
    writeFileSync(join(t.outside, 'f'), SECRET);
    symlinkSync(t.outside, parkedLink);
    renameSync(parkedDir, race);
    let linkIn = false;
    let flips = 0;
    let stop = false;
    let rng = SEED | 1;
    const flip = (): void => {
      if (stop) return;
      setImmediate(flip);
      // On about a third of the turns, so that consecutive steps of a walk see either state.
      rng ^= rng << 13;
      rng ^= rng >>> 17;
      rng ^= rng << 5;
      if ((rng >>> 0) % 3 !== 0) return;
      // Two renames: between them the name is briefly absent (ENOENT is a fine answer too).
      if (linkIn) {
        renameSync(race, parkedLink);
        renameSync(parkedDir, race);
      } else {
        renameSync(race, parkedDir);
        renameSync(parkedLink, race);
      }
      linkIn = !linkIn;
      flips++;
    };
    const k = new Kernel();
    const d = Docroot.mount(k, { dir: t.root });
    setImmediate(flip);
    const outcomes = await inProcess(k, async (sys) => {
      const seen: Outcome[] = [];
      for (let i = 0; i < 400; i++) seen.push(await probe(sys, '/race/f'));
      return seen;
    });
    stop = true;
    if (linkIn) {
      renameSync(race, parkedLink);
      renameSync(parkedDir, race);
    }
    const texts = outcomes.filter((o): o is { devIno: string; text: string } => typeof o !== 'number').map((o) => o.text);
    const errnos = new Set(outcomes.filter((o): o is number => typeof o === 'number'));
    console.log(`race: ${flips} flips, ${texts.length} opens served, errnos ${[...errnos].join(' ')}, ${d.stats().races} races caught`);
    expect(texts.every((s) => s === 'inside')).toBe(true);
    expect([...errnos].every((e) => [-EACCES, -ENOENT, -EAGAIN].includes(e))).toBe(true);
    expect(flips).toBeGreaterThan(50);
    await d.idle();
    expect(d.leaks()).toEqual([]);
  });
});

describe('directories opened through hostile paths list only the docroot', () => {
  it('.. above the root lists the root itself', async () => {
    const k = new Kernel();
    const d = Docroot.mount(k, { dir: t.root });
    const st = await inProcess(k, async (sys) => probe(sys, '/../..'));
    const rootSt = lstatSync(t.root, { bigint: true });
    expect(typeof st === 'number' ? st : st.devIno).toBe(`${rootSt.dev}:${rootSt.ino}`);
    expect(await inProcess(k, (sys) => openPath(sys, '/escape-dir', O_DIRECTORY))).toBe(-EACCES);
    await d.idle();
  });
});
