/**
 * The `cheetah` config section and the process's options stay in step: the same defaults, the
 * `tcp` part naming exactly the TCP stack's tunables, the `http` part exactly the HTTP engine's.
 */
import Value from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../config/schema.js';
import { DEFAULT_HTTP_OPTIONS } from './http/index.js';
import { DEFAULT_TCP_CONFIG } from './net/index.js';
import { DEFAULT_CHEETAH_OPTIONS } from './server.js';

describe('Cheetah options', () => {
  const section = Value.Default(ConfigSchema.properties.cheetah, {}) as Record<string, unknown>;

  it('the config section has the process options with the same defaults', () => {
    const { enabled, memoryBytes, fdLimit, traceEntries, http, ...processOptions } = section;
    expect({ enabled, memoryBytes, fdLimit, traceEntries }).toEqual({ enabled: true, memoryBytes: 64 << 20, fdLimit: 65536, traceEntries: 0 });
    expect({ ...processOptions, http: {} }).toEqual({ ...DEFAULT_CHEETAH_OPTIONS });
    expect(http).toEqual({ ...DEFAULT_HTTP_OPTIONS });
  });

  it('the tcp part names every TCP tunable and nothing else', () => {
    const tcp = ConfigSchema.properties.cheetah.properties.tcp.properties;
    expect(Object.keys(tcp).sort()).toEqual(Object.keys(DEFAULT_TCP_CONFIG).sort());
  });
});
