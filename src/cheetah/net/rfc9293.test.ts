/**
 * RFC 9293 MUST coverage: every requirement MUST-1 … MUST-69 of the requirements summary (RFC 9293
 * Appendix B), each with the tests that cover it or the reason it is not implemented.
 *
 * The table is checked, not trusted: every referenced test must exist under its exact title as
 * an active `it`/`test` in its file (read with the TypeScript parser, so a commented-out, skipped
 * or renamed test fails this file), ids must run 1…69 once each, and docs/tcp.md must show the
 * table as generated here (`UPDATE_DOCS=1 npx vitest run src/cheetah/net/rfc9293.test.ts`
 * rewrites it). The referenced tests themselves run with the rest of the suite.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../util/package-root.js';

/** A test by file (from the repository root) and its `it` title, exactly as written. */
interface TestRef {
  file: string;
  title: string;
}

type Status = 'tested' | 'partly' | 'not implemented' | 'not applicable';

interface MustItem {
  id: number;
  /** The requirement as the Appendix B summary names it (rows of one id joined). */
  requirement: string;
  status: Status;
  tests: readonly TestRef[];
  /** Required unless fully tested: what is missing and why. */
  note?: string;
}

const ref = (file: string) => (title: string): TestRef => ({ file, title });
const listen = ref('src/cheetah/net/tcp-listen.test.ts');
const est = ref('src/cheetah/net/tcp-established.test.ts');
const close = ref('src/cheetah/net/tcp-close.test.ts');
const isn = ref('src/cheetah/net/isn.test.ts');
const netsim = ref('src/cheetah/net/tcp-netsim.test.ts');
const fuzz = ref('src/cheetah/net/tcp-fuzz.test.ts');
const wire = ref('src/wire/tcp.test.ts');

const T = {
  ipv4Checks: listen('%s is dropped silently and counted'),
  synOptions: listen('MUST-4/5/6/64: SYN options among unknown kinds and at any alignment are all taken; the unknown ones are skipped'),
  dataOptions: est('MUST-5/6: options are read on any segment: SYN-only ones on a data segment change nothing, unknown ones are skipped, the data is taken'),
  icmp: est(
    "MUST-54/55/56: ICMP errors about the connection (unreachable 0/1/5, source quench, time exceeded, parameter problem) never abort it: ICMP is not the stack's, each is dropped and counted",
  ),
  rstInWindow: close('%s: a RST in the window but not at RCV.NXT gets one challenge ACK and changes nothing; one at RCV.NXT resets'),
  mss16: est('MUST-16: a full segment is min(peer MSS, our MTU − 40) less the timestamp option (limited by %s)'),
  nagle: est('MUST-17: the application switches Nagle per connection: on, a small write waits for the ACK of data in flight; off, it goes at once'),
  r2Data: est("MUST-21: the application sets R2 per connection: sooner than the stack's, or never"),
  r2Syn: close('MUST-21/22: the application can give up an open sooner (R2 of the connection covers the SYN)'),
  giveUp: est('MUST-20: unacknowledged data gives up after ≥ 100 s and reports a timeout'),
  synGiveUp: close('MUST-23: the SYN is retransmitted with backoff and the open gives up only after ≥ 180 s'),
  zeroWindow: est('MUST-35/36: a zero window is probed with backoff for as long as the peer answers, then data flows'),
  addresses: listen(
    "MUST-43/44/45: a listener bound to one card's address takes SYNs only there; every segment of a connection leaves from its card's address and MAC",
  ),
  merging: est('knowledge-based merging: the reply carries the ACK of the request and the FIN rides on its last segment'),
  noMerging: est('with merging off: a separate ACK before the reply and a separate FIN after it'),
  optionEncoding: est('MUST-68/69: every option we send carries its length (but NOP and EOL) and the options fill the header exactly'),
  batchAck: est('MUST-59: segments received in one batch are acknowledged by one ACK'),
} as const;

const URGENT =
  'Urgent data is not implemented: URG and the urgent pointer are ignored and urgent bytes are delivered inline (as SO_OOBINLINE). HTTP never uses it, and RFC 9293 §3.8.5 advises new applications not to.';
