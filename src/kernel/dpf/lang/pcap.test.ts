/**
 * The pcap-like compiler, checked against tcpdump's own compiler: for each expression, the
 * DPF filters it compiles to and the classic-BPF program `tcpdump -y EN10MB -ddd` prints (run
 * here by a small cBPF interpreter) must give the same verdict on crafted, mutated, truncated
 * and random frames.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DpfEngine } from '../engine.js';
import { imprint, runSeed } from '../testing/arbitraries.js';
import { buildFrame } from '../testing/frames.js';
import { normalize } from './normalize.js';
import { compilePcapExpression } from './pcap.js';
import { verify } from './verify.js';

type Insn = readonly [code: number, jt: number, jf: number, k: number];

/** A classic-BPF interpreter (Linux `bpf_filter` semantics): an out-of-bounds load rejects. */
function runBpf(prog: readonly Insn[], p: Uint8Array, len: number): number {
  let a = 0;
  let x = 0;
  const mem = new Uint32Array(16);
  const load = (at: number, bytes: number): number | undefined => {
    if (at < 0 || at + bytes > len) return undefined;
    let v = 0;
    for (let i = 0; i < bytes; i++) v = v * 256 + (p[at + i] as number);
    return v;
  };
  for (let pc = 0; pc < prog.length; pc++) {
    const [code, jt, jf, k] = prog[pc] as Insn;
    const cls = code & 0x07;
    const size = code & 0x18;
    const mode = code & 0xe0;
    const bytes = size === 0x00 ? 4 : size === 0x08 ? 2 : 1;
    switch (cls) {
      case 0x00: // LD
      case 0x01: {
        // LDX
        let v: number | undefined;
        if (mode === 0x00) v = k;
        else if (mode === 0x20) v = load(k, bytes);
        else if (mode === 0x40) v = load(x + k, bytes);
        else if (mode === 0x60) v = mem[k];
        else if (mode === 0x80) v = len;
        else if (mode === 0xa0) {
          const b = load(k, 1);
          v = b === undefined ? undefined : (b & 0x0f) * 4;
        }
        if (v === undefined) return 0;
        if (cls === 0x00) a = v >>> 0;
        else x = v >>> 0;
        break;
      }
      case 0x02:
        mem[k] = a;
        break;
      case 0x03:
        mem[k] = x;
        break;
      case 0x04: {
        const src = code & 0x08 ? x : k;
        switch (code & 0xf0) {
          case 0x00: a = (a + src) >>> 0; break;
          case 0x10: a = (a - src) >>> 0; break;
          case 0x20: a = Math.imul(a, src) >>> 0; break;
          case 0x30: if (src === 0) return 0; a = Math.floor(a / src) >>> 0; break;
          case 0x40: a = (a | src) >>> 0; break;
          case 0x50: a = (a & src) >>> 0; break;
          case 0x60: a = (a << src) >>> 0; break;
          case 0x70: a = a >>> src; break;
          case 0x80: a = -a >>> 0; break;
          case 0x90: if (src === 0) return 0; a = a % src; break;
          case 0xa0: a = (a ^ src) >>> 0; break;
          default: throw new Error(`bad ALU op ${code}`);
        }
        break;
      }
      case 0x05: {
        const src = code & 0x08 ? x : k;
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const t = op === 0x10 ? a === src : op === 0x20 ? a > src : op === 0x30 ? a >= src : ((a & src) >>> 0) !== 0;
        pc += t ? jt : jf;
        break;
      }
      case 0x06:
        return (code & 0x18) === 0x10 ? a : k;
      case 0x07:
        if (code & 0x80) a = x;
        else x = a;
        break;
    }
  }
  return 0;
}

/**
 * Frames shorter than an Ethernet header are left out: a cBPF program aborts (rejects) on its
 * first out-of-bounds load, so tcpdump's `ether host X` (source tested first, at bytes 6…11)
 * rejects a 6-byte frame whose destination is X, while DPF tests each alternative on its own.
 * The kernel never hands DPF such a runt.
 */
const MIN_FRAME = 14;

const tcpdumpMissing = spawnSync('tcpdump', ['--version']).error !== undefined;
if (tcpdumpMissing && process.env['CI'] === 'true') throw new Error('tcpdump is required in CI (apt-get install tcpdump)');

