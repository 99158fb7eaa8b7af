/**
 * The composition root mounts the configured docroot at boot (default: the sample site) and
 * unmounts it after the processes at stop; the setting comes from the config file or
 * EXOLINUX_DOCROOT.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { bootMachine } from '../../machine.js';
import { packageRoot } from '../../util/package-root.js';
import { rootLogger } from '../../util/log.js';
import { openPath, preadAll } from './testing.js';

describe('docroot in the machine', () => {
  it('defaults to site/www and may be set by EXOLINUX_DOCROOT', () => {
    expect(loadConfig().docroot).toBe('site/www');
    expect(loadConfig({ env: { EXOLINUX_DOCROOT: '/srv/www' } }).docroot).toBe('/srv/www');
  });

  it('a booted machine serves the sample site to its processes', async () => {
    const config = loadConfig({ overrides: { nicBackend: 'memory', admin: { enabled: false } } });
    const m = await bootMachine(config, { log: rootLogger() });
    try {
      const got: { bytes?: Uint8Array | number } = {};
      const p = m.kernel.spawn('reader', async (sys) => {
        got.bytes = await preadAll(sys, await openPath(sys, '/files/index.html'));
      }, { memoryBytes: 4 << 20 });
      expect((await p.exited).reason).toBe('return');
      expect(Buffer.compare(got.bytes as Uint8Array, readFileSync(join(packageRoot(), 'site/www/files/index.html')))).toBe(0);
    } finally {
      await m.stop();
    }
    m.kernel.assertNoLeaks();
  });
});