const KEEPALIVE =
  'Binds only an implementation that has keep-alives (MAY-5); this stack has none, so none is ever sent (MUST-25 holds trivially). Idle connections are ended by the HTTP layer\'s idle timeout.';
const SOURCE_ROUTE =
  'Source routing is not implemented: IP options are neither sent nor acted on, and replies go straight to the on-link sender (Linux drops source-routed datagrams by default, accept_source_route = 0).';

/** RFC 9293 Appendix B, every MUST in id order. */
const MUSTS: readonly MustItem[] = [
  { id: 1, requirement: 'Window: treat as unsigned number', status: 'tested', tests: [est('MUST-1: the window is unsigned: a field above 0x7FFF, and 0xFFFF scaled by 14 (1 GiB), are taken as such')] },
  {
    id: 2,
    requirement: 'Sender compute checksum',
    status: 'tested',
    tests: [est('precomputed partial checksums are used for MSS-aligned chunks and give valid checksums'), wire('emitHeader with the payload elsewhere and its precomputed partial sum gives the same checksum (gather send)')],
    note: 'The test harness also verifies the IPv4 and TCP checksums of every frame any test sees the stack send.',
  },
  { id: 3, requirement: 'Receiver check checksum', status: 'tested', tests: [T.ipv4Checks, netsim('corruption is caught by the checksums and repaired by retransmission')] },
  { id: 4, requirement: 'Support the mandatory option set (EOL, NOP, MSS)', status: 'tested', tests: [T.synOptions, wire('EOL ends the list; bytes after it are not options')] },
  { id: 5, requirement: 'Receive TCP option in any segment', status: 'tested', tests: [T.synOptions, T.dataOptions] },
  { id: 6, requirement: 'Ignore unsupported options', status: 'tested', tests: [T.synOptions, T.dataOptions, wire('MUST-6: unknown options are skipped by their length')] },
  {
    id: 7,
    requirement: 'Cope with illegal option length',
    status: 'tested',
    tests: [
      wire('MUST-7: option length 0 stops parsing instead of looping'),
      wire('MUST-7: option length 1 stops parsing'),
      wire('MUST-7: a length running past the data offset stops parsing'),
      wire('parseTcpOptions never reads outside its range'),
      fuzz('10^5 random segments, timer advances and application calls: no throw, invariants hold after each'),
    ],
  },
  { id: 8, requirement: 'Include a clock-driven ISN generator component', status: 'tested', tests: [isn('MUST-8: for one 4-tuple the ISN advances with the clock (4 µs ticks)')] },
  {
    id: 9,
    requirement: 'PRF computable from outside the host (MUST NOT)',
    status: 'tested',
    tests: [isn('SHLD-1: ISNs of neighbouring 4-tuples at one instant have no fixed offset and balanced low bits'), isn('depends on the secret')],
  },
  { id: 10, requirement: 'Support simultaneous open attempts', status: 'tested', tests: [close('MUST-10: simultaneous open goes SYN-SENT → SYN-RECEIVED → ESTABLISHED')] },
  {
    id: 11,
    requirement: 'SYN-RECEIVED remembers last state',
    status: 'tested',
    tests: [close('MUST-11: RST in SYN-RECEIVED after an active open reports "refused"'), listen('MUST-11: RST at RCV.NXT from a passive open returns to LISTEN (the next ACK gets RST)')],
  },
  { id: 12, requirement: 'Inform application of aborted connection', status: 'tested', tests: [T.rstInWindow, T.giveUp] },
  { id: 13, requirement: 'In TIME-WAIT state for 2MSL seconds', status: 'tested', tests: [close('MUST-13: the TIME-WAIT entry lives exactly 2·MSL')] },
  {
    id: 14,
    requirement: 'Implement sending & receiving MSS option',
    status: 'tested',
    tests: [listen('answers a Linux SYN with SYN-ACK: our ISS, ACK = ISN+1, MSS, window scale, SACK-permitted, timestamps echoed'), close('sends SYN with MSS, window scale, SACK-permitted and timestamps; a SYN-ACK establishes and is ACKed'), T.mss16],
  },
  {
    id: 15,
    requirement: 'IPv4 Send-MSS default is 536; IPv6 Send-MSS default is 1220',
    status: 'tested',
    tests: [listen('MUST-15: without an MSS option the peer gets at most 536-byte segments')],
    note: 'The IPv6 default does not apply: the stack has no IPv6.',
  },
  { id: 16, requirement: 'Calculate effective send segment size', status: 'tested', tests: [T.mss16] },
  { id: 17, requirement: 'Application can disable Nagle algorithm', status: 'tested', tests: [T.nagle] },
  { id: 18, requirement: "Karn's algorithm", status: 'tested', tests: [est('MUST-18 Karn: an ACK of a retransmitted segment gives no RTT sample (no timestamps)')] },
  {
    id: 19,
    requirement: 'Implement exponential backoff, slow start, and congestion avoidance',
    status: 'tested',
    tests: [
      est('MUST-19 / RFC 6298: lost data is retransmitted at 1, 3, 7, 15 s (exponential backoff)'),
      est('the initial window is 10 segments (RFC 6928) and slow start grows it per ACK'),
      est('MUST-19: after a timeout cwnd restarts at one segment, grows by one per ACK up to ssthresh (slow start), then by one per window (congestion avoidance)'),
      est('RFC 5681 fast retransmit after three duplicate ACKs, NewReno partial ACK, full ACK leaves recovery'),
    ],
  },
  {
    id: 20,
    requirement: 'Negative advice to IP on R1 retransmissions; close connection on R2 retransmissions',
    status: 'partly',
    tests: [T.giveUp, T.synGiveUp],
    note: 'R2 is implemented and tested. R1 (negative advice to IP) is not: peers are on the card\'s link and there is no routing; an ARP entry is not re-validated after R1.',
  },
  { id: 21, requirement: 'ALP can set R2', status: 'tested', tests: [T.r2Data, T.r2Syn] },
  { id: 22, requirement: 'Same mechanism for SYNs', status: 'tested', tests: [T.synGiveUp, listen('retransmits the SYN-ACK at 1, 3, 7, 15, 31 s, then forgets the half-open connection silently'), T.r2Syn] },
  { id: 23, requirement: 'R2 at least 3 minutes for SYN', status: 'tested', tests: [T.synGiveUp] },
  { id: 24, requirement: 'Keep-alive: application can request', status: 'not applicable', tests: [], note: KEEPALIVE },
  { id: 25, requirement: 'Keep-alive: default is "off"', status: 'not applicable', tests: [], note: KEEPALIVE },
  { id: 26, requirement: 'Keep-alive: only send if idle for interval', status: 'not applicable', tests: [], note: KEEPALIVE },
  { id: 27, requirement: 'Keep-alive: interval configurable', status: 'not applicable', tests: [], note: KEEPALIVE },
  { id: 28, requirement: 'Keep-alive: default at least 2 hrs.', status: 'not applicable', tests: [], note: KEEPALIVE },
  { id: 29, requirement: 'Keep-alive: tolerant of lost ACKs', status: 'not applicable', tests: [], note: KEEPALIVE },
  { id: 30, requirement: 'Include support for urgent pointer', status: 'not implemented', tests: [], note: URGENT },
  { id: 31, requirement: 'Arbitrary length urgent data sequence', status: 'not implemented', tests: [], note: URGENT },
  { id: 32, requirement: 'Inform ALP asynchronously of urgent data', status: 'not implemented', tests: [], note: URGENT },
  { id: 33, requirement: "ALP can learn if/how much urgent data Q'd", status: 'not implemented', tests: [], note: URGENT },
  { id: 34, requirement: 'Robust against shrinking window', status: 'tested', tests: [est('MUST-34: a shrinking window (right edge moving left) stops new data without harm')] },
  { id: 35, requirement: 'Use standard probing logic', status: 'tested', tests: [T.zeroWindow] },
  { id: 36, requirement: 'Sender probe zero window', status: 'tested', tests: [T.zeroWindow] },
  { id: 37, requirement: 'Allow window stay zero indefinitely', status: 'tested', tests: [T.zeroWindow], note: 'The probed window stays zero for 10 minutes of virtual time, past R2.' },
  { id: 38, requirement: 'Sender SWS-Avoidance Algorithm', status: 'tested', tests: [est('MUST-38: sender SWS avoidance waits on a small window, then its override timer sends what fits')] },
  { id: 39, requirement: 'Receiver SWS-Avoidance Algorithm', status: 'tested', tests: [est('MUST-39: receiver SWS avoidance opens the window in useful steps only')] },
  { id: 40, requirement: 'Delayed ACK: delay < 0.5 seconds', status: 'tested', tests: [est('MUST-40: data is acknowledged by a delayed ACK well within 500 ms')] },
  {
    id: 41,
    requirement: 'Passive OPEN call interfere with others (MUST NOT)',
    status: 'tested',
    tests: [listen('MUST-41: a passive OPEN changes no existing connection: a duplicate is refused, others open, the connection goes on')],
  },
  {
    id: 42,
    requirement: 'Function: simultaneous LISTENs for same port',
    status: 'tested',
    tests: [listen('MUST-42: a port can be listened on while an active open from it is in SYN-SENT; both complete')],
  },
  { id: 43, requirement: 'Optional local IP address parameter in OPEN', status: 'tested', tests: [T.addresses], note: 'connect() names the card (its address); listen() takes an address or 0 for every card.' },
  { id: 44, requirement: 'Ask IP for source address for SYN if necessary', status: 'tested', tests: [T.addresses] },
  { id: 45, requirement: 'Otherwise, use local address of connection', status: 'tested', tests: [T.addresses] },
  {
    id: 46,
    requirement: 'OPEN to broadcast/multicast IP address (MUST NOT); reject OPEN call to invalid IP address',
    status: 'tested',
    tests: [close('MUST-46: an OPEN to a broadcast, multicast, class E, unspecified, loopback or our own address is refused')],
  },
  {
    id: 47,
    requirement: 'Error report mechanism',
    status: 'partly',
    tests: [T.rstInWindow, T.giveUp, close('an ARP request that is never answered ends as "unreachable"')],
    note: 'Errors that end a connection reach the application as onClose(reason). Soft errors (ICMP, R1) are not reported: the stack receives no ICMP and has no R1.',
  },
  {
    id: 48,
    requirement: 'ALP can specify Diffserv field for sending',
    status: 'tested',
    tests: [est('MUST-48: the application sets the Diffserv field per connection; every later segment carries it, RST included')],
    note: 'conn.setDiffServ(dscp). Segments sent without a connection (RST to a closed port, SYN-cookie SYN-ACK, TIME-WAIT ACK) carry DSCP 0.',
  },
  { id: 49, requirement: 'Configurable TTL', status: 'tested', tests: [est('MUST-49: the TTL of everything sent is configurable (handshake, data, RST)')] },
  { id: 50, requirement: "Ignore IP options TCP doesn't understand", status: 'tested', tests: [listen('MUST-50: IP options the stack does not understand (Record Route) are ignored: the SYN is answered, without options')] },
  { id: 51, requirement: 'Source route: ALP can specify', status: 'not implemented', tests: [], note: SOURCE_ROUTE },
  { id: 52, requirement: 'Source route: overrides source route in datagram', status: 'not implemented', tests: [], note: SOURCE_ROUTE },
  { id: 53, requirement: 'Source route: build return route from source route', status: 'not implemented', tests: [], note: SOURCE_ROUTE },
  {
    id: 54,
    requirement: 'Receiving ICMP messages from IP (act on them)',
    status: 'not implemented',
    tests: [T.icmp],
    note: "Cheetah's DPF filters claim TCP only, so ICMP goes to the kernel and the stack never sees it: no reaction to ICMP errors and no path-MTU discovery (the MSS comes from the card's MTU). The test pins that an ICMP error handed to the stack changes nothing.",
  },
  { id: 55, requirement: 'Source Quench => silent discard', status: 'tested', tests: [T.icmp] },
  { id: 56, requirement: 'Abort on Destination Unreachable (0, 1, 5), Time Exceeded, Parameter Problem (MUST NOT)', status: 'tested', tests: [T.icmp] },
  { id: 57, requirement: 'Silently discard segment (and SYN) to broadcast/multicast address', status: 'tested', tests: [T.ipv4Checks] },
  { id: 58, requirement: 'Generating ACKs: aggregate whenever possible', status: 'tested', tests: [est('MUST-58: every second full-sized segment is acknowledged at once'), T.batchAck, T.merging] },
  { id: 59, requirement: "Process all Q'd before send ACK", status: 'tested', tests: [T.batchAck] },
  {
    id: 60,
    requirement: 'Without a PUSH call: sender buffer indefinitely (MUST NOT)',
    status: 'tested',
    tests: [est('MUST-38: sender SWS avoidance waits on a small window, then its override timer sends what fits'), T.nagle, T.merging],
    note: 'There is no PUSH flag on send(): data goes as soon as window and cwnd allow.',
  },
  { id: 61, requirement: 'Without a PUSH call: PSH last segment', status: 'tested', tests: [T.merging, T.noMerging] },
  { id: 62, requirement: 'Urgent pointer indicates first non-urgent octet', status: 'not implemented', tests: [], note: URGENT },
  { id: 63, requirement: 'Reject SYN from invalid IP address', status: 'tested', tests: [T.ipv4Checks] },
  { id: 64, requirement: 'Process options regardless of word alignment', status: 'tested', tests: [T.synOptions, wire('MUST-64: options need no alignment')] },
  { id: 65, requirement: 'MSS not sent on non-SYN segments (MUST NOT)', status: 'tested', tests: [T.merging, T.optionEncoding] },
  {
    id: 66,
    requirement: 'Process RST and URG even with zero window',
    status: 'tested',
    tests: [est('MUST-66: a RST at RCV.NXT is processed at a zero window')],
    note: 'URG is ignored in every state (urgent data is not implemented, see MUST-30).',
  },
  { id: 67, requirement: 'MSS value based on MMS_R', status: 'tested', tests: [listen("MUST-67: the MSS option we send is the card's MTU less 40 (MMS_R for IPv4 without options)")] },
  { id: 68, requirement: 'Include length for all options except EOL+NOP', status: 'tested', tests: [T.optionEncoding, wire('emit: the same bytes Linux put on the wire, option layout included')] },
  { id: 69, requirement: 'Pad with zero', status: 'tested', tests: [T.optionEncoding] },
];