function tcpdumpProgram(expr: string): Insn[] {
  const r = spawnSync('tcpdump', ['-y', 'EN10MB', '-ddd', expr], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tcpdump refused ${JSON.stringify(expr)}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return lines.slice(1).map((l) => l.trim().split(/\s+/).map(Number) as unknown as Insn);
}

/** [our expression, tcpdump's spelling of the same filter]. Ours is IPv4-only; tcpdump's bare protocols also cover IPv6. */
const CASES: [string, string][] = [
  ['arp', 'arp'],
  ['ip', 'ip'],
  ['tcp', 'ip and tcp'],
  ['udp port 53', 'ip and udp port 53'],
  ['ip and tcp dst port 80 and dst host 198.18.0.2', 'ip and tcp dst port 80 and dst host 198.18.0.2'],
  ['tcp port 80 or 443', 'ip and (tcp port 80 or 443)'],
  ['port 53', 'ip and port 53'],
  ['ip src net 198.18.0.0/24', 'ip src net 198.18.0.0/24'],
  ['net 198.18.0.0 mask 255.255.255.0', 'ip and net 198.18.0.0 mask 255.255.255.0'],
  ['198.18.0.1', 'ip and host 198.18.0.1'],
  ['icmp', 'ip and icmp'],
  ['icmp[icmptype] = icmp-echo', 'ip and icmp[icmptype] = icmp-echo'],
  ['tcp[tcpflags] & tcp-syn == tcp-syn', 'ip and tcp[tcpflags] & tcp-syn = tcp-syn'],
  ['tcp[12:2] & 0xf000 = 0x5000', 'ip and tcp[12:2] & 0xf000 = 0x5000'],
  ['udp[2:2] = 53 && udp[4:2] = 8', 'ip and udp[2:2] = 53 and udp[4:2] = 8'],
  ['ip[0] & 0xf = 5', 'ip[0] & 0xf = 5'],
  ['ip[6:2] & 0x1fff = 0 and ip[9] = 17', 'ip[6:2] & 0x1fff = 0 and ip[9] = 17'],
  ['ether broadcast', 'ether broadcast'],
  ['broadcast and arp', 'broadcast and arp'],
  ['ether multicast', 'ether multicast'],
  ['ip multicast', 'ip multicast'],
  ['ether src 02:00:00:00:00:01', 'ether src 02:00:00:00:00:01'],
  ['ether host 02:65:78:00:00:02', 'ether host 02:65:78:00:00:02'],
  ['arp src host 198.18.0.1', 'arp src host 198.18.0.1'],
  ['arp host 198.18.0.2', 'arp host 198.18.0.2'],
  ['arp[7] = 1', 'arp[7] = 1'],
  ['greater 60', 'greater 60'],
  ['greater 60 and udp', 'greater 60 and ip and udp'],
  ['ip proto 6', 'ip proto 6'],
  ['ether proto 0x0806', 'ether proto 0x0806'],
  ['src host 198.18.0.1 and (dst port 80 or dst port 8080)', 'ip and src host 198.18.0.1 and (dst port 80 or dst port 8080)'],
  ['udp and (src port 53 or dst port 53) and host 198.18.1.1', 'ip and udp and (src port 53 or dst port 53) and host 198.18.1.1'],
  ['host 198.18.0.1 and host 198.18.0.2', 'ip and host 198.18.0.1 and host 198.18.0.2'],
  ['src or dst host 198.18.0.1', 'ip and src or dst host 198.18.0.1'],
  ['src and dst host 198.18.0.1', 'ip and src and dst host 198.18.0.1'],
  ['tcp src port 40000 or udp dst port 53', 'ip and (tcp src port 40000 or udp dst port 53)'],
  ['ip and tcp and src host 198.18.0.1 and src port 40000 and dst host 198.18.0.2 and dst port 80', 'ip and tcp and src host 198.18.0.1 and src port 40000 and dst host 198.18.0.2 and dst port 80'],
  ['ip or arp', 'ip or arp'],
  ['tcp or udp and port 7', 'ip and (tcp or udp and port 7)'],
];

/** Crafted frames around the values the expressions use, with and without IP options. */
function craftedFrames(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const ips = ['198.18.0.1', '198.18.0.2', '198.18.1.1', '224.0.0.251', '198.18.3.4'];
  const ports = [53, 80, 443, 7, 8080, 40000, 1234];
  for (const protocol of [6, 17, 1, 132, 2]) {
    for (const [i, src] of ips.entries()) {
      const dst = ips[(i + 1) % ips.length] as string;
      for (const [j, port] of ports.entries()) {
        const other = ports[(j + 3) % ports.length] as number;
        out.push(buildFrame({ protocol, src, dst, srcPort: port, dstPort: other, ihl: 5 + ((i + j) % 3) * 3, tcpFlags: j % 2 === 0 ? 0x02 : 0x12, icmpType: j % 2 === 0 ? 8 : 0 }));
        out.push(buildFrame({ protocol, src: dst, dst: src, srcPort: other, dstPort: port }));
      }
      out.push(buildFrame({ protocol, src, dst, fragmentOffset: 100, srcPort: 53, dstPort: 80 }));
      out.push(buildFrame({ protocol, src, dst, moreFragments: true, srcPort: 53, dstPort: 53 }));
    }
  }
  out.push(buildFrame({ etherType: 0x0806, src: '198.18.0.1', dst: '198.18.0.2', dstMac: [255, 255, 255, 255, 255, 255] }));
  out.push(buildFrame({ etherType: 0x0806, src: '198.18.0.2', dst: '198.18.0.1' }));
  out.push(buildFrame({ etherType: 0x86dd, payload: new Uint8Array(60) }));
  out.push(buildFrame({ protocol: 17, dst: '224.0.0.251', dstMac: [0x01, 0, 0x5e, 0, 0, 0xfb], dstPort: 5353, payload: new Uint8Array(40) }));
  return out;
}

describe('pcap-like expressions', () => {
  it.skipIf(tcpdumpMissing)('give the same verdict as tcpdump on crafted, mutated, truncated and random frames', () => {
    const crafted = craftedFrames();
    const seed = runSeed('pcap vs tcpdump');
    let compared = 0;
    let accepted = 0;
    for (const [ours, theirs] of CASES) {
      const compiled = compilePcapExpression(ours);
      if (!compiled.ok) throw new Error(`${ours}: ${compiled.reason}`);
      const engine = new DpfEngine();
      for (const f of compiled.filters) expect(engine.insert(f, { pid: 1, uid: 0 })).toBeGreaterThan(0);
      const prog = tcpdumpProgram(theirs);
      const check = (f: Uint8Array, len: number): void => {
        const dpf = engine.demux(f, len) !== 0;
        const bpf = runBpf(prog, f, len) !== 0;
        if (dpf !== bpf) throw new Error(`${JSON.stringify(ours)}: DPF ${dpf}, tcpdump ${bpf} on ${Buffer.from(f.subarray(0, len)).toString('hex')}`);
        compared++;
        if (dpf) accepted++;
      };
      for (const f of crafted) {
        check(f, f.length);
        for (const cut of [MIN_FRAME, 20, 23, 24, 30, 34, 36, 38, 40, f.length - 1]) if (cut < f.length) check(f, cut);
      }
      const normal = compiled.filters.map((f) => normalize(f).atoms);
      fc.assert(
        fc.property(fc.uint8Array({ minLength: MIN_FRAME, maxLength: 100 }), fc.nat(), fc.nat(), (bytes, pick, cut) => {
          check(bytes, bytes.length);
          const f = imprint(normal[pick % normal.length] ?? [], bytes.slice());
          check(f, f.length);
          check(f, MIN_FRAME + (cut % (f.length - MIN_FRAME + 1)));
        }),
        { seed, numRuns: 300 },
      );
    }
    expect(compared).toBeGreaterThan(50_000);
    expect(accepted).toBeGreaterThan(compared / 20);
  });

  it('compiles to the DPF atoms one would write by hand', () => {
    const r = compilePcapExpression('ip and tcp dst port 80 and dst host 198.18.0.2');
    expect(r.ok && r.text).toEqual(['eq16 12 0x0800; eq8 23 0x06; eq32 30 0xc6120002; meq16 20 0x1fff 0x0000; mshift8 14 0x0f 2; eq16 16 0x0050']);
    const dns = compilePcapExpression('udp port 53');
    expect(dns.ok && dns.text).toEqual([
      'eq16 12 0x0800; eq8 23 0x11; meq16 20 0x1fff 0x0000; mshift8 14 0x0f 2; eq16 14 0x0035',
      'eq16 12 0x0800; eq8 23 0x11; meq16 20 0x1fff 0x0000; mshift8 14 0x0f 2; eq16 16 0x0035',
    ]);
    expect(compilePcapExpression('greater 100 and arp')).toMatchObject({ ok: true, text: ['eq16 12 0x0806; meq8 99 0x00 0x00'] });
    // Contradictory alternatives are dropped; duplicates merged.
    expect(compilePcapExpression('host 198.18.0.1 and host 198.18.0.2')).toMatchObject({ ok: true, filters: { length: 2 } });
    expect(compilePcapExpression('tcp or tcp or (ip and tcp)')).toMatchObject({ ok: true, filters: { length: 1 } });
  });

  it.each([
    ['not tcp', "1: 'not' cannot be expressed"],
    ['tcp and !udp', "9: 'not' cannot be expressed"],
    ['tcp[13] != 0', '9: "!=" cannot be expressed: DPF atoms only test equality'],
    ['tcp[13] > 0', '9: ">" cannot be expressed'],
    ['less 100', "1: 'less' cannot be expressed"],
    ['ip6', '1: IPv6 is not supported'],
    ['vlan and tcp', "1: 'vlan' is not supported"],
    ['tcp portrange 1-100', "5: 'portrange' is not supported"],
    ['host example.com', '6: "example.com" is not a dotted-quad IPv4 address'],
    ['ip host example.com', '9: "example.com" is not a dotted-quad IPv4 address'],
    ['net 10.0.0.0', "5: 'net' needs a prefix length"],
    ['net 10.0.0.1/8', '5: non-network bits set in 10.0.0.1'],
    ['port 99999', '6: port 99999 is larger than 65535'],
    ['port http', '6: "http" is not a port'],
    ['ip[0] = 300', '9: value 300 is larger than 255'],
    ['ip[0] & 0x0f = 0x10', '16: value 0x10 has bits outside the mask'],
    ['ip[0:3] = 1', '6: the size of an access is 1, 2 or 4 bytes'],
    ['tcp and udp', 'the expression can never match'],
    ['(tcp', "5: expected ')', found the end of the expression"],
    ['tcp port', '9: expected a value, found the end of the expression'],
    ['tcp port 80 or', "15: expected a primitive, found the end of the expression"],
    ['ip broadcast', "4: 'ip broadcast' is not supported"],
    ['ether', "1: 'ether' needs a qualifier"],
    ['', 'empty expression'],
    ['greater 0', 'matches every frame'],
    ['constructor', '1: unknown primitive "constructor"'],
    ['__proto__ and tcp', '1: unknown primitive "__proto__"'],
    ['tcp; process.exit(1)', '4: unexpected character ";"'],
    ['tcp and "x"', '9: unexpected character "\\""'],
    ['udp port 53 or udp port 54 or udp port 55 or udp port 56 or udp port 57 or udp port 58 or udp port 59 or udp port 60 or udp port 61 or udp port 62 or udp port 63 or udp port 64 or udp port 65 or udp port 66 or udp port 67 or udp port 68 or udp port 69 or udp port 70 or udp port 71 or udp port 72 or udp port 73 or udp port 74 or udp port 75 or udp port 76 or udp port 77 or udp port 78 or udp port 79 or udp port 80 or udp port 81 or udp port 82 or udp port 83 or udp port 84 or udp port 85', 'expands into more than 64 DPF filters'],
  ])('refuses %j with a clear message', (expr, reason) => {
    const r = compilePcapExpression(expr);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it('never throws on arbitrary input (property)', () => {
    const words = fc.constantFrom('ip', 'tcp', 'udp', 'port', 'host', 'src', 'dst', 'and', 'or', 'not', '(', ')', '[', ']', ':', '&', '=', '80', '198.18.0.1', 'net', '/', '24', 'ether', 'arp', 'greater', 'mask');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.array(words, { maxLength: 12 }).map((w) => w.join(' '))), (expr) => {
        const r = compilePcapExpression(expr);
        if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
        else for (const f of r.filters) expect(verify(f).ok).toBe(true);
      }),
      { seed: runSeed('pcap fuzz'), numRuns: 3000 },
    );
  });
});
