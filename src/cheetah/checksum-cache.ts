/**
 * Precomputed checksums for cached documents (facts §3.2 item 3), kept beside the document cache.
 *
 * A response is the head (H bytes, padded to an even length) followed by the body; TCP cuts it
 * into MSS-sized segments from the response's first byte. The first segment carries the head and
 * body bytes [0, MSS − H); segment k ≥ 1 carries body bytes [k·MSS − H, (k+1)·MSS − H). So for a
 * (document, H, MSS) triple the body from MSS − H on splits into MSS-sized chunks that are
 * exactly the later segments' payloads, and their unfolded RFC 1071 sums can be computed once and
 * reused for every response: the stack then adds only the pseudo-header and TCP header. A segment
 * that does not line up (a window smaller than the MSS, a response that does not start a segment,
 * a retransmission cut differently) is summed at send time by the stack, so the table is only
 * ever a shortcut, never a correctness risk.
 *
 * Tables hang off the body's array object (weakly): a cached document hands out the same array
 * for every full response, so they live as long as the document stays cached.
 */
import { precomputeChecksums, type RangeChecksums } from './net/index.js';

/** Bodies shorter than this are summed at send time: at most one segment after the first. */
const MIN_BODY_BYTES = 4096;
/** Tables kept per body (one per head length and MSS seen). */
const MAX_TABLES_PER_BODY = 8;

/** Counters of the cache. */
export interface ChecksumCacheStats {
  /** Tables computed (one pass over the body each). */
  tablesComputed: number;
  /** Responses that were given a table already computed. */
  tableHits: number;
}

export class ChecksumCache {
  readonly stats: ChecksumCacheStats = { tablesComputed: 0, tableHits: 0 };
  readonly #tables = new WeakMap<Uint8Array, Map<number, RangeChecksums>>();

  /**
   * The table for `body` sent after a head of `headLen` bytes on a connection of MSS `mss`:
   * sums of body chunks starting at `mss − headLen`. Undefined when not worth it (short body, a
   * head that fills the first segment).
   */
  lookup(body: Uint8Array, headLen: number, mss: number): RangeChecksums | undefined {
    const first = mss - headLen;
    if (first <= 0 || body.length < MIN_BODY_BYTES || body.length <= first) return undefined;
    const key = mss * 65_536 + headLen;
    let tables = this.#tables.get(body);
    const hit = tables?.get(key);
    if (hit !== undefined) {
      this.stats.tableHits++;
      return hit;
    }
    if (tables === undefined) {
      tables = new Map();
      this.#tables.set(body, tables);
    } else if (tables.size >= MAX_TABLES_PER_BODY) {
      tables.clear();
    }
    const t = precomputeChecksums(body, first, body.length - first, mss);
    tables.set(key, t);
    this.stats.tablesComputed++;
    return t;
  }
}
