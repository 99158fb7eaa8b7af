/**
 * DPF result codes and limits. The codes are Xok's (`sys/dpf/dpf.h`), so a filter id (> 0) and
 * an error (< 0) share one number space, exactly as `dpf_insert` returned them.
 */

/** No filter id is free (the engine's `maxFilters` are all in use). */
export const DPF_TOOMANYFILTERS = -2;
/** More than {@link DPF_MAX_ATOMS} atoms in one filter. */
export const DPF_TOOMANYELEMS = -3;
/** A malformed filter: unknown op, bad width, a field out of range, a broken encoding. */
export const DPF_BOGUSOP = -4;
/** No filter with that id. */
export const DPF_BOGUSID = -5;
/** An exact duplicate, or (stronger than Xok) a filter that would share packets with another owner's. */
export const DPF_OVERLAP = -6;
/** A filter with no atoms, or one that constrains nothing (would match every frame). */
export const DPF_NILFILTER = -7;
/** The trie would exceed its node budget (`maxTrieNodes`). */
export const DPF_NOMEM = -8;

/** Any DPF error code. */
export type DpfErrorCode =
  | typeof DPF_TOOMANYFILTERS
  | typeof DPF_TOOMANYELEMS
  | typeof DPF_BOGUSOP
  | typeof DPF_BOGUSID
  | typeof DPF_OVERLAP
  | typeof DPF_NILFILTER
  | typeof DPF_NOMEM;

/** The symbolic name of a DPF code (`'DPF_OVERLAP'`), or `'DPF_?'` for anything else. */
export function dpfErrorName(code: number): string {
  switch (code) {
    case DPF_TOOMANYFILTERS:
      return 'DPF_TOOMANYFILTERS';
    case DPF_TOOMANYELEMS:
      return 'DPF_TOOMANYELEMS';
    case DPF_BOGUSOP:
      return 'DPF_BOGUSOP';
    case DPF_BOGUSID:
      return 'DPF_BOGUSID';
    case DPF_OVERLAP:
      return 'DPF_OVERLAP';
    case DPF_NILFILTER:
      return 'DPF_NILFILTER';
    case DPF_NOMEM:
      return 'DPF_NOMEM';
    default:
      return 'DPF_?';
  }
}

/** Atoms per filter, inclusive (Xok's `DPF_MAXELEM`). */
export const DPF_MAX_ATOMS = 256;
/**
 * Largest frame DPF ever sees, in bytes (the TAP maximum 65521 + a 14-byte header, rounded up).
 * An atom that would read past it can never match and is refused.
 */
export const DPF_MAX_FRAME_BYTES = 65536;
/** Largest shift amount of a `shift`/`mshift` atom, in bits. */
export const DPF_MAX_SHIFT = 31;
/** Largest filter text accepted by the text parser, in characters. */
export const DPF_MAX_TEXT_CHARS = 65536;

/** A refusal: the code, one line saying why, and the verifier log when there is one. */
export interface DpfRefusal {
  readonly ok: false;
  readonly code: DpfErrorCode;
  readonly reason: string;
  readonly log: readonly string[];
}

/** Build a {@link DpfRefusal}. */
export function refuse(code: DpfErrorCode, reason: string, log: readonly string[] = []): DpfRefusal {
  return { ok: false, code, reason, log };
}

/** Quote a piece of untrusted input for a message: JSON-escaped and cut to `max` characters. */
export function quoteInput(s: string, max = 32): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}
