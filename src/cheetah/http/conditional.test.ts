import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { etagListMatches, evaluatePreconditions, ifRangeHolds, makeEtag, type ConditionalFields } from './conditional.js';
import { formatHttpDate } from './http-date.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
const fcOpts = { seed, numRuns: 300 };
console.log(`conditional.test fast-check seed=${seed} (SEED=${seed} reproduces)`);

const LM = 1_600_000_000;
const NOW = LM + 3600;
const V = { etag: makeEtag(1234, LM * 1000 + 5), lastModifiedSeconds: LM };
const none: ConditionalFields = { ifMatch: undefined, ifNoneMatch: undefined, ifModifiedSince: undefined, ifUnmodifiedSince: undefined };
const at = (s: number) => formatHttpDate(s);

describe('ETag (RFC 9110 §8.8.3)', () => {
  it('is strong, quoted, and changes with size or mtime', () => {
    expect(V.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(makeEtag(1234, LM * 1000 + 6)).not.toBe(V.etag);
    expect(makeEtag(1235, LM * 1000 + 5)).not.toBe(V.etag);
  });

  it.each([
    [V.etag, true, true],
    [`W/${V.etag}`, true, false], // §8.8.3.2: weak comparison ignores W/, strong never matches it
    [`"x", ${V.etag}`, true, true],
    [`"x",W/"y" ,\t${V.etag}`, true, true],
    [`"x"`, false, false],
    [`${V.etag.slice(0, -1)}`, false, false], // unterminated
    [`"x" garbage ${V.etag}`, false, false], // malformed list matches nothing
    ['', false, false],
  ])('list %j: weak=%s strong=%s', (list, weak, strong) => {
    expect(etagListMatches(list, V.etag, true)).toBe(weak);
    expect(etagListMatches(list, V.etag, false)).toBe(strong);
  });
});

describe('precondition precedence (RFC 9110 §13.2.2)', () => {
  it.each([
    ['no conditions', {}, 'proceed'],
    // step 1: If-Match
    ['§13.1.1 If-Match matching', { ifMatch: V.etag }, 'proceed'],
    ['§13.1.1 If-Match *', { ifMatch: '*' }, 'proceed'],
    ['§13.1.1 If-Match other → 412', { ifMatch: '"nope"' }, 'precondition-failed'],
    ['§13.1.1 If-Match weak tag never matches strongly → 412', { ifMatch: `W/${V.etag}` }, 'precondition-failed'],
    ['§13.2.2 If-Match true makes If-Unmodified-Since ignored', { ifMatch: V.etag, ifUnmodifiedSince: at(LM - 10) }, 'proceed'],
    // step 2: If-Unmodified-Since
    ['§13.1.4 IUS at or after LM', { ifUnmodifiedSince: at(LM) }, 'proceed'],
    ['§13.1.4 IUS before LM → 412', { ifUnmodifiedSince: at(LM - 1) }, 'precondition-failed'],
    ['§13.1.4 IUS invalid → ignored', { ifUnmodifiedSince: 'yesterday' }, 'proceed'],
    // step 3: If-None-Match
    ['§13.1.2 INM matching → 304', { ifNoneMatch: V.etag }, 'not-modified'],
    ['§13.1.2 INM weak form matches weakly → 304', { ifNoneMatch: `W/${V.etag}` }, 'not-modified'],
    ['§13.1.2 INM * → 304', { ifNoneMatch: '*' }, 'not-modified'],
    ['§13.1.2 INM other → 200', { ifNoneMatch: '"other"' }, 'proceed'],
    ['§13.1.3 INM present makes IMS ignored', { ifNoneMatch: '"other"', ifModifiedSince: at(NOW) }, 'proceed'],
    // step 4: If-Modified-Since
    ['§13.1.3 IMS = LM → 304', { ifModifiedSince: at(LM) }, 'not-modified'],
    ['§13.1.3 IMS after LM → 304', { ifModifiedSince: at(NOW) }, 'not-modified'],
    ['§13.1.3 IMS before LM → 200', { ifModifiedSince: at(LM - 1) }, 'proceed'],
    ['§13.1.3 IMS invalid → ignored', { ifModifiedSince: 'not-a-date' }, 'proceed'],
    ['§13.1.3 IMS two members → invalid → ignored', { ifModifiedSince: `${at(NOW)}, ${at(NOW)}` }, 'proceed'],
    ['§13.1.3 IMS in asctime format', { ifModifiedSince: 'Sun Sep 13 12:26:40 2020' }, 'not-modified'],
    ['§13.2.2 412 from step 1 wins over 304 from step 3', { ifMatch: '"x"', ifNoneMatch: V.etag }, 'precondition-failed'],
  ] as const)('%s', (_name, fields, expected) => {
    expect(evaluatePreconditions({ ...none, ...fields }, V, NOW)).toBe(expected);
  });
});

describe('If-Range (RFC 9110 §13.1.5)', () => {
  it.each([
    [V.etag, true],
    [`W/${V.etag}`, false], // weak tags never satisfy If-Range
    ['"other"', false],
    [at(LM), true],
    [at(LM + 1), false], // must equal exactly
    ['garbage', false],
  ])('%j → %s', (value, holds) => {
    expect(ifRangeHolds(value, V, NOW)).toBe(holds);
  });

  it('a Last-Modified within the current second is weak (§8.8.2.2): a date If-Range fails', () => {
    expect(ifRangeHolds(at(LM), V, LM)).toBe(false);
    expect(ifRangeHolds(at(LM), V, LM + 1)).toBe(true);
  });
});

describe('properties', () => {
  it('If-Modified-Since alone: 304 exactly when Last-Modified ≤ the date (RFC 9110 §13.1.3)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 * LM }), (t) => {
        const out = evaluatePreconditions({ ...none, ifModifiedSince: at(t) }, V, NOW);
        expect(out).toBe(LM <= t ? 'not-modified' : 'proceed');
      }),
      fcOpts,
    );
  });

  it('If-None-Match list: 304 exactly when some member has the same opaque tag; If-Modified-Since then ignored', () => {
    const tag = fc.stringMatching(/^[a-z0-9-]{0,8}$/).map((t) => `"${t}"`);
    const member = fc.oneof(tag, tag.map((t) => `W/${t}`), fc.constant(V.etag), fc.constant(`W/${V.etag}`));
    fc.assert(
      fc.property(fc.array(member, { minLength: 1, maxLength: 5 }), fc.constantFrom(', ', ',', ' ,\t'), (members, sep) => {
        const listed = members.some((m) => m.replace(/^W\//, '') === V.etag);
        const out = evaluatePreconditions({ ...none, ifNoneMatch: members.join(sep), ifModifiedSince: at(NOW) }, V, NOW);
        expect(out).toBe(listed ? 'not-modified' : 'proceed');
      }),
      fcOpts,
    );
  });
});
