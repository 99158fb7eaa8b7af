/**
 * The filter shape cache must be invisible except in speed: a cached shape gives exactly the
 * canonical atoms decode + verify + normalize give, refuses exactly what the verifier refuses
 * (through the full path, so with the verifier's reason), and an engine with the cache accepts
 * and refuses the same filters with the same ids, codes and reasons, holds the same trie and
 * demultiplexes every frame the same as an engine without it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DpfEngine, type InsertResult } from './engine.js';
import { fullMask, type FilterAst, type FilterAtom } from './lang/ast.js';
import { DPF_MAX_FILTER_BYTES, encodeFilterBinary, parseFilterBinary } from './lang/binary.js';
import { DPF_BOGUSOP } from './lang/codes.js';
import { normalize, normalizeWithSegments } from './lang/normalize.js';
import { verify } from './lang/verify.js';
import { FilterShapeCache, skeletonHash } from './shape-cache.js';
import { anyAst, anyFrame, imprint, runSeed, vocabAst } from './testing/arbitraries.js';
import { buildFrame, ipv4 } from './testing/frames.js';

/** `ast` with its compared values replaced: from `pick` (0: keep, 1: zero, 2: all ones, else the number), masked to the width. */
function revalue(ast: FilterAst, picks: readonly number[]): FilterAst {
  return {
    atoms: ast.atoms.map((a, i): FilterAtom => {
      if (a.op !== 'eq' && a.op !== 'meq') return a;
      const pick = picks[i % Math.max(1, picks.length)] ?? 0;
      const full = fullMask(a.width);
      const value = pick === 0 ? a.value : pick === 1 ? 0 : pick === 2 ? full : (pick % (full + 1)) >>> 0;
      return { ...a, value };
    }),
  };
}

/** Decode + verify + normalize: the full path's canonical atoms, or null when refused. */
function fullPath(bytes: Uint8Array): ReturnType<typeof normalize>['atoms'] | null {
  const p = parseFilterBinary(bytes);
  const v = p.ok ? verify(p.ast) : undefined;
  return v?.ok === true ? normalize(v.filter).atoms : null;
}

function learnt(bytes: Uint8Array): FilterShapeCache {
  const cache = new FilterShapeCache(8);
  const p = parseFilterBinary(bytes);
  const v = p.ok ? verify(p.ast) : undefined;
  if (v?.ok === true) cache.learn(bytes, v.filter, normalizeWithSegments(v.filter).normal);
  return cache;
}

/** A TCP connection filter as Cheetah writes it (src/cheetah/filters.ts): to 198.18.0.2:80 from the peer. */
function connFilter(peerAddr: number, peerPort: number): Uint8Array {
  return encodeFilterBinary({
    atoms: [
      { op: 'eq', width: 16, offset: 12, value: 0x0800 },
      { op: 'meq', width: 16, offset: 20, mask: 0x1fff, value: 0 },
      { op: 'eq', width: 8, offset: 23, value: 6 },
      { op: 'eq', width: 32, offset: 30, value: ipv4('198.18.0.2') },
      { op: 'eq', width: 32, offset: 26, value: peerAddr >>> 0 },
      { op: 'mshift', width: 8, offset: 14, mask: 0x0f, shift: 2 },
      { op: 'eq', width: 16, offset: 16, value: 80 },
      { op: 'eq', width: 16, offset: 14, value: peerPort },
    ],
  });
}

const picks = fc.array(fc.oneof(fc.constantFrom(0, 0, 1, 2), fc.nat()), { minLength: 1, maxLength: 12 });

