/**
 * bench/wire/checksum: what the Internet checksum costs per byte (RFC 1071), `partialSum` (32-bit
 * aligned loads for ranges ≥ 512 bytes) against `partialSumBytewise` (two bytes per step, what
 * every range took before) — the sum the kernel's software segmentation computes for every
 * segment of a super-segment sent through a card without TSO, and Cheetah for data it has no
 * precomputed sum for.
 *
 * Sizes: a header (40 B), small segments (256 and 512 B: either side of the switch), a full
 * segment (1,448 B) and a super-segment's payload (64,240 B), each at an aligned and an odd start. Contenders interleave round by round
 * after a discarded warm-up (../shared/BENCHMARKING.md); reported: median ns per byte of on-CPU
 * time, and the median of the per-round ratios.
 *
 * Usage (after `npm run build`): node dist/bench/wire/checksum.js [--rounds 7] [--ms 150] [--out bench/wire/results]
 */
import { parseArgs } from 'node:util';
import { partialSum, partialSumBytewise } from '../../src/wire/checksum.js';
import { fmt, machineHeader, machineInfo, markdownTable, median, runMain, timed, writeResults } from '../lib/common.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    ms: { type: 'string', default: '150' },
    out: { type: 'string', default: 'bench/wire/results' },
  },
});
const ROUNDS = Number(values.rounds);
const MS = Number(values.ms);
const SIZES = [40, 256, 512, 1448, 64_240];
const CONTENDERS = { bytewise: partialSumBytewise, partialSum } as const;
type Contender = keyof typeof CONTENDERS;

/** Sum `length` bytes at `start` again and again; the result feeds a sink so nothing is optimised away. */
function measure(contender: Contender, buf: Uint8Array, start: number, length: number): number {
  const sum = CONTENDERS[contender];
  let sink = 0;
  const repeat = Math.max(1, Math.floor(65_536 / length));
  const t = timed(MS, repeat * length, () => {
    for (let k = 0; k < repeat; k++) sink += sum(buf, start, length, k);
  });
  if (sink < 0) throw new Error('unreachable: sums are non-negative');
  return t.cpuNs / t.units;
}

runMain(async () => {
  const machine = machineInfo(`interleaved rounds (${ROUNDS}) of ~${MS} ms per contender after a warm-up; on-CPU ns per byte`);
  const buf = new Uint8Array(70_000);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 2_654_435_761) >>> 24;
  const rows: Array<Array<string | number>> = [];
  const raw: Record<string, Record<Contender, number[]>> = {};
  for (const length of SIZES) {
    for (const start of [0, 1]) {
      const key = `${length}@${start}`;
      const samples: Record<Contender, number[]> = { bytewise: [], partialSum: [] };
      for (const c of Object.keys(CONTENDERS) as Contender[]) measure(c, buf, start, length);
      const ratios: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const b = measure('bytewise', buf, start, length);
        const w = measure('partialSum', buf, start, length);
        samples.bytewise.push(b);
        samples.partialSum.push(w);
        ratios.push(b / w);
      }
      raw[key] = samples;
      rows.push([
        fmt(length),
        start === 0 ? 'aligned' : 'odd',
        fmt(median(samples.bytewise), 3),
        fmt(median(samples.partialSum), 3),
        `${fmt(median(ratios), 2)}× (${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)})`,
      ]);
    }
  }
  const md = [
    ...machineHeader('bench/wire/checksum', machine),
    markdownTable(['bytes', 'start', 'bytewise ns/byte', 'partialSum ns/byte', 'bytewise / partialSum (rounds)'], rows),
    '',
  ].join('\n');
  writeResults(values.out!, 'checksum', machine, { rounds: ROUNDS, msPerSample: MS, samples: raw }, md);
});
