/**
 * bench/nic/tso-stream: what TSO saves on the card's path. One TCP connection from the card to a
 * real Linux TCP receiver on the TAP's host side (a node server in the benchmark's namespace that
 * reads and discards), driven by a minimal sender in this process: a hand-made handshake, then
 * the payload as fast as the receiver's window allows. Contenders, same card path, same bytes:
 * - `plain`: a TAP without the vnet header (tso false), one `writev` per 1,460-byte segment —
 *   the card as it was;
 * - `vnet`: a TAP with the vnet header, still one segment per `writev` (the header's own cost);
 * - `tso`: the same TAP, one `writev` per super-segment of up to 44 segments (64,240 bytes),
 *   which the host takes as one packet;
 * - `tso-thread`: `tso` on a TAP whose frames a writer thread of the card writes (`txThread`):
 *   the sender's thread only copies each super-segment into the card's ring.
 * Reported: throughput, the whole machine's CPU per MiB (busy jiffies), this process's CPU per
 * MiB, writevs per MiB. Contenders interleave round by round (../shared/BENCHMARKING.md).
 *
 * The sender recovers losses go-back-N (three duplicate ACKs, or 200 ms without progress; the
 * host's TCP may prune its receive queue under memory pressure) and reports how often; a stall
 * of 5 s fails the run. Its payload checksums are precomputed, as Cheetah's are, so the figures
 * are about the card and the host, not about summing bytes in JS.
 *
 * Needs root. Usage (after `npm run build`):
 *   node dist/bench/nic/tso-stream.js [--rounds 5] [--mib 64]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { NativeCard, openNic, type TsoInfo } from '../../src/nic/index.js';
import { finishSum, foldSum, partialSum, pseudoHeaderSum } from '../../src/wire/checksum.js';
import { parseIpv4 } from '../../src/wire/address.js';
import {
  BenchNamespaces,
  busyJiffies,
  DEFAULT_RESULTS_DIR,
  fmt,
  JIFFY_US,
  machineHeader,
  machineInfo,
  markdownTable,
  median,
  runMain,
  sh,
  writeResults,
} from './common.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    mib: { type: 'string', default: '64' },
    out: { type: 'string', default: DEFAULT_RESULTS_DIR },
  },
});
const rounds = Number(args.rounds);
const totalBytes = Number(args.mib) * 1024 * 1024;

const MSS = 1460; // MTU 1500 − 20 − 20, no TCP options on data segments
const TSO_SEGMENTS = 44;
const PORT = 5001;
const ETH = 14;
const IP = 20;
const TCP = 20;
const HDR = ETH + IP + TCP;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
const PSH = 0x08;
const STALL_MS = 5000;
const RETRANSMIT_MS = 200;

interface Contender {
  name: 'plain' | 'vnet' | 'tso' | 'tso-thread';
  card: NativeCard;
  hostAddr: number;
  machineAddr: number;
  hostMac: Uint8Array;
}

interface Run {
  contender: string;
  round: number;
  bytes: number;
  wallMs: number;
  mibPerSecond: number;
  machineCpuUsPerMib: number;
  processCpuUsPerMib: number;
  writevsPerMib: number;
  /** Go-back-N recoveries in the run. */
  retransmits: number;
}

/** The receiver: accepts connections and discards what it reads. */
const SERVER = `require('node:net').createServer((s) => { s.on('data', () => {}); s.on('error', () => {}); }).listen(${PORT}, () => console.log('listening'));`;

