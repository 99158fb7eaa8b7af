/**
 * The engine's `HttpMemory` contract under load: heads and error pages come from the given
 * memory; bytes a response carries are never given back while it is unreleased; nothing is
 * given back twice; and what stays allocated once every response is released is bounded by
 * the templates still in use (error pages and the heads of cached documents).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpEngine, type HttpResponse } from './engine.js';
import type { HttpMemory } from './head.js';
import { MemoryDocumentSource } from './memory-source.js';
import { RequestParser, type HttpRequest } from './parser.js';
import { resolveHttpOptions } from './options.js';
import { bytes } from './testing.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
console.log(`http memory.test fast-check seed=${seed} (SEED=${seed} reproduces)`);

class CountingMemory implements HttpMemory {
  readonly live = new Set<Uint8Array>();
  /** Bytes some unreleased response refers to: freeing them is a bug. */
  readonly held = new Map<Uint8Array, number>();
  allocs = 0;
  alloc(n: number): Uint8Array {
    this.allocs++;
    const b = new Uint8Array(n);
    this.live.add(b);
    return b;
  }
  free(b: Uint8Array): void {
    if (!this.live.delete(b)) throw new Error('freed twice or never allocated');
    if ((this.held.get(b) ?? 0) > 0) throw new Error('freed while a response holds it');
  }
}

function parse(text: string): HttpRequest {
  const p = new RequestParser(resolveHttpOptions());
  p.write(bytes(text), 0);
  const ev = p.next();
  if (ev?.kind !== 'request') throw new Error(`bad fixture: ${text}`);
  return ev;
}

const DOCS = ['/a.html', '/b.css', '/c.bin', '/d.bin'];
const REQUESTS = [
  ...DOCS.map((d) => `GET ${d} HTTP/1.1\r\nHost: x\r\n\r\n`),
  ...DOCS.map((d) => `GET ${d} HTTP/1.0\r\n\r\n`),
  ...DOCS.map((d) => `HEAD ${d} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
  'GET /c.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=3-9\r\n\r\n',
  'GET /c.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=999999-\r\n\r\n',
  'GET /missing HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /dir HTTP/1.1\r\nHost: x\r\n\r\n',
  'POST /a.html HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /a.html HTTP/1.1\r\nHost: x\r\nIf-None-Match: "*"\r\n\r\n',
].map(parse);

describe('HttpEngine with an HttpMemory', () => {
  it('property: no bytes a response holds are given back, none twice, and what remains is bounded', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ req: fc.nat(REQUESTS.length - 1), advanceMs: fc.constantFrom(0, 0, 300, 1000, 2500), releaseSome: fc.nat(3) }), {
          minLength: 1,
          maxLength: 200,
        }),
        fc.constantFrom(600, 3000, 1 << 20),
        async (steps, budget) => {
          const memory = new CountingMemory();
          const source = new MemoryDocumentSource([
            ['/a.html', { bytes: new Uint8Array(100).fill(1), mtimeMs: 1000 }],
            ['/b.css', { bytes: new Uint8Array(900).fill(2), mtimeMs: 1000 }],
            ['/c.bin', { bytes: new Uint8Array(2000).fill(3), mtimeMs: 1000 }],
            ['/d.bin', { bytes: new Uint8Array(50).fill(4), mtimeMs: 1000 }],
            ['/dir/index.html', { bytes: new Uint8Array(10), mtimeMs: 1000 }],
          ]);
          let now = 1_700_000_000_000;
          const engine = new HttpEngine({ source, clock: () => now, memory, options: { cacheBudgetBytes: budget, revalidateAfterMs: 0 } });
          const open: HttpResponse[] = [];
          const hold = (r: HttpResponse) => {
            open.push(r);
            memory.held.set(r.header, (memory.held.get(r.header) ?? 0) + 1);
          };
          const release = (r: HttpResponse) => {
            memory.held.set(r.header, memory.held.get(r.header)! - 1);
            r.release();
          };
          for (const s of steps) {
            now += s.advanceMs;
            const r = engine.respond(REQUESTS[s.req]!, now);
            hold(r instanceof Promise ? await r : r);
            for (let k = 0; k < s.releaseSome && open.length > 0; k++) release(open.splice(open.length >> 1, 1)[0]!);
          }
          for (const r of open.splice(0)) release(r);
          // Each remaining allocation belongs to an error page (body, heads) or to a cached document's heads.
          const cached = [...engine.cache.entries()].length;
          // An error page is a body plus at most one head per connection mode (301 uses the pages too).
          const errorStatuses = Object.entries(engine.stats.responsesByStatus).filter(([st, n]) => n > 0 && (st === '301' || st >= '400')).length;
          expect(memory.live.size).toBeLessThanOrEqual(errorStatuses * 4 + cached * 6);
        },
      ),
      { seed, numRuns: 150 },
    );
  });

  it('heads and error pages are placed in the memory given', async () => {
    const memory = new CountingMemory();
    const source = new MemoryDocumentSource([['/a.html', { bytes: new Uint8Array(10), mtimeMs: 0 }]]);
    const engine = new HttpEngine({ source, clock: () => 1_700_000_000_000, memory });
    const ok = await engine.respond(REQUESTS[0]!);
    const nf = engine.respond(REQUESTS.find((r) => r.target === '/missing')!);
    const notFound = nf instanceof Promise ? await nf : nf;
    expect(memory.live.has(ok.header)).toBe(true);
    expect(memory.live.has(notFound.header)).toBe(true);
    expect(memory.live.has(notFound.body)).toBe(true);
  });
});
