/**
 * The binary encoding of a filter: what a process copies into the kernel with the attach call.
 * All multi-byte fields are big-endian.
 *
 * ```text
 * header (6 bytes): 'D' 'P' | version = 1 | flags = 0 | atom count (u16)
 * atom: opcode byte = op << 4 | width code (0: 8, 1: 16, 2: 32 bits), then
 *   eq     (op 1): offset u16, value (width/8 bytes)
 *   meq    (op 2): offset u16, mask (width/8), value (width/8)
 *   shift  (op 3): offset u16, shift u8
 *   mshift (op 4): offset u16, mask (width/8), shift u8
 *   shifti (op 5, width code 0): bytes u16
 * ```
 *
 * A typical TCP connection filter is about 60 bytes; the most any valid filter can take is
 * {@link DPF_MAX_FILTER_BYTES}. The decoder checks structure only (ranges are the verifier's
 * job); `parseFilterBinary(encodeFilterBinary(a))` gives back `a` exactly, and every byte string
 * the decoder accepts re-encodes to itself.
 */
import type { FilterAst, FilterAtom, LoadWidth } from './ast.js';
import { DPF_BOGUSOP, DPF_MAX_ATOMS, DPF_NILFILTER, DPF_TOOMANYELEMS, type DpfRefusal, refuse } from './codes.js';

/** Encoding version written in byte 2 of the header. */
export const DPF_BINARY_VERSION = 1;
/** Header length, in bytes. */
export const DPF_BINARY_HEADER_BYTES = 6;
/** Largest valid encoding, in bytes: a header and {@link DPF_MAX_ATOMS} 32-bit `meq` atoms. */
export const DPF_MAX_FILTER_BYTES = DPF_BINARY_HEADER_BYTES + DPF_MAX_ATOMS * 11;

const MAGIC0 = 0x44; // 'D'
const MAGIC1 = 0x50; // 'P'
const OP_EQ = 1;
const OP_MEQ = 2;
const OP_SHIFT = 3;
const OP_MSHIFT = 4;
const OP_SHIFTI = 5;

function widthCode(w: LoadWidth): number {
  return w === 8 ? 0 : w === 16 ? 1 : 2;
}

function opNumber(a: FilterAtom): number {
  switch (a.op) {
    case 'eq':
      return OP_EQ;
    case 'meq':
      return OP_MEQ;
    case 'shift':
      return OP_SHIFT;
    case 'mshift':
      return OP_MSHIFT;
    case 'shifti':
      return OP_SHIFTI;
  }
}

/**
 * Encoded size of the atom whose opcode byte is `opcode` (opcode byte included), or 0 when the
 * opcode is malformed (unknown op or width code). Lets a reader step over atoms without decoding.
 */
export function binaryAtomBytes(opcode: number): number {
  const op = opcode >> 4;
  const wc = opcode & 0x0f;
  if (op === OP_SHIFTI ? wc !== 0 : wc > 2) return 0;
  return encodedBytes(op, 1 << wc);
}

/**
 * Where the compared value of the atom with opcode byte `opcode` starts, in bytes from that
 * opcode byte (it is `1 << (opcode & 3)` bytes long), or 0 when the atom compares no value.
 */
export function binaryValueAt(opcode: number): number {
  const op = opcode >> 4;
  return op === OP_EQ ? 3 : op === OP_MEQ ? 3 + (1 << (opcode & 0x0f)) : 0;
}

/** Encoded size of one atom (opcode byte included), or 0 for an unknown op. `n`: load bytes. */
function encodedBytes(op: number, n: number): number {
  switch (op) {
    case OP_EQ:
      return 3 + n;
    case OP_MEQ:
      return 3 + 2 * n;
    case OP_SHIFT:
      return 4;
    case OP_MSHIFT:
      return 4 + n;
    case OP_SHIFTI:
      return 3;
    default:
      return 0;
  }
}

/**
 * Encode a filter. The AST must be in range (as `verify` accepts it): fields are written
 * modulo their encoded size, so an out-of-range AST would not round-trip.
 */
export function encodeFilterBinary(ast: FilterAst): Uint8Array {
  let size = DPF_BINARY_HEADER_BYTES;
  for (const a of ast.atoms) size += encodedBytes(opNumber(a), a.op === 'shifti' ? 0 : a.width / 8);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = DPF_BINARY_VERSION;
  out[3] = 0;
  dv.setUint16(4, ast.atoms.length);
  let at = DPF_BINARY_HEADER_BYTES;
  const put = (v: number, bytes: number): void => {
    for (let i = bytes - 1; i >= 0; i--) out[at++] = Math.floor(v / 2 ** (8 * i)) & 0xff;
  };
  for (const a of ast.atoms) {
    if (a.op === 'shifti') {
      out[at++] = OP_SHIFTI << 4;
      put(a.bytes, 2);
      continue;
    }
    const n = a.width / 8;
    out[at++] = (opNumber(a) << 4) | widthCode(a.width);
    put(a.offset, 2);
    if (a.op === 'meq' || a.op === 'mshift') put(a.mask, n);
    if (a.op === 'eq' || a.op === 'meq') put(a.value, n);
    if (a.op === 'shift' || a.op === 'mshift') put(a.shift, 1);
  }
  return out;
}

