/**
 * Templates: how a library file system describes its metadata to XN (facts §2.3) — the kernel
 * side: decoding the binary form a process hands to `type_import` (untrusted input: every field
 * checked, never a throw) and the import-time verifier. The description and its encoder live in
 * the ABI (`src/kernel/abi/xn-template.ts`), since a user library builds templates.
 *
 * Classes:
 * - **base**: `nbytes` of metadata with `nslots` pointer slots; `owns(slot)` emits the typed
 *   extents slot `slot` points to, reading only `readSet(slot)`; `rawRead`/`rawWrite` are the byte
 *   extents `readb`/`writeb` may touch directly (non-pointer fields).
 * - **struct**: a concatenation of member types (nested structs flattened), e.g. a directory
 *   block of 8 sectors.
 * - **union**: one of several equally sized base arms, chosen by a discriminator extent
 *   (`typeAccess`) that `getType` reads; zero means NIL. Set once, by `set_type`.
 *
 * Verification (refusals name the reason): well-formed encoding; name NUL-terminated within 80
 * bytes; no stores, no register/branch out of range, no writes to r0, within the instruction
 * limit; readSet may not load and emits only byte extents; owns emits only allocatable types;
 * every slot's read set inside the type and pairwise disjoint; raw-write extents inside the type
 * and disjoint from every read set; owns on zeroed metadata owns nothing; union arms are base
 * types of equal size whose read sets and raw-write extents avoid the discriminator, and a zero
 * discriminator is NIL.
 */
import {
  BLOCK_TYPE_BYTES,
  encodeTemplate,
  MAX_ARMS,
  MAX_MEMBERS,
  MAX_RAW_EXTENTS,
  MAX_SLOTS,
  MAX_TEMPLATE_BYTES,
  TEMPLATE_MAGIC,
  TEMPLATE_NAME_WORDS,
  type Extent,
  type TemplateSpec,
} from '../abi/xn-template.js';
import { XN_BYTES, XN_DB, XN_FIRST_USER_TYPE, XN_MAX_TEMPLATES, XN_NIL, XN_SELF_TYPE } from '../abi/xn.js';
import { checkUdf, runUdf, UdfOutput, udfFaultText, UDF_OK } from './udf.js';

/** One base-or-union piece of a type's flattened layout, at byte `off`. */
export interface Member {
  off: number;
  type: XnType;
}

/** A verified type, as the kernel uses it. */
export interface XnType {
  readonly id: number;
  readonly name: string;
  readonly cls: 'builtin' | 'base' | 'struct' | 'union';
  readonly nbytes: number;
  /** May be the target of a pointer (exactly one block). */
  readonly allocatable: boolean;
  /** Base: pointer slots; union/struct: 0 (slots belong to members). */
  readonly nslots: number;
  readonly owns: Int32Array;
  /** Base: read set of each slot (offsets within the base type). */
  readonly readSets: readonly Extent[][];
  readonly rawRead: readonly Extent[];
  readonly rawWrite: readonly Extent[];
  /** What readb may copy out: the raw extents and every slot's read set (pointers are readable). */
  readonly readable: readonly Extent[];
  /** Union only. */
  readonly typeAccess: Extent | null;
  readonly getType: Int32Array;
  readonly arms: readonly number[];
  /** Base and union types: one member at 0 (itself); struct: the flattened members. */
  readonly members: readonly Member[];
  /** Could own blocks at all. */
  readonly hasPointers: boolean;
  /** The encoded template (empty for built-ins). */
  readonly source: Uint8Array;
  /** The raw template decoded, for printing. */
  readonly spec: TemplateSpec | null;
}

/** Type lookup the verifier and the kernel share. */
export type TypeEnv = (id: number) => XnType | undefined;

