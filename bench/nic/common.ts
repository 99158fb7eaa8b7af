/**
 * What the bench/nic benchmarks share beyond bench/lib: batch-size histograms, the results
 * folder and the common options.
 */
import { join } from 'node:path';
import type { NicCounters } from '../../src/nic/index.js';
import { packageRoot } from '../../src/util/package-root.js';

/** Batch-size histogram of the batches between two counter snapshots. */
export function diffHistogram(a: NicCounters, b: NicCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.rxBatchSizes)) {
    const d = v - (a.rxBatchSizes[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

export const DEFAULT_RESULTS_DIR = join(packageRoot(), 'bench', 'nic', 'results');

/** Sum of several batch-size histograms. */
export function sumHistograms(hs: readonly (Record<string, number> | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of hs) for (const [k, v] of Object.entries(h ?? {})) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Markdown lines listing each contender's batch-size histogram (contenders without one are left out). */
export function histogramLines(rows: readonly { contender: string; rxBatchSizes: Record<string, number> }[]): string[] {
  return [
    'Receive batch sizes (all rounds):',
    '',
    ...rows
      .filter((r) => Object.keys(r.rxBatchSizes).length > 0)
      .map((r) => `- ${r.contender}: ${Object.entries(r.rxBatchSizes).map(([k, v]) => `${k}: ${v}`).join(', ')}`),
    '',
  ];
}

/** The command-line options every bench/nic benchmark takes (`parseArgs` options). */
export function commonOptions(countDefault: string) {
  return {
    rounds: { type: 'string', default: '5' },
    count: { type: 'string', default: countDefault },
    batches: { type: 'string', default: '64,1' },
    out: { type: 'string', default: DEFAULT_RESULTS_DIR },
  } as const;
}

export * from '../lib/common.js';
