/**
 * The whole machine booted in-process on the memory backend (no root needed): cards, kernel
 * path and admin API wired together, and a clean stop.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { bootMachine } from '../src/machine.js';
import { MemoryCard } from '../src/nic/index.js';
import { rootLogger } from '../src/util/log.js';
import { icmpEchoFrame, ip4, mac } from './support/frames.js';

describe('machine on the memory backend', () => {
  it('boots three cards, answers a ping over the wire, reports it through the admin API, stops cleanly', async () => {
    const config = loadConfig({ overrides: { nicBackend: 'memory', admin: { port: 0 } } });
    const m = await bootMachine(config, { log: rootLogger() });
    try {
      const card = m.nics[1] as MemoryCard;
      const replies: Uint8Array[] = [];
      card.host.onFrame((f) => replies.push(f));
      const l3 = { src: mac('0a:00:00:00:01:01'), dst: mac('02:65:78:00:01:02'), srcIp: ip4('198.18.1.1'), dstIp: ip4('198.18.1.2') };
      card.host.send(icmpEchoFrame(l3, 9, 1, new Uint8Array(32)));
      while (replies.length === 0) await new Promise((r) => setImmediate(r));
      const res = await fetch(`${m.adminUrl}/v1/kernel/stats`);
      const stats = (await res.json()) as { cards: Record<string, { handled: Record<string, number> }> };
      expect(stats.cards['exo1']?.handled['icmp_echo_answered']).toBe(1);
      const nics = (await (await fetch(`${m.adminUrl}/v1/nics`)).json()) as Array<{ name: string; kind: string }>;
      expect(nics.map((n) => `${n.name}/${n.kind}`)).toEqual(['exo0/memory', 'exo1/memory', 'exo2/memory']);
      const docroot = (await (await fetch(`${m.adminUrl}/v1/docroot`)).json()) as { root: string; mounted: boolean };
      expect(docroot.mounted).toBe(true);
      expect(docroot.root).toMatch(/site\/www$/);
    } finally {
      await m.stop();
    }
    await expect(fetch(`${m.adminUrl}/health`)).rejects.toThrow();
  });

  it('a boot that fails half-way stops what it started', async () => {
    const config = loadConfig({ overrides: { nicBackend: 'memory', admin: { host: '0.0.0.0', port: 0 } } });
    await expect(bootMachine(config, { log: rootLogger() })).rejects.toThrow(/loopback/);
  });
});
