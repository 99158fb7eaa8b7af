/**
 * XN's thin layer (thesis §2.3.2, §3.3): every XN call of the table (`src/kernel/abi/syscalls.ts`)
 * as a system call over the thick layer (`xn.ts`).
 *
 * What this layer adds, and nothing more:
 * - **Callers.** One {@link XnContext} per process (its pid and uid, and the capabilities it
 *   took), created at its first XN call and released by the kernel's exit hook.
 * - **Copy-in, once.** `struct xn_op` is copied into a kernel buffer (by the declaration's
 *   in-struct, or here for the in-out alloc), then its `xn_m_vec` array, then every modification's
 *   bytes — all before the thick layer runs, so a process that rewrites its memory during the
 *   call changes nothing (no double fetch). Every pointer is range-checked; a bad one is
 *   XN_CANNOT_ACCESS and nothing happens. Names, vectors of runs and set_type bytes likewise.
 * - **Copy-out** of `xn_root_entry`, `xn_attr`, `xn_info` and `xn_report`, only on success.
 * - **Notification** of the asynchronous calls (readin, writeback, read_and_insert, readinv,
 *   writebackv): the call returns a request id (≥ 1); the completion goes to a record-mode (or
 *   byte) channel whose slot was reserved at issue, and/or decrements a counter in the caller's
 *   memory (Xok's `xn_cnt_t`), see `bcache/completion.ts`. The `_sync` calls wait instead;
 *   `xn_read_sync` and `xn_write_sync` (not in Appendix A) also copy and drop the pages, so a
 *   synchronous request crosses the boundary once.
 *
 * Codes: XN's own (`XN.*`); failures of the checks here are mapped as the kernel maps thin-layer
 * errnos for XN calls (a bad fd → XN_ILLEGAL_OP, a bad pointer → XN_CANNOT_ACCESS). Never throws.
 */
import { BLOCK_SIZE } from '../../disk/index.js';
import { XN_ATTR_BYTES, XN_ROOT_ENTRY_BYTES } from '../abi/layout.js';
import {
  XN,
  XN_ALREADY_ONLINE,
  XN_ATTR_DIRTY,
  XN_ATTR_IN_CORE,
  XN_ATTR_INITIALIZED,
  XN_ATTR_LOCKED,
  XN_ATTR_OFF_DB,
  XN_ATTR_OFF_FLAGS,
  XN_ATTR_OFF_PARENT,
  XN_ATTR_OFF_PARENT_OFF,
  XN_ATTR_OFF_PARENT_SLOT,
  XN_ATTR_OFF_TYPE,
  XN_ATTR_PINNED,
  XN_ATTR_TAINTED,
  XN_BIND_CONTENTS,
  XN_DEV,
  XN_INFO_OFF_F_DB,
  XN_INFO_OFF_F_NBYTES,
  XN_INFO_OFF_NBLOCKS,
  XN_INFO_OFF_R_DB,
  XN_INFO_OFF_R_NBLOCKS,
  XN_INIT_REPAIR,
  XN_IOE_BYTES,
  XN_IOE_OFF_DB,
  XN_IOE_OFF_NBLOCKS,
  XN_IOE_OFF_RESERVED,
  XN_MAX_IOE,
  XN_MAX_MODS,
  XN_MVEC_BYTES,
  XN_MVEC_OFF_ADDR,
  XN_MVEC_OFF_NBYTES,
  XN_MVEC_OFF_OFFSET,
  XN_NO_CHAN,
  XN_OP_OFF_CAP,
  XN_OP_OFF_DB,
  XN_OP_OFF_MV,
  XN_OP_OFF_NELEM,
  XN_OP_OFF_NMODS,
  XN_OP_OFF_SLOT,
  XN_OP_OFF_TYPE,
  XN_REPORT_FORMATTED,
  XN_REPORT_OFF_ALLOCATED,
  XN_REPORT_OFF_DANGLING,
  XN_REPORT_OFF_DOUBLY_OWNED,
  XN_REPORT_OFF_FLAGS,
  XN_REPORT_OFF_LEAKED,
  XN_REPORT_OFF_REACHABLE,
  XN_REPORT_OFF_REPAIRED,
  XN_REPORT_OFF_ROOTS,
  XN_REPORT_WALKED,
  XN_REPORT_WAS_CLEAN,
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
} from '../abi/xn.js';
import { CompletionRoute, completionStats, type CompletionStats } from '../bcache/completion.js';
import type { Kernel } from '../kernel.js';
import type { Process } from '../proc/process.js';
import { rangeOk } from '../syscall/thin.js';
import type { CatalogueEntry } from './layout.js';
import type { FsckReport, Xn, XnAttr, XnContext, XnMod, XnOp } from './xn.js';