/** Result of {@link parseFilterBinary}. */
export type BinaryParseResult = { readonly ok: true; readonly ast: FilterAst } | DpfRefusal;

/**
 * Decode a filter from bytes copied in from a process. Never throws and never reads outside
 * `bytes`; a malformed encoding is refused with its DPF code and the byte offset of the fault.
 */
export function parseFilterBinary(bytes: Uint8Array): BinaryParseResult {
  if (!(bytes instanceof Uint8Array)) return refuse(DPF_BOGUSOP, 'filter must be a byte array');
  if (bytes.length < DPF_BINARY_HEADER_BYTES) {
    return refuse(DPF_BOGUSOP, `filter is ${bytes.length} bytes, shorter than the ${DPF_BINARY_HEADER_BYTES}-byte header`);
  }
  if (bytes[0] !== MAGIC0 || bytes[1] !== MAGIC1) return refuse(DPF_BOGUSOP, 'bad magic: a DPF filter starts with "DP"');
  if (bytes[2] !== DPF_BINARY_VERSION) {
    return refuse(DPF_BOGUSOP, `unsupported encoding version ${bytes[2]} (this kernel reads version ${DPF_BINARY_VERSION})`);
  }
  if (bytes[3] !== 0) return refuse(DPF_BOGUSOP, `header flags must be 0, got 0x${(bytes[3] as number).toString(16)}`);
  const count = ((bytes[4] as number) << 8) | (bytes[5] as number);
  if (count === 0) return refuse(DPF_NILFILTER, 'the filter has no atoms');
  if (count > DPF_MAX_ATOMS) return refuse(DPF_TOOMANYELEMS, `the filter declares ${count} atoms, more than ${DPF_MAX_ATOMS}`);
  if (bytes.length > DPF_MAX_FILTER_BYTES) {
    return refuse(DPF_BOGUSOP, `filter is ${bytes.length} bytes, more than any valid filter (${DPF_MAX_FILTER_BYTES})`);
  }
  const atoms: FilterAtom[] = [];
  let at = DPF_BINARY_HEADER_BYTES;
  const get = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + (bytes[at++] as number);
    return v;
  };
  for (let k = 0; k < count; k++) {
    if (at >= bytes.length) return refuse(DPF_BOGUSOP, `truncated: atom ${k} of ${count} starts past the end (byte ${at})`);
    const opcode = bytes[at] as number;
    const op = opcode >> 4;
    const wc = opcode & 0x0f;
    if (op === OP_SHIFTI ? wc !== 0 : wc > 2) {
      return refuse(DPF_BOGUSOP, `atom ${k} at byte ${at}: bad width code ${wc} in opcode 0x${opcode.toString(16)}`);
    }
    const width: LoadWidth = wc === 0 ? 8 : wc === 1 ? 16 : 32;
    const n = width / 8;
    const need = encodedBytes(op, n);
    if (need === 0) return refuse(DPF_BOGUSOP, `atom ${k} at byte ${at}: unknown op ${op}`);
    if (at + need > bytes.length) return refuse(DPF_BOGUSOP, `truncated: atom ${k} at byte ${at} needs ${need} bytes`);
    at++;
    switch (op) {
      case OP_EQ: {
        const offset = get(2);
        atoms.push({ op: 'eq', width, offset, value: get(n) });
        break;
      }
      case OP_MEQ: {
        const offset = get(2);
        const mask = get(n);
        atoms.push({ op: 'meq', width, offset, mask, value: get(n) });
        break;
      }
      case OP_SHIFT: {
        const offset = get(2);
        atoms.push({ op: 'shift', width, offset, shift: get(1) });
        break;
      }
      case OP_MSHIFT: {
        const offset = get(2);
        const mask = get(n);
        atoms.push({ op: 'mshift', width, offset, mask, shift: get(1) });
        break;
      }
      default:
        atoms.push({ op: 'shifti', bytes: get(2) });
    }
  }
  if (at !== bytes.length) return refuse(DPF_BOGUSOP, `${bytes.length - at} trailing bytes after the last atom (byte ${at})`);
  return { ok: true, ast: { atoms } };
}
