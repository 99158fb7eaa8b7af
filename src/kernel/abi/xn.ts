/**
 * The XN system-call ABI as a user process sees it (thesis §3.3, Appendix A;
 * dpf-xn-cheetah-facts.md §2): Xok's error codes, built-in type ids and limits, flags, and the
 * layouts of every structure an XN call reads or writes in the caller's memory. The kernel's XN
 * (`src/kernel/xn`) uses these same definitions; nothing here reaches the kernel.
 *
 * All structures are little-endian in the ILP32 model of `layout.ts` (pointers and sizes u32,
 * block numbers u64). A block number above 2^53 − 1 is refused. The sizes of `xn_op` (32),
 * `xn_root_entry` (128) and `xn_attr` (32) are `XN_OP_BYTES`, `XN_ROOT_ENTRY_BYTES` and
 * `XN_ATTR_BYTES` of `layout.ts`.
 */

/** Xok's XN error codes (sys/ubb/xntypes.h). Every XN call returns one of these (0 = success). */
export const XN = {
  SUCCESS: 0,
  TOO_MANY_FIELDS: -1,
  BOGUS_PTR: -2,
  BOGUS_FLAG: -3,
  TOO_MANY_TEMPLATES: -4,
  BOGUS_TYPE: -5,
  BOGUS_CAP: -6,
  CANNOT_ALLOC: -7,
  CANNOT_FREE: -8,
  TYPE_ERROR: -9,
  BLOCK_MISMATCH: -10,
  NOT_IN_CORE: -11,
  OUT_OF_MEMORY: -12,
  HAS_POINTERS: -13,
  REGISTRY_MISS: -14,
  CANNOT_COPY: -15,
  BOGUS_DA: -16,
  REGISTRY_HIT: -17,
  IN_CORE: -18,
  NO_PROXY: -19,
  CANNOT_DELETE: -20,
  TAINTED: -21,
  CANNOT_ACCESS: -22,
  BOGUS_INDEX: -23,
  BOGUS_PAGE: -24,
  WRITE_FAILED: -25,
  READ_FAILED: -26,
  ILLEGAL_OP: -27,
  BOGUS_FIELD: -28,
  CANNOT_LOCK: -29,
  LOCKED: -30,
  BOGUS_NAME: -31,
  BOGUS_ROOT: -32,
  DUPLICATE: -33,
  NOT_FOUND: -34,
  NOT_CONTIG: -35,
  TOO_SMALL: -36,
  TYPE_MISS: -37,
  BOGUS_CTX: -38,
  CYCLE: -39,
  BOGUS_ENTRY: -40,
  NO_MEMORY: -41,
  DIRTY_BLOCKS: -42,
} as const;

/** The name of a code (`XN_TAINTED`), for logs and the admin API. */
export function xnCodeName(code: number): string {
  for (const [k, v] of Object.entries(XN)) if (v === code) return `XN_${k}`;
  return `XN_UNKNOWN(${code})`;
}

/** Built-in element types (xn_elem_t). User types start at {@link XN_FIRST_USER_TYPE}. */
export const XN_NIL = 0;
/** The root catalogue's blocks. */
export const XN_ROOT_TYPE = 1;
/** A stored template's blocks. */
export const XN_TYPE_TYPE = 2;
/** Byte extents (what a read-set function emits). */
export const XN_BYTES = 3;
/** "DiskBlock": 4096 raw bytes, readable and writable whole, no pointers. */
export const XN_DB = 4;
/** First id given to an imported template. */
export const XN_FIRST_USER_TYPE = 5;
/** Template table size, built-ins included (Xok MAXTEMPLATES). */
export const XN_MAX_TEMPLATES = 128;
/** In an EMIT instruction: "the type being defined" (resolved at import). */
export const XN_SELF_TYPE = -1;

/** Largest extent one pointer may name, in blocks. */
export const XN_MAX_EXTENT_BLOCKS = 1024;
/** Most runs/blocks one readin/writeback call may name. */
export const XN_MAX_IO_BLOCKS = 4096;
/** Most entries in one modification vector. */
export const XN_MAX_MODS = 16;
/** Longest root/type name in bytes (plus a terminating NUL: Xok's name[80]). */
export const XN_NAME_MAX = 79;

/** bind flags (Xok xn_bind_t). */
export const XN_BIND_CONTENTS = 0;
export const XN_FORCE_READIN = 1;
export const XN_ZERO_FILL = 2;
export const XN_ALLOC_ZERO = 3;

/** Root access modes: bits of `mode` in a catalogue entry. */
export const XN_MODE_OTHER_READ = 0o004;
export const XN_MODE_OTHER_WRITE = 0o002;

/** `struct xn_op` (XN_OP_BYTES = 32): the extent, the pointer slot and the modification vector.
 * `u64 db` (0 in alloc: XN chooses and writes the block back here), `u32 nelem` (blocks),
 * `u32 type`, `u32 slot` (Xok's own_id), `u32 nmods`, `u32 mv` (pointer to `nmods`
 * `struct xn_m_vec`), `u32 cap` (must be 0: capabilities are kept by the kernel, never passed). */
export const XN_OP_OFF_DB = 0;
export const XN_OP_OFF_NELEM = 8;
export const XN_OP_OFF_TYPE = 12;
export const XN_OP_OFF_SLOT = 16;
export const XN_OP_OFF_NMODS = 20;
export const XN_OP_OFF_MV = 24;
export const XN_OP_OFF_CAP = 28;

/** `struct xn_m_vec { u32 offset; u32 addr; u32 nbytes; }`: copy `nbytes` at user address `addr`
 * to byte `offset` of the member holding the pointer. 1 ≤ nbytes ≤ 4096. */
