/**
 * The stack's super-segments against the kernel's side of the TSO contract: every frame the stack
 * emits with `tsoSegmentBytes` passes `checkTsoFrame` (what `dpf_send_tso` checks), and the
 * kernel's software segmentation (`segmentTso`, what a card without TSO gets) produces exactly the
 * segments of the harnesses' independent segmenter (`segmentTsoFrame`). Test files may import the
 * kernel (scripts/check-layers.mjs checks only non-test sources); the stack itself does not.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TsoScratch, checkTsoFrame, segmentTso } from '../../../kernel/net/tso.js';
import type { TxFrame } from '../tx-frame.js';
import { established } from './harness.js';
import { useSeed } from './seed.js';
import { segmentTsoFrame } from './tso.js';

const scratch = new TsoScratch();

/** The kernel's verdict and segments for one transmitted frame (copies: the scratch is reused). */
function kernelSegments(f: TxFrame): Uint8Array[] | number {
  const iov = f.toIov();
  const total = f.length;
  const info = checkTsoFrame(iov, total, f.tsoSegmentBytes, 1500);
  if (typeof info === 'number') return info;
  const out: Uint8Array[] = [];
  segmentTso(iov, total, info, scratch, (seg) => out.push(new Uint8Array(Buffer.concat(seg))) > 0);
  return out;
}

describe('super-segments of the stack through the kernel TSO path', () => {
  it('property: accepted by checkTsoFrame, and segmentTso cuts them into the same bytes as the test segmenter', () => {
    useSeed('tso cross-check');
    fc.assert(
      fc.property(
        fc.integer({ min: 64, max: 1460 }),
        fc.boolean(),
        fc.integer({ min: 2, max: 64 }),
        fc.array(fc.integer({ min: 1, max: 30_000 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (peerMss, ts, tsoMaxSegments, pieces, close) => {
          const problems: string[] = [];
          let checked = 0;
          const { conn, peer } = established({
            ts,
            synOpts: { mss: peerMss },
            config: { tsoMaxSegments },
            onTransmit: (f) => {
              if (f.tsoSegmentBytes === 0) return;
              const k = kernelSegments(f);
              if (typeof k === 'number') {
                problems.push(`checkTsoFrame: ${k} for ${f.length} bytes, segmentBytes ${f.tsoSegmentBytes}`);
                return;
              }
              const mine = segmentTsoFrame(f.toBytes(), f.tsoSegmentBytes);
              if (JSON.stringify(k.map((b) => Array.from(b))) !== JSON.stringify(mine.map((b) => Array.from(b)))) problems.push(`segments differ at ${f.length} bytes`);
              checked++;
            },
          });
          // Several ranges (a head and document parts), so the payload spans iov pieces.
          pieces.forEach((n, i) => conn.send(Uint8Array.from({ length: n }, (_, j) => (i * 31 + j) & 0xff), 0, n, { close: close && i === pieces.length - 1 }));
          for (let i = 0; i < 50 && conn.unackedBytes > 0; i++) {
            peer.take();
            peer.send({ flags: 'A' });
          }
          expect(problems).toEqual([]);
          const total = pieces.reduce((a, b) => a + b, 0);
          if (total >= 2 * conn.mss) expect(checked).toBeGreaterThan(0);
        },
      ),
      { numRuns: 40 },
    );
  });
});
