import Value from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../config/schema.js';
import { DEFAULT_HTTP_OPTIONS, resolveHttpOptions } from './options.js';

describe('HTTP options', () => {
  it('the config section cheetah.http has the same fields and defaults as HttpOptions', () => {
    const section = Value.Default(ConfigSchema.properties.cheetah.properties.http, {}) as Record<string, unknown>;
    expect(section).toEqual({ ...DEFAULT_HTTP_OPTIONS });
  });

  it('resolves defaults and refuses nonsense', () => {
    expect(resolveHttpOptions()).toEqual(DEFAULT_HTTP_OPTIONS);
    expect(resolveHttpOptions({ headerTimeoutMs: 5 }).headerTimeoutMs).toBe(5);
    expect(() => resolveHttpOptions({ maxHeaderBytes: 0 })).toThrow(RangeError);
    expect(() => resolveHttpOptions({ maxRequestLineBytes: 10 })).toThrow(RangeError);
    expect(() => resolveHttpOptions({ revalidateAfterMs: -1 })).toThrow(RangeError);
    expect(() => resolveHttpOptions({ serverName: 'a\r\nb' })).toThrow(RangeError);
  });
});
