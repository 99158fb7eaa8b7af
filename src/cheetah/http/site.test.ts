/**
 * The sample site (site/www): the generated files are what site/generate.mjs makes, the sizes
 * and hashes the pages state are true, and every local link resolves to a file the engine serves.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../util/package-root.js';
import { contentTypeFor } from './mime.js';

const SITE = join(packageRoot(), 'site');
const WWW = join(SITE, 'www');
const { generate, SIZED_FILES } = (await import(join(SITE, 'generate.mjs'))) as {
  generate: () => Map<string, Uint8Array>;
  SIZED_FILES: [string, number][];
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [relative(WWW, p).split('\\').join('/')];
  });
}

/** PNG pixels: the concatenated IDAT data, inflated (zlib's bytes may differ between versions, pixels may not). */
function pngPixels(png: Uint8Array): Uint8Array {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const idat: Uint8Array[] = [];
  for (let off = 8; off < png.length; ) {
    const len = dv.getUint32(off);
    const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
    if (type === 'IDAT') idat.push(png.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  return inflateSync(Buffer.concat(idat));
}

describe('sample site', () => {
  const generated = generate();

  it('the committed generated files are what site/generate.mjs makes', () => {
    for (const [path, bytes] of generated) {
      const committed = readFileSync(join(WWW, path));
      const [a, b] = path.endsWith('.png') ? [pngPixels(committed), pngPixels(bytes)] : [committed, bytes];
      // Buffer.compare, not toEqual: deep equality of a megabyte is slow.
      expect(Buffer.compare(a, b), `${path} differs: run node site/generate.mjs`).toBe(0);
    }
  });

  it('the test documents have exactly 0 B, 1 KiB, 10 KiB, 100 KiB and 1 MiB', () => {
    expect(SIZED_FILES.map(([, n]) => n)).toEqual([0, 1024, 10240, 102400, 1048576]);
    for (const [path, size] of SIZED_FILES) expect(statSync(join(WWW, path)).size).toBe(size);
  });

  it('files/index.html states the true SHA-256 of each test document', () => {
    const page = readFileSync(join(WWW, 'files/index.html'), 'utf8');
    for (const [path] of SIZED_FILES) {
      const sum = createHash('sha256').update(readFileSync(join(WWW, path))).digest('hex');
      expect(page).toContain(`<a href="${path.slice('files/'.length)}">`);
      expect(page).toContain(sum);
    }
  });

  it('every local href/src in the pages resolves to a file (directories to their index.html)', () => {
    const pages = walk(WWW).filter((p) => p.endsWith('.html'));
    expect(pages.length).toBeGreaterThanOrEqual(4);
    for (const page of pages) {
      const html = readFileSync(join(WWW, page), 'utf8');
      for (const m of html.matchAll(/(?:href|src)="([^"#?]+)[^"]*"/g)) {
        const ref = m[1]!;
        if (/^[a-z]+:/.test(ref)) continue;
        const abs = ref.startsWith('/') ? ref : new URL(ref, `http://x/${page}`).pathname;
        const file = abs.endsWith('/') ? `${abs}index.html` : abs;
        expect(existsSync(join(WWW, file)), `${page} → ${ref}`).toBe(true);
      }
    }
  });

  it('every file has a known Content-Type, and the gallery inlines seven objects (Cheetah grouped up to 7)', () => {
    for (const f of walk(WWW)) if (!f.endsWith('.bin')) expect(contentTypeFor(`/${f}`), f).not.toBe('application/octet-stream');
    const gallery = readFileSync(join(WWW, 'gallery.html'), 'utf8');
    expect(new Set([...gallery.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1])).size).toBe(7);
    expect(JSON.parse(readFileSync(join(WWW, 'site.json'), 'utf8'))).toHaveProperty('pages');
  });

  it('the JPEG and the PNGs are structurally sound', () => {
    const jpg = readFileSync(join(WWW, 'img/platter.jpg'));
    expect([...jpg.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect([...jpg.subarray(-2)]).toEqual([0xff, 0xd9]);
    for (const f of walk(WWW).filter((p) => p.endsWith('.png'))) {
      const png = readFileSync(join(WWW, f));
      const dv = new DataView(png.buffer, png.byteOffset);
      const [w, h] = [dv.getUint32(16), dv.getUint32(20)];
      expect(pngPixels(png).length, f).toBe(h * (1 + 3 * w));
    }
  });
});
