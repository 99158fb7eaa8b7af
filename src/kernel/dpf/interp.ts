/**
 * The reference semantics of the trie (Xok's `interp.c`), written for clarity: the generated
 * code must agree with it on every frame, and it serves as the code of any unit too large to
 * compile.
 *
 * `search(list)`: try the or-list in order; for a node whose atom holds, search its children
 * (a shift moves the base first) and return what they find, else the node's own filter id if it
 * has one, else go on with the next sibling. A hash node looks its field up and does the same
 * with the entry found. So the deeper (longer) filter wins on a path, a shorter one's id is
 * returned as soon as the deeper match fails, and earlier siblings win over later ones.
 *
 * Loads are big-endian and bounds-checked: an atom whose bytes are not all below `len` fails,
 * and a shift fails when the new base lies past `len`.
 */
import type { UnitFn } from './hash-table.js';
import { NODE_EQ, NODE_HASH, NODE_SHIFT, type TrieNode } from './trie.js';

/** Unsigned big-endian load of `bytes` bytes at `at` (the caller checked the bounds). */
export function loadBE(p: Uint8Array, at: number, bytes: number): number {
  let v = 0;
  for (let k = 0; k < bytes; k++) v = v * 256 + (p[at + k] as number);
  return v;
}

/** `x & mask` for unsigned 32-bit numbers, unsigned. */
export function and32(x: number, mask: number): number {
  return (x & mask) >>> 0;
}

/** Filter id found in `list` (nodes relative to `base`) for frame `p` of `len` bytes, or 0. */
export function searchList(list: Iterable<TrieNode>, p: Uint8Array, len: number, base: number): number {
  for (const node of list) {
    const bytes = node.width / 8;
    const at = base + node.offset;
    if (at + bytes > len) continue;
    const x = and32(loadBE(p, at, bytes), node.mask);
    let hit: TrieNode | undefined;
    let next = base;
    if (node.kind === NODE_EQ) {
      if (x === node.value) hit = node;
    } else if (node.kind === NODE_HASH) {
      hit = node.table?.get(x | 0);
    } else if (node.kind === NODE_SHIFT) {
      next = base + x * 2 ** node.shift;
      if (next <= len) hit = node;
    }
    if (hit === undefined) continue;
    const r = searchList(hit.children, p, len, next);
    if (r !== 0) return r;
    if (hit.fid !== 0) return hit.fid;
  }
  return 0;
}

/**
 * A unit function that interprets its head's subtree: the code of a unit whose source would
 * exceed the size budget. Its head is entry `i` of the table `h` that holds it.
 */
export const interpretUnit: UnitFn = (p, n, b, h, i) => {
  const head = h.at(i) as TrieNode;
  const r = searchList(head.children, p, n, b);
  return r !== 0 ? r : head.fid;
};
