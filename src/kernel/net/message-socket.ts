/**
 * The base of sockets that send whole frames as messages (packet sockets, AF_DPF): `write` and
 * `writev` are `sendmsg` to the bound destination, as in Linux's datagram sockets.
 */
import { KernelFile } from '../proc/file.js';

export abstract class MessageSocket extends KernelFile {
  /** A one-element iovec reused by `write` (no allocation per call). */
  readonly #one: Uint8Array[] = [];

  /** Send one message gathered from `iov` (`total` bytes) to `addr`, or to the bound destination when null. */
  abstract override sendmsg(iov: readonly Uint8Array[], total: number, addr: Uint8Array | null): number;

  override write(src: Uint8Array, off: number, len: number): number {
    this.#one.length = 0;
    this.#one.push(src.subarray(off, off + len));
    return this.sendmsg(this.#one, len, null);
  }

  override writev(iov: readonly Uint8Array[], total: number): number {
    return this.sendmsg(iov, total, null);
  }
}
