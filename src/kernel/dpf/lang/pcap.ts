/**
 * A small pcap-filter-like language (the tcpdump/libpcap syntax) compiled to DPF filters —
 * beyond the thesis, for people, tests and the admin API: `ip and tcp dst port 80 and dst host
 * 198.18.0.2` becomes one DPF filter, `udp port 53` two (one per direction).
 *
 * DPF filters are conjunctions of equality tests, so an expression is brought to disjunctive
 * normal form and each conjunction becomes one filter (at most {@link PCAP_MAX_FILTERS});
 * a process installs them all. `not`/`!`, `!=`, `<`, `>`, `less` and arithmetic have no DPF
 * form and are refused with a message saying so.
 *
 * Supported (IPv4 over Ethernet only; `tcp` here means IPv4 TCP, where tcpdump's `tcp` also
 * matches IPv6 — compare with tcpdump's `ip and (…)`):
 *
 * ```text
 * expr      := term (('and' | '&&' | 'or' | '||') term)*      and/or: same precedence, left to right
 * term      := '(' expr ')' | primitive | value               a bare value reuses the previous qualifiers
 * primitive := [proto] [dir] type value
 *            | 'ip' | 'arp' | 'tcp' | 'udp' | 'icmp' | 'igmp' | 'sctp'
 *            | 'ether' 'proto' (N | 'ip' | 'arp')  |  ['ip'] 'proto' (N | tcp | udp | icmp | igmp | sctp)
 *            | ['ether'] ('broadcast' | 'multicast')  |  'ip' 'multicast'
 *            | 'greater' N
 *            | accproto '[' N [':' (1|2|4)] ']' ['&' N] ('=' | '==') N
 * proto     := 'ether' | 'ip' | 'arp' | 'tcp' | 'udp' | 'sctp'
 * dir       := 'src' | 'dst' | 'src or dst' | 'src and dst'
 * type      := 'host' (IPv4 | MAC with 'ether') | 'net' IPv4/len | 'net' IPv4 'mask' IPv4 | 'port' N
 * accproto  := 'ether' | 'ip' | 'arp' | 'tcp' | 'udp' | 'icmp'
 * ```
 * Names usable as numbers: `tcpflags` 13, `icmptype` 0, `icmpcode` 1, `tcp-fin` 1, `tcp-syn` 2,
 * `tcp-rst` 4, `tcp-push` 8, `tcp-ack` 16, `tcp-urg` 32, `icmp-echoreply` 0, `icmp-echo` 8.
 *
 * Semantics follow libpcap's code for each primitive: a transport field (port, `tcp[…]`) also
 * requires "not a non-first fragment" (`ip[6:2] & 0x1fff = 0`) and is found after the IPv4
 * header through `mshift8 14 0x0f 2` (IP options handled); `greater N` is `len >= N`.
 */
import { parseIpv4 as parseIpv4Text } from '../../../wire/address.js';
import type { FilterAst, FilterAtom, LoadWidth } from './ast.js';
import { normalize, formatNormalFilter } from './normalize.js';
import { formatFilterText } from './text.js';
import { type VerifiedFilter, verify } from './verify.js';

/** Most DPF filters one expression may expand into. */
export const PCAP_MAX_FILTERS = 64;
/** Longest expression, in characters. */
export const PCAP_MAX_CHARS = 4096;

/** Result of {@link compilePcapExpression}. */
export type PcapResult =
  | { readonly ok: true; readonly filters: readonly VerifiedFilter[]; readonly text: readonly string[] }
  | { readonly ok: false; readonly reason: string; readonly column: number };

/** One equality test: `(load(off, size) & mask) == value`, `l4` when relative to the transport header. */
interface Fact {
  readonly l4: boolean;
  readonly off: number;
  readonly size: 1 | 2 | 4;
  readonly mask: number;
  readonly value: number;
}

/** A conjunction of facts and a minimum frame length. */
interface Conj {
  readonly facts: readonly Fact[];
  readonly minLen: number;
}

/** Disjunctive normal form. */
type Dnf = readonly Conj[];

interface Token {
  readonly kind: 'word' | 'punct';
  readonly text: string;
  readonly column: number;
}

