/**
 * TAP cards on real TAP devices. Every test makes its own network namespace and opens the TAP
 * inside it through the addon's `netns` option (the calling thread enters the namespace for the
 * open, so the TAP, its control socket and all host-side traffic live there); the host side is an
 * AF_PACKET socket (also a card of this module) on the TAP interface inside the namespace, plus
 * iproute2/ping. Backpressure is made real: the TAP's sndbuf is small and the host holds our
 * frames in a shaped qdisc (ingress → mirred → tbf on lo), so writes meet EAGAIN.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { isDaemonError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import { parseIpv4 } from '../wire/address.js';
import { deriveMac, formatMac } from './addr.js';
import { NativeCard } from './native-card.js';
import { hostMac, openNic } from './open.js';
import { describeNetDevice, testFrame, waitFor } from './testing/describe-net-device.js';
import { installEchoResponder } from './testing/echo-responder.js';
import { TestNetns } from './testing/netns.js';
import { describeAsRoot } from './testing/root.js';

const TAP = 'xt0';

describeAsRoot('TAP card', () => {
  describeNetDevice('TAP in a network namespace', async (tuning) => {
    const ns = TestNetns.create('nic');
    try {
      const card = NativeCard.openTap(TAP, 1500, { netns: ns.name, sndbufBytes: 4096, tuning, mac: deriveMac(TAP) });
      card.setHostUp(true);
      const host = NativeCard.openPacketSocket(TAP, { netns: ns.name, rcvbufBytes: 16 << 20 });
      let blocked = false;
      return {
        card,
        hostSend: (f) => {
          const status = host.transmit([f]);
          if (status === 'dropped') throw new Error('host side could not send');
        },
        onHostFrame: (handler) => host.setFrameHandler((f) => handler(Uint8Array.from(f))),
        blockHost: () => {
          // Our frames now sit in a tbf queue at ~1 kbit/s, still charged to the TAP's sndbuf.
          ns.exec('tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '1kbit', 'burst', '1600', 'limit', '100000000');
          ns.exec('tc', 'qdisc', 'add', 'dev', TAP, 'ingress');
          ns.exec('tc', 'filter', 'add', 'dev', TAP, 'parent', 'ffff:', 'protocol', 'all', 'u32', 'match', 'u32', '0', '0',
            'action', 'mirred', 'egress', 'redirect', 'dev', 'lo');
          blocked = true;
        },
        unblockHost: () => {
          if (!blocked) return;
          // Deleting the tbf frees the frames it holds (the host already received them at the
          // TAP's ingress, where the capture socket saw them), so the TAP is writable at once.
          ns.exec('tc', 'qdisc', 'del', 'dev', TAP, 'ingress');
          ns.exec('tc', 'qdisc', 'del', 'dev', 'lo', 'root');
          blocked = false;
        },
        hostMinFrameBytes: 14,
        hostMaxFrameBytes: 1514,
        dispose: async () => {
          await Promise.all([card.close(), host.close()]);
          ns.dispose();
        },
      };
    } catch (e) {
      ns.dispose();
      throw e;
    }
  });

  describe('TAP lifecycle and host side', () => {
    let ns: TestNetns | undefined;
    const cards: NativeCard[] = [];
    afterEach(async () => {
      await Promise.all(cards.splice(0).map((c) => c.close()));
      ns?.dispose();
      ns = undefined;
    });
    const newNs = (): TestNetns => (ns = TestNetns.create('nic'));
    const track = <T extends NativeCard>(c: T): T => (cards.push(c), c);
    const cfg = { name: TAP, hostAddress: '198.18.77.1/24', mtuBytes: 1500, attach: false };

    it('openNic sets up the host side, answers ping through a responder, and close removes the TAP', async () => {
      const n = newNs();
      const card = (await openNic(cfg, { backend: 'tap', netns: n.name })) as NativeCard;
      const link = card.hostLink();
      expect(link.up).toBe(true);
      expect(link.mtuBytes).toBe(1500);
      expect(formatMac(link.mac)).toBe(formatMac(hostMac(cfg, card.mac)));
      expect(link.ipv6Disabled).toBe(true);
      expect(n.ip('-4', 'addr', 'show', 'dev', TAP)).toContain('inet 198.18.77.1/24');
      expect(formatMac(card.mac)).toBe(formatMac(deriveMac(TAP)));

      const responder = installEchoResponder(card, parseIpv4('198.18.77.2')!);
      // ping runs as a child without blocking our event loop, which answers it.
      const out = await runAsync(['ip', 'netns', 'exec', n.name, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '198.18.77.2']);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('3 received');
      expect(responder.echoReplies).toBeGreaterThanOrEqual(3);
      expect(n.ip('neigh', 'show', 'dev', TAP)).toContain(formatMac(card.mac));
      const c = card.counters();
      expect(c.rxFrames).toBeGreaterThanOrEqual(4);
      expect(c.txFrames).toBe(responder.arpReplies + responder.echoReplies);

      await card.close();
      expect(n.hasLink(TAP)).toBe(false);
    });

    it('refuses a name that is taken, saying by what (NIC_ERR_TAP_BUSY)', async () => {
      const n = newNs();
      track(NativeCard.openTap(TAP, 1500, { netns: n.name }));
      const busy = expect.objectContaining({ code: 'NIC_ERR_TAP_BUSY', message: expect.stringContaining('in use by another process') });
      expect(() => track(NativeCard.openTap(TAP, 1500, { netns: n.name }))).toThrow(busy);
      await expect(openNic(cfg, { backend: 'tap', netns: n.name })).rejects.toMatchObject({ code: 'NIC_ERR_TAP_BUSY' });
      n.ip('tuntap', 'add', 'dev', 'xp0', 'mode', 'tap');
      expect(() => NativeCard.openTap('xp0', 1500, { netns: n.name })).toThrow(
        expect.objectContaining({ code: 'NIC_ERR_TAP_BUSY', message: expect.stringContaining('persistent TAP') }),
      );
      n.ip('link', 'add', 'xv0', 'type', 'veth', 'peer', 'name', 'xv1');
      expect(() => NativeCard.openTap('xv0', 1500, { netns: n.name })).toThrow(
        expect.objectContaining({ code: 'NIC_ERR_TAP_BUSY', message: expect.stringContaining('not a TAP') }),
      );
    });

    it('attaching to a TAP another process holds gives NIC_ERR_TAP_BUSY (EBUSY)', () => {
      const n = newNs();
      track(NativeCard.openTap(TAP, 1500, { netns: n.name }));
      let err: unknown;
      try {
        NativeCard.openTap(TAP, 1500, { netns: n.name, attach: true });
      } catch (e) {
        err = e;
      }
      expect(isDaemonError(err, 'NIC_ERR_TAP_BUSY')).toBe(true);
      expect((err as Error).message).toContain('in use');
      expect(((err as Error).cause as { code: string }).code).toBe('EBUSY');
    });

    it('attaches to a persistent TAP and leaves it on close; attaching to a missing one fails clearly', async () => {
      const n = newNs();
      n.ip('tuntap', 'add', 'dev', TAP, 'mode', 'tap');
      const card = await openNic({ ...cfg, attach: true }, { backend: 'tap', netns: n.name });
      expect((card as NativeCard).created).toBe(false);
      expect(n.ip('-4', 'addr', 'show', 'dev', TAP)).toContain('198.18.77.1/24');
      await card.close();
      expect(n.hasLink(TAP)).toBe(true);
      expect(() => NativeCard.openTap('xmissing', 1500, { netns: n.name, attach: true })).toThrow(
        expect.objectContaining({ code: 'NIC_ERR_TAP_OPEN', message: expect.stringContaining('no such interface') }),
      );
    });

    it('maps control failures to NIC_ERR_IOCTL and calls after close to NIC_ERR_CLOSED', async () => {
      const n = newNs();
      const card = track(NativeCard.openTap(TAP, 1500, { netns: n.name }));
      expect(() => card.setHostMtu(10)).toThrow(expect.objectContaining({ code: 'NIC_ERR_IOCTL' }));
      expect(() => card.setHostMac(Uint8Array.of(1, 0, 0, 0, 0, 1))).toThrow(expect.objectContaining({ code: 'NIC_ERR_IOCTL' }));
      card.setHostTxQueueLen(64);
      expect(card.hostLink().txQueueLenFrames).toBe(64);
      await card.close();
      expect(() => card.setHostUp(true)).toThrow(expect.objectContaining({ code: 'NIC_ERR_CLOSED' }));
    });

    it('an unknown network namespace gives NETNS_ERR', () => {
      expect(() => NativeCard.openTap(TAP, 1500, { netns: `exo-missing-${process.pid}` })).toThrow(
        expect.objectContaining({ code: 'NETNS_ERR' }),
      );
    });

    it('a TAP deleted under the card fails the card without crashing or spinning', async () => {
      const n = newNs();
      const card = track(NativeCard.openTap(TAP, 1500, { netns: n.name }));
      card.setHostUp(true);
      n.ip('link', 'del', TAP);
      await waitFor(() => card.failure !== undefined, 'the card to notice');
      expect(card.failure?.message).toContain('device failed');
      expect(card.transmit([testFrame(deriveMac('x'), card.mac, 0, 64)])).toBe('dropped');
      expect(card.counters().drops['tx_error']).toBe(1);
    });

    it('while receive is paused frames wait in the host queue, whose overflow the counters show', async () => {
      const n = newNs();
      const card = track(NativeCard.openTap(TAP, 1500, { netns: n.name }));
      card.setHostUp(true);
      card.setHostTxQueueLen(50);
      const host = track(NativeCard.openPacketSocket(TAP, { netns: n.name }));
      let got = 0;
      card.setFrameHandler(() => got++);
      card.pauseRx();
      for (let i = 0; i < 80; i++) host.transmit([testFrame(card.mac, host.mac, i, 60)]);
      await new Promise((r) => setTimeout(r, 20));
      expect(got).toBe(0);
      card.resumeRx();
      await waitFor(() => got >= 50, '50 frames');
      // The host's queue (txqueuelen 50) held 50; the host dropped the rest, and the card's
      // counters show it (the TAP's tx_dropped) apart from its own drops.
      const c = card.counters();
      expect(c.rxFrames).toBe(50);
      expect(c.drops['rx_host_dropped']).toBe(30);
      expect(Object.entries(c.drops).filter(([k, v]) => k !== 'rx_host_dropped' && v !== 0)).toEqual([]);
    });

    it('a process that exits, or a worker that is terminated, with a TAP open removes the TAP', async () => {
      const n = newNs();
      const addon = `${packageRoot()}/build/Release/exotap.node`;
      const open = `const a = require(${JSON.stringify(addon)}); globalThis.p = new a.Port('tap', '${TAP}', { netns: '${n.name}' }, () => {}, () => {}, () => {});`;
      const exit = await runAsync([process.execPath, '-e', `${open} console.log('open'); process.exit(0);`]);
      expect(exit.stdout).toContain('open');
      expect(n.hasLink(TAP)).toBe(false);
      const worker = await runAsync([
        process.execPath,
        '-e',
        `const { Worker } = require('node:worker_threads');
         const w = new Worker(${JSON.stringify(`${open} require('node:worker_threads').parentPort.postMessage('open');`)}, { eval: true });
         w.on('message', async () => { console.log(require('node:child_process').execFileSync('ip', ['-n', '${n.name}', '-br', 'link']).toString()); await w.terminate(); console.log('terminated'); });`,
      ]);
      expect(worker.code).toBe(0);
      expect(worker.stdout).toContain(TAP);
      expect(worker.stdout).toContain('terminated');
      expect(n.hasLink(TAP)).toBe(false);
    });
  });
});

/** Run a command without blocking the event loop (cards in this process keep working meanwhile). */
function runAsync(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
