/**
 * Cheetah's DPF filters, in the binary encoding a process copies in with `dpf_attach`
 * (docs/dpf.md "Binary encoding"; the DPF language is a pure library user code may link).
 *
 * - The listener of a card claims TCP segments to the card's address and Cheetah's port.
 * - A connection's filter adds the peer's address and port: a superset of the listener's atoms,
 *   so it wins for that peer (longest match), and it differs from every other connection's
 *   filter only in values DPF keeps in hash nodes — installing or removing one generates no code.
 *
 * Connection filters are made per accept, so their bytes come from a template encoded once, with
 * the peer's address and port patched in at fixed offsets: no allocation per connection.
 *
 * IPv4 with options is handled (the TCP header is found through IHL: `mshift8 14 0x0f 2`); a
 * non-first fragment is never claimed (Cheetah drops fragments; the kernel counts them).
 */
import { encodeFilterBinary, type FilterAst, type FilterAtom } from '../kernel/dpf/lang/index.js';

/** Bytes of the binary header before the first atom (magic, version, flags, count). */
const HEADER_BYTES = 6;

/** The atoms common to a card's listener and its connections. */
function baseAtoms(addr: number, port: number, peer?: { addr: number; port: number }): FilterAtom[] {
  const atoms: FilterAtom[] = [
    { op: 'eq', width: 16, offset: 12, value: 0x0800 }, // IPv4
    { op: 'meq', width: 16, offset: 20, mask: 0x1fff, value: 0 }, // not a non-first fragment
    { op: 'eq', width: 8, offset: 23, value: 6 }, // TCP
    { op: 'eq', width: 32, offset: 30, value: addr >>> 0 }, // to the card's address
  ];
  if (peer !== undefined) atoms.push({ op: 'eq', width: 32, offset: 26, value: peer.addr >>> 0 }); // from the peer
  atoms.push({ op: 'mshift', width: 8, offset: 14, mask: 0x0f, shift: 2 }); // past the IPv4 header
  atoms.push({ op: 'eq', width: 16, offset: 16, value: port }); // to Cheetah's port
  if (peer !== undefined) atoms.push({ op: 'eq', width: 16, offset: 14, value: peer.port }); // from the peer's port
  return atoms;
}

/** The listener filter of a card: TCP to `addr`:`port`. */
export function listenerFilter(addr: number, port: number): Uint8Array {
  return encodeFilterBinary({ atoms: baseAtoms(addr, port) });
}

/** Byte offset of atom `index`'s compared value in the encoding of `ast` (an eq atom). */
function valueOffset(ast: FilterAst, index: number): number {
  let at = HEADER_BYTES;
  for (let i = 0; i < index; i++) {
    const a = ast.atoms[i]!;
    if (a.op === 'shifti') {
      at += 3;
      continue;
    }
    const n = a.width / 8;
    // opcode, offset u16, then mask and/or value (W/8 bytes each), then a shift byte.
    at += 3 + (a.op === 'meq' ? 2 * n : a.op === 'eq' ? n : a.op === 'mshift' ? n + 1 : 1);
  }
  return at + 3;
}

/**
 * Connection filters of one card, made by patching a template: `filter(peerAddr, peerPort)`
 * returns the same buffer each time, rewritten (copy it before the next call if it must be kept;
 * `dpf_attach` copies it in).
 */
export class ConnectionFilterTemplate {
  readonly bytes: Uint8Array;
  readonly #addrAt: number;
  readonly #portAt: number;

  constructor(addr: number, port: number) {
    const atoms = baseAtoms(addr, port, { addr: 0, port: 0 });
    this.bytes = encodeFilterBinary({ atoms });
    this.#addrAt = valueOffset({ atoms }, atoms.findIndex((a) => a.op === 'eq' && a.offset === 26));
    this.#portAt = valueOffset({ atoms }, atoms.length - 1);
  }

  /** The filter for a peer (big-endian values, as the encoding wants). */
  filter(peerAddr: number, peerPort: number): Uint8Array {
    const b = this.bytes;
    const a = this.#addrAt;
    b[a] = peerAddr >>> 24;
    b[a + 1] = (peerAddr >>> 16) & 0xff;
    b[a + 2] = (peerAddr >>> 8) & 0xff;
    b[a + 3] = peerAddr & 0xff;
    b[this.#portAt] = (peerPort >>> 8) & 0xff;
    b[this.#portAt + 1] = peerPort & 0xff;
    return b;
  }
}
