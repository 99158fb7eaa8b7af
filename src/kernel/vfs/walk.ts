/**
 * Path resolution inside the docroot — the containment property lives here.
 *
 * A process names files by paths in its own name space, whose root `/` is the docroot. The walk
 * resolves one component at a time against the host (`lstat` each), keeping `cur`: the real,
 * symlink-free components below the docroot of the directory reached so far. So:
 * - `..` goes to the real parent (what Linux does), and at the root of the caller's path it stays
 *   at the root (Linux's `/..`);
 * - a symlink is followed only if its target stays inside: a relative target is walked from the
 *   link's directory and may not climb above the docroot even for a moment; an absolute target
 *   must spell the docroot's real path followed by the rest (then walked below the root). Any
 *   other link is an escape: EACCES. At most 40 links per walk (Linux MAXSYMLINKS), else ELOOP;
 * - a directory is searched only if "others" may search it (S_IXOTH): the mount serves what the
 *   host would let an unprivileged user read, whoever the caller is and whatever the daemon's
 *   own rights (docs/vfs.md, "Access");
 * - names longer than NAME_MAX bytes are ENAMETOOLONG; names holding U+FFFD are ENOENT (the
 *   kernel's string copy-in turns bytes that are not UTF-8 into U+FFFD, so such a name could
 *   alias another; host names that are not UTF-8 are hidden from listings for the same reason).
 * The result is a host path with no symlink, `.` or `..` in it below the docroot's real path;
 * the caller opens it without following links and then checks, through /proc, that what it
 * opened really is that path (a concurrent rename on the host is caught there, see `open`).
 */
import type { BigIntStats } from 'node:fs';
import { EACCES, EAGAIN, EINVAL, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR } from '../abi/errno.js';
import { NAME_MAX, S_IFDIR, S_IFLNK, S_IFMT, S_IXOTH } from '../abi/layout.js';
import type { HostFs } from './host.js';

/** Linux MAXSYMLINKS: symlinks one resolution may follow. */
export const MAX_SYMLINKS = 40;

/** The mounted directory: its canonical host path (realpath) and that path's components. */
export interface MountRoot {
  readonly real: string;
  readonly parts: readonly string[];
}

/** A resolved path: the host path to open, its `lstat`, and its components below the root. */
export interface Resolved {
  readonly hostPath: string;
  readonly st: BigIntStats;
  readonly rel: readonly string[];
}

/** Why a walk failed: a positive errno; `missingFinal` when only the last component is absent (O_CREAT's case). */
export interface WalkFailure {
  readonly errno: number;
  readonly missingFinal: boolean;
}