describe('FilterShapeCache', () => {
  it('gives exactly the canonical atoms of the full path, and null exactly when the verifier refuses the new values (property)', () => {
    let hits = 0;
    let refusals = 0;
    fc.assert(
      fc.property(fc.oneof(vocabAst(9), anyAst(8)), picks, (ast, pick) => {
        const first = encodeFilterBinary(ast);
        const cache = learnt(first);
        const other = encodeFilterBinary(revalue(ast, pick));
        const expected = fullPath(other);
        const got = cache.lookup(other);
        if (fullPath(first) === null) {
          // A refused filter teaches nothing.
          expect(got).toBeNull();
          expect(cache.stats.entries).toBe(0);
          return;
        }
        expect(cache.stats.hits).toBe(1);
        hits++;
        if (expected === null) refusals++;
        expect(got).toEqual(expected);
        expect(cache.stats.valueRefusals).toBe(expected === null ? 1 : 0);
      }),
      { seed: runSeed('shape cache plan'), numRuns: 1500 },
    );
    // The vocabulary makes both outcomes common; a run that never refused would test half.
    expect(hits).toBeGreaterThan(300);
    expect(refusals).toBeGreaterThan(10);
  });

  it('hashes only the skeleton: values do not change it, anything else does (or makes it unwalkable)', () => {
    const a = connFilter(ipv4('10.0.0.1'), 1234);
    const b = connFilter(ipv4('10.9.8.7'), 4321);
    expect(skeletonHash(a)).toBeGreaterThanOrEqual(0);
    expect(skeletonHash(a)).toBe(skeletonHash(b));
    const listenerPort = encodeFilterBinary({ atoms: [{ op: 'eq', width: 16, offset: 12, value: 0x0800 }] });
    const wider = encodeFilterBinary({ atoms: [{ op: 'eq', width: 16, offset: 14, value: 0x0800 }] });
    expect(skeletonHash(listenerPort)).not.toBe(skeletonHash(wider));
    expect(skeletonHash(a.subarray(0, a.length - 1))).toBe(-1);
    expect(skeletonHash(new Uint8Array([0x44, 0x50, 1, 0, 0, 1, 0xf0, 0, 0]))).toBe(-1);
    expect(skeletonHash(new Uint8Array(3))).toBe(-1);
    expect(skeletonHash(new Uint8Array(DPF_MAX_FILTER_BYTES + 1))).toBe(-1);
  });

  it('never matches another shape under a colliding hash: the whole skeleton is compared', () => {
    const cache = learnt(connFilter(ipv4('10.0.0.1'), 1));
    const other = encodeFilterBinary({ atoms: [{ op: 'eq', width: 16, offset: 12, value: 0x0806 }] });
    expect(cache.lookup(other)).toBeNull();
    expect(cache.stats).toMatchObject({ hits: 0, misses: 1 });
  });

  it('keeps at most maxEntries plans, the oldest out first', () => {
    const cache = new FilterShapeCache(2);
    const shapes = [12, 14, 16].map((offset) => encodeFilterBinary({ atoms: [{ op: 'eq', width: 16, offset, value: 1 }] }));
    for (const s of shapes) {
      const v = verify(parseFilterBinary(s).ok ? (parseFilterBinary(s) as { ast: FilterAst }).ast : { atoms: [] });
      if (v.ok) cache.learn(s, v.filter, normalize(v.filter));
    }
    expect(cache.stats.entries).toBe(2);
    expect(cache.lookup(shapes[0]!)).toBeNull();
    expect(cache.lookup(shapes[2]!)).not.toBeNull();
  });
});

const OWNERS = [1, 1, 1, 2, 3];

type EngineOp = { kind: 'insert'; shape: number; pick: readonly number[]; pid: number } | { kind: 'remove'; pick: number };