/**
 * Titles of the active tests in `file`: the first argument of every `it(…)`, `test(…)`,
 * `it.each(…)(…)` and `test.each(…)(…)` call, parsed (comments are not code). Nothing under a
 * `.skip`, `.todo`, `.skipIf`, `.runIf`, `.only` or other modifier counts.
 */
function testTitles(source: ts.SourceFile): Set<string> {
  const titles = new Set<string>();
  const isName = (e: ts.Expression, names: readonly string[]) => ts.isIdentifier(e) && names.includes(e.text);
  /** 'test' for a test call, 'off' for a modified (skipped, conditional, focused) call, else undefined. */
  const kind = (callee: ts.Expression): 'test' | 'off' | undefined => {
    if (isName(callee, ['it', 'test'])) return 'test';
    // it.each(cases)(title, fn): the callee is itself a call of `it.each`.
    if (ts.isCallExpression(callee) && ts.isPropertyAccessExpression(callee.expression)) {
      const m = callee.expression;
      if (m.name.text === 'each') return isName(m.expression, ['it', 'test']) ? 'test' : undefined;
      if (isName(m.expression, ['it', 'test', 'describe'])) return 'off';
    }
    if (ts.isPropertyAccessExpression(callee) && isName(callee.expression, ['it', 'test', 'describe'])) return 'off';
    return undefined;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const k = kind(node.expression);
      if (k === 'off') return;
      const first = node.arguments[0];
      if (k === 'test' && first !== undefined && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first))) titles.add(first.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return titles;
}

