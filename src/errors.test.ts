import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonError, ERROR_CODES, isDaemonError } from './errors.js';
import { packageRoot } from './util/package-root.js';

describe('error registry', () => {
  const doc = readFileSync(join(packageRoot(), 'docs', 'errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])] as const);

  it('docs/errors.md documents every code with its HTTP status, and nothing else', () => {
    expect(Object.fromEntries(rows)).toEqual(ERROR_CODES);
    expect(rows.length).toBe(Object.keys(ERROR_CODES).length);
  });

  it('DaemonError carries code, status and cause', () => {
    const cause = new Error('boom');
    const e = new DaemonError('NIC_ERR_TAP_BUSY', 'exo0 busy', { cause });
    expect(e.code).toBe('NIC_ERR_TAP_BUSY');
    expect(e.httpStatus).toBe(409);
    expect(e.cause).toBe(cause);
    expect(isDaemonError(e, 'NIC_ERR_TAP_BUSY')).toBe(true);
    expect(isDaemonError(e, 'NIC_ERR_IOCTL')).toBe(false);
    expect(isDaemonError(new Error('x'))).toBe(false);
  });
});
