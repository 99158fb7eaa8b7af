/**
 * `checkTrie`: the consistency checker (Xok's `consistency.c` `dpf_check`), run by the tests
 * after every mutation. It recomputes from scratch everything the trie keeps incrementally and
 * reports each disagreement as one line; an empty list means consistent.
 */
import { emitUnit, layoutUnit, type UnitCompiler } from './codegen.js';
import { ROW_START } from './hash-table.js';
import { interpretUnit } from './interp.js';
import { compareField } from './lang/normalize.js';
import { NODE_EQ, NODE_HASH, NODE_ROOT, NODE_SHIFT, type Trie, type TrieNode, holderOf, successors } from './trie.js';

/** A unit head's code against what it should be now: shape, nodes, row and nested tables. */
function checkUnit(trie: Trie, head: TrieNode, compiler: UnitCompiler, maxUnitChars: number): string[] {
  if (head.fn === null || head.reg === null) return ['unit head without code'];
  const holder = holderOf(trie, head);
  const idx = holder.find(head.v);
  if (idx < 0 || holder.at(idx) !== head) return ['unit head not found in its holder table'];
  const row = holder.rows.subarray(idx * holder.stride + ROW_START, (idx + 1) * holder.stride);
  const problems: string[] = [];
  if (holder.shapes[row[0] as number] !== head.fn) problems.push('row names another function');
  if (row[1] !== head.fid) problems.push(`row has head id ${row[1]}, node ${head.fid}`);
  const layout = layoutUnit(head);
  const source = emitUnit(head, layout, maxUnitChars);
  if (head.fn === interpretUnit) {
    if (source !== null) problems.push('interpreted unit that fits the budget');
    return problems;
  }
  if (head.unitKey !== layout.key) return [...problems, 'stale code (shape changed)'];
  if (source === null || compiler.sourceOf(layout.key) !== source) problems.push('cached source differs from a fresh emission');
  if (layout.reg.length !== head.reg.length || layout.reg.some((n, k) => head.reg?.[k] !== n)) problems.push('stale region');
  const tabs = holder.tabs[idx] ?? [];
  if (tabs.length !== layout.hashes.length || layout.hashes.some((h, k) => tabs[k] !== h.table)) problems.push('stale nested tables');
  layout.reg.forEach((n, k) => {
    if (k === 0) return;
    const c = layout.rowAt[k] as number;
    if (n.rowAt !== c) problems.push(`node ${k}: rowAt ${n.rowAt}, laid out at ${c}`);
    const want = n.kind === NODE_EQ ? [n.v, n.fid] : n.kind === NODE_SHIFT ? [n.fid] : [];
    want.forEach((w, d) => {
      if (row[c + d] !== w) problems.push(`node ${k}: row[${c + d}] = ${row[c + d]}, expected ${w}`);
    });
  });
  return problems;
}

/** What `checkTrie` compares the trie against. */
export interface CheckContext {
  /** Installed filters: id → [owner pid, node where the filter ends]. */
  readonly filters: ReadonlyMap<number, readonly [number, TrieNode]>;
  /** The compiler whose shape cache the unit heads use. */
  readonly compiler: UnitCompiler;
  /** Its unit size budget, in characters. */
  readonly maxUnitChars: number;
}

/**
 * Check: parent links; or-lists strictly ordered by `compareField` (no field twice); hash nodes
 * with ≥ 2 entries of their own field under the right keys; segments; reference counts equal
 * to the filters through each node; owner summaries; leaves end a filter; filter ids unique and
 * equal to the installed set; node count; every unit head has code matching its current shape
 * (a stale function after a structural change is caught here) and no other node has code;
 * shape-cache use counts.
 */
