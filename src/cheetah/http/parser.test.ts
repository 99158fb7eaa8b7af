import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveHttpOptions, type HttpOptions } from './options.js';
import { RequestParser, type ParseEvent } from './parser.js';
import { bytes } from './testing.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
const fcOpts = { seed, numRuns: 200 };
console.log(`parser.test fast-check seed=${seed} (SEED=${seed} reproduces)`);

/** Feeds `input` in the given pieces and collects every event. */
function parse(input: Uint8Array | string, opts: Partial<HttpOptions> = {}, pieces: number[] = []): ParseEvent[] {
  const data = typeof input === 'string' ? bytes(input) : input;
  const p = new RequestParser(resolveHttpOptions(opts));
  const events: ParseEvent[] = [];
  const drain = (): void => {
    for (let ev = p.next(); ev !== undefined; ev = p.next()) events.push(ev);
  };
  let off = 0;
  const cuts = [...pieces.filter((c) => c > 0 && c < data.length).sort((a, b) => a - b), data.length];
  for (const cut of cuts) {
    const chunk = data.subarray(off, cut);
    let taken = 0;
    while (taken < chunk.length) {
      const n = p.write(chunk, taken);
      taken += n;
      drain();
      if (n === 0 && p.dead) break;
    }
    off = cut;
  }
  drain();
  return events;
}

function only(input: string, opts: Partial<HttpOptions> = {}): ParseEvent {
  const evs = parse(input, opts);
  expect(evs.length).toBe(1);
  return evs[0]!;
}

function errorOf(input: string, opts: Partial<HttpOptions> = {}): { status: number; reason: string } {
  const ev = only(input, opts);
  if (ev.kind !== 'error') throw new Error(`expected an error, got request ${JSON.stringify(ev)}`);
  return { status: ev.status, reason: ev.reason };
}

function requestOf(input: string, opts: Partial<HttpOptions> = {}) {
  const ev = only(input, opts);
  if (ev.kind !== 'request') throw new Error(`expected a request, got ${JSON.stringify(ev)}`);
  return ev;
}

const GET = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n';

