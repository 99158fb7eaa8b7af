#!/usr/bin/env node
/**
 * `exolinuxd` — the ExoLinux daemon.
 *
 *   exolinuxd [--config FILE] [--netns NAME]
 *   exolinuxd disk format|info|check FILE …
 *
 * Boots the machine from the embedded default configuration (`config/default.json`), overridden
 * by `--config FILE` and `EXOLINUX_*` variables; runs until SIGINT/SIGTERM, then shuts down
 * cleanly (processes signalled, cards closed so their TAPs disappear).
 *
 * With `--netns NAME` the daemon creates that network namespace if it is missing and runs inside
 * it (its cards and admin API live there, the host's routes are untouched); a namespace it
 * created is removed when it exits.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.js';
import { isDaemonError } from './errors.js';
import { bootMachine } from './machine.js';
import { deleteNetns, ensureNetns, spawnInNetns } from './netns.js';
import { runDiskCli } from './disk/index.js';
import { initLogging } from './util/log.js';
import { packageRoot } from './util/package-root.js';

const USAGE = `usage: exolinuxd [--config FILE] [--netns NAME]
       exolinuxd disk format|info|check FILE …   (exolinuxd disk for details)

  --config FILE   JSON file overriding the embedded default (config/default.json)
  --netns NAME    run inside network namespace NAME (created if missing, removed at exit if created)
  -h, --help      this text

Every setting can also be overridden by EXOLINUX_* variables, e.g. EXOLINUX_ADMIN__PORT=8081.`;

function insideNetns(name: string): boolean {
  try {
    const self = statSync('/proc/self/ns/net');
    const target = statSync(`/run/netns/${name}`);
    return self.ino === target.ino && self.dev === target.dev;
  } catch {
    return false;
  }
}

/** Re-run this daemon inside the namespace and relay signals and the exit status. */
async function runInNetns(name: string): Promise<number> {
  const created = await ensureNetns(name);
  const child = spawnInNetns(name, process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  const relay = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', relay).on('SIGTERM', relay);
  const code = await new Promise<number>((resolve) =>
    child.on('exit', (c, sig) => resolve(c ?? (sig !== null ? 128 : 1))),
  );
  if (created) await deleteNetns(name);
  return code;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'disk') return runDiskCli(argv.slice(1));
  let values: { config?: string | undefined; netns?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        netns: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.netns !== undefined && !insideNetns(values.netns)) return runInNetns(values.netns);

  const config = loadConfig({ file: values.config, env: process.env });
  const log = initLogging({ level: config.log.level, ...(config.log.pretty !== undefined ? { pretty: config.log.pretty } : {}) });
  // A relative disk path lives next to the configuration file, or in the package folder.
  const baseDir = values.config === undefined ? packageRoot() : dirname(resolve(values.config));
  const machine = await bootMachine(config, { log, baseDir });

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ sig }, 'second signal: exiting without waiting');
        process.exit(130);
      }
      stopping = true;
      log.info({ sig }, 'shutting down');
      machine.stop().then(resolve, (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGINT', stop).on('SIGTERM', stop);
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (isDaemonError(err)) {
      process.stderr.write(`exolinuxd: ${err.code}: ${err.message}\n`);
      process.exit(err.code.startsWith('CONFIG_') ? 2 : 1);
    }
    process.stderr.write(`exolinuxd: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
