/**
 * One call from source text to everything the pipeline knows about it, without installing
 * anything — what `POST /v1/dpf/compile` answers: for DPF text or a pcap-like expression, each
 * resulting filter with its canonical text, canonical atoms, binary encoding and verifier log,
 * or the refusal with its code and reason.
 */
import { encodeFilterBinary } from './binary.js';
import type { DpfErrorCode } from './codes.js';
import { formatNormalFilter, normalize } from './normalize.js';
import { compilePcapExpression } from './pcap.js';
import { formatFilterText, parseFilterText } from './text.js';
import { type VerifiedFilter, verify } from './verify.js';

/** The syntax of the source: DPF text (`eq16 12 0x0800; …`) or a pcap-like expression. */
export type FilterSyntax = 'dpf' | 'pcap';

/** One compiled filter. */
export interface CompiledFilter {
  readonly filter: VerifiedFilter;
  /** Canonical DPF text of the filter as written. */
  readonly text: string;
  /** Its canonical atoms (what the trie holds). */
  readonly canonical: string;
  /** The binary encoding a process copies into the kernel. */
  readonly binary: Uint8Array;
  /** The verifier's log. */
  readonly log: readonly string[];
}

/** Result of {@link compileFilter}. */
export type CompileReport =
  | { readonly ok: true; readonly filters: readonly CompiledFilter[] }
  | { readonly ok: false; readonly code: DpfErrorCode | undefined; readonly reason: string; readonly log: readonly string[] };

/** Compile `source` in `syntax`; never throws. A pcap-like expression may give several filters. */
export function compileFilter(source: string, syntax: FilterSyntax): CompileReport {
  let filters: VerifiedFilter[];
  if (syntax === 'pcap') {
    const r = compilePcapExpression(source);
    if (!r.ok) return { ok: false, code: undefined, reason: r.reason, log: [] };
    filters = [...r.filters];
  } else {
    const p = parseFilterText(source);
    if (!p.ok) return { ok: false, code: p.code, reason: p.reason, log: p.log };
    const v = verify(p.ast);
    if (!v.ok) return { ok: false, code: v.code, reason: v.reason, log: v.log };
    filters = [v.filter];
  }
  return {
    ok: true,
    filters: filters.map((filter) => ({
      filter,
      text: formatFilterText(filter),
      canonical: formatNormalFilter(normalize(filter)),
      binary: encodeFilterBinary(filter),
      log: verify(filter).log,
    })),
  };
}