/** Send `totalBytes` over one connection through `c.card`; resolves with the number of go-back-N recoveries once all is acknowledged. */
function stream(c: Contender, srcPort: number): Promise<number> {
  const card = c.card;
  const payload = new Uint8Array(TSO_SEGMENTS * MSS);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 0xff;
  // Every chunk starts at payload[0], so its sum depends only on its length: computed once each.
  const payloadSums = new Map<number, number>();
  const payloadSum = (n: number): number => payloadSums.get(n) ?? (payloadSums.set(n, partialSum(payload, 0, n)), payloadSums.get(n)!);
  const hdr = new Uint8Array(HDR + 8);
  const dv = new DataView(hdr.buffer);
  hdr.set(c.hostMac, 0);
  hdr.set(card.mac, 6);
  dv.setUint16(12, 0x0800);
  dv.setUint8(ETH, 0x45);
  dv.setUint16(ETH + 6, 0x4000);
  dv.setUint8(ETH + 8, 64);
  dv.setUint8(ETH + 9, 6);
  dv.setUint32(ETH + 12, c.machineAddr);
  dv.setUint32(ETH + 16, c.hostAddr);
  dv.setUint16(HDR - TCP, srcPort);
  dv.setUint16(HDR - TCP + 2, PORT);
  const iss = 1_000_000;
  let ipId = 0;
  let sndUna = 0; // offsets into the stream (sequence number − iss − 1)
  let sndNxt = 0;
  let window = 0;
  let shift = 0;
  let rcvNxt = 0;
  let established = false;
  let dupAcks = 0;
  let retransmits = 0;
  /** sndNxt when the last go-back began: duplicate ACKs before sndUna passes it are the go-back's own echo. */
  let recover = 0;
  const chunkMax = c.name === 'tso' || c.name === 'tso-thread' ? TSO_SEGMENTS * MSS : MSS;
  const tso: TsoInfo = { segmentBytes: MSS, headerBytes: HDR, checksumStart: ETH + IP };

  /** Fill in the headers for `payloadBytes` of payload (and `optionBytes` of options) and send. */
  const send = (flags: number, seq: number, payloadBytes: number, optionBytes = 0): void => {
    const tcpBytes = TCP + optionBytes;
    const total = ETH + IP + tcpBytes + payloadBytes;
    dv.setUint16(ETH + 2, total - ETH);
    dv.setUint16(ETH + 4, ipId++ & 0xffff);
    dv.setUint16(ETH + 10, 0);
    dv.setUint16(ETH + 10, finishSum(partialSum(hdr, ETH, IP)));
    const t = ETH + IP;
    dv.setUint32(t + 4, seq >>> 0);
    dv.setUint32(t + 8, established ? rcvNxt >>> 0 : 0);
    dv.setUint8(t + 12, (tcpBytes / 4) << 4);
    dv.setUint8(t + 13, flags);
    dv.setUint16(t + 14, 65_535);
    dv.setUint16(t + 16, 0);
    const pseudo = pseudoHeaderSum(c.machineAddr, c.hostAddr, 6, tcpBytes + payloadBytes);
    const headers = hdr.subarray(0, t + tcpBytes);
    const body = payload.subarray(0, payloadBytes);
    let status;
    if (payloadBytes > MSS) {
      dv.setUint16(t + 16, foldSum(pseudo)); // CHECKSUM_PARTIAL: the host finishes each segment's
      status = card.transmit([headers, body], tso);
    } else {
      dv.setUint16(t + 16, finishSum(partialSum(hdr, t, tcpBytes, pseudo + payloadSum(payloadBytes))));
      status = card.transmit([headers, body]);
    }
    if (status === 'dropped') throw new Error(`${c.name}: transmit dropped (${JSON.stringify(card.counters().drops)})`);
  };

  const pump = (): void => {
    while (sndNxt < totalBytes) {
      const room = sndUna + window - sndNxt;
      const n = Math.min(chunkMax, totalBytes - sndNxt, room);
      // Whole segments only, except the stream's last (no silly-window sends).
      if (n < Math.min(MSS, totalBytes - sndNxt)) break;
      const bytes = n > MSS ? n - (n % MSS) : n;
      send(ACK | PSH, iss + 1 + sndNxt, bytes);
      sndNxt += bytes;
    }
  };

  const goBack = (): void => {
    retransmits++;
    dupAcks = 0;
    recover = sndNxt;
    sndNxt = sndUna;
    pump();
  };

  return new Promise<number>((resolve, reject) => {
    let last = Date.now();
    let progress = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - last > STALL_MS) {
        clearInterval(watchdog);
        reject(new Error(`${c.name}: stalled at ${sndUna} of ${totalBytes} bytes acknowledged`));
      } else if (established && sndNxt > sndUna && Date.now() - progress > RETRANSMIT_MS) {
        progress = Date.now();
        goBack();
      }
    }, 50);
    card.setFrameHandler((f) => {
      if (f.length < HDR || f[12] !== 0x08 || f[13] !== 0x00 || f[ETH + 9] !== 6) return;
      const fv = new DataView(f.buffer, f.byteOffset, f.byteLength);
      const t = ETH + (f[ETH]! & 0x0f) * 4;
      if (fv.getUint16(t + 2) !== srcPort) return;
      const flags = f[t + 13]!;
      if ((flags & RST) !== 0) return reject(new Error(`${c.name}: reset by the host`));
      last = Date.now();
      if (!established) {
        if ((flags & (SYN | ACK)) !== (SYN | ACK)) return;
        for (let o = t + 20; o < t + (f[t + 12]! >> 4) * 4; ) {
          const kind = f[o]!;
          if (kind === 0) break;
          if (kind === 1) {
            o++;
            continue;
          }
          if (kind === 3) shift = f[o + 2]!;
          o += f[o + 1]! || 1;
        }
        rcvNxt = (fv.getUint32(t + 4) + 1) >>> 0;
        established = true;
        window = fv.getUint16(t + 14); // a SYN's window is never scaled (RFC 7323 §2.2)
        send(ACK, iss + 1, 0);
        pump();
        return;
      }
      if ((flags & ACK) === 0) return;
      const acked = (fv.getUint32(t + 8) - iss - 1) >>> 0;
      const newWindow = fv.getUint16(t + 14) << shift;
      const payloadBytes = fv.getUint16(ETH + 2) - (t - ETH) - (f[t + 12]! >> 4) * 4;
      // A duplicate ACK (RFC 5681 §2): nothing new acknowledged, no data, the same window, data outstanding.
      const duplicate = acked === sndUna && payloadBytes === 0 && newWindow === window && sndNxt > sndUna;
      window = newWindow;
      if (acked <= totalBytes && acked > sndUna) {
        sndUna = acked;
        dupAcks = 0;
        progress = Date.now();
      } else if (duplicate && sndUna >= recover && ++dupAcks === 3) {
        goBack();
        return;
      }
      if (sndUna === totalBytes) {
        clearInterval(watchdog);
        send(RST, iss + 1 + sndNxt, 0);
        card.setFrameHandler(() => {});
        resolve(retransmits);
        return;
      }
      pump();
    });
    card.onDrain(pump);
    // SYN with MSS 1460 and window scale 7 (RFC 9293 §3.7.1, RFC 7323 §2).
    hdr.set([2, 4, MSS >> 8, MSS & 0xff, 1, 3, 3, 7], HDR);
    send(SYN, iss, 0, 8);
  });
}

