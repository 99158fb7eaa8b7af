/**
 * Admin routes for processes: the process table, one process (descriptors with their kinds and
 * state, memory and allocator use, signals), and its system-call trace (an strace ring).
 *
 *   GET /v1/procs              → { procs: ProcessView[], stats } (stats: the kernel's process
 *                                table — processes, exited kept, open files, kernel holds, and
 *                                internal errors: exceptions inside the kernel turned into -EIO)
 *   GET /v1/procs/:pid         → { proc: ProcessView, fds: FdView[] }
 *   GET /v1/procs/:pid/trace   → { pid, enabled, capacity, recorded, entries: TraceEntry[] }
 *
 * Errors: `{"error":{"code","message"}}` — unknown pid 404 ADMIN_ERR_NOT_FOUND, a pid that is not
 * a positive integer 400 ADMIN_ERR_BAD_REQUEST. Register with `app.register(procsRoutes, { kernel })`.
 */
// The swagger plugin's types add `summary` to route schemas (the admin app serves OpenAPI).
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import { errorResponses, notFound } from '../errors.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Process } from '../../kernel/proc/process.js';

export interface ProcsRoutesOptions {
  kernel: Kernel;
}

const exitStatus = {
  type: ['object', 'null'],
  properties: {
    reason: { type: 'string', enum: ['return', 'exit', 'signal', 'exception'] },
    code: { type: ['integer', 'null'] },
    signal: { type: ['integer', 'null'] },
    error: { type: ['string', 'null'] },
  },
} as const;

const processView = {
  type: 'object',
  required: ['pid', 'name', 'uid', 'state', 'memory', 'fdCount'],
  properties: {
    pid: { type: 'integer' },
    ppid: { type: 'integer' },
    uid: { type: 'integer' },
    name: { type: 'string' },
    state: { type: 'string', enum: ['running', 'exited'] },
    exit: exitStatus,
    startMs: { type: 'number' },
    memory: {
      type: 'object',
      properties: {
        bytes: { type: 'integer' },
        allocator: {
          type: ['object', 'null'],
          properties: { heapBytes: { type: 'integer' }, inUseBytes: { type: 'integer' }, inUseBlocks: { type: 'integer' }, peakInUseBytes: { type: 'integer' } },
        },
      },
    },
    fdCount: { type: 'integer' },
    fdLimit: { type: 'integer' },
    syscalls: { type: 'integer' },
    syscallErrors: { type: 'integer' },
    blockedIn: { type: 'object', additionalProperties: { type: 'integer' } },
    signals: {
      type: 'object',
      properties: {
        pending: { type: 'array', items: { type: 'string' } },
        handled: { type: 'array', items: { type: 'string' } },
        ignored: { type: 'array', items: { type: 'string' } },
      },
    },
    trace: { type: 'object', properties: { enabled: { type: 'boolean' }, timed: { type: 'boolean' }, capacity: { type: 'integer' }, recorded: { type: 'integer' } } },
  },
} as const;

const fdView = {
  type: 'object',
  required: ['fd', 'kind', 'ready', 'refs', 'state'],
  properties: {
    fd: { type: 'integer' },
    kind: { type: 'string' },
    ready: { type: 'array', items: { type: 'string' } },
    refs: { type: 'integer' },
    state: { type: 'object', additionalProperties: true },
  },
} as const;

const traceEntry = {
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    nr: { type: 'integer' },
    name: { type: 'string' },
    args: { type: 'array', items: { type: ['number', 'null'] } },
    result: { type: ['number', 'null'] },
    errno: { type: ['string', 'null'] },
    startMs: { type: ['number', 'null'] },
    durationUs: { type: ['number', 'null'] },
  },
} as const;

const pidParams = {
  type: 'object',
  required: ['pid'],
  properties: { pid: { type: 'string', pattern: '^[1-9][0-9]{0,9}$', description: 'process id' } },
} as const;

/** The process routes, as a fastify plugin. */
export const procsRoutes: FastifyPluginAsync<ProcsRoutesOptions> = async (app, opts) => {
  const { kernel } = opts;

  const find = (pidText: string): Process => {
    const pid = Number(pidText);
    const p = Number.isSafeInteger(pid) ? kernel.process(pid) : undefined;
    if (p === undefined) throw notFound(`no process ${pidText}`);
    return p;
  };

  app.get(
    '/v1/procs',
    {
      schema: {
        summary: "Processes (running, then recently exited) and the process table's counters",
        response: {
          200: {
            type: 'object',
            required: ['procs', 'stats'],
            properties: {
              procs: { type: 'array', items: processView },
              stats: {
                type: 'object',
                required: ['processes', 'exitedKept', 'openFiles', 'kernelHolds', 'internalErrors'],
                properties: {
                  processes: { type: 'integer' },
                  exitedKept: { type: 'integer' },
                  openFiles: { type: 'integer' },
                  kernelHolds: { type: 'integer' },
                  internalErrors: { type: 'integer', description: 'unexpected exceptions inside the kernel, each answered with -EIO and logged' },
                },
              },
            },
          },
        },
      },
    },
    async () => ({ procs: kernel.processes().map((p) => kernel.describeProcess(p)), stats: kernel.stats() }),
  );

  app.get<{ Params: { pid: string } }>(
    '/v1/procs/:pid',
    {
      schema: {
        summary: 'One process: its descriptors, memory and signals',
        params: pidParams,
        response: {
          200: { type: 'object', required: ['proc', 'fds'], properties: { proc: processView, fds: { type: 'array', items: fdView } } },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = find(req.params.pid);
      return { proc: kernel.describeProcess(p), fds: kernel.describeFds(p) };
    },
  );

  app.get<{ Params: { pid: string } }>(
    '/v1/procs/:pid/trace',
    {
      schema: {
        summary: 'Recent system calls of a process, oldest first',
        params: pidParams,
        response: {
          200: {
            type: 'object',
            required: ['pid', 'enabled', 'entries'],
            properties: {
              pid: { type: 'integer' },
              enabled: { type: 'boolean' },
              capacity: { type: 'integer' },
              recorded: { type: 'integer' },
              entries: { type: 'array', items: traceEntry },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = find(req.params.pid);
      // NaN (an argument that was not a number) is shown as null.
      const entries = kernel.traceOf(p).map((e) => ({ ...e, args: e.args.map((a) => (Number.isNaN(a) ? null : a)) }));
      return { pid: p.pid, enabled: p.trace !== null, capacity: p.trace?.capacity ?? 0, recorded: p.trace?.total ?? 0, entries };
    },
  );
};
