/**
 * Starting and signalling processes from the admin API — the machine's shell. Only the built-in
 * programs of `src/programs` can be started (the admin API never runs code it is sent).
 *
 *   POST   /v1/procs         {program, args?, uid?}  → 201 {pid, name}
 *   DELETE /v1/procs/:pid?signal=TERM                → 200 {pid, signal}
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import { SIGHUP, SIGINT, SIGKILL, SIGTERM } from '../../kernel/abi/signals.js';
import type { Kernel } from '../../kernel/index.js';
import { PROGRAMS } from '../../programs/index.js';
import { badRequest, errorResponses, notFound } from '../errors.js';

export interface ProgramsRoutesOptions {
  kernel: Kernel;
}

const SIGNALS: Record<string, number> = { TERM: SIGTERM, KILL: SIGKILL, INT: SIGINT, HUP: SIGHUP };

export const programsRoutes: FastifyPluginAsync<ProgramsRoutesOptions> = async (app, { kernel }) => {
  app.post<{ Body: { program: string; args?: string[]; uid?: number } }>(
    '/v1/procs',
    {
      schema: {
        summary: 'Start a built-in program as a process',
        body: {
          type: 'object',
          required: ['program'],
          additionalProperties: false,
          properties: {
            program: { type: 'string', enum: Object.keys(PROGRAMS), description: Object.values(PROGRAMS).map((p) => p.description).join('; ') },
            args: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 65536 } },
            uid: { type: 'integer', minimum: 0, maximum: 65535 },
          },
        },
        response: {
          201: { type: 'object', required: ['pid', 'name'], properties: { pid: { type: 'integer' }, name: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const spec = PROGRAMS[req.body.program];
      if (spec === undefined) throw badRequest(`no program ${req.body.program}`);
      const args = req.body.args ?? [];
      const p = kernel.spawn(req.body.program, (sys) => spec.main(sys, args), {
        uid: req.body.uid ?? spec.defaultUid,
        memoryBytes: spec.memoryBytes,
      });
      return reply.code(201).send({ pid: p.pid, name: p.name });
    },
  );

  app.delete<{ Params: { pid: string }; Querystring: { signal?: string } }>(
    '/v1/procs/:pid',
    {
      schema: {
        summary: 'Send a signal to a process (default SIGTERM)',
        params: { type: 'object', required: ['pid'], properties: { pid: { type: 'string', pattern: '^[1-9][0-9]{0,9}$' } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { signal: { type: 'string', enum: Object.keys(SIGNALS) } },
        },
        response: {
          200: { type: 'object', required: ['pid', 'signal'], properties: { pid: { type: 'integer' }, signal: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const pid = Number(req.params.pid);
      const p = kernel.process(pid);
      if (p === undefined || p.exitStatus !== null) throw notFound(`no running process ${pid}`);
      const name = req.query.signal ?? 'TERM';
      kernel.kill(pid, SIGNALS[name] as number);
      return { pid, signal: `SIG${name}` };
    },
  );
};
