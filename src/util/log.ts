/**
 * One pino root for the whole daemon; subsystems take `rootLogger().child({ component })`.
 * Pretty output only when stdout is a TTY (pino-pretty is loaded lazily so production
 * never pays for it). Nothing on a per-packet path logs above `trace`.
 */
import { createRequire } from 'node:module';
import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

let root: Logger | undefined;

export interface LogOptions {
  level: LevelWithSilent;
  /** Force pretty (true) or JSON (false); default: pretty when stdout is a TTY. */
  pretty?: boolean;
}

/** Create (or replace) the root logger. Called once by the daemon at boot. */
export function initLogging(opts: LogOptions): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  if (pretty) {
    const require = createRequire(import.meta.url);
    const pinoPretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
    root = pino({ level: opts.level }, pinoPretty({ colorize: true, translateTime: 'HH:MM:ss.l' }));
  } else {
    root = pino({ level: opts.level });
  }
  return root;
}

/** The root logger; a silent one until `initLogging` runs (unit tests stay quiet). */
export function rootLogger(): Logger {
  root ??= pino({ level: process.env['EXOLINUX_TEST_LOG'] ?? 'silent' });
  return root;
}

/** A child logger for one subsystem. */
export function componentLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}
