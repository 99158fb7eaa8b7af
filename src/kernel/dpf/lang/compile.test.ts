import { describe, expect, it } from 'vitest';
import { parseFilterBinary } from './binary.js';
import { DPF_BOGUSOP, DPF_NILFILTER } from './codes.js';
import { compileFilter } from './compile.js';

describe('compileFilter (what POST /v1/dpf/compile answers)', () => {
  it('gives text, canonical atoms, binary and log for DPF text', () => {
    const r = compileFilter('eq16 26 0xc612 ; eq16 28 1 # peer', 'dpf');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [f] = r.filters;
    expect(f?.text).toBe('eq16 26 0xc612; eq16 28 0x0001');
    expect(f?.canonical).toBe('eq32 @26 0xc6120001');
    expect(f?.log).toEqual(['atom 0: eq16 26 0xc612: ok, bytes 26…27 of segment 0', 'atom 1: eq16 28 0x0001: ok, bytes 28…29 of segment 0', 'verified: 2 atoms, 1 segment']);
    expect(parseFilterBinary(f?.binary ?? new Uint8Array())).toEqual({ ok: true, ast: { atoms: f?.filter.atoms } });
  });

  it('gives one entry per alternative of a pcap-like expression', () => {
    const r = compileFilter('udp port 53', 'pcap');
    expect(r.ok && r.filters.map((f) => f.canonical)).toEqual([
      'eq16 @12 0x0800; eq16 @20 &0x1fff =0x0000; eq8 @23 0x11; shift8 @14 &0x0f <<2; eq16 @14 0x0035',
      'eq16 @12 0x0800; eq16 @20 &0x1fff =0x0000; eq8 @23 0x11; shift8 @14 &0x0f <<2; eq16 @16 0x0035',
    ]);
  });

  it('refuses with code, reason and the log so far', () => {
    expect(compileFilter('eq8 0 1; eq8 0 2', 'dpf')).toEqual({
      ok: false,
      code: DPF_BOGUSOP,
      reason: 'atom 1: contradicts atom 0 on byte 0 of segment 0, so the filter can never match',
      log: ['atom 0: eq8 0 0x01: ok, bytes 0…0 of segment 0', 'atom 1: eq8 0 0x02: refused: contradicts atom 0 on byte 0 of segment 0, so the filter can never match'],
    });
    expect(compileFilter('', 'dpf')).toMatchObject({ ok: false, code: DPF_NILFILTER });
    expect(compileFilter('eq8 0 "x"', 'dpf')).toMatchObject({ ok: false, code: DPF_BOGUSOP, reason: '1:7: unexpected character "\\""' });
    expect(compileFilter('not tcp', 'pcap')).toMatchObject({ ok: false, code: undefined, reason: expect.stringContaining("'not' cannot be expressed") });
  });
});
