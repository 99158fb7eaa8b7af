/**
 * The port pair that starts both a UDP datagram (RFC 768) and a TCP segment (RFC 9293 §3.1):
 * source port at byte 0, destination port at byte 2.
 */
import { get16, set16 } from './bytes.js';
import { PacketView } from './view.js';

export abstract class PortsView extends PacketView {
  get srcPort(): number {
    return get16(this.b, this.o);
  }
  set srcPort(v: number) {
    set16(this.b, this.o, v);
  }
  get dstPort(): number {
    return get16(this.b, this.o + 2);
  }
  set dstPort(v: number) {
    set16(this.b, this.o + 2, v);
  }
}
