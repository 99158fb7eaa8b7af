/**
 * `XnClient`: the XN system calls for a user program, with the structures marshalled in the
 * process's own memory — the user half of the thin layer, as a library file system (Cheetah's
 * C-FFS, the tests' library FS, `bench/xn`) uses it. It is built only on `Libc` and the ABI
 * constants: every call goes through the trap, and the kernel checks everything again.
 *
 * Scratch space (structs, modification bytes, names, a data window) is one heap allocation made
 * at construction and reused by every call, so a call allocates nothing in the process's heap.
 * Results are XN codes (0 or negative) unless a method says otherwise.
 */
import { CHAN_REC_BYTES, CHAN_REC_OFF_BLOCK, CHAN_REC_OFF_DEVICE, CHAN_REC_OFF_FLAGS, CHAN_REC_OFF_REQUEST_ID, CHAN_REC_OFF_STATUS, XN_ATTR_BYTES, XN_OP_BYTES, XN_ROOT_ENTRY_BYTES } from './layout.js';
import type { Libc } from './libc.js';
import {
  XN,
  XN_ATTR_OFF_DB,
  XN_BIND_CONTENTS,
  XN_ATTR_OFF_FLAGS,
  XN_ATTR_OFF_PARENT,
  XN_ATTR_OFF_PARENT_OFF,
  XN_ATTR_OFF_PARENT_SLOT,
  XN_ATTR_OFF_TYPE,
  XN_CATALOGUE_ENTRIES,
  XN_DB,
  XN_INFO_BYTES,
  XN_INFO_OFF_F_DB,
  XN_INFO_OFF_F_NBYTES,
  XN_INFO_OFF_NBLOCKS,
  XN_INFO_OFF_R_DB,
  XN_INFO_OFF_R_NBLOCKS,
  XN_IOE_BYTES,
  XN_IOE_OFF_DB,
  XN_IOE_OFF_NBLOCKS,
  XN_IOE_OFF_RESERVED,
  XN_MAX_IOE,
  XN_MAX_MODS,
  XN_MODE_OTHER_READ,
  XN_MVEC_BYTES,
  XN_MVEC_OFF_ADDR,
  XN_MVEC_OFF_NBYTES,
  XN_MVEC_OFF_OFFSET,
  XN_NAME_MAX,
  XN_NO_CHAN,
  XN_OP_OFF_CAP,
  XN_OP_OFF_DB,
  XN_OP_OFF_MV,
  XN_OP_OFF_NELEM,
  XN_OP_OFF_NMODS,
  XN_OP_OFF_SLOT,
  XN_OP_OFF_TYPE,
  XN_REPORT_BYTES,
  XN_REPORT_OFF_ALLOCATED,
  XN_REPORT_OFF_DANGLING,
  XN_REPORT_OFF_DOUBLY_OWNED,
  XN_REPORT_OFF_FLAGS,
  XN_REPORT_OFF_LEAKED,
  XN_REPORT_OFF_REACHABLE,
  XN_REPORT_OFF_REPAIRED,
  XN_REPORT_OFF_ROOTS,
  XN_ROOT_NAME_BYTES,
  XN_ROOT_OFF_DB,
  XN_ROOT_OFF_FLAGS,
  XN_ROOT_OFF_INDEX,
  XN_ROOT_OFF_MODE,
  XN_ROOT_OFF_NELEM,
  XN_ROOT_OFF_SIZE,
  XN_ROOT_OFF_TYPE,
  XN_ROOT_OFF_TYPE_ID,
  XN_ROOT_OFF_UID,
  XN_ROOT_PERSISTED,
  XN_ZERO_FILL,
} from './xn.js';

/** One modification: write `bytes` at byte `offset` of the member holding the pointer. */
export interface XnModArg {
  offset: number;
  bytes: Uint8Array;
}

/** `struct xn_op` as arguments. `db` is written back by alloc (0: XN chooses). */
export interface XnOpArg {
  db: number;
  nelem: number;
  type: number;
  slot: number;
  mods?: readonly XnModArg[];
}

