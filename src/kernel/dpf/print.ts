/**
 * Printers of the merged trie: indented text (golden tests, `GET /v1/dpf/trie?format=text`) and
 * Graphviz DOT (`format=dot`). Hash entries are listed by ascending value so the output does
 * not depend on insertion order.
 *
 * ```text
 * root (3 filters)
 *   hash16 @12 [2] (refs 3)
 *     = 0x0800 (refs 2)
 *       eq8 @23 0x06 -> #2 (refs 2)
 *         shift8 @14 &0x0f <<2 (refs 1)
 *           eq16 @b1+16 0x0050 -> #3 (refs 1)
 *     = 0x0806 -> #1 (refs 1)
 * ```
 * Offsets after the k-th shift are relative to base `bk`.
 */
import { fullMask, hex } from './lang/ast.js';
import { formatNormalAtom } from './lang/normalize.js';
import { NODE_HASH, type Trie, type TrieNode } from './trie.js';

function sortedEntries(node: TrieNode): TrieNode[] {
  return [...(node.table?.values() ?? [])].sort((a, b) => a.value - b.value);
}

function suffix(node: TrieNode): string {
  return `${node.fid !== 0 ? ` -> #${node.fid}` : ''} (refs ${node.refs})`;
}

/** The node's own line, without id and counts. */
function nodeLabel(node: TrieNode): string {
  const base = node.seg === 0 ? '' : `b${node.seg}+`;
  if (node.kind === NODE_HASH) {
    const masked = node.mask === fullMask(node.width) ? '' : ` &${hex(node.mask, node.width)}`;
    return `hash${node.width} @${base}${node.offset}${masked} [${node.table?.size ?? 0}]`;
  }
  return formatNormalAtom(node, base);
}

/** The trie as indented text. */
export function printTrieText(trie: Trie): string {
  const lines = [`root (${trie.root.refs} filter${trie.root.refs === 1 ? '' : 's'})`];
  const visit = (node: TrieNode, depth: number, entry: boolean): void => {
    const pad = '  '.repeat(depth);
    lines.push(`${pad}${entry ? `= ${hex(node.value, node.width)}` : nodeLabel(node)}${suffix(node)}`);
    for (const c of node.kind === NODE_HASH ? sortedEntries(node) : node.children) visit(c, depth + 1, node.kind === NODE_HASH);
  };
  for (const c of trie.root.children) visit(c, 1, false);
  return `${lines.join('\n')}\n`;
}

/** The trie as a Graphviz digraph: or-list edges numbered in trial order, hash entries labelled by value. */
export function printTrieDot(trie: Trie): string {
  const lines = ['digraph dpf {', '  node [shape=box, fontname="monospace"];', `  n0 [label="root (${trie.root.refs})"];`];
  let next = 1;
  const visit = (node: TrieNode, parentId: number, edge: string, entry: boolean): void => {
    const id = next++;
    const label = `${entry ? `= ${hex(node.value, node.width)}` : nodeLabel(node)}${suffix(node)}`;
    lines.push(`  n${id} [label=${JSON.stringify(label)}${node.kind === NODE_HASH ? ', shape=folder' : ''}];`);
    lines.push(`  n${parentId} -> n${id} [label=${JSON.stringify(edge)}];`);
    if (node.kind === NODE_HASH) for (const e of sortedEntries(node)) visit(e, id, hex(e.value, e.width), true);
    else node.children.forEach((c, i) => visit(c, id, String(i + 1), false));
  };
  trie.root.children.forEach((c, i) => visit(c, 0, String(i + 1), false));
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