/** What a walk met on the way, for the mount's counters. */
export interface WalkCounters {
  symlinksFollowed: number;
  escapesRefused: number;
  /** Resolutions refused because the host changed the tree under them (EAGAIN). */
  races: number;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** `root`'s host path joined with `cur` and, optionally, one more name. */
export function hostPathOf(root: MountRoot, cur: readonly string[], name?: string): string {
  const rest = name === undefined ? cur.join('/') : cur.length === 0 ? name : `${cur.join('/')}/${name}`;
  if (rest === '') return root.real;
  return root.real === '/' ? `/${rest}` : `${root.real}/${rest}`;
}

/**
 * Components of `path` onto the stack `todo` (the next to resolve on top), dropping empty ones;
 * a trailing `/` becomes a final `.`, so the last object must be a directory (Linux).
 */
function pushComponents(todo: string[], path: string): void {
  const parts = path.split('/');
  if (path.endsWith('/') && parts.some((p) => p !== '')) todo.push('.');
  // Last first, so that pop() yields them in order.
  for (let i = parts.length - 1; i >= 0; i--) if (parts[i] !== '') todo.push(parts[i]!);
}

/**
 * Resolve `path` (absolute, or relative to `/`: every process's working directory is the root).
 * `followFinal`: follow a symlink in the last component (false for O_NOFOLLOW → ELOOP there).
 */
export async function walk(root: MountRoot, host: HostFs, path: string, followFinal: boolean, counters: WalkCounters): Promise<Resolved | WalkFailure> {
  if (path === '') return fail(ENOENT);
  const todo: string[] = [];
  pushComponents(todo, path);
  // Entries at the bottom of `todo` come from the caller's path; link targets are pushed above them.
  let fromPath = todo.length;
  const cur: string[] = [];
  /** The lstat of what `cur` names; null when it must be looked up (after `..`, or at the root). */
  let st: BigIntStats | null = null;
  let links = 0;
  while (todo.length > 0) {
    const own = todo.length <= fromPath;
    if (own) fromPath--;
    const c = todo.pop()!;
    const last = todo.length === 0;
    if (c === '.') continue;
    if (c === '..') {
      if (cur.length > 0) cur.pop();
      else if (!own) return escape(counters);
      st = null;
      continue;
    }
    if (Buffer.byteLength(c, 'utf8') > NAME_MAX) return fail(ENAMETOOLONG);
    if (c.includes('\uFFFD')) return fail(ENOENT, last);
    const hp = hostPathOf(root, cur, c);
    const s = await host.lstat(hp);
    if (typeof s === 'number') return fail(-s, last && s === -ENOENT);
    const type = Number(s.mode) & S_IFMT;
    if (type === S_IFLNK) {
      if (last && !followFinal) return fail(ELOOP);
      if (++links > MAX_SYMLINKS) return fail(ELOOP);
      const raw = await host.readlink(hp);
      if (raw === -EINVAL) {
        // No longer a symlink: the host replaced it since the lstat (openat2 reports EAGAIN too).
        counters.races++;
        return fail(EAGAIN);
      }
      if (typeof raw === 'number') return fail(-raw);
      const target = decodeName(raw);
      // An empty target, or one that is not UTF-8 (it could not be named back), names nothing.
      if (target === null || target === '' || target.includes('\uFFFD')) return fail(ENOENT, last);
      counters.symlinksFollowed++;
      if (target.startsWith('/')) {
        const below = beneath(root, target);
        if (below === null) return escape(counters);
        cur.length = 0;
        st = null;
        pushComponents(todo, below === '' ? '.' : below);
      } else {
        pushComponents(todo, target);
      }
      continue;
    }
    if (!last) {
      if (type !== S_IFDIR) return fail(ENOTDIR);
      if ((Number(s.mode) & S_IXOTH) === 0) return fail(EACCES);
    }
    cur.push(c);
    st = s;
  }
  const hostPath = hostPathOf(root, cur);
  if (st === null) {
    const s = await host.lstat(hostPath);
    if (typeof s === 'number') return fail(-s);
    st = s;
  }
  return { hostPath, st, rel: cur };
}

/** Bytes as a name, or null when they are not UTF-8. */
export function decodeName(bytes: Uint8Array): string | null {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * The part of an absolute link target below the root ('' for the root itself), or null when the
 * target does not start with the root's real components. Empty and `.` components are skipped;
 * `..` inside the root's part is not interpreted (it is not a real path then) and refuses.
 */
function beneath(root: MountRoot, target: string): string | null {
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  for (let i = 0; i < root.parts.length; i++) if (parts[i] !== root.parts[i]) return null;
  const rest = parts.slice(root.parts.length).join('/');
  return target.endsWith('/') && rest !== '' ? `${rest}/` : rest;
}

function fail(errno: number, missingFinal = false): WalkFailure {
  return { errno, missingFinal };
}

function escape(counters: WalkCounters): WalkFailure {
  counters.escapesRefused++;
  return fail(EACCES);
}

/** Whether `r` is a failure. */
export function isWalkFailure(r: Resolved | WalkFailure): r is WalkFailure {
  return 'errno' in r;
}
