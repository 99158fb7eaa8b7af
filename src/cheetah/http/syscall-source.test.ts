/**
 * `SyscallDocumentSource`: the document source over the docroot system calls, run inside kernel
 * processes — its answers for files, directories and refusals; document bytes that are views of
 * the process's own heap, freed on release; and the HTTP engine serving the whole sample site
 * (site/www) through it, byte-exact, in-process (no network: requests go straight into
 * `HttpConnection`, as the other tests of this folder do).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Libc } from '../../kernel/abi/index.js';
import { Kernel } from '../../kernel/kernel.js';
import { Docroot } from '../../kernel/vfs/docroot.js';
import { inProcess, makeTempDocroot, patternBytes, type TempDocroot } from '../../kernel/vfs/testing.js';
import { packageRoot } from '../../util/package-root.js';
import { HttpConnection } from './connection.js';
import { HttpEngine, type HttpResponse } from './engine.js';
import { formatHttpDate } from './http-date.js';
import { SyscallDocumentSource } from './syscall-source.js';
import { RecordingSink, bytes, headFields } from './testing.js';

const WWW = join(packageRoot(), 'site', 'www');
const T0 = 1_900_000_000_000;

let t: TempDocroot;
beforeAll(async () => {
  t = await makeTempDocroot();
});
afterAll(async () => {
  await t.cleanup();
});

/** Mount `dir`, run `body` in a process with `memoryBytes`, check nothing leaked; returns what `body` returns. */
async function inCheetah<T>(dir: string, memoryBytes: number, body: (sys: Libc) => Promise<T>): Promise<T> {
  const k = new Kernel();
  const d = Docroot.mount(k, { dir });
  const out = await inProcess(k, body, memoryBytes);
  await d.idle();
  expect(d.leaks()).toEqual([]);
  k.assertNoLeaks();
  return out;
}

/** Documents the engine's cache holds in memory: how many, and their bytes. */
function cachedDocuments(engine: HttpEngine): { docs: number; bytes: number } {
  let docs = 0;
  let bytes = 0;
  for (const e of engine.cache.entries()) {
    if (e.kind === 'file' && e.bytes.length > 0) {
      docs++;
      bytes += e.bytes.length;
    }
  }
  return { docs, bytes };
}

describe('stat and read answers', () => {
  it('files, directories and every refusal map to the cache’s answers', async () => {
    const mtimeMs = Math.floor(statSync(join(t.root, 'index.html')).mtimeMs);
    const got = await inCheetah(t.root, 4 << 20, async (sys) => {
      const s = new SyscallDocumentSource(sys);
      const paths = ['/index.html', '/files/0.bin', '/a', '/', '/missing', '/index.html/x', '/unreadable.txt', '/private/inner.txt', '/escape-rel', '/loop1', '/fifo', '/sock', '/inside-rel'];
      const out: Record<string, unknown> = {};
      for (const p of paths) out[p] = await s.stat(p);
      out['read /a'] = await s.read('/a');
      out['read /missing'] = await s.read('/missing');
      out['read /unreadable.txt'] = await s.read('/unreadable.txt');
      out['too long'] = await s.stat(`/${'x'.repeat(5000)}`);
      out['counters'] = s.counters;
      return out;
    });
    expect(got).toMatchObject({
      '/index.html': { kind: 'file', sizeBytes: 46, mtimeMs },
      '/files/0.bin': { kind: 'file', sizeBytes: 0 },
      '/a': { kind: 'directory' },
      '/': { kind: 'directory' },
      '/missing': 'not-found',
      '/index.html/x': 'not-found',
      '/unreadable.txt': 'forbidden',
      '/private/inner.txt': 'forbidden',
      '/escape-rel': 'forbidden',
      '/loop1': 'forbidden',
      '/fifo': 'forbidden',
      '/sock': 'forbidden',
      '/inside-rel': { kind: 'file', sizeBytes: 46 },
      'read /a': 'not-found',
      'read /missing': 'not-found',
      'read /unreadable.txt': 'forbidden',
      'too long': 'not-found',
    });
  });

  it('document bytes are views of the process heap, byte-exact; release frees them, and only them, once', async () => {
    await inCheetah(t.root, 8 << 20, async (sys) => {
      const s = new SyscallDocumentSource(sys);
      const base = sys.heapStats().inUseBytes;
      const sizes = [1, 4095, 65537, 1 << 20];
      const docs: Uint8Array[] = [];
      for (const n of sizes) {
        const b = await s.read(`/files/${n}.bin`);
        if (typeof b === 'string') throw new Error(b);
        expect(b.buffer).toBe(sys.mem.buffer);
        expect(Buffer.compare(b, patternBytes(n, n + 1))).toBe(0);
        docs.push(b);
      }
      const total = sizes.reduce((a, b) => a + b, 0);
      expect(sys.heapStats().inUseBytes - base).toBeGreaterThanOrEqual(total);
      expect(s.counters).toMatchObject({ documentsHeld: 4, bytesHeld: total, bytesRead: total });
      const empty = await s.read('/files/0.bin');
      expect(empty).toEqual(new Uint8Array(0));
      s.release(empty as Uint8Array);
      s.release(new Uint8Array(16));
      s.release(sys.mem.subarray(docs[0]!.byteOffset + 1, docs[0]!.byteOffset + 2));
      for (const b of docs) s.release(b);
      for (const b of docs) s.release(b);
      expect(s.counters).toMatchObject({ documentsHeld: 0, bytesHeld: 0, releases: 4 });
      expect(sys.heapStats().inUseBytes).toBe(base);
    });
  });

  it('a document the heap cannot hold is an io-error, counted', async () => {
    await inCheetah(t.root, 512 << 10, async (sys) => {
      const s = new SyscallDocumentSource(sys);
      expect(await s.read(`/files/${1 << 20}.bin`)).toBe('io-error');
      expect(s.counters.outOfMemory).toBe(1);
    });
  });
});

