/**
 * XN — protected raw disk for library file systems (thesis §3.3, Appendix A; facts §2): the
 * thick layer of every call. Calls take plain numbers, kernel `Uint8Array`s and an explicit
 * caller context; they return Xok's codes (0 = XN_SUCCESS, negative = refusal) and never throw
 * on bad input. Asynchronous calls report through a {@link CompletionSink} `(requestId, db,
 * status)`; the syscall glue routes it to a record-mode channel, or decrements a counter in the
 * caller's memory for Xok compatibility.
 *
 * Protection: a block is modified only through its parent's pointer slot (alloc/free/swap/move,
 * each checked by ad-hoc induction with the type's owns UDF), or through writeb on the type's
 * raw-write extents; only callers holding a write capability for the block's root may do either
 * (see {@link XnContext}).
 *
 * Crash consistency (the three ordering rules): a block is written back only when none of its
 * registered children is uninitialized (XN_TAINTED); freed blocks that the parent's disk copy may
 * still point to wait on the parent's will-free list until a write of the parent completes;
 * swap/move between two parent blocks couples them, and coupled blocks reach the disk together
 * in one atomic group write (so the new pointer is never lost and no block is ever durably
 * owned twice). Reads never expose a never-written block: readin of a registered uninitialized
 * block is refused (XN_DIRTY_BLOCKS), and — stricter than Xok — the parent of any uninitialized
 * child, data blocks included, cannot be written, so no durable pointer reaches stale contents.
 */
import { BLOCK_SIZE, IO_OK, type BlockDevice } from '../../disk/index.js';
import type { BufEntry, BufferCache, Caller, CompletionSink, RegistryState } from '../bcache/index.js';
import { componentLogger, type Logger } from '../../util/log.js';
import {
  XN,
  XN_ALLOC_ZERO,
  XN_BIND_CONTENTS,
  XN_DB,
  XN_FIRST_USER_TYPE,
  XN_FORCE_READIN,
  XN_MAX_EXTENT_BLOCKS,
  XN_MAX_IO_BLOCKS,
  XN_MAX_IOE,
  XN_MAX_MODS,
  XN_MAX_TEMPLATES,
  XN_MODE_OTHER_READ,
  XN_MODE_OTHER_WRITE,
  XN_NAME_MAX,
  XN_ROOT_TYPE,
  XN_TYPE_TYPE,
  XN_ZERO_FILL,
} from '../abi/xn.js';
import {
  CAT_ENTRIES_PER_BLOCK,
  CAT_ENTRY_BYTES,
  decodeCatalogueEntry,
  decodeSuperblock,
  encodeCatalogueEntry,
  encodeSuperblock,
  firstDataBlock,
  Freemap,
  layoutFor,
  SUPER_DB,
  type CatalogueEntry,
  type Superblock,
} from './layout.js';
import { MAX_TEMPLATE_BYTES, type Extent } from '../abi/xn-template.js';
import { activeBase, DB_TYPE, importTemplate, type Member, type XnType } from './template.js';
import { runUdf, UdfOutput, udfFaultText, UDF_OK } from './udf.js';


/**
 * A caller: process id, user id, and the capabilities it holds. Capability model: a root
 * (catalogue entry) has an owner uid and a mode. `install_mount` gives its caller a read-write
 * capability for the new root; `mount` gives one to the owner (or uid 0), a read capability to
 * others when the mode has XN_MODE_OTHER_READ, and a write capability when XN_MODE_OTHER_WRITE.
 * A block belongs to the root its parent chain leads to; modifying it (alloc/free/swap/move
 * under it, writeb, set_type, zero-fill bind) needs a write capability for that root, reading it
 * (readb, insert_attr under it) a read capability. uid 0 holds every capability. Capabilities
 * are kernel objects held in the context, never bytes a process could forge.
 */
export interface XnContext extends Caller {
  /** Catalogue entry index → 'r' or 'rw'. */
  readonly caps: Map<number, 'r' | 'rw'>;
  /** Why the last refusal happened (for the glue to show; "" after success). */
  lastError: string;
}

/** One modification-vector entry (a kernel copy of `struct xn_m_vec`): write `bytes` at `offset`
 * (relative to the member the pointer lives in). */
export interface XnMod {
  offset: number;
  bytes: Uint8Array;
}

/** `struct xn_op` (kernel copy): the extent `{db, nelem, type}`, the slot, the modifications.
 * `db = 0` in alloc/install_mount lets XN choose; the chosen block is written back here. */
export interface XnOp {
  db: number;
  nelem: number;
  type: number;
  slot: number;
  mods: XnMod[];
}

/** A registry entry as `read_attr` reports it. */
export interface XnAttr {
  db: number;
  type: number;
  parentDb: number;
  parentOff: number;
  parentSlot: number;
  initialized: boolean;
  dirty: boolean;
  locked: boolean;
  tainted: boolean;
  pinned: boolean;
  inCore: boolean;
}

/** A problem fsck found. */
export interface FsckProblem {
  kind: 'dangling' | 'doubly-owned' | 'leaked' | 'unreachable-allocated' | 'bad-template' | 'bad-entry';
  db: number;
  parentDb: number;
  parentOff: number;
  slot: number;
  detail: string;
}

/** What fsck (and boot) report. */
export interface FsckReport {
  /** 'disk': the on-disk state; 'memory': the current state (pages in core, else disk). */
  source: 'disk' | 'memory';
  reachableBlocks: number;
  allocatedBlocks: number;
  roots: number;
  dangling: number;
  doublyOwned: number;
  leaked: number;
  problems: FsckProblem[];
  repaired: number;
}

/** What `init` reports. */
export interface XnInitResult {
  code: number;
  formatted: boolean;
  /** The previous shutdown was clean, so the stored freemap was trusted. */
  wasClean: boolean;
  fsck: FsckReport | null;
  reason: string;
}

interface Node {
  children: Set<number>;
  willFree: number[];
  coupled: Set<number>;
}

interface Ext {
  db: number;
  n: number;
  t: number;
}

interface CatSlot {
  entry: CatalogueEntry;
  /** Included in a completed catalogue write. */
  persisted: boolean;
}

const out = new UdfOutput();

/** Normalize a list of extents (sort, merge adjacent of one type); null if any overlap. */
function normalize(xs: readonly Ext[]): Ext[] | null {
  const s = [...xs].sort((a, b) => a.db - b.db);
  const r: Ext[] = [];
  for (const x of s) {
    const last = r[r.length - 1];
    if (last !== undefined && x.db < last.db + last.n) return null;
    if (last !== undefined && last.t === x.t && last.db + last.n === x.db) last.n += x.n;
    else r.push({ ...x });
  }
  return r;
}

function sameExts(a: Ext[] | null, b: Ext[] | null): boolean {
  if (a === null || b === null || a.length !== b.length) return false;
  return a.every((x, i) => x.db === b[i]?.db && x.n === b[i]?.n && x.t === b[i]?.t);
}

function covers(set: readonly Ext[], u: Ext): boolean {
  const n = normalize(set);
  return n !== null && n.some((x) => x.t === u.t && x.db <= u.db && u.db + u.n <= x.db + x.n);
}

function touches(set: readonly Ext[], u: Ext): boolean {
  return set.some((x) => x.db < u.db + u.n && u.db < x.db + x.n);
}

/**
 * The exact set equation of ad-hoc induction: `del ⊆ old`, `add ∩ old = ∅`,
 * `new = (old − del) ∪ add` (alloc: del = ∅; free: add = ∅; swap/move: both).
 */
function inductionHolds(oldSet: Ext[], newSet: Ext[], del: Ext[], add: Ext[]): boolean {
  for (const d of del) if (!covers(oldSet, d)) return false;
  for (const a of add) if (touches(oldSet, a)) return false;
  if (normalize(newSet) === null) return false;
  return sameExts(normalize([...newSet, ...del]), normalize([...oldSet, ...add]));
}

/** Options of {@link Xn}. */
export interface XnOptions {
  /** Logger (default: the `xn` component of the root logger at construction). */
  log?: Logger;
}

/** Counters of XN calls. */
export type XnStats = Record<string, number>;

/** The XN subsystem over one buffer cache (and its device). */
export class Xn {
  readonly cache: BufferCache;
  readonly device: BlockDevice;
  #online = false;
  #sb: Superblock;
  #freemap: Freemap;
  readonly #types: (XnType | undefined)[] = [];
  readonly #cat: (CatSlot | null)[] = [];
  readonly #nodes = new Map<number, Node>();
  #catWriting = false;
  #catWaiters: ((st: number) => void)[] = [];
  #catAgain = false;
  readonly #stats: XnStats = {};
  readonly env = (id: number): XnType | undefined => this.#types[id];
  readonly #log: Logger;

  constructor(cache: BufferCache, opts: XnOptions = {}) {
    this.#log = opts.log ?? componentLogger('xn');
    this.cache = cache;
    this.device = cache.device;
    this.#sb = layoutFor(this.device.blockCount);
    this.#freemap = new Freemap(this.device.blockCount);
    this.#types[XN_DB] = DB_TYPE;
  }

  /** A context for process `pid` of user `uid` (the glue keeps one per process). */
  context(pid: number, uid: number): XnContext {
    return { pid, uid, caps: new Map(), lastError: '' };
  }

