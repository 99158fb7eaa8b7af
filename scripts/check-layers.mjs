#!/usr/bin/env node
// Enforces the layering of DESIGN.md §2: which folder of src/ may import which, so that
// "Cheetah reaches the kernel only through syscalls" is checked, not hoped for. Also confines
// dynamic code (`new Function`, `eval`) to the DPF code generator.
//
// Usage: node scripts/check-layers.mjs   (exit 1 and one line per violation)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Layer of a file: its path under src/ up to the first level that has rules. */
const RULES = [
  // [layer prefix, allowed import prefixes (besides itself)]
  ['src/wire/', []],
  ['src/util/', []],
  ['src/errors.ts', []],
  ['src/config/', ['src/util/', 'src/errors.ts']],
  ['src/nic/', ['src/util/', 'src/errors.ts', 'src/wire/']],
  ['src/disk/', ['src/util/', 'src/errors.ts']],
  // A user process sees only the ABI (numbers, structs, the libc wrapper) and pure libraries.
  // The DPF filter language is what a process writes and the kernel verifies: a pure library
  // (like src/wire) that user code may link.
  ['src/kernel/dpf/lang/', ['src/wire/']],
  ['src/kernel/abi/', ['src/util/', 'src/wire/', 'src/kernel/dpf/lang/']],
  ['src/cheetah/', ['src/kernel/abi/', 'src/kernel/dpf/lang/', 'src/util/', 'src/wire/']],
  ['src/programs/', ['src/kernel/abi/', 'src/kernel/dpf/lang/', 'src/util/', 'src/wire/', 'src/cheetah/']],
  ['src/kernel/', ['src/nic/', 'src/disk/', 'src/util/', 'src/errors.ts', 'src/wire/', 'src/config/']],
  ['src/admin/', ['src/kernel/', 'src/nic/', 'src/disk/', 'src/cheetah/', 'src/programs/', 'src/util/', 'src/errors.ts', 'src/wire/', 'src/config/']],
];
const DYNAMIC_CODE_ALLOWED = ['src/kernel/dpf/codegen.ts'];

function layerOf(rel) {
  for (const [prefix, allowed] of RULES) if (rel === prefix || rel.startsWith(prefix)) return { prefix, allowed };
  return undefined; // src/main.ts, src/machine.ts: may import anything
}

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

export function checkLayers(root) {
  const problems = [];
  const srcDir = join(root, 'src');
  for (const file of walk(srcDir, [])) {
    const rel = relative(root, file).split(sep).join('/');
    const text = readFileSync(file, 'utf8');
    const layer = layerOf(rel);
    if (/\bnew\s+Function\s*\(|(?<![.\w])eval\s*\(/.test(text.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')) && !DYNAMIC_CODE_ALLOWED.includes(rel)) {
      problems.push(`${rel}: dynamic code (new Function/eval) outside ${DYNAMIC_CODE_ALLOWED.join(', ')}`);
    }
    if (layer === undefined) continue;
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec.startsWith('.')) continue; // packages: checked by review, not here
      const target = relative(root, resolve(dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '.ts');
      if (target.startsWith(layer.prefix)) continue;
      if (layer.allowed.some((a) => target === a || target.startsWith(a))) continue;
      problems.push(`${rel}: imports ${target}, outside what ${layer.prefix} may use (${layer.allowed.join(', ') || 'nothing'})`);
    }
  }
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const problems = checkLayers(root);
  for (const p of problems) console.error(p);
  if (problems.length > 0) process.exit(1);
  console.log('layers: ok');
}
