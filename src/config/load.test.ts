import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDaemonError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import { envOverrides, loadConfig, validateConfig } from './load.js';
import { ConfigSchema } from './schema.js';

describe('config', () => {
  it('the embedded default is valid: three cards exo0..exo2 on 198.18.<n>.0/24, admin on 127.0.0.1:8080', () => {
    const cfg = loadConfig();
    expect(cfg.nics.map((n) => [n.name, n.hostAddress, n.machineAddress, n.mtuBytes])).toEqual([
      ['exo0', '198.18.0.1/24', '198.18.0.2', 1500],
      ['exo1', '198.18.1.1/24', '198.18.1.2', 1500],
      ['exo2', '198.18.2.1/24', '198.18.2.2', 1500],
    ]);
    expect(cfg.admin).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(cfg.nicBackend).toBe('tap');
  });

  it('a file overrides the default, and EXOLINUX_* variables override the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exo-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ admin: { port: 9000 }, log: { level: 'debug' } }));
    const cfg = loadConfig({
      file,
      env: { EXOLINUX_ADMIN__PORT: '9100', EXOLINUX_NICS__1__MTU_BYTES: '9000', EXOLINUX_TEST_LOG: 'x', PATH: '/bin' },
    });
    expect(cfg.admin.port).toBe(9100);
    expect(cfg.log.level).toBe('debug');
    expect(cfg.nics[1]?.mtuBytes).toBe(9000);
    expect(cfg.nics[0]?.mtuBytes).toBe(1500);
    expect(cfg.nics).toHaveLength(3);
  });

  it('maps variable names to camelCase paths and parses JSON values', () => {
    expect(envOverrides({ EXOLINUX_NIC_BACKEND: 'memory', EXOLINUX_ADMIN__SOCKET_PATH: '/tmp/a.sock', EXOLINUX_KERNEL__ARP_CACHE_TTL_MS: '5000' })).toEqual({
      nicBackend: 'memory',
      admin: { socketPath: '/tmp/a.sock' },
      kernel: { arpCacheTtlMs: 5000 },
    });
  });

  it('refuses invalid configuration with every problem listed', () => {
    try {
      validateConfig({ nics: [{ name: 'exo0', hostAddress: '198.18.0.1', machineAddress: '300.1.1.1' }], bogus: 1 });
      expect.unreachable();
    } catch (e) {
      expect(isDaemonError(e, 'CONFIG_ERR_INVALID')).toBe(true);
      const msg = (e as Error).message;
      expect(msg).toContain('/nics/0/hostAddress');
      expect(msg).toContain('/nics/0/machineAddress');
      expect(msg).toContain('additional');
    }
  });

  it('refuses duplicate card names, unreadable and non-JSON files', () => {
    const nic = { name: 'exo0', hostAddress: '198.18.0.1/24', machineAddress: '198.18.0.2' };
    expect(() => validateConfig({ nics: [nic, nic] })).toThrow(/duplicate NIC/);
    expect(() => loadConfig({ file: '/nonexistent/x.json' })).toThrow(/cannot read/);
    const dir = mkdtempSync(join(tmpdir(), 'exo-cfg-'));
    writeFileSync(join(dir, 'bad.json'), '{nope');
    expect(() => loadConfig({ file: join(dir, 'bad.json') })).toThrow(/not JSON/);
  });

  it('config/schema.json is the current rendering of the TypeBox schema (npm run gen:schema)', () => {
    const committed = JSON.parse(readFileSync(join(packageRoot(), 'config', 'schema.json'), 'utf8')) as Record<string, unknown>;
    const { $schema: _s, title: _t, ...rest } = committed;
    expect(rest).toEqual(JSON.parse(JSON.stringify(ConfigSchema)));
  });
});
