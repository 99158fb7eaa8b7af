/**
 * `udpecho` end to end over the in-memory wire: datagrams to its port arrive through DPF and
 * come back byte-exact with swapped addresses and valid checksums, out of the card they came in
 * on; what it must not answer, it does not; it ends after COUNT or on SIGTERM and its filter goes
 * with it; the overlap rule, uid and argument errors as exit statuses.
 */
import { describe, expect, it } from 'vitest';
import { icmpEchoFrame, ip4, mac, udpFrame, type L3 } from '../../test/support/frames.js';
import { EADDRINUSE, EINVAL, ENODEV, EPERM } from '../kernel/abi/errno.js';
import { SIGTERM } from '../kernel/abi/signals.js';
import { dpfMachine, type DpfMachine } from '../kernel/net/af-dpf-testing.js';
import { settle } from '../kernel/syscall/test-support.js';
import { EthernetFrame, Ipv4Packet, UdpPacket } from '../wire/index.js';
import { PROGRAMS } from './index.js';

const HOST1: L3 = { src: mac('0a:00:00:00:01:01'), dst: mac('02:65:78:00:01:02'), srcIp: ip4('198.18.1.1'), dstIp: ip4('198.18.1.2') };

function start(m: DpfMachine, args: string[], uid = 0) {
  return m.kernel.spawn('udpecho', (sys) => PROGRAMS['udpecho']!.main(sys, args), { uid, memoryBytes: PROGRAMS['udpecho']!.memoryBytes });
}

/** Parse an echo reply: addresses, ports, payload, and whether both checksums verify. */
function parseReply(f: Uint8Array) {
  const eth = EthernetFrame.checked(f) as EthernetFrame;
  const ip = Ipv4Packet.checked(f, 14) as Ipv4Packet;
  const udp = UdpPacket.checked(f, ip.payloadOffset, ip.payloadLen) as UdpPacket;
  return {
    macs: [eth.srcAddr, eth.dstAddr],
    ips: [ip.srcAddr, ip.dstAddr],
    ports: [udp.srcPort, udp.dstPort],
    ttl: ip.hopLimit,
    checksums: ip.verifyChecksum() && udp.checksum !== 0 && udp.verifyChecksum(ip.srcAddr, ip.dstAddr),
    payload: udp.payload(),
    length: f.length,
  };
}

describe('udpecho (a UDP echo server on AF_DPF)', () => {
  it('echoes datagrams byte-exact with swapped addresses and valid checksums, ignores what it must not answer, and stops after COUNT', async () => {
    const m = dpfMachine();
    const p = start(m, ['exo1', '7', '3']);
    await settle();
    const payloads = [new Uint8Array(0), new Uint8Array(18).fill(0x5a), new Uint8Array(1400).map((_, i) => i & 0xff)];
    const h = m.hosts[1]!;
    const good = (i: number) => udpFrame(HOST1, 40000 + i, 7, payloads[i]!);
    const badSum = good(1);
    badSum[badSum.length - 1]! ^= 0xff; // payload changed, checksum not: claimed (port 7) but not answered
    // Ping and port 8 are the kernel's.
    await h.inject(good(0), badSum, icmpEchoFrame(HOST1, 1, 1, new Uint8Array(8)), udpFrame(HOST1, 5, 8, new Uint8Array(4)));
    await settle();
    await h.inject(good(1), good(2));
    await p.exited;
    expect(p.exitStatus).toMatchObject({ reason: 'return', code: 0 });
    expect(m.engine.filters()).toEqual([]);
    // After COUNT the port is nobody's: the kernel refuses the datagram.
    await h.inject(good(0));

    const proto = (f: Uint8Array) => (Ipv4Packet.checked(f, 14) as Ipv4Packet).protocol;
    const replies = h.received.filter((f) => proto(f) === 17).map(parseReply);
    expect(replies.map((r) => [...r.payload])).toEqual(payloads.map((x) => [...x]));
    for (const [i, r] of replies.entries()) {
      expect(r).toMatchObject({ macs: [HOST1.dst, HOST1.src], ips: [HOST1.dstIp, HOST1.srcIp], ports: [7, 40000 + i], ttl: 64, checksums: true, length: 42 + payloads[i]!.length });
    }
    const icmpTypes = h.received.filter((f) => proto(f) === 1).map((f) => f[14 + 20]);
    expect(icmpTypes.sort()).toEqual([0, 3, 3]); // echo reply; port 8; port 7 after the end
    m.kernel.assertNoLeaks();
  });

  it('ends on SIGTERM with status 0, and its port is the kernel’s again', async () => {
    const m = dpfMachine();
    const p = start(m, ['exo0', '9']);
    await settle();
    expect(m.engine.filters()).toHaveLength(1);
    m.kernel.kill(p.pid, SIGTERM);
    await p.exited;
    expect(p.exitStatus).toMatchObject({ reason: 'return', code: 0 });
    expect(m.engine.filters()).toEqual([]);
    m.kernel.assertNoLeaks();
  });

  it('a second server for the same port is refused by the overlap rule (exit EADDRINUSE); uid, card and argument errors are exit statuses', async () => {
    const m = dpfMachine();
    const first = start(m, ['exo1', '7']);
    await settle();
    const runs = [
      start(m, ['exo1', '7']),
      start(m, ['exo1', '7'], 1000),
      start(m, ['exo9', '7']),
      start(m, ['exo1', '0']),
      start(m, ['exo1', '7', '-1']),
      start(m, []),
    ];
    await Promise.all(runs.map((p) => p.exited));
    expect(runs.map((p) => p.exitStatus?.code)).toEqual([EADDRINUSE, EPERM, ENODEV, EINVAL, EINVAL, EINVAL]);
    expect(m.engine.filters().map((f) => f.owner.pid)).toEqual([first.pid]);
    m.kernel.kill(first.pid, SIGTERM);
    await first.exited;
    m.kernel.assertNoLeaks();
  });
});
