/**
 * Real clients against the HTTP engine: curl, wrk and a raw pipelining socket talk to a
 * stand-in transport on 127.0.0.1 — node:net instead of Cheetah's TCP, node:fs instead of the
 * docroot syscalls — serving the sample site. It checks what unit tests cannot: that real
 * clients accept our bytes (framing, keep-alive, ranges, conditionals, HTTP/1.0). Loopback
 * only; the TAP/namespace system tests come with the server glue.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../util/package-root.js';
import { HttpConnection } from './connection.js';
import type { DocumentSource, SourceError, SourceStat } from './document-cache.js';
import { HttpEngine, type HttpResponse } from './engine.js';

const run = promisify(execFile);
const DOCROOT = join(packageRoot(), 'site', 'www');

/** The docroot through node:fs, mapped onto DocumentSource the way the syscall glue will. */
function fsSource(root: string): DocumentSource {
  const err = (e: unknown): SourceError => {
    const code = (e as { code?: string }).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'not-found' : code === 'EACCES' ? 'forbidden' : 'io-error';
  };
  return {
    async stat(path): Promise<SourceStat | SourceError> {
      try {
        const s = await stat(join(root, path));
        if (s.isFile()) return { kind: 'file', sizeBytes: s.size, mtimeMs: s.mtimeMs };
        return s.isDirectory() ? { kind: 'directory' } : { kind: 'other' };
      } catch (e) {
        return err(e);
      }
    },
    async read(path): Promise<Uint8Array | SourceError> {
      try {
        return new Uint8Array(await readFile(join(root, path)));
      } catch (e) {
        return err(e);
      }
    },
  };
}

/** Bridges one socket to one HttpConnection. */
function serve(engine: HttpEngine, socket: Socket): void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    const d = conn.nextDeadline();
    if (d !== undefined) timer = setTimeout(() => (conn.poll(), arm()), Math.max(0, d - Date.now()));
  };
  let pending: Buffer | undefined;
  const offer = (): void => {
    if (pending === undefined) return;
    const n = conn.receive(pending);
    pending = n < pending.length ? pending.subarray(n) : undefined;
    if (pending !== undefined) socket.pause();
    arm();
  };
  const conn = new HttpConnection(engine, {
    send(r: HttpResponse) {
      if (r.header.length > 0) socket.write(r.header);
      socket.write(r.body, () => r.release());
      if (r.close) socket.end();
      arm();
    },
    close() {
      socket.end();
    },
    resume() {
      offer();
      if (pending === undefined) socket.resume();
    },
  });
  socket.on('data', (d: Buffer) => {
    pending = pending === undefined ? d : Buffer.concat([pending, d]);
    offer();
  });
  socket.on('end', () => conn.endOfInput());
  socket.on('close', () => {
    clearTimeout(timer);
    conn.destroy();
  });
  socket.on('error', () => socket.destroy());
  arm();
}

let server: Server;
let engine: HttpEngine;
let base: string;

beforeAll(async () => {
  engine = new HttpEngine({ source: fsSource(DOCROOT), clock: Date.now, options: { keepAliveTimeoutMs: 2000 } });
  server = createServer((s) => serve(engine, s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

async function curl(...args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'latin1', maxBuffer: 8 << 20 });
  return stdout;
}

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

const SITE_FILES = [
  'index.html',
  'about/index.html',
  'gallery.html',
  'files/index.html',
  'css/site.css',
  'img/cheetah.png',
  'img/platter.jpg',
  'img/logo.svg',
  'favicon.ico',
  'site.json',
  'files/0b.bin',
  'files/1k.bin',
  'files/10k.bin',
  'files/100k.bin',
  'files/1m.bin',
];

describe('real clients over loopback', () => {
  it.each(['--http1.1', '--http1.0'])('curl %s fetches every file of the site byte-exact', async (version) => {
    for (const f of SITE_FILES) {
      const body = await curl(version, `${base}/${f}`);
      expect(sha(Buffer.from(body, 'latin1')), f).toBe(sha(await readFile(join(DOCROOT, f))));
    }
  });

  it('curl -I: HEAD has the headers and no body; directory redirect; 404', async () => {
    const head = await curl('-I', `${base}/files/1k.bin`);
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head).toMatch(/\r\nContent-Length: 1024\r\n/);
    expect(head).toMatch(/\r\nContent-Type: application\/octet-stream\r\n/);
    const redirect = await curl('-i', `${base}/about`);
    expect(redirect).toMatch(/^HTTP\/1\.1 301 Moved Permanently\r\n/);
    expect(redirect).toMatch(/\r\nLocation: \/about\/\r\n/);
    expect(await curl('-o', '/dev/null', '-w', '%{http_code}', '-L', `${base}/about`)).toBe('200');
    expect(await curl('-o', '/dev/null', '-w', '%{http_code}', `${base}/nope.html`)).toBe('404');
  });

  it('curl ranges: 206 with the right bytes, 416 past the end', async () => {
    const part = await curl('-r', '100-199', `${base}/files/1k.bin`);
    const whole = await readFile(join(DOCROOT, 'files/1k.bin'));
    expect(Buffer.from(part, 'latin1')).toEqual(whole.subarray(100, 200));
    expect(await curl('-o', '/dev/null', '-w', '%{http_code}', '-r', '5000-', `${base}/files/1k.bin`)).toBe('416');
  });

  it('curl conditionals: -z with the mtime gives 304, an ETag round-trip gives 304', async () => {
    const mtime = (await stat(join(DOCROOT, 'index.html'))).mtime.toUTCString();
    expect(await curl('-o', '/dev/null', '-w', '%{http_code}', '-z', mtime, `${base}/`)).toBe('304');
    const etag = /\r\nETag: ("[^"]+")\r\n/.exec(await curl('-I', `${base}/`))?.[1];
    expect(etag).toBeDefined();
    expect(await curl('-o', '/dev/null', '-w', '%{http_code}', '-H', `If-None-Match: ${etag}`, `${base}/`)).toBe('304');
  });

  it('curl keeps one connection for several URLs (HTTP/1.1 keep-alive)', async () => {
    const out = await curl('-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', '-w', '%{num_connects} ', `${base}/`, `${base}/css/site.css`, `${base}/img/logo.svg`);
    expect(out.trim().split(/\s+/)).toEqual(['1', '0', '0']);
  });

  it('a raw socket may pipeline requests; answers come back in order', async () => {
    const req = (p: string) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const text = await new Promise<string>((resolve, reject) => {
      const s = connect((server.address() as AddressInfo).port, '127.0.0.1');
      let got = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (got += d));
      s.on('end', () => resolve(got));
      s.on('error', reject);
      s.write(req('/files/1k.bin') + req('/robots.txt') + req('/missing') + 'GET /css/site.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    expect(statuses).toEqual(['200', '200', '404', '200']);
  });

  it('wrk for one second: no socket errors, no non-2xx', async () => {
    let out: string;
    try {
      ({ stdout: out } = await run('wrk', ['-t1', '-c8', '-d1s', `${base}/files/1k.bin`]));
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT' && process.env['CI'] !== 'true') return; // wrk not installed
      throw e;
    }
    expect(out).toMatch(/requests in/);
    expect(out).not.toMatch(/Socket errors/);
    expect(out).not.toMatch(/Non-2xx/);
    expect(engine.stats.cache.pinnedDocuments).toBeLessThanOrEqual(8);
  });
});