describe('DpfEngine with and without the filter shape cache', () => {
  it('accepts and refuses the same filters with the same ids, codes and reasons, and demultiplexes every frame the same (property)', () => {
    let totalHits = 0;
    const op: fc.Arbitrary<EngineOp> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), shape: fc.nat(5), pick: picks, pid: fc.constantFrom(...OWNERS) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
    );
    fc.assert(
      fc.property(fc.array(vocabAst(8), { minLength: 1, maxLength: 6 }), fc.array(op, { minLength: 20, maxLength: 60 }), fc.array(anyFrame, { minLength: 8, maxLength: 8 }), (shapes, ops, frames) => {
        const cached = new DpfEngine({ checkGeneratedCode: false });
        const plain = new DpfEngine({ checkGeneratedCode: false, filterShapes: 0 });
        const ids: number[] = [];
        const canonical: ReturnType<typeof normalize>['atoms'][] = [];
        for (const o of ops) {
          if (o.kind === 'remove') {
            if (ids.length === 0) continue;
            const [id] = ids.splice(o.pick % ids.length, 1);
            expect(cached.remove(id!)).toBe(plain.remove(id!));
          } else {
            const bytes = encodeFilterBinary(revalue(shapes[o.shape % shapes.length]!, o.pick));
            const owner = { pid: o.pid, uid: 0 };
            // The engine may be handed a scratch buffer it must not keep: reuse one.
            const scratch = new Uint8Array(bytes.length);
            scratch.set(bytes);
            const a: InsertResult = cached.insertBinary(scratch, owner);
            scratch.fill(0xee);
            const b: InsertResult = plain.insertBinary(bytes, owner);
            expect(a).toEqual(b);
            if (a.ok) {
              ids.push(a.id);
              const atoms = fullPath(bytes);
              if (atoms !== null) canonical.push(atoms);
            }
          }
          expect(cached.checkTrie()).toEqual([]);
        }
        expect(cached.filters()).toEqual(plain.filters());
        expect(cached.printTrie()).toBe(plain.printTrie());
        for (const f of frames) {
          const variants = [f, ...canonical.slice(0, 4).map((atoms) => imprint(atoms, new Uint8Array(Math.max(f.length, 64))))];
          for (const frame of variants) {
            const id = plain.demux(frame, frame.length);
            expect(cached.demux(frame, frame.length)).toBe(id);
            expect(cached.interpret(frame, frame.length)).toBe(id);
          }
        }
        totalHits += cached.stats().filterShapeCache.hits;
        expect(plain.stats().filterShapeCache).toMatchObject({ hits: 0, entries: 0, maxEntries: 0 });
      }),
      { seed: runSeed('shape cache engine'), numRuns: 150 },
    );
    expect(totalHits).toBeGreaterThan(500);
  });

  it("installs Cheetah's connection filters from the cache after the first, and shows them as written", () => {
    const e = new DpfEngine();
    const owner = { pid: 7, uid: 0 };
    const ids: number[] = [];
    for (let i = 0; i < 50; i++) {
      const r = e.insertBinary(connFilter(ipv4('10.0.0.1') + i, 1024 + i), owner);
      expect(r.ok).toBe(true);
      if (r.ok) ids.push(r.id);
    }
    expect(e.stats().filterShapeCache).toMatchObject({ hits: 49, misses: 1, entries: 1 });
    const shown = e.filter(ids[7]!)!;
    const direct = new DpfEngine({ filterShapes: 0 });
    const again = direct.insertBinary(connFilter(ipv4('10.0.0.1') + 7, 1031), owner);
    expect(again.ok && direct.filter(again.id)).toMatchObject({ text: shown.text, canonical: shown.canonical });
    const frame = buildFrame({ protocol: 6, src: '10.0.0.8', dst: '198.18.0.2', srcPort: 1031, dstPort: 80 });
    expect(e.demux(frame, frame.length)).toBe(ids[7]);
    // The same peer again is an exact duplicate, refused as without the cache.
    const dup = e.insertBinary(connFilter(ipv4('10.0.0.8'), 1031), owner);
    expect(dup).toMatchObject({ ok: false, code: expect.any(Number) });
    expect(e.checkTrie()).toEqual([]);
  });

  it('sends anything but bytes to the decoder, even when it holds the numbers of a cached shape', () => {
    const e = new DpfEngine();
    const owner = { pid: 1, uid: 0 };
    const bytes = connFilter(ipv4('10.0.0.1'), 1);
    expect(e.insertBinary(bytes, owner).ok).toBe(true);
    const r = e.insertBinary([...connFilter(ipv4('10.0.0.2'), 2)] as unknown as Uint8Array, owner);
    expect(r).toMatchObject({ ok: false, code: DPF_BOGUSOP });
    expect(e.stats().filterShapeCache.hits).toBe(0);
  });

  it('refuses a cached shape with a value outside its mask exactly as the verifier does', () => {
    const ast = (value: number): FilterAst => ({ atoms: [{ op: 'eq', width: 16, offset: 12, value: 0x0800 }, { op: 'meq', width: 8, offset: 14, mask: 0xf0, value }] });
    const cached = new DpfEngine();
    const plain = new DpfEngine({ filterShapes: 0 });
    const owner = { pid: 1, uid: 0 };
    expect(cached.insertBinary(encodeFilterBinary(ast(0x40)), owner).ok).toBe(true);
    const bad = encodeFilterBinary(ast(0x45));
    const r = cached.insertBinary(bad, owner);
    expect(r).toEqual(plain.insertBinary(bad, owner));
    expect(r).toMatchObject({ ok: false, code: DPF_BOGUSOP });
    expect(cached.stats().filterShapeCache).toMatchObject({ hits: 1, valueRefusals: 1 });
  });
});