/** Every file of the sample site, as docroot paths. */
function siteFiles(dir = WWW): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? siteFiles(p) : [`/${relative(WWW, p)}`];
  });
}

/** Send `text` on a fresh connection and wait (a turn of the kernel at a time) for `n` responses. */
async function exchange(sys: Libc, engine: HttpEngine, text: string, n = 1): Promise<HttpResponse[]> {
  const sink = new RecordingSink();
  const conn = new HttpConnection(engine, sink);
  expect(conn.receive(bytes(text))).toBe(text.length);
  for (let i = 0; i < 10_000 && sink.responses.length < n; i++) await sys.sched_yield();
  expect(sink.responses).toHaveLength(n);
  conn.destroy();
  return sink.responses;
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: exo\r\n${extra}\r\n`;

describe('the HTTP engine serving site/www through the docroot syscalls, inside a process', () => {
  it('every file byte-exact; index, redirect, 404, HEAD, range, 304; pipelined; the cache lives in process memory', async () => {
    const files = siteFiles();
    expect(files.length).toBeGreaterThanOrEqual(10);
    const want = new Map(files.map((f) => [f, readFileSync(join(WWW, f))]));
    await inCheetah('site/www', 64 << 20, async (sys) => {
      const source = new SyscallDocumentSource(sys);
      const engine = new HttpEngine({ source, clock: () => T0 });
      for (const f of files) {
        const [r] = await exchange(sys, engine, get(f));
        expect(r!.status, f).toBe(200);
        expect(Buffer.compare(r!.body, want.get(f)!), f).toBe(0);
        expect(r!.body.length === 0 || r!.body.buffer === sys.mem.buffer, `${f} served by reference from process memory`).toBe(true);
        r!.release();
      }
      const [index] = await exchange(sys, engine, get('/'));
      expect(Buffer.compare(index!.body, want.get('/index.html')!)).toBe(0);
      const [moved] = await exchange(sys, engine, get('/files'));
      expect(moved!.status).toBe(301);
      expect(headFields(moved!).get('location')).toBe('/files/');
      const [missing] = await exchange(sys, engine, get('/no-such-page.html'));
      expect(missing!.status).toBe(404);
      const [head] = await exchange(sys, engine, `HEAD /files/1m.bin HTTP/1.1\r\nHost: exo\r\n\r\n`);
      expect(headFields(head!).get('content-length')).toBe(String(1 << 20));
      expect(head!.body.length).toBe(0);
      const [range] = await exchange(sys, engine, get('/files/1m.bin', 'Range: bytes=1000-1999\r\n'));
      expect(range!.status).toBe(206);
      expect(Buffer.compare(range!.body, want.get('/files/1m.bin')!.subarray(1000, 2000))).toBe(0);
      const lastModified = formatHttpDate(Math.floor(statSync(join(WWW, 'robots.txt')).mtimeMs / 1000));
      const [notModified] = await exchange(sys, engine, get('/robots.txt', `If-Modified-Since: ${lastModified}\r\n`));
      expect(notModified!.status).toBe(304);
      const pipelined = await exchange(sys, engine, get('/robots.txt') + get('/files/10k.bin') + get('/css/site.css'), 3);
      expect(pipelined.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(Buffer.compare(pipelined[1]!.body, want.get('/files/10k.bin')!)).toBe(0);
      for (const r of [index, moved, missing, head, range, notModified, ...pipelined]) r!.release();
      // What the cache holds is exactly what the source has handed out and not had back.
      const cached = cachedDocuments(engine);
      expect(source.counters.documentsHeld).toBe(cached.docs);
      expect(source.counters.bytesHeld).toBe(cached.bytes);
      expect(sys.heapStats().inUseBytes).toBeGreaterThan(cached.bytes);
    });
  });

  it('with a small cache budget, evicted documents go back to the heap once no response holds them', async () => {
    await inCheetah('site/www', 16 << 20, async (sys) => {
      const source = new SyscallDocumentSource(sys);
      // 16 KiB: the 100 KiB file is never cached, and the later pages evict the 10 KiB one.
      const engine = new HttpEngine({ source, clock: () => T0, options: { cacheBudgetBytes: 16 * 1024 } });
      const base = sys.heapStats().inUseBytes;
      const held: HttpResponse[] = [];
      for (const f of ['/files/10k.bin', '/files/100k.bin', '/index.html', '/files/1k.bin', '/gallery.html']) held.push(...(await exchange(sys, engine, get(f))));
      expect(held.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(engine.stats.cache.evictions).toBeGreaterThan(0);
      expect(source.counters.releases).toBe(0); // every document is still pinned by its response
      for (const r of held) r.release();
      const cached = cachedDocuments(engine);
      expect(source.counters.releases).toBe(5 - cached.docs);
      expect(source.counters.documentsHeld).toBe(cached.docs);
      expect(source.counters.bytesHeld).toBe(cached.bytes);
      expect(sys.heapStats().inUseBytes - base).toBeLessThan(cached.bytes + 16 * 1024);
    });
  });
});
