/**
 * Protection: may a new filter of owner `pid` be installed without taking packets another
 * owner's filter accepts? (Xok refused only exact duplicates; see docs/dpf.md, "Protection".)
 *
 * Two filters *intersect* when some frame could be accepted by both. Decided conservatively
 * (a "yes" may be a false alarm, a "no" is always right) over canonical filters, segment by
 * segment: while both filters have gone through the same shift atoms their segments share a
 * base, and they are disjoint when some byte must hold different bits in the two. Once their
 * shift atoms differ (or one has a shift the other lacks), the bases are unrelated and the rest
 * of both filters is taken to be compatible.
 *
 * The check walks the trie once, pruning every subtree whose filters all belong to `pid` (each
 * node keeps its owners) and using hash tables when the new filter fixes the hashed field, so a
 * per-connection filter costs about one path, not one comparison per installed filter.
 */
import { SegmentBytes, compatibleWith, determinedValue } from './lang/bytes.js';
import { ATOM_SHIFT, type NormalAtom, compareField } from './lang/normalize.js';
import { findPath } from './merge.js';
import { NODE_EQ, NODE_HASH, type Trie, type TrieNode, hasForeign, successors } from './trie.js';

/** Why a filter may not be installed. `fid` is 0 when the other filter was not singled out. */
export interface OverlapConflict {
  readonly kind: 'duplicate' | 'intersects';
  readonly fid: number;
  readonly ownerPid: number;
}

/** Nodes visited at most to name the filter a refused one intersects. */
const NAME_BUDGET = 4096;

interface Walk {
  readonly pid: number;
  readonly segs: readonly SegmentBytes[];
  readonly shifts: readonly NormalAtom[];
}

/** A foreign filter below `node` (which has one), found within {@link NAME_BUDGET} nodes. */
function foreignBelow(node: TrieNode, pid: number): OverlapConflict {
  const stack = [node];
  for (let seen = 0; stack.length > 0 && seen < NAME_BUDGET; seen++) {
    const n = stack.pop() as TrieNode;
    if (n.fid !== 0 && n.fidOwner !== pid) return { kind: 'intersects', fid: n.fid, ownerPid: n.fidOwner };
    for (const c of successors(n)) if (hasForeign(c, pid)) stack.push(c);
  }
  let owner = node.ownerPid;
  if (node.ownerCounts !== null) for (const o of node.ownerCounts.keys()) if (o !== pid) owner = o;
  return { kind: 'intersects', fid: 0, ownerPid: owner };
}

/** After the atom of `node` held: its own filter, then its successors in segment `k`. */
function inside(node: TrieNode, k: number, w: Walk): OverlapConflict | null {
  if (node.fid !== 0 && node.fidOwner !== w.pid) return { kind: 'intersects', fid: node.fid, ownerPid: node.fidOwner };
  return walk(node.children, k, w);
}

function walk(list: Iterable<TrieNode>, k: number, w: Walk): OverlapConflict | null {
  const seg = w.segs[k] as SegmentBytes;
  for (const node of list) {
    if (!hasForeign(node, w.pid)) continue;
    let found: OverlapConflict | null = null;
    if (node.kind === NODE_EQ) {
      if (compatibleWith(seg, node.offset, node.width, node.mask, node.value)) found = inside(node, k, w);
    } else if (node.kind === NODE_HASH) {
      const key = determinedValue(seg, node.offset, node.width, node.mask);
      if (key >= 0) {
        const entry = node.table?.get(key | 0);
        if (entry !== undefined && hasForeign(entry, w.pid)) found = inside(entry, k, w);
      } else {
        for (const entry of successors(node)) {
          if (!hasForeign(entry, w.pid) || !compatibleWith(seg, entry.offset, entry.width, entry.mask, entry.value)) continue;
          found = inside(entry, k, w);
          if (found !== null) break;
        }
      }
    } else {
      const mine = w.shifts[k];
      found = mine !== undefined && compareField(node, mine) === 0 ? inside(node, k + 1, w) : foreignBelow(node, w.pid);
    }
    if (found !== null) return found;
  }
  return null;
}

/** The byte constraints of each segment of canonical `atoms` (segment k lies after the k-th shift atom). */
function segmentsOf(atoms: readonly NormalAtom[]): SegmentBytes[] {
  const segs = [new SegmentBytes()];
  for (const a of atoms) {
    if (a.kind === ATOM_SHIFT) segs.push(new SegmentBytes());
    else (segs[segs.length - 1] as SegmentBytes).add(a.offset, a.width, a.mask, a.value);
  }
  return segs;
}

/**
 * Why the canonical filter `atoms` of owner `pid` may not join the trie — an exact duplicate
 * (of any owner) or an intersection with another owner's filter — or null when it may.
 * `segments` are its byte constraints per segment (`normalizeWithSegments`); when null they are
 * rebuilt from `atoms`, and only if some installed filter belongs to another owner.
 */
export function findOverlap(trie: Trie, atoms: readonly NormalAtom[], segments: readonly SegmentBytes[] | null, pid: number): OverlapConflict | null {
  const same = findPath(trie, atoms);
  if (same !== undefined && same.fid !== 0) return { kind: 'duplicate', fid: same.fid, ownerPid: same.fidOwner };
  // Every filter passes through the root: none of another owner there, none anywhere.
  if (!hasForeign(trie.root, pid)) return null;
  const shifts = atoms.filter((a) => a.kind === ATOM_SHIFT);
  return walk(trie.root.children, 0, { pid, segs: segments ?? segmentsOf(atoms), shifts });
}
