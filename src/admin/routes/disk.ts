/**
 * Admin routes of the disk and the buffer cache: `GET /v1/disk`, `GET /v1/bcache`. Read-only.
 * Register with `app.register(diskRoutes, { device, cache })`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { BlockDevice } from '../../disk/index.js';
import type { BufferCache } from '../../kernel/bcache/index.js';

/** Options of {@link diskRoutes}. */
export interface DiskRoutesOptions {
  device: BlockDevice;
  cache: BufferCache;
}

const numbers = { type: 'object', additionalProperties: { type: 'number' } } as const;

/** The plugin. */
export const diskRoutes: FastifyPluginAsync<DiskRoutesOptions> = async (app, opts) => {
  const { device, cache } = opts;
  app.get(
    '/v1/disk',
    {
      schema: {
        summary: 'The disk: SQLite file, geometry, latency model, request and transaction counters',
        response: {
          200: {
            type: 'object',
            properties: {
              kind: { type: 'string' },
              path: { type: 'string' },
              blockCount: { type: 'integer' },
              blockSizeBytes: { type: 'integer' },
              sizeBytes: { type: 'integer' },
              writeThrough: { type: 'boolean' },
              formatVersion: { type: 'integer' },
              latencyModel: { type: ['object', 'null'], additionalProperties: { type: 'number' } },
              pool: { type: 'object', properties: { pages: { type: 'integer' }, free: { type: 'integer' } } },
              stats: numbers,
            },
          },
        },
      },
    },
    async () => {
      const d = device as BlockDevice & { path?: string; formatVersion?: number; latency?: Record<string, number> | null };
      return {
        kind: device.kind,
        ...(d.path === undefined ? {} : { path: d.path }),
        blockCount: device.blockCount,
        blockSizeBytes: device.blockSizeBytes,
        sizeBytes: device.blockCount * device.blockSizeBytes,
        writeThrough: device.writeThrough,
        ...(d.formatVersion === undefined ? {} : { formatVersion: d.formatVersion }),
        latencyModel: d.latency ?? null,
        pool: { pages: device.pool.pageCount, free: device.pool.freeCount },
        stats: device.stats(),
      };
    },
  );
  app.get('/v1/bcache', { schema: { summary: 'The one buffer cache: pages, hits, misses, evictions, dirty and pinned pages', response: { 200: numbers } } }, async () => ({ ...cache.stats() }));
};
