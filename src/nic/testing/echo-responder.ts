/**
 * A trivial reflector for tests and benchmarks of a card (not the kernel's network path): it
 * answers ARP requests and ICMP echo requests for one IPv4 address by rewriting the received
 * frame in place and transmitting that same buffer (zero copies).
 * Read first: RFC 826 (ARP), RFC 792 (echo), RFC 1624 (incremental checksum update).
 */
import type { NetDevice } from '../types.js';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ARP_REQUEST = 1;
const ARP_REPLY = 2;
const IPPROTO_ICMP = 1;
const ICMP_ECHO_REQUEST = 8;

export interface EchoResponderCounters {
  arpReplies: number;
  echoReplies: number;
  ignored: number;
}

/** Install a reflector on `card` for `address` (host byte order). Returns its live counters. */
export function installEchoResponder(card: NetDevice, address: number): EchoResponderCounters {
  const counters: EchoResponderCounters = { arpReplies: 0, echoReplies: 0, ignored: 0 };
  const iov: Uint8Array[] = [new Uint8Array(0)];
  const mac = card.mac;
  card.setFrameHandler((f) => {
    const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const type = f.length >= 14 ? dv.getUint16(12) : 0;
    if (type === ETHERTYPE_ARP && f.length >= 42 && dv.getUint16(20) === ARP_REQUEST && dv.getUint32(38) === address) {
      f.copyWithin(0, 6, 12); // reply to the sender
      f.set(mac, 6);
      dv.setUint16(20, ARP_REPLY);
      f.copyWithin(32, 22, 32); // target := sender (hw + proto)
      f.set(mac, 22);
      dv.setUint32(28, address);
    } else if (
      type === ETHERTYPE_IPV4 &&
      f.length >= 14 + 20 + 8 &&
      f[23] === IPPROTO_ICMP &&
      dv.getUint32(30) === address &&
      f[14 + ((f[14]! & 0x0f) << 2)] === ICMP_ECHO_REQUEST
    ) {
      const icmp = 14 + ((f[14]! & 0x0f) << 2);
      f.copyWithin(0, 6, 12);
      f.set(mac, 6);
      const src = dv.getUint32(26);
      dv.setUint32(26, address);
      dv.setUint32(30, src);
      f[icmp] = 0; // echo reply
      // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), m = 0x0800 (type 8, code 0), m' = 0.
      let sum = (~dv.getUint16(icmp + 2) & 0xffff) + (~0x0800 & 0xffff);
      sum = (sum & 0xffff) + (sum >>> 16);
      dv.setUint16(icmp + 2, ~sum & 0xffff);
    } else {
      counters.ignored++;
      return;
    }
    iov[0] = f;
    card.transmit(iov);
    if (type === ETHERTYPE_ARP) counters.arpReplies++;
    else counters.echoReplies++;
  });
  return counters;
}
