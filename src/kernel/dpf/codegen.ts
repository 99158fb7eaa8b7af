/**
 * Code generation: each unit of the trie (the root, and each hash entry, down to the next hash
 * nodes) becomes one JS function built with `new Function` — the only place in the project
 * allowed to do so (scripts/check-layers.mjs).
 *
 * Safety: the source is assembled only from the fixed templates below, whose only inputs are
 * numbers from verified, canonical atoms (offsets, masks, shift factors) and positions in the
 * unit's row; no text a process supplied ever reaches it. Compared values and filter ids are
 * read from the unit's row of int32 constants (`K[o + c]`), never written into the source.
 * Every load is guarded by a bounds check (elided when a dominating check on the same base
 * already covers it), and a shift's new base must not pass `n`. Before `new Function`, the
 * source is re-parsed and checked against an allow-list of node types and names
 * (`codegen-check.ts`; on by default).
 *
 * Speed: a unit's row lives in the table that holds the unit (`HashTable.rows`), so a frame
 * costs one probe line and one row line per hash level — flat in the number of connections.
 *
 * Cost of change: since constants live in rows, units of the same shape share one source text,
 * hence one compiled function, through the shape cache. Adding or removing a filter that
 * differs from installed ones only in hashed values (a TCP connection filter: one more entry in
 * the peer-address table) compiles nothing: the new entry's unit finds its shape in the cache.
 *
 * Generated unit, e.g. for an ethertype table below the root:
 * ```js
 * 'use strict';
 * const K = h.rows;
 * const o = i * h.stride + 2;
 * const T = h.tabs[i];
 * if (n >= 14) {
 *   const t = T[0];
 *   const x = t.find((p[12] << 8 | p[13]));
 *   if (x >= 0) { const r = t.shapes[t.rows[x * t.stride + 2]](p, n, b, t, x); if (r !== 0) return r; }
 * }
 * return K[o + 1];
 * ```
 * Row of a unit: `[shape number, head's filter id, then per node: eq → value, id; shift → id]`.
 */
import { fullMask } from './lang/ast.js';
import { type HashTable, ROW_START, type UnitFn } from './hash-table.js';
import { interpretUnit } from './interp.js';
import { NODE_EQ, NODE_HASH, NODE_SHIFT, type Trie, type TrieNode, holderOf, unitHeadOf } from './trie.js';

/**
 * A unit's layout: its nodes in emission order (`reg[0]` is the head), where their constants
 * go in the row, its hash nodes (the order of `T[j]`), and its shape key — a compact text that
 * determines the source, so a cached function is found without generating source.
 */
export interface UnitLayout {
  readonly reg: TrieNode[];
  /** Row position of each node of `reg` (the head's id is at 1). */
  readonly rowAt: number[];
  /** Row length, in int32s. */
  readonly rowLength: number;
  readonly hashes: TrieNode[];
  readonly key: string;
}

/** Bytes past the base a unit's code may assume present: its head's atom already held. */
function checkedAt(head: TrieNode): number {
  return head.kind === NODE_EQ ? head.offset + head.width / 8 : 0;
}

/**
 * The layout of `head`'s unit. Pure. `knownKey`, when given, must be the shape key of this very
 * structure (see {@link sameUnitShape}); the key text is then not built again.
 */
export function layoutUnit(head: TrieNode, knownKey?: string): UnitLayout {
  const reg = [head];
  const rowAt = [1];
  const hashes: TrieNode[] = [];
  let rowLength = 2;
  const parts: string[] | null = knownKey === undefined ? [head.childSeg === 0 ? 'z' : 'b', String(checkedAt(head))] : null;
  const visit = (list: readonly TrieNode[]): void => {
    parts?.push('(');
    for (const node of list) {
      reg.push(node);
      rowAt.push(rowLength);
      parts?.push(`${node.kind}.${node.width}.${node.offset}.${node.mask}.${node.shift}`);
      if (node.kind === NODE_HASH) {
        hashes.push(node);
        continue;
      }
      rowLength += node.kind === NODE_EQ ? 2 : 1;
      visit(node.children);
    }
    parts?.push(')');
  };
  visit(head.children);
  return { reg, rowAt, rowLength, hashes, key: parts === null ? (knownKey as string) : parts.join(' ') };
}

/** Whether or-lists `a` and `b` lay out alike: the same fields in the same nesting, down to hash nodes. */
function sameLists(a: readonly TrieNode[], b: readonly TrieNode[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as TrieNode;
    const y = b[i] as TrieNode;
    if (x.kind !== y.kind || x.width !== y.width || x.offset !== y.offset || x.mask !== y.mask || x.shift !== y.shift) return false;
    if (x.kind !== NODE_HASH && !sameLists(x.children, y.children)) return false;
  }
  return true;
}