describe('request line (RFC 9112 §3)', () => {
  it('parses method, target, version and Host', () => {
    const r = requestOf('GET /a/b?c HTTP/1.1\r\nHost: example\r\n\r\n');
    expect(r).toMatchObject({ method: 'GET', target: '/a/b?c', version: '1.1', host: 'example', keepAlive: true, bodyUnread: false });
    expect(r.headBytes).toBe('GET /a/b?c HTTP/1.1\r\nHost: example\r\n\r\n'.length);
  });

  it('§2.2: a bare LF ends a line too', () => {
    expect(requestOf('GET / HTTP/1.1\nHost: h\n\n').method).toBe('GET');
  });

  it('§2.2: empty lines before the request-line are ignored (a few)', () => {
    expect(requestOf('\r\n\r\n' + GET).method).toBe('GET');
    expect(errorOf('\r\n'.repeat(9) + GET)).toEqual({ status: 400, reason: 'bad-request-line' });
  });

  it.each([
    ['§3 missing target', 400, 'bad-request-line', 'GET  HTTP/1.1\r\n\r\n'],
    ['§3 leading space', 400, 'bad-request-line', ' GET / HTTP/1.1\r\n\r\n'],
    ['§3 two spaces', 400, 'bad-request-line', 'GET  / HTTP/1.1\r\n\r\n'],
    ['§3 trailing space', 400, 'bad-version', 'GET / HTTP/1.1 \r\n\r\n'],
    ['§3.1 method not a token', 400, 'bad-method', 'G(T / HTTP/1.1\r\n\r\n'],
    ['§3.2 space-free target with CTL', 400, 'bad-target', 'GET /\x01 HTTP/1.1\r\n\r\n'],
    ['§3.2 raw backslash', 400, 'bad-target', 'GET /a\\b HTTP/1.1\r\n\r\n'],
    ['§3.2 fragment', 400, 'bad-target', 'GET /a#b HTTP/1.1\r\n\r\n'],
    ['§3.2 non-ASCII byte', 400, 'bad-target', 'GET /\xe9 HTTP/1.1\r\n\r\n'],
    ['§2.3 lower-case HTTP-name', 400, 'bad-version', 'GET / http/1.1\r\n\r\n'],
    ['§2.3 two-digit minor', 400, 'bad-version', 'GET / HTTP/1.10\r\n\r\n'],
    ['§2.3 garbage version', 400, 'bad-version', 'GET / HTTP/x.y\r\n\r\n'],
    ['RFC 9110 §6.2 major 2 → 505', 505, 'unsupported-version', 'GET / HTTP/2.0\r\n\r\n'],
    ['RFC 9110 §6.2 HTTP/2 preface → 505', 505, 'unsupported-version', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['RFC 9110 §6.2 major 0 → 505', 505, 'unsupported-version', 'GET / HTTP/0.9\r\n\r\n'],
    ['§2.2 bare CR in the request-line', 400, 'bare-cr', 'GET /\r HTTP/1.1\r\n\r\n'],
  ])('%s → %d %s', (_name, status, reason, input) => {
    expect(errorOf(input)).toEqual({ status, reason });
  });

  it('RFC 9110 §6.2: HTTP/1.2 is handled as 1.1', () => {
    expect(requestOf('GET / HTTP/1.2\r\nHost: h\r\n\r\n').version).toBe('1.1');
  });

  it('§3: a request-line longer than maxRequestLineBytes → 414, detected before its end arrives', () => {
    const long = `GET /${'a'.repeat(9000)}`; // no line end yet
    expect(errorOf(long)).toEqual({ status: 414, reason: 'request-line-too-long' });
    const exact = `GET /${'a'.repeat(100 - 16)} HTTP/1.1\r\n`; // exactly 100 bytes
    expect(exact.length).toBe(100);
    expect(requestOf(`${exact}Host: h\r\n\r\n`, { maxRequestLineBytes: 100 }).method).toBe('GET');
    expect(errorOf(`GET /a${'a'.repeat(100 - 16)} HTTP/1.1\r\n`, { maxRequestLineBytes: 100 }).status).toBe(414);
  });
});

describe('HTTP/0.9 (RFC 1945 §4.1)', () => {
  it('a Simple-Request GET is accepted when allowed and ends parsing', () => {
    const evs = parse('GET /index.html\r\nGET / HTTP/1.1\r\n\r\n');
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ kind: 'request', version: '0.9', target: '/index.html', keepAlive: false });
  });

  it('refused when disabled, for any method but GET, and after a 1.x request on the connection', () => {
    expect(errorOf('GET /\r\n', { allowHttp09: false })).toEqual({ status: 400, reason: 'http09-refused' });
    expect(errorOf('HEAD /\r\n')).toEqual({ status: 400, reason: 'http09-refused' });
    const evs = parse(GET + 'GET /\r\n');
    expect(evs.map((e) => e.kind)).toEqual(['request', 'error']);
    expect(evs[1]).toMatchObject({ kind: 'error', status: 400, reason: 'http09-refused' });
  });
});

