import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { latin1 } from './ascii.js';
import { HttpConnection } from './connection.js';
import type { DocumentSource, SourceError, SourceStat } from './document-cache.js';
import { HttpEngine, type HttpResponse } from './engine.js';
import { formatHttpDate } from './http-date.js';
import { MemoryDocumentSource } from './memory-source.js';
import type { HttpOptions } from './options.js';
import { RecordingSink, bytes, headFields, headText } from './testing.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
const fcOpts = { seed, numRuns: 100 };
console.log(`connection.test fast-check seed=${seed} (SEED=${seed} reproduces)`);

const flush = () => new Promise<void>((r) => setImmediate(r));
const T0 = 1_700_000_000_000; // virtual clock start (ms)
const MTIME = 1_600_000_000_000;

const INDEX = bytes('<!DOCTYPE html><title>ExoLinux</title><h1>hello</h1>\n');
const DATA = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);

function site(): MemoryDocumentSource {
  return new MemoryDocumentSource([
    ['/index.html', { bytes: INDEX, mtimeMs: MTIME }],
    ['/style.css', { bytes: bytes('body{}'), mtimeMs: MTIME }],
    ['/data.bin', { bytes: DATA, mtimeMs: MTIME + 123 }],
    ['/empty.txt', { bytes: new Uint8Array(0), mtimeMs: MTIME }],
    ['/sub/index.html', { bytes: bytes('<p>sub</p>'), mtimeMs: MTIME }],
    ['/noindex/file.txt', { bytes: bytes('x'), mtimeMs: MTIME }],
    ['/sp ace/é.txt', { bytes: bytes('u'), mtimeMs: MTIME }],
  ]);
}

interface Harness {
  engine: HttpEngine;
  conn: HttpConnection;
  sink: RecordingSink;
  clock: { now: number };
  source: DocumentSource;
}

function harness(opts: Partial<HttpOptions> = {}, source: DocumentSource = site()): Harness {
  const clock = { now: T0 };
  const engine = new HttpEngine({ source, clock: () => clock.now, options: opts });
  const sink = new RecordingSink();
  return { engine, conn: new HttpConnection(engine, sink), sink, clock, source };
}

/** Sends `text` on a fresh connection, waits for loads, returns the responses. */
async function exchange(text: string | Uint8Array, opts: Partial<HttpOptions> = {}, source?: DocumentSource): Promise<Harness> {
  const h = harness(opts, source);
  h.conn.receive(typeof text === 'string' ? bytes(text) : text);
  await flush();
  return h;
}

