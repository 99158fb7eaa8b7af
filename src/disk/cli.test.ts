import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDiskCli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), `xn-cli-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDiskCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('exolinuxd disk', () => {
  it('formats, describes and checks a disk; refuses to overwrite without --force', async () => {
    const f = join(dir, 'a.db');
    expect((await run('format', f, '--size', '8M')).code).toBe(0);
    const info = await run('info', f);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.out)).toMatchObject({ blockCount: 2048, blockSizeBytes: 4096, formatVersion: 1, storedBlocks: 0 });
    expect((await run('check', f)).out).toMatch(/ok/);
    const again = await run('format', f);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/DISK_ERR_EXISTS/);
    expect((await run('format', f, '--blocks', '16', '--force')).code).toBe(0);
  });

  it('refuses foreign and missing files and bad usage with the right status', async () => {
    const t = join(dir, 't.txt');
    writeFileSync(t, 'not a disk');
    const r = await run('check', t);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not an ExoLinux disk/);
    expect((await run('info', t)).err).toMatch(/DISK_ERR_FOREIGN/);
    expect((await run('info', join(dir, 'missing.db'))).err).toMatch(/DISK_ERR_NOT_FOUND/);
    expect((await run('explode', t)).code).toBe(2);
    expect((await run('format', join(dir, 'x.db'), '--size', '5000')).code).toBe(2);
  });
});