/** A decoded `struct xn_root_entry`. */
export interface XnRootEntry {
  name: string;
  db: number;
  nelem: number;
  type: number;
  typeId: number;
  uid: number;
  mode: number;
  size: number;
  index: number;
  persisted: boolean;
}

/** A decoded `struct xn_attr`. */
export interface XnAttrEntry {
  db: number;
  parent: number;
  type: number;
  parentOff: number;
  parentSlot: number;
  flags: number;
}

/** A decoded `struct xn_report`. */
export interface XnReport {
  flags: number;
  roots: number;
  reachable: number;
  allocated: number;
  dangling: number;
  doublyOwned: number;
  leaked: number;
  repaired: number;
}

/** A decoded `struct xn_info`. */
export interface XnInfo {
  catalogueDb: number;
  freemapDb: number;
  freemapBytes: number;
  catalogueBlocks: number;
  blockCount: number;
}

/** A decoded channel record (`struct chan_rec`). */
export interface ChanRecord {
  requestId: number;
  device: number;
  block: number;
  status: number;
  flags: number;
}

// Scratch layout (byte offsets in the client's allocation).
const S_OP = [0, XN_OP_BYTES] as const;
/** m_vec entries laid out per op: twice the kernel's limit, so over-long vectors are refused by the kernel. */
const MV_ENTRIES = 2 * XN_MAX_MODS;
const S_MV = [64, 64 + MV_ENTRIES * XN_MVEC_BYTES] as const;
const S_ROOT = 64 + 2 * MV_ENTRIES * XN_MVEC_BYTES;
const S_REPORT = S_ROOT + XN_ROOT_ENTRY_BYTES;
const S_INFO = S_REPORT + XN_REPORT_BYTES;
const S_U64 = S_INFO + XN_INFO_BYTES;
const S_REC = S_U64 + 8;
const S_NAME = S_REC + CHAN_REC_BYTES;
const S_IOV = 2048;
/** Modification bytes per op held in the scratch arena; more are allocated for the call. */
const MODS_BYTES = 8192;
const S_MODS = [S_IOV + XN_MAX_IOE * XN_IOE_BYTES, S_IOV + XN_MAX_IOE * XN_IOE_BYTES + MODS_BYTES] as const;
const S_DATA = S_MODS[1] + MODS_BYTES;
/** Bytes of the data window: larger transfers allocate for the call. */
const DATA_BYTES = 64 * 1024;
const SCRATCH_BYTES = S_DATA + DATA_BYTES;

const TWO32 = 0x1_0000_0000;
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** The XN calls of one process. */
export class XnClient {
  readonly sys: Libc;
  readonly #base: number;
  readonly #dv: DataView;

  /** Allocates the scratch space in `sys`'s heap; throws when the heap cannot hold it. */
  constructor(sys: Libc) {
    this.sys = sys;
    this.#base = sys.malloc(SCRATCH_BYTES);
    if (this.#base === 0) throw new RangeError(`XnClient: no ${SCRATCH_BYTES} bytes in the heap`);
    this.#dv = sys.view;
  }

  /** User address of scratch byte `off`. */
  #at(off: number): number {
    return this.#base + off;
  }

