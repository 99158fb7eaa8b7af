import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkGeneratedSource } from './codegen-check.js';
import { DpfEngine } from './engine.js';
import { verify } from './lang/verify.js';
import { runSeed, vocabAst } from './testing/arbitraries.js';

describe('codegen allow-list check', () => {
  it.each([
    ['return globalThis;', 'name "globalThis"'],
    ['return h.constructor;', 'property not allowed'],
    ['return K[o + 1].constructor;', 'property not allowed'],
    ["return K['constructor'];", 'only non-negative integer literals'],
    ["return h['rows'];", 'index into something not indexable'],
    ['return p[0] + "x";', 'only non-negative integer literals'],
    ['while (1) {}', 'node type not in the allow-list'],
    ['const y = 1;', 'declared name not allowed'],
    ['let x = 1;', 'only single const declarations'],
    ['const x = 1, r = 2;', 'only single const declarations'],
    ['return T[n];', 'T indexed by a non-literal'],
    ['return h.find.call(p);', 'only .find() and shapes[…]() calls'],
    ["return (0, eval)('1');", 'only .find() and shapes[…]() calls'],
    ['return h.tabs[0](p);', 'only .find() and shapes[…]() calls'],
    ['return -1;', 'node type not in the allow-list'],
    ['if (n) {} else {}', 'else branch'],
    ['return 1.5;', 'only non-negative integer literals'],
    ['return p?.[0];', 'node type not in the allow-list'],
    ['return `x`;', 'node type not in the allow-list'],
    ['return n || 1;', 'operator ||'],
    ['return n = 1;', 'node type not in the allow-list'],
    ['return undefined;', 'name "undefined"'],
    ['}); (function () {', 'one expression expected'],
    ['return 1; }\u2028(function () {', 'does not parse'],
  ])("refuses 'use strict'; %s", (body, why) => {
    expect(checkGeneratedSource(`'use strict';\n${body}`)).toContain(why);
  });

  it('refuses a body without the strict-mode directive, and code that does not parse', () => {
    expect(checkGeneratedSource('return 0;')).toContain("must start with 'use strict'");
    expect(checkGeneratedSource("'use strict'; return (;")).toContain('does not parse');
  });

  it('accepts every unit the generator emits for random tries, and the trie does not depend on insertion order (property)', () => {
    const filters = fc.array(vocabAst(7), { minLength: 1, maxLength: 30 });
    let units = 0;
    fc.assert(
      fc.property(filters, (asts) => {
        const ok = asts.map((a) => verify(a)).flatMap((v) => (v.ok ? [v.filter] : []));
        const forward = new DpfEngine();
        const backward = new DpfEngine();
        for (const f of ok) forward.insert(f, { pid: 1, uid: 0 });
        for (const f of [...ok].reverse()) backward.insert(f, { pid: 1, uid: 0 });
        const sources = forward.printCode().split(/^\/\/ unit .*$/m).slice(1);
        for (const s of sources) {
          units++;
          expect(checkGeneratedSource(s.trim())).toBeNull();
        }
        expect(forward.stats().codegen.checkFailures).toBe(0);
        expect(forward.printTrie().replace(/#\d+/g, '#')).toBe(backward.printTrie().replace(/#\d+/g, '#'));
      }),
      { seed: runSeed('codegen check'), numRuns: 80 },
    );
    expect(units).toBeGreaterThan(80);
  });
});