/** {@link testTitles} of a file given from the repository root. */
function activeTestTitles(file: string): Set<string> {
  return testTitles(ts.createSourceFile(file, readFileSync(join(packageRoot(), file), 'utf8'), ts.ScriptTarget.Latest, true));
}

const DOC = 'docs/tcp.md';
const BEGIN = '<!-- BEGIN rfc9293-musts: generated by src/cheetah/net/rfc9293.test.ts (UPDATE_DOCS=1 rewrites it) -->';
const END = '<!-- END rfc9293-musts -->';

/** The table as docs/tcp.md shows it. */
function markdownTable(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const counts = new Map<Status, number>();
  for (const m of MUSTS) counts.set(m.status, (counts.get(m.status) ?? 0) + 1);
  const lines = [
    `${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')} (of ${MUSTS.length}).`,
    '',
    '| MUST | Requirement (RFC 9293 Appendix B) | Status | Tests, and notes |',
    '|---|---|---|---|',
  ];
  for (const m of MUSTS) {
    const tests = m.tests.map((t) => `\`${t.file.replace(/^src\//, '')}\`: “${t.title}”`);
    const parts = [...tests, ...(m.note !== undefined ? [m.note] : [])];
    lines.push(`| ${m.id} | ${cell(m.requirement)} | ${m.status} | ${cell(parts.join('<br>'))} |`);
  }
  return lines.join('\n');
}

