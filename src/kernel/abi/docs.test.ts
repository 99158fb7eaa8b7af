/**
 * docs/syscalls.md carries the system-call table rendered from the declarations; this test fails
 * when they drift. `UPDATE_DOCS=1 npx vitest run src/kernel/abi/docs.test.ts` rewrites the table.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../util/package-root.js';
import { SYSCALL_TABLE, type ArgSpec, type SyscallDecl } from './syscalls.js';

const BEGIN = '<!-- syscall-table:begin (generated from src/kernel/abi/syscalls.ts) -->';
const END = '<!-- syscall-table:end -->';

function arg(a: ArgSpec, all: readonly ArgSpec[]): string {
  switch (a.kind) {
    case 'buf': {
      const len = all[a.lenArg]?.name ?? '?';
      const size = a.scale === 'fdset' ? `fd_set(${len})` : a.scale === 1 ? `${len}` : `${len}×${a.scale}`;
      return `${a.dir} buf[${size}]${a.nullable ? '?' : ''} ${a.name}`;
    }
    case 'struct':
      return `${a.dir} struct[${a.bytes}]${a.nullable ? '?' : ''} ${a.name}`;
    case 'string':
      return `string[${a.maxBytes}] ${a.name}`;
    default:
      return `${a.kind} ${a.name}`;
  }
}

function row(d: SyscallDecl): string {
  const args = d.args.map((a) => arg(a, d.args)).join(', ');
  return `| ${d.nr} | \`${d.name}\` | ${args === '' ? '—' : args} | ${d.blocking ? 'yes' : ''} | ${d.owner}${d.errors === 'xn' ? ' (XN codes)' : ''} | ${d.doc} |`;
}

function renderTable(): string {
  const rows = [...SYSCALL_TABLE].sort((a, b) => a.nr - b.nr).map(row);
  return [BEGIN, '| nr | name | arguments | blocks | owner | what |', '|---:|---|---|---|---|---|', ...rows, END].join('\n');
}

describe('docs/syscalls.md', () => {
  it('lists every declared call exactly as the table declares it', () => {
    const path = join(packageRoot(), 'docs', 'syscalls.md');
    const doc = readFileSync(path, 'utf8');
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const current = doc.slice(start, end + END.length);
    if (process.env['UPDATE_DOCS'] === '1') writeFileSync(path, doc.replace(current, renderTable()));
    else expect(current).toBe(renderTable());
  });
});
