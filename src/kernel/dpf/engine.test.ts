import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { DpfEngine, type DpfOwner } from './engine.js';
import { encodeFilterBinary } from './lang/binary.js';
import { DPF_BOGUSID, DPF_BOGUSOP, DPF_NOMEM, DPF_OVERLAP, DPF_TOOMANYFILTERS } from './lang/codes.js';
import { compilePcapExpression } from './lang/pcap.js';
import type { VerifiedFilter } from './lang/verify.js';
import { vf } from './testing/arbitraries.js';
import { buildFrame, ipv4 } from './testing/frames.js';

const ARP = 'eq16 12 0x0806';
/** Xok's style: the IPv4 header length hard-wired (IHL 5), so IP options are not matched. */
const UDP_53_NO_OPTIONS = 'eq16 12 0x0800; eq8 14 0x45; eq8 23 17; eq16 36 53';
/** Variable-length IPv4 header through mshift on the IHL nibble. */
const UDP_5353 = 'eq16 12 0x0800; eq8 23 17; mshift8 14 0x0f 2; eq16 16 5353';
const TCP_LISTEN = 'eq16 12 0x0800; eq8 23 6; eq32 30 0xc6120002; meq16 20 0x1fff 0; mshift8 14 0x0f 2; eq16 16 80';
const tcpConn = (peer: string, port: number): string =>
  `eq16 12 0x0800; eq8 23 6; eq32 26 ${ipv4(peer)}; eq32 30 0xc6120002; meq16 20 0x1fff 0; mshift8 14 0x0f 2; eq16 14 ${port}; eq16 16 80`;

const owner = (pid: number): DpfOwner => ({ pid, uid: 1000 + pid });

/** An engine that runs the trie checker after every mutation. */
class CheckedEngine extends DpfEngine {
  override insert(...args: Parameters<DpfEngine['insert']>): number {
    const r = super.insert(...args);
    expect(this.checkTrie()).toEqual([]);
    return r;
  }
  override remove(id: number): 0 | typeof DPF_BOGUSID {
    const r = super.remove(id);
    expect(this.checkTrie()).toEqual([]);
    return r;
  }
}

function goldenEngine(): { e: CheckedEngine; ids: number[] } {
  const e = new CheckedEngine();
  const ids = [
    e.insert(vf(ARP), owner(10)),
    e.insert(vf(UDP_53_NO_OPTIONS), owner(11)),
    e.insert(vf(UDP_5353), owner(11)),
    e.insert(vf(TCP_LISTEN), owner(12)),
    e.insert(vf(tcpConn('198.18.0.1', 40000)), owner(12)),
    e.insert(vf(tcpConn('198.18.0.1', 40001)), owner(12)),
    e.insert(vf(tcpConn('198.18.0.99', 5555)), owner(12)),
  ];
  return { e, ids };
}

const GOLDEN = `root (7 filters)
  eq24 @12 0x080045 (refs 1)
    eq8 @23 0x11 (refs 1)
      eq16 @36 0x0035 -> #2 (refs 1)
  hash16 @12 [2] (refs 6)
    = 0x0800 (refs 5)
      eq16 @20 &0x1fff =0x0000 (refs 4)
        eq8 @23 0x06 (refs 4)
          hash32 @26 [2] (refs 3)
            = 0xc6120001 (refs 2)
              eq32 @30 0xc6120002 (refs 2)
                shift8 @14 &0x0f <<2 (refs 2)
                  hash32 @b1+14 [2] (refs 2)
                    = 0x9c400050 -> #5 (refs 1)
                    = 0x9c410050 -> #6 (refs 1)
            = 0xc6120063 (refs 1)
              eq32 @30 0xc6120002 (refs 1)
                shift8 @14 &0x0f <<2 (refs 1)
                  eq32 @b1+14 0x15b30050 -> #7 (refs 1)
          eq32 @30 0xc6120002 (refs 1)
            shift8 @14 &0x0f <<2 (refs 1)
              eq16 @b1+16 0x0050 -> #4 (refs 1)
      eq8 @23 0x11 (refs 1)
        shift8 @14 &0x0f <<2 (refs 1)
          eq16 @b1+16 0x14e9 -> #3 (refs 1)
    = 0x0806 -> #1 (refs 1)
`;