function makeBuiltinDb(): XnType {
  const t: XnType = {
    id: XN_DB,
    name: 'XN_DB',
    cls: 'builtin',
    nbytes: BLOCK_TYPE_BYTES,
    allocatable: true,
    nslots: 0,
    owns: new Int32Array(0),
    readSets: [],
    rawRead: [{ off: 0, len: BLOCK_TYPE_BYTES }],
    rawWrite: [{ off: 0, len: BLOCK_TYPE_BYTES }],
    readable: [{ off: 0, len: BLOCK_TYPE_BYTES }],
    typeAccess: null,
    getType: new Int32Array(0),
    arms: [],
    members: [],
    hasPointers: false,
    source: new Uint8Array(0),
    spec: null,
  };
  (t.members as Member[]).push({ off: 0, type: t });
  return t;
}

/** The built-in "DiskBlock" type: 4096 raw bytes, no pointers. */
export const DB_TYPE: XnType = makeBuiltinDb();

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decode the binary form; a string is the reason it is malformed. Never throws. `zeroTail`
 * accepts zero bytes after the template (a template staged in whole disk blocks); any other
 * trailing byte is refused.
 */
export function decodeTemplate(bytes: Uint8Array, zeroTail = false): TemplateSpec | string {
  if (bytes.length % 4 !== 0) return 'template length is not a multiple of 4 bytes';
  if (bytes.length > MAX_TEMPLATE_BYTES) return `template larger than ${MAX_TEMPLATE_BYTES} bytes`;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nw = bytes.length / 4;
  let i = 0;
  const word = (): number | undefined => (i < nw ? dv.getInt32(4 * i++, true) : undefined);
  if (word() !== TEMPLATE_MAGIC) return 'bad magic (not an XNT1 template)';
  const cls = word();
  const nbytes = word();
  if (cls === undefined || nbytes === undefined || nw < 3 + TEMPLATE_NAME_WORDS) return 'truncated template header';
  const nameBytes = bytes.subarray(12, 12 + TEMPLATE_NAME_WORDS * 4);
  const nul = nameBytes.indexOf(0);
  if (nul < 0) return 'name not NUL-terminated within 80 bytes';
  if (nul === 0) return 'empty name';
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(nameBytes.subarray(0, nul));
  } catch {
    return 'name is not UTF-8';
  }
  i = 3 + TEMPLATE_NAME_WORDS;
  const take = (count: number, what: string): Int32Array | string => {
    if (!Number.isInteger(count) || count < 0 || i + count > nw) return `truncated ${what}`;
    const out = new Int32Array(count);
    for (let k = 0; k < count; k++) out[k] = dv.getInt32(4 * (i + k), true);
    i += count;
    return out;
  };
  const extents = (n: number, what: string): Extent[] | string => {
    const ws = take(2 * n, what);
    if (typeof ws === 'string') return ws;
    const out: Extent[] = [];
    for (let k = 0; k < n; k++) out.push({ off: ws[2 * k] as number, len: ws[2 * k + 1] as number });
    return out;
  };
  let spec: TemplateSpec;
  if (cls === 1) {
    const hdr = take(5, 'base header');
    if (typeof hdr === 'string') return hdr;
    const [nslots, nrr, nrw, no, nr] = hdr as unknown as [number, number, number, number, number];
    if (nrr > MAX_RAW_EXTENTS || nrw > MAX_RAW_EXTENTS || nrr < 0 || nrw < 0) return `more than ${MAX_RAW_EXTENTS} raw extents`;
    const rawRead = extents(nrr, 'raw-read extents');
    if (typeof rawRead === 'string') return rawRead;
    const rawWrite = extents(nrw, 'raw-write extents');
    if (typeof rawWrite === 'string') return rawWrite;
    if (no < 0 || no > 4096 || nr < 0 || nr > 4096) return 'bad function length';
    const owns = take(no * 4, 'owns function');
    if (typeof owns === 'string') return owns;
    const readSet = take(nr * 4, 'read-set function');
    if (typeof readSet === 'string') return readSet;
    spec = { cls: 'base', name, nbytes, nslots, rawRead, rawWrite, owns, readSet };
  } else if (cls === 2) {
    const n = word();
    if (n === undefined || n < 1 || n > MAX_MEMBERS) return `a struct has 1..${MAX_MEMBERS} members`;
    const m = take(n, 'member list');
    if (typeof m === 'string') return m;
    spec = { cls: 'struct', name, members: [...m] };
  } else if (cls === 3) {
    const ta = extents(1, 'discriminator');
    if (typeof ta === 'string') return ta;
    const n = word();
    if (n === undefined || n < 1 || n > MAX_ARMS) return `a union has 1..${MAX_ARMS} arms`;
    const arms = take(n, 'arm list');
    if (typeof arms === 'string') return arms;
    const ng = word();
    if (ng === undefined || ng < 0 || ng > 4096) return 'bad function length';
    const getType = take(ng * 4, 'get-type function');
    if (typeof getType === 'string') return getType;
    spec = { cls: 'union', name, nbytes, typeAccess: ta[0] as Extent, getType, arms: [...arms] };
  } else return `unknown template class ${cls}`;
  if (i !== nw && (!zeroTail || bytes.subarray(4 * i).some((b) => b !== 0))) return 'trailing bytes after the template';
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Verification

