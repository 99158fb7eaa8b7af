/**
 * Why a packet was refused by the wire layer. A plain string value: reporting a malformed
 * packet costs nothing (no allocation, no stack trace), and callers count it by name.
 *
 * - `truncated`: the buffer is shorter than a header or a length field says it must be.
 * - `malformed`: a field has an impossible value (IHL < 5, data offset < 5, length field
 *   shorter than the header, forbidden flag combination, port 0 …).
 * - `bad-checksum`: the checksum does not verify.
 * - `unsupported`: well formed, but a variant this layer does not represent (e.g. ARP for a
 *   hardware type other than Ethernet).
 */
export const WireError = {
  Truncated: 'truncated',
  Malformed: 'malformed',
  BadChecksum: 'bad-checksum',
  Unsupported: 'unsupported',
} as const;
export type WireError = (typeof WireError)[keyof typeof WireError];

/** True when `x` is a {@link WireError} (every parse result that is not a view or record). */
export function isWireError(x: unknown): x is WireError {
  return typeof x === 'string';
}
