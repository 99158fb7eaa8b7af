/**
 * `DpfEngine`: the installed filters of one machine, merged into one trie and compiled into
 * one demultiplexer — the kernel object behind AF_DPF sockets and the admin routes.
 *
 * Insert: normalize → limits → protection (`findOverlap`) → merge → rebuild the units whose
 * structure changed (usually none or one, served from the codegen's unit shape cache) → record.
 * A unit is installed by writing its row, then swapping its function reference; JS runs one
 * thing at a time, so a frame is never demultiplexed against a half-built trie. Remove is the
 * reverse, with refcounts. A binary filter whose shape (all but its compared values) was seen
 * before skips decode, verify and normalize: the filter shape cache (`shape-cache.ts`) rebuilds
 * its canonical atoms; protection and merge run as for any filter.
 *
 * Bad input never throws: a refused filter gets a DPF code (and a reason with `tryInsert`).
 */
import { checkGeneratedSource } from './codegen-check.js';
import { type CodegenStats, UnitCompiler } from './codegen.js';
import { checkTrie } from './check.js';
import { searchList } from './interp.js';
import {
  DPF_BOGUSID,
  DPF_BOGUSOP,
  DPF_NOMEM,
  DPF_OVERLAP,
  DPF_TOOMANYFILTERS,
  type DpfErrorCode,
  type DpfRefusal,
  dpfErrorName,
  refuse,
} from './lang/codes.js';
import { type NormalFilter, formatNormalFilter, normalizeWithSegments } from './lang/normalize.js';
import { formatFilterText } from './lang/text.js';
import { FilterShapeCache, type FilterShapeCacheStats } from './shape-cache.js';
import type { SegmentBytes } from './lang/bytes.js';
import { type VerifiedFilter, verify } from './lang/verify.js';
import { parseFilterBinary } from './lang/binary.js';
import type { FilterAst } from './lang/ast.js';
import type { UnitFn } from './hash-table.js';
import { mergeFilter, newChange, type TrieChange, unmergeFilter } from './merge.js';
import { findOverlap } from './overlap.js';
import { printTrieDot, printTrieText } from './print.js';
import { Trie, type TrieNode, successors } from './trie.js';
import { componentLogger, type Logger } from '../../util/log.js';

/** The process a filter belongs to. Filters of the same `pid` may overlap; of different ones, never. */
export interface DpfOwner {
  readonly pid: number;
  readonly uid: number;
}

/** Options of {@link DpfEngine}. */
export interface DpfEngineOptions {
  /** Filters installed at once; ids run 1…maxFilters. Default 4096, at most 2^24. */
  readonly maxFilters?: number;
  /** Trie nodes (atoms and hash nodes) at once; an insert beyond gets `DPF_NOMEM`. Default 262144. */
  readonly maxTrieNodes?: number;
  /**
   * Largest unit source, in characters, before that unit is interpreted instead. Bounds the
   * compile work of one insert (a unit is re-emitted, re-checked and recompiled when its
   * structure changes). Default 65536.
   */
  readonly maxUnitChars?: number;
  /** Re-parse every generated source with acorn against the template allow-list before compiling it. Default true. */
  readonly checkGeneratedCode?: boolean;
  /** Logger; default `componentLogger('dpf')`. */
  readonly log?: Logger;
  /**
   * Filter shapes (binary encodings less their compared values) whose decode, verify and
   * normalize results are kept (docs/dpf.md, "The filter shape cache"); 0 turns the cache off.
   * Default 64.
   */
  readonly filterShapes?: number;
}

/** One installed filter, as the admin API shows it. */
export interface FilterInfo {
  readonly id: number;
  readonly owner: DpfOwner;
  /** The filter as written, in the canonical text spelling. */
  readonly text: string;
  /** Its canonical atoms (what the trie holds). */
  readonly canonical: string;
  /** Frames it won since it was installed. */
  readonly matches: number;
}

/** Counters of an engine. */
export interface DpfStats {
  readonly filters: number;
  readonly maxFilters: number;
  readonly trieNodes: number;
  readonly maxTrieNodes: number;
  readonly inserts: number;
  readonly removes: number;
  /** Refused inserts by code name (`DPF_OVERLAP`…). */
  readonly refused: Readonly<Record<string, number>>;
  /** Frames demultiplexed, and those no filter claimed. */
  readonly frames: number;
  readonly unmatched: number;
  readonly codegen: Readonly<CodegenStats>;
  readonly filterShapeCache: Readonly<FilterShapeCacheStats>;
}