describe('DpfEngine: golden tries', () => {
  it('ARP, UDP with and without IP options, TCP listen and connections merge into the expected trie', () => {
    const { e, ids } = goldenEngine();
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(e.printTrie()).toBe(GOLDEN);
  });

  it('demultiplexes as the trie says: longest match, IP options through mshift, short frames fail', () => {
    const { e } = goldenEngine();
    const cases: [string, Uint8Array, number][] = [
      ['ARP request', buildFrame({ etherType: 0x0806 }), 1],
      ['UDP 53, no options', buildFrame({ protocol: 17, dstPort: 53 }), 2],
      ['UDP 53 with options: the hard-wired filter misses it', buildFrame({ protocol: 17, dstPort: 53, ihl: 6 }), 0],
      ['UDP 5353 with 40 bytes of options', buildFrame({ protocol: 17, dstPort: 5353, ihl: 15 }), 3],
      ['TCP from an unknown peer: the listener', buildFrame({ src: '198.18.0.7', srcPort: 1234 }), 4],
      ['TCP of connection 5', buildFrame({ src: '198.18.0.1', srcPort: 40000 }), 5],
      ['TCP of connection 6, with options', buildFrame({ src: '198.18.0.1', srcPort: 40001, ihl: 8 }), 6],
      ['known peer, unknown port: back to the listener', buildFrame({ src: '198.18.0.1', srcPort: 40002 }), 4],
      ['TCP of connection 7', buildFrame({ src: '198.18.0.99', srcPort: 5555 }), 7],
      ['TCP to another address', buildFrame({ dst: '198.18.0.3', src: '198.18.0.1', srcPort: 40000 }), 0],
      ['a non-first fragment', buildFrame({ src: '198.18.0.1', srcPort: 40000, fragmentOffset: 185 }), 0],
      ['IPv6', buildFrame({ etherType: 0x86dd }), 0],
    ];
    for (const [what, f, want] of cases) {
      expect([what, e.demux(f, f.length)]).toEqual([what, want]);
      expect([what, e.interpret(f, f.length)]).toEqual([what, want]);
    }
    const conn = buildFrame({ src: '198.18.0.1', srcPort: 40000 });
    expect(e.demux(conn, 14 + 20 + 3)).toBe(0); // the ports are cut off, and so is the listener's
    expect(e.demux(conn, 14 + 20 + 4)).toBe(5);
    expect(e.demux(conn, 2 ** 40)).toBe(5); // len beyond the buffer is clamped
    expect(e.demux(conn, -1)).toBe(0);
    expect(e.demux(new Uint8Array(0), 0)).toBe(0);
  });

  it('every spelling of a TCP connection filter gives the identical trie', () => {
    const aliases = [
      tcpConn('198.18.0.1', 40000),
      // decimal, reordered, full-mask meq, the address as two 16-bit halves
      'meq16 20 8191 0; eq16 28 1; eq16 26 50706; meq8 23 255 6; eq32 30 3323068418; eq16 12 2048; mshift8 14 15 2; eq16 14 40000; eq16 16 80',
      // byte by byte, and the ports as one 32-bit atom
      'eq8 12 8; eq8 13 0; meq8 20 0x1f 0; eq8 21 0; eq8 23 6; eq8 26 198; eq8 27 18; eq8 28 0; eq8 29 1; eq32 30 0xc6120002; mshift8 14 0x0f 2; eq32 14 0x9c400050',
      // a constant skip: every offset counted from the ethertype (byte 12), shift atom included
      'shifti 12; eq16 0 0x0800; meq16 8 0x1fff 0; eq8 11 6; eq32 14 0xc6120001; eq32 18 0xc6120002; mshift8 2 0x0f 2; eq16 2 40000; eq16 4 80',
    ];
    const pcap = compilePcapExpression('ip and tcp and src host 198.18.0.1 and src port 40000 and dst host 198.18.0.2 and dst port 80');
    expect(pcap.ok).toBe(true);
    const prints = aliases.map((a) => {
      const e = new CheckedEngine();
      expect(e.insert(vf(a), owner(12))).toBe(1);
      return e.printTrie();
    });
    if (pcap.ok) {
      expect(pcap.filters).toHaveLength(1);
      const e = new CheckedEngine();
      e.insert(pcap.filters[0] as VerifiedFilter, owner(12));
      prints.push(e.printTrie());
    }
    expect(prints[0]).toBe(`root (1 filter)
  eq16 @12 0x0800 (refs 1)
    eq16 @20 &0x1fff =0x0000 (refs 1)
      eq8 @23 0x06 (refs 1)
        eq32 @26 0xc6120001 (refs 1)
          eq32 @30 0xc6120002 (refs 1)
            shift8 @14 &0x0f <<2 (refs 1)
              eq32 @b1+14 0x9c400050 -> #1 (refs 1)
`);
    for (const p of prints) expect(p).toBe(prints[0]);
  });

  it('prints DOT', () => {
    const { e } = goldenEngine();
    const dot = e.printTrie('dot');
    expect(dot.startsWith('digraph dpf {')).toBe(true);
    expect(dot).toContain('shape=folder');
    expect(dot).toContain('"0xc6120063"');
    expect(dot.trim().endsWith('}')).toBe(true);
  });
});

