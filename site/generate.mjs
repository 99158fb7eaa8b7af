#!/usr/bin/env node
// Generates the binary files of the sample site (site/www) deterministically, with no
// dependency beyond Node: the fixed-size test documents, the PNG and JPEG images and the
// favicon. HTML, CSS and SVG are written by hand and committed as they are.
//
// The outputs are committed too; src/cheetah/http/site.test.ts regenerates them into a
// temporary folder and checks that they match what is committed (PNG by decoded pixels, since
// zlib's exact bytes may differ between Node versions).
//
// Usage: node site/generate.mjs [outDir]     (default: site/www)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));

/** xorshift32: a tiny seeded generator, so every byte below is reproducible. */
function rng(seed) {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** The fixed-size documents of the benchmarks (thesis §4.2.1 sweeps 0 B … 1 MB): a seeded byte pattern. */
export const SIZED_FILES = [
  ['files/0b.bin', 0],
  ['files/1k.bin', 1024],
  ['files/10k.bin', 10 * 1024],
  ['files/100k.bin', 100 * 1024],
  ['files/1m.bin', 1024 * 1024],
];

function sizedFile(size) {
  const next = rng(size + 1);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    const v = next();
    for (let k = 0; k < 4 && i + k < size; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
  }
  return out;
}

// ---------------------------------------------------------------- raster drawing (RGB float)

class Canvas {
  constructor(w, h) {
    this.w = w;
    this.h = h;
    this.px = new Float64Array(w * h * 3);
  }
  /** Vertical gradient between two colours. */
  gradient(top, bottom) {
    for (let y = 0; y < this.h; y++) {
      const t = y / (this.h - 1);
      for (let x = 0; x < this.w; x++) this.set(x, y, mix(top, bottom, t), 1);
    }
  }
  set(x, y, c, a) {
    if (x < 0 || y < 0 || x >= this.w || y >= this.h || a <= 0) return;
    const i = (y * this.w + x) * 3;
    for (let k = 0; k < 3; k++) this.px[i + k] = this.px[i + k] * (1 - a) + c[k] * a;
  }
  /** Anti-aliased filled ellipse (coverage from the signed distance, one pixel soft edge). */
  ellipse(cx, cy, rx, ry, c, alpha = 1) {
    for (let y = Math.floor(cy - ry - 1); y <= Math.ceil(cy + ry + 1); y++) {
      for (let x = Math.floor(cx - rx - 1); x <= Math.ceil(cx + rx + 1); x++) {
        const dx = (x + 0.5 - cx) / rx;
        const dy = (y + 0.5 - cy) / ry;
        const d = (Math.sqrt(dx * dx + dy * dy) - 1) * Math.min(rx, ry);
        this.set(x, y, c, alpha * clamp01(0.5 - d));
      }
    }
  }
  /** Anti-aliased ring between radii r0 < r1. */
  ring(cx, cy, r0, r1, c, alpha = 1) {
    for (let y = Math.floor(cy - r1 - 1); y <= Math.ceil(cy + r1 + 1); y++) {
      for (let x = Math.floor(cx - r1 - 1); x <= Math.ceil(cx + r1 + 1); x++) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        this.set(x, y, c, alpha * clamp01(Math.min(r1 - d, d - r0) + 0.5));
      }
    }
  }
  /** Anti-aliased thick line segment. */
  line(x0, y0, x1, y1, width, c, alpha = 1) {
    const len = Math.hypot(x1 - x0, y1 - y0) || 1;
    for (let y = Math.floor(Math.min(y0, y1) - width); y <= Math.ceil(Math.max(y0, y1) + width); y++) {
      for (let x = Math.floor(Math.min(x0, x1) - width); x <= Math.ceil(Math.max(x0, x1) + width); x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const t = Math.max(0, Math.min(1, ((px - x0) * (x1 - x0) + (py - y0) * (y1 - y0)) / (len * len)));
        const d = Math.hypot(px - (x0 + t * (x1 - x0)), py - (y0 + t * (y1 - y0)));
        this.set(x, y, c, alpha * clamp01(width / 2 - d + 0.5));
      }
    }
  }
  rect(x0, y0, w, h, c, alpha = 1) {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) this.set(x, y, c, alpha);
  }
  /** 8-bit RGB bytes. */
  rgb() {
    return Uint8Array.from(this.px, (v) => Math.max(0, Math.min(255, Math.round(v))));
  }
}