/** Result of {@link DpfEngine.tryInsert}. */
export type InsertResult = { readonly ok: true; readonly id: number } | DpfRefusal;

interface FilterRecord {
  readonly id: number;
  readonly owner: DpfOwner;
  /** The filter as written: verified, or (installed through the shape cache) its binary encoding, decoded when shown. */
  readonly filter: VerifiedFilter | Uint8Array;
  readonly normal: NormalFilter;
  readonly end: TrieNode;
}

const MAX_FILTERS_LIMIT = 1 << 24;

function option(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`DpfEngine: ${name} must be an integer in ${min}…${max}`);
  return v;
}

/** `len` as a whole number of bytes in `0…frame.length` (NaN and negatives: 0). */
function clampLength(frame: Uint8Array, len: number): number {
  if (len >= frame.length) return frame.length;
  return len > 0 ? Math.floor(len) : 0;
}

/** The AST of a binary filter the engine installed (so it decodes). */
function decoded(bytes: Uint8Array): FilterAst {
  const p = parseFilterBinary(bytes);
  if (!p.ok) throw new Error(`DpfEngine: an installed filter no longer decodes: ${p.reason}`);
  return p.ast;
}

/** The DPF demultiplexer of one machine. */
export class DpfEngine {
  readonly #trie = new Trie();
  readonly #compiler: UnitCompiler;
  readonly #records: (FilterRecord | undefined)[] = [];
  /** Frames won per filter id; index 0 counts frames nobody claimed. */
  readonly #matches: Float64Array;
  readonly #maxFilters: number;
  readonly #maxTrieNodes: number;
  readonly #maxUnitChars: number;
  readonly #log: Logger;
  /** Ids freed, reused oldest first (a FIFO ring) so a stale id stays unused as long as possible. */
  readonly #free: Int32Array;
  #freeHead = 0;
  #freeCount = 0;
  #nextId = 1;
  #count = 0;
  #inserts = 0;
  #removes = 0;
  readonly #refused: Record<string, number> = {};
  readonly #shapes: FilterShapeCache;

