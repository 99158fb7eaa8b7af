import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { latin1 } from './ascii.js';
import { HeadBytes, HeadTemplate, encodeHead, type ConnectionMode, type HeadField, type HttpMemory } from './head.js';
import { HttpDateClock } from './http-date.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
const fcOpts = { seed, numRuns: 300 };
console.log(`head.test fast-check seed=${seed} (SEED=${seed} reproduces)`);

const text = (b: Uint8Array) => latin1(b, 0, b.length);

describe('response heads', () => {
  it('status line, Date at its offset, Server, fields, Connection, final CRLF (RFC 9112 §4, §5)', () => {
    const clock = new HttpDateClock();
    const date = clock.at(784111777_000);
    const h = encodeHead(200, 'Cheetah', [['Content-Length', '5']], 'close', date);
    const s = text(h.bytes);
    expect(s.startsWith('HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer:')).toBe(true);
    expect(s.endsWith('Content-Length: 5\r\nConnection: close\r\n\r\n')).toBe(true);
    expect(s.slice(h.dateOffset, h.dateOffset + 29)).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
  });

  it('property: every head has an even length (facts §3.2: keeps checksummed data 16-bit aligned)', () => {
    const clock = new HttpDateClock();
    const field = fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,12}$/), fc.stringMatching(/^[ -~]{0,30}$/));
    fc.assert(
      fc.property(
        fc.constantFrom(200, 304, 404, 416),
        fc.stringMatching(/^[!-~]{1,20}$/),
        fc.array(field, { maxLength: 6 }),
        fc.constantFrom<ConnectionMode>('persist', 'keep-alive', 'close'),
        (status, server, fields, mode) => {
          const h = encodeHead(status, server, fields as HeadField[], mode, clock.at(0));
          expect(h.bytes.length % 2).toBe(0);
          const s = text(h.bytes);
          expect(s.endsWith('\r\n\r\n')).toBe(true);
          expect(s).toMatch(new RegExp(`\\r\\nServer: {1,2}${server.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\r\\n`));
        },
      ),
      fcOpts,
    );
  });

  it('a template patches the date once per second, into a copy: bytes already handed out never change', () => {
    const clock = new HttpDateClock();
    const t0 = 1_000_000_000_000;
    const date = clock.at(t0);
    const t = new HeadTemplate(encodeHead(200, 'C', [], 'persist', date), date);
    const a = t.at(clock, t0).bytes;
    const aCopy = a.slice();
    expect(t.at(clock, t0 + 999).bytes).toBe(a);
    const b = t.at(clock, t0 + 1000).bytes;
    expect(b).not.toBe(a);
    expect(a).toEqual(aCopy);
    expect(b.length).toBe(a.length);
    expect(text(b)).toContain('Date: Sun, 09 Sep 2001 01:46:41 GMT');
    expect(text(a)).toContain('Date: Sun, 09 Sep 2001 01:46:40 GMT');
  });

  it('copies in an HttpMemory go back once the template moved on and no response holds them', () => {
    const live = new Set<Uint8Array>();
    let allocs = 0;
    const memory: HttpMemory = {
      alloc: (n) => {
        allocs++;
        const b = new Uint8Array(n);
        live.add(b);
        return b;
      },
      free: (b) => {
        expect(live.delete(b)).toBe(true);
      },
    };
    const clock = new HttpDateClock();
    const t0 = 1_000_000_000_000;
    const date = clock.at(t0);
    const t = new HeadTemplate(encodeHead(200, 'C', [], 'close', date), date, memory);
    const a = t.at(clock, t0);
    a.retain();
    const b = t.at(clock, t0 + 1000); // a retired but still held
    expect(live.has(a.bytes)).toBe(true);
    a.release();
    expect(live.has(a.bytes)).toBe(false);
    expect(live.has(b.bytes)).toBe(true);
    t.at(clock, t0 + 2000); // b retired, unheld: freed at once
    expect(live.has(b.bytes)).toBe(false);
    t.retire();
    expect(live.size).toBe(0);
    // A retired template asked again makes a fresh copy rather than handing out freed bytes.
    const c = t.at(clock, t0 + 2000);
    expect(live.has(c.bytes)).toBe(true);
    expect(text(c.bytes)).toContain('01:46:42 GMT');
    expect(allocs).toBe(4);
    // Out of memory: the bytes come from the JS heap and nothing is given back for them.
    const full: HttpMemory = { alloc: () => undefined, free: () => expect.unreachable() };
    const once = HeadBytes.once(full, encodeHead(404, 'C', [], 'close', date).bytes);
    once.retain();
    once.release();
    expect(text(once.bytes)).toMatch(/^HTTP\/1.1 404 Not Found/);
  });
});