class PcapError extends Error {
  readonly column: number;
  constructor(column: number, message: string) {
    super(message);
    this.column = column;
  }
}

const ETHERTYPE_IP = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const PROTOCOLS: Readonly<Record<string, number>> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, sctp: 132 };
const NAMED_NUMBERS: Readonly<Record<string, number>> = {
  tcpflags: 13,
  icmptype: 0,
  icmpcode: 1,
  'tcp-fin': 0x01,
  'tcp-syn': 0x02,
  'tcp-rst': 0x04,
  'tcp-push': 0x08,
  'tcp-ack': 0x10,
  'tcp-urg': 0x20,
  'icmp-echoreply': 0,
  'icmp-echo': 8,
};
const UNSUPPORTED: Readonly<Record<string, string>> = {
  not: "'not' cannot be expressed: DPF filters are conjunctions of equality tests, without negation",
  less: "'less' cannot be expressed: DPF can require a minimum length ('greater') but not a maximum",
  len: "'len' comparisons cannot be expressed: only 'greater N' (len >= N) has a DPF form",
  ip6: 'IPv6 is not supported: this language covers IPv4 over Ethernet',
  vlan: "'vlan' is not supported: this language covers untagged Ethernet",
  mpls: "'mpls' is not supported: this language covers IPv4 over Ethernet",
  portrange: "'portrange' is not supported: DPF compares ports for equality; list the ports with 'or'",
  gateway: "'gateway' is not supported",
  rarp: "'rarp' is not supported",
  inbound: "'inbound' is not supported: DPF sees frames, not directions",
  outbound: "'outbound' is not supported: DPF sees frames, not directions",
};
const PROTO_WORDS = new Set(['ether', 'ip', 'arp', 'tcp', 'udp', 'sctp', 'icmp', 'igmp']);

function lex(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const column = i + 1;
    const two = expr.slice(i, i + 2);
    if (two === '&&' || two === '||' || two === '==' || two === '!=' || two === '<=' || two === '>=') {
      out.push({ kind: 'punct', text: two, column });
      i += 2;
      continue;
    }
    if ('()[]:&=!<>/|+-*%^~'.includes(c)) {
      out.push({ kind: 'punct', text: c, column });
      i++;
      continue;
    }
    const mac = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}(?![0-9a-zA-Z:])/.exec(expr.slice(i, i + 18));
    if (mac !== null) {
      out.push({ kind: 'word', text: mac[0], column });
      i += mac[0].length;
      continue;
    }
    const word = /^[0-9a-zA-Z_.]+(-[0-9a-zA-Z_.]+)*/.exec(expr.slice(i, i + 256));
    if (word === null) throw new PcapError(column, `unexpected character ${JSON.stringify(c)}`);
    out.push({ kind: 'word', text: word[0], column });
    i += word[0].length;
  }
  return out;
}

function parseNumber(t: Token, max: number, what: string): number {
  const named = Object.hasOwn(NAMED_NUMBERS, t.text) ? NAMED_NUMBERS[t.text] : undefined;
  let n: number;
  if (named !== undefined) n = named;
  else if (/^(0|[1-9][0-9]{0,9})$/.test(t.text)) n = Number(t.text);
  else if (/^0[xX][0-9a-fA-F]{1,8}$/.test(t.text)) n = Number.parseInt(t.text.slice(2), 16);
  else throw new PcapError(t.column, `${JSON.stringify(t.text)} is not a ${what} (a decimal or 0x number)`);
  if (n > max) throw new PcapError(t.column, `${what} ${t.text} is larger than ${max}`);
  return n;
}

function parseIpv4(t: Token): number {
  const a = parseIpv4Text(t.text);
  if (a === undefined) throw new PcapError(t.column, `${JSON.stringify(t.text)} is not a dotted-quad IPv4 address`);
  return a;
}

function parseMac(t: Token): number[] {
  if (!/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(t.text)) {
    throw new PcapError(t.column, `${JSON.stringify(t.text)} is not a MAC address (six hex bytes separated by ':')`);
  }
  return t.text.split(':').map((x) => Number.parseInt(x, 16));
}