  #count(name: string, code: number): number {
    const k = code === XN.SUCCESS || code > 0 ? name : `${name}.refused`;
    this.#stats[k] = (this.#stats[k] ?? 0) + 1;
    return code;
  }

  #refuse(ctx: XnContext | null, code: number, why: string): number {
    if (ctx !== null) ctx.lastError = why;
    return code;
  }

  /** Counters (calls and refusals per call). */
  stats(): XnStats & { online: number; allocatedBlocks: number; types: number; roots: number } {
    return {
      ...this.#stats,
      online: this.#online ? 1 : 0,
      allocatedBlocks: this.#online ? this.#freemap.allocatedCount() : 0,
      types: this.#types.filter((t) => t !== undefined).length,
      roots: this.#cat.filter((c) => c !== null).length,
    };
  }

  /** True between a successful init and shutdown. */
  get online(): boolean {
    return this.#online;
  }

  /** The superblock in force. */
  get superblock(): Superblock {
    return { ...this.#sb };
  }

  // -------------------------------------------------------------------------------------------
  // Registry helpers

  #node(db: number): Node {
    let n = this.#nodes.get(db);
    if (n === undefined) {
      n = { children: new Set(), willFree: [], coupled: new Set() };
      this.#nodes.set(db, n);
    }
    return n;
  }

  #inRange(db: number, n = 1): boolean {
    return Number.isInteger(db) && Number.isInteger(n) && db > 0 && n >= 1 && db + n <= this.#sb.blockCount;
  }

  #isCatalogue(db: number): boolean {
    return db >= this.#sb.catalogueStart && db < this.#sb.catalogueStart + this.#sb.catalogueBlocks;
  }

  /** The catalogue entry index a registered block's parent chain leads to; -1 if none. */
  #rootOf(db: number): number {
    let e = this.cache.peek(db);
    for (let depth = 0; depth < 256 && e?.reg != null; depth++) {
      if (this.#isCatalogue(e.reg.parentDb)) return e.reg.parentSlot;
      e = this.cache.peek(e.reg.parentDb);
    }
    return -1;
  }

  #can(ctx: XnContext, db: number, write: boolean): boolean {
    if (ctx.uid === 0) return true;
    const root = this.#rootOf(db);
    if (root < 0) return false;
    const cap = ctx.caps.get(root);
    if (cap === 'rw' || (cap === 'r' && !write)) return true;
    const mode = this.#cat[root]?.entry.mode ?? 0;
    return (mode & (write ? XN_MODE_OTHER_WRITE : XN_MODE_OTHER_READ)) !== 0;
  }

  #register(db: number, type: number, parentDb: number, parentOff: number, parentSlot: number, initialized: boolean): BufEntry {
    const e = this.cache.ensure(db);
    const reg: RegistryState = { type, parentDb, parentOff, parentSlot, initialized, uninitChildren: 0 };
    e.reg = reg;
    if (parentDb > 0) this.#node(parentDb).children.add(db);
    return e;
  }

  /** Forget a block's registration (and page). Its node moves nowhere: the caller handles it. */
  #unregister(e: BufEntry): void {
    const reg = e.reg;
    if (reg !== null && reg.parentDb > 0) this.#nodes.get(reg.parentDb)?.children.delete(e.db);
    e.reg = null;
    for (let i = e.pins; i > 0; i--) this.cache.unpin(e);
    this.cache.remove(e);
  }

  /** Return a block to the freemap, with every block on its will-free list (cascade). */
  #release(db: number): void {
    this.#freemap.set(db, false);
    const node = this.#nodes.get(db);
    if (node !== undefined) {
      this.#nodes.delete(db);
      for (const c of node.willFree) this.#release(c);
    }
  }

  /** A parent's checked view: its entry, page and the member at `off`. */
  #parent(ctx: XnContext, da: number, write: boolean): { code: number; e?: BufEntry; member?: Member; base?: XnType } {
    if (!this.#online) return { code: this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized') };
    if (!Number.isSafeInteger(da) || da < 0) return { code: this.#refuse(ctx, XN.BOGUS_DA, `bad disk address ${da}`) };
    const db = Math.floor(da / BLOCK_SIZE);
    const off = da % BLOCK_SIZE;
    if (!this.#inRange(db)) return { code: this.#refuse(ctx, XN.BOGUS_DA, `block ${db} outside the disk`) };
    const e = this.cache.peek(db);
    if (e?.reg == null) return { code: this.#refuse(ctx, XN.REGISTRY_MISS, `block ${db} is not registered`) };
    if (this.#isCatalogue(db) || e.reg.type === XN_TYPE_TYPE) return { code: this.#refuse(ctx, XN.BOGUS_CAP, 'XN metadata blocks are changed only by XN') };
    if (e.page < 0) return { code: this.#refuse(ctx, XN.NOT_IN_CORE, `block ${db} is not in core`) };
    if (!this.#can(ctx, db, write)) return { code: this.#refuse(ctx, XN.BOGUS_CAP, `no ${write ? 'write' : 'read'} capability for the root of block ${db}`) };
    const t = this.#types[e.reg.type];
    if (t === undefined) return { code: this.#refuse(ctx, XN.TYPE_MISS, `type ${e.reg.type} is not loaded`) };
    const member = t.members.find((m) => m.off === off);
    if (member === undefined) return { code: this.#refuse(ctx, XN.BOGUS_TYPE, `no member of ${t.name} starts at byte ${off}`) };
    const base = activeBase(member.type, this.cache.bytes(e), off, this.env);
    if (base === null) return { code: this.#refuse(ctx, XN.BOGUS_TYPE, `the union at byte ${off} has no type yet (set_type)`) };
    return { code: XN.SUCCESS, e, member, base };
  }

  /** Run owns(slot) of `base` at `off` of `page`; null on a fault. */
  #owns(page: Uint8Array, off: number, base: XnType, slot: number): Ext[] | null {
    const f = runUdf(base.owns, page, off, slot, base.readSets[slot] as Extent[], out);
    if (f !== UDF_OK) return null;
    const r: Ext[] = [];
    for (let i = 0; i < out.n; i++) r.push({ db: out.a[i] as number, n: out.b[i] as number, t: out.t[i] as number });
    return r;
  }

  /** Check a modification vector against a slot: inside the member, within the slot's read set
   * or the raw-write extents. */
  #modsOk(base: XnType, slot: number, mods: readonly XnMod[]): string | null {
    if (!Array.isArray(mods) || mods.length > XN_MAX_MODS) return `at most ${XN_MAX_MODS} modifications`;
    const allowed = [...(base.readSets[slot] ?? []), ...base.rawWrite];
    for (const m of mods) {
      if (m === null || typeof m !== 'object' || !(m.bytes instanceof Uint8Array) || !Number.isInteger(m.offset)) return 'malformed modification';
      const lo = m.offset;
      const hi = m.offset + m.bytes.length;
      if (lo < 0 || hi > base.nbytes || m.bytes.length === 0) return `modification [${lo}, ${hi}) outside the ${base.nbytes}-byte member`;
      // Every byte must lie in some allowed extent.
      for (let b = lo; b < hi; ) {
        const ext = allowed.find((x) => b >= x.off && b < x.off + x.len);
        if (ext === undefined) return `modification touches byte ${b}, outside slot ${slot}'s pointer and the raw fields`;
        b = ext.off + ext.len;
      }
    }
    return null;
  }

  /** Apply mods at member offset; returns the undo closure (checkpoint of the touched bytes). */
  #apply(page: Uint8Array, off: number, mods: readonly XnMod[]): () => void {
    const saved = mods.map((m) => ({ at: off + m.offset, old: page.slice(off + m.offset, off + m.offset + m.bytes.length) }));
    for (const m of mods) page.set(m.bytes, off + m.offset);
    return () => {
      for (let i = saved.length - 1; i >= 0; i--) page.set((saved[i] as { old: Uint8Array }).old, (saved[i] as { at: number }).at);
    };
  }

  #checkOp(ctx: XnContext, op: XnOp, base: XnType): number {
    if (op === null || typeof op !== 'object') return this.#refuse(ctx, XN.CANNOT_ACCESS, 'no op');
    if (!Number.isInteger(op.slot) || op.slot < 0 || op.slot >= base.nslots) return this.#refuse(ctx, XN.BOGUS_INDEX, `slot ${op.slot} does not exist in ${base.name} (${base.nslots} slots)`);
    if (!Number.isInteger(op.nelem) || op.nelem < 1 || op.nelem > XN_MAX_EXTENT_BLOCKS) return this.#refuse(ctx, XN.BOGUS_NAME, `extent of ${op.nelem} blocks (1..${XN_MAX_EXTENT_BLOCKS})`);
    const t = Number.isInteger(op.type) ? this.#types[op.type] : undefined;
    if (t === undefined || !t.allocatable) return this.#refuse(ctx, XN.BOGUS_TYPE, `type ${op.type} is not a loaded block type`);
    const why = this.#modsOk(base, op.slot, op.mods);
    if (why !== null) return this.#refuse(ctx, XN.CANNOT_ACCESS, why);
    return XN.SUCCESS;
  }

  // -------------------------------------------------------------------------------------------
  // Allocation

  /** Xok `sys_db_find_free`: first block of a free run of `n` at or after `hint`; 0 if none. */
  findFree(hint: number, n: number): number {
    if (!this.#online || !Number.isInteger(n) || n < 1 || n > XN_MAX_EXTENT_BLOCKS || !Number.isInteger(hint)) return 0;
    const b = this.#freemap.findFree(Math.max(hint, firstDataBlock(this.#sb)), n);
    return b >= firstDataBlock(this.#sb) ? b : this.#freemap.findFree(firstDataBlock(this.#sb), n);
  }

  /**
   * `sys_xn_alloc`: allocate `[op.db, op.db + op.nelem)` of `op.type` under slot `op.slot` of the
   * member at `da`, recording it with `op.mods`. Induction: new = old ∪ {u}.
   */
  alloc(ctx: XnContext, da: number, op: XnOp): number {
    const p = this.#parent(ctx, da, true);
    if (p.code !== XN.SUCCESS) return this.#count('alloc', p.code);
    const { e, member, base } = p as Required<typeof p>;
    if (e.locked) return this.#count('alloc', this.#refuse(ctx, XN.LOCKED, `block ${e.db} has I/O in flight`));
    let code = this.#checkOp(ctx, op, base);
    if (code !== XN.SUCCESS) return this.#count('alloc', code);
    if (!Number.isInteger(op.db) || op.db < 0) return this.#count('alloc', this.#refuse(ctx, XN.CANNOT_ALLOC, `bad block ${op.db}`));
    const chosen = op.db === 0 ? this.findFree(0, op.nelem) : op.db;
    if (chosen === 0) return this.#count('alloc', this.#refuse(ctx, XN.CANNOT_ALLOC, 'no free run of that length'));
    if (chosen < firstDataBlock(this.#sb) || !this.#freemap.runFree(chosen, op.nelem)) {
      return this.#count('alloc', this.#refuse(ctx, XN.CANNOT_ALLOC, `blocks [${chosen}, ${chosen + op.nelem}) are not free`));
    }
    for (let b = chosen; b < chosen + op.nelem; b++) {
      if (this.cache.peek(b)?.reg != null) return this.#count('alloc', this.#refuse(ctx, XN.REGISTRY_HIT, `block ${b} is registered`));
    }
    const u: Ext = { db: chosen, n: op.nelem, t: op.type };
    code = this.#transaction(ctx, e, member, base, op, [], [u]);
    if (code !== XN.SUCCESS) return this.#count('alloc', code);
    op.db = chosen;
    for (let b = chosen; b < chosen + op.nelem; b++) {
      this.#freemap.set(b, true);
      const c = this.#register(b, op.type, e.db, member.off, op.slot, false);
      this.cache.setDirty(c, true);
    }
    (e.reg as RegistryState).uninitChildren += op.nelem;
    this.cache.setDirty(e, true);
    ctx.lastError = '';
    return this.#count('alloc', XN.SUCCESS);
  }

  /** Run owns, apply, run owns, check the equation; roll back on failure. */
  #transaction(ctx: XnContext, e: BufEntry, member: Member, base: XnType, op: XnOp, del: Ext[], add: Ext[]): number {
    const page = this.cache.bytes(e);
    const before = this.#owns(page, member.off, base, op.slot);
    if (before === null) return this.#refuse(ctx, XN.TYPE_ERROR, `owns(${op.slot}) faults before the change`);
    const undo = this.#apply(page, member.off, op.mods);
    const after = this.#owns(page, member.off, base, op.slot);
    // A modification may not retype the member (a union's discriminator is set_type's job).
    const still = activeBase(member.type, page, member.off, this.env);
    if (after === null || still !== base || !inductionHolds(before, after, del, add)) {
      undo();
      const f = after === null ? `owns(${op.slot}) faults after the change` : `the change does not ${add.length > 0 && del.length === 0 ? 'add exactly the new extent' : del.length > 0 && add.length === 0 ? 'remove exactly the freed extent' : 'exchange exactly the named extents'}`;
      return this.#refuse(ctx, XN.TYPE_ERROR, f);
    }
    this.#lastUndo = undo;
    return XN.SUCCESS;
  }

  /**
   * `sys_xn_free`: free `[op.db, op.db + op.nelem)` from slot `op.slot` of the member at `da`.
   * Induction: old − new = {u}. A block that was ever written goes on the parent's will-free
   * list and returns to the freemap once a write of the parent completes (rule 2).
   */
  free(ctx: XnContext, da: number, op: XnOp): number {
    const p = this.#parent(ctx, da, true);
    if (p.code !== XN.SUCCESS) return this.#count('free', p.code);
    const { e, member, base } = p as Required<typeof p>;
    if (e.locked) return this.#count('free', this.#refuse(ctx, XN.LOCKED, `block ${e.db} has I/O in flight`));
    if (op === null || typeof op !== 'object' || !Number.isInteger(op.db) || op.db <= 0) return this.#count('free', this.#refuse(ctx, XN.BOGUS_NAME, 'free of block 0'));
    if (!Number.isInteger(op.nelem) || op.nelem < 1) return this.#count('free', this.#refuse(ctx, XN.TOO_SMALL, 'free of no blocks'));
    let code = this.#checkOp(ctx, op, base);
    if (code !== XN.SUCCESS) return this.#count('free', code);
    if (!this.#inRange(op.db, op.nelem)) return this.#count('free', this.#refuse(ctx, XN.CANNOT_FREE, 'blocks outside the disk'));
    for (let b = op.db; b < op.db + op.nelem; b++) {
      if (!this.#freemap.isAllocated(b)) return this.#count('free', this.#refuse(ctx, XN.CANNOT_FREE, `block ${b} is not allocated`));
      const c = this.cache.peek(b);
      if (c?.reg == null) return this.#count('free', this.#refuse(ctx, XN.REGISTRY_MISS, `block ${b} is not registered (insert_attr it first)`));
      if (c.locked) return this.#count('free', this.#refuse(ctx, XN.LOCKED, `block ${b} has I/O in flight`));
      if (c.pins > 0) return this.#count('free', this.#refuse(ctx, XN.CANNOT_DELETE, `block ${b} is pinned`));
      if ((this.#nodes.get(b)?.children.size ?? 0) > 0) return this.#count('free', this.#refuse(ctx, XN.CANNOT_DELETE, `block ${b} has registered children`));
      if (c.reg.uninitChildren > 0) return this.#count('free', this.#refuse(ctx, XN.TAINTED, `block ${b} is tainted`));
      const ct = this.#types[c.reg.type];
      if (ct?.hasPointers === true) {
        if (c.page < 0) return this.#count('free', this.#refuse(ctx, XN.NOT_IN_CORE, `block ${b} has pointers and is not in core`));
        if (!this.#ownsNothing(this.cache.bytes(c), ct)) return this.#count('free', this.#refuse(ctx, XN.CANNOT_DELETE, `block ${b} still points to blocks: free them first`));
      }
    }
    code = this.#transaction(ctx, e, member, base, op, [{ db: op.db, n: op.nelem, t: op.type }], []);
    if (code !== XN.SUCCESS) return this.#count('free', code);
    const parentNode = this.#node(e.db);
    for (let b = op.db; b < op.db + op.nelem; b++) {
      const c = this.cache.peek(b) as BufEntry;
      const wasInit = (c.reg as RegistryState).initialized;
      if (!wasInit) (e.reg as RegistryState).uninitChildren--;
      this.#unregister(c);
      if (wasInit) parentNode.willFree.push(b);
      else this.#release(b);
    }
    this.cache.setDirty(e, true);
    ctx.lastError = '';
    return this.#count('free', XN.SUCCESS);
  }

  /** True when every slot of every member of a block owns nothing. */
  #ownsNothing(page: Uint8Array, t: XnType): boolean {
    for (const m of t.members) {
      const base = activeBase(m.type, page, m.off, this.env);
      if (base === null) continue;
      for (let s = 0; s < base.nslots; s++) {
        const o = this.#owns(page, m.off, base, s);
        if (o === null || o.length > 0) return false;
      }
    }
    return true;
  }

  /** Couple two different parent blocks: they must reach the disk in one atomic write. */
  #couple(a: number, b: number): void {
    if (a === b) return;
    this.#node(a).coupled.add(b);
    this.#node(b).coupled.add(a);
  }

  /** Re-parent registered children of extent u to (db, off, slot). */
  #reparent(u: Ext, from: BufEntry, to: BufEntry, off: number, slot: number): void {
    for (let b = u.db; b < u.db + u.n; b++) {
      const c = this.cache.peek(b);
      if (c?.reg == null) continue;
      this.#nodes.get(from.db)?.children.delete(b);
      this.#node(to.db).children.add(b);
      if (!c.reg.initialized) {
        (from.reg as RegistryState).uninitChildren--;
        (to.reg as RegistryState).uninitChildren++;
      }
      c.reg.parentDb = to.db;
      c.reg.parentOff = off;
      c.reg.parentSlot = slot;
    }
  }

  /**
   * `sys_xn_swap`: slot op1.slot at da1 trades extent op1 for op2 and slot op2.slot at da2 trades
   * op2 for op1 — both checked by induction, both rolled back if either fails.
   */
  swap(ctx: XnContext, da1: number, op1: XnOp, da2: number, op2: XnOp): number {
    return this.#count('swap', this.#exchange(ctx, da1, op1, da2, op2, 'swap'));
  }

  /**
   * `sys_xn_move` (unimplemented in Xok): extent `dstOp` leaves slot `srcOp.slot` at `srcDa` for
   * slot `dstOp.slot` at `dstDa`. The new pointer is set before the old one is cleared (rule 3):
   * in memory in that order, on disk in one atomic write of both parents when they differ.
   */
  move(ctx: XnContext, dstDa: number, dstOp: XnOp, srcDa: number, srcOp: XnOp): number {
    return this.#count('move', this.#exchange(ctx, dstDa, dstOp, srcDa, srcOp, 'move'));
  }

  #exchange(ctx: XnContext, da1: number, op1: XnOp, da2: number, op2: XnOp, kind: 'swap' | 'move'): number {
    const p1 = this.#parent(ctx, da1, true);
    if (p1.code !== XN.SUCCESS) return p1.code;
    const p2 = this.#parent(ctx, da2, true);
    if (p2.code !== XN.SUCCESS) return p2.code;
    const a = p1 as Required<typeof p1>;
    const b = p2 as Required<typeof p2>;
    if (a.e.locked || b.e.locked) return this.#refuse(ctx, XN.LOCKED, 'a parent has I/O in flight');
    let code = this.#checkOp(ctx, op1, a.base);
    if (code === XN.SUCCESS) code = this.#checkOp(ctx, op2, b.base);
    if (code !== XN.SUCCESS) return code;
    if (a.e.db === b.e.db && a.member.off === b.member.off && op1.slot === op2.slot) return this.#refuse(ctx, XN.ILLEGAL_OP, `${kind} within one slot`);
    const u1: Ext = { db: op1.db, n: op1.nelem, t: op1.type };
    const u2: Ext = { db: op2.db, n: op2.nelem, t: op2.type };
    if (!this.#inRange(u1.db, u1.n) || !this.#inRange(u2.db, u2.n)) return this.#refuse(ctx, XN.BOGUS_PTR, 'extent outside the disk');
    if (kind === 'move' && (u1.db !== u2.db || u1.n !== u2.n || u1.t !== u2.t)) return this.#refuse(ctx, XN.BLOCK_MISMATCH, 'move names two different extents');
    // Move: destination first (gains u), then source (loses u). Swap: each trades.
    const c1 = kind === 'move' ? this.#transaction(ctx, a.e, a.member, a.base, op1, [], [u1]) : this.#transaction(ctx, a.e, a.member, a.base, op1, [u1], [u2]);
    if (c1 !== XN.SUCCESS) return c1;
    const undo1 = this.#lastUndo;
    const c2 = kind === 'move' ? this.#transaction(ctx, b.e, b.member, b.base, op2, [u1], []) : this.#transaction(ctx, b.e, b.member, b.base, op2, [u2], [u1]);
    if (c2 !== XN.SUCCESS) {
      undo1?.();
      return c2;
    }
    if (kind === 'move') this.#reparent(u1, b.e, a.e, a.member.off, op1.slot);
    else {
      this.#reparent(u1, a.e, b.e, b.member.off, op2.slot);
      this.#reparent(u2, b.e, a.e, a.member.off, op1.slot);
    }
    this.cache.setDirty(a.e, true);
    this.cache.setDirty(b.e, true);
    this.#couple(a.e.db, b.e.db);
    ctx.lastError = '';
    return XN.SUCCESS;
  }

  /** Undo of the last successful #transaction (swap/move roll back the first half with it). */
  #lastUndo: (() => void) | null = null;

  // -------------------------------------------------------------------------------------------
  // Pages

  /**
   * `sys_xn_bind`: give the registered blocks `[db, db+n)` cache pages. XN_ZERO_FILL zeroes them
   * (an initialized block only when it has no pointers, and with a write capability);
   * XN_ALLOC_ZERO zero-fills uninitialized blocks and refuses initialized ones (use readin);
   * XN_BIND_CONTENTS fills them with the caller's `src` (n·4096 bytes) — only for blocks whose
   * every byte writeb could write anyway (pointer-free, raw-writable through: XN_DB), so it is
   * exactly a zero fill plus a whole-block writeb, in one call and one copy (Xok allowed caller
   * contents for pointer-free blocks). XN_FORCE_READIN is refused (XN_ILLEGAL_OP, as in Xok: data
   * comes in by readin). All or nothing: every block is checked before any page is taken.
   * Returns XN_SUCCESS (Xok returned the physical page; pages are not mappable here).
   */
  bind(ctx: XnContext, db: number, flag: number, n = 1, src: Uint8Array | null = null): number {
    if (!this.#online) return this.#count('bind', this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized'));
    if (!Number.isInteger(n) || n < 1) return this.#count('bind', this.#refuse(ctx, XN.TOO_SMALL, 'bind of no blocks'));
    if (n > XN_MAX_EXTENT_BLOCKS || !this.#inRange(db, n)) return this.#count('bind', this.#refuse(ctx, XN.BOGUS_NAME, `blocks [${db}, +${n}) outside the disk`));
    if (flag === XN_FORCE_READIN) return this.#count('bind', this.#refuse(ctx, XN.ILLEGAL_OP, 'bind does not read: use readin'));
    const contents = flag === XN_BIND_CONTENTS;
    if (!contents && flag !== XN_ZERO_FILL && flag !== XN_ALLOC_ZERO) return this.#count('bind', this.#refuse(ctx, XN.BOGUS_FLAG, `bind flag ${flag}`));
    if (contents && (!(src instanceof Uint8Array) || src.length !== n * BLOCK_SIZE)) return this.#count('bind', this.#refuse(ctx, XN.CANNOT_ACCESS, `XN_BIND_CONTENTS needs ${n * BLOCK_SIZE} bytes of contents`));
    const picked = this.#picked;
    picked.length = 0;
    for (let b = db; b < db + n; b++) {
      const e = this.cache.peek(b);
      if (e?.reg == null) return this.#count('bind', this.#refuse(ctx, XN.REGISTRY_MISS, `block ${b} is not registered`));
      if (e.page >= 0 || e.locked) return this.#count('bind', this.#refuse(ctx, XN.IN_CORE, `block ${b} is in core`));
      if (contents) {
        if (this.#types[e.reg.type] !== DB_TYPE) return this.#count('bind', this.#refuse(ctx, XN.ILLEGAL_OP, `block ${b} is not a raw data block: contents come through writeb`));
      } else if (e.reg.initialized) {
        if (flag === XN_ALLOC_ZERO) return this.#count('bind', this.#refuse(ctx, XN.ILLEGAL_OP, `block ${b} is initialized: read it in`));
        if (this.#types[e.reg.type]?.hasPointers !== false) return this.#count('bind', this.#refuse(ctx, XN.ILLEGAL_OP, `zero-filling initialized block ${b} would drop its pointers`));
      }
      if (!this.#can(ctx, b, true)) return this.#count('bind', this.#refuse(ctx, XN.BOGUS_CAP, `no write capability for block ${b}`));
      picked.push(e);
    }
    for (let k = 0; k < n; k++) {
      const e = picked[k] as BufEntry;
      // Dirty at once: a clean fresh page would be evictable by the next block's attachPage.
      if (!this.cache.attachPage(e)) {
        for (let u = 0; u < k; u++) {
          const x = picked[u] as BufEntry;
          this.cache.detachPage(x);
          this.cache.setDirty(x, !(x.reg as RegistryState).initialized);
        }
        picked.length = 0;
        return this.#count('bind', this.#refuse(ctx, XN.NO_MEMORY, 'no free cache page'));
      }
      if (contents) this.cache.bytes(e).set(n === 1 ? (src as Uint8Array) : (src as Uint8Array).subarray(k * BLOCK_SIZE, (k + 1) * BLOCK_SIZE));
      else this.device.pool.zero(e.page);
      this.cache.setDirty(e, true);
    }
    picked.length = 0;
    return this.#count('bind', XN.SUCCESS);
  }

  /** `sys_xn_unbind`: drop the pages of the clean, unpinned, idle registered blocks `[db, db+n)`
   * (all or nothing). */
  unbind(ctx: XnContext, db: number, n = 1): number {
    if (!this.#online) return this.#count('unbind', this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized'));
    if (!Number.isInteger(n) || n < 1) return this.#count('unbind', this.#refuse(ctx, XN.TOO_SMALL, 'unbind of no blocks'));
    if (n > XN_MAX_EXTENT_BLOCKS || !this.#inRange(db, n)) return this.#count('unbind', this.#refuse(ctx, XN.BOGUS_NAME, `blocks [${db}, +${n}) outside the disk`));
    const picked = this.#picked;
    picked.length = 0;
    for (let b = db; b < db + n; b++) {
      const e = this.cache.peek(b);
      if (e?.reg == null) return this.#count('unbind', this.#refuse(ctx, XN.REGISTRY_MISS, `block ${b} is not registered`));
      if (e.page < 0) return this.#count('unbind', this.#refuse(ctx, XN.NOT_IN_CORE, `block ${b} is not in core`));
      if (!this.#can(ctx, b, false)) return this.#count('unbind', this.#refuse(ctx, XN.BOGUS_CAP, `no capability for block ${b}`));
      if (e.locked) return this.#count('unbind', this.#refuse(ctx, XN.LOCKED, `block ${b} has I/O in flight`));
      if (e.dirty) return this.#count('unbind', this.#refuse(ctx, XN.DIRTY_BLOCKS, `block ${b} is dirty: write it back first`));
      if (this.#isCatalogue(b) || e.pins > 0) return this.#count('unbind', this.#refuse(ctx, XN.ILLEGAL_OP, `block ${b} is pinned`));
      picked.push(e);
    }
    for (const e of picked) this.cache.detachPage(e);
    picked.length = 0;
    return this.#count('unbind', XN.SUCCESS);
  }

  /** Entries a two-pass call (bind, unbind) checked in its first pass (reused). */
  readonly #picked: BufEntry[] = [];

  /** Entries of the last successful {@link Xn.#rawRun}, block by block (reused). */
  readonly #rawEntries: BufEntry[] = [];

  /**
   * Check a raw byte range `[da, da+len)` — possibly spanning consecutive blocks — against the
   * raw extents (write) or the readable bytes (read) of each block's type. On success the
   * entries are in `#rawEntries`.
   */
  #rawRun(ctx: XnContext, da: number, len: number, write: boolean): number {
    this.#rawEntries.length = 0;
    if (!this.#online) return this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized');
    if (!Number.isSafeInteger(da) || da < 0 || !Number.isInteger(len) || len < 1 || len > XN_MAX_EXTENT_BLOCKS * BLOCK_SIZE) return this.#refuse(ctx, XN.BOGUS_DA, 'bad address or length');
    const first = Math.floor(da / BLOCK_SIZE);
    const last = Math.floor((da + len - 1) / BLOCK_SIZE);
    if (!this.#inRange(first, last - first + 1)) return this.#refuse(ctx, XN.BOGUS_DA, 'range outside the disk');
    for (let db = first, at = da, left = len; db <= last; db++) {
      const off = at - db * BLOCK_SIZE;
      const seg = Math.min(left, BLOCK_SIZE - off);
      const code = this.#rawCheck(ctx, db, off, seg, write);
      if (code !== XN.SUCCESS) {
        this.#rawEntries.length = 0;
        return code;
      }
      at += seg;
      left -= seg;
    }
    return XN.SUCCESS;
  }

  /** Check `[off, off+len)` of one registered in-core block; pushes its entry on success. */
  #rawCheck(ctx: XnContext, db: number, off: number, len: number, write: boolean): number {
    const e = this.cache.peek(db);
    if (e?.reg == null) return this.#refuse(ctx, XN.REGISTRY_MISS, `block ${db} is not registered`);
    if (e.page < 0) return this.#refuse(ctx, XN.NOT_IN_CORE, `block ${db} is not in core`);
    if (!this.#can(ctx, db, write)) return this.#refuse(ctx, XN.BOGUS_CAP, `no ${write ? 'write' : 'read'} capability for block ${db}`);
    if (write && e.locked) return this.#refuse(ctx, XN.LOCKED, `block ${db} has I/O in flight`);
    const t = this.#types[e.reg.type];
    if (t === undefined || e.reg.type === XN_TYPE_TYPE || this.#isCatalogue(db)) return this.#refuse(ctx, XN.BOGUS_CAP, 'XN metadata is not raw-accessible');
    // Data blocks (the common case) are raw through and through: no per-member walk.
    if (t === DB_TYPE) {
      this.#rawEntries.push(e);
      return XN.SUCCESS;
    }
    const page = this.cache.bytes(e);
    for (let b = off; b < off + len; ) {
      let next = -1;
      for (const m of t.members) {
        if (b < m.off || b >= m.off + m.type.nbytes) continue;
        // A union's discriminator is readable, NIL or not: a library learns its members' arms
        // after a restart this way. It is written only by set_type.
        const ta = m.type.typeAccess;
        if (!write && ta !== null && b - m.off >= ta.off && b - m.off < ta.off + ta.len) {
          next = m.off + ta.off + ta.len;
          break;
        }
        const base = activeBase(m.type, page, m.off, this.env);
        if (base === null) break;
        const x = (write ? base.rawWrite : base.readable).find((s) => b - m.off >= s.off && b - m.off < s.off + s.len);
        if (x !== undefined) next = m.off + x.off + x.len;
        break;
      }
      if (next < 0) return this.#refuse(ctx, XN.BOGUS_CAP, `byte ${b} of block ${db} is not ${write ? 'raw-writable (pointer fields change only through XN)' : 'readable'}`);
      b = next;
    }
    this.#rawEntries.push(e);
    return XN.SUCCESS;
  }

  /** `sys_xn_writeb`: copy `src` into raw-writable bytes at `da` (consecutive blocks allowed,
   * all checked before any byte moves); marks the blocks dirty. */
  writeb(ctx: XnContext, da: number, src: Uint8Array): number {
    if (!(src instanceof Uint8Array)) return this.#count('writeb', this.#refuse(ctx, XN.CANNOT_ACCESS, 'no source'));
    const code = this.#rawRun(ctx, da, src.length, true);
    if (code !== XN.SUCCESS) return this.#count('writeb', code);
    let from = 0;
    let off = da % BLOCK_SIZE;
    for (const e of this.#rawEntries) {
      const seg = Math.min(src.length - from, BLOCK_SIZE - off);
      this.cache.bytes(e).set(src.subarray(from, from + seg), off);
      this.cache.setDirty(e, true);
      from += seg;
      off = 0;
    }
    return this.#count('writeb', XN.SUCCESS);
  }

  /** `sys_xn_readb`: copy `dst.length` readable bytes at `da` out (consecutive blocks allowed). */
  readb(ctx: XnContext, dst: Uint8Array, da: number): number {
    if (!(dst instanceof Uint8Array)) return this.#count('readb', this.#refuse(ctx, XN.CANNOT_ACCESS, 'no destination'));
    const code = this.#rawRun(ctx, da, dst.length, false);
    if (code !== XN.SUCCESS) return this.#count('readb', code);
    let to = 0;
    let off = da % BLOCK_SIZE;
    for (const e of this.#rawEntries) {
      const seg = Math.min(dst.length - to, BLOCK_SIZE - off);
      const page = this.cache.bytes(e);
      dst.set(seg === BLOCK_SIZE ? page : page.subarray(off, off + seg), to);
      to += seg;
      off = 0;
    }
    return this.#count('readb', XN.SUCCESS);
  }

  // -------------------------------------------------------------------------------------------
  // I/O

  /** The run of readin/writeback, reused: readinv and writebackv keep no reference to their runs. */
  readonly #oneRun = [{ db: 0, n: 0 }];

  #one(db: number, n: number): readonly { db: number; n: number }[] {
    const r = this.#oneRun[0] as { db: number; n: number };
    r.db = db;
    r.n = n;
    return this.#oneRun;
  }

  /** `sys_xn_readin`: read `[db, db+n)` into the cache; see {@link Xn.readinv}. */
  readin(ctx: XnContext, db: number, n: number, requestId: number, notify: CompletionSink): number {
    return this.readinv(ctx, this.#one(db, n), requestId, notify);
  }

  /**
   * `sys_xn_readinv`: read the runs into the cache; one completion `(requestId, first block,
   * status)` when all are in. Blocks already in core give XN_IN_CORE; registered uninitialized
   * ones XN_DIRTY_BLOCKS (never expose a never-written block). Unregistered blocks may be
   * prefetched (not readable until inserted). All runs are checked and given pages before any
   * read starts. The completion is always delivered, even after the caller exited: the syscall
   * layer decides what a dead process's completion means.
   */
  readinv(ctx: XnContext, runs: readonly { db: number; n: number }[], requestId: number, notify: CompletionSink): number {
    if (!this.#online) return this.#count('readin', this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized'));
    if (!Array.isArray(runs) || runs.length < 1 || runs.length > XN_MAX_IOE) return this.#count('readin', this.#refuse(ctx, XN.TOO_SMALL, `1..${XN_MAX_IOE} runs`));
    let total = 0;
    // Blocks named twice: only possible across runs, so only several runs need the set.
    const seen = runs.length > 1 ? new Set<number>() : null;
    for (const r of runs) {
      if (r === null || typeof r !== 'object' || !Number.isInteger(r.db) || r.db <= 0) return this.#count('readin', this.#refuse(ctx, XN.BOGUS_NAME, 'readin of block 0'));
      if (!Number.isInteger(r.n) || r.n < 1) return this.#count('readin', this.#refuse(ctx, XN.TOO_SMALL, 'readin of no blocks'));
      total += r.n;
      if (total > XN_MAX_IO_BLOCKS || !this.#inRange(r.db, r.n)) return this.#count('readin', this.#refuse(ctx, XN.BOGUS_NAME, 'range outside the disk'));
      for (let b = r.db; b < r.db + r.n; b++) {
        if (seen?.has(b) === true) return this.#count('readin', this.#refuse(ctx, XN.BOGUS_NAME, `block ${b} named twice`));
        seen?.add(b);
        const e = this.cache.peek(b);
        if (e === undefined) continue;
        if (e.page >= 0 || e.locked) return this.#count('readin', this.#refuse(ctx, XN.IN_CORE, `block ${b} is in core`));
        if (e.reg !== null && !e.reg.initialized) return this.#count('readin', this.#refuse(ctx, XN.DIRTY_BLOCKS, `block ${b} was never written`));
      }
    }
    const groups: BufEntry[][] = [];
    for (const r of runs) {
      const es: BufEntry[] = [];
      groups.push(es);
      for (let b = r.db; b < r.db + r.n; b++) {
        const e = this.cache.ensure(b);
        this.cache.pin(e); // pinned pages are never evicted by the next attachPage
        if (!this.cache.attachPage(e)) {
          for (const x of [...groups.flat(), ...(es.includes(e) ? [] : [e])]) {
            this.cache.unpin(x);
            this.cache.detachPage(x);
            if (x.reg === null) this.cache.remove(x);
          }
          return this.#count('readin', this.#refuse(ctx, XN.NO_MEMORY, 'no free cache pages'));
        }
        es.push(e);
      }
    }
    let parts = groups.length;
    let status: number = XN.SUCCESS;
    const first = (runs[0] as { db: number }).db;
    for (const es of groups) {
      this.cache.readRun(es, (st) => {
        for (const e of es) {
          this.cache.unpin(e);
          if (st !== IO_OK) {
            this.cache.detachPage(e);
            if (e.reg === null) this.cache.remove(e);
          }
        }
        if (st !== IO_OK) status = XN.READ_FAILED;
        if (--parts === 0) notify(requestId, first, status);
      });
    }
    return this.#count('readin', XN.SUCCESS);
  }

  /** `sys_xn_writeback`: write `[db, db+n)` back; see {@link Xn.writebackv}. */
  writeback(ctx: XnContext, db: number, n: number, requestId: number, notify: CompletionSink): number {
    return this.writebackv(ctx, this.#one(db, n), requestId, notify);
  }

  /**
   * `sys_xn_writebackv`: write the runs back as one atomic group; one completion when durable.
   * Refused while a block is tainted (an uninitialized child) or coupled to a block outside the
   * group (XN_TAINTED), locked (XN_LOCKED), unregistered or not in core. No capability is needed
   * (Xok: writing back only makes the in-memory state durable). On completion the blocks are
   * clean and initialized, their parents lose the taint, and their will-free lists are freed.
   */
  writebackv(ctx: XnContext, runs: readonly { db: number; n: number }[], requestId: number, notify: CompletionSink): number {
    if (!this.#online) return this.#count('writeback', this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized'));
    if (!Array.isArray(runs) || runs.length < 1 || runs.length > XN_MAX_IOE) return this.#count('writeback', this.#refuse(ctx, XN.TOO_SMALL, `1..${XN_MAX_IOE} runs`));
    const groups: BufEntry[][] = [];
    // Blocks named twice: only possible across runs, so only several runs need the set.
    const inGroup = runs.length > 1 ? new Set<number>() : null;
    let total = 0;
    let catalogue = false;
    for (const r of runs) {
      if (r === null || typeof r !== 'object' || !Number.isInteger(r.db) || r.db <= 0) return this.#count('writeback', this.#refuse(ctx, XN.BOGUS_NAME, 'writeback of block 0'));
      if (!Number.isInteger(r.n) || r.n < 1) return this.#count('writeback', this.#refuse(ctx, XN.TOO_SMALL, 'writeback of no blocks'));
      total += r.n;
      if (total > XN_MAX_IO_BLOCKS || !this.#inRange(r.db, r.n)) return this.#count('writeback', this.#refuse(ctx, XN.BOGUS_NAME, 'range outside the disk'));
      const g: BufEntry[] = [];
      for (let b = r.db; b < r.db + r.n; b++) {
        if (this.#isCatalogue(b)) {
          catalogue = true;
          continue;
        }
        const e = this.cache.peek(b);
        if (e?.reg == null) return this.#count('writeback', this.#refuse(ctx, XN.REGISTRY_MISS, `block ${b} is not registered`));
        if (e.page < 0) return this.#count('writeback', this.#refuse(ctx, XN.NOT_IN_CORE, `block ${b} is not in core`));
        if (e.locked) return this.#count('writeback', this.#refuse(ctx, XN.LOCKED, `block ${b} has I/O in flight`));
        if (e.reg.uninitChildren > 0) return this.#count('writeback', this.#refuse(ctx, XN.TAINTED, `block ${b} points to ${e.reg.uninitChildren} block(s) never written: write them first`));
        if (inGroup?.has(b) === true) return this.#count('writeback', this.#refuse(ctx, XN.BOGUS_NAME, `block ${b} named twice`));
        inGroup?.add(b);
        if (g.length > 0 && (g[g.length - 1] as BufEntry).db !== b - 1) {
          groups.push(g.splice(0));
        }
        g.push(e);
      }
      if (g.length > 0) groups.push(g);
    }
    const only = runs[0] as { db: number; n: number };
    for (const g of groups) {
      for (const e of g) {
        const coupled = this.#nodes.get(e.db)?.coupled;
        if (coupled === undefined) continue;
        for (const c of coupled) {
          const named = inGroup !== null ? inGroup.has(c) : c >= only.db && c < only.db + only.n;
          if (!named) return this.#count('writeback', this.#refuse(ctx, XN.TAINTED, `block ${e.db} is coupled to block ${c} by a swap/move: write both in one writebackv`));
        }
      }
    }
    let parts = (groups.length > 0 ? 1 : 0) + (catalogue ? 1 : 0);
    if (parts === 0) return this.#count('writeback', this.#refuse(ctx, XN.TOO_SMALL, 'nothing to write'));
    let status: number = XN.SUCCESS;
    const first = (runs[0] as { db: number }).db;
    const part = (st: number): void => {
      if (st !== XN.SUCCESS && status === XN.SUCCESS) status = st;
      if (--parts === 0) notify(requestId, first, status);
    };
    if (groups.length > 0) this.#writeBlocks(groups, part);
    if (catalogue) this.#writeCatalogue(part);
    return this.#count('writeback', XN.SUCCESS);
  }

  /** Write registered blocks (kernel-internal: no checks) and apply the completion rules. */
  #writeBlocks(groups: BufEntry[][], done: (status: number) => void): void {
    const all = groups.length === 1 ? (groups[0] as BufEntry[]) : groups.flat();
    // Will-free lists taken now: only frees issued before this write may complete with it.
    let releasing: Map<BufEntry, number[]> | null = null;
    for (const e of all) {
      const node = this.#nodes.get(e.db);
      if (node !== undefined && node.willFree.length > 0) (releasing ??= new Map()).set(e, node.willFree.splice(0));
    }
    this.cache.writeRuns(groups, (st) => {
      if (st !== IO_OK) {
        for (const [e, wf] of releasing ?? []) this.#node(e.db).willFree.push(...wf);
        return done(XN.WRITE_FAILED);
      }
      let written: Set<number> | null = null;
      for (const e of all) {
        const reg = e.reg;
        if (reg !== null && !reg.initialized) {
          reg.initialized = true;
          const parent = this.cache.peek(reg.parentDb);
          if (parent?.reg != null && parent.reg.uninitChildren > 0) parent.reg.uninitChildren--;
          if (this.#isCatalogue(reg.parentDb)) this.#catDirty = true;
        }
        const node = this.#nodes.get(e.db);
        if (node === undefined || node.coupled.size === 0) continue;
        written ??= new Set(all.map((x) => x.db));
        for (const c of [...node.coupled]) if (written.has(c)) node.coupled.delete(c);
      }
      for (const wf of releasing?.values() ?? []) for (const b of wf) this.#release(b);
      done(XN.SUCCESS);
    });
  }
  #catDirty = false;

  // -------------------------------------------------------------------------------------------
  // Attributes

  /**
   * `sys_xn_insert_attr`: register the blocks slot `op.slot` of the member at `da` already points
   * to, without paging them in. Fixes Xok's bug: `{u} ⊆ owns(slot)` is really checked
   * (XN_TYPE_ERROR otherwise). Needs a read capability for the parent.
   */
  insertAttr(ctx: XnContext, da: number, op: XnOp): number {
    const p = this.#parent(ctx, da, false);
    if (p.code !== XN.SUCCESS) return this.#count('insert_attr', p.code);
    const { e, member, base } = p as Required<typeof p>;
    if (op === null || typeof op !== 'object' || !Number.isInteger(op.db) || op.db <= 0) return this.#count('insert_attr', this.#refuse(ctx, XN.BOGUS_NAME, 'block 0'));
    if (!Number.isInteger(op.nelem) || op.nelem < 1) return this.#count('insert_attr', this.#refuse(ctx, XN.TOO_SMALL, 'no blocks'));
    const code = this.#checkOp(ctx, { ...op, mods: [] }, base);
    if (code !== XN.SUCCESS) return this.#count('insert_attr', code);
    if (!this.#inRange(op.db, op.nelem)) return this.#count('insert_attr', this.#refuse(ctx, XN.BOGUS_PTR, 'extent outside the disk'));
    const owned = this.#owns(this.cache.bytes(e), member.off, base, op.slot);
    const u: Ext = { db: op.db, n: op.nelem, t: op.type };
    if (owned === null || !covers(owned, u)) return this.#count('insert_attr', this.#refuse(ctx, XN.TYPE_ERROR, `slot ${op.slot} does not point to [${op.db}, +${op.nelem}) of type ${op.type}`));
    for (let b = op.db; b < op.db + op.nelem; b++) {
      const c = this.cache.peek(b);
      if (c?.reg != null && (c.reg.parentDb !== e.db || c.reg.parentOff !== member.off || c.reg.parentSlot !== op.slot)) {
        return this.#count('insert_attr', this.#refuse(ctx, XN.BOGUS_ENTRY, `block ${b} is registered under another parent`));
      }
    }
    for (let b = op.db; b < op.db + op.nelem; b++) {
      const c = this.cache.peek(b);
      if (c?.reg != null) continue;
      // Reachable from an in-memory parent and not registered: it came from disk, so rule 1
      // guarantees it was written.
      this.#register(b, op.type, e.db, member.off, op.slot, true);
    }
    return this.#count('insert_attr', XN.SUCCESS);
  }

  /** insert_attr + page + readin in one call (Appendix A's sys_xn_read_and_insert). */
  readAndInsert(ctx: XnContext, da: number, op: XnOp, requestId: number, notify: CompletionSink): number {
    const code = this.insertAttr(ctx, da, op);
    if (code !== XN.SUCCESS) return this.#count('read_and_insert', code);
    return this.#count('read_and_insert', this.readin(ctx, op.db, op.nelem, requestId, notify));
  }

  /** `sys_xn_read_attr`: registry entries of `[db, db+n)` (XN_REGISTRY_MISS if one is absent). */
  readAttr(ctx: XnContext, db: number, n: number, out: XnAttr[]): number {
    if (!this.#online) return this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized');
    if (!Number.isInteger(n) || n < 1 || n > XN_MAX_IO_BLOCKS || !this.#inRange(db, n)) return this.#refuse(ctx, XN.BOGUS_NAME, 'range outside the disk');
    const got: XnAttr[] = [];
    for (let b = db; b < db + n; b++) {
      const a = this.attrOf(b);
      if (a === null) return this.#count('read_attr', this.#refuse(ctx, XN.REGISTRY_MISS, `block ${b} is not registered`));
      got.push(a);
    }
    out.push(...got);
    return this.#count('read_attr', XN.SUCCESS);
  }

  /** The registry entry of `db` as plain data, or null. */
  attrOf(db: number): XnAttr | null {
    const e = this.cache.peek(db);
    if (e?.reg == null) return null;
    const r = e.reg;
    return {
      db,
      type: r.type,
      parentDb: r.parentDb,
      parentOff: r.parentOff,
      parentSlot: r.parentSlot,
      initialized: r.initialized,
      dirty: e.dirty,
      locked: e.locked,
      tainted: r.uninitChildren > 0,
      pinned: e.pins > 0,
      inCore: e.page >= 0,
    };
  }

  /**
   * `sys_xn_delete_attr`: forget clean, initialized, idle registrations (with their pages).
   * Closes Xok's hole: a dirty (XN_DIRTY_BLOCKS), uninitialized (XN_DIRTY_BLOCKS), tainted
   * (XN_TAINTED) or parent-of-registered block (XN_CANNOT_DELETE) is refused, so no change is
   * dropped and no taint is lost. Needs a read capability.
   */
  deleteAttr(ctx: XnContext, db: number, n: number): number {
    if (!this.#online) return this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized');
    if (!Number.isInteger(n) || n < 1 || n > XN_MAX_IO_BLOCKS || !this.#inRange(db, n)) return this.#count('delete_attr', this.#refuse(ctx, XN.BOGUS_NAME, 'range outside the disk'));
    for (let b = db; b < db + n; b++) {
      const e = this.cache.peek(b);
      if (e?.reg == null) return this.#count('delete_attr', this.#refuse(ctx, XN.REGISTRY_MISS, `block ${b} is not registered`));
      if (this.#isCatalogue(b) || e.reg.type === XN_TYPE_TYPE || this.#isCatalogue(e.reg.parentDb)) return this.#count('delete_attr', this.#refuse(ctx, XN.ILLEGAL_OP, `block ${b} is a root or XN metadata`));
      if (!this.#can(ctx, b, false)) return this.#count('delete_attr', this.#refuse(ctx, XN.BOGUS_CAP, `no capability for block ${b}`));
      if (e.dirty || !e.reg.initialized) return this.#count('delete_attr', this.#refuse(ctx, XN.DIRTY_BLOCKS, `block ${b} has changes not on disk`));
      if (e.reg.uninitChildren > 0) return this.#count('delete_attr', this.#refuse(ctx, XN.TAINTED, `block ${b} is tainted`));
      const node = this.#nodes.get(b);
      if ((node?.children.size ?? 0) > 0 || (node?.willFree.length ?? 0) > 0 || (node?.coupled.size ?? 0) > 0) return this.#count('delete_attr', this.#refuse(ctx, XN.CANNOT_DELETE, `block ${b} has registered children or pending frees`));
      if (e.locked || e.pins > 0) return this.#count('delete_attr', this.#refuse(ctx, XN.LOCKED, `block ${b} is busy`));
    }
    for (let b = db; b < db + n; b++) {
      this.#nodes.delete(b);
      this.#unregister(this.cache.peek(b) as BufEntry);
    }
    return this.#count('delete_attr', XN.SUCCESS);
  }

  /**
   * `sys_xn_set_type`: set a union member's discriminator once. The member at `da` must be a
   * union with no type yet; `src` must lie inside the discriminator (XN_WRITE_FAILED); afterwards
   * get_type must give `expected` and the arm must own nothing (else restored, XN_TYPE_ERROR).
   */
  setType(ctx: XnContext, da: number, expected: number, src: Uint8Array, at: number): number {
    if (!this.#online) return this.#count('set_type', this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized'));
    if (!Number.isSafeInteger(da) || da < 0 || !(src instanceof Uint8Array)) return this.#count('set_type', this.#refuse(ctx, XN.BOGUS_DA, 'bad arguments'));
    const db = Math.floor(da / BLOCK_SIZE);
    const off = da % BLOCK_SIZE;
    const e = this.#inRange(db) ? this.cache.peek(db) : undefined;
    if (e?.reg == null) return this.#count('set_type', this.#refuse(ctx, XN.REGISTRY_MISS, `block ${db} is not registered`));
    if (e.page < 0) return this.#count('set_type', this.#refuse(ctx, XN.NOT_IN_CORE, `block ${db} is not in core`));
    if (!this.#can(ctx, db, true)) return this.#count('set_type', this.#refuse(ctx, XN.BOGUS_CAP, `no write capability for block ${db}`));
    if (e.locked) return this.#count('set_type', this.#refuse(ctx, XN.LOCKED, `block ${db} has I/O in flight`));
    const m = this.#types[e.reg.type]?.members.find((x) => x.off === off);
    if (m === undefined || m.type.cls !== 'union') return this.#count('set_type', this.#refuse(ctx, XN.BOGUS_TYPE, `no union starts at byte ${off}`));
    const page = this.cache.bytes(e);
    if (activeBase(m.type, page, off, this.env) !== null) return this.#count('set_type', this.#refuse(ctx, XN.ILLEGAL_OP, 'the union already has a type'));
    const ta = m.type.typeAccess as Extent;
    if (!Number.isInteger(at) || src.length < 1 || at < ta.off || at + src.length > ta.off + ta.len) return this.#count('set_type', this.#refuse(ctx, XN.WRITE_FAILED, 'bytes outside the discriminator'));
    const undo = this.#apply(page, off, [{ offset: at, bytes: src }]);
    const arm = activeBase(m.type, page, off, this.env);
    if (arm === null || arm.id !== expected || !this.#ownsNothing(page.subarray(off, off + m.type.nbytes), arm)) {
      undo();
      return this.#count('set_type', this.#refuse(ctx, XN.TYPE_ERROR, `get_type gives ${arm?.id ?? 'NIL'}, expected ${expected}, or the arm would own stale bytes`));
    }
    this.cache.setDirty(e, true);
    return this.#count('set_type', XN.SUCCESS);
  }

  // -------------------------------------------------------------------------------------------
  // Roots and types (the catalogue)

  #catFind(name: string): number {
    return this.#cat.findIndex((c) => c !== null && c.entry.name === name);
  }

  #checkName(ctx: XnContext, name: unknown): string | number {
    if (typeof name !== 'string') return this.#refuse(ctx, XN.BOGUS_NAME, 'no name');
    const len = new TextEncoder().encode(name).length;
    if (len < 1 || len > XN_NAME_MAX || name.includes('\0')) return this.#refuse(ctx, XN.BOGUS_NAME, `a name is 1..${XN_NAME_MAX} bytes without NUL`);
    return name;
  }

  #freeCatSlot(): number {
    const cap = this.#sb.catalogueBlocks * CAT_ENTRIES_PER_BLOCK;
    for (let i = 0; i < cap; i++) if ((this.#cat[i] ?? null) === null) return i;
    return -1;
  }

  /** The catalogue block that holds entry `i`. */
  #catDb(i: number): number {
    return this.#sb.catalogueStart + Math.floor(i / CAT_ENTRIES_PER_BLOCK);
  }

  /**
   * `sys_install_mount`: create the named root `name` of `op.nelem` blocks of `op.type` (op.db = 0
   * lets XN choose; written back into op.db), owned by the caller's uid with `mode`, and give
   * the caller a read-write capability for it. The root is durable once its blocks were written
   * back and then the catalogue (`writeback(root())`).
   */
  installMount(ctx: XnContext, name: string, op: XnOp, mode: number): number {
    if (!this.#online) return this.#count('install_mount', this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized'));
    const nm = this.#checkName(ctx, name);
    if (typeof nm === 'number') return this.#count('install_mount', nm);
    if (this.#catFind(nm) >= 0) return this.#count('install_mount', this.#refuse(ctx, XN.DUPLICATE, `root "${nm}" exists`));
    const slot = this.#freeCatSlot();
    if (slot < 0) return this.#count('install_mount', this.#refuse(ctx, XN.CANNOT_ALLOC, 'the root catalogue is full'));
    if (op === null || typeof op !== 'object' || !Number.isInteger(op.nelem) || op.nelem < 1 || op.nelem > XN_MAX_EXTENT_BLOCKS) return this.#count('install_mount', this.#refuse(ctx, XN.BOGUS_NAME, 'bad block count'));
    const t = Number.isInteger(op.type) ? this.#types[op.type] : undefined;
    if (t === undefined || !t.allocatable) return this.#count('install_mount', this.#refuse(ctx, XN.BOGUS_TYPE, `type ${op.type} is not a loaded block type`));
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) return this.#count('install_mount', this.#refuse(ctx, XN.BOGUS_FLAG, 'bad mode'));
    const db = !Number.isInteger(op.db) || op.db < 0 ? -1 : op.db === 0 ? this.findFree(0, op.nelem) : op.db;
    if (db <= 0 || db < firstDataBlock(this.#sb) || !this.#freemap.runFree(db, op.nelem)) return this.#count('install_mount', this.#refuse(ctx, XN.CANNOT_ALLOC, 'no such free run'));
    for (let b = db; b < db + op.nelem; b++) if (this.cache.peek(b)?.reg != null) return this.#count('install_mount', this.#refuse(ctx, XN.REGISTRY_HIT, `block ${b} is registered`));
    op.db = db;
    const catDb = this.#catDb(slot);
    this.#cat[slot] = { entry: { name: nm, db, nelem: op.nelem, type: op.type, typeId: 0, uid: ctx.uid, mode, size: 0 }, persisted: false };
    for (let b = db; b < db + op.nelem; b++) {
      this.#freemap.set(b, true);
      this.cache.setDirty(this.#register(b, op.type, catDb, 0, slot, false), true);
    }
    this.#catDirty = true;
    ctx.caps.set(slot, 'rw');
    ctx.lastError = '';
    return this.#count('install_mount', XN.SUCCESS);
  }

  /**
   * `sys_xn_mount`: look up root `name`, give the caller the capability its uid and the root's
   * mode allow (XN_BOGUS_CAP if none), register the root blocks, and append a copy of the entry
   * to `out`.
   */
  mount(ctx: XnContext, name: string, out: CatalogueEntry[]): number {
    if (!this.#online) return this.#count('mount', this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized'));
    const i = typeof name === 'string' ? this.#catFind(name) : -1;
    if (i < 0) return this.#count('mount', this.#refuse(ctx, XN.NOT_FOUND, `no root "${String(name)}"`));
    const c = this.#cat[i] as CatSlot;
    if (c.entry.typeId !== 0) return this.#count('mount', this.#refuse(ctx, XN.BOGUS_TYPE, `"${name}" is a stored template, not a root`));
    if (this.#types[c.entry.type] === undefined) return this.#count('mount', this.#refuse(ctx, XN.TYPE_MISS, `type ${c.entry.type} is not loaded`));
    const owner = ctx.uid === 0 || ctx.uid === c.entry.uid;
    const right = owner || (c.entry.mode & XN_MODE_OTHER_WRITE) !== 0 ? 'rw' : (c.entry.mode & XN_MODE_OTHER_READ) !== 0 ? 'r' : null;
    if (right === null) return this.#count('mount', this.#refuse(ctx, XN.BOGUS_CAP, `root "${name}" belongs to uid ${c.entry.uid}`));
    for (let b = c.entry.db; b < c.entry.db + c.entry.nelem; b++) {
      if (this.cache.peek(b)?.reg == null) this.#register(b, c.entry.type, this.#catDb(i), 0, i, true);
    }
    ctx.caps.set(i, right);
    out.push({ ...c.entry });
    ctx.lastError = '';
    return this.#count('mount', XN.SUCCESS);
  }

  /**
   * `sys_type_import`, as Xok's libFS used it: the caller staged the encoded template in the
   * XN_DB root `name` (install_mount, bind, writeb, writeback); XN verifies the bytes of those
   * blocks — which must be in core, written and clean, so what is verified is what is on disk —
   * and turns the entry into a stored template: its blocks become XN's (XN_TYPE_TYPE, no longer
   * writable), the type gets the lowest free id (≥ 5), and the id is recorded in the entry, so
   * it is **stable across restarts** once the catalogue is written (`writeback(root())`).
   * Refusals: XN_NOT_FOUND, XN_BOGUS_TYPE (not an XN_DB root, already a type, or the verifier's
   * reason in ctx.lastError), XN_BOGUS_CAP (not the caller's), XN_TOO_SMALL (more than
   * MAX_TEMPLATE_BYTES staged), XN_REGISTRY_MISS / XN_NOT_IN_CORE / XN_DIRTY_BLOCKS (not staged
   * and written), XN_TOO_MANY_TEMPLATES.
   *
   * Deviation: the stored id (Xok reassigned ids at every type_mount), and XN_DIRTY_BLOCKS for
   * unwritten staging blocks (Xok verified whatever was in core).
   */
  typeImport(ctx: XnContext, name: string): number {
    if (!this.#online) return this.#count('type_import', this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized'));
    const nm = this.#checkName(ctx, name);
    if (typeof nm === 'number') return this.#count('type_import', nm);
    const i = this.#catFind(nm);
    if (i < 0) return this.#count('type_import', this.#refuse(ctx, XN.NOT_FOUND, `no root "${nm}" (stage the template in an XN_DB root first)`));
    const c = this.#cat[i] as CatSlot;
    if (c.entry.typeId !== 0 || c.entry.type !== XN_DB) return this.#count('type_import', this.#refuse(ctx, XN.BOGUS_TYPE, `"${nm}" is ${c.entry.typeId !== 0 ? 'already a type' : 'not an XN_DB root'}`));
    if (ctx.uid !== 0 && ctx.uid !== c.entry.uid) return this.#count('type_import', this.#refuse(ctx, XN.BOGUS_CAP, `root "${nm}" belongs to uid ${c.entry.uid}`));
    if (c.entry.nelem * BLOCK_SIZE > MAX_TEMPLATE_BYTES) return this.#count('type_import', this.#refuse(ctx, XN.TOO_SMALL, `a template takes at most ${MAX_TEMPLATE_BYTES / BLOCK_SIZE} blocks`));
    const bytes = new Uint8Array(c.entry.nelem * BLOCK_SIZE);
    for (let k = 0; k < c.entry.nelem; k++) {
      const e = this.cache.peek(c.entry.db + k);
      if (e?.reg == null) return this.#count('type_import', this.#refuse(ctx, XN.REGISTRY_MISS, `block ${c.entry.db + k} is not registered (mount the root)`));
      if (e.page < 0) return this.#count('type_import', this.#refuse(ctx, XN.NOT_IN_CORE, `block ${e.db} is not in core`));
      if (!e.reg.initialized || e.dirty || e.locked) return this.#count('type_import', this.#refuse(ctx, XN.DIRTY_BLOCKS, `block ${e.db} is not written back: write the template first`));
      bytes.set(this.cache.bytes(e), k * BLOCK_SIZE);
    }
    let id = XN_FIRST_USER_TYPE;
    while (id < XN_MAX_TEMPLATES && this.#types[id] !== undefined) id++;
    if (id >= XN_MAX_TEMPLATES) return this.#count('type_import', this.#refuse(ctx, XN.TOO_MANY_TEMPLATES, 'the template table is full'));
    const v = importTemplate(bytes, id, this.env, true);
    if (!v.ok) return this.#count('type_import', this.#refuse(ctx, XN.BOGUS_TYPE, v.reason));
    for (let k = 0; k < c.entry.nelem; k++) ((this.cache.peek(c.entry.db + k) as BufEntry).reg as RegistryState).type = XN_TYPE_TYPE;
    this.#types[id] = v.type;
    this.#cat[i] = { entry: { ...c.entry, type: XN_TYPE_TYPE, typeId: id, mode: c.entry.mode | XN_MODE_OTHER_READ, size: v.type.source.length }, persisted: false };
    this.#catDirty = true;
    ctx.lastError = '';
    this.#log.debug({ id, name: nm }, 'type imported');
    return this.#count('type_import', id);
  }

  /** `sys_type_mount`: the (stable) id of the stored template `name`. */
  typeMount(ctx: XnContext, name: string): number {
    if (!this.#online) return this.#count('type_mount', this.#refuse(ctx, XN.BOGUS_CTX, 'XN is not initialized'));
    const i = typeof name === 'string' ? this.#catFind(name) : -1;
    if (i < 0) return this.#count('type_mount', this.#refuse(ctx, XN.NOT_FOUND, `no template "${String(name)}"`));
    const id = (this.#cat[i] as CatSlot).entry.typeId;
    if (id === 0) return this.#count('type_mount', this.#refuse(ctx, XN.BOGUS_TYPE, `"${name}" is a root, not a template`));
    return this.#count('type_mount', id);
  }

  /** `sys_xn_read_catalogue`: every entry, with its index and whether it is on disk yet. */
  readCatalogue(): { index: number; entry: CatalogueEntry; persisted: boolean }[] {
    const r: { index: number; entry: CatalogueEntry; persisted: boolean }[] = [];
    this.#cat.forEach((c, index) => {
      if (c !== null) r.push({ index, entry: { ...c.entry }, persisted: c.persisted });
    });
    return r;
  }

  /** `sys_root`: the first block of the root catalogue. */
  root(): number {
    return this.#sb.catalogueStart;
  }

  /** A loaded type, for printing (admin). */
  types(): XnType[] {
    return this.#types.filter((t): t is XnType => t !== undefined);
  }

  /** Whether entry `i` may go to disk: its blocks were written and its type is durable. */
  #catSafe(i: number, depth = 0): boolean {
    const c = this.#cat[i];
    if (c === null || c === undefined || depth > 4) return false;
    for (let b = c.entry.db; b < c.entry.db + c.entry.nelem; b++) {
      const e = this.cache.peek(b);
      if (e?.reg != null && !e.reg.initialized) return false;
    }
    const t = c.entry.typeId !== 0 ? XN_TYPE_TYPE : c.entry.type;
    if (t < XN_FIRST_USER_TYPE) return true;
    const ti = this.#cat.findIndex((x) => x !== null && x.entry.typeId === t);
    return ti >= 0 && this.#catSafe(ti, depth + 1);
  }

  /**
   * Write the catalogue as one atomic group, leaving out entries that are not yet safe (their
   * blocks never written, or their type not durable) — soft updates' roll-back, so the catalogue
   * is never tainted. Writes are serialized; a request during a write triggers one more.
   */
  #writeCatalogue(done: (status: number) => void): void {
    this.#catWaiters.push(done);
    if (this.#catWriting) {
      this.#catAgain = true;
      return;
    }
    this.#catWriting = true;
    const waiters = this.#catWaiters.splice(0);
    const n = this.#sb.catalogueBlocks;
    const buf = new Uint8Array(n * BLOCK_SIZE);
    const included: number[] = [];
    for (let i = 0; i < n * CAT_ENTRIES_PER_BLOCK; i++) {
      const c = this.#cat[i] ?? null;
      if (c !== null && this.#catSafe(i)) {
        encodeCatalogueEntry(c.entry, buf, i * CAT_ENTRY_BYTES);
        included.push(i);
      }
    }
    this.#catDirty = false;
    const finish = (ok: boolean): void => {
      if (ok) for (const i of included) if (this.#cat[i] != null) (this.#cat[i] as CatSlot).persisted = true;
      this.#catWriting = false;
      for (const w of waiters) w(ok ? XN.SUCCESS : XN.WRITE_FAILED);
      if (this.#catAgain) {
        this.#catAgain = false;
        const more = this.#catWaiters.splice(0);
        if (more.length > 0) this.#writeCatalogue((st) => more.forEach((w) => w(st)));
      }
    };
    this.#deviceWrite(this.#sb.catalogueStart, buf).then(() => finish(true), () => finish(false));
  }

  /** Kernel-internal write of XN's own metadata, durable on return. */
  async #deviceWrite(db: number, buf: Uint8Array): Promise<void> {
    await this.device.write(db, buf.length / BLOCK_SIZE, buf);
    if (!this.device.writeThrough) await this.device.flush();
  }

  async #deviceRead(db: number, n: number): Promise<Uint8Array> {
    const buf = new Uint8Array(n * BLOCK_SIZE);
    await this.device.read(db, n, buf);
    return buf;
  }

  // -------------------------------------------------------------------------------------------
  // Boot, shutdown, fsck

  /**
   * `sys_xn_init`: mount XN on the device. A blank disk is formatted. After a clean shutdown the
   * stored freemap is trusted; after an unclean one it is rebuilt by walking every root with the
   * owns UDFs, and dangling or doubly-owned pointers are reported — and, with `repair`, cleared
   * (the later owner's slot is zeroed on disk). The superblock is then marked not clean.
   */
  async init(opts: { repair?: boolean } = {}): Promise<XnInitResult> {
    const result: XnInitResult = { code: XN.SUCCESS, formatted: false, wasClean: false, fsck: null, reason: '' };
    const fail = (code: number, reason: string): XnInitResult => ({ ...result, code, reason });
    if (this.#online || this.#busy) return fail(XN.BOGUS_CTX, this.#online ? 'already initialized' : 'an init or shutdown is in progress');
    this.#busy = true;
    try {
      const sbBytes = await this.#deviceRead(SUPER_DB, 1);
      const sb = decodeSuperblock(sbBytes);
      if (sb === 'empty') {
        await this.#format();
        result.formatted = true;
      } else if (typeof sb === 'string') return fail(XN.BOGUS_ROOT, sb);
      else if (sb.blockCount !== this.device.blockCount) return fail(XN.BOGUS_ROOT, `superblock says ${sb.blockCount} blocks, the device has ${this.device.blockCount}`);
      else this.#sb = sb;
      result.wasClean = this.#sb.clean;
      // Catalogue.
      const cat = await this.#deviceRead(this.#sb.catalogueStart, this.#sb.catalogueBlocks);
      this.#cat.length = 0;
      const badEntries: number[] = [];
      for (let i = 0; i < this.#sb.catalogueBlocks * CAT_ENTRIES_PER_BLOCK; i++) {
        const e = decodeCatalogueEntry(cat, i * CAT_ENTRY_BYTES);
        if (typeof e === 'string') badEntries.push(i);
        this.#cat[i] = e === null || typeof e === 'string' ? null : { entry: e, persisted: true };
      }
      // Templates, in id order (a template refers only to lower ids or itself).
      const typeSlots = this.#cat.map((c, i) => ({ c, i })).filter((x) => x.c !== null && x.c.entry.typeId !== 0);
      typeSlots.sort((a, b) => (a.c as CatSlot).entry.typeId - (b.c as CatSlot).entry.typeId);
      const badTypes: string[] = [];
      for (const { c, i } of typeSlots) {
        const e = (c as CatSlot).entry;
        const okRange = this.#inRange(e.db, e.nelem) && e.size > 0 && e.size <= e.nelem * BLOCK_SIZE && e.size <= MAX_TEMPLATE_BYTES;
        const v = okRange ? importTemplate((await this.#deviceRead(e.db, e.nelem)).subarray(0, e.size), e.typeId, this.env) : { ok: false as const, reason: 'bad template extent' };
        if (v.ok) this.#types[e.typeId] = v.type;
        else {
          badTypes.push(`${e.name}: ${v.reason}`);
          this.#cat[i] = null;
        }
      }
      for (let k = 0; k < this.#sb.catalogueBlocks; k++) {
        this.#register(this.#sb.catalogueStart + k, XN_ROOT_TYPE, -1, 0, 0, true);
      }
      this.#online = true;
      if (this.#sb.clean) {
        const fm = await this.#deviceRead(this.#sb.freemapStart, this.#sb.freemapBlocks);
        this.#freemap = new Freemap(this.#sb.blockCount, fm.subarray(0, Math.ceil(this.#sb.blockCount / 8)).slice());
      } else {
        let report = await this.#walk('disk', false);
        if (opts.repair === true && report.problems.length > 0) {
          const fixed = await this.#repair(report);
          report = await this.#walk('disk', false);
          report.repaired = fixed;
        }
        result.fsck = report;
        this.#freemap = this.#reachableMap;
      }
      for (const i of badEntries) result.reason += `catalogue entry ${i} damaged; `;
      for (const t of badTypes) result.reason += `template ${t}; `;
      this.#sb = { ...this.#sb, clean: false, generation: this.#sb.generation + 1 };
      await this.#writeSuper();
      this.#log.info({ formatted: result.formatted, wasClean: result.wasClean, generation: this.#sb.generation }, 'xn online');
      this.#boot = result;
      return result;
    } catch (e) {
      this.#online = false;
      return fail(XN.READ_FAILED, e instanceof Error ? e.message : String(e));
    } finally {
      this.#busy = false;
    }
  }

  /** An init or shutdown is running (their awaits must not interleave with each other). */
  #busy = false;

  async #format(): Promise<void> {
    const sb = layoutFor(this.device.blockCount);
    this.#sb = sb;
    const fm = new Freemap(sb.blockCount);
    for (let b = 0; b < firstDataBlock(sb); b++) fm.set(b, true);
    this.#freemap = fm;
    await this.#deviceWrite(sb.catalogueStart, new Uint8Array(sb.catalogueBlocks * BLOCK_SIZE));
    await this.#writeFreemap();
    await this.#writeSuper();
  }

  async #writeSuper(): Promise<void> {
    const b = new Uint8Array(BLOCK_SIZE);
    encodeSuperblock(this.#sb, b);
    await this.#deviceWrite(SUPER_DB, b);
  }

  async #writeFreemap(): Promise<void> {
    const buf = new Uint8Array(this.#sb.freemapBlocks * BLOCK_SIZE);
    buf.set(this.#freemap.bits);
    await this.#deviceWrite(this.#sb.freemapStart, buf);
  }

  /** What the `init` in force reported (null while offline). */
  get bootReport(): XnInitResult | null {
    return this.#online ? this.#boot : null;
  }
  #boot: XnInitResult | null = null;

  /**
   * Kernel-internal write-back of every dirty registered block the ordering rules allow — what a
   * syncer does before shutdown, so the work of processes that exited or stopped responding is
   * not lost (facts §2.5: "dirty registered blocks get written even if the owning application
   * stops responding"). Waits for I/O in flight; gives never-bound uninitialized blocks a zeroed
   * page (zeros own nothing and expose nothing, and their parents become writable); writes
   * untainted blocks with their coupled partners as atomic groups, children before parents,
   * until nothing more can be written. Returns how many blocks were written and which remain
   * dirty (tainted beyond repair, no free page, or I/O errors).
   */
  async flushAll(): Promise<{ written: number; left: number[] }> {
    const k = this.context(0, 0);
    let written = 0;
    for (let round = 0; this.#online; round++) {
      await this.cache.whenIdle();
      const dirty: BufEntry[] = [];
      for (const e of this.cache.entries()) if (e.reg !== null && e.dirty && !this.#isCatalogue(e.db)) dirty.push(e);
      for (const e of dirty) {
        if (e.page >= 0 || (e.reg as RegistryState).initialized || !this.cache.attachPage(e)) continue;
        this.device.pool.zero(e.page);
        this.cache.setDirty(e, true);
      }
      const ok = (e: BufEntry | undefined): e is BufEntry => e?.reg != null && e.page >= 0 && !e.locked && e.reg.uninitChildren === 0;
      const taken = new Set<number>();
      const batches: { db: number; n: number }[][] = [[]];
      for (const e of dirty) {
        if (taken.has(e.db) || !ok(e)) continue;
        const group = [e.db];
        for (let i = 0; i < group.length; i++) for (const c of this.#nodes.get(group[i] as number)?.coupled ?? []) if (!group.includes(c)) group.push(c);
        if (!group.every((b) => ok(this.cache.peek(b)))) continue;
        let batch = batches[batches.length - 1] as { db: number; n: number }[];
        if (batch.length + group.length > XN_MAX_IOE) batches.push((batch = []));
        for (const b of group) {
          taken.add(b);
          batch.push({ db: b, n: 1 });
        }
      }
      if (taken.size === 0) break;
      const results = await Promise.all(
        batches.filter((b) => b.length > 0).map(
          (runs) =>
            new Promise<number>((resolve) => {
              const code = this.writebackv(k, runs, round, (_id, _db, st) => resolve(st === XN.SUCCESS ? runs.length : 0));
              if (code !== XN.SUCCESS) resolve(0);
            }),
        ),
      );
      const n = results.reduce((a, b) => a + b, 0);
      if (n === 0) break;
      written += n;
    }
    const left: number[] = [];
    for (const e of this.cache.entries()) if (e.reg !== null && e.dirty && !this.#isCatalogue(e.db)) left.push(e.db);
    if (written > 0 || left.length > 0) this.#log.info({ written, left: left.length }, 'xn flushed dirty blocks');
    return { written, left };
  }

  /**
   * `sys_xn_shutdown`: refuse while any registered block is dirty or has I/O in flight
   * (XN_DIRTY_BLOCKS); else write the catalogue, the freemap, and last the clean superblock.
   */
  async shutdown(): Promise<number> {
    if (!this.#online || this.#busy) return XN.BOGUS_CTX;
    for (const e of this.cache.entries()) if (e.reg !== null && (e.dirty || e.locked)) return this.#count('shutdown', XN.DIRTY_BLOCKS);
    // Offline while the metadata is written: no call may change it between the check and the clean marker.
    this.#online = false;
    this.#busy = true;
    try {
      if (this.#catDirty || this.#cat.some((c) => c !== null && !c.persisted)) {
        const st = await new Promise<number>((r) => this.#writeCatalogue(r));
        if (st !== XN.SUCCESS) throw new Error('catalogue write failed');
      }
      await this.#writeFreemap();
      this.#sb = { ...this.#sb, clean: true };
      await this.#writeSuper();
    } catch {
      this.#online = true;
      return this.#count('shutdown', XN.WRITE_FAILED);
    } finally {
      this.#busy = false;
    }
    for (const e of [...this.cache.entries()]) if (e.reg !== null) this.#unregister(e);
    this.#nodes.clear();
    this.#cat.length = 0;
    this.#types.length = 0;
    this.#types[XN_DB] = DB_TYPE;
    this.#log.info('xn shut down cleanly');
    return this.#count('shutdown', XN.SUCCESS);
  }

  #reachableMap: Freemap = new Freemap(1);

  /** Online fsck of the current state (pages in core, else disk). Read-only. */
  async fsck(): Promise<FsckReport> {
    if (!this.#online) throw new Error('XN is not initialized');
    return this.#walk('memory', true);
  }

  /**
   * Walk every root with the owns UDFs. Records owners, finds dangling pointers (outside the
   * disk, into XN's area, of an unknown or non-block type, UDF faults, or — when the freemap is
   * trusted — to a free block), doubly-owned blocks, and (trusted freemap) leaked blocks.
   * Leaves the reachable set in #reachableMap.
   */
  async #walk(source: 'disk' | 'memory', trusted: boolean): Promise<FsckReport> {
    const report: FsckReport = { source, reachableBlocks: 0, allocatedBlocks: 0, roots: 0, dangling: 0, doublyOwned: 0, leaked: 0, problems: [], repaired: 0 };
    const count = this.#sb.blockCount;
    const owner = new Int32Array(count).fill(-1); // parent db (0 = catalogue) of each owned block
    const reach = new Freemap(count);
    const first = firstDataBlock(this.#sb);
    for (let b = 0; b < first; b++) reach.set(b, true);
    const problem = (kind: FsckProblem['kind'], db: number, parentDb: number, parentOff: number, slot: number, detail: string): void => {
      if (kind === 'dangling') report.dangling++;
      if (kind === 'doubly-owned') report.doublyOwned++;
      if (kind === 'leaked') report.leaked++;
      if (report.problems.length < 1000) report.problems.push({ kind, db, parentDb, parentOff, slot, detail });
    };
    interface Item {
      db: number;
      n: number;
      t: number;
      parentDb: number;
      parentOff: number;
      slot: number;
    }
    let level: Item[] = [];
    this.#cat.forEach((c, i) => {
      if (c === null) return;
      report.roots++;
      const t = c.entry.typeId !== 0 ? XN_TYPE_TYPE : c.entry.type;
      level.push({ db: c.entry.db, n: c.entry.nelem, t, parentDb: this.#catDb(i), parentOff: 0, slot: i });
    });
    while (level.length > 0) {
      const toRead: { db: number; t: XnType }[] = [];
      for (const it of level) {
        const t = it.t === XN_TYPE_TYPE ? DB_TYPE : this.#types[it.t];
        const bad =
          !Number.isInteger(it.db) || !Number.isInteger(it.n) || it.n < 1 || it.db + it.n > count ? 'points outside the disk'
          : it.db < first ? "points into XN's own blocks"
          : t === undefined ? `type ${it.t} is not loaded`
          : !t.allocatable ? `type ${it.t} is not a block type`
          : null;
        if (bad !== null) {
          problem('dangling', it.db, it.parentDb, it.parentOff, it.slot, bad);
          continue;
        }
        for (let b = it.db; b < it.db + it.n; b++) {
          if (trusted && !this.#freemap.isAllocated(b)) problem('dangling', b, it.parentDb, it.parentOff, it.slot, 'points to a free block');
          if (reach.isAllocated(b)) {
            problem('doubly-owned', b, it.parentDb, it.parentOff, it.slot, `already owned by block ${owner[b] ?? -1}`);
            continue;
          }
          reach.set(b, true);
          owner[b] = it.parentDb;
          if (it.t !== XN_TYPE_TYPE && (t as XnType).hasPointers) toRead.push({ db: b, t: t as XnType });
        }
      }
      const pages = await Promise.all(toRead.map(({ db }) => this.#contentOf(db, source)));
      const next: Item[] = [];
      toRead.forEach(({ db, t }, k) => {
        const page = pages[k] as Uint8Array;
        for (const m of t.members) {
          const base = activeBase(m.type, page, m.off, this.env);
          if (base === null) continue;
          for (let s = 0; s < base.nslots; s++) {
            const f = runUdf(base.owns, page, m.off, s, base.readSets[s] as Extent[], out);
            if (f !== UDF_OK) {
              problem('dangling', 0, db, m.off, s, `owns faults: ${udfFaultText(f)}`);
              continue;
            }
            for (let x = 0; x < out.n; x++) next.push({ db: out.a[x] as number, n: out.b[x] as number, t: out.t[x] as number, parentDb: db, parentOff: m.off, slot: s });
          }
        }
      });
      level = next;
    }
    const pending = new Set<number>();
    for (const n of this.#nodes.values()) for (const b of n.willFree) pending.add(b);
    for (let b = first; b < count; b++) {
      if (reach.isAllocated(b)) report.reachableBlocks++;
      if (trusted && this.#freemap.isAllocated(b)) {
        report.allocatedBlocks++;
        if (!reach.isAllocated(b) && !pending.has(b)) problem('leaked', b, -1, 0, 0, 'allocated but unreachable');
      }
    }
    if (!trusted) report.allocatedBlocks = report.reachableBlocks;
    this.#reachableMap = reach;
    return report;
  }

  async #contentOf(db: number, source: 'disk' | 'memory'): Promise<Uint8Array> {
    if (source === 'memory') {
      const e = this.cache.peek(db);
      if (e !== undefined && e.page >= 0) return this.cache.bytes(e).slice();
    }
    return this.#deviceRead(db, 1);
  }

  /** Offline repair: zero the slot of every dangling or second owner's pointer, on disk. */
  async #repair(report: FsckReport): Promise<number> {
    let fixed = 0;
    for (const p of report.problems) {
      if (p.kind !== 'dangling' && p.kind !== 'doubly-owned') continue;
      if (this.#isCatalogue(p.parentDb)) {
        this.#cat[p.slot] = null;
        const cat = new Uint8Array(this.#sb.catalogueBlocks * BLOCK_SIZE);
        this.#cat.forEach((c, i) => encodeCatalogueEntry(c?.entry ?? null, cat, i * CAT_ENTRY_BYTES));
        await this.#deviceWrite(this.#sb.catalogueStart, cat);
        fixed++;
        continue;
      }
      const page = await this.#deviceRead(p.parentDb, 1);
      const t = await this.#typeOfOnDisk(p.parentDb);
      const m = t?.members.find((x) => x.off === p.parentOff);
      const base = m === undefined ? null : activeBase(m.type, page, m.off, this.env);
      if (base === null || base === undefined) continue;
      for (const ext of base.readSets[p.slot] ?? []) page.fill(0, p.parentOff + ext.off, p.parentOff + ext.off + ext.len);
      await this.#deviceWrite(p.parentDb, page);
      fixed++;
    }
    return fixed;
  }

  /** Type of a block as the last walk found it (by re-walking owners is costly; scan). */
  async #typeOfOnDisk(db: number): Promise<XnType | undefined> {
    for (const c of this.#cat) if (c !== null && c.entry.typeId === 0 && db >= c.entry.db && db < c.entry.db + c.entry.nelem) return this.#types[c.entry.type];
    // A child: find its parent's pointer by a targeted walk.
    const found = await this.#findType(db);
    return found === undefined ? undefined : this.#types[found];
  }

  async #findType(target: number): Promise<number | undefined> {
    const seen = new Set<number>();
    let level: { db: number; t: number }[] = [];
    for (const c of this.#cat) if (c !== null && c.entry.typeId === 0) for (let b = c.entry.db; b < c.entry.db + c.entry.nelem; b++) level.push({ db: b, t: c.entry.type });
    while (level.length > 0) {
      const next: { db: number; t: number }[] = [];
      for (const { db, t } of level) {
        if (db === target) return t;
        const ty = this.#types[t];
        if (ty === undefined || !ty.hasPointers || seen.has(db) || db >= this.#sb.blockCount) continue;
        seen.add(db);
        const page = await this.#deviceRead(db, 1);
        for (const m of ty.members) {
          const base = activeBase(m.type, page, m.off, this.env);
          if (base === null) continue;
          for (let s = 0; s < base.nslots; s++) {
            if (runUdf(base.owns, page, m.off, s, base.readSets[s] as Extent[], out) !== UDF_OK) continue;
            for (let x = 0; x < out.n; x++) for (let k = 0; k < (out.b[x] as number) && k < XN_MAX_EXTENT_BLOCKS; k++) next.push({ db: (out.a[x] as number) + k, t: out.t[x] as number });
          }
        }
      }
      level = next;
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Processes

  /**
   * Release what a process held: its capabilities (the context is dead afterwards). XN keeps no
   * pages or locks per process — bound pages belong to the blocks, and dirty ones are written by
   * their owner or by {@link Xn.flushAll} — so nothing else needs to go.
   */
  releaseProcess(ctx: XnContext): void {
    ctx.caps.clear();
    ctx.lastError = 'process exited';
  }

  /** Admin view of one block: registry entry, parent chain, freemap bit, page bytes if in core. */
  blockInfo(db: number): { db: number; allocated: boolean; attr: XnAttr | null; parents: XnAttr[]; root: number; page: Uint8Array | null } | null {
    if (!Number.isInteger(db) || db < 0 || db >= this.#sb.blockCount) return null;
    const parents: XnAttr[] = [];
    let a = this.attrOf(db);
    const attr = a;
    for (let depth = 0; a !== null && a.parentDb > 0 && depth < 64; depth++) {
      a = this.attrOf(a.parentDb);
      if (a !== null) parents.push(a);
    }
    const e = this.cache.peek(db);
    return { db, allocated: this.#online && this.#freemap.isAllocated(db), attr, parents, root: this.#rootOf(db), page: e !== undefined && e.page >= 0 ? this.cache.bytes(e).slice() : null };
  }
}