describe('DpfEngine: protection', () => {
  it('refuses exact duplicates, whoever installs them', () => {
    const e = new CheckedEngine();
    expect(e.insert(vf(TCP_LISTEN), owner(12))).toBe(1);
    expect(e.tryInsert(vf(TCP_LISTEN), owner(12))).toMatchObject({ ok: false, code: DPF_OVERLAP, reason: 'exact duplicate of filter #1 of pid 12' });
    // Another spelling of the same conjunction is the same filter.
    expect(e.insert(vf(`${TCP_LISTEN}; eq8 23 6`), owner(13))).toBe(DPF_OVERLAP);
  });

  it("refuses another owner's subset and superset, allows the same owner's, and the longest wins", () => {
    const e = new CheckedEngine();
    const listen = e.insert(vf(TCP_LISTEN), owner(12));
    expect(e.tryInsert(vf(tcpConn('198.18.0.1', 40000)), owner(13))).toMatchObject({
      ok: false,
      code: DPF_OVERLAP,
      reason: `would receive frames that filter #${listen} of pid 12 accepts`,
    });
    expect(e.insert(vf('eq16 12 0x0800'), owner(13))).toBe(DPF_OVERLAP);
    expect(e.insert(vf('eq16 12 0x0800; eq8 23 6'), owner(13))).toBe(DPF_OVERLAP);
    const conn = e.insert(vf(tcpConn('198.18.0.1', 40000)), owner(12));
    const all = e.insert(vf('eq16 12 0x0800; eq8 23 6'), owner(12));
    expect([listen, conn, all].every((id) => id > 0)).toBe(true);
    expect(e.demux(buildFrame({ src: '198.18.0.1', srcPort: 40000 }), 80)).toBe(conn);
    expect(e.demux(buildFrame({ src: '198.18.0.9', srcPort: 40000 }), 80)).toBe(listen);
    expect(e.demux(buildFrame({ dst: '198.18.0.9' }), 80)).toBe(all);
    expect(e.demux(buildFrame({ protocol: 17 }), 80)).toBe(0);
  });

  it('allows disjoint filters of other owners, whatever the order they meet in the trie', () => {
    const e = new CheckedEngine();
    expect(e.insert(vf(TCP_LISTEN), owner(12))).toBeGreaterThan(0);
    expect(e.insert(vf(TCP_LISTEN.replace('eq16 16 80', 'eq16 16 81')), owner(13))).toBeGreaterThan(0);
    expect(e.insert(vf(UDP_5353), owner(14))).toBeGreaterThan(0);
    expect(e.insert(vf(ARP), owner(15))).toBeGreaterThan(0);
    expect(e.insert(vf(tcpConn('198.18.0.1', 40000).replace('0xc6120002', '0xc6120003')), owner(16))).toBeGreaterThan(0);
    // A byte that differs only under one owner's mask is enough.
    expect(e.insert(vf('eq16 12 0x0806; meq8 21 0x01 0x01'), owner(18))).toBe(DPF_OVERLAP);
    expect(e.insert(vf('eq16 12 0x86dd; meq8 21 0x01 0x01'), owner(18))).toBeGreaterThan(0);
    expect(e.insert(vf('eq16 12 0x86dd; meq8 21 0x02 0x02'), owner(19))).toBe(DPF_OVERLAP);
    expect(e.insert(vf('eq16 12 0x86dd; meq8 21 0x01 0x00'), owner(19))).toBeGreaterThan(0);
  });

  it('is conservative across different shift chains (documented): a hard-wired IHL filter and an mshift one intersect', () => {
    const e = new CheckedEngine();
    expect(e.insert(vf(UDP_5353), owner(11))).toBeGreaterThan(0);
    // Disjoint in truth (5353 ≠ 53 when IHL is 5), but after different shifts the bases are not compared.
    expect(e.insert(vf(UDP_53_NO_OPTIONS), owner(20))).toBe(DPF_OVERLAP);
    // Fixed-IHL filters among themselves are compared exactly.
    expect(e.insert(vf(UDP_53_NO_OPTIONS.replace('eq16 36 53', 'eq16 36 54')), owner(21))).toBe(DPF_OVERLAP);
  });

  it('frees an owner’s frames when it exits: removeOwner', () => {
    const e = new CheckedEngine();
    e.insert(vf(TCP_LISTEN), owner(12));
    e.insert(vf(tcpConn('198.18.0.1', 40000)), owner(12));
    e.insert(vf(ARP), owner(10));
    expect(e.insert(vf(TCP_LISTEN), owner(13))).toBe(DPF_OVERLAP);
    expect(e.removeOwner(12)).toBe(2);
    expect(e.checkTrie()).toEqual([]);
    expect(e.insert(vf(TCP_LISTEN), owner(13))).toBeGreaterThan(0);
    expect(e.filters().map((f) => f.owner.pid)).toEqual([10, 13]);
  });
});