const abs = (off: number, size: 1 | 2 | 4, value: number, mask = size === 4 ? 0xffffffff : 2 ** (8 * size) - 1): Fact => ({
  l4: false,
  off,
  size,
  mask,
  value,
});
const l4 = (off: number, size: 1 | 2 | 4, value: number, mask = size === 4 ? 0xffffffff : 2 ** (8 * size) - 1): Fact => ({
  l4: true,
  off,
  size,
  mask,
  value,
});
const one = (...facts: Fact[]): Dnf => [{ facts, minLen: 0 }];
const IS_IP = abs(12, 2, ETHERTYPE_IP);
const IS_ARP = abs(12, 2, ETHERTYPE_ARP);
const ipProto = (p: number): Fact[] => [IS_IP, abs(23, 1, p)];

function and(a: Dnf, b: Dnf, column: number): Dnf {
  if (a.length * b.length > PCAP_MAX_FILTERS) {
    throw new PcapError(column, `the expression expands into more than ${PCAP_MAX_FILTERS} DPF filters`);
  }
  return a.flatMap((x) => b.map((y) => ({ facts: [...x.facts, ...y.facts], minLen: Math.max(x.minLen, y.minLen) })));
}

function or(a: Dnf, b: Dnf, column: number): Dnf {
  if (a.length + b.length > PCAP_MAX_FILTERS) {
    throw new PcapError(column, `the expression expands into more than ${PCAP_MAX_FILTERS} DPF filters`);
  }
  return [...a, ...b];
}

/** Direction qualifier: which of the two fields (source, destination) a value applies to. */
type Dir = 'src' | 'dst' | 'either' | 'both';

interface Qualifiers {
  readonly proto: string | undefined;
  readonly dir: Dir | undefined;
  readonly type: 'host' | 'net' | 'port' | undefined;
}

/** `f(src)` / `f(dst)` combined as the direction says. */
function directed(dir: Dir | undefined, src: Fact[], dst: Fact[], base: Fact[], column: number): Dnf {
  switch (dir ?? 'either') {
    case 'src':
      return one(...base, ...src);
    case 'dst':
      return one(...base, ...dst);
    case 'both':
      return one(...base, ...src, ...dst);
    case 'either':
      return or(one(...base, ...src), one(...base, ...dst), column);
  }
}

class Parser {
  readonly #t: Token[];
  #i = 0;
  #last: Qualifiers | undefined;
  readonly #end: number;

  constructor(tokens: Token[], length: number) {
    this.#t = tokens;
    this.#end = length + 1;
  }

