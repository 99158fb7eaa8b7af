/**
 * Benchmark: does Cheetah's precomputed response header help? (facts §3.2 item 2)
 *
 * A = `precomputeHeaders: true` (a head per document, Date refreshed once per second),
 * B = `precomputeHeaders: false` (every head encoded per response). Two workloads on cached
 * documents: `respond` (the engine turning a parsed GET into a response: where the heads are
 * made) and `connection` (bytes in → responses out through HttpConnection, 16 pipelined GETs
 * per receive: the whole HTTP path). Method of shared/BENCHMARKING.md: A and B interleaved for
 * `ROUNDS` rounds, medians and per-round ratios, machine written down; JSON then markdown on stdout.
 *
 * Not a test and not part of the engine: the only file here that reads real time.
 * Run: `npm run build && node dist/bench/http/head.js [rounds]`
 */
import { performance } from 'node:perf_hooks';
import { HttpConnection } from '../../src/cheetah/http/connection.js';
import { HttpEngine, type HttpResponse } from '../../src/cheetah/http/engine.js';
import { MemoryDocumentSource } from '../../src/cheetah/http/memory-source.js';
import type { HttpRequest } from '../../src/cheetah/http/parser.js';
import { bytes } from '../../src/cheetah/http/testing.js';
import { machineInfo, median } from '../lib/common.js';

const ROUNDS = Number(process.argv[2] ?? 7);
const RESPOND_ITERATIONS = 100_000;
const CONNECTION_BATCHES = 5_000;
const PIPELINE = 16;

function makeEngine(precomputeHeaders: boolean): HttpEngine {
  const source = new MemoryDocumentSource([
    ['/files/1k.bin', { bytes: new Uint8Array(1024).fill(7), mtimeMs: 1_600_000_000_000 }],
    ['/index.html', { bytes: bytes('<!DOCTYPE html><title>x</title>'), mtimeMs: 1_600_000_000_000 }],
  ]);
  const t0 = Date.now() - performance.now();
  return new HttpEngine({
    source,
    clock: () => t0 + performance.now(),
    options: { precomputeHeaders, revalidateAfterMs: 3_600_000 },
  });
}

const REQUEST: HttpRequest = {
  kind: 'request',
  method: 'GET',
  target: '/files/1k.bin',
  version: '1.1',
  keepAlive: true,
  host: '198.18.0.2',
  ifMatch: undefined,
  ifNoneMatch: undefined,
  ifModifiedSince: undefined,
  ifUnmodifiedSince: undefined,
  range: undefined,
  ifRange: undefined,
  headBytes: 0,
  bodyBytes: 0,
  bodyUnread: false,
};

const PIPELINED = bytes(
  'GET /files/1k.bin HTTP/1.1\r\nHost: 198.18.0.2\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n'.repeat(PIPELINE),
);

async function warm(engine: HttpEngine): Promise<void> {
  const r = engine.respond(REQUEST);
  (r instanceof Promise ? await r : r).release();
}

/** ns per request of `engine.respond` on a cache hit. */
function runRespond(engine: HttpEngine): number {
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < RESPOND_ITERATIONS; i++) {
    const r = engine.respond(REQUEST) as HttpResponse;
    sink += r.header.length;
    r.release();
  }
  const ns = ((performance.now() - start) * 1e6) / RESPOND_ITERATIONS;
  if (sink === 0) throw new Error('no output');
  return ns;
}

/** ns per request through HttpConnection, PIPELINE requests per receive. */
function runConnection(engine: HttpEngine): number {
  let count = 0;
  const conn = new HttpConnection(engine, {
    send(r) {
      count++;
      r.release();
    },
    close() {},
    resume() {},
  });
  const start = performance.now();
  for (let i = 0; i < CONNECTION_BATCHES; i++) conn.receive(PIPELINED);
  const ns = ((performance.now() - start) * 1e6) / (CONNECTION_BATCHES * PIPELINE);
  conn.destroy();
  if (count !== CONNECTION_BATCHES * PIPELINE) throw new Error(`expected ${CONNECTION_BATCHES * PIPELINE} responses, got ${count}`);
  return ns;
}

async function main(): Promise<void> {
  const a = makeEngine(true);
  const b = makeEngine(false);
  await warm(a);
  await warm(b);
  const workloads = { respond: runRespond, connection: runConnection } as const;
  const raw: Record<string, { precomputed: number[]; built: number[]; ratio: number[] }> = {};
  for (const [name, fn] of Object.entries(workloads)) {
    fn(a); // JIT warm-up of both paths before measuring
    fn(b);
    const r = { precomputed: [] as number[], built: [] as number[], ratio: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const na = fn(a);
      const nb = fn(b);
      r.precomputed.push(na);
      r.built.push(nb);
      r.ratio.push(nb / na);
    }
    raw[name] = r;
  }
  const result = {
    benchmark: 'cheetah-http-precomputed-heads',
    date: new Date().toISOString(),
    machine: machineInfo(`A=precomputed, B=built per response; interleaved A B for ${ROUNDS} rounds`),
    method: `A=precomputed, B=built per response; interleaved A B for ${ROUNDS} rounds; ns per request`,
    parameters: { respondIterations: RESPOND_ITERATIONS, connectionBatches: CONNECTION_BATCHES, pipeline: PIPELINE, document: '/files/1k.bin (1024 B), cached' },
    raw,
    medians: Object.fromEntries(
      Object.entries(raw).map(([k, r]) => [k, { precomputedNs: median(r.precomputed), builtNs: median(r.built), builtOverPrecomputed: median(r.ratio) }]),
    ),
  };
  console.log(JSON.stringify(result, null, 2));
  console.log('\n| workload | precomputed (ns/req) | built per response (ns/req) | built ÷ precomputed (median of rounds) | per-round ratios |');
  console.log('|---|---:|---:|---:|---|');
  for (const [k, r] of Object.entries(raw)) {
    const m = result.medians[k]!;
    console.log(`| ${k} | ${m.precomputedNs.toFixed(0)} | ${m.builtNs.toFixed(0)} | ${m.builtOverPrecomputed.toFixed(2)} | ${r.ratio.map((x) => x.toFixed(2)).join(' ')} |`);
  }
}

await main();
