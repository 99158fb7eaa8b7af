/**
 * A host-side frame blaster for bench/nic/rx-flood: sends COUNT frames of SIZE bytes as fast as
 * it can through an AF_PACKET socket on interface IF inside namespace NS (the host side of a TAP,
 * or a veth), waiting out backpressure rather than dropping. Prints one JSON line:
 * `{ sent, dropped, wallMs }`.
 *
 *   node dist/bench/nic/blaster.js --netns NS --if IF --count 1000000 --size 64
 */
import { parseArgs } from 'node:util';
import { NativeCard } from '../../src/nic/index.js';

const { values: args } = parseArgs({
  options: {
    netns: { type: 'string' },
    if: { type: 'string' },
    count: { type: 'string', default: '1000000' },
    size: { type: 'string', default: '64' },
  },
});
if (args.netns === undefined || args.if === undefined) throw new Error('usage: blaster --netns NS --if IF [--count N] [--size BYTES]');

/** IEEE 802 Local Experimental Ethertype 1: nothing on the receiving side answers it. */
const ETHERTYPE = 0x88b5;

async function main(netns: string, ifname: string): Promise<void> {
  const count = Number(args.count);
  const card = NativeCard.openPacketSocket(ifname, { netns, sndbufBytes: 4 << 20 });
  const frame = new Uint8Array(Number(args.size));
  frame.set([0x02, 0, 0, 0, 0, 0x02], 0);
  frame.set(card.mac, 6);
  new DataView(frame.buffer).setUint16(12, ETHERTYPE);
  const iov = [frame];
  let drained: (() => void) | undefined;
  card.onDrain(() => drained?.());
  let dropped = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const status = card.transmit(iov);
    if (status === 'queued') await new Promise<void>((r) => (drained = r));
    else if (status === 'dropped') dropped++;
  }
  const wallMs = performance.now() - t0;
  await card.close();
  process.stdout.write(`${JSON.stringify({ sent: count - dropped, dropped, wallMs })}\n`);
}

main(args.netns, args.if).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
