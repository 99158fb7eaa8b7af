/**
 * XN's numeric codes, built-in type ids and limits (dpf-xn-cheetah-facts.md §2.2, §2.3, §2.9),
 * with Xok's values. Pure data with no imports, so the ABI layer can re-export it unchanged for
 * user programs.
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
