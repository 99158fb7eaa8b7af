/**
 * Issue #5 acceptance: headless Chromium (Debian's `chromium`), run inside the test namespace,
 * loads http://198.18.0.2/ from Cheetah and renders it. The screenshot is kept as a test artifact
 * (artifacts/cheetah-index.png) and must not be blank: many distinct colours (the page's photos
 * and drawings), and Cheetah must have served the page's subresources (CSS, images).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/package-root.js';
import { startTestMachine, type TestMachine } from '../support/machine.js';
import { cheetahStatus, skipReason, waitForCheetah } from './cheetah-support.js';

const skip = skipReason('chromium');

/** Pixels of an 8-bit RGB or RGBA PNG as RGBA, after undoing the scanline filters (PNG spec §9). */
function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  for (let off = 8; off < png.length; ) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit, non-interlaced PNGs');
      colorType = data[9]!;
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  if (bpp === 0) throw new Error(`PNG colour type ${colorType} not handled`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = new Uint8Array(width * height * 4);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[i] = (line[i]! + pred) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      out.set(cur.subarray(x * bpp, x * bpp + 3), (y * width + x) * 4);
      out[(y * width + x) * 4 + 3] = bpp === 4 ? cur[x * bpp + 3]! : 255;
    }
    prev = cur;
  }
  return { width, height, rgba: out };
}

describe.skipIf(skip !== undefined)('headless Chromium renders the sample site from Cheetah (issue #5)', () => {
  let m: TestMachine;
  let profile: string;
  beforeAll(async () => {
    m = await startTestMachine({ name: 'cheetah-web' });
    profile = mkdtempSync(join(tmpdir(), 'cheetah-chromium-'));
    await cheetahStatus(m);
  });
  afterAll(async () => {
    await m?.destroy();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  });

  it('loads http://198.18.0.2/ and the screenshot shows the page rendered', async () => {
    const artifacts = join(packageRoot(), 'artifacts');
    mkdirSync(artifacts, { recursive: true });
    const shot = join(artifacts, 'cheetah-index.png');
    rmSync(shot, { force: true });
    const before = (await cheetahStatus(m)).requests.total;
    const r = await m.exec(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        '--hide-scrollbars',
        '--window-size=1280,1000',
        '--virtual-time-budget=5000',
        `--screenshot=${shot}`,
        'http://198.18.0.2/',
      ],
      { timeoutMs: 90_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const png = decodePng(readFileSync(shot));
    expect(png.width).toBe(1280);
    const colours = new Set<number>();
    for (let i = 0; i < png.rgba.length; i += 4) colours.add((png.rgba[i]! << 16) | (png.rgba[i + 1]! << 8) | png.rgba[i + 2]!);
    // A blank page is one colour and an error page a few hundred; the site's photos give thousands.
    expect(colours.size).toBeGreaterThan(2000);
    // The page, its stylesheet, logo and four pictures came from Cheetah (the favicon may too).
    const s = await waitForCheetah(m, (x) => x.requests.total - before >= 7);
    expect(s.requests.byStatus['404'] ?? 0).toBe(0);
  });
});