export function checkTrie(trie: Trie, ctx: CheckContext): string[] {
  const problems: string[] = [];
  const seen = new Map<number, TrieNode>();
  const users = new Map<string, number>();
  let nodes = 0;
  const where = (n: TrieNode): string => `node ${n.kind}@${n.offset}/w${n.width}/seg${n.seg}${n.fid !== 0 ? ` (#${n.fid})` : ''}`;

  /** Returns owner → filters count of the subtree. */
  const visit = (node: TrieNode, expectSeg: number): Map<number, number> => {
    const owners = new Map<number, number>();
    const add = (pid: number, k: number): void => void owners.set(pid, (owners.get(pid) ?? 0) + k);
    if (node.kind !== NODE_ROOT) {
      nodes++;
      if (node.seg !== expectSeg) problems.push(`${where(node)}: segment ${node.seg}, expected ${expectSeg}`);
    }
    if (node.fid !== 0) {
      if (seen.has(node.fid)) problems.push(`${where(node)}: filter id ${node.fid} appears twice`);
      seen.set(node.fid, node);
      add(node.fidOwner, 1);
      if (node.kind === NODE_HASH || node.kind === NODE_ROOT) problems.push(`${where(node)}: a hash node or the root carries a filter id`);
    }
    const kids = [...successors(node)];
    if (node.kind === NODE_HASH) {
      if (node.children.length !== 0) problems.push(`${where(node)}: hash node with an or-list`);
      if (node.table === null || node.table.size < 2) problems.push(`${where(node)}: hash node with ${node.table?.size ?? 0} entries`);
      for (const [key, e] of node.table?.entries() ?? []) {
        if (e.kind !== NODE_EQ || compareField(e, node) !== 0) problems.push(`${where(e)}: entry of another field than its hash node`);
        if (key !== e.v) problems.push(`${where(e)}: stored under key ${key}, value ${e.value}`);
      }
    } else {
      if (node.table !== null) problems.push(`${where(node)}: non-hash node with a table`);
      for (let i = 1; i < kids.length; i++) {
        if (compareField(kids[i - 1] as TrieNode, kids[i] as TrieNode) >= 0) problems.push(`${where(node)}: or-list out of order at ${i}`);
      }
      if (kids.length === 0 && node.kind !== NODE_ROOT && node.fid === 0) problems.push(`${where(node)}: leaf without a filter`);
    }
    let refs = node.fid !== 0 ? 1 : 0;
    for (const c of kids) {
      if (c.parent !== node) problems.push(`${where(c)}: wrong parent link`);
      if (c.kind === NODE_ROOT || (c.kind !== NODE_EQ && c.kind !== NODE_SHIFT && c.kind !== NODE_HASH)) problems.push(`${where(c)}: bad kind`);
      if (node.kind === NODE_HASH && c.kind !== NODE_EQ) problems.push(`${where(c)}: hash entry is not an eq node`);
      refs += c.refs;
      for (const [pid, k] of visit(c, node.kind === NODE_HASH ? node.seg : node.childSeg)) add(pid, k);
    }
    if (node.refs !== refs) problems.push(`${where(node)}: refs ${node.refs}, counted ${refs}`);
    const summary = node.ownerCounts ?? (node.refs > 0 ? new Map([[node.ownerPid, node.refs]]) : new Map<number, number>());
    if (node.ownerCounts !== null && node.ownerCounts.size < 2) problems.push(`${where(node)}: owner map with one owner`);
    if (summary.size !== owners.size || [...owners].some(([pid, k]) => summary.get(pid) !== k)) {
      problems.push(`${where(node)}: owners ${JSON.stringify([...summary])}, counted ${JSON.stringify([...owners])}`);
    }
    if (node.isUnitHead) {
      for (const problem of checkUnit(trie, node, ctx.compiler, ctx.maxUnitChars)) problems.push(`${where(node)}: ${problem}`);
      if (node.unitKey !== null) users.set(node.unitKey, (users.get(node.unitKey) ?? 0) + 1);
    } else if (node.fn !== null || node.reg !== null || node.unitKey !== null) {
      problems.push(`${where(node)}: code on a node that is not a unit head`);
    }
    return owners;
  };
  visit(trie.root, 0);

  if (trie.root.parent !== null) problems.push('root has a parent');
  if (nodes !== trie.nodes) problems.push(`node count ${trie.nodes}, counted ${nodes}`);
  for (const [fid, [pid, end]] of ctx.filters) {
    const at = seen.get(fid);
    if (at !== end) problems.push(`filter #${fid}: not at its recorded node`);
    else if (end.fidOwner !== pid) problems.push(`filter #${fid}: owner ${end.fidOwner}, recorded ${pid}`);
  }
  for (const fid of seen.keys()) if (!ctx.filters.has(fid)) problems.push(`filter #${fid}: in the trie but not installed`);
  for (const { key, users: u } of ctx.compiler.shapes()) {
    if (u !== (users.get(key) ?? 0)) problems.push(`shape cache: ${u} users recorded, ${users.get(key) ?? 0} found`);
  }
  return problems;
}