  #u64(at: number): number {
    return this.#dv.getUint32(at + 4, true) * TWO32 + this.#dv.getUint32(at, true);
  }

  #setU64(at: number, v: number): void {
    this.#dv.setUint32(at, v % TWO32, true);
    this.#dv.setUint32(at + 4, Math.floor(v / TWO32), true);
  }

  /** Heap blocks holding modification bytes that did not fit the scratch arena (freed after the call). */
  readonly #temps: number[] = [];

  /**
   * Lay out op `which` (0 or 1) and its modification vector; returns its address. All
   * `mods.length` entries are laid out (up to twice the kernel's limit, so a vector that is too
   * long reaches the kernel and is refused there).
   */
  #op(which: 0 | 1, o: XnOpArg): number {
    const at = this.#at(S_OP[which]);
    const mv = this.#at(S_MV[which]);
    const mods = (o.mods ?? []).slice(0, MV_ENTRIES);
    this.#setU64(at + XN_OP_OFF_DB, o.db);
    this.#dv.setUint32(at + XN_OP_OFF_NELEM, o.nelem >>> 0, true);
    this.#dv.setUint32(at + XN_OP_OFF_TYPE, o.type >>> 0, true);
    this.#dv.setUint32(at + XN_OP_OFF_SLOT, o.slot >>> 0, true);
    this.#dv.setUint32(at + XN_OP_OFF_NMODS, (o.mods ?? []).length, true);
    this.#dv.setUint32(at + XN_OP_OFF_MV, mv, true);
    this.#dv.setUint32(at + XN_OP_OFF_CAP, 0, true);
    const total = mods.reduce((n, m) => n + m.bytes.length, 0);
    let data = total <= MODS_BYTES ? this.#at(S_MODS[which]) : this.sys.malloc(total);
    if (data !== this.#at(S_MODS[which]) && data !== 0) this.#temps.push(data);
    mods.forEach((m, i) => {
      const e = mv + i * XN_MVEC_BYTES;
      if (data !== 0) this.sys.mem.set(m.bytes, data);
      this.#dv.setUint32(e + XN_MVEC_OFF_OFFSET, m.offset >>> 0, true);
      this.#dv.setUint32(e + XN_MVEC_OFF_ADDR, data, true); // NULL if the heap is full: the kernel refuses it
      this.#dv.setUint32(e + XN_MVEC_OFF_NBYTES, m.bytes.length, true);
      if (data !== 0) data += m.bytes.length;
    });
    return at;
  }

  /** Free what #op allocated; returns `code` so a method can end with it. */
  #done(code: number): number {
    for (const t of this.#temps.splice(0)) this.sys.free(t);
    return code;
  }

  /** Copy a name (NUL-terminated, cut at the kernel's limit so a long one is refused, not truncated silently). */
  #name(name: string): number {
    const at = this.#at(S_NAME);
    const b = utf8.encode(name).subarray(0, XN_NAME_MAX + 1);
    this.sys.mem.set(b, at);
    this.sys.mem[at + b.length] = 0;
    return at;
  }

  /** A buffer of `n` bytes for one call: the data window, or a fresh allocation (free it with #release). */
  #buffer(n: number): number {
    return n <= DATA_BYTES ? this.#at(S_DATA) : this.sys.malloc(n);
  }

  #release(ptr: number): void {
    if (ptr !== this.#at(S_DATA) && ptr !== 0) this.sys.free(ptr);
  }

  #runs(runs: readonly { db: number; n: number }[]): number {
    const at = this.#at(S_IOV);
    runs.slice(0, XN_MAX_IOE).forEach((r, i) => {
      const e = at + i * XN_IOE_BYTES;
      this.#setU64(e + XN_IOE_OFF_DB, r.db);
      this.#dv.setUint32(e + XN_IOE_OFF_NBLOCKS, r.n >>> 0, true);
      this.#dv.setUint32(e + XN_IOE_OFF_RESERVED, 0, true);
    });
    return at;
  }

  #report(): XnReport {
    const at = this.#at(S_REPORT);
    const u = (o: number) => this.#dv.getUint32(at + o, true);
    return {
      flags: u(XN_REPORT_OFF_FLAGS),
      roots: u(XN_REPORT_OFF_ROOTS),
      reachable: u(XN_REPORT_OFF_REACHABLE),
      allocated: u(XN_REPORT_OFF_ALLOCATED),
      dangling: u(XN_REPORT_OFF_DANGLING),
      doublyOwned: u(XN_REPORT_OFF_DOUBLY_OWNED),
      leaked: u(XN_REPORT_OFF_LEAKED),
      repaired: u(XN_REPORT_OFF_REPAIRED),
    };
  }

  #rootEntry(at: number): XnRootEntry {
    const name = this.sys.mem.subarray(at, at + XN_ROOT_NAME_BYTES);
    const nul = name.indexOf(0);
    const u = (o: number) => this.#dv.getUint32(at + o, true);
    return {
      name: utf8d.decode(name.subarray(0, nul < 0 ? XN_ROOT_NAME_BYTES : nul)),
      db: this.#u64(at + XN_ROOT_OFF_DB),
      nelem: u(XN_ROOT_OFF_NELEM),
      type: u(XN_ROOT_OFF_TYPE),
      typeId: u(XN_ROOT_OFF_TYPE_ID),
      uid: u(XN_ROOT_OFF_UID),
      mode: u(XN_ROOT_OFF_MODE),
      size: u(XN_ROOT_OFF_SIZE),
      index: u(XN_ROOT_OFF_INDEX),
      persisted: (u(XN_ROOT_OFF_FLAGS) & XN_ROOT_PERSISTED) !== 0,
    };
  }

  // ---- boot and layout ----

  /** `xn_init` (uid 0): XN_SUCCESS after bringing XN online, 1 when it already was; with the boot report. */
  async init(flags = 0): Promise<{ code: number; report: XnReport | null }> {
    const code = await this.sys.call('xn_init', this.#at(S_REPORT), flags);
    return { code, report: code >= 0 ? this.#report() : null };
  }

  /** `xn_fsck` (uid 0): walk the current state. */
  async fsck(): Promise<{ code: number; report: XnReport | null }> {
    const code = await this.sys.call('xn_fsck', this.#at(S_REPORT));
    return { code, report: code === XN.SUCCESS ? this.#report() : null };
  }

  shutdown(): Promise<number> {
    return this.sys.call('xn_shutdown');
  }

  /** First block of the root catalogue, or a code. */
  root(): number {
    return this.sys.call('xn_root');
  }

  info(): XnInfo | number {
    const at = this.#at(S_INFO);
    const code = this.sys.call('xn_info', at);
    if (code !== XN.SUCCESS) return code;
    return {
      catalogueDb: this.#u64(at + XN_INFO_OFF_R_DB),
      freemapDb: this.#u64(at + XN_INFO_OFF_F_DB),
      freemapBytes: this.#dv.getUint32(at + XN_INFO_OFF_F_NBYTES, true),
      catalogueBlocks: this.#dv.getUint32(at + XN_INFO_OFF_R_NBLOCKS, true),
      blockCount: this.#u64(at + XN_INFO_OFF_NBLOCKS),
    };
  }

  /** First block of a free run of `n` at or after `hint`, or 0. */
  findFree(hint: number, n: number): number {
    return this.sys.call('db_find_free', hint, n);
  }

  // ---- pointers (ad-hoc induction) ----

  /** `xn_alloc`; on success `op.db` holds the block XN chose (when it was 0). */
  alloc(da: number, op: XnOpArg): number {
    const at = this.#op(0, op);
    const code = this.sys.call('xn_alloc', da, at);
    if (code === XN.SUCCESS) op.db = this.#u64(at + XN_OP_OFF_DB);
    return this.#done(code);
  }

  free(da: number, op: XnOpArg): number {
    return this.#done(this.sys.call('xn_free', da, this.#op(0, op)));
  }

  swap(da1: number, op1: XnOpArg, da2: number, op2: XnOpArg): number {
    return this.#done(this.sys.call('xn_swap', da1, this.#op(0, op1), da2, this.#op(1, op2)));
  }

  /** Move `dstOp`'s extent from the slot at `src` (cleared by `srcOp`'s mods) to the slot at `dst`. */
  move(dst: number, dstOp: XnOpArg, src: number, srcOp: XnOpArg): number {
    return this.#done(this.sys.call('xn_move', dst, this.#op(0, dstOp), src, this.#op(1, srcOp)));
  }

  insertAttr(da: number, op: XnOpArg): number {
    return this.#done(this.sys.call('xn_insert_attr', da, this.#op(0, op)));
  }

  // ---- pages and bytes ----

  bind(db: number, n = 1, flag = XN_ZERO_FILL): number {
    return this.sys.call('xn_bind', db, n, flag, 0);
  }

  /** `xn_bind` with XN_BIND_CONTENTS: raw data blocks get `bytes` (whole blocks) as their contents. */
  bindContents(db: number, bytes: Uint8Array): number {
    if (bytes.length === 0 || bytes.length % 4096 !== 0) return XN.CANNOT_ACCESS;
    const buf = this.#buffer(bytes.length);
    if (buf === 0) return XN.NO_MEMORY;
    this.sys.mem.set(bytes, buf);
    const code = this.sys.call('xn_bind', db, bytes.length / 4096, XN_BIND_CONTENTS, buf);
    this.#release(buf);
    return code;
  }

  unbind(db: number, n = 1): number {
    return this.sys.call('xn_unbind', db, n);
  }

  /** `xn_writeb` of `bytes` (copied into this process's memory first). */
  writeb(da: number, bytes: Uint8Array): number {
    const buf = this.#buffer(bytes.length);
    if (buf === 0) return XN.NO_MEMORY;
    this.sys.mem.set(bytes, buf);
    const code = this.sys.call('xn_writeb', da, buf, bytes.length);
    this.#release(buf);
    return code;
  }

  /** `xn_readb` into `out` (through this process's memory). */
  readb(da: number, out: Uint8Array): number {
    const buf = this.#buffer(out.length);
    if (buf === 0) return XN.NO_MEMORY;
    const code = this.sys.call('xn_readb', buf, da, out.length);
    if (code === XN.SUCCESS) out.set(this.sys.mem.subarray(buf, buf + out.length));
    this.#release(buf);
    return code;
  }

  setType(da: number, expected: number, bytes: Uint8Array, at: number): number {
    const buf = this.#at(S_DATA);
    this.sys.mem.set(bytes.subarray(0, 32), buf);
    return this.sys.call('xn_set_type', da, expected, buf, Math.min(bytes.length, 32), at);
  }

  // ---- I/O: asynchronous (a request id ≥ 1, or a code), synchronous ----

  readin(db: number, n: number, chan = XN_NO_CHAN, counter = 0): number {
    return this.sys.call('xn_readin', db, n, chan, counter);
  }

  writeback(db: number, n: number, chan = XN_NO_CHAN, counter = 0): number {
    return this.sys.call('xn_writeback', db, n, chan, counter);
  }

  readinv(runs: readonly { db: number; n: number }[], chan = XN_NO_CHAN, counter = 0): number {
    return this.sys.call('xn_readinv', this.#runs(runs), runs.length, chan, counter);
  }

  writebackv(runs: readonly { db: number; n: number }[], chan = XN_NO_CHAN, counter = 0): number {
    return this.sys.call('xn_writebackv', this.#runs(runs), runs.length, chan, counter);
  }

  readAndInsert(da: number, op: XnOpArg, chan = XN_NO_CHAN, counter = 0): number {
    return this.#done(this.sys.call('xn_read_and_insert', da, this.#op(0, op), chan, counter));
  }

  readinSync(db: number, n: number): Promise<number> {
    return this.sys.call('xn_readin_sync', db, n);
  }

  writebackSync(db: number, n: number): Promise<number> {
    return this.sys.call('xn_writeback_sync', db, n);
  }

  /** Read `[db, db+n)` and copy it to `dst` (n·4096 bytes of the caller's memory) in one call; the pages are dropped again. */
  readSync(dst: number, db: number, n: number): Promise<number> {
    return this.sys.call('xn_read_sync', dst, db, n);
  }

  /** Write `src` (n·4096 bytes of the caller's memory) to the raw data blocks `[db, db+n)`, durably, in one call. */
  writeSync(db: number, n: number, src: number): Promise<number> {
    return this.sys.call('xn_write_sync', db, n, src);
  }

  /**
   * The next record of a record-mode channel, waiting up to `timeoutMs` (-1: forever); a negative
   * errno on timeout (-EAGAIN) or error.
   */
  async nextRecord(chan: number, timeoutMs = -1): Promise<ChanRecord | number> {
    const at = this.#at(S_REC);
    const n = await this.sys.read_wait(chan, at, CHAN_REC_BYTES, timeoutMs);
    if (n < 0) return n;
    return {
      requestId: this.#dv.getUint32(at + CHAN_REC_OFF_REQUEST_ID, true),
      device: this.#dv.getUint32(at + CHAN_REC_OFF_DEVICE, true),
      block: this.#u64(at + CHAN_REC_OFF_BLOCK),
      status: this.#dv.getInt32(at + CHAN_REC_OFF_STATUS, true),
      flags: this.#dv.getUint32(at + CHAN_REC_OFF_FLAGS, true),
    };
  }

  /** Issue an asynchronous request on `chan` and wait for its own record (the semi-synchronous form). */
  async awaitRequest(chan: number, id: number): Promise<number> {
    if (id < 0) return id;
    for (;;) {
      const r = await this.nextRecord(chan);
      if (typeof r === 'number') return r;
      if (r.requestId === id) return r.status;
    }
  }

  // ---- roots, types, attributes ----

  /** `install_mount`: the new root's first block (> 0), or a code. `db` 0 lets XN choose. */
  installMount(name: string, nelem: number, type: number, mode = 0o600, db = 0): number {
    const at = this.#at(S_U64);
    this.#setU64(at, db);
    const code = this.sys.call('install_mount', this.#name(name), at, nelem, type, mode);
    return code === XN.SUCCESS ? this.#u64(at) : code;
  }

  mount(name: string): XnRootEntry | number {
    const at = this.#at(S_ROOT);
    const code = this.sys.call('xn_mount', at, this.#name(name));
    return code === XN.SUCCESS ? this.#rootEntry(at) : code;
  }

  typeMount(name: string): number {
    return this.sys.call('type_mount', this.#name(name));
  }

  /**
   * Import an encoded template as Xok's libFS did: stage it in the XN_DB root `name`, write it,
   * `type_import`, then write the catalogue so the id is durable. The type id, or a code.
   */
  async typeImport(name: string, template: Uint8Array, mode = XN_MODE_OTHER_READ | 0o600): Promise<number> {
    const nblocks = Math.max(1, Math.ceil(template.length / 4096));
    const db = this.installMount(name, nblocks, XN_DB, mode);
    if (db < 0) return db;
    let code = this.bind(db, nblocks);
    if (code === XN.SUCCESS) code = this.writeb(db * 4096, template);
    if (code === XN.SUCCESS) code = await this.writebackSync(db, nblocks);
    if (code !== XN.SUCCESS) return code;
    const id = this.sys.call('type_import', this.#name(name));
    if (id < 0) return id;
    code = await this.writebackSync(this.root(), 1);
    return code === XN.SUCCESS ? id : code;
  }

  /** Every catalogue entry, or a code. */
  readCatalogue(): XnRootEntry[] | number {
    const buf = this.sys.malloc(XN_CATALOGUE_ENTRIES * XN_ROOT_ENTRY_BYTES);
    if (buf === 0) return XN.NO_MEMORY;
    const n = this.sys.call('xn_read_catalogue', buf, XN_CATALOGUE_ENTRIES);
    const out = n < 0 ? n : Array.from({ length: n }, (_v, i) => this.#rootEntry(buf + i * XN_ROOT_ENTRY_BYTES));
    this.sys.free(buf);
    return out;
  }

  readAttr(db: number, n = 1): XnAttrEntry[] | number {
    const buf = this.#buffer(n * XN_ATTR_BYTES);
    if (buf === 0) return XN.NO_MEMORY;
    const code = this.sys.call('xn_read_attr', buf, db, n);
    const out =
      code !== XN.SUCCESS
        ? code
        : Array.from({ length: n }, (_v, i) => {
            const at = buf + i * XN_ATTR_BYTES;
            return {
              db: this.#u64(at + XN_ATTR_OFF_DB),
              parent: this.#u64(at + XN_ATTR_OFF_PARENT),
              type: this.#dv.getUint32(at + XN_ATTR_OFF_TYPE, true),
              parentOff: this.#dv.getUint32(at + XN_ATTR_OFF_PARENT_OFF, true),
              parentSlot: this.#dv.getUint32(at + XN_ATTR_OFF_PARENT_SLOT, true),
              flags: this.#dv.getUint32(at + XN_ATTR_OFF_FLAGS, true),
            };
          });
    this.#release(buf);
    return out;
  }

  deleteAttr(db: number, n = 1): number {
    return this.sys.call('xn_delete_attr', db, n);
  }
}