function overlap(a: Extent, b: Extent): boolean {
  return a.off < b.off + b.len && b.off < a.off + a.len;
}

function inside(e: Extent, size: number): boolean {
  return Number.isInteger(e.off) && Number.isInteger(e.len) && e.off >= 0 && e.len > 0 && e.off + e.len <= size;
}

/** Result of verification: the type, or the reason it is refused. */
export type VerifyResult = { ok: true; type: XnType } | { ok: false; reason: string };

const scratch = new UdfOutput();

/** Can an owns function emit pointers of type `t`? (null = yes, else why not) */
function emitTarget(t: number, selfAllocatable: boolean, env: TypeEnv): string | null {
  if (t === XN_SELF_TYPE) return selfAllocatable ? null : 'self-pointers need a one-block (4096-byte) type';
  if (t === XN_BYTES) return 'owns may not emit byte extents';
  const target = env(t);
  if (target === undefined) return `unknown type ${t}`;
  if (!target.allocatable) return `type ${t} (${target.name}) is not a block type (4096 bytes)`;
  return null;
}

/** Verify a decoded template that is to get id `id`, against the loaded types `env`. */
export function verifyTemplate(spec: TemplateSpec, id: number, env: TypeEnv): VerifyResult {
  const refuse = (reason: string): VerifyResult => ({ ok: false, reason });
  if (!Number.isInteger(id) || id < XN_FIRST_USER_TYPE || id >= XN_MAX_TEMPLATES) return refuse(`type id ${id} out of range`);
  const source = encodeTemplate(spec);
  if (spec.cls === 'base') {
    const { nbytes, nslots } = spec;
    if (!Number.isInteger(nbytes) || nbytes < 1 || nbytes > BLOCK_TYPE_BYTES) return refuse(`size must be 1..${BLOCK_TYPE_BYTES} bytes, got ${nbytes}`);
    if (!Number.isInteger(nslots) || nslots < 0 || nslots > MAX_SLOTS) return refuse(`slot count must be 0..${MAX_SLOTS}, got ${nslots}`);
    const allocatable = nbytes === BLOCK_TYPE_BYTES;
    let why = checkUdf(spec.owns, { allowLoads: true, emitOk: (t) => emitTarget(t, allocatable, env) });
    if (why !== null) return refuse(`owns: ${why}`);
    why = checkUdf(spec.readSet, { allowLoads: false, emitOk: (t) => (t === XN_BYTES ? null : 'a read-set function may emit only byte extents (XN_BYTES)') });
    if (why !== null) return refuse(`readSet: ${why}`);
    for (const e of [...spec.rawRead, ...spec.rawWrite]) if (!inside(e, nbytes)) return refuse(`raw extent [${e.off}, +${e.len}) outside the ${nbytes}-byte type`);
    // Read sets: run readSet(slot) for every slot.
    const readSets: Extent[][] = [];
    for (let s = 0; s < nslots; s++) {
      const f = runUdf(spec.readSet, new Uint8Array(0), 0, s, null, scratch);
      if (f !== UDF_OK) return refuse(`readSet(${s}) faults: ${udfFaultText(f)}`);
      const set: Extent[] = [];
      for (let k = 0; k < scratch.n; k++) {
        const e = { off: scratch.a[k] as number, len: scratch.b[k] as number };
        if (!inside(e, nbytes)) return refuse(`readSet(${s}) names [${e.off}, +${e.len}) outside the ${nbytes}-byte type`);
        set.push(e);
      }
      if (set.length === 0) return refuse(`readSet(${s}) is empty: a slot must read its pointer`);
      readSets.push(set);
    }
    // Disjointness: sort every (extent, slot) by offset and compare neighbours.
    const all = readSets.flatMap((set, s) => set.map((e) => ({ ...e, s })));
    all.sort((x, y) => x.off - y.off);
    for (let k = 1; k < all.length; k++) {
      const p = all[k - 1] as Extent & { s: number };
      const q = all[k] as Extent & { s: number };
      if (overlap(p, q)) return refuse(p.s === q.s ? `readSet(${p.s}) overlaps itself at byte ${q.off}` : `read sets of slots ${p.s} and ${q.s} overlap at byte ${q.off}`);
    }
    for (const w of spec.rawWrite) for (const r of all) if (overlap(w, r)) return refuse(`raw-write extent [${w.off}, +${w.len}) overlaps slot ${r.s}'s read set: pointers change only through XN`);
    // Zeroed metadata owns nothing (and owns never faults on it).
    const zero = new Uint8Array(nbytes);
    for (let s = 0; s < nslots; s++) {
      const f = runUdf(spec.owns, zero, 0, s, readSets[s] as Extent[], scratch);
      if (f !== UDF_OK) return refuse(`owns(${s}) on zeroed metadata faults: ${udfFaultText(f)}`);
      if (scratch.n !== 0) return refuse(`owns(${s}) on zeroed metadata emits block ${scratch.a[0]}: zeroed metadata must own nothing`);
    }
    const owns = spec.owns.slice();
    for (let pc = 0; pc < owns.length >> 2; pc++) if (owns[pc * 4] === 39 && owns[pc * 4 + 3] === XN_SELF_TYPE) owns[pc * 4 + 3] = id;
    const t: XnType = {
      id,
      name: spec.name,
      cls: 'base',
      nbytes,
      allocatable,
      nslots,
      owns,
      readSets,
      rawRead: spec.rawRead,
      rawWrite: spec.rawWrite,
      readable: [...spec.rawRead, ...spec.rawWrite, ...readSets.flat()],
      typeAccess: null,
      getType: new Int32Array(0),
      arms: [],
      members: [],
      hasPointers: nslots > 0,
      source,
      spec,
    };
    (t.members as Member[]).push({ off: 0, type: t });
    return { ok: true, type: t };
  }
  if (spec.cls === 'struct') {
    const members: Member[] = [];
    let off = 0;
    for (const mid of spec.members) {
      const m = env(mid);
      if (m === undefined || mid < XN_FIRST_USER_TYPE) return refuse(`member type ${mid} is not a loaded user type`);
      for (const sub of m.members) members.push({ off: off + sub.off, type: sub.type });
      off += m.nbytes;
      if (off > BLOCK_TYPE_BYTES) return refuse(`struct larger than ${BLOCK_TYPE_BYTES} bytes`);
      if (members.length > MAX_MEMBERS * 8) return refuse('struct flattens to too many members');
    }
    const t: XnType = {
      id,
      name: spec.name,
      cls: 'struct',
      nbytes: off,
      allocatable: off === BLOCK_TYPE_BYTES,
      nslots: 0,
      owns: new Int32Array(0),
      readSets: [],
      rawRead: [],
      rawWrite: [],
      readable: [],
      typeAccess: null,
      getType: new Int32Array(0),
      arms: [],
      members,
      hasPointers: members.some((m) => m.type.hasPointers),
      source,
      spec,
    };
    return { ok: true, type: t };
  }
  // union
  const { nbytes, typeAccess: ta, arms } = spec;
  if (!Number.isInteger(nbytes) || nbytes < 1 || nbytes > BLOCK_TYPE_BYTES) return refuse(`size must be 1..${BLOCK_TYPE_BYTES} bytes, got ${nbytes}`);
  if (!inside(ta, nbytes) || ta.len > 32) return refuse(`discriminator [${ta.off}, +${ta.len}) must lie inside the type and be at most 32 bytes`);
  const armTypes: XnType[] = [];
  for (const a of arms) {
    const at = env(a);
    if (at === undefined || at.cls !== 'base') return refuse(`arm ${a} is not a loaded base type`);
    if (at.nbytes !== nbytes) return refuse(`arm ${a} (${at.name}) is ${at.nbytes} bytes, the union ${nbytes}: arms must have the same size`);
    for (const set of at.readSets) for (const e of set) if (overlap(e, ta)) return refuse(`arm ${a}'s read set overlaps the discriminator`);
    for (const e of at.rawWrite) if (overlap(e, ta)) return refuse(`arm ${a}'s raw-write extent overlaps the discriminator: use set_type`);
    armTypes.push(at);
  }
  const why = checkUdf(spec.getType, { allowLoads: true, emitOk: () => 'get-type may not emit' });
  if (why !== null) return refuse(`getType: ${why}`);
  const f = runUdf(spec.getType, new Uint8Array(nbytes), 0, 0, [ta], scratch);
  if (f !== UDF_OK) return refuse(`getType on a zero discriminator faults: ${udfFaultText(f)}`);
  if (scratch.ret !== XN_NIL) return refuse(`getType on a zero discriminator returns ${scratch.ret}: it must be NIL (0)`);
  const t: XnType = {
    id,
    name: spec.name,
    cls: 'union',
    nbytes,
    allocatable: nbytes === BLOCK_TYPE_BYTES,
    nslots: 0,
    owns: new Int32Array(0),
    readSets: [],
    rawRead: [],
    rawWrite: [],
    readable: [],
    typeAccess: ta,
    getType: spec.getType,
    arms,
    members: [],
    hasPointers: armTypes.some((a) => a.hasPointers),
    source,
    spec,
  };
  (t.members as Member[]).push({ off: 0, type: t });
  return { ok: true, type: t };
}

/** Decode and verify in one step (what type_import and boot use); the type's `source` is the
 * exact encoding, so its length is the template's size. */
export function importTemplate(bytes: Uint8Array, id: number, env: TypeEnv, zeroTail = false): VerifyResult {
  const spec = decodeTemplate(bytes, zeroTail);
  if (typeof spec === 'string') return { ok: false, reason: spec };
  return verifyTemplate(spec, id, env);
}

/**
 * The base type a member holds right now: itself for a base, the active arm for a union (null
 * when the discriminator is NIL or invalid). `mem` holds the member at `base`.
 */
export function activeBase(t: XnType, mem: Uint8Array, base: number, env: TypeEnv): XnType | null {
  if (t.cls !== 'union') return t;
  const f = runUdf(t.getType, mem, base, 0, [t.typeAccess as Extent], scratch);
  if (f !== UDF_OK || scratch.ret === XN_NIL) return null;
  const armId = scratch.ret;
  if (!t.arms.includes(armId)) return null;
  return env(armId) ?? null;
}