describe('RFC 9293 MUST coverage (Appendix B)', () => {
  it('lists MUST-1 … MUST-69 once each, in order, each tested or with the reason it is not', () => {
    expect(MUSTS.map((m) => m.id)).toEqual(Array.from({ length: 69 }, (_, i) => i + 1));
    for (const m of MUSTS) {
      if (m.status === 'tested') expect(m.tests.length, `MUST-${m.id}`).toBeGreaterThan(0);
      if (m.status === 'partly') expect(m.tests.length > 0 && m.note !== undefined, `MUST-${m.id}: tests and a note`).toBe(true);
      if (m.status === 'not implemented' || m.status === 'not applicable') expect(m.note, `MUST-${m.id}: the reason`).toBeDefined();
    }
  });

  it('every referenced test exists, active and under its exact title', () => {
    const files = new Map<string, Set<string>>();
    const missing: string[] = [];
    for (const m of MUSTS) {
      for (const t of m.tests) {
        let titles = files.get(t.file);
        if (titles === undefined) {
          titles = activeTestTitles(t.file);
          files.set(t.file, titles);
        }
        if (!titles.has(t.title)) missing.push(`MUST-${m.id}: ${t.file}: "${t.title}"`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('the title reader sees what vitest runs: tests and each-tests; not comments, skipped, conditional or focused ones', () => {
    const probe = [
      "it('a', f); test(`b`, f); it.each(xs)('c %s', f);",
      "describe('d', () => { it('e', f); }); describe.each(ys)('g', () => { test('h', f); });",
      "// it('commented', f);",
      "it.skip('skipped', f); describe.skip('s', () => { it('inside skipped', f); });",
      "it.skipIf(x)('conditional', f); it.todo('todo'); it.only('focused', f); it(name, f);",
    ].join('\n');
    expect([...testTitles(ts.createSourceFile('probe.ts', probe, ts.ScriptTarget.Latest, true))]).toEqual(['a', 'b', 'c %s', 'e', 'h']);
  });

  it('docs/tcp.md shows this table', () => {
    const path = join(packageRoot(), DOC);
    const doc = readFileSync(path, 'utf8');
    const at = doc.indexOf(BEGIN);
    const to = doc.indexOf(END);
    expect(at >= 0 && to > at, `${DOC} has the ${BEGIN} … ${END} markers`).toBe(true);
    const want = `${BEGIN}\n${markdownTable()}\n${END}`;
    const now = doc.slice(at, to + END.length);
    if (now !== want && process.env['UPDATE_DOCS'] === '1') writeFileSync(path, doc.slice(0, at) + want + doc.slice(to + END.length));
    else expect(now, `${DOC} is out of date: UPDATE_DOCS=1 npx vitest run src/cheetah/net/rfc9293.test.ts`).toBe(want);
  });
});
