/**
 * Defence in depth for code generation: re-parse a generated unit with acorn and accept it only
 * if it is made of the template's node types, names and non-negative integer literals — the
 * "verifier on the JIT output" of docs/reliability-methods §2.6. The templates can only produce
 * such code; this catches a template bug before `new Function` runs it.
 */
import { parse } from 'acorn';

interface Node {
  readonly type: string;
  readonly [key: string]: unknown;
}

const PARAMS = ['p', 'n', 'b', 'h', 'i'];
const NAMES = new Set(PARAMS);
const LOCAL = /^(K|o|T|t|x|r|b[0-9]+)$/;
const PROPERTIES = new Set(['rows', 'stride', 'tabs', 'find', 'shapes']);
/** Properties whose value may be indexed. */
const INDEXABLE = new Set(['rows', 'tabs', 'shapes']);
const BINARY = new Set(['+', '*', '<=', '>=', '===', '!==', '&', '|', '<<', '>>>']);

class Refused extends Error {}

function fail(node: Node, why: string): never {
  throw new Refused(`${node.type} at ${String(node['start'])}: ${why}`);
}

function isNode(x: unknown): x is Node {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
}

function child(node: Node, key: string): Node {
  const c = node[key];
  if (!isNode(c)) fail(node, `missing ${key}`);
  return c;
}

function visitAll(list: unknown, parent: Node): void {
  if (!Array.isArray(list)) fail(parent, 'expected a list');
  for (const x of list) {
    if (!isNode(x)) fail(parent, 'bad list element');
    visit(x);
  }
}

function visit(node: Node): void {
  switch (node.type) {
    case 'BlockStatement':
      visitAll(node['body'], node);
      return;
    case 'IfStatement':
      if (node['alternate'] !== null) fail(node, 'else branch');
      visit(child(node, 'test'));
      visit(child(node, 'consequent'));
      return;
    case 'ReturnStatement':
      visit(child(node, 'argument'));
      return;
    case 'VariableDeclaration': {
      const decls = node['declarations'];
      if (node['kind'] !== 'const' || !Array.isArray(decls) || decls.length !== 1) fail(node, 'only single const declarations');
      const d = decls[0] as Node;
      const id = child(d, 'id');
      if (id.type !== 'Identifier' || !LOCAL.test(String(id['name']))) fail(d, 'declared name not allowed');
      visit(child(d, 'init'));
      return;
    }
    case 'BinaryExpression':
      if (!BINARY.has(String(node['operator']))) fail(node, `operator ${String(node['operator'])}`);
      visit(child(node, 'left'));
      visit(child(node, 'right'));
      return;
    case 'LogicalExpression':
      if (node['operator'] !== '&&') fail(node, `operator ${String(node['operator'])}`);
      visit(child(node, 'left'));
      visit(child(node, 'right'));
      return;
    case 'MemberExpression': {
      if (node['optional'] === true) fail(node, 'optional chaining');
      const object = child(node, 'object');
      const property = child(node, 'property');
      if (node['computed'] === true) {
        const base = object.type === 'Identifier' ? String(object['name']) : object.type === 'MemberExpression' && object['computed'] !== true ? String((object['property'] as Node)['name']) : '';
        if (base !== 'p' && base !== 'K' && base !== 'T' && !INDEXABLE.has(base)) fail(node, 'index into something not indexable');
        if (base === 'T' && property.type !== 'Literal') fail(node, 'T indexed by a non-literal');
        visit(object);
        visit(property);
        return;
      }
      if (property.type !== 'Identifier' || !PROPERTIES.has(String(property['name']))) fail(node, 'property not allowed');
      visit(object);
      return;
    }
    case 'CallExpression': {
      if (node['optional'] === true) fail(node, 'optional call');
      const callee = child(node, 'callee');
      const find = callee.type === 'MemberExpression' && callee['computed'] !== true && (callee['property'] as Node)['name'] === 'find';
      const shape =
        callee.type === 'MemberExpression' &&
        callee['computed'] === true &&
        (callee['object'] as Node).type === 'MemberExpression' &&
        ((callee['object'] as Node)['property'] as Node)['name'] === 'shapes';
      if (!find && !shape) fail(node, 'only .find() and shapes[…]() calls');
      visit(callee);
      visitAll(node['arguments'], node);
      return;
    }
    case 'Identifier': {
      const name = String(node['name']);
      if (!NAMES.has(name) && !LOCAL.test(name)) fail(node, `name ${JSON.stringify(name)}`);
      return;
    }
    case 'Literal': {
      const v = node['value'];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(node, 'only non-negative integer literals');
      return;
    }
    default:
      fail(node, 'node type not in the allow-list');
  }
}

/**
 * Check a unit body as `codegen.ts` generates it. Returns null when it uses only the template
 * language, else a description of the first thing that is not allowed.
 */
export function checkGeneratedSource(body: string): string | null {
  let program: Node;
  try {
    program = parse(`(function (p, n, b, h, i) {\n${body}\n})`, { ecmaVersion: 2022, sourceType: 'script' }) as unknown as Node;
  } catch (e) {
    return `does not parse: ${(e as Error).message}`;
  }
  try {
    const stmts = program['body'];
    if (!Array.isArray(stmts) || stmts.length !== 1) fail(program, 'one expression expected');
    const fn = child(stmts[0] as Node, 'expression');
    if (fn.type !== 'FunctionExpression' || fn['id'] !== null || fn['async'] === true || fn['generator'] === true) fail(fn, 'not the unit function');
    const params = fn['params'];
    if (!Array.isArray(params) || params.map((x) => (x as Node)['name']).join() !== PARAMS.join()) fail(fn, 'parameters changed');
    const body = child(fn, 'body');
    const list = body['body'];
    if (!Array.isArray(list) || list.length === 0) fail(body, 'empty body');
    const first = list[0] as Node;
    if (first.type !== 'ExpressionStatement' || first['directive'] !== 'use strict') fail(first, "must start with 'use strict'");
    visitAll(list.slice(1), body);
  } catch (e) {
    if (e instanceof Refused) return e.message;
    throw e;
  }
  return null;
}