const clamp01 = (v) => Math.max(0, Math.min(1, v));
const mix = (a, b, t) => [0, 1, 2].map((k) => a[k] + (b[k] - a[k]) * t);
const hex = (s) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));

// ---------------------------------------------------------------- PNG (RFC 2083 / ISO 15948)

function pngChunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** RGB truecolour PNG, filter type 1 (Sub) on every row, zlib level 9. */
export function encodePng(w, h, rgb) {
  const raw = new Uint8Array(h * (1 + w * 3));
  for (let y = 0; y < h; y++) {
    const o = y * (1 + w * 3);
    raw[o] = 1;
    for (let i = 0; i < w * 3; i++) {
      const cur = rgb[y * w * 3 + i];
      const left = i >= 3 ? rgb[y * w * 3 + i - 3] : 0;
      raw[o + 1 + i] = (cur - left) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', new Uint8Array(0)),
  ];
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- baseline JPEG (ITU T.81)

// Annex K.1 quantization tables (natural order) and K.3 Huffman tables. One DC and one AC
// table serve all three components: they cover every symbol, which is all a decoder needs.
const Q_LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100,
  103, 99,
];
const Q_CHROMA = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
  ...new Array(32).fill(99),
];
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_VALS = [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81,
  0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18,
  0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
  0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75,
  0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
  0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
  0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5,
  0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];

/** Zig-zag scan order (T.81 Figure 5): ZIGZAG[k] = natural index of the k-th coefficient. */
const ZIGZAG = (() => {
  const out = [];
  for (let s = 0; s < 15; s++) {
    const cells = [];
    for (let y = 0; y < 8; y++) if (s - y >= 0 && s - y < 8) cells.push(y * 8 + (s - y));
    out.push(...(s % 2 === 1 ? cells : cells.reverse()));
  }
  return out;
})();

/** Canonical Huffman codes from BITS/VALS (T.81 Annex C). */
function huffCodes(bits, vals) {
  const codes = new Map();
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]; i++) codes.set(vals[k++], [code++, len]);
    code <<= 1;
  }
  return codes;
}

/** IJG quality scaling of a quantization table. */
function scaleTable(table, quality) {
  const s = quality < 50 ? 5000 / quality : 200 - quality * 2;
  return table.map((q) => Math.max(1, Math.min(255, Math.floor((q * s + 50) / 100))));
}

