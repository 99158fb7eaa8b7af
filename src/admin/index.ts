/**
 * The admin API (fastify): read-only views of every piece of machine state, plus the few
 * debugging actions later issues add. Listens on a loopback address (and optionally a Unix
 * socket, which tests and `--netns` users reach across network namespaces).
 *
 * Every route declares its params/query/body/response schemas (they feed the OpenAPI document at
 * `/docs/json` and Swagger UI at `/docs`); unknown fields are refused, not stripped. Errors are
 * `{"error":{"code","message"}}` with a code from `src/errors.ts`; a 500 never carries a stack.
 * Requests whose Host is not a loopback name are refused (421) — the DNS-rebinding defence a
 * localhost service needs.
 */
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { DaemonError, isDaemonError } from '../errors.js';
import type { Logger } from '../util/log.js';
import { ErrorBodySchema } from './errors.js';
import { coreRoutes, type CoreView } from './routes/core.js';

export { notFound, badRequest, errorResponses } from './errors.js';

/** A route plugin contributed by a subsystem, with the options it is registered with. */
export interface AdminPlugin {
  plugin: FastifyPluginAsync<never>;
  opts: object;
}

export interface AdminOptions {
  view: CoreView;
  /** Routes contributed by subsystems (processes, DPF, XN, Cheetah …). */
  plugins?: readonly AdminPlugin[];
  log?: Logger;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function hostAllowed(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined || hostHeader === '') return true; // HTTP/1.0 client
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(hostHeader);
  return m !== null && LOOPBACK_HOSTS.has((m[1] as string).toLowerCase());
}

/**
 * The admin framework without routes: the error contract, the Host check, the shared error
 * schema and OpenAPI. Route plugins are registered on it (tests of a plugin use it directly).
 */
export async function createAdminApp(log?: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    ...(log !== undefined ? { loggerInstance: log as FastifyBaseLogger } : {}),
    // Request logs stay off: the admin API is polled by tools; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });
  app.addSchema(ErrorBodySchema);

  app.addHook('onRequest', async (req, reply) => {
    if (!hostAllowed(req.headers.host)) {
      await reply
        .code(421)
        .send({ error: { code: 'ADMIN_ERR_BAD_REQUEST', message: `Host ${req.headers.host} is not a loopback name` } });
    }
  });

  app.setErrorHandler(async (err, req, reply) => {
    if (isDaemonError(err)) {
      return reply.code(err.httpStatus).send({ error: { code: err.code, message: err.message } });
    }
    const e = err as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation !== undefined || (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500)) {
      return reply.code(e.statusCode ?? 400).send({ error: { code: 'ADMIN_ERR_BAD_REQUEST', message: e.message } });
    }
    req.log.error({ err }, 'admin route failed');
    return reply.code(500).send({ error: { code: 'ADMIN_ERR_INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler(async (req, reply) =>
    reply.code(404).send({ error: { code: 'ADMIN_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}` } }),
  );

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'exolinuxd admin API',
        version: '1',
        description: 'Read-only views of the ExoLinux machine: cards, kernel, processes, DPF, XN, Cheetah.',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  return app;
}

/** Build the admin app with the core routes and the subsystems' plugins (not listening). */
export async function buildAdmin(opts: AdminOptions): Promise<FastifyInstance> {
  const app = await createAdminApp(opts.log);
  await app.register(coreRoutes, { view: opts.view });
  for (const p of opts.plugins ?? []) await app.register(p.plugin, p.opts as never);
  await app.ready();
  return app;
}

/** Where the admin API listens, and how to stop listening (closes the app too). */
export interface AdminListener {
  url: string;
  socketPath: string | undefined;
  close(): Promise<void>;
}

/** Start listening on TCP (and the Unix socket when configured). */
export async function listenAdmin(
  app: FastifyInstance,
  where: { host: string; port: number; socketPath?: string | undefined },
): Promise<AdminListener> {
  if (!LOOPBACK_HOSTS.has(where.host)) {
    throw new DaemonError('CONFIG_ERR_INVALID', `admin.host must be a loopback address, not ${where.host}`);
  }
  const url = await app.listen({ host: where.host, port: where.port });
  const socketPath = where.socketPath;
  if (socketPath === undefined) return { url, socketPath, close: () => app.close() };
  // fastify serves one listener; a Unix-socket server shares its router through node:http.
  rmSync(socketPath, { force: true });
  const unixServer = createServer((req, res) => app.routing(req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      unixServer.once('error', reject);
      unixServer.listen(socketPath, () => resolve());
    });
  } catch (e) {
    await app.close();
    throw new DaemonError('CONFIG_ERR_INVALID', `admin.socketPath ${socketPath}: ${(e as Error).message}`, { cause: e });
  }
  return {
    url,
    socketPath,
    async close() {
      unixServer.closeAllConnections();
      await new Promise<void>((resolve) => unixServer.close(() => resolve()));
      rmSync(socketPath, { force: true });
      await app.close();
    },
  };
}