  constructor(opts: DpfEngineOptions = {}) {
    this.#maxFilters = option(opts.maxFilters, 4096, 1, MAX_FILTERS_LIMIT, 'maxFilters');
    this.#maxTrieNodes = option(opts.maxTrieNodes, 262144, 1, 2 ** 31 - 1, 'maxTrieNodes');
    this.#maxUnitChars = option(opts.maxUnitChars, 65536, 64, 2 ** 30, 'maxUnitChars');
    this.#log = opts.log ?? componentLogger('dpf');
    this.#shapes = new FilterShapeCache(option(opts.filterShapes, 64, 0, 65536, 'filterShapes'));
    this.#matches = new Float64Array(this.#maxFilters + 1);
    this.#free = new Int32Array(this.#maxFilters);
    this.#compiler = new UnitCompiler(this.#trie, {
      maxUnitChars: this.#maxUnitChars,
      maxIdleShapes: 256,
      maxCacheChars: 4 * this.#maxUnitChars,
      check: opts.checkGeneratedCode === false ? undefined : checkGeneratedSource,
      onCheckFailure: (problem, source) => this.#log.error({ problem, source }, 'generated DPF code failed its allow-list check; unit interpreted'),
    });
    this.#compiler.build(this.#trie.root);
  }

  /**
   * Install a verified filter for `owner`. Returns its id (> 0) or a DPF code: `DPF_TOOMANYFILTERS`,
   * `DPF_NOMEM`, `DPF_OVERLAP` (an exact duplicate, or it would share frames with another
   * owner's filter), `DPF_BOGUSOP` (a malformed owner).
   */
  insert(filter: VerifiedFilter, owner: DpfOwner): number {
    const r = this.tryInsert(filter, owner);
    return r.ok ? r.id : r.code;
  }

  /**
   * Decode, verify and install a filter in its binary encoding (what the attach call copied in
   * from a process): {@link tryInsert} after `parseFilterBinary` and `verify` — or, when a filter
   * of the same shape was verified before, after the shape cache's per-byte value checks (same
   * result, codes and reasons; docs/dpf.md "The filter shape cache"). `bytes` is not kept.
   */
  insertBinary(bytes: Uint8Array, owner: DpfOwner): InsertResult {
    const cache = this.#shapes;
    // Anything but bytes goes to the decoder, which refuses it.
    if (cache.stats.maxEntries > 0 && bytes instanceof Uint8Array) {
      const atoms = cache.lookup(bytes);
      // `bytes` may be a caller's scratch buffer: the record keeps a copy.
      if (atoms !== null) return this.#install({ atoms }, null, bytes.slice(), owner);
    }
    const parsed = parseFilterBinary(bytes);
    if (!parsed.ok) return this.#refuse(parsed.code, parsed.reason);
    const v = verify(parsed.ast);
    if (!v.ok) return this.#refuse(v.code, v.reason, v.log);
    const { normal, segments } = normalizeWithSegments(v.filter);
    if (cache.stats.maxEntries > 0) cache.learn(bytes, v.filter, normal);
    return this.#install(normal, segments, v.filter, owner);
  }

  /** {@link insert}, with the reason when refused. */
  tryInsert(filter: VerifiedFilter, owner: DpfOwner): InsertResult {
    const { normal, segments } = normalizeWithSegments(filter);
    return this.#install(normal, segments, filter, owner);
  }

  /** Install canonical filter `normal` (segments as `findOverlap` takes them) written as `filter`. */
  #install(normal: NormalFilter, segments: readonly SegmentBytes[] | null, filter: VerifiedFilter | Uint8Array, owner: DpfOwner): InsertResult {
    if (!Number.isSafeInteger(owner.pid) || owner.pid < 0 || !Number.isSafeInteger(owner.uid) || owner.uid < 0) {
      return this.#refuse(DPF_BOGUSOP, 'the owner needs a non-negative integer pid and uid');
    }
    if (this.#count >= this.#maxFilters) {
      return this.#refuse(DPF_TOOMANYFILTERS, `all ${this.#maxFilters} filter ids are in use`);
    }
    if (this.#trie.nodes + normal.atoms.length + 1 > this.#maxTrieNodes) {
      return this.#refuse(DPF_NOMEM, `the trie holds ${this.#trie.nodes} of at most ${this.#maxTrieNodes} nodes`);
    }
    const conflict = findOverlap(this.#trie, normal.atoms, segments, owner.pid);
    if (conflict !== null) {
      const other = conflict.fid !== 0 ? `filter #${conflict.fid} of pid ${conflict.ownerPid}` : `a filter of pid ${conflict.ownerPid}`;
      return this.#refuse(
        DPF_OVERLAP,
        conflict.kind === 'duplicate' ? `exact duplicate of ${other}` : `would receive frames that ${other} accepts`,
      );
    }
    const id = this.#allocId();
    const change = newChange();
    const end = mergeFilter(this.#trie, normal.atoms, id, owner.pid, change);
    this.#apply(change);
    this.#records[id] = { id, owner: { pid: owner.pid, uid: owner.uid }, filter, normal, end };
    this.#matches[id] = 0;
    this.#count++;
    this.#inserts++;
    if (this.#log.isLevelEnabled('trace')) this.#log.trace({ id, pid: owner.pid }, 'filter installed');
    return { ok: true, id };
  }

  /** Remove filter `id`. Returns 0, or `DPF_BOGUSID` when no such filter is installed. */
  remove(id: number): 0 | typeof DPF_BOGUSID {
    const rec = Number.isSafeInteger(id) ? this.#records[id] : undefined;
    if (rec === undefined) return DPF_BOGUSID;
    const change = newChange();
    unmergeFilter(this.#trie, rec.end, change);
    this.#apply(change);
    this.#records[id] = undefined;
    this.#free[(this.#freeHead + this.#freeCount) % this.#maxFilters] = id;
    this.#freeCount++;
    this.#count--;
    this.#removes++;
    if (this.#log.isLevelEnabled('trace')) this.#log.trace({ id }, 'filter removed');
    return 0;
  }

  /** Remove every filter of process `pid` (it exited). Returns how many were removed. */
  removeOwner(pid: number): number {
    let n = 0;
    for (const rec of this.#records) {
      if (rec !== undefined && rec.owner.pid === pid) {
        this.remove(rec.id);
        n++;
      }
    }
    return n;
  }

  /**
   * The id of the filter that claims frame `frame` (its first `len` bytes), or 0. Never reads
   * at or past `min(len, frame.length)`; counts the match. Allocates nothing.
   */
  demux(frame: Uint8Array, len: number): number {
    const n = clampLength(frame, len);
    const id = (this.#trie.root.fn as UnitFn)(frame, n, 0, this.#trie.rootTable, 0);
    this.#matches[id] = (this.#matches[id] as number) + 1;
    return id;
  }

  /** {@link demux} by the reference interpreter, without counting: for tests and comparison. */
  interpret(frame: Uint8Array, len: number): number {
    return searchList(this.#trie.root.children, frame, clampLength(frame, len), 0);
  }

  /** Every installed filter, by id. */
  filters(): FilterInfo[] {
    const out: FilterInfo[] = [];
    for (const rec of this.#records) if (rec !== undefined) out.push(this.#info(rec));
    return out;
  }

  /** One installed filter, or undefined. */
  filter(id: number): FilterInfo | undefined {
    const rec = Number.isSafeInteger(id) ? this.#records[id] : undefined;
    return rec === undefined ? undefined : this.#info(rec);
  }

  /** The merged trie as indented text or Graphviz DOT. */
  printTrie(format: 'text' | 'dot' = 'text'): string {
    return format === 'dot' ? printTrieDot(this.#trie) : printTrieText(this.#trie);
  }

  /** The generated source of every unit, root first (each once per shape). */
  printCode(): string {
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (node: TrieNode): void => {
      if (node.isUnitHead) {
        const key = (node.unitKey !== null ? this.#compiler.sourceOf(node.unitKey) : undefined) ?? '/* interpreted */\n';
        if (!seen.has(key)) {
          seen.add(key);
          out.push(`// unit ${out.length} (${node.parent === null ? 'root' : `entry = 0x${node.value.toString(16)}`})\n${key}`);
        }
      }
      for (const c of successors(node)) visit(c);
    };
    visit(this.#trie.root);
    return out.join('\n');
  }

  /** Counters. */
  stats(): DpfStats {
    return {
      filters: this.#count,
      maxFilters: this.#maxFilters,
      trieNodes: this.#trie.nodes,
      maxTrieNodes: this.#maxTrieNodes,
      inserts: this.#inserts,
      removes: this.#removes,
      refused: { ...this.#refused },
      frames: this.#matches.reduce((a, b) => a + b, 0),
      unmatched: this.#matches[0] as number,
      codegen: { ...this.#compiler.stats },
      filterShapeCache: { ...this.#shapes.stats },
    };
  }

  /** Run the trie checker; an empty list means consistent. For tests and a debug admin route. */
  checkTrie(): string[] {
    const filters = new Map<number, readonly [number, TrieNode]>();
    for (const rec of this.#records) if (rec !== undefined) filters.set(rec.id, [rec.owner.pid, rec.end]);
    return checkTrie(this.#trie, { filters, compiler: this.#compiler, maxUnitChars: this.#maxUnitChars });
  }

  #info(rec: FilterRecord): FilterInfo {
    return {
      id: rec.id,
      owner: rec.owner,
      text: formatFilterText(rec.filter instanceof Uint8Array ? decoded(rec.filter) : rec.filter),
      canonical: formatNormalFilter(rec.normal),
      matches: this.#matches[rec.id] as number,
    };
  }

  #apply(change: TrieChange): void {
    for (const head of change.retired) this.#compiler.retire(head);
    change.dirty.forEach((head, k) => {
      if (head.isUnitHead && change.dirty.indexOf(head) === k) this.#compiler.build(head);
    });
    for (const node of change.fids) this.#compiler.updateFid(node);
  }

  #allocId(): number {
    if (this.#nextId <= this.#maxFilters) return this.#nextId++;
    const id = this.#free[this.#freeHead] as number;
    this.#freeHead = (this.#freeHead + 1) % this.#maxFilters;
    this.#freeCount--;
    return id;
  }

  #refuse(code: DpfErrorCode, reason: string, log: readonly string[] = []): DpfRefusal {
    const name = dpfErrorName(code);
    this.#refused[name] = (this.#refused[name] ?? 0) + 1;
    return refuse(code, reason, log);
  }
}