export const XN_MVEC_BYTES = 12;
export const XN_MVEC_OFF_OFFSET = 0;
export const XN_MVEC_OFF_ADDR = 4;
export const XN_MVEC_OFF_NBYTES = 8;

/** `struct xn_ioe { u64 db; u32 nblocks; u32 reserved; }` — one run of `xn_readinv`/`xn_writebackv`
 * (Xok's xn_ioe without the address: pages are the kernel's). `reserved` must be 0. */
export const XN_IOE_BYTES = 16;
export const XN_IOE_OFF_DB = 0;
export const XN_IOE_OFF_NBLOCKS = 8;
export const XN_IOE_OFF_RESERVED = 12;
/** Most runs in one vector call (Xok XN_MAX_IO_E). */
export const XN_MAX_IOE = 256;

/** `struct xn_root_entry` (XN_ROOT_ENTRY_BYTES = 128) as `xn_mount` and `xn_read_catalogue` copy it
 * out: `name[80]` (NUL-padded), `u64 db`, `u32 nelem`, `u32 type`, `u32 type_id` (≠ 0: the entry
 * stores the template of that type), `u32 uid`, `u32 mode`, `u32 size` (template bytes),
 * `u32 index` (catalogue slot), `u32 flags` (XN_ROOT_PERSISTED), zeros to 128. */
export const XN_ROOT_OFF_NAME = 0;
export const XN_ROOT_NAME_BYTES = 80;
export const XN_ROOT_OFF_DB = 80;
export const XN_ROOT_OFF_NELEM = 88;
export const XN_ROOT_OFF_TYPE = 92;
export const XN_ROOT_OFF_TYPE_ID = 96;
export const XN_ROOT_OFF_UID = 100;
export const XN_ROOT_OFF_MODE = 104;
export const XN_ROOT_OFF_SIZE = 108;
export const XN_ROOT_OFF_INDEX = 112;
export const XN_ROOT_OFF_FLAGS = 116;
/** The entry is on disk (its blocks were written and then the catalogue). */
export const XN_ROOT_PERSISTED = 1;
/** Entries of the root catalogue (roots and stored templates). */
export const XN_CATALOGUE_ENTRIES = 128;

/** `struct xn_attr` (XN_ATTR_BYTES = 32), one per block from `xn_read_attr`: `u64 db`,
 * `u64 parent` (block holding the pointer; 0 for none), `u32 type`, `u32 parent_off` (member
 * offset in the parent), `u32 parent_slot`, `u32 flags` (XN_ATTR_*). */
export const XN_ATTR_OFF_DB = 0;
export const XN_ATTR_OFF_PARENT = 8;
export const XN_ATTR_OFF_TYPE = 16;
export const XN_ATTR_OFF_PARENT_OFF = 20;
export const XN_ATTR_OFF_PARENT_SLOT = 24;
export const XN_ATTR_OFF_FLAGS = 28;
export const XN_ATTR_INITIALIZED = 1;
export const XN_ATTR_DIRTY = 2;
export const XN_ATTR_LOCKED = 4;
export const XN_ATTR_TAINTED = 8;
export const XN_ATTR_PINNED = 16;
export const XN_ATTR_IN_CORE = 32;

/** `struct xn_info` (32 bytes) from `xn_info`: `u64 r_db` (first catalogue block), `u64 f_db`
 * (first freemap block), `u32 f_nbytes` (freemap bytes), `u32 r_nblocks` (catalogue blocks),
 * `u64 nblocks` (blocks on the disk). */
export const XN_INFO_BYTES = 32;
export const XN_INFO_OFF_R_DB = 0;
export const XN_INFO_OFF_F_DB = 8;
export const XN_INFO_OFF_F_NBYTES = 16;
export const XN_INFO_OFF_R_NBLOCKS = 20;
export const XN_INFO_OFF_NBLOCKS = 24;

/** `struct xn_report` (32 bytes) from `xn_init` and `xn_fsck`: `u32 flags` (XN_REPORT_*), then u32
 * counts: roots, reachable blocks, allocated blocks, dangling pointers, doubly-owned blocks,
 * leaked blocks, repaired pointers. */
export const XN_REPORT_BYTES = 32;
export const XN_REPORT_OFF_FLAGS = 0;
export const XN_REPORT_OFF_ROOTS = 4;
export const XN_REPORT_OFF_REACHABLE = 8;
export const XN_REPORT_OFF_ALLOCATED = 12;
export const XN_REPORT_OFF_DANGLING = 16;
export const XN_REPORT_OFF_DOUBLY_OWNED = 20;
export const XN_REPORT_OFF_LEAKED = 24;
export const XN_REPORT_OFF_REPAIRED = 28;
/** xn_init formatted a blank disk. */
export const XN_REPORT_FORMATTED = 1;
/** The previous shutdown was clean (the stored freemap was trusted). */
export const XN_REPORT_WAS_CLEAN = 2;
/** The tree was walked (an unclean boot, or xn_fsck): the counts are filled in. */
export const XN_REPORT_WALKED = 4;

/** `xn_init` flags: repair dangling and doubly-owned pointers found after an unclean shutdown. */
export const XN_INIT_REPAIR = 1;
/** `xn_init` result when XN was already online: the report is the boot's. */
export const XN_ALREADY_ONLINE = 1;

/** Asynchronous calls (readin, writeback, read_and_insert and their vector forms) notify a
 * record-mode channel with this device number in `chan_rec.device` (Xok's XN_DEV). */
export const XN_DEV = 0;
/** "No channel" for the `chan` argument of the asynchronous calls. */
export const XN_NO_CHAN = -1;
