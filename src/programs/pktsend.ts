/**
 * `pktsend CARD HEXFRAME [COUNT]` — send a whole Ethernet frame out of a card through a raw-send
 * packet socket (the thesis's "sending came for free": SOCK_PACKET). Needs uid 0, like Linux's
 * CAP_NET_RAW. Exit status: 0, or the errno of the first call that failed.
 */
import { AF_PACKET, SOCKADDR_PKT_BYTES, SOCKADDR_PKT_OFF_DEVICE, SOCK_PACKET, type Libc } from '../kernel/abi/index.js';

const ETH_P_ALL = 0x0003;

export async function pktsend(sys: Libc, args: readonly string[]): Promise<number> {
  const [card, hex, countText] = args;
  const count = countText === undefined ? 1 : Number(countText);
  if (card === undefined || hex === undefined || !/^([0-9a-fA-F]{2})+$/.test(hex) || !Number.isInteger(count) || count < 1) {
    return 22; // EINVAL: usage
  }
  const s = sys.socket(AF_PACKET, SOCK_PACKET, ETH_P_ALL);
  if (s < 0) return -s;
  const addr = sys.calloc(SOCKADDR_PKT_BYTES);
  sys.view.setUint16(addr, AF_PACKET, true);
  sys.mem.set(new TextEncoder().encode(card).subarray(0, 13), addr + SOCKADDR_PKT_OFF_DEVICE);
  const len = hex.length / 2;
  const frame = sys.malloc(len);
  for (let i = 0; i < len; i++) sys.mem[frame + i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  for (let i = 0; i < count; i++) {
    const r = sys.sendto(s, frame, len, 0, addr, SOCKADDR_PKT_BYTES);
    if (r < 0) return -r;
  }
  return 0;
}
