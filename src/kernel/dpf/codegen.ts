/**
 * Code generation: each unit of the trie (the root, and each hash entry, down to the next hash
 * nodes) becomes one JS function built with `new Function` — the only place in the project
 * allowed to do so (scripts/check-layers.mjs).
 *
 * Safety: the source is assembled only from the fixed templates below, whose only inputs are
 * numbers from verified, canonical atoms (offsets, masks, shift factors) and indexes into the
 * unit's region; no text a process supplied ever reaches it. Constants compared against
 * (`N[i].v`), filter ids (`N[i].fid`) and hash tables (`N[i].table`) are read from the region's
 * nodes, never written into the source. Every load is guarded by a bounds check (elided when a
 * dominating check on the same base already covers it) and a shift's new base must not pass
 * `n`. Before `new Function`, the source can be re-parsed and checked against an allow-list of
 * node types and names (`codegen-check.ts`; on by default).
 *
 * Cost: because constants live in the nodes, units of the same shape share one source text,
 * hence one compiled function, through the shape cache. Adding or removing a filter that
 * differs from installed ones only in hashed values (a TCP connection filter: one more entry in
 * the peer-address table) compiles nothing: the new entry's unit finds its shape in the cache.
 *
 * Generated unit, e.g. for an ethertype table below the root:
 * ```js
 * 'use strict';
 * if (n >= 14) {
 *   const e = N[1].table.get((p[12] << 8 | p[13]));
 *   if (e !== undefined) { const r = e.fn(p, n, b, e.reg); if (r !== 0) return r; }
 * }
 * return N[0].fid;
 * ```
 */
import { fullMask } from './lang/ast.js';
import { interpretUnit } from './interp.js';
import { NODE_EQ, NODE_HASH, NODE_SHIFT, type TrieNode, type UnitFn } from './trie.js';

/** A unit's source and region (`reg[0]` is the head). */
export interface UnitCode {
  readonly source: string;
  readonly reg: TrieNode[];
}

/** A validated number as a literal. Anything else is a bug upstream, never input. */
function num(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`codegen: not a verified number: ${String(n)}`);
  return String(n);
}

function hexNum(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`codegen: not a verified number: ${String(n)}`);
  return `0x${n.toString(16)}`;
}

class Emitter {
  readonly parts: string[] = [];
  readonly reg: TrieNode[] = [];
  chars = 0;
  readonly maxChars: number;

  constructor(head: TrieNode, maxChars: number) {
    this.reg.push(head);
    this.maxChars = maxChars;
  }

  line(depth: number, s: string): void {
    const text = `${'  '.repeat(depth)}${s}\n`;
    this.parts.push(text);
    this.chars += text.length;
  }

  /**
   * Emit an or-list. `base` is the name of the base variable, `zero` true when that base is
   * known to be 0 (segment 0), `checked` how many bytes past the base are known to be in the
   * frame, `depth` the indentation and the number of shift variables so far.
   */
  list(nodes: readonly TrieNode[], base: string, zero: boolean, checked: number, depth: number, shifts: number): boolean {
    for (const node of nodes) {
      if (this.chars > this.maxChars) return false;
      const i = this.reg.push(node) - 1;
      const bytes = node.width / 8;
      const end = node.offset + bytes;
      const bound = end <= checked ? '' : zero ? `n >= ${num(end)}` : `${base} + ${num(end)} <= n`;
      const at = (k: number): string => (zero ? num(node.offset + k) : `${base} + ${num(node.offset + k)}`);
      const bytesOut: string[] = [];
      for (let k = 0; k < bytes; k++) {
        const s = 8 * (bytes - 1 - k);
        bytesOut.push(s === 0 ? `p[${at(k)}]` : `p[${at(k)}] << ${num(s)}`);
      }
      const load = bytes === 1 ? (bytesOut[0] as string) : `(${bytesOut.join(' | ')})`;
      const masked = node.mask === fullMask(node.width) ? load : `(${load} & ${hexNum(node.mask)})`;
      const inner = Math.max(checked, end);
      const ret = node.children.length === 0 ? `return N[${num(i)}].fid;` : `if (N[${num(i)}].fid !== 0) return N[${num(i)}].fid;`;
      if (node.kind === NODE_EQ) {
        this.line(depth, `if (${bound === '' ? '' : `${bound} && `}${masked} === N[${num(i)}].v) {`);
        if (!this.list(node.children, base, zero, inner, depth + 1, shifts)) return false;
        this.line(depth + 1, ret);
        this.line(depth, '}');
      } else if (node.kind === NODE_HASH) {
        this.line(depth, bound === '' ? '{' : `if (${bound}) {`);
        this.line(depth + 1, `const e = N[${num(i)}].table.get(${masked});`);
        this.line(depth + 1, `if (e !== undefined) { const r = e.fn(p, n, ${base}, e.reg); if (r !== 0) return r; }`);
        this.line(depth, '}');
      } else if (node.kind === NODE_SHIFT) {
        const next = `b${num(shifts + 1)}`;
        const unsigned = node.width === 32 ? `(${masked} >>> 0)` : masked;
        const delta = node.shift === 0 ? unsigned : `${unsigned} * ${num(2 ** node.shift)}`;
        // Always a block of its own: a sibling shift declares the same name.
        this.line(depth, bound === '' ? '{' : `if (${bound}) {`);
        this.line(depth + 1, `const ${next} = ${zero ? '' : `${base} + `}${delta};`);
        this.line(depth + 1, `if (${next} <= n) {`);
        if (!this.list(node.children, next, false, 0, depth + 2, shifts + 1)) return false;
        this.line(depth + 2, ret);
        this.line(depth + 1, '}');
        this.line(depth, '}');
      } else {
        throw new Error(`codegen: node kind ${node.kind} in an or-list`);
      }
    }
    return true;
  }
}

