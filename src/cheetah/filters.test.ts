/**
 * Cheetah's DPF filters mean what they should: canonically the same as the pcap expressions
 * that say it (`tcp and dst host … and dst port …` plus the peer for a connection), the patched
 * template equals a fresh encoding for every peer, and in a DPF engine a connection's filter
 * wins over the listener for its peer only — without generating code per connection.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DpfEngine } from '../kernel/dpf/index.js';
import { compilePcapExpression, formatNormalFilter, normalize, parseFilterBinary, verify } from '../kernel/dpf/lang/index.js';
import { ipv4ToString } from '../wire/index.js';
import { ConnectionFilterTemplate, listenerFilter } from './filters.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
console.log(`filters.test fast-check seed=${seed} (SEED=${seed} reproduces)`);

function canonical(bytes: Uint8Array): string {
  const p = parseFilterBinary(bytes);
  if (!p.ok) throw new Error(p.reason);
  const v = verify(p.ast);
  if (!v.ok) throw new Error(v.reason);
  return formatNormalFilter(normalize(v.filter));
}

function pcapCanonical(expr: string): string {
  const r = compilePcapExpression(expr);
  if (!r.ok || r.filters.length !== 1) throw new Error(`pcap ${expr}: ${r.ok ? `${r.filters.length} filters` : r.reason}`);
  return formatNormalFilter(normalize(r.filters[0]!));
}

const ADDR = 0xc6120102; // 198.18.1.2

/** A TCP/IPv4 frame from src:sport to dst:dport (IHL 5, no payload). */
function tcpFrame(src: number, sport: number, dst: number, dport: number): Uint8Array {
  const f = new Uint8Array(54);
  const v = new DataView(f.buffer);
  v.setUint16(12, 0x0800);
  f[14] = 0x45;
  f[23] = 6;
  v.setUint32(26, src);
  v.setUint32(30, dst);
  v.setUint16(34, sport);
  v.setUint16(36, dport);
  return f;
}

describe('Cheetah DPF filters', () => {
  it('the listener is `tcp and dst host A and dst port P`', () => {
    expect(canonical(listenerFilter(ADDR, 80))).toBe(pcapCanonical('tcp and dst host 198.18.1.2 and dst port 80'));
    expect(canonical(listenerFilter(ADDR, 8080))).toBe(pcapCanonical('tcp and dst host 198.18.1.2 and dst port 8080'));
  });

  it('property: a patched connection filter is the pcap filter for its peer, whatever came before', () => {
    const t = new ConnectionFilterTemplate(ADDR, 80);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 0xfffffffe }), fc.integer({ min: 1, max: 65535 })), { minLength: 1, maxLength: 5 }), (peers) => {
        for (const [addr, port] of peers) {
          const got = canonical(t.filter(addr, port));
          expect(got).toBe(pcapCanonical(`tcp and dst host 198.18.1.2 and dst port 80 and src host ${ipv4ToString(addr)} and src port ${port}`));
        }
      }),
      { seed, numRuns: 200 },
    );
  });

  it('in a DPF engine: connections win for their peer only, the listener takes the rest, no code generated per connection', () => {
    const engine = new DpfEngine();
    const owner = { pid: 7, uid: 0 };
    const l = engine.insertBinary(listenerFilter(ADDR, 80), owner);
    if (!l.ok) throw new Error(l.reason);
    const t = new ConnectionFilterTemplate(ADDR, 80);
    const ids: number[] = [];
    let compiles = 0;
    for (let i = 0; i < 300; i++) {
      // The first few inserts meet each trie shape once (one peer, several peers, several ports).
      if (i === 30) compiles = engine.stats().codegen.compiles;
      const r = engine.insertBinary(t.filter(0xc6120101 + (i % 7), 41_000 + i), owner);
      if (!r.ok) throw new Error(r.reason);
      ids.push(r.id);
    }
    expect(engine.stats().codegen.compiles).toBe(compiles);
    for (let i = 0; i < 300; i += 37) {
      expect(engine.demux(tcpFrame(0xc6120101 + (i % 7), 41_000 + i, ADDR, 80), 54)).toBe(ids[i]);
      // Same peer address, a port with no connection: the listener.
      expect(engine.demux(tcpFrame(0xc6120101 + (i % 7), 39_999, ADDR, 80), 54)).toBe(l.id);
    }
    // Another port or address: nobody (the kernel's conventional path answers it).
    expect(engine.demux(tcpFrame(0xc6120101, 41_000, ADDR, 81), 54)).toBe(0);
    expect(engine.demux(tcpFrame(0xc6120101, 41_000, ADDR + 1, 80), 54)).toBe(0);
    for (const id of ids.slice(30)) expect(engine.remove(id)).toBe(0);
    expect(engine.stats().codegen.compiles).toBe(compiles);
    expect(engine.checkTrie()).toEqual([]);
  });
});
