/**
 * The merged trie of all installed filters (Xok's `dpf_base`), as plain mutable nodes owned by
 * one engine. Each filter is a path of canonical atoms from the root; identical atoms are
 * shared; atoms that compare the same field with different constants hang in a hash node;
 * other siblings form an or-list ordered by `compareField`.
 *
 * A node is one of: the root; an eq atom; a shift atom; a hash node (a field and a table of eq
 * entries, each an eq node of that field with its own value). The root and every hash entry are
 * *unit heads*: each has its own generated function (`fn`) over the nodes below it down to the
 * next hash nodes (its region `reg`), so a hash node dispatches to an entry's code the way
 * Xok's generated code jumped through a table to the entry's label.
 */
import { HashTable, type UnitFn } from './hash-table.js';
import { ATOM_EQ, ATOM_SHIFT, type NormalAtom } from './lang/normalize.js';

/** Node kind: an eq atom (also every hash entry). Same number as the atom kind. */
export const NODE_EQ = ATOM_EQ;
/** Node kind: a shift atom. */
export const NODE_SHIFT = ATOM_SHIFT;
/** Node kind: a hash node (its field's comparisons with many constants). */
export const NODE_HASH = 2;
/** Node kind: the root. */
export const NODE_ROOT = 3;

/** One trie node. Numeric fields are unsigned, except `v`. */
export class TrieNode {
  readonly kind: number;
  readonly width: number;
  /** Byte offset of the load, relative to the base of segment `seg`. */
  readonly offset: number;
  readonly mask: number;
  readonly shift: number;
  /** Compared value (eq nodes), unsigned. */
  readonly value: number;
  /** `value | 0`: the int32 generated code compares against, and the hash key. */
  readonly v: number;
  /** Segment (number of shift atoms above) whose base this node's offset is relative to. */
  readonly seg: number;
  /** Id of the filter that ends here, or 0. */
  fid = 0;
  /** Owner pid of `fid`. */
  fidOwner = 0;
  /** Filters whose path passes through or ends here. */
  refs = 0;
  parent: TrieNode | null = null;
  /** Or-list of the atoms that follow (empty for hash nodes). */
  readonly children: TrieNode[] = [];
  /** Hash nodes: value → entry. */
  table: HashTable<TrieNode> | null = null;
  /** Unit heads: the unit's function (also listed in its holder table's `shapes`). */
  fn: UnitFn | null = null;
  /** Unit heads: the nodes of the unit, in emission order (`reg[0]` is the head). */
  reg: TrieNode[] | null = null;
  /** Unit heads: the source the function was generated from, or null when interpreted. */
  unitKey: string | null = null;
  /** Nodes inside a compiled unit: where their constants start in the unit's row. */
  rowAt = 0;
  /** Owner of every filter below, when there is one owner (see `ownerCounts`). */
  ownerPid = 0;
  /** Filters per owner below this node, once two owners meet here; else null. */
  ownerCounts: Map<number, number> | null = null;

  constructor(kind: number, width: number, offset: number, mask: number, shift: number, value: number, seg: number) {
    this.kind = kind;
    this.width = width;
    this.offset = offset;
    this.mask = mask;
    this.shift = shift;
    this.value = value;
    this.v = value | 0;
    this.seg = seg;
  }

  /** Segment of this node's children. */
  get childSeg(): number {
    return this.kind === NODE_SHIFT ? this.seg + 1 : this.seg;
  }

  /** True for the root and for hash entries: nodes with a generated function of their own. */
  get isUnitHead(): boolean {
    return this.kind === NODE_ROOT || (this.parent !== null && this.parent.kind === NODE_HASH);
  }
}

/** A node for a canonical atom in segment `seg`. */
export function atomNode(a: NormalAtom, seg: number): TrieNode {
  return new TrieNode(a.kind, a.width, a.offset, a.mask, a.shift, a.value, seg);
}

/** The unit head whose region holds `node`'s or-list. */
export function unitHeadOf(node: TrieNode): TrieNode {
  let n = node;
  while (!n.isUnitHead && n.parent !== null) n = n.parent;
  return n;
}

/** The trie: its root, the one-entry table holding the root unit's row, and the node count. */
export class Trie {
  readonly root = new TrieNode(NODE_ROOT, 0, 0, 0, 0, 0, 0);
  /** Holds the root unit's row as entry 0 (key 0), as a hash node holds its entries' rows. */
  readonly rootTable = new HashTable<TrieNode>();
  /** Nodes below the root (hash nodes included). */
  nodes = 0;

  constructor() {
    this.rootTable.set(0, this.root);
  }
}

/** The table that holds unit head `head`'s row (under the key `head.v`). */
export function holderOf(trie: Trie, head: TrieNode): HashTable<TrieNode> {
  return head.kind === NODE_ROOT ? trie.rootTable : (head.parent?.table as HashTable<TrieNode>);
}

/** Record one more filter of `pid` below `node`. Call before `node.refs++`. */
export function addOwner(node: TrieNode, pid: number): void {
  if (node.ownerCounts !== null) {
    node.ownerCounts.set(pid, (node.ownerCounts.get(pid) ?? 0) + 1);
  } else if (node.refs === 0) {
    node.ownerPid = pid;
  } else if (node.ownerPid !== pid) {
    node.ownerCounts = new Map([
      [node.ownerPid, node.refs],
      [pid, 1],
    ]);
  }
}

/** Record one filter of `pid` less below `node`. */
export function dropOwner(node: TrieNode, pid: number): void {
  const counts = node.ownerCounts;
  if (counts === null) return;
  const left = (counts.get(pid) ?? 0) - 1;
  if (left > 0) counts.set(pid, left);
  else counts.delete(pid);
  if (counts.size === 1) {
    node.ownerPid = counts.keys().next().value as number;
    node.ownerCounts = null;
  }
}

/** True when some filter below `node` belongs to an owner other than `pid`. */
export function hasForeign(node: TrieNode, pid: number): boolean {
  if (node.ownerCounts !== null) return node.ownerCounts.size > 1 || !node.ownerCounts.has(pid);
  return node.refs > 0 && node.ownerPid !== pid;
}

/** Entries of a hash node, or the children of any other node. */
export function successors(node: TrieNode): Iterable<TrieNode> {
  return node.table !== null ? node.table.values() : node.children;
}
