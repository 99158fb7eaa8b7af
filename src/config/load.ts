/**
 * Configuration loading: the embedded default (`config/default.json`), then an optional file
 * (`--config FILE`), then `EXOLINUX_*` environment variables, then schema defaults; the result
 * is validated against `ConfigSchema` and refused with every problem listed.
 *
 * Environment variables name a path: `__` separates levels, `_` inside a level becomes
 * camelCase, array indexes are numbers. Values are parsed as JSON when they parse, else taken as
 * strings. Examples: `EXOLINUX_ADMIN__PORT=8081`, `EXOLINUX_LOG__LEVEL=debug`,
 * `EXOLINUX_NICS__0__MTU_BYTES=9000`, `EXOLINUX_NIC_BACKEND=memory`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Value from 'typebox/value';
import { DaemonError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import { ConfigSchema, type Config } from './schema.js';

export const ENV_PREFIX = 'EXOLINUX_';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The embedded default configuration, as committed in `config/default.json`. */
export function defaultConfigJson(): Record<string, Json> {
  return readJsonFile(join(packageRoot(), 'config', 'default.json'));
}

function readJsonFile(path: string): Record<string, Json> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DaemonError('CONFIG_ERR_READ', `cannot read config file ${path}: ${(e as Error).message}`, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DaemonError('CONFIG_ERR_INVALID', `config file ${path} is not JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!isObject(parsed)) throw new DaemonError('CONFIG_ERR_INVALID', `config file ${path} must hold a JSON object`);
  return parsed;
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge for plain objects; arrays and scalars in `over` replace those in `base`. */
export function mergeConfig(base: Record<string, Json>, over: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? mergeConfig(b, v) : v;
  }
  return out;
}

function camel(s: string): string {
  return s.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Variables with this prefix belong to the test tooling, not to the configuration. */
const TEST_PREFIX = `${ENV_PREFIX}TEST_`;

/**
 * The overrides named by `EXOLINUX_*` variables, as a partial config object. Array elements are
 * named by index and come out as objects keyed by that index; `applyIndexPatches` merges them
 * into the array they patch.
 */
export function envOverrides(env: NodeJS.ProcessEnv): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name.startsWith(TEST_PREFIX) || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').filter((p) => p !== '').map(camel);
    const leaf = path.pop();
    if (leaf === undefined) continue;
    let value: Json;
    try {
      value = JSON.parse(raw) as Json;
    } catch {
      value = raw;
    }
    let node = out;
    for (const key of path) {
      const slot = node[key];
      const child = isObject(slot) ? slot : {};
      node[key] = child;
      node = child;
    }
    node[leaf] = value;
  }
  return out;
}

function applyIndexPatches(base: Record<string, Json>, over: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (Array.isArray(b) && isObject(v) && Object.keys(v).every((i) => /^\d+$/.test(i))) {
      const arr = [...b];
      for (const [i, patch] of Object.entries(v)) {
        const cur = arr[Number(i)];
        arr[Number(i)] = isObject(cur) && isObject(patch) ? mergeConfig(cur, patch) : patch;
      }
      out[k] = arr;
    } else if (isObject(b) && isObject(v)) {
      out[k] = applyIndexPatches(b, v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

export interface LoadConfigOptions {
  /** A JSON file whose fields override the embedded default. */
  file?: string | undefined;
  /** Environment to read `EXOLINUX_*` overrides from (default: none). */
  env?: NodeJS.ProcessEnv;
  /** Last-applied overrides (used by tests and the CLI). */
  overrides?: Record<string, Json>;
}

/** Load, merge, default and validate; throws `CONFIG_ERR_*` with every problem listed. */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  let merged = defaultConfigJson();
  if (opts.file !== undefined) merged = mergeConfig(merged, readJsonFile(opts.file));
  if (opts.env !== undefined) merged = applyIndexPatches(merged, envOverrides(opts.env));
  if (opts.overrides !== undefined) merged = mergeConfig(merged, opts.overrides);
  return validateConfig(merged);
}

/** Apply schema defaults and validate a whole config object. */
export function validateConfig(candidate: unknown): Config {
  const withDefaults = Value.Default(ConfigSchema, structuredClone(candidate));
  const errors = [...Value.Errors(ConfigSchema, withDefaults)];
  if (errors.length > 0) {
    const lines = errors.map((e) => `${e.instancePath === '' ? '/' : e.instancePath}: ${e.message}`);
    throw new DaemonError('CONFIG_ERR_INVALID', `invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const cfg = withDefaults as Config;
  const names = new Set<string>();
  for (const nic of cfg.nics) {
    if (names.has(nic.name)) throw new DaemonError('CONFIG_ERR_INVALID', `duplicate NIC name ${nic.name}`);
    names.add(nic.name);
  }
  return cfg;
}
