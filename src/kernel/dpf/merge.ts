/**
 * Merging a canonical filter into the trie and taking it out again (Xok's `dpf_merge` and
 * `dpf_delete`), with reference counts on every node. Each operation reports which units'
 * structure changed (their code must be rebuilt) and which nodes stopped being unit heads, so
 * the code generator touches only those.
 *
 * Merge rules, at each level: the same field with the same value descends; the same field with
 * a different value turns the node into a hash node (or adds an entry to one); anything else
 * starts a new chain, inserted into the or-list at its `compareField` place. A filter that ends
 * on an existing node puts its id there (the caller has refused duplicates before).
 *
 * Only structural changes dirty a unit: adding or removing an entry of an existing hash node
 * does not touch the code of the unit that holds the hash node (the per-connection case).
 */
import { type NormalAtom, compareField } from './lang/normalize.js';
import { HashTable } from './hash-table.js';
import { NODE_EQ, NODE_HASH, NODE_ROOT, type Trie, TrieNode, addOwner, atomNode, dropOwner, unitHeadOf } from './trie.js';

/**
 * What a mutation did to the code: units to rebuild, heads that are gone or inlined, and nodes
 * whose filter id changed in place (their row entry must follow).
 */
export interface TrieChange {
  readonly dirty: TrieNode[];
  readonly retired: TrieNode[];
  readonly fids: TrieNode[];
}

/** A fresh, empty change record. */
export function newChange(): TrieChange {
  return { dirty: [], retired: [], fids: [] };
}

/** Nodes for `atoms[from…]` as a chain below a parent whose children are in segment `seg`. */
function chain(trie: Trie, atoms: readonly NormalAtom[], from: number, seg: number): { head: TrieNode; tail: TrieNode } {
  const head = atomNode(atoms[from] as NormalAtom, seg);
  let tail = head;
  for (let i = from + 1; i < atoms.length; i++) {
    const n = atomNode(atoms[i] as NormalAtom, tail.childSeg);
    n.parent = tail;
    tail.children.push(n);
    tail = n;
  }
  trie.nodes += atoms.length - from;
  return { head, tail };
}

/** The node where a filter with exactly these atoms ends, if its whole path exists. */
export function findPath(trie: Trie, atoms: readonly NormalAtom[]): TrieNode | undefined {
  let node = trie.root;
  for (const a of atoms) {
    let next: TrieNode | undefined;
    for (const c of node.children) {
      const cmp = compareField(c, a);
      if (cmp > 0) break;
      if (cmp !== 0) continue;
      next = c.table !== null ? c.table.get(a.value | 0) : c.value === a.value ? c : undefined;
      break;
    }
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}

/**
 * Merge a canonical filter (at least one atom, no exact duplicate installed) under id `fid` of
 * owner `pid`. Returns the node where it ends; records code changes in `change`.
 */
export function mergeFilter(trie: Trie, atoms: readonly NormalAtom[], fid: number, pid: number, change: TrieChange): TrieNode {
  let node = trie.root;
  for (let i = 0; i < atoms.length; i++) {
    const a = atoms[i] as NormalAtom;
    const list = node.children;
    let pos = 0;
    let same: TrieNode | undefined;
    for (; pos < list.length; pos++) {
      const cmp = compareField(list[pos] as TrieNode, a);
      if (cmp === 0) same = list[pos];
      if (cmp >= 0) break;
    }
    if (same === undefined) {
      const { head, tail } = chain(trie, atoms, i, node.childSeg);
      head.parent = node;
      list.splice(pos, 0, head);
      change.dirty.push(unitHeadOf(node));
      node = tail;
      break;
    }
    if (same.kind === NODE_EQ && same.value === a.value) {
      node = same;
      continue;
    }
    if (same.kind === NODE_EQ) {
      // Same field, another constant: the node becomes a hash node with two entries.
      const hash = new TrieNode(NODE_HASH, same.width, same.offset, same.mask, 0, 0, same.seg);
      hash.table = new HashTable<TrieNode>();
      hash.refs = same.refs;
      hash.ownerPid = same.ownerPid;
      hash.ownerCounts = same.ownerCounts === null ? null : new Map(same.ownerCounts);
      hash.parent = node;
      list[pos] = hash;
      same.parent = hash;
      hash.table.set(same.v, same);
      trie.nodes++;
      change.dirty.push(unitHeadOf(node), same);
      const { head, tail } = chain(trie, atoms, i, same.seg);
      head.parent = hash;
      hash.table.set(head.v, head);
      change.dirty.push(head);
      node = tail;
      break;
    }
    if (same.kind === NODE_HASH) {
      const table = same.table as HashTable<TrieNode>;
      const entry = table.get(a.value | 0);
      if (entry !== undefined) {
        node = entry;
        continue;
      }
      const { head, tail } = chain(trie, atoms, i, same.seg);
      head.parent = same;
      table.set(head.v, head);
      change.dirty.push(head);
      node = tail;
      break;
    }
    node = same; // the same shift atom
  }
  node.fid = fid;
  node.fidOwner = pid;
  change.fids.push(node);
  for (let n: TrieNode | null = node; n !== null; n = n.parent) {
    addOwner(n, pid);
    n.refs++;
  }
  return node;
}

/**
 * Take out the filter that ends at `end` (its id and owner are read from it). Nodes whose count
 * drops to zero are unlinked at the topmost of them; a hash node left with one entry is
 * demoted back to that entry.
 */
export function unmergeFilter(trie: Trie, end: TrieNode, change: TrieChange): void {
  const pid = end.fidOwner;
  end.fid = 0;
  end.fidOwner = 0;
  let top: TrieNode | undefined;
  for (let n: TrieNode | null = end; n !== null; n = n.parent) {
    n.refs--;
    dropOwner(n, pid);
    if (n.refs === 0 && n.kind !== NODE_ROOT) top = n;
  }
  if (top === undefined) {
    change.fids.push(end);
    return;
  }
  let gone = 1;
  for (let n = end; n !== top; n = n.parent as TrieNode) gone++;
  trie.nodes -= gone;
  const parent = top.parent as TrieNode;
  top.parent = null;
  if (parent.kind !== NODE_HASH) {
    parent.children.splice(parent.children.indexOf(top), 1);
    change.dirty.push(unitHeadOf(parent));
    return;
  }
  const table = parent.table as HashTable<TrieNode>;
  table.delete(top.v);
  change.retired.push(top);
  if (table.size > 1) return;
  // One entry left: it takes the hash node's place in the or-list.
  const last = table.values().next().value as TrieNode;
  const up = parent.parent as TrieNode;
  up.children[up.children.indexOf(parent)] = last;
  last.parent = up;
  parent.parent = null;
  trie.nodes--;
  change.retired.push(last);
  change.dirty.push(unitHeadOf(up));
}
