/**
 * From a request-target to the document path to look up: the target's form, percent-decoding,
 * dot-segment removal that may never climb above the docroot, and refusal of NUL, backslash and
 * bytes that are not UTF-8. The query is split off and not used for lookup.
 *
 * Read first: RFC 9112 §3.2 (request-target forms), §3.2.2 (absolute-form), §3.3 (target URI);
 * RFC 3986 §2.1 (percent-encoding), §5.2.4 (remove_dot_segments); RFC 9110 §4.2.1 (http URI).
 */
import { hexValue } from './ascii.js';

/** Why a target was refused (each is a 400 and a `parseErrors` counter). */
export type TargetError = 'bad-target' | 'bad-percent-encoding' | 'nul-in-path' | 'backslash-in-path' | 'bad-utf8-path' | 'path-escapes-root';

/** A target that names a document path. */
export interface ResolvedTarget {
  /** Normalized absolute path: starts with `/`, no empty, `.` or `..` segments, no trailing `/` except the root. */
  readonly path: string;
  /** The target ended with `/` (or a `.`/`..` segment): it names a directory. */
  readonly directory: boolean;
  /** The query without `?`, or '' (RFC 3986 §3.4); ignored for lookup. */
  readonly query: string;
}

/** The forms of RFC 9112 §3.2; `other` covers authority-form and anything unparseable. */
export type TargetForm = 'origin' | 'absolute' | 'asterisk' | 'other';

/** Form of a raw request-target (bytes already checked by the request-line parser). */
export function targetForm(target: string): TargetForm {
  if (target.charCodeAt(0) === 0x2f) return 'origin';
  if (target === '*') return 'asterisk';
  return schemeEnd(target) > 0 ? 'absolute' : 'other';
}

/** Index of "://" after a syntactically valid scheme (RFC 3986 §3.1), or -1. */
function schemeEnd(target: string): number {
  const colon = target.indexOf('://');
  if (colon <= 0) return -1;
  if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(target.slice(0, colon))) return -1;
  return colon;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Resolves an origin-form or absolute-form target (RFC 9112 §3.2.1, §3.2.2) to a document path.
 * Absolute-form is accepted for `http` and `https` only; its authority is not used (one docroot,
 * no virtual hosts), but userinfo is refused (RFC 9110 §4.2.4).
 */
export function resolveTarget(target: string): ResolvedTarget | TargetError {
  let pathStart = 0;
  if (target.charCodeAt(0) !== 0x2f) {
    const end = schemeEnd(target);
    if (end < 0) return 'bad-target';
    const scheme = target.slice(0, end).toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') return 'bad-target';
    const authStart = end + 3;
    let authEnd = authStart;
    while (authEnd < target.length && target[authEnd] !== '/' && target[authEnd] !== '?') authEnd++;
    const authority = target.slice(authStart, authEnd);
    if (authority.length === 0 || authority.includes('@')) return 'bad-target';
    if (authEnd === target.length || target[authEnd] === '?') return resolvePath('/', target.slice(authEnd));
    pathStart = authEnd;
  }
  const q = target.indexOf('?', pathStart);
  return q < 0 ? resolvePath(target.slice(pathStart), '') : resolvePath(target.slice(pathStart, q), target.slice(q));
}

/** `rawPath` starts with "/"; `rawQuery` is '' or starts with "?". */
function resolvePath(rawPath: string, rawQuery: string): ResolvedTarget | TargetError {
  const query = rawQuery.slice(1);
  // Fast path, the common case: nothing to decode, no dot-segments, no empty segments.
  if (!rawPath.includes('%') && !rawPath.includes('/.') && !rawPath.includes('//')) {
    const directory = rawPath.endsWith('/');
    return { path: directory && rawPath.length > 1 ? rawPath.slice(0, -1) : rawPath, directory, query };
  }
  // RFC 3986 §2.1: decode every %XX once (never twice: "%252e" stays "%2e", a name).
  const bytes = new Uint8Array(rawPath.length);
  let n = 0;
  for (let i = 0; i < rawPath.length; i++) {
    let b = rawPath.charCodeAt(i);
    if (b === 0x25) {
      const hi = hexValue(rawPath.charCodeAt(i + 1));
      const lo = hexValue(rawPath.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return 'bad-percent-encoding';
      b = (hi << 4) | lo;
      i += 2;
    }
    if (b === 0) return 'nul-in-path';
    if (b === 0x5c) return 'backslash-in-path';
    bytes[n++] = b;
  }
  let decoded: string;
  try {
    decoded = decoder.decode(bytes.subarray(0, n));
  } catch {
    return 'bad-utf8-path';
  }
  // RFC 3986 §5.2.4 on the decoded path, with one difference: a ".." at the root is an
  // attack, not something to clamp silently, so it is refused (a 400, like nginx).
  // Decoding first means "%2e%2e" and "..%2f" are dot-segments too.
  const segments: string[] = [];
  const parts = decoded.split('/');
  let directory = false;
  for (let i = 1; i < parts.length; i++) {
    const seg = parts[i]!;
    const last = i === parts.length - 1;
    if (seg === '' || seg === '.') {
      if (last) directory = true;
      continue;
    }
    if (seg === '..') {
      if (segments.pop() === undefined) return 'path-escapes-root';
      if (last) directory = true;
      continue;
    }
    segments.push(seg);
  }
  if (segments.length === 0) directory = true;
  return { path: '/' + segments.join('/'), directory, query };
}

/**
 * The path percent-encoded for a `Location` field: each segment through encodeURIComponent, so
 * nothing in it can be read as a scheme, an authority ("//host") or a header break.
 */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/** The cache key of the document a resolved target names: directories map to their index.html. */
export function documentKey(t: ResolvedTarget): string {
  if (!t.directory) return t.path;
  return t.path === '/' ? '/index.html' : `${t.path}/index.html`;
}