describe('DpfEngine: code generation', () => {
  it('inserting and removing per-connection filters compiles nothing once their shape is known', () => {
    const e = new CheckedEngine();
    e.insert(vf(TCP_LISTEN), owner(12));
    const a = e.insert(vf(tcpConn('10.0.0.1', 1000)), owner(12));
    const b = e.insert(vf(tcpConn('10.0.0.2', 1000)), owner(12)); // promotes @26 to a hash node
    e.insert(vf(tcpConn('10.0.0.1', 1001)), owner(12)); // promotes the ports of 10.0.0.1 to a hash node
    const before = e.stats().codegen.compiles;
    const ids: number[] = [];
    for (let i = 0; i < 200; i++) ids.push(e.insert(vf(tcpConn(`10.1.${i >> 8}.${i & 255}`, 2000 + i)), owner(12)));
    for (let i = 0; i < 20; i++) ids.push(e.insert(vf(tcpConn('10.0.0.2', 3000 + i)), owner(12)));
    for (const id of ids) expect(e.remove(id)).toBe(0);
    expect(e.remove(a)).toBe(0);
    expect(e.remove(b)).toBe(0);
    const s = e.stats().codegen;
    expect(s.compiles).toBe(before);
    expect(s.cacheHits).toBeGreaterThan(220);
    expect(e.filters()).toHaveLength(2);
  });

  it('the generated code is made of templates and numbers only, and passes the allow-list check', () => {
    const { e } = goldenEngine();
    const code = e.printCode();
    expect(e.stats().codegen.checkFailures).toBe(0);
    const words = new Set(code.replace(/\/\/.*$/gm, '').replace(/\b0x[0-9a-f]+\b/g, '').match(/[A-Za-z_$][\w$]*/g));
    expect([...words].sort()).toEqual(
      ['K', 'T', 'b', 'b1', 'const', 'find', 'h', 'i', 'if', 'n', 'o', 'p', 'r', 'return', 'rows', 'shapes', 'strict', 'stride', 't', 'tabs', 'use', 'x'].sort(),
    );
  });

  it('falls back to the interpreter for units over the size budget, with the same answers', () => {
    const e = new CheckedEngine({ maxUnitChars: 200 });
    const { e: ref } = goldenEngine();
    for (const f of ref.filters()) e.insert(vf(f.text), owner(f.owner.pid));
    expect(e.stats().codegen.interpretedUnits).toBeGreaterThan(0);
    for (const f of [buildFrame({ src: '198.18.0.1', srcPort: 40001 }), buildFrame({ protocol: 17, dstPort: 5353, ihl: 9 }), buildFrame({ etherType: 0x0806 })]) {
      expect(e.demux(f, f.length)).toBe(ref.demux(f, f.length));
    }
  });
});