/** What {@link registerXnSyscalls} gives back: per-process state and counters, for the admin API and tests. */
export interface XnSyscalls {
  /** The XN context of a live process that has made an XN call. */
  contextOf(pid: number): XnContext | undefined;
  /** Processes holding an XN context. */
  contexts(): number;
  /** Completion routing counters. */
  readonly completions: Readonly<CompletionStats>;
}

const TWO32 = 0x1_0000_0000;
const EMPTY = new Uint8Array(0);

/** u64 at `at`, or -1 above 2^53 − 1 (no safe JS number). */
function getU64(dv: DataView, at: number): number {
  const hi = dv.getUint32(at + 4, true);
  return hi >= 0x20_0000 ? -1 : hi * TWO32 + dv.getUint32(at, true);
}

function setU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v % TWO32, true);
  dv.setUint32(at + 4, Math.floor(v / TWO32), true);
}

/**
 * A kernel copy of one `struct xn_op` with its modification vector: the op struct is parsed from
 * a kernel copy, the m_vec array is copied in, then each modification's bytes into an arena.
 * One per op argument of a call (swap and move take two); reused across calls.
 */
class OpCopy {
  readonly op: XnOp = { db: 0, nelem: 0, type: 0, slot: 0, mods: [] };
  readonly #raw = new Uint8Array(32);
  readonly #rawView = new DataView(this.#raw.buffer);
  readonly #mv = new Uint8Array(XN_MAX_MODS * XN_MVEC_BYTES);
  readonly #mvView = new DataView(this.#mv.buffer);
  readonly #arena = new Uint8Array(XN_MAX_MODS * BLOCK_SIZE);
  readonly #mods: XnMod[] = Array.from({ length: XN_MAX_MODS }, () => ({ offset: 0, bytes: EMPTY }));

  /** Copy the op at user address `ptr` (range already validated) once, then parse it. */
  fromUser(p: Process, ptr: number): number {
    this.#raw.set(p.mem.subarray(ptr, ptr + 32));
    return this.parse(p, this.#rawView);
  }

  /** Parse a kernel copy of the op; copy in its modification vector from `p`. XN code. */
  parse(p: Process, dv: DataView): number {
    const op = this.op;
    op.mods.length = 0;
    op.db = getU64(dv, XN_OP_OFF_DB);
    op.nelem = dv.getUint32(XN_OP_OFF_NELEM, true);
    op.type = dv.getUint32(XN_OP_OFF_TYPE, true);
    op.slot = dv.getUint32(XN_OP_OFF_SLOT, true);
    const nmods = dv.getUint32(XN_OP_OFF_NMODS, true);
    const mv = dv.getUint32(XN_OP_OFF_MV, true);
    if (op.db < 0) return XN.BOGUS_PTR;
    if (dv.getUint32(XN_OP_OFF_CAP, true) !== 0) return XN.BOGUS_CAP; // capabilities live in the kernel
    if (nmods > XN_MAX_MODS) return XN.TOO_MANY_FIELDS;
    if (nmods === 0) return XN.SUCCESS;
    if (!rangeOk(p, mv, nmods * XN_MVEC_BYTES)) return XN.CANNOT_ACCESS;
    this.#mv.set(p.mem.subarray(mv, mv + nmods * XN_MVEC_BYTES));
    let used = 0;
    for (let i = 0; i < nmods; i++) {
      const at = i * XN_MVEC_BYTES;
      const addr = this.#mvView.getUint32(at + XN_MVEC_OFF_ADDR, true);
      const nbytes = this.#mvView.getUint32(at + XN_MVEC_OFF_NBYTES, true);
      if (nbytes < 1 || nbytes > BLOCK_SIZE || !rangeOk(p, addr, nbytes)) return XN.CANNOT_ACCESS;
      this.#arena.set(p.mem.subarray(addr, addr + nbytes), used);
      const m = this.#mods[i] as XnMod;
      m.offset = this.#mvView.getUint32(at + XN_MVEC_OFF_OFFSET, true);
      m.bytes = this.#arena.subarray(used, used + nbytes);
      op.mods.push(m);
      used += nbytes;
    }
    return XN.SUCCESS;
  }
}

/**
 * A kernel copy of an `xn_ioe` vector: `runs` holds `iovcnt` reused run objects. XN code:
 * XN_TOO_SMALL for 0 or more than XN_MAX_IOE runs, XN_BOGUS_NAME for a block above 2^53,
 * XN_BOGUS_FLAG for a non-zero reserved word.
 */
class RunsCopy {
  readonly runs: { db: number; n: number }[] = [];
  readonly #pool = Array.from({ length: XN_MAX_IOE }, () => ({ db: 0, n: 0 }));
  readonly #raw = new Uint8Array(XN_MAX_IOE * XN_IOE_BYTES);
  readonly #view = new DataView(this.#raw.buffer);