/**
 * The source of `head`'s unit, or null when it would exceed `maxChars` characters. Pure: the
 * same shape gives the same text. A unit runs after its head's own atom held, so the head's
 * bytes are already known to be in the frame.
 */
export function emitUnit(head: TrieNode, maxChars: number): UnitCode | null {
  const e = new Emitter(head, maxChars);
  e.line(0, "'use strict';");
  const checked = head.kind === NODE_EQ ? head.offset + head.width / 8 : 0;
  if (!e.list(head.children, 'b', head.childSeg === 0, checked, 0, 0)) return null;
  e.line(0, 'return N[0].fid;');
  if (e.chars > maxChars) return null;
  return { source: e.parts.join(''), reg: e.reg };
}

/** Counters of the code generator. */
export interface CodegenStats {
  /** Functions built with `new Function` (shape-cache misses). */
  compiles: number;
  /** Units whose shape was found in the cache. */
  cacheHits: number;
  /** Units (re)built. */
  unitBuilds: number;
  /** Units over the size budget, running on the interpreter. */
  interpretedUnits: number;
  /** Shapes in the cache. */
  shapes: number;
  /** Sources the allow-list check refused (a template bug; the unit is interpreted instead). */
  checkFailures: number;
  /** Characters of source in the cache. */
  sourceChars: number;
}

/** Options of {@link UnitCompiler}. */
export interface UnitCompilerOptions {
  /** Largest unit source, in characters, before the unit falls back to the interpreter. */
  readonly maxUnitChars: number;
  /** Unused shapes kept for reuse; past this many, or past `maxCacheChars`, unused shapes are dropped. */
  readonly maxIdleShapes: number;
  /** Characters of cached source beyond which unused shapes are dropped. */
  readonly maxCacheChars: number;
  /** Checks a source before it is compiled: null when fine, else the problem. */
  readonly check?: ((source: string) => string | null) | undefined;
  /** Told about a source the check refused. */
  readonly onCheckFailure?: ((problem: string, source: string) => void) | undefined;
}

interface Shape {
  readonly fn: UnitFn;
  users: number;
}

/** Builds and caches unit functions; one per engine. */
export class UnitCompiler {
  readonly #shapes = new Map<string, Shape>();
  readonly #opts: UnitCompilerOptions;
  #idle = 0;
  readonly stats: CodegenStats = {
    compiles: 0,
    cacheHits: 0,
    unitBuilds: 0,
    interpretedUnits: 0,
    shapes: 0,
    sourceChars: 0,
    checkFailures: 0,
  };

  constructor(opts: UnitCompilerOptions) {
    this.#opts = opts;
  }

  /** (Re)build the code of unit head `head` and install it by swapping `head.fn`/`head.reg`. */
  build(head: TrieNode): void {
    this.stats.unitBuilds++;
    const code = emitUnit(head, this.#opts.maxUnitChars);
    if (code === null) {
      this.retire(head);
      this.#interpret(head);
      return;
    }
    if (head.unitKey === code.source) {
      head.reg = code.reg;
      return;
    }
    // Retire first: a sweep it triggers must not drop the shape about to be used.
    this.retire(head);
    let shape = this.#shapes.get(code.source);
    if (shape === undefined) {
      const fn = this.#compile(code.source);
      if (fn === null) {
        this.#interpret(head);
        return;
      }
      shape = { fn, users: 0 };
      this.#shapes.set(code.source, shape);
      this.stats.shapes++;
      this.stats.sourceChars += code.source.length;
      this.#idle++;
    } else {
      this.stats.cacheHits++;
    }
    if (shape.users++ === 0) this.#idle--;
    head.unitKey = code.source;
    head.reg = code.reg;
    head.fn = shape.fn;
  }

  /** Drop `head`'s code (it is no longer a unit head, or is about to be rebuilt). */
  retire(head: TrieNode): void {
    if (head.fn === interpretUnit) this.stats.interpretedUnits--;
    const key = head.unitKey;
    head.fn = null;
    head.reg = null;
    head.unitKey = null;
    if (key === null) return;
    const shape = this.#shapes.get(key);
    if (shape === undefined || --shape.users !== 0) return;
    this.#idle++;
    if (this.#idle > this.#opts.maxIdleShapes || this.stats.sourceChars > this.#opts.maxCacheChars) this.#sweep();
  }

  /** Every cached source with its number of users. */
  shapes(): { source: string; users: number }[] {
    return [...this.#shapes].map(([source, s]) => ({ source, users: s.users }));
  }

  #interpret(head: TrieNode): void {
    this.stats.interpretedUnits++;
    head.reg = [head];
    head.fn = interpretUnit;
  }

  #sweep(): void {
    for (const [key, s] of this.#shapes) {
      if (s.users !== 0) continue;
      this.#shapes.delete(key);
      this.stats.shapes--;
      this.stats.sourceChars -= key.length;
    }
    this.#idle = 0;
  }

  /** Compile checked source; null (counted, reported) when the check refuses it — a template bug. */
  #compile(source: string): UnitFn | null {
    const problem = this.#opts.check?.(source) ?? null;
    if (problem !== null) {
      this.stats.checkFailures++;
      this.#opts.onCheckFailure?.(problem, source);
      return null;
    }
    this.stats.compiles++;
    return new Function('p', 'n', 'b', 'N', source) as UnitFn;
  }
}