describe('DpfEngine: limits and bookkeeping', () => {
  it('filter ids are never 0, go past 255, and are reused oldest first', () => {
    const e = new DpfEngine({ maxFilters: 300 });
    const ids: number[] = [];
    for (let i = 0; i < 300; i++) ids.push(e.insert(vf(`eq16 12 0x86dd; eq16 54 ${i}`), owner(1)));
    expect(ids).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(e.insert(vf('eq16 12 0x86dd; eq16 54 999'), owner(1))).toBe(DPF_TOOMANYFILTERS);
    expect(e.remove(7)).toBe(0);
    expect(e.remove(3)).toBe(0);
    expect(e.remove(7)).toBe(DPF_BOGUSID);
    expect(e.insert(vf('eq16 12 0x86dd; eq16 54 1000'), owner(1))).toBe(7);
    expect(e.insert(vf('eq16 12 0x86dd; eq16 54 1001'), owner(1))).toBe(3);
    expect(e.checkTrie()).toEqual([]);
    expect(e.stats()).toMatchObject({ filters: 300, maxFilters: 300, refused: { DPF_TOOMANYFILTERS: 1 } });
  });

  it('refuses with DPF_NOMEM past the node budget, DPF_BOGUSID for unknown ids, DPF_BOGUSOP for a bad owner', () => {
    const e = new DpfEngine({ maxTrieNodes: 10 });
    expect(e.insert(vf(TCP_LISTEN), owner(1))).toBe(1);
    expect(e.tryInsert(vf(UDP_5353), owner(1))).toMatchObject({ ok: false, code: DPF_NOMEM });
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60]) expect(e.remove(bad)).toBe(DPF_BOGUSID);
    expect(e.insert(vf(ARP), { pid: -1, uid: 0 })).toBe(DPF_BOGUSOP);
    expect(() => new DpfEngine({ maxFilters: 0 })).toThrow(RangeError);
  });

  it('installs a filter from its binary encoding, refusing bad bytes with their code', () => {
    const e = new CheckedEngine();
    const bytes = encodeFilterBinary(vf(TCP_LISTEN));
    expect(e.insertBinary(bytes, owner(12))).toEqual({ ok: true, id: 1 });
    expect(e.insertBinary(bytes, owner(13))).toMatchObject({ ok: false, code: DPF_OVERLAP });
    expect(e.insertBinary(bytes.subarray(0, 9), owner(13))).toMatchObject({ ok: false, code: DPF_BOGUSOP, reason: expect.stringContaining('truncated') });
    const contradictory = encodeFilterBinary({ atoms: [{ op: 'eq', width: 8, offset: 0, value: 1 }, { op: 'eq', width: 8, offset: 0, value: 2 }] });
    expect(e.insertBinary(contradictory, owner(13))).toMatchObject({ ok: false, code: DPF_BOGUSOP, log: [expect.any(String), expect.stringContaining('refused')] });
    expect(e.stats().refused).toEqual({ DPF_OVERLAP: 1, DPF_BOGUSOP: 2 });
  });

  it('takes its limits from the configuration (dpf section, EXOLINUX_DPF__* overrides)', () => {
    const config = loadConfig({ env: { EXOLINUX_DPF__MAX_FILTERS: '2' } });
    expect(config.dpf).toEqual({ maxFilters: 2, maxTrieNodes: 262144, maxUnitChars: 65536, checkGeneratedCode: true, socketQueueFrames: 512, socketQueueBytes: 262144 });
    const e = new DpfEngine(config.dpf);
    expect(e.insert(vf(ARP), owner(1))).toBe(1);
    expect(e.insert(vf(TCP_LISTEN), owner(1))).toBe(2);
    expect(e.insert(vf(UDP_5353), owner(1))).toBe(DPF_TOOMANYFILTERS);
  });

  it('lists filters with owner, text, canonical form and match counts', () => {
    const { e } = goldenEngine();
    const conn = buildFrame({ src: '198.18.0.1', srcPort: 40000 });
    for (let i = 0; i < 3; i++) e.demux(conn, conn.length);
    e.demux(new Uint8Array(10), 10);
    expect(e.filter(5)).toEqual({
      id: 5,
      owner: { pid: 12, uid: 1012 },
      text: 'eq16 12 0x0800; eq8 23 0x06; eq32 26 0xc6120001; eq32 30 0xc6120002; meq16 20 0x1fff 0x0000; mshift8 14 0x0f 2; eq16 14 0x9c40; eq16 16 0x0050',
      canonical: 'eq16 @12 0x0800; eq16 @20 &0x1fff =0x0000; eq8 @23 0x06; eq32 @26 0xc6120001; eq32 @30 0xc6120002; shift8 @14 &0x0f <<2; eq32 @14 0x9c400050',
      matches: 3,
    });
    expect(e.filter(99)).toBeUndefined();
    expect(e.stats()).toMatchObject({ filters: 7, frames: 4, unmatched: 1, inserts: 7, removes: 0 });
  });
});