/** Baseline JPEG, YCbCr 4:4:4, JFIF. */
export function encodeJpeg(w, h, rgb, quality = 85) {
  const qt = [scaleTable(Q_LUMA, quality), scaleTable(Q_CHROMA, quality)];
  const dc = huffCodes(DC_BITS, DC_VALS);
  const ac = huffCodes(AC_BITS, AC_VALS);
  const out = [];
  const u16 = (v) => [(v >> 8) & 0xff, v & 0xff];
  const marker = (m, body) => out.push(0xff, m, ...u16(body.length + 2), ...body);
  out.push(0xff, 0xd8);
  marker(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  marker(0xdb, [0x00, ...ZIGZAG.map((i) => qt[0][i]), 0x01, ...ZIGZAG.map((i) => qt[1][i])]);
  marker(0xc0, [8, ...u16(h), ...u16(w), 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
  marker(0xc4, [0x00, ...DC_BITS, ...DC_VALS, 0x10, ...AC_BITS, ...AC_VALS]);
  marker(0xda, [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]);

  let acc = 0;
  let nbits = 0;
  const put = (code, len) => {
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | ((code >> i) & 1);
      if (++nbits === 8) {
        out.push(acc);
        if (acc === 0xff) out.push(0); // byte stuffing (T.81 F.1.2.3)
        acc = 0;
        nbits = 0;
      }
    }
  };
  const category = (v) => (v === 0 ? 0 : 32 - Math.clz32(Math.abs(v)));
  const amplitude = (v, s) => (v >= 0 ? v : v + (1 << s) - 1);
  const cos = Array.from({ length: 64 }, (_, i) => Math.cos(((2 * (i >> 3) + 1) * (i & 7) * Math.PI) / 16));
  const c = (u) => (u === 0 ? Math.SQRT1_2 : 1);
  const pred = [0, 0, 0];
  const block = new Float64Array(64);
  for (let by = 0; by < h; by += 8) {
    for (let bx = 0; bx < w; bx += 8) {
      for (let comp = 0; comp < 3; comp++) {
        for (let y = 0; y < 8; y++) {
          for (let x = 0; x < 8; x++) {
            const sx = Math.min(w - 1, bx + x); // edge blocks repeat the last column/row
            const sy = Math.min(h - 1, by + y);
            const i = (sy * w + sx) * 3;
            const [r, g, b] = [rgb[i], rgb[i + 1], rgb[i + 2]];
            const v =
              comp === 0
                ? 0.299 * r + 0.587 * g + 0.114 * b
                : comp === 1
                  ? -0.168736 * r - 0.331264 * g + 0.5 * b + 128
                  : 0.5 * r - 0.418688 * g - 0.081312 * b + 128;
            block[y * 8 + x] = v - 128;
          }
        }
        const q = qt[comp === 0 ? 0 : 1];
        const coef = new Array(64);
        for (let v = 0; v < 8; v++) {
          for (let u = 0; u < 8; u++) {
            let s = 0;
            for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) s += block[y * 8 + x] * cos[x * 8 + u] * cos[y * 8 + v];
            coef[v * 8 + u] = Math.round((0.25 * c(u) * c(v) * s) / q[v * 8 + u]);
          }
        }
        const diff = coef[0] - pred[comp];
        pred[comp] = coef[0];
        const ds = category(diff);
        put(...dc.get(ds));
        if (ds > 0) put(amplitude(diff, ds), ds);
        let run = 0;
        for (let k = 1; k < 64; k++) {
          const v = coef[ZIGZAG[k]];
          if (v === 0) {
            run++;
            continue;
          }
          while (run > 15) {
            put(...ac.get(0xf0));
            run -= 16;
          }
          const s = category(v);
          put(...ac.get((run << 4) | s));
          put(amplitude(v, s), s);
          run = 0;
        }
        if (run > 0) put(...ac.get(0x00));
      }
    }
  }
  if (nbits > 0) put(0x7f, 8 - nbits); // pad with 1-bits
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------- the pictures

const NAVY = hex('#0f172a');
const TEAL = hex('#134e4a');
const AMBER = hex('#f59e0b');
const UMBER = hex('#3b2416');
const CYAN = hex('#22d3ee');
const SAND = hex('#fde68a');

/** Hero banner: cheetah rosettes over a night gradient, crossed by a trail of packets. */
function hero() {
  const c = new Canvas(960, 280);
  c.gradient(NAVY, TEAL);
  const next = rng(1998);
  for (let i = 0; i < 150; i++) {
    const x = next() % 960;
    const y = next() % 280;
    const r = 5 + (next() % 11);
    c.ellipse(x, y, r * 1.15, r, AMBER, 0.55);
    c.ring(x, y, r * 0.95, r * 1.35, UMBER, 0.8);
  }
  for (let i = 0; i < 48; i++) {
    const x = 20 + i * 20;
    const y = 140 + Math.sin(i / 4.5) * 70;
    c.rect(Math.round(x - 5), Math.round(y - 4), 10, 8, CYAN, 0.9);
  }
  return c;
}

/** A packet-filter trie: one root fanning out to protocol, address and port nodes. */
function trie() {
  const c = new Canvas(320, 200);
  c.gradient(hex('#f8fafc'), hex('#e2e8f0'));
  const levels = [[160], [80, 240], [40, 120, 200, 280], [20, 60, 100, 140, 180, 220, 260, 300]];
  const ys = [30, 80, 130, 175];
  for (let l = 1; l < levels.length; l++) {
    levels[l].forEach((x, i) => c.line(levels[l - 1][i >> 1], ys[l - 1], x, ys[l], 2.5, hex('#64748b')));
  }
  levels.forEach((row, l) => row.forEach((x) => c.ellipse(x, ys[l], 9, 9, l === 3 ? AMBER : hex('#0e7490'))));
  return c;
}

/** Disk blocks as XN sees them: a grid coloured by block type. */
function blocks() {
  const c = new Canvas(320, 200);
  c.gradient(hex('#1e293b'), hex('#0f172a'));
  const palette = [hex('#334155'), hex('#0e7490'), hex('#f59e0b'), hex('#16a34a'), hex('#e11d48')];
  const next = rng(4096);
  for (let row = 0; row < 10; row++) {
    for (let col = 0; col < 16; col++) {
      const kind = next() % 10;
      const color = palette[kind < 4 ? 0 : kind < 7 ? 1 : kind < 9 ? 2 : kind === 9 && col % 3 ? 3 : 4];
      c.rect(8 + col * 19, 8 + row * 19, 16, 16, color, 1);
    }
  }
  return c;
}

/** A disk platter in soft light, with its arm: continuous tone, which is what JPEG is for. */
function platter() {
  const c = new Canvas(480, 300);
  const cx = 240;
  const cy = 150;
  const R = 130;
  for (let y = 0; y < 300; y++) {
    for (let x = 0; x < 480; x++) {
      c.set(x, y, mix(hex('#cbd5e1'), hex('#475569'), (x + y) / 780), 1);
      const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
      if (d > R + 1) continue;
      // Fine grooves, a rim, and a highlight sweeping across the surface.
      const a = Math.atan2(y - cy, x - cx);
      const groove = 10 * Math.cos(d * 0.9) * Math.exp(-d / 220);
      const glow = 70 * Math.max(0, Math.cos(a * 2 - 0.6)) ** 8 * (d / R);
      const rim = d > R - 5 ? -35 : 0;
      const v = 150 + groove + glow + rim;
      c.set(x, y, [v - 8, v - 2, v + 8], clamp01(R - d + 0.5));
    }
  }
  c.ellipse(cx, cy, 24, 24, hex('#94a3b8'), 1);
  c.ring(cx, cy, 14, 24, hex('#e2e8f0'), 0.5);
  c.ellipse(cx, cy, 7, 7, hex('#334155'), 1);
  // The arm: pivot at the top right, head resting over the outer tracks.
  c.ellipse(430, 50, 18, 18, hex('#1f2937'), 1);
  c.ellipse(430, 50, 7, 7, hex('#9ca3af'), 1);
  c.line(430, 50, 318, 188, 9, hex('#111827'));
  c.rect(306, 182, 18, 14, hex('#f59e0b'), 1);
  return c;
}

/** Favicon: a rosette on navy, 32×32, stored as PNG inside an ICO container. */
function favicon() {
  const c = new Canvas(32, 32);
  c.gradient(NAVY, TEAL);
  c.ellipse(16, 16, 10, 9, AMBER, 1);
  c.ring(16, 16, 9, 13, SAND, 0.9);
  const png = encodePng(32, 32, c.rgb());
  const ico = new Uint8Array(22 + png.length);
  const dv = new DataView(ico.buffer);
  dv.setUint16(2, 1, true); // type: icon
  dv.setUint16(4, 1, true); // one image
  ico[6] = 32;
  ico[7] = 32;
  dv.setUint16(10, 1, true); // planes
  dv.setUint16(12, 32, true); // bits per pixel
  dv.setUint32(14, png.length, true);
  dv.setUint32(18, 22, true);
  ico.set(png, 22);
  return ico;
}

/** Every generated file: path under the docroot → bytes. */
export function generate() {
  const files = new Map();
  for (const [path, size] of SIZED_FILES) files.set(path, sizedFile(size));
  for (const [path, draw] of [
    ['img/cheetah.png', hero],
    ['img/trie.png', trie],
    ['img/blocks.png', blocks],
  ]) {
    const c = draw();
    files.set(path, encodePng(c.w, c.h, c.rgb()));
  }
  const p = platter();
  files.set('img/platter.jpg', encodeJpeg(p.w, p.h, p.rgb(), 85));
  files.set('favicon.ico', favicon());
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? join(here, 'www');
  for (const [path, bytes] of generate()) {
    const full = join(outDir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, bytes);
    console.log(`${String(bytes.length).padStart(8)}  ${path}`);
  }
}