async function one(text: string, opts: Partial<HttpOptions> = {}, source?: DocumentSource): Promise<HttpResponse> {
  const h = await exchange(text, opts, source);
  expect(h.sink.responses).toHaveLength(1);
  return h.sink.responses[0]!;
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: h\r\n${extra}\r\n`;
const body = (r: HttpResponse) => latin1(r.body, 0, r.body.length);

describe('200 and HEAD (RFC 9110 §9.3.1, §9.3.2)', () => {
  it('GET returns the document with Date, Server, Content-Type, Content-Length, Last-Modified, ETag', async () => {
    const r = await one(get('/index.html'));
    const f = headFields(r);
    expect(f.get(':status')).toBe('HTTP/1.1 200 OK');
    expect(f.get('date')).toBe(formatHttpDate(T0 / 1000));
    expect(f.get('server')).toBe('Cheetah/ExoLinux');
    expect(f.get('content-type')).toBe('text/html; charset=utf-8');
    expect(f.get('content-length')).toBe(String(INDEX.length));
    expect(f.get('last-modified')).toBe(formatHttpDate(MTIME / 1000));
    expect(f.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(f.get('accept-ranges')).toBe('bytes');
    expect(f.has('connection')).toBe(false); // 1.1 persists by default
    expect(r.body).toEqual(INDEX);
    expect(r.close).toBe(false);
    expect(r.header.length % 2).toBe(0);
  });

  it('the body is served by reference: a view of the cached document, not a copy', async () => {
    const h = await exchange(get('/data.bin') + get('/data.bin'));
    const [a, b] = h.sink.responses;
    expect(a!.body.buffer).toBe(DATA.buffer);
    expect(b!.body.buffer).toBe(DATA.buffer);
    expect(h.engine.stats.cache).toMatchObject({ misses: 1, hits: 1 });
  });

  it('HEAD sends the same head as GET and no body', async () => {
    const h = await exchange(get('/style.css') + 'HEAD /style.css HTTP/1.1\r\nHost: h\r\n\r\n');
    const [g, hd] = h.sink.responses;
    expect(hd!.header).toEqual(g!.header);
    expect(hd!.body.length).toBe(0);
  });

  it('a zero-byte document has Content-Length: 0', async () => {
    const r = await one(get('/empty.txt'));
    expect(headFields(r).get('content-length')).toBe('0');
    expect(headFields(r).get('content-type')).toBe('text/plain; charset=utf-8');
  });

  it('index.html for a directory; 301 to the slash form without the slash (RFC 9110 §15.4.2)', async () => {
    expect(body(await one(get('/')))).toBe(latin1(INDEX, 0, INDEX.length));
    expect(body(await one(get('/sub/')))).toBe('<p>sub</p>');
    const r = await one(get('/sub?x=1'));
    expect(r.status).toBe(301);
    expect(headFields(r).get('location')).toBe('/sub/?x=1');
    const enc = await one(get('/sp%20ace'));
    expect(headFields(enc).get('location')).toBe('/sp%20ace/');
    expect((await one(get('/sp%20ace/%C3%A9.txt'))).status).toBe(200);
  });

  it('the query is ignored for lookup; absolute-form works (RFC 9112 §3.2.2)', async () => {
    expect((await one(get('/style.css?v=3'))).status).toBe(200);
    expect((await one('GET http://198.18.0.2/style.css HTTP/1.1\r\nHost: other\r\n\r\n')).status).toBe(200);
  });

  it('the precomputed head is reused within a second and rebuilt (copied) the next second', async () => {
    const h = harness();
    h.conn.receive(bytes(get('/style.css')));
    await flush();
    h.conn.receive(bytes(get('/style.css')));
    h.clock.now += 1000;
    h.conn.receive(bytes(get('/style.css')));
    const [a, b, c] = h.sink.responses;
    expect(b!.header).toBe(a!.header);
    expect(c!.header).not.toBe(a!.header);
    expect(headFields(c!).get('date')).toBe(formatHttpDate(T0 / 1000 + 1));
    expect(headFields(a!).get('date')).toBe(formatHttpDate(T0 / 1000));
    expect(h.engine.stats.precomputedHeaders).toBe(3);
  });
});

describe('conditional requests (RFC 9110 §13)', () => {
  it('§13.1.2 If-None-Match with the ETag → 304 with ETag and no body', async () => {
    const first = await one(get('/index.html'));
    const etag = headFields(first).get('etag')!;
    const r = await one(get('/index.html', `If-None-Match: ${etag}\r\n`));
    expect(r.status).toBe(304);
    expect(headFields(r).get('etag')).toBe(etag);
    expect(headFields(r).has('content-length')).toBe(false);
    expect(r.body.length).toBe(0);
  });

  it('§13.1.3 If-Modified-Since at Last-Modified → 304; earlier → 200', async () => {
    expect((await one(get('/index.html', `If-Modified-Since: ${formatHttpDate(MTIME / 1000)}\r\n`))).status).toBe(304);
    expect((await one(get('/index.html', `If-Modified-Since: ${formatHttpDate(MTIME / 1000 - 1)}\r\n`))).status).toBe(200);
    expect((await one(get('/index.html', 'If-Modified-Since: garbage\r\n'))).status).toBe(200);
  });

  it('§13.1.1 If-Match that fails → 412', async () => {
    expect((await one(get('/index.html', 'If-Match: "nope"\r\n'))).status).toBe(412);
  });

  it('§13.2.1 preconditions are ignored when the answer would not be 200 (404 stays 404)', async () => {
    expect((await one(get('/missing', 'If-Match: "nope"\r\n'))).status).toBe(404);
  });
});

describe('ranges (RFC 9110 §14)', () => {
  it('§14.2 single range → 206 with Content-Range, body a view of the document', async () => {
    const r = await one(get('/data.bin', 'Range: bytes=10-19\r\n'));
    expect(r.status).toBe(206);
    const f = headFields(r);
    expect(f.get('content-range')).toBe('bytes 10-19/1000');
    expect(f.get('content-length')).toBe('10');
    expect(r.body).toEqual(DATA.subarray(10, 20));
    expect(r.body.buffer).toBe(DATA.buffer);
  });

  it('§15.5.17 unsatisfiable → 416 with Content-Range: bytes */length', async () => {
    const r = await one(get('/data.bin', 'Range: bytes=1000-\r\n'));
    expect(r.status).toBe(416);
    expect(headFields(r).get('content-range')).toBe('bytes */1000');
    expect(r.close).toBe(false);
  });

  it('§13.1.5 If-Range with the current ETag → 206; with another → 200 full', async () => {
    const etag = headFields(await one(get('/data.bin'))).get('etag')!;
    expect((await one(get('/data.bin', `Range: bytes=0-0\r\nIf-Range: ${etag}\r\n`))).status).toBe(206);
    const full = await one(get('/data.bin', 'Range: bytes=0-0\r\nIf-Range: "old"\r\n'));
    expect(full.status).toBe(200);
    expect(full.body.length).toBe(1000);
  });

  it('§14.2 Range is ignored for HEAD and when invalid', async () => {
    expect((await one('HEAD /data.bin HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n\r\n')).status).toBe(200);
    expect((await one(get('/data.bin', 'Range: bytes=9-1\r\n'))).status).toBe(200);
  });

  it('§13.2.2 a 304 wins over a range', async () => {
    const etag = headFields(await one(get('/data.bin'))).get('etag')!;
    expect((await one(get('/data.bin', `Range: bytes=0-1\r\nIf-None-Match: ${etag}\r\n`))).status).toBe(304);
  });
});

describe('error statuses', () => {
  const failing: DocumentSource = {
    stat: (): Promise<SourceStat | SourceError> => Promise.resolve({ kind: 'file', sizeBytes: 5, mtimeMs: 0 }),
    read: (): Promise<Uint8Array | SourceError> => Promise.reject(new Error('EIO')),
  };
  const forbidding: DocumentSource = {
    stat: (): Promise<SourceStat | SourceError> => Promise.resolve('forbidden'),
    read: (): Promise<Uint8Array | SourceError> => Promise.resolve('forbidden'),
  };

  it.each([
    ['RFC 9110 §15.5.1 400 bad request line', 'GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n', 400, true],
    ['RFC 9110 §15.5.1 400 traversal', get('/../etc/passwd'), 400, false],
    ['RFC 9110 §15.5.5 404', get('/missing.html'), 404, false],
    ['RFC 9110 §15.5.5 404 directory without index', get('/noindex/'), 404, false],
    ['RFC 9110 §15.5.6 405 POST', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n', 405, false],
    ['RFC 9110 §15.5.6 405 POST with a body too large to skip closes', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 999999\r\n\r\n', 405, true],
    ['RFC 9110 §15.6.2 501 unknown method', 'BREW / HTTP/1.1\r\nHost: h\r\n\r\n', 501, false],
    ['RFC 9110 §15.5.14 413 GET with a body too large to skip', 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 999999\r\n\r\n', 413, true],
    ['RFC 9110 §15.5.15 414', `GET /${'a'.repeat(9000)} HTTP/1.1\r\n\r\n`, 414, true],
    ['RFC 6585 §5 431', 'GET / HTTP/1.1\r\nHost: h\r\n' + `X: ${'a'.repeat(17000)}\r\n\r\n`, 431, true],
    ['RFC 9110 §15.6.6 505', 'GET / HTTP/3.0\r\n\r\n', 505, true],
    ['RFC 9112 §3.2 400 missing Host', 'GET / HTTP/1.1\r\n\r\n', 400, true],
    ['RFC 9112 §3.2 400 asterisk-form for GET', 'GET * HTTP/1.1\r\nHost: h\r\n\r\n', 400, false],
  ])('%s', async (_n, input, status, close) => {
    const r = await one(input);
    expect(r.status).toBe(status);
    expect(r.close).toBe(close);
    const f = headFields(r);
    expect(f.get('content-type')).toBe('text/html; charset=utf-8');
    expect(Number(f.get('content-length'))).toBe(r.body.length);
    expect(body(r)).toContain(`<h1>${status} `);
    if (close) expect(f.get('connection')).toBe('close');
    if (status === 405) expect(f.get('allow')).toBe('GET, HEAD');
  });

  it('RFC 9110 §15.6.1 500 when the source fails; the connection stays usable', async () => {
    const h = await exchange(get('/x') + get('/y'), {}, failing);
    expect(h.sink.responses.map((r) => [r.status, r.close])).toEqual([
      [500, false],
      [500, false],
    ]);
  });

  it('RFC 9110 §15.5.4 403 when the source refuses', async () => {
    expect((await one(get('/x'), {}, forbidding)).status).toBe(403);
  });

  it('HEAD errors carry Content-Length but no body', async () => {
    const r = await one('HEAD /missing HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(r.status).toBe(404);
    expect(Number(headFields(r).get('content-length'))).toBeGreaterThan(0);
    expect(r.body.length).toBe(0);
  });

  it('a POST body within the limit is skipped and the next request is answered', async () => {
    const h = await exchange('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd' + get('/style.css'));
    expect(h.sink.responses.map((r) => r.status)).toEqual([405, 200]);
  });

  it('after an error that leaves the stream out of step, nothing more is answered', async () => {
    const h = await exchange('GET / HTTP/1.1\r\nHost : h\r\n\r\n' + get('/style.css'));
    expect(h.sink.responses.map((r) => [r.status, r.close])).toEqual([[400, true]]);
    expect(h.conn.state).toBe('closing');
    expect(h.conn.receive(bytes(get('/')))).toBe(get('/').length);
    expect(h.engine.stats.bytesAfterClose).toBeGreaterThan(0);
    expect(h.engine.stats.parseErrors['space-before-colon']).toBe(1);
  });
});

describe('connection management (RFC 9112 §9)', () => {
  it('1.1 Connection: close → response says close and closes', async () => {
    const r = await one(get('/style.css', 'Connection: close\r\n'));
    expect(r.close).toBe(true);
    expect(headFields(r).get('connection')).toBe('close');
  });

  it('1.0 closes by default, keeps alive on request and says so', async () => {
    const a = await one('GET /style.css HTTP/1.0\r\n\r\n');
    expect(a.close).toBe(true);
    expect(headFields(a).get('connection')).toBe('close');
    const h = await exchange('GET /style.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /index.html HTTP/1.0\r\n\r\n');
    expect(h.sink.responses.map((r) => [r.status, r.close, headFields(r).get('connection')])).toEqual([
      [200, false, 'keep-alive'],
      [200, true, 'close'],
    ]);
    expect(headText(h.sink.responses[0]!).startsWith('HTTP/1.1 200 OK')).toBe(true);
  });

  it('HTTP/0.9 (RFC 1945 §6): the entity alone, then close', async () => {
    const r = await one('GET /style.css\r\n');
    expect(r.header.length).toBe(0);
    expect(body(r)).toBe('body{}');
    expect(r.close).toBe(true);
    const e = await one('GET /missing\r\n');
    expect(e.header.length).toBe(0);
    expect(body(e)).toContain('404');
  });

  it('pipelined requests are answered in order even when an earlier one has to be loaded', async () => {
    const h = harness();
    h.conn.receive(bytes(get('/style.css')));
    await flush(); // style.css cached
    h.conn.receive(bytes(get('/data.bin') + get('/style.css') + get('/missing') + get('/style.css')));
    expect(h.sink.responses).toHaveLength(1); // data.bin is loading, the rest waits
    await flush();
    expect(h.sink.responses.map((r) => r.status)).toEqual([200, 200, 200, 404, 200]);
    expect(h.sink.responses[1]!.body).toEqual(DATA);
  });

  it('back-pressure: beyond maxPipelinedRequests input is refused, and resume() says when to offer it again', async () => {
    const h = harness({ maxPipelinedRequests: 2, revalidateAfterMs: 0 });
    const stream = bytes(get('/style.css').repeat(40));
    let off = h.conn.receive(stream);
    expect(off).toBeLessThan(stream.length);
    expect(h.engine.stats.inputRefusals).toBe(1);
    let rounds = 0;
    while (off < stream.length && rounds++ < 200) {
      await flush();
      if (h.sink.resumes > 0) off += h.conn.receive(stream.subarray(off));
    }
    await flush();
    expect(h.sink.responses).toHaveLength(40);
    expect(h.sink.responses.every((r) => r.status === 200)).toBe(true);
  });

  it('end of input: complete requests are answered, then close is asked for', async () => {
    const h = harness();
    h.conn.receive(bytes(get('/style.css') + 'GET /index'));
    h.conn.endOfInput();
    await flush();
    expect(h.sink.responses.map((r) => r.status)).toEqual([200]);
    expect(h.sink.closed).toBe('end-of-input');
  });

  it('destroy while a load is pending: the late response is released, nothing is sent', async () => {
    const h = harness();
    h.conn.receive(bytes(get('/data.bin')));
    h.conn.destroy();
    await flush();
    expect(h.sink.responses).toHaveLength(0);
    expect(h.engine.stats.cache.pinnedDocuments).toBe(0);
    expect(h.engine.stats.connectionsClosed).toBe(1);
  });

  it('releasing responses unpins their documents', async () => {
    const h = await exchange(get('/data.bin') + get('/data.bin', 'Range: bytes=0-9\r\n'));
    expect(h.engine.stats.cache.pinnedDocuments).toBe(1);
    for (const r of h.sink.responses) r.release();
    h.sink.responses[0]!.release();
    expect(h.engine.stats.cache.pinnedDocuments).toBe(0);
  });
});

describe('counters', () => {
  it('count requests by method and status, bytes, parse errors and cache events', async () => {
    const h = await exchange(get('/style.css') + 'HEAD /style.css HTTP/1.1\r\nHost: h\r\n\r\n' + get('/missing') + 'DELETE / HTTP/1.1\r\nHost: h\r\n\r\n' + get('/a/../../x'));
    h.conn.receive(bytes('GET / HTTP/1.1\r\nHost : h\r\n\r\n'));
    const s = h.engine.stats;
    const rs = h.sink.responses;
    expect(rs.map((r) => r.status)).toEqual([200, 200, 404, 405, 400, 400]);
    expect(s.requests).toBe(5);
    expect(s.requestsByMethod).toEqual({ GET: 3, HEAD: 1, other: 1 });
    expect(s.responsesByStatus).toMatchObject({ 200: 2, 404: 1, 405: 1, 400: 2 });
    expect(s.headerBytesSent).toBe(rs.reduce((n, r) => n + r.header.length, 0));
    expect(s.bodyBytesSent).toBe(rs.reduce((n, r) => n + r.body.length, 0));
    expect(s.parseErrors).toMatchObject({ 'path-escapes-root': 1, 'space-before-colon': 1 });
    expect(s.cache).toMatchObject({ misses: 2, hits: 1, loads: 1, entries: 2 });
    expect(s.connectionsOpened).toBe(1);
  });
});

describe('timeouts (RFC 9112 §9.5), on the caller clock', () => {
  it('a request not complete within headerTimeoutMs of its first byte → 408 and close (slowloris)', async () => {
    const h = harness({ headerTimeoutMs: 1000 });
    h.clock.now += 100;
    h.conn.receive(bytes('GET / HTTP/1.1\r\n'));
    expect(h.conn.nextDeadline()).toBe(T0 + 1100);
    h.clock.now += 900;
    h.conn.receive(bytes('X-Slow: 1\r\n')); // trickling does not extend the deadline
    h.conn.poll();
    expect(h.sink.responses).toHaveLength(0);
    h.clock.now = T0 + 1100;
    h.conn.poll();
    expect(h.sink.responses.map((r) => [r.status, r.close])).toEqual([[408, true]]);
    expect(h.engine.stats.headerTimeouts).toBe(1);
    expect(h.conn.nextDeadline()).toBeUndefined();
  });

  it('a connection that sends nothing is closed silently after headerTimeoutMs', () => {
    const h = harness({ headerTimeoutMs: 1000 });
    expect(h.conn.nextDeadline()).toBe(T0 + 1000);
    h.clock.now += 1000;
    h.conn.poll();
    expect(h.sink.responses).toHaveLength(0);
    expect(h.sink.closed).toBe('idle-timeout');
  });

  it('an idle keep-alive connection closes keepAliveTimeoutMs after the last response', async () => {
    const h = harness({ keepAliveTimeoutMs: 5000 });
    h.conn.receive(bytes(get('/style.css')));
    await flush();
    expect(h.conn.nextDeadline()).toBe(T0 + 5000);
    h.clock.now += 4999;
    h.conn.poll();
    expect(h.sink.closed).toBeUndefined();
    h.clock.now += 1;
    h.conn.poll();
    expect(h.sink.closed).toBe('idle-timeout');
    expect(h.engine.stats.idleTimeouts).toBe(1);
  });

  it('no deadline while a load is pending; the header clock restarts after our response', async () => {
    const h = harness({ headerTimeoutMs: 1000 });
    h.conn.receive(bytes(get('/data.bin') + 'GET /sty'));
    expect(h.conn.nextDeadline()).toBeUndefined();
    h.clock.now += 5000; // a slow disk is not the client's fault
    await flush();
    expect(h.sink.responses).toHaveLength(1);
    expect(h.conn.nextDeadline()).toBe(T0 + 6000);
  });
});

describe('properties', () => {
  const paths = ['/', '/index.html', '/style.css', '/data.bin', '/empty.txt', '/sub', '/sub/', '/missing', '/../x', '/noindex/'];
  const req = fc.record({
    method: fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'DELETE'),
    path: fc.constantFrom(...paths),
    version: fc.constantFrom('1.0', '1.1', '1.1'),
    range: fc.option(fc.constantFrom('bytes=0-9', 'bytes=-5', 'bytes=5000-', 'bytes=1-0', 'bytes=0-0,2-3')),
    inm: fc.option(fc.constantFrom('*', '"x"')),
    ims: fc.option(fc.constantFrom(formatHttpDate(MTIME / 1000), 'junk')),
    keepAlive: fc.boolean(),
  });
  const serialize = (r: { method: string; path: string; version: string; range: string | null; inm: string | null; ims: string | null; keepAlive: boolean }): string => {
    let s = `${r.method} ${r.path} HTTP/${r.version}\r\nHost: h\r\n`;
    if (r.range !== null) s += `Range: ${r.range}\r\n`;
    if (r.inm !== null) s += `If-None-Match: ${r.inm}\r\n`;
    if (r.ims !== null) s += `If-Modified-Since: ${r.ims}\r\n`;
    if (r.version === '1.0' && r.keepAlive) s += 'Connection: keep-alive\r\n';
    return `${s}\r\n`;
  };
  const summary = (rs: HttpResponse[]) => rs.map((r) => ({ status: r.status, header: headText(r), body: body(r), close: r.close }));

  /** Feeds `data` cut at `cuts`, waiting for loads between pieces when `settle`. */
  async function feed(data: Uint8Array, cuts: number[], settle: boolean): Promise<Harness> {
    const h = harness({ revalidateAfterMs: 0 });
    let off = 0;
    for (const cut of [...cuts.filter((c) => c > 0 && c < data.length).sort((a, b) => a - b), data.length]) {
      while (off < cut) {
        const n = h.conn.receive(data.subarray(off, cut));
        off += n;
        if (off < cut) await flush();
      }
      if (settle) await flush();
    }
    for (let i = 0; i < 5; i++) await flush();
    return h;
  }

  it('any split of a pipelined byte stream yields the same responses', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(req, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(1500), { maxLength: 10 }), fc.boolean(), async (reqs, cuts, settle) => {
        const data = bytes(reqs.map(serialize).join(''));
        const whole = await feed(data, [], false);
        const split = await feed(data, cuts, settle);
        expect(summary(split.sink.responses)).toEqual(summary(whole.sink.responses));
        // Once a response closes, nothing follows it.
        const closeAt = whole.sink.responses.findIndex((r) => r.close);
        if (closeAt >= 0) expect(whole.sink.responses).toHaveLength(closeAt + 1);
      }),
      fcOpts,
    );
  });

  it('random bytes never throw and yield at most one response: 400/414/431/501/505 with close', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (data) => {
        const h = await exchange(data, { maxRequestLineBytes: 256, maxHeaderBytes: 512 });
        expect(h.sink.responses.length).toBeLessThanOrEqual(1);
        for (const r of h.sink.responses) {
          expect([400, 414, 431, 501, 505]).toContain(r.status);
          expect(r.close).toBe(true);
        }
      }),
      { ...fcOpts, numRuns: 300 },
    );
  });

  it('mutated requests never throw, and every response is well-formed', async () => {
    const valid = fc.array(req, { minLength: 1, maxLength: 3 }).map((rs) => rs.map(serialize).join(''));
    const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(valid, mutation, async (text, muts) => {
        const arr = [...bytes(text)];
        for (const [pos, b, kind] of muts) {
          const i = pos % (arr.length + 1);
          if (kind === 'set' && i < arr.length) arr[i] = b;
          else if (kind === 'insert') arr.splice(i, 0, b);
          else arr.splice(i, 1);
        }
        const h = await exchange(Uint8Array.from(arr));
        h.conn.endOfInput();
        await flush();
        h.sink.responses.forEach((r, i) => {
          if (r.header.length === 0) {
            // An HTTP/0.9 answer: only ever the first and only one.
            expect([i, h.sink.responses.length, r.close]).toEqual([0, 1, true]);
            return;
          }
          const t = headText(r);
          expect(t).toMatch(/^HTTP\/1\.1 \d{3} [A-Za-z ]+\r\n/);
          expect(t.endsWith('\r\n\r\n')).toBe(true);
          const cl = headFields(r).get('content-length');
          if (r.body.length > 0) expect(Number(cl)).toBe(r.body.length);
          if (r.close) expect(i).toBe(h.sink.responses.length - 1);
        });
      }),
      { ...fcOpts, numRuns: 300 },
    );
  });
});