async function main(): Promise<void> {
  const spaces = new BenchNamespaces();
  const ns = spaces.add('tso');
  const contenders: Contender[] = [];
  let server: ChildProcess | undefined;
  spaces.beforeDelete(async () => {
    server?.kill();
    await Promise.all(contenders.map((c) => c.card.close()));
  });
  const runs: Run[] = [];
  try {
    const specs = [
      { name: 'plain', tap: 'xtso0', net: '198.18.95', tso: false, txThread: false },
      { name: 'vnet', tap: 'xtso1', net: '198.18.96', tso: true, txThread: false },
      { name: 'tso', tap: 'xtso1', net: '198.18.96', tso: true, txThread: false },
      { name: 'tso-thread', tap: 'xtso2', net: '198.18.97', tso: true, txThread: true },
    ] as const;
    for (const s of specs) {
      const shared = contenders.find((c) => c.card.name === s.tap);
      if (shared !== undefined) {
        contenders.push({ ...shared, name: s.name });
        continue;
      }
      const cfg = { name: s.tap, hostAddress: `${s.net}.1/24`, mtuBytes: 1500, attach: false, tso: s.tso, txThread: s.txThread };
      const card = (await openNic(cfg, { backend: 'tap', netns: ns })) as NativeCard;
      sh('ip', '-n', ns, 'neigh', 'replace', `${s.net}.2`, 'lladdr', [...card.mac].map((b) => b.toString(16).padStart(2, '0')).join(':'), 'dev', s.tap, 'nud', 'permanent');
      contenders.push({ name: s.name, card, hostAddr: parseIpv4(`${s.net}.1`)!, machineAddr: parseIpv4(`${s.net}.2`)!, hostMac: card.hostLink().mac });
    }
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.once('data', () => resolve());
      server!.once('exit', (code) => reject(new Error(`receiver exited (${code})`)));
    });
    let port = 40_000;
    for (let round = 1; round <= rounds; round++) {
      for (const c of contenders) {
        const before = c.card.counters();
        const jiffies0 = busyJiffies();
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        const retransmits = await stream(c, port++);
        const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
        const cpu = process.cpuUsage(cpu0);
        const machineUs = (busyJiffies() - jiffies0) * JIFFY_US;
        const after = c.card.counters();
        const mib = totalBytes / (1024 * 1024);
        runs.push({
          contender: c.name,
          round,
          bytes: totalBytes,
          wallMs,
          mibPerSecond: mib / (wallMs / 1000),
          machineCpuUsPerMib: machineUs / mib,
          processCpuUsPerMib: (cpu.user + cpu.system) / mib,
          writevsPerMib: (after.txFrames - before.txFrames) / mib,
          retransmits,
        });
        console.error(`round ${round} ${c.name}: ${fmt(mib / (wallMs / 1000))} MiB/s`);
      }
    }
  } finally {
    await spaces.deleteAll();
  }
  const names = ['plain', 'vnet', 'tso', 'tso-thread'];
  const byName = (n: string): Run[] => runs.filter((r) => r.contender === n);
  const ratio = (n: string, field: keyof Run): number =>
    median(byName(n).map((r, i) => (r[field] as number) / (byName('plain')[i]![field] as number)));
  const summary = names.map((n) => ({
    contender: n,
    mibPerSecond: median(byName(n).map((r) => r.mibPerSecond)),
    throughputRatioToPlain: ratio(n, 'mibPerSecond'),
    machineCpuUsPerMib: median(byName(n).map((r) => r.machineCpuUsPerMib)),
    machineCpuRatioToPlain: ratio(n, 'machineCpuUsPerMib'),
    processCpuUsPerMib: median(byName(n).map((r) => r.processCpuUsPerMib)),
    writevsPerMib: median(byName(n).map((r) => r.writevsPerMib)),
    retransmits: byName(n).reduce((x, r) => x + r.retransmits, 0),
  }));
  const machine = machineInfo(
    `one TCP connection per run from the card to a Linux receiver on the TAP's host side, ${args.mib} MiB each; contenders interleaved, ${rounds} rounds; medians, and medians of per-round ratios to plain`,
  );
  const md = [
    ...machineHeader('TSO on the TAP card: one TCP stream into the host', machine),
    markdownTable(
      ['contender', 'MiB/s', '× plain', 'machine CPU µs/MiB', '× plain', 'exolinux process CPU µs/MiB', 'writevs/MiB', 'go-back-N (all rounds)'],
      summary.map((s) => [
        s.contender,
        fmt(s.mibPerSecond),
        fmt(s.throughputRatioToPlain, 2),
        fmt(s.machineCpuUsPerMib),
        fmt(s.machineCpuRatioToPlain, 2),
        fmt(s.processCpuUsPerMib),
        fmt(s.writevsPerMib, 1),
        s.retransmits,
      ]),
    ),
    '',
  ].join('\n');
  writeResults(args.out, 'tso-stream', machine, { summary, runs }, md);
}

runMain(main);