  #peek(k = 0): Token | undefined {
    return this.#t[this.#i + k];
  }

  #next(what: string): Token {
    const t = this.#t[this.#i++];
    if (t === undefined) throw new PcapError(this.#end, `expected ${what}, found the end of the expression`);
    return t;
  }

  #is(text: string, k = 0): boolean {
    return this.#peek(k)?.text === text;
  }

  parse(): Dnf {
    const e = this.#expr();
    const t = this.#peek();
    if (t !== undefined) throw new PcapError(t.column, `unexpected ${JSON.stringify(t.text)}`);
    return e;
  }

  #expr(): Dnf {
    let left = this.#term();
    for (;;) {
      const t = this.#peek();
      if (t === undefined || t.text === ')') return left;
      const isAnd = t.text === 'and' || t.text === '&&';
      const isOr = t.text === 'or' || t.text === '||';
      if (!isAnd && !isOr) {
        const why = Object.hasOwn(UNSUPPORTED, t.text) ? UNSUPPORTED[t.text] : undefined;
        throw new PcapError(t.column, why ?? `expected 'and' or 'or', found ${JSON.stringify(t.text)}`);
      }
      this.#i++;
      const right = this.#term();
      left = isAnd ? and(left, right, t.column) : or(left, right, t.column);
    }
  }

  #term(): Dnf {
    const t = this.#next('a primitive');
    if (t.text === '(') {
      const e = this.#expr();
      const close = this.#next("')'");
      if (close.text !== ')') throw new PcapError(close.column, `expected ')', found ${JSON.stringify(close.text)}`);
      return e;
    }
    if (t.text === '!' || t.text === 'not') throw new PcapError(t.column, UNSUPPORTED['not'] as string);
    if (t.kind === 'punct') throw new PcapError(t.column, `unexpected ${JSON.stringify(t.text)}`);
    const why = Object.hasOwn(UNSUPPORTED, t.text) ? UNSUPPORTED[t.text] : undefined;
    if (why !== undefined) throw new PcapError(t.column, why);
    this.#i--;
    return this.#primitive();
  }

  #primitive(): Dnf {
    const first = this.#peek() as Token;
    let proto: string | undefined;
    let dir: Dir | undefined;
    let type: Qualifiers['type'];
    if (first.text === 'greater') {
      this.#i++;
      const n = parseNumber(this.#next('a length'), 65536, 'length');
      return [{ facts: [], minLen: n }];
    }
    if (PROTO_WORDS.has(first.text)) {
      proto = first.text;
      this.#i++;
      const after = this.#peek();
      if (after?.text === '[') return this.#accessor(first);
      if (after?.text === 'proto') {
        this.#i++;
        return this.#protoValue(proto, this.#next('a protocol'));
      }
      if (after?.text === 'broadcast' || after?.text === 'multicast') {
        this.#i++;
        return this.#cast(proto, after);
      }
      if (after === undefined || !['src', 'dst', 'host', 'net', 'port'].includes(after.text)) return this.#bareProto(first);
    } else if (first.text === 'proto') {
      this.#i++;
      return this.#protoValue('ip', this.#next('a protocol'));
    } else if (first.text === 'broadcast' || first.text === 'multicast') {
      this.#i++;
      return this.#cast('ether', first);
    }
    if (this.#is('src') || this.#is('dst')) {
      const d = this.#next('a direction').text as 'src' | 'dst';
      dir = d;
      if ((this.#is('or') || this.#is('and')) && this.#is(d === 'src' ? 'dst' : 'src', 1)) {
        dir = this.#next('a direction').text === 'or' ? 'either' : 'both';
        this.#i++;
      }
    }
    if (this.#is('host') || this.#is('net') || this.#is('port')) type = this.#next('a type').text as Qualifiers['type'];
    let q: Qualifiers = { proto, dir, type };
    if (proto === undefined && dir === undefined && type === undefined) {
      // A bare value: tcpdump's "tcp port 80 or 443" reuses the previous qualifiers.
      const t = this.#peek() as Token;
      if (this.#last !== undefined) q = this.#last;
      else if (/^\d+\.\d+\.\d+\.\d+$/.test(t.text)) q = { proto: undefined, dir: undefined, type: 'host' };
      else throw new PcapError(t.column, `unknown primitive ${JSON.stringify(t.text)}`);
    }
    this.#last = q;
    return this.#valued(q, this.#next('a value'));
  }

  #bareProto(t: Token): Dnf {
    if (t.text === 'ether') throw new PcapError(t.column, "'ether' needs a qualifier: host, src, dst, proto, broadcast, multicast or [offset]");
    if (t.text === 'ip') return one(IS_IP);
    if (t.text === 'arp') return one(IS_ARP);
    return one(...ipProto(PROTOCOLS[t.text] as number));
  }

  #protoValue(proto: string, t: Token): Dnf {
    if (proto === 'ether') {
      if (t.text === 'ip') return one(IS_IP);
      if (t.text === 'arp') return one(IS_ARP);
      return one(abs(12, 2, parseNumber(t, 0xffff, 'ethertype')));
    }
    if (proto !== 'ip') throw new PcapError(t.column, `'${proto} proto' is not supported: use 'ip proto' or 'ether proto'`);
    const named = Object.hasOwn(PROTOCOLS, t.text) ? PROTOCOLS[t.text] : undefined;
    return one(...ipProto(named ?? parseNumber(t, 0xff, 'protocol number')));
  }

  #cast(proto: string, t: Token): Dnf {
    if (proto === 'ether') {
      return t.text === 'broadcast' ? one(abs(0, 2, 0xffff), abs(2, 4, 0xffffffff)) : one(abs(0, 1, 0x01, 0x01));
    }
    if (proto === 'ip' && t.text === 'multicast') return one(IS_IP, abs(30, 1, 0xe0, 0xe0));
    throw new PcapError(t.column, `'${proto} ${t.text}' is not supported ('ip broadcast' needs a netmask DPF does not know)`);
  }

  #valued(q: Qualifiers, t: Token): Dnf {
    const type = q.type ?? (q.proto === 'tcp' || q.proto === 'udp' || q.proto === 'sctp' ? 'port' : 'host');
    const proto = q.proto;
    if (type === 'port') {
      if (proto !== undefined && proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') {
        throw new PcapError(t.column, `'${proto} port' is not supported: ports belong to tcp, udp or sctp`);
      }
      const port = parseNumber(t, 0xffff, 'port');
      const protos = proto === undefined ? ['tcp', 'udp', 'sctp'] : [proto];
      let out: Dnf = [];
      for (const p of protos) {
        out = or(out, directed(q.dir, [l4(0, 2, port)], [l4(2, 2, port)], ipProto(PROTOCOLS[p] as number), t.column), t.column);
      }
      return out;
    }
    if (proto !== undefined && proto !== 'ip' && proto !== 'ether' && proto !== 'arp') {
      throw new PcapError(t.column, `'${proto} ${type}' is not supported: hosts and nets belong to ip, arp or ether`);
    }
    if (proto === 'ether') {
      if (type !== 'host') throw new PcapError(t.column, "'ether net' is not supported");
      const mac = parseMac(t);
      const fields = (at: number): Fact[] => [abs(at, 4, ((mac[0] as number) * 2 ** 24 + (mac[1] as number) * 65536 + (mac[2] as number) * 256 + (mac[3] as number))), abs(at + 4, 2, (mac[4] as number) * 256 + (mac[5] as number))];
      return directed(q.dir, fields(6), fields(0), [], t.column);
    }
    const srcAt = proto === 'arp' ? 28 : 26;
    const dstAt = proto === 'arp' ? 38 : 30;
    const base = [proto === 'arp' ? IS_ARP : IS_IP];
    if (type === 'host') {
      const a = parseIpv4(t);
      return directed(q.dir, [abs(srcAt, 4, a)], [abs(dstAt, 4, a)], base, t.column);
    }
    if (proto === 'arp') throw new PcapError(t.column, "'arp net' is not supported");
    const a = parseIpv4(t);
    let mask: number;
    if (this.#is('/')) {
      this.#i++;
      const len = parseNumber(this.#next('a prefix length'), 32, 'prefix length');
      mask = len === 0 ? 0 : (0xffffffff - (2 ** (32 - len) - 1));
    } else if (this.#is('mask')) {
      this.#i++;
      mask = parseIpv4(this.#next('a netmask'));
    } else {
      throw new PcapError(t.column, "'net' needs a prefix length (198.18.0.0/24) or 'mask'");
    }
    if ((a & ~mask) !== 0) throw new PcapError(t.column, `non-network bits set in ${t.text} for that mask`);
    return directed(q.dir, [abs(srcAt, 4, a, mask)], [abs(dstAt, 4, a, mask)], base, t.column);
  }

  #accessor(protoTok: Token): Dnf {
    const proto = protoTok.text;
    this.#next("'['");
    const off = parseNumber(this.#next('an offset'), 65535, 'offset');
    let size: 1 | 2 | 4 = 1;
    if (this.#is(':')) {
      this.#i++;
      const s = this.#next('a size');
      if (s.text !== '1' && s.text !== '2' && s.text !== '4') throw new PcapError(s.column, 'the size of an access is 1, 2 or 4 bytes');
      size = Number(s.text) as 1 | 2 | 4;
    }
    const close = this.#next("']'");
    if (close.text !== ']') throw new PcapError(close.column, `expected ']', found ${JSON.stringify(close.text)}`);
    const max = size === 4 ? 0xffffffff : 2 ** (8 * size) - 1;
    let mask = max;
    if (this.#is('&')) {
      this.#i++;
      mask = parseNumber(this.#next('a mask'), max, 'mask');
    }
    const rel = this.#next("'='");
    if (rel.text !== '=' && rel.text !== '==') {
      throw new PcapError(rel.column, `${JSON.stringify(rel.text)} cannot be expressed: DPF atoms only test equality ('=')`);
    }
    const vt = this.#next('a value');
    const value = parseNumber(vt, max, 'value');
    if ((value & ~mask) !== 0) throw new PcapError(vt.column, `value ${vt.text} has bits outside the mask, so it can never match`);
    switch (proto) {
      case 'ether':
        return one(abs(off, size, value, mask));
      case 'ip':
        return one(IS_IP, abs(14 + off, size, value, mask));
      case 'arp':
        return one(IS_ARP, abs(14 + off, size, value, mask));
      case 'tcp':
      case 'udp':
      case 'icmp':
        return one(...ipProto(PROTOCOLS[proto] as number), l4(off, size, value, mask));
      default:
        throw new PcapError(protoTok.column, `'${proto}[…]' is not supported`);
    }
  }
}

/** One filter per conjunction, facts once each; a transport fact needs the fragment test and the IHL shift, as libpcap emits them. */
function toAst(c: Conj): FilterAst {
  const atoms: FilterAtom[] = [];
  const seen = new Set<string>();
  const facts = c.facts.filter((f) => {
    const key = `${f.l4 ? 't' : 'a'}${f.off}:${f.size}:${f.mask}:${f.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const atom = (f: Fact, at: number): FilterAtom => {
    const width = (f.size * 8) as LoadWidth;
    const full = f.size === 4 ? 0xffffffff : 2 ** width - 1;
    return f.mask === full ? { op: 'eq', width, offset: at, value: f.value } : { op: 'meq', width, offset: at, mask: f.mask, value: f.value };
  };
  for (const f of facts) if (!f.l4) atoms.push(atom(f, f.off));
  if (c.minLen > 0) atoms.push({ op: 'meq', width: 8, offset: c.minLen - 1, mask: 0, value: 0 });
  const transport = facts.filter((f) => f.l4);
  if (transport.length > 0) {
    atoms.push({ op: 'meq', width: 16, offset: 20, mask: 0x1fff, value: 0 });
    atoms.push({ op: 'mshift', width: 8, offset: 14, mask: 0x0f, shift: 2 });
    for (const f of transport) atoms.push(atom(f, 14 + f.off));
  }
  return { atoms };
}

/**
 * Compile a pcap-like expression into DPF filters (ASTs, plus their text). Contradictory
 * alternatives (`tcp and udp`) are dropped, identical ones merged; an expression left with none
 * is refused. Never throws.
 */
export function compilePcapExpression(expr: string): PcapResult {
  if (typeof expr !== 'string') return { ok: false, reason: 'the expression must be a string', column: 0 };
  if (expr.length > PCAP_MAX_CHARS) return { ok: false, reason: `the expression is longer than ${PCAP_MAX_CHARS} characters`, column: 0 };
  let dnf: Dnf;
  try {
    const tokens = lex(expr);
    if (tokens.length === 0) return { ok: false, reason: 'empty expression: DPF has no filter that matches every frame', column: 1 };
    dnf = new Parser(tokens, expr.length).parse();
  } catch (e) {
    if (e instanceof PcapError) return { ok: false, reason: `${e.column}: ${e.message}`, column: e.column };
    throw e;
  }
  const filters: VerifiedFilter[] = [];
  const text: string[] = [];
  const seen = new Set<string>();
  let lastRefusal = '';
  for (const c of dnf) {
    if (c.facts.length === 0 && c.minLen === 0) {
      return { ok: false, reason: 'the expression matches every frame: DPF has no filter for that', column: 1 };
    }
    const v = verify(toAst(c));
    if (!v.ok) {
      lastRefusal = v.reason;
      continue;
    }
    const key = formatNormalFilter(normalize(v.filter));
    if (seen.has(key)) continue;
    seen.add(key);
    filters.push(v.filter);
    text.push(formatFilterText(v.filter));
  }
  if (filters.length === 0) return { ok: false, reason: `the expression can never match (${lastRefusal})`, column: 1 };
  return { ok: true, filters, text };
}
