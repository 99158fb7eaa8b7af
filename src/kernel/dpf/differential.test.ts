/**
 * The differential test of issue 4: over many random filter sets (every state reached by a
 * random sequence of inserts and removes) and many random and mutated frames, the generated
 * code, the reference interpreter and the naive one-filter-at-a-time matcher return the same
 * filter id; the trie checker passes after every mutation; and no frame is accepted by filters
 * of two different owners (protection is sound).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DpfEngine } from './engine.js';
import { DPF_OVERLAP } from './lang/codes.js';
import { type NormalAtom, normalize } from './lang/normalize.js';
import { type VerifiedFilter, verify } from './lang/verify.js';
import { NaiveMatcher, matchesAlone } from './naive.js';
import { imprint, runSeed, vocabAst } from './testing/arbitraries.js';

/** xorshift32: frames are drawn inside the property from one seed, cheaply. */
function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const FRAMES_PER_STATE = 10;
let states = 0;
let frames = 0;
let hits = 0;

type Op = { kind: 'insert'; ast: VerifiedFilter; pid: number } | { kind: 'remove'; pick: number };

const insertOp: fc.Arbitrary<Op> = fc
  .tuple(vocabAst(7), fc.constantFrom(1, 1, 1, 1, 2, 3))
  .map(([ast, pid]) => ({ ast: verify(ast), pid }))
  .filter((x) => x.ast.ok)
  .map(({ ast, pid }) => ({ kind: 'insert', ast: (ast as { filter: VerifiedFilter }).filter, pid }));
const op: fc.Arbitrary<Op> = fc.oneof({ weight: 3, arbitrary: insertOp }, { weight: 1, arbitrary: fc.nat().map((pick): Op => ({ kind: 'remove', pick })) });

describe('differential: compiled ≡ interpreter ≡ naive', () => {
  afterAll(() => {
    console.log(`[differential] ${states} filter sets, ${frames} frames, ${hits} matched`);
  });

  it('agree on every frame for every filter set reached by random inserts and removes (property)', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 80, maxLength: 110 }), fc.integer(), (ops, seed) => {
        const next = rng(seed);
        // The acorn allow-list check of generated code has its own test (codegen.test.ts).
        const e = new DpfEngine({ checkGeneratedCode: false });
        const naive = new NaiveMatcher();
        const installed = new Map<number, { atoms: readonly NormalAtom[]; pid: number }>();
        for (const o of ops) {
          if (o.kind === 'insert') {
            const id = e.insert(o.ast, { pid: o.pid, uid: 0 });
            if (id > 0) {
              const atoms = normalize(o.ast).atoms;
              installed.set(id, { atoms, pid: o.pid });
              naive.add(id, atoms);
            } else {
              expect(id).toBe(DPF_OVERLAP);
            }
          } else {
            const ids = [...installed.keys()];
            const id = ids[o.pick % Math.max(1, ids.length)];
            if (id === undefined) continue;
            expect(e.remove(id)).toBe(0);
            installed.delete(id);
            naive.remove(id);
          }
          const problems = e.checkTrie();
          if (problems.length > 0) throw new Error(`checkTrie: ${problems.join('; ')}\n${e.printTrie()}`);
          states++;
          const list = [...installed.values()];
          for (let k = 0; k < FRAMES_PER_STATE; k++) {
            const f = new Uint8Array(Math.floor(next() * 110));
            for (let i = 0; i < f.length; i++) f[i] = next() < 0.6 ? 0 : Math.floor(next() * 256);
            const target = list[Math.floor(next() * list.length)];
            if (target !== undefined && next() < 0.8) {
              imprint(target.atoms, f);
              for (let m = Math.floor(next() * 3) - 1; m > 0; m--) f[Math.floor(next() * f.length)] = Math.floor(next() * 256);
            }
            const len = next() < 0.2 ? Math.floor(next() * f.length) : f.length;
            // Plain comparisons in this loop: expect() costs more than the three matchers.
            const got = e.demux(f, len);
            const interpreted = e.interpret(f, len);
            const naively = naive.demux(f, len);
            if (interpreted !== got || naively !== got) {
              throw new Error(`compiled ${got}, interpreter ${interpreted}, naive ${naively} on ${Buffer.from(f).toString('hex')} len ${len}\n${e.printTrie()}`);
            }
            let owner = -1;
            for (const x of list) {
              if (!matchesAlone(x.atoms, f, len)) continue;
              if (owner !== -1 && owner !== x.pid) throw new Error(`pids ${owner} and ${x.pid} both accept ${Buffer.from(f).toString('hex')}`);
              owner = x.pid;
            }
            frames++;
            if (got !== 0) hits++;
          }
        }
      }),
      { seed: runSeed('differential'), numRuns: 125 },
    );
    expect(states).toBeGreaterThanOrEqual(10_000);
    expect(frames).toBeGreaterThanOrEqual(100_000);
    expect(hits).toBeGreaterThan(frames / 10);
  });
});
