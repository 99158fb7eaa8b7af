/**
 * Issue #5 acceptance on the real daemon, in a namespace of its own: Cheetah serves the sample
 * site to real clients on all three TAP cards — curl with HTTP/1.0 and HTTP/1.1 byte-exact, HEAD,
 * conditional and range requests as RFC 9110 says, then wrk (keep-alive and `Connection: close`)
 * and ab with zero socket errors and zero non-2xx, and no DPF filter left for a closed connection.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMachine, type TestMachine } from '../support/machine.js';
import { cheetahStatus, sha256, siteFiles, skipReason, waitForCheetah, wrkReport } from './cheetah-support.js';

const skip = skipReason('curl', 'wrk', 'ab');
const CARDS = [0, 1, 2];
const SITE = siteFiles();

describe.skipIf(skip !== undefined)('Cheetah on the real machine: curl, wrk, ab on all three cards (issue #5)', () => {
  let m: TestMachine;
  let dir: string;
  beforeAll(async () => {
    m = await startTestMachine({ name: 'cheetah-http' });
    dir = mkdtempSync(join(tmpdir(), 'cheetah-http-'));
    await cheetahStatus(m);
  });
  afterAll(async () => {
    await m?.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** curl inside the namespace; `-w` output on stdout. */
  const curl = async (args: string[]) => {
    const r = await m.exec('curl', ['-s', '--max-time', '60', ...args], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`curl ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    return r.stdout;
  };

  it('every file of the sample site, byte-exact, HTTP/1.0 and HTTP/1.1 (keep-alive), on every card', async () => {
    const paths = [...SITE.keys()];
    for (const version of ['--http1.0', '--http1.1']) {
      await Promise.all(
        CARDS.map(async (n) => {
          const args = [version, '-w', '%{http_code}\\n'];
          paths.forEach((p, i) => args.push('-o', join(dir, `${n}${version}-${i}`), `http://198.18.${n}.2${p}`));
          const codes = (await curl(args)).trim().split('\n');
          expect(codes).toEqual(paths.map(() => '200'));
          paths.forEach((p, i) => expect(sha256(readFileSync(join(dir, `${n}${version}-${i}`))), `${version} card ${n} ${p}`).toBe(sha256(SITE.get(p)!)));
        }),
      );
    }
    // The larger documents left as TCP super-segments the cards' TAPs cut (TSO), on every card.
    const nics = (await m.admin<Array<{ name: string; counters: { txTsoFrames: number } }>>('/v1/nics')).body;
    for (const n of nics) expect(n.counters.txTsoFrames, n.name).toBeGreaterThan(0);
    // A directory serves its index; without the slash it is redirected (RFC 9110 §15.4.2).
    const about = await curl(['-o', join(dir, 'about'), '-w', '%{http_code}', 'http://198.18.1.2/about/']);
    expect(about).toBe('200');
    expect(sha256(readFileSync(join(dir, 'about')))).toBe(sha256(SITE.get('/about/index.html')!));
    const moved = await curl(['-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', 'http://198.18.1.2/about']);
    expect(moved).toBe('301 http://198.18.1.2/about/');
    expect(await curl(['-o', '/dev/null', '-w', '%{http_code}', 'http://198.18.2.2/no/such/file'])).toBe('404');
  });

  it('HEAD, conditional requests (304) and ranges (206, 416) as RFC 9110 says', async () => {
    const big = SITE.get('/files/1m.bin')!;
    const head = await curl(['-I', 'http://198.18.0.2/files/1m.bin']);
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const field = (name: string) => new RegExp(`^${name}: *(.*?)\\r$`, 'mi').exec(head)?.[1];
    expect(field('Content-Length')).toBe(String(big.length));
    expect(field('Content-Type')).toBe('application/octet-stream');
    expect(field('Accept-Ranges')).toBe('bytes');
    const etag = field('ETag')!;
    const lastModified = field('Last-Modified')!;
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    const url = 'http://198.18.0.2/files/1m.bin';
    const w = ['-o', join(dir, 'cond'), '-w', '%{http_code} %{size_download}'];
    expect(await curl([...w, '-H', `If-None-Match: ${etag}`, url])).toBe('304 0');
    expect(await curl([...w, '-H', `If-Modified-Since: ${lastModified}`, url])).toBe('304 0');
    expect(await curl([...w, '-H', 'If-None-Match: "something-else"', url])).toBe(`200 ${big.length}`);
    expect(await curl([...w, '-H', 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT', url])).toBe(`200 ${big.length}`);
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    expect(await curl([...w, '-H', 'If-None-Match: "x"', '-H', `If-Modified-Since: ${lastModified}`, url])).toBe(`200 ${big.length}`);

    const hdrs = join(dir, 'range-headers');
    expect(await curl(['-r', '100-199', '-D', hdrs, ...w, url])).toBe('206 100');
    expect(readFileSync(join(dir, 'cond'))).toEqual(big.subarray(100, 200));
    expect(readFileSync(hdrs, 'latin1')).toMatch(/\r\nContent-Range: bytes 100-199\/1048576\r\n/i);
    expect(await curl(['-r', '-500', ...w, url])).toBe('206 500');
    expect(readFileSync(join(dir, 'cond'))).toEqual(big.subarray(big.length - 500));
    expect(await curl(['-r', '2000000-', '-D', hdrs, ...w, url])).toMatch(/^416 /);
    expect(readFileSync(hdrs, 'latin1')).toMatch(/\r\nContent-Range: bytes \*\/1048576\r\n/i);
    // If-Range with the current validator gives the part; with another, the whole (RFC 9110 §13.1.5).
    expect(await curl(['-r', '0-9', '-H', `If-Range: ${etag}`, ...w, url])).toBe('206 10');
    expect(await curl(['-r', '0-9', '-H', 'If-Range: "stale"', ...w, url])).toBe(`200 ${big.length}`);
  });

  it('wrk -c 30 -d 10s on each card, keep-alive and Connection: close: no socket errors, no non-2xx', async () => {
    for (const close of [false, true]) {
      const runs = await Promise.all(
        CARDS.map((n) =>
          m.exec('wrk', ['-t1', '-c30', '-d10s', '--timeout', '10s', ...(close ? ['-H', 'Connection: close'] : []), `http://198.18.${n}.2/files/1k.bin`], { timeoutMs: 60_000 }),
        ),
      );
      for (const r of runs) {
        const rep = wrkReport(r.stdout);
        expect(rep.requests, r.stdout).toBeGreaterThan(1000);
        expect(rep.socketErrors, r.stdout).toBe(0);
        expect(rep.non2xx, r.stdout).toBe(0);
      }
    }
    const s = await waitForCheetah(m, (x) => x.connections.open === 0);
    expect(s.dpf).toMatchObject({ filters: 3, connectionFilters: 0, fallbacks: 0 });
    expect(s.io.bouncedFrames).toBe(0);
  });

  it('ab -n 10000 on each card: every request completes, none fails', async () => {
    const runs = await Promise.all(CARDS.map((n) => m.exec('ab', ['-q', '-n', '10000', '-c', '10', `http://198.18.${n}.2/files/10k.bin`], { timeoutMs: 120_000 })));
    for (const r of runs) {
      expect(r.stdout, r.stderr).toMatch(/Complete requests:\s+10000\b/);
      expect(r.stdout).toMatch(/Failed requests:\s+0\b/);
      expect(r.stdout).not.toMatch(/Non-2xx responses/);
    }
    const s = await waitForCheetah(m, (x) => x.connections.open === 0);
    expect(s.dpf).toMatchObject({ filters: 3, connectionFilters: 0 });
    const dpf = await m.admin<{ filters: Array<{ owner: { pid: number } }> }>('/v1/dpf/filters');
    expect(dpf.body.filters.filter((f) => f.owner.pid === s.pid)).toHaveLength(3);
  });
});
