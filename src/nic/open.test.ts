import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveMac, formatMac } from './addr.js';
import { MemoryCard } from './memory-wire.js';
import { hostMac, machineMac, openNic } from './open.js';
import { PcapWriter } from './pcap.js';
import { testFrame, waitFor } from './testing/describe-net-device.js';

const cfg = { name: 'exo0', hostAddress: '198.18.0.1/24', mtuBytes: 1500, attach: false };

describe('openNic (memory backend) and addresses', () => {
  it('gives a memory card with the derived MAC, or the configured one', async () => {
    const card = await openNic(cfg, { backend: 'memory' });
    expect(card.kind).toBe('memory');
    expect(formatMac(card.mac)).toBe(formatMac(deriveMac('exo0')));
    expect(formatMac((card as MemoryCard).host.mac)).toBe(formatMac(hostMac(cfg, card.mac)));
    await card.close();
    const fixed = await openNic({ ...cfg, mac: '02:aa:bb:cc:dd:ee' }, { backend: 'memory' });
    expect(formatMac(fixed.mac)).toBe('02:aa:bb:cc:dd:ee');
    await fixed.close();
  });

  it('refuses a multicast MAC or a bad host address with CONFIG_ERR_INVALID', async () => {
    expect(() => machineMac({ name: 'exo0', mac: '01:00:5e:00:00:01' })).toThrow(expect.objectContaining({ code: 'CONFIG_ERR_INVALID' }));
    await expect(openNic({ ...cfg, hostAddress: '198.18.0.1' }, { backend: 'memory' })).rejects.toMatchObject({
      code: 'CONFIG_ERR_INVALID',
    });
  });

  it('the host MAC never equals the machine MAC', () => {
    const machine = deriveMac('exo0/host');
    expect(formatMac(hostMac(cfg, machine))).not.toBe(formatMac(machine));
  });
});

describe('pcap capture', () => {
  it('writes a valid nanosecond pcap of received and sent frames, cutting at the snaplen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exo-pcap-'));
    try {
      const path = join(dir, 'c.pcap');
      const card = new MemoryCard('mem0', 1500);
      const pcap = PcapWriter.open(path, { snaplenBytes: 100 });
      card.capture(pcap);
      let n = 0;
      card.setFrameHandler(() => n++);
      card.host.send(testFrame(card.mac, card.host.mac, 1, 60));
      await waitFor(() => n === 1, 'one frame');
      card.transmit([testFrame(card.host.mac, card.mac, 2, 300).subarray(0, 14), testFrame(card.host.mac, card.mac, 2, 300).subarray(14)]);
      card.capture(undefined);
      card.transmit([testFrame(card.host.mac, card.mac, 3, 60)]);
      pcap.close();
      pcap.close();
      await card.close();

      const b = readFileSync(path);
      expect(b.readUInt32LE(0)).toBe(0xa1b23c4d);
      expect(b.readUInt16LE(4)).toBe(2);
      expect(b.readUInt32LE(16)).toBe(100);
      expect(b.readUInt32LE(20)).toBe(1);
      const records: { incl: number; orig: number; data: Buffer }[] = [];
      for (let at = 24; at < b.length; ) {
        const incl = b.readUInt32LE(at + 8);
        records.push({ incl, orig: b.readUInt32LE(at + 12), data: b.subarray(at + 16, at + 16 + incl) });
        expect(b.readUInt32LE(at + 4)).toBeLessThan(1e9);
        at += 16 + incl;
      }
      expect(records.map((r) => [r.incl, r.orig])).toEqual([
        [60, 60],
        [100, 300],
      ]);
      expect(Uint8Array.from(records[1]!.data)).toEqual(testFrame(card.host.mac, card.mac, 2, 300).subarray(0, 100));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