describe('field lines (RFC 9112 §5, RFC 9110 §5.5)', () => {
  it('names are case-insensitive, values lose OWS, repeats are joined', () => {
    const r = requestOf('GET / HTTP/1.1\r\nhOsT:   h  \r\nIF-NONE-MATCH: "a"\r\nIf-None-Match:\t"b"\r\nX-Other: 1\r\n\r\n');
    expect(r.host).toBe('h');
    expect(r.ifNoneMatch).toBe('"a", "b"');
  });

  it('keeps the conditional and range fields', () => {
    const r = requestOf(
      'GET / HTTP/1.1\r\nHost: h\r\nIf-Match: "m"\r\nIf-Modified-Since: ims\r\nIf-Unmodified-Since: ius\r\nRange: bytes=0-1\r\nIf-Range: "r"\r\n\r\n',
    );
    expect(r).toMatchObject({ ifMatch: '"m"', ifModifiedSince: 'ims', ifUnmodifiedSince: 'ius', range: 'bytes=0-1', ifRange: '"r"' });
  });

  it.each([
    ['§5.1 space before colon', 400, 'space-before-colon', 'GET / HTTP/1.1\r\nHost : h\r\n\r\n'],
    ['§5.1 tab before colon', 400, 'space-before-colon', 'GET / HTTP/1.1\r\nHost\t: h\r\n\r\n'],
    ['§5.1 no colon', 400, 'bad-field-name', 'GET / HTTP/1.1\r\nHost h\r\n\r\n'],
    ['§5.1 empty name', 400, 'bad-field-name', 'GET / HTTP/1.1\r\n: h\r\n\r\n'],
    ['§5.1 name not a token', 400, 'bad-field-name', 'GET / HTTP/1.1\r\nHo(st: h\r\n\r\n'],
    ['§5.2 obs-fold', 400, 'obs-fold', 'GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n'],
    ['§2.2 whitespace before the first field', 400, 'obs-fold', 'GET / HTTP/1.1\r\n Host: h\r\n\r\n'],
    ['§2.2 bare CR in a field', 400, 'bare-cr', 'GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n'],
    ['RFC 9110 §5.5 NUL in a value', 400, 'bad-field-value', 'GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n'],
    ['RFC 9110 §5.5 other CTL in a value', 400, 'bad-field-value', 'GET / HTTP/1.1\r\nHost: h\r\nX: a\x07b\r\n\r\n'],
    ['§3.2 missing Host in 1.1', 400, 'missing-host', 'GET / HTTP/1.1\r\n\r\n'],
    ['§3.2 two Host fields', 400, 'multiple-host', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    ['§3.2 invalid Host', 400, 'bad-host', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n'],
    ['§3.2 invalid Host port', 400, 'bad-host', 'GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n'],
  ])('%s → %d %s', (_name, status, reason, input) => {
    expect(errorOf(input)).toEqual({ status, reason });
  });

  it('obs-text (bytes ≥ 0x80) is allowed in values (RFC 9110 §5.5)', () => {
    expect(requestOf('GET / HTTP/1.1\r\nHost: h\r\nX: caf\xe9\r\n\r\n').method).toBe('GET');
  });

  it('Host may be absent in 1.0, and may be an IP literal with port', () => {
    expect(requestOf('GET / HTTP/1.0\r\n\r\n').host).toBeUndefined();
    expect(requestOf('GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n').host).toBe('[::1]:80');
    expect(requestOf('GET / HTTP/1.1\r\nHost: \r\n\r\n').host).toBe('');
  });

  it('RFC 6585 §5: header section over maxHeaderBytes → 431, before its end arrives', () => {
    const many = 'GET / HTTP/1.1\r\nHost: h\r\n' + `X-Pad: ${'p'.repeat(1000)}\r\n`.repeat(20);
    expect(errorOf(many)).toEqual({ status: 431, reason: 'header-section-too-large' });
    // Exactly at the limit is fine: the limit counts field lines and the final CRLF.
    const fields = 'Host: h\r\nX: ' + 'y'.repeat(100 - 9 - 5 - 2) + '\r\n';
    expect((fields + '\r\n').length).toBe(100);
    expect(requestOf(`GET / HTTP/1.1\r\n${fields}\r\n`, { maxHeaderBytes: 100 }).method).toBe('GET');
    expect(errorOf(`GET / HTTP/1.1\r\n${fields}X\r\n`, { maxHeaderBytes: 100 }).status).toBe(431);
  });

  it('RFC 6585 §5: more than maxHeaderFields fields → 431', () => {
    const input = 'GET / HTTP/1.1\r\nHost: h\r\n' + 'X: 1\r\n'.repeat(10) + '\r\n';
    expect(errorOf(input, { maxHeaderFields: 10 })).toEqual({ status: 431, reason: 'too-many-header-fields' });
    expect(requestOf(input, { maxHeaderFields: 11 }).method).toBe('GET');
  });
});

describe('persistence (RFC 9112 §9.3, RFC 9110 §7.6.1)', () => {
  it.each([
    ['1.1 default', 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', true],
    ['1.1 close', 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', false],
    ['1.1 Close, case-insensitive in a list', 'GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, CLOSE\r\n\r\n', false],
    ['1.0 default', 'GET / HTTP/1.0\r\n\r\n', false],
    ['1.0 keep-alive', 'GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n', true],
    ['1.0 keep-alive and close → close', 'GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n', false],
  ])('%s', (_n, input, keepAlive) => {
    expect(requestOf(input).keepAlive).toBe(keepAlive);
  });
});

describe('message body of a request (RFC 9112 §6)', () => {
  it('§6.2 Content-Length body is read and thrown away; the next request follows', () => {
    const evs = parse('GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(evs.map((e) => (e.kind === 'request' ? [e.target, e.bodyBytes] : e.reason))).toEqual([
      ['/a', 5],
      ['/b', 0],
    ]);
  });

  it('§7.1 chunked body (with extensions and trailers) is read and thrown away', () => {
    const body = '5;name=val\r\nhello\r\n3 ; x\r\nabc\r\n0\r\nTrailer-X: y\r\n\r\n';
    const evs = parse(`GET /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${body}GET /b HTTP/1.1\r\nHost: h\r\n\r\n`);
    expect(evs.map((e) => (e.kind === 'request' ? [e.target, e.bodyBytes] : e.reason))).toEqual([
      ['/a', 8],
      ['/b', 0],
    ]);
  });

  it('a gzip-then-chunked body is thrown away without decoding', () => {
    const r = requestOf('GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n');
    expect(r.bodyBytes).toBe(2);
  });

  it('a body over maxDiscardBodyBytes is not read: the request comes out unread and parsing stops', () => {
    const evs = parse('GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n' + 'x'.repeat(100) + GET, { maxDiscardBodyBytes: 99 });
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ kind: 'request', bodyUnread: true, keepAlive: false });
    const chunked = parse('GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n' + 'x'.repeat(64) + '\r\n40\r\n', {
      maxDiscardBodyBytes: 100,
    });
    expect(chunked).toHaveLength(1);
    expect(chunked[0]).toMatchObject({ kind: 'request', bodyUnread: true });
  });

  it('RFC 9110 §10.1.1 Expect: 100-continue with a body: answered at once, body unread', () => {
    const r = requestOf('GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n');
    expect(r.bodyUnread).toBe(true);
  });

  it.each([
    ['§6.2 Content-Length: 0 is no body', 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n', 0],
    ['§8.6 a list of equal values is one value', 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc', 3],
    ['§8.6 repeated equal fields', 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc', 3],
  ])('%s', (_n, input, bodyBytes) => {
    expect(requestOf(input).bodyBytes).toBe(bodyBytes);
  });

  it.each([
    ['§6.3 differing Content-Length values', 400, 'conflicting-content-length', 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n'],
    ['§6.3 Content-Length not a number', 400, 'bad-content-length', 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3x\r\n\r\n'],
    ['§6.3 negative Content-Length', 400, 'bad-content-length', 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n'],
    ['§6.3 empty Content-Length', 400, 'bad-content-length', 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n'],
    ['§6.3 TE with CL (smuggling)', 400, 'transfer-encoding-with-content-length', 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['§6.1 TE in HTTP/1.0', 400, 'transfer-encoding-in-http10', 'GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['§6.3 chunked not final', 400, 'chunked-not-final', 'GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n'],
    ['§7.1 chunked twice', 400, 'chunked-not-final', 'GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n'],
    ['§6.1 unknown coding → 501', 501, 'unknown-transfer-coding', 'GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: foo, chunked\r\n\r\n'],
    ['§7.1 bad chunk size', 400, 'bad-chunk', 'GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['§7.1 chunk data not followed by CRLF', 400, 'bad-chunk', 'GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n'],
    ['§7.1.2 malformed trailer', 400, 'bad-chunk', 'GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a field\r\n\r\n'],
  ])('%s → %d %s', (_n, status, reason, input) => {
    expect(errorOf(input)).toEqual({ status, reason });
  });
});

describe('pipelining and error state', () => {
  it('pipelined requests come out in order', () => {
    const evs = parse('GET /1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.0\r\n\r\n');
    expect(evs.map((e) => e.kind === 'request' && `${e.method} ${e.target} ${e.version}`)).toEqual([
      'GET /1 1.1',
      'HEAD /2 1.1',
      'GET /3 1.0',
    ]);
  });

  it('after an error nothing more is parsed (the stream is out of step)', () => {
    const evs = parse('GET / HTTP/1.1\r\nHost : h\r\n\r\n' + GET + GET);
    expect(evs).toHaveLength(1);
    expect(evs[0]?.kind).toBe('error');
  });

  it('an error reports the method when it was read (HEAD answers carry no body)', () => {
    const ev = only('HEAD / HTTP/1.1\r\n\r\n');
    expect(ev).toMatchObject({ kind: 'error', status: 400, reason: 'missing-host', head: true, version: '1.1' });
  });

  it('inRequest tracks a partial request', () => {
    const p = new RequestParser(resolveHttpOptions());
    expect(p.inRequest).toBe(false);
    p.write(bytes('GET / HT'));
    expect(p.next()).toBeUndefined();
    expect(p.inRequest).toBe(true);
    p.write(bytes('TP/1.1\r\nHost: h\r\n\r\n'));
    expect(p.next()?.kind).toBe('request');
    expect(p.inRequest).toBe(false);
  });
});

describe('properties', () => {
  const request = fc.record({
    method: fc.constantFrom('GET', 'HEAD', 'POST', 'OPTIONS', 'BREW'),
    path: fc.stringMatching(/^\/[a-z0-9._~%/-]{0,20}$/),
    version: fc.constantFrom('1.0', '1.1'),
    headers: fc.array(
      fc.tuple(
        fc.constantFrom('X-A', 'Range', 'If-None-Match', 'Connection', 'Accept', 'User-Agent', 'If-Modified-Since'),
        fc.stringMatching(/^[ -~]{0,20}$/),
      ),
      { maxLength: 6 },
    ),
    body: fc.option(fc.tuple(fc.constantFrom('length', 'chunked'), fc.stringMatching(/^[a-z\r\n]{1,30}$/))),
    lf: fc.boolean(),
  });
  const serialize = (r: typeof request extends fc.Arbitrary<infer T> ? T : never): string => {
    const eol = r.lf ? '\n' : '\r\n';
    let s = `${r.method} ${r.path} HTTP/${r.version}${eol}Host: h${eol}`;
    for (const [n, v] of r.headers) s += `${n}: ${v.trim()}${eol}`;
    if (r.body === null || r.version === '1.0') return s + eol;
    const [kind, text] = r.body;
    if (kind === 'length') return `${s}Content-Length: ${text.length}${eol}${eol}${text}`;
    return `${s}Transfer-Encoding: chunked${eol}${eol}${text.length.toString(16)}\r\n${text}\r\n0\r\n\r\n`;
  };

  it('any split of a pipelined byte stream yields the same events', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(4000), { maxLength: 12 }), (reqs, cuts) => {
        const stream = reqs.map(serialize).join('');
        const whole = parse(stream);
        expect(parse(stream, {}, cuts)).toEqual(whole);
        // Byte-at-a-time is the extreme split.
        expect(parse(stream, {}, Array.from({ length: stream.length }, (_, i) => i))).toEqual(whole);
        expect(whole.length).toBeGreaterThan(0);
      }),
      fcOpts,
    );
  });

  it('random bytes never throw and only ever yield 400/414/431/501/505 errors, after which parsing stops', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(3000), { maxLength: 8 }), (data, cuts) => {
        const evs = parse(data, { maxRequestLineBytes: 512, maxHeaderBytes: 1024 }, cuts);
        const errors = evs.filter((e) => e.kind === 'error');
        expect(errors.length).toBeLessThanOrEqual(1);
        if (errors.length === 1) {
          expect(evs.at(-1)).toBe(errors[0]);
          if (errors[0]!.kind === 'error') expect([400, 414, 431, 501, 505]).toContain(errors[0]!.status);
        }
      }),
      { ...fcOpts, numRuns: 500 },
    );
  });

  it('random bytes with no line end are a 414 or 400 once past the limit, never an unbounded buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 600, maxLength: 2000 }).map((a) => a.map((b) => (b === 10 ? 11 : b))), (data) => {
        const evs = parse(data, { maxRequestLineBytes: 512 });
        expect(evs).toHaveLength(1);
        expect(evs[0]!.kind === 'error' && [400, 414]).toContain(evs[0]!.kind === 'error' ? evs[0]!.status : -1);
      }),
      fcOpts,
    );
  });
});
