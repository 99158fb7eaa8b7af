/**
 * The read-only docroot mount (src/kernel/vfs): where it points and what processes did with it.
 *
 *   GET /v1/docroot → { root, mounted, opens, openErrors, host, … }
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import type { Docroot } from '../../kernel/index.js';

export const docrootRoutes: FastifyPluginAsync<{ docroot: Docroot }> = async (app, { docroot }) => {
  app.get(
    '/v1/docroot',
    {
      schema: {
        summary: 'The read-only docroot processes see as /: its host path and counters (opens, errors by errno, host I/O)',
        response: {
          200: {
            type: 'object',
            required: ['root', 'mounted', 'opens', 'openErrors', 'host'],
            properties: {
              root: { type: 'string' },
              mounted: { type: 'boolean' },
              opens: { type: 'integer' },
              openErrors: { type: 'object', additionalProperties: { type: 'integer' } },
              host: { type: 'object', additionalProperties: true },
            },
            additionalProperties: true,
          },
        },
      },
    },
    async () => docroot.stats(),
  );
};
