import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { documentKey, encodePath, resolveTarget, targetForm } from './target.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
const fcOpts = { seed, numRuns: 500 };
console.log(`target.test fast-check seed=${seed} (SEED=${seed} reproduces)`);

describe('request-target forms (RFC 9112 §3.2)', () => {
  it.each([
    ['/index.html', 'origin'],
    ['http://198.18.0.2/x', 'absolute'],
    ['HTTPS://h/x', 'absolute'],
    ['*', 'asterisk'],
    ['198.18.0.2:80', 'other'],
    ['index.html', 'other'],
  ] as const)('%s is %s-form', (t, form) => {
    expect(targetForm(t)).toBe(form);
  });
});

describe('path resolution', () => {
  it.each([
    // [target, path, directory, query]
    ['/', '/', true, ''],
    ['/index.html', '/index.html', false, ''],
    ['/a/b/', '/a/b', true, ''],
    ['/a?x=1&y=/../..', '/a', false, 'x=1&y=/../..'],
    ['/a/./b', '/a/b', false, ''],
    ['/a//b', '/a/b', false, ''],
    ['/a/b/..', '/a', true, ''],
    ['/a/b/../c', '/a/c', false, ''],
    ['/a/.', '/a', true, ''],
    ['/%7Euser/f%20g.txt', '/~user/f g.txt', false, ''],
    ['/caf%C3%A9', '/café', false, ''],
  ])('RFC 3986 §5.2.4 + §2.1: %s', (target, path, directory, query) => {
    expect(resolveTarget(target)).toEqual({ path, directory, query });
  });

  it('absolute-form (RFC 9112 §3.2.2): authority ignored, path used; empty path is /', () => {
    expect(resolveTarget('http://198.18.0.2/sub/x.css?v=2')).toEqual({ path: '/sub/x.css', directory: false, query: 'v=2' });
    expect(resolveTarget('http://198.18.0.2')).toEqual({ path: '/', directory: true, query: '' });
    expect(resolveTarget('http://198.18.0.2?q')).toEqual({ path: '/', directory: true, query: 'q' });
  });

  it.each([
    ['ftp://h/x', 'bad-target'],
    ['http:///x', 'bad-target'],
    ['http://user@h/x', 'bad-target'],
    ['relative', 'bad-target'],
  ])('refuses %s (%s)', (target, reason) => {
    expect(resolveTarget(target)).toBe(reason);
  });
});

describe('path traversal table: nothing climbs above the docroot', () => {
  it.each([
    ['/..', 'path-escapes-root'],
    ['/../etc/passwd', 'path-escapes-root'],
    ['/a/../../etc/passwd', 'path-escapes-root'],
    ['/%2e%2e/etc/passwd', 'path-escapes-root'],
    ['/%2E%2E/etc/passwd', 'path-escapes-root'],
    ['/.%2e/etc/passwd', 'path-escapes-root'],
    ['/a/..%2f..%2fetc/passwd', 'path-escapes-root'],
    ['/%2e%2e%2fetc%2fpasswd', 'path-escapes-root'],
    ['/a/%2e%2e/%2e%2e/etc', 'path-escapes-root'],
    ['http://h/../x', 'path-escapes-root'],
    ['/..%5c..%5cetc', 'backslash-in-path'],
    ['/a%5c..%5c..%5cx', 'backslash-in-path'],
    ['/x%00.html', 'nul-in-path'],
    ['/%00', 'nul-in-path'],
    ['/%', 'bad-percent-encoding'],
    ['/%2', 'bad-percent-encoding'],
    ['/%zz', 'bad-percent-encoding'],
    ['/%c3%28', 'bad-utf8-path'],
    ['/%ff', 'bad-utf8-path'],
    ['/%c0%ae%c0%ae/etc', 'bad-utf8-path'], // overlong "." — not UTF-8, refused
  ])('%s → %s', (target, reason) => {
    expect(resolveTarget(target)).toBe(reason);
  });

  it.each([
    ['/a/..', '/', true],
    ['/a/b/../../x', '/x', false],
    ['/%252e%252e/x', '/%2e%2e/x', false], // decoded once only: a literal name
    ['/...', '/...', false],
    ['/..a', '/..a', false],
  ])('%s stays inside: %s', (target, path, directory) => {
    expect(resolveTarget(target)).toEqual({ path, directory, query: '' });
  });

  it('property: any target resolves to a clean absolute path or a refusal, never throws', () => {
    const seg = fc.oneof(
      fc.constantFrom('..', '.', '', '%2e%2e', '%2E.', '%2f', '%5c', '%00', 'a', 'index.html', '%c3%a9', '%', '%g0'),
      fc.stringMatching(/^[A-Za-z0-9._~%-]{0,6}$/),
    );
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 8 }), fc.boolean(), (segs, abs) => {
        const target = (abs ? 'http://h' : '') + '/' + segs.join('/');
        const r = resolveTarget(target);
        if (typeof r === 'string') return;
        expect(r.path.startsWith('/')).toBe(true);
        const parts = r.path.split('/').slice(1);
        if (r.path !== '/') for (const p of parts) expect(['', '.', '..']).not.toContain(p);
        expect(r.path.includes('\0')).toBe(false);
        expect(r.path.includes('\\')).toBe(false);
      }),
      fcOpts,
    );
  });
});

describe('document keys and Location encoding', () => {
  it('directories map to index.html', () => {
    expect(documentKey({ path: '/', directory: true, query: '' })).toBe('/index.html');
    expect(documentKey({ path: '/sub', directory: true, query: '' })).toBe('/sub/index.html');
    expect(documentKey({ path: '/a.css', directory: false, query: '' })).toBe('/a.css');
  });

  it('Location paths are re-encoded so "//host" or CR/LF can never appear', () => {
    expect(encodePath('/sub dir/café')).toBe('/sub%20dir/caf%C3%A9');
    expect(encodePath('/a\r\nSet-Cookie: x')).toBe('/a%0D%0ASet-Cookie%3A%20x');
    // "//evil.example" normalizes to "/evil.example" before encoding, so no scheme-relative URL.
    const r = resolveTarget('//evil.example');
    expect(typeof r === 'object' && encodePath(r.path)).toBe('/evil.example');
  });
});