  fromUser(p: Process, ptr: number, cnt: number): number {
    this.runs.length = 0;
    if (cnt < 1 || cnt > XN_MAX_IOE) return XN.TOO_SMALL;
    this.#raw.set(p.mem.subarray(ptr, ptr + cnt * XN_IOE_BYTES));
    for (let i = 0; i < cnt; i++) {
      const at = i * XN_IOE_BYTES;
      const r = this.#pool[i] as { db: number; n: number };
      r.db = getU64(this.#view, at + XN_IOE_OFF_DB);
      r.n = this.#view.getUint32(at + XN_IOE_OFF_NBLOCKS, true);
      if (r.db < 0) return XN.BOGUS_NAME;
      if (this.#view.getUint32(at + XN_IOE_OFF_RESERVED, true) !== 0) return XN.BOGUS_FLAG;
      this.runs.push(r);
    }
    return XN.SUCCESS;
  }
}

function writeReport(dv: DataView, at: number, flags: number, counts: { roots: number; reachable: number; allocated: number; r: FsckReport | null }): void {
  const r = counts.r;
  dv.setUint32(at + XN_REPORT_OFF_FLAGS, flags | (r !== null ? XN_REPORT_WALKED : 0), true);
  dv.setUint32(at + XN_REPORT_OFF_ROOTS, r?.roots ?? counts.roots, true);
  dv.setUint32(at + XN_REPORT_OFF_REACHABLE, r?.reachableBlocks ?? counts.reachable, true);
  dv.setUint32(at + XN_REPORT_OFF_ALLOCATED, r?.allocatedBlocks ?? counts.allocated, true);
  dv.setUint32(at + XN_REPORT_OFF_DANGLING, r?.dangling ?? 0, true);
  dv.setUint32(at + XN_REPORT_OFF_DOUBLY_OWNED, r?.doublyOwned ?? 0, true);
  dv.setUint32(at + XN_REPORT_OFF_LEAKED, r?.leaked ?? 0, true);
  dv.setUint32(at + XN_REPORT_OFF_REPAIRED, r?.repaired ?? 0, true);
}

const utf8 = new TextEncoder();

function writeRootEntry(mem: Uint8Array, dv: DataView, at: number, e: CatalogueEntry, index: number, persisted: boolean): void {
  mem.fill(0, at, at + XN_ROOT_ENTRY_BYTES);
  mem.set(utf8.encode(e.name).subarray(0, XN_ROOT_NAME_BYTES - 1), at);
  setU64(dv, at + XN_ROOT_OFF_DB, e.db);
  dv.setUint32(at + XN_ROOT_OFF_NELEM, e.nelem, true);
  dv.setUint32(at + XN_ROOT_OFF_TYPE, e.type, true);
  dv.setUint32(at + XN_ROOT_OFF_TYPE_ID, e.typeId, true);
  dv.setUint32(at + XN_ROOT_OFF_UID, e.uid >>> 0, true);
  dv.setUint32(at + XN_ROOT_OFF_MODE, e.mode, true);
  dv.setUint32(at + XN_ROOT_OFF_SIZE, e.size, true);
  dv.setUint32(at + XN_ROOT_OFF_INDEX, index, true);
  dv.setUint32(at + XN_ROOT_OFF_FLAGS, persisted ? XN_ROOT_PERSISTED : 0, true);
}

function writeAttr(dv: DataView, at: number, a: XnAttr): void {
  setU64(dv, at + XN_ATTR_OFF_DB, a.db);
  setU64(dv, at + XN_ATTR_OFF_PARENT, Math.max(0, a.parentDb));
  dv.setUint32(at + XN_ATTR_OFF_TYPE, a.type, true);
  dv.setUint32(at + XN_ATTR_OFF_PARENT_OFF, a.parentOff, true);
  dv.setUint32(at + XN_ATTR_OFF_PARENT_SLOT, a.parentSlot, true);
  const flags =
    (a.initialized ? XN_ATTR_INITIALIZED : 0) |
    (a.dirty ? XN_ATTR_DIRTY : 0) |
    (a.locked ? XN_ATTR_LOCKED : 0) |
    (a.tainted ? XN_ATTR_TAINTED : 0) |
    (a.pinned ? XN_ATTR_PINNED : 0) |
    (a.inCore ? XN_ATTR_IN_CORE : 0);
  dv.setUint32(at + XN_ATTR_OFF_FLAGS, flags, true);
}

/**
 * Register every XN system call on `kernel`, over `xn` (which the machine initializes at boot;
 * until then, and after a shutdown, calls answer XN_BOGUS_CTX), and the exit hook that releases
 * a process's XN state.
 */
export function registerXnSyscalls(kernel: Kernel, xn: Xn): XnSyscalls {
  const contexts = new Map<number, XnContext>();
  const stats = completionStats();
  const op1 = new OpCopy();
  const op2 = new OpCopy();
  const runs = new RunsCopy();
  const attrs: XnAttr[] = [];

  const ctxOf = (p: Process): XnContext => {
    let c = contexts.get(p.pid);
    if (c === undefined) {
      c = xn.context(p.pid, p.uid);
      contexts.set(p.pid, c);
    }
    return c;
  };

  kernel.onProcessExit((p) => {
    const c = contexts.get(p.pid);
    if (c === undefined) return;
    xn.releaseProcess(c);
    contexts.delete(p.pid);
  });

  /**
   * Validate the notification targets, open a route, start the request with the route's sink;
   * on a refusal give everything back. The request id, or an XN code.
   */
  const issue = (p: Process, chanFd: number, counter: number, start: (sink: (id: number, db: number, status: number) => void) => number): number => {
    let chan = null;
    if (chanFd !== XN_NO_CHAN) {
      const f = chanFd >= 0 ? p.fds.get(chanFd) : undefined;
      chan = f === undefined ? null : kernel.asChannel(f);
      if (chan === null) return XN.ILLEGAL_OP; // EBADF / EINVAL in XN's space
    }
    if (counter !== 0 && (counter % 4 !== 0 || !rangeOk(p, counter, 4))) return XN.CANNOT_ACCESS;
    const route = CompletionRoute.open(kernel, p, chan, counter, xn.cache.nextRequestId(), XN_DEV, stats);
    if (route === null) return XN.NO_MEMORY; // the channel has no free slot: retry after reading it
    const code = start((_id, db, status) => route.deliver(db, status));
    if (code !== XN.SUCCESS) {
      route.cancel();
      return code;
    }
    return route.id;
  };

  /** Start a request and wait for its completion status. */
  const waitFor = (start: (sink: (id: number, db: number, status: number) => void) => number): number | Promise<number> => {
    let done: ((st: number) => void) | null = null;
    let early: number | null = null;
    const code = start((_id, _db, st) => {
      if (done !== null) done(st);
      else early = st;
    });
    if (code !== XN.SUCCESS) return code;
    if (early !== null) return early;
    return new Promise<number>((resolve) => (done = resolve));
  };

  kernel.registerSyscalls({
    xn_init: (p, report, flags) => {
      if (p.uid !== 0) return XN.BOGUS_CAP;
      if ((flags & ~XN_INIT_REPAIR) !== 0) return XN.BOGUS_FLAG;
      const write = (): void => {
        const r = xn.bootReport;
        if (report === 0 || r === null) return;
        const s = xn.stats();
        writeReport(p.dv, report, (r.formatted ? XN_REPORT_FORMATTED : 0) | (r.wasClean ? XN_REPORT_WAS_CLEAN : 0), { roots: s.roots, reachable: 0, allocated: s.allocatedBlocks, r: r.fsck });
      };
      if (xn.online) {
        write();
        return XN_ALREADY_ONLINE;
      }
      return xn.init({ repair: (flags & XN_INIT_REPAIR) !== 0 }).then((r) => {
        if (r.code !== XN.SUCCESS) return r.code;
        if (p.alive) write();
        return XN.SUCCESS;
      });
    },
    xn_shutdown: (p) => (p.uid !== 0 ? XN.BOGUS_CAP : xn.shutdown()),
    xn_root: () => (xn.online ? xn.root() : XN.BOGUS_CTX),
    xn_info: (p, info) => {
      if (!xn.online) return XN.BOGUS_CTX;
      const sb = xn.superblock;
      setU64(p.dv, info + XN_INFO_OFF_R_DB, sb.catalogueStart);
      setU64(p.dv, info + XN_INFO_OFF_F_DB, sb.freemapStart);
      p.dv.setUint32(info + XN_INFO_OFF_F_NBYTES, Math.ceil(sb.blockCount / 8), true);
      p.dv.setUint32(info + XN_INFO_OFF_R_NBLOCKS, sb.catalogueBlocks, true);
      setU64(p.dv, info + XN_INFO_OFF_NBLOCKS, sb.blockCount);
      return XN.SUCCESS;
    },
    db_find_free: (_p, hint, n) => xn.findFree(hint, n),
    xn_alloc: (p, da, opPtr) => {
      const code = op1.fromUser(p, opPtr);
      if (code !== XN.SUCCESS) return code;
      const r = xn.alloc(ctxOf(p), da, op1.op);
      if (r === XN.SUCCESS) setU64(p.dv, opPtr + XN_OP_OFF_DB, op1.op.db);
      return r;
    },
    xn_free: (p, da, op) => {
      const code = op1.parse(p, op);
      return code !== XN.SUCCESS ? code : xn.free(ctxOf(p), da, op1.op);
    },
    xn_swap: (p, da1, o1, da2, o2) => {
      let code = op1.parse(p, o1);
      if (code === XN.SUCCESS) code = op2.parse(p, o2);
      return code !== XN.SUCCESS ? code : xn.swap(ctxOf(p), da1, op1.op, da2, op2.op);
    },
    xn_move: (p, dst, o1, src, o2) => {
      let code = op1.parse(p, o1);
      if (code === XN.SUCCESS) code = op2.parse(p, o2);
      return code !== XN.SUCCESS ? code : xn.move(ctxOf(p), dst, op1.op, src, op2.op);
    },
    xn_bind: (p, db, n, flag, src) => xn.bind(ctxOf(p), db, flag, n, src === 0 ? null : p.mem.subarray(src, src + n * BLOCK_SIZE)),
    xn_unbind: (p, db, n) => xn.unbind(ctxOf(p), db, n),
    xn_writeb: (p, da, src, nbytes) => xn.writeb(ctxOf(p), da, p.mem.subarray(src, src + nbytes)),
    xn_readb: (p, dst, da, nbytes) => xn.readb(ctxOf(p), p.mem.subarray(dst, dst + nbytes), da),
    xn_readin: (p, db, n, chan, counter) => issue(p, chan, counter, (sink) => xn.readin(ctxOf(p), db, n, 0, sink)),
    xn_writeback: (p, db, n, chan, counter) => issue(p, chan, counter, (sink) => xn.writeback(ctxOf(p), db, n, 0, sink)),
    xn_read_and_insert: (p, da, op, chan, counter) => {
      const code = op1.parse(p, op);
      return code !== XN.SUCCESS ? code : issue(p, chan, counter, (sink) => xn.readAndInsert(ctxOf(p), da, op1.op, 0, sink));
    },
    xn_readinv: (p, iov, cnt, chan, counter) => {
      const code = runs.fromUser(p, iov, cnt);
      return code !== XN.SUCCESS ? code : issue(p, chan, counter, (sink) => xn.readinv(ctxOf(p), runs.runs, 0, sink));
    },
    xn_writebackv: (p, iov, cnt, chan, counter) => {
      const code = runs.fromUser(p, iov, cnt);
      return code !== XN.SUCCESS ? code : issue(p, chan, counter, (sink) => xn.writebackv(ctxOf(p), runs.runs, 0, sink));
    },
    xn_readin_sync: (p, db, n) => waitFor((sink) => xn.readin(ctxOf(p), db, n, 0, sink)),
    xn_writeback_sync: (p, db, n) => waitFor((sink) => xn.writeback(ctxOf(p), db, n, 0, sink)),
    // The combined calls cross the boundary once per request, as a raw read or write does (three
    // crossings cost XN 15–30 % at 4 KiB without the latency model: docs/xn.md → Performance).
    // The copy and the unbind run inside the completion, so no other call interleaves.
    xn_read_sync: (p, dst, db, n) => {
      const ctx = ctxOf(p);
      return waitFor((sink) =>
        xn.readin(ctx, db, n, 0, (id, first, st) => {
          let code = st;
          if (st === XN.SUCCESS && p.alive) code = xn.readb(ctx, p.mem.subarray(dst, dst + n * BLOCK_SIZE), db * BLOCK_SIZE);
          if (st === XN.SUCCESS) xn.unbind(ctx, db, n);
          sink(id, first, code);
        }),
      );
    },
    xn_write_sync: (p, db, n, src) => {
      const ctx = ctxOf(p);
      const code = xn.bind(ctx, db, XN_BIND_CONTENTS, n, p.mem.subarray(src, src + n * BLOCK_SIZE));
      if (code !== XN.SUCCESS) return code;
      return waitFor((sink) =>
        xn.writeback(ctx, db, n, 0, (id, first, st) => {
          // A failed write keeps the pages bound and dirty: the bytes are not durable, and a
          // retried xn_writeback_sync may still make them so.
          if (st === XN.SUCCESS) xn.unbind(ctx, db, n);
          sink(id, first, st);
        }),
      );
    },
    install_mount: (p, name, dbPtr, nelem, type, mode) => {
      const db = getU64(p.dv, dbPtr);
      if (db < 0) return XN.BOGUS_PTR;
      const op: XnOp = { db, nelem, type, slot: 0, mods: [] };
      const r = xn.installMount(ctxOf(p), name, op, mode);
      if (r === XN.SUCCESS) setU64(p.dv, dbPtr, op.db);
      return r;
    },
    xn_mount: (p, out, name) => {
      const got: CatalogueEntry[] = [];
      const r = xn.mount(ctxOf(p), name, got);
      if (r !== XN.SUCCESS) return r;
      const c = xn.readCatalogue().find((x) => x.entry.name === name);
      writeRootEntry(p.mem, p.dv, out, got[0] as CatalogueEntry, c?.index ?? 0, c?.persisted ?? false);
      return XN.SUCCESS;
    },
    type_import: (p, name) => xn.typeImport(ctxOf(p), name),
    type_mount: (p, name) => xn.typeMount(ctxOf(p), name),
    xn_read_catalogue: (p, dst, max) => {
      if (!xn.online) return XN.BOGUS_CTX;
      const all = xn.readCatalogue();
      const n = Math.min(max, all.length);
      for (let i = 0; i < n; i++) {
        const c = all[i] as (typeof all)[number];
        writeRootEntry(p.mem, p.dv, dst + i * XN_ROOT_ENTRY_BYTES, c.entry, c.index, c.persisted);
      }
      return n;
    },
    xn_insert_attr: (p, da, op) => {
      const code = op1.parse(p, op);
      return code !== XN.SUCCESS ? code : xn.insertAttr(ctxOf(p), da, op1.op);
    },
    xn_read_attr: (p, dst, db, n) => {
      attrs.length = 0;
      const r = xn.readAttr(ctxOf(p), db, n, attrs);
      if (r !== XN.SUCCESS) return r;
      attrs.forEach((a, i) => writeAttr(p.dv, dst + i * XN_ATTR_BYTES, a));
      return XN.SUCCESS;
    },
    xn_delete_attr: (p, db, n) => xn.deleteAttr(ctxOf(p), db, n),
    xn_set_type: (p, da, expected, src, nbytes, at) => {
      // A discriminator is at most 32 bytes; anything longer is refused before a copy is made.
      if (nbytes > 32) return XN.WRITE_FAILED;
      return xn.setType(ctxOf(p), da, expected, p.mem.slice(src, src + nbytes), at);
    },
    xn_fsck: (p, report) => {
      if (p.uid !== 0) return XN.BOGUS_CAP;
      if (!xn.online) return XN.BOGUS_CTX;
      return xn.fsck().then(
        (r) => {
          if (p.alive) writeReport(p.dv, report, 0, { roots: r.roots, reachable: r.reachableBlocks, allocated: r.allocatedBlocks, r });
          return XN.SUCCESS;
        },
        () => XN.READ_FAILED,
      );
    },
  });

  return {
    contextOf: (pid) => contexts.get(pid),
    contexts: () => contexts.size,
    completions: stats,
  };
}