/**
 * Whether entries `a` and `b` of one hash node have units of the same shape: the same key from
 * {@link layoutUnit} (entries of one hash node share field, segment and checked length, so
 * only what lies below them can differ). Compares fields; builds no text.
 */
export function sameUnitShape(a: TrieNode, b: TrieNode): boolean {
  return a.parent === b.parent && sameLists(a.children, b.children);
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
  readonly layout: UnitLayout;
  /** Index in `layout.reg` of the next node to emit. */
  next = 1;
  /** Index in `layout.hashes` of the next hash node. */
  nextHash = 0;
  chars = 0;
  readonly maxChars: number;

  constructor(layout: UnitLayout, maxChars: number) {
    this.layout = layout;
    this.maxChars = maxChars;
  }

  line(depth: number, s: string): void {
    const text = `${'  '.repeat(depth)}${s}\n`;
    this.parts.push(text);
    this.chars += text.length;
  }

  /**
   * Emit an or-list (in `layoutUnit`'s order). `base` is the name of the base variable, `zero`
   * true when that base is known to be 0 (segment 0), `checked` how many bytes past the base are
   * known to be in the frame, `depth` the indentation and the number of shift variables so far.
   */
  list(nodes: readonly TrieNode[], base: string, zero: boolean, checked: number, depth: number, shifts: number): boolean {
    for (const node of nodes) {
      if (this.chars > this.maxChars) return false;
      const c = this.layout.rowAt[this.next++] as number;
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
      const k = (at: number): string => `K[o + ${num(at)}]`;
      const ret = (at: number): string => (node.children.length === 0 ? `return ${k(at)};` : `if (${k(at)} !== 0) return ${k(at)};`);
      if (node.kind === NODE_EQ) {
        this.line(depth, `if (${bound === '' ? '' : `${bound} && `}${masked} === ${k(c)}) {`);
        if (!this.list(node.children, base, zero, Math.max(checked, end), depth + 1, shifts)) return false;
        this.line(depth + 1, ret(c + 1));
        this.line(depth, '}');
      } else if (node.kind === NODE_HASH) {
        this.line(depth, bound === '' ? '{' : `if (${bound}) {`);
        this.line(depth + 1, `const t = T[${num(this.nextHash++)}];`);
        this.line(depth + 1, `const x = t.find(${masked});`);
        this.line(depth + 1, `if (x >= 0) { const r = t.shapes[t.rows[x * t.stride + ${num(ROW_START)}]](p, n, ${base}, t, x); if (r !== 0) return r; }`);
        this.line(depth, '}');
      } else if (node.kind === NODE_SHIFT) {
        const b = `b${num(shifts + 1)}`;
        const unsigned = node.width === 32 ? `(${masked} >>> 0)` : masked;
        const delta = node.shift === 0 ? unsigned : `${unsigned} * ${num(2 ** node.shift)}`;
        // Always a block of its own: a sibling shift declares the same name.
        this.line(depth, bound === '' ? '{' : `if (${bound}) {`);
        this.line(depth + 1, `const ${b} = ${zero ? '' : `${base} + `}${delta};`);
        this.line(depth + 1, `if (${b} <= n) {`);
        if (!this.list(node.children, b, false, 0, depth + 2, shifts + 1)) return false;
        this.line(depth + 2, ret(c));
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
 * The source of the unit with layout `layout` (of `head`), or null when it would exceed
 * `maxChars` characters. Pure: the same shape key gives the same text.
 */
export function emitUnit(head: TrieNode, layout: UnitLayout, maxChars: number): string | null {
  const e = new Emitter(layout, maxChars);
  e.line(0, "'use strict';");
  e.line(0, 'const K = h.rows;');
  e.line(0, `const o = i * h.stride + ${num(ROW_START)};`);
  if (layout.hashes.length > 0) e.line(0, 'const T = h.tabs[i];');
  if (!e.list(head.children, 'b', head.childSeg === 0, checkedAt(head), 0, 0)) return null;
  e.line(0, 'return K[o + 1];');
  return e.chars > maxChars ? null : e.parts.join('');
}

/** Write the row and nested tables of `head`'s unit (run by `fn`, laid out as `layout`) into its holder. */
function writeUnit(trie: Trie, head: TrieNode, fn: UnitFn, layout: UnitLayout | null): void {
  const holder = holderOf(trie, head);
  const row = holder.row(head.v, layout?.rowLength ?? 2) as Int32Array;
  row[0] = holder.shapeNumber(fn);
  row[1] = head.fid;
  holder.tabs[holder.find(head.v)] = layout === null ? null : layout.hashes.map((h) => h.table as HashTable<TrieNode>);
  if (layout === null) return;
  for (let k = 1; k < layout.reg.length; k++) {
    const node = layout.reg[k] as TrieNode;
    const c = layout.rowAt[k] as number;
    node.rowAt = c;
    if (node.kind === NODE_EQ) {
      row[c] = node.v;
      row[c + 1] = node.fid;
    } else if (node.kind === NODE_SHIFT) {
      row[c] = node.fid;
    }
  }
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
  readonly source: string;
  users: number;
}

/** Sibling entries compared with a new hash entry before its shape key is built as text. */
const SIBLINGS_TRIED = 4;

/** Builds and caches unit functions, and keeps their rows; one per engine. */
export class UnitCompiler {
  readonly #trie: Trie;
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

  constructor(trie: Trie, opts: UnitCompilerOptions) {
    this.#trie = trie;
    this.#opts = opts;
  }

  /**
   * The shape key of a sibling hash entry whose unit has `head`'s shape, if one is found at
   * once: the per-connection case (a new peer's entry beside others alike) then skips building
   * the key text. At most {@link SIBLINGS_TRIED} other compiled entries are looked at.
   */
  #siblingKey(head: TrieNode): string | undefined {
    const table = head.parent?.kind === NODE_HASH ? head.parent.table : null;
    if (table === null || table.size < 2) return undefined;
    let tried = 0;
    for (let slot = 0; slot < table.slots && tried < SIBLINGS_TRIED; slot++) {
      const e = table.at(slot);
      if (e === undefined || e === head || e.unitKey === null) continue;
      if (sameUnitShape(e, head)) return e.unitKey;
      tried++;
    }
    return undefined;
  }

  /** (Re)build the code of unit head `head` and install it: its row, then `head.fn`. */
  build(head: TrieNode): void {
    this.stats.unitBuilds++;
    const layout = layoutUnit(head, this.#siblingKey(head));
    if (head.unitKey === layout.key) {
      head.reg = layout.reg;
      writeUnit(this.#trie, head, head.fn as UnitFn, layout);
      return;
    }
    // Retire first: a sweep it triggers must not drop the shape about to be used.
    this.retire(head);
    let shape = this.#shapes.get(layout.key);
    if (shape === undefined) {
      const source = emitUnit(head, layout, this.#opts.maxUnitChars);
      const fn = source === null ? null : this.#compile(source);
      if (source === null || fn === null) {
        this.stats.interpretedUnits++;
        head.reg = [head];
        writeUnit(this.#trie, head, interpretUnit, null);
        head.fn = interpretUnit;
        return;
      }
      shape = { fn, source, users: 0 };
      this.#shapes.set(layout.key, shape);
      this.stats.shapes++;
      this.stats.sourceChars += source.length;
      this.#idle++;
    } else {
      this.stats.cacheHits++;
    }
    if (shape.users++ === 0) this.#idle--;
    head.unitKey = layout.key;
    head.reg = layout.reg;
    writeUnit(this.#trie, head, shape.fn, layout);
    head.fn = shape.fn;
  }

  /** The source of the cached shape `key` (a unit head's `unitKey`), if cached. */
  sourceOf(key: string): string | undefined {
    return this.#shapes.get(key)?.source;
  }

  /** Filter id of `node` changed without a change of structure: update the row that holds it. */
  updateFid(node: TrieNode): void {
    const head = unitHeadOf(node);
    if (head.fn === null) return;
    const holder = holderOf(this.#trie, head);
    const base = holder.find(head.v) * holder.stride + ROW_START;
    if (head === node) holder.rows[base + 1] = node.fid;
    else if (head.fn !== interpretUnit) holder.rows[base + node.rowAt + (node.kind === NODE_EQ ? 1 : 0)] = node.fid;
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

  /** Every cached shape: its key, source and number of users. */
  shapes(): { key: string; source: string; users: number }[] {
    return [...this.#shapes].map(([key, s]) => ({ key, source: s.source, users: s.users }));
  }

  #sweep(): void {
    for (const [key, s] of this.#shapes) {
      if (s.users !== 0) continue;
      this.#shapes.delete(key);
      this.stats.shapes--;
      this.stats.sourceChars -= s.source.length;
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
    return new Function('p', 'n', 'b', 'h', 'i', source) as UnitFn;
  }
}
