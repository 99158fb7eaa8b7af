/**
 * Admin routes of Cheetah, read through the `CheetahView` the machine shares with the Cheetah
 * process (the equivalent of /proc: read-only snapshots, nothing here can change Cheetah).
 *
 * - `GET /v1/cheetah` — listeners per card, connections (open, accepted, closed by reason,
 *   TIME-WAIT), requests by status, bytes, retransmissions, SYN cookies, drops, the DPF filters
 *   and sockets held, the I/O loop's counters, memory; `{running: false, lastExit}` when no
 *   Cheetah runs.
 * - `GET /v1/cheetah/connections` — one page of connections (state, peer, cwnd, RTT, bytes,
 *   HTTP and DPF state) in id order: `?limit=&offset=` or `?limit=&cursor=` (the `nextCursor`
 *   of the previous page; stable while connections come and go).
 * - `GET /v1/cheetah/time-wait` — one page of TIME-WAIT entries (`?limit=&offset=`).
 * - `GET /v1/cheetah/memory` — Cheetah's process memory (its allocator's use) beside the daemon's
 *   own (`process.memoryUsage()`); `?gc=true` first collects garbage until the figure settles,
 *   when the daemon was started with `--expose-gc` (what the memory soak test compares before and
 *   after a load). Changes nothing in Cheetah.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { CheetahView } from '../../cheetah/index.js';
import { badRequest, errorResponses, notFound } from '../errors.js';

export interface CheetahRoutesOptions {
  view: CheetahView;
}

const counters = { type: 'object', additionalProperties: { type: 'number' } } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

const listener = {
  type: 'object',
  properties: {
    card: { type: 'string' },
    cardIndex: { type: 'integer' },
    mac: { type: 'string' },
    addr: { type: 'string' },
    port: { type: 'integer' },
    backlog: { type: 'integer' },
    halfOpen: { type: 'integer' },
    accepted: { type: 'integer' },
    cookiesSent: { type: 'integer' },
    synDropped: { type: 'integer' },
    fd: { type: 'integer', description: 'the DPF socket' },
    filterId: { type: 'integer', description: 'the DPF filter' },
  },
} as const;

const statusSchema = {
  type: 'object',
  required: ['running'],
  properties: {
    running: { type: 'boolean' },
    lastExit: { type: ['object', 'null'], properties: { pid: { type: 'integer' }, code: { type: ['integer', 'null'] }, error: { type: ['string', 'null'] } } },
    pid: { type: 'integer' },
    state: { type: 'string', enum: ['running', 'draining'] },
    startedAtMs: { type: 'number' },
    uptimeMs: { type: 'number' },
    port: { type: 'integer' },
    listeners: { type: 'array', items: listener },
    connections: {
      type: 'object',
      properties: {
        open: { type: 'integer' },
        established: { type: 'integer' },
        halfOpen: { type: 'integer' },
        accepted: { type: 'integer' },
        closed: { type: 'integer' },
        closedByReason: counters,
        timeWait: { type: 'integer' },
      },
    },
    requests: { type: 'object', properties: { total: { type: 'integer' }, byStatus: counters, byMethod: counters } },
    bytes: { type: 'object', properties: { in: { type: 'number' }, out: { type: 'number' }, headers: { type: 'number' }, bodies: { type: 'number' } } },
    retransmissions: { type: 'object', properties: { segments: { type: 'number' }, timeouts: { type: 'number' }, fastRetransmits: { type: 'number' } } },
    synCookiesSent: { type: 'number' },
    drops: counters,
    dpf: anyObject,
    io: anyObject,
    memory: counters,
    checksums: { type: ['object', 'null'], additionalProperties: { type: 'number' } },
    tcp: anyObject,
    http: anyObject,
  },
} as const;

const connection = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    state: { type: 'string' },
    peer: { type: 'string' },
    card: { type: 'string' },
    localAddr: { type: 'string' },
    localPort: { type: 'integer' },
    remoteAddr: { type: 'string' },
    remotePort: { type: 'integer' },
    nic: { type: 'integer' },
    mss: { type: 'integer' },
    cwnd: { type: 'number' },
    ssthresh: { type: 'number' },
    srttMs: { type: 'number' },
    rttvarMs: { type: 'number' },
    rtoMs: { type: 'number' },
    sndWnd: { type: 'number' },
    rcvWnd: { type: 'number' },
    bytesIn: { type: 'number' },
    bytesOut: { type: 'number' },
    segmentsIn: { type: 'number' },
    segmentsOut: { type: 'number' },
    retransmissions: { type: 'number' },
    unackedBytes: { type: 'number' },
    timestamps: { type: 'boolean' },
    windowScaling: { type: 'boolean' },
    sack: { type: 'boolean' },
    synCookie: { type: 'boolean' },
    ageMs: { type: 'number' },
    http: { type: 'object', properties: { responses: { type: 'integer' }, pendingRequests: { type: 'integer' }, state: { type: 'string' } } },
    dpf: { type: 'object', properties: { fd: { type: 'integer' }, filterId: { type: 'integer' } } },
  },
} as const;

const timeWaitEntry = {
  type: 'object',
  properties: {
    localAddr: { type: 'string' },
    localPort: { type: 'integer' },
    peer: { type: 'string' },
    card: { type: 'string' },
    expiresInMs: { type: 'number' },
  },
} as const;

const page = (item: object) =>
  ({
    type: 'object',
    required: ['total', 'limit', 'items', 'nextCursor'],
    properties: {
      total: { type: 'integer', description: 'items in the whole list now' },
      limit: { type: 'integer' },
      offset: { type: ['integer', 'null'] },
      items: { type: 'array', items: item },
      nextCursor: { type: ['string', 'null'], description: 'pass as ?cursor= for the next page; null on the last page' },
    },
  }) as const;

const MAX_LIMIT = 1000;
const pageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 },
    offset: { type: 'integer', minimum: 0 },
    cursor: { type: 'string', pattern: '^[0-9]{1,15}$' },
  },
} as const;

interface PageQuery {
  limit: number;
  offset?: number;
  cursor?: string;
}

const memorySchema = {
  type: 'object',
  required: ['gc', 'daemon'],
  properties: {
    gc: { type: 'boolean', description: 'full garbage collections ran first, until the figure settled' },
    gcRounds: { type: 'integer', description: 'how many full collections ran (0 without gc)' },
    cheetah: { type: ['object', 'null'], additionalProperties: { type: 'number' }, description: "Cheetah's process memory (null when not running)" },
    daemon: { type: 'object', additionalProperties: { type: 'number' }, description: 'process.memoryUsage() of the daemon, bytes' },
  },
} as const;

const liveBytes = (m: NodeJS.MemoryUsage): number => m.heapUsed + m.arrayBuffers;

/**
 * Runs full collections until live memory stops falling: one collection is not enough after a
 * load, because V8 accounts freed ArrayBuffers only when its concurrent sweeper has released them,
 * and buffers held by objects with weak callbacks die one collection later (the soak test saw the
 * first figure 20 MiB above the second, taken a second later). Settled means the figure fell by
 * less than `settledFraction` since the previous round. Returns the number of collections.
 */
export async function collectUntilSettled(
  gc: () => void,
  liveBytesNow: () => number,
  { maxRounds = 10, pauseMs = 100, settledFraction = 0.005 } = {},
): Promise<number> {
  let previous = Infinity;
  for (let round = 1; ; round++) {
    gc();
    await new Promise((r) => setTimeout(r, pauseMs));
    const now = liveBytesNow();
    if (round === maxRounds || now >= previous * (1 - settledFraction)) return round;
    previous = now;
  }
}

export const cheetahRoutes: FastifyPluginAsync<CheetahRoutesOptions> = async (app, { view }) => {
  app.get<{ Querystring: { gc?: boolean } }>(
    '/v1/cheetah/memory',
    {
      schema: {
        summary: "Cheetah's process memory and the daemon's (optionally after a full GC)",
        querystring: { type: 'object', additionalProperties: false, properties: { gc: { type: 'boolean' } } },
        response: { 200: memorySchema },
      },
    },
    async (req) => {
      const gc = (globalThis as { gc?: () => void }).gc;
      const collect = req.query.gc === true && gc !== undefined;
      const gcRounds = collect ? await collectUntilSettled(gc, () => liveBytes(process.memoryUsage())) : 0;
      const m = process.memoryUsage();
      return {
        gc: collect,
        gcRounds,
        cheetah: view.status()?.memory ?? null,
        daemon: { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers },
      };
    },
  );

  app.get(
    '/v1/cheetah',
    { schema: { summary: "Cheetah: listeners per card, counters, DPF filters and sockets held", response: { 200: statusSchema } } },
    async () => {
      const s = view.status();
      return s === undefined ? { running: false, lastExit: view.lastExit ?? null } : { running: true, ...s };
    },
  );

  app.get<{ Querystring: PageQuery }>(
    '/v1/cheetah/connections',
    {
      schema: {
        summary: 'One page of Cheetah connections, in id order (limit with offset, or with cursor)',
        querystring: pageQuery,
        response: { 200: page(connection), ...errorResponses },
      },
    },
    async (req) => {
      const all = view.connections();
      if (all === undefined) throw notFound('Cheetah is not running');
      const { limit, offset, cursor } = req.query;
      if (offset !== undefined && cursor !== undefined) throw badRequest('give offset or cursor, not both');
      let start = offset ?? 0;
      if (cursor !== undefined) {
        // Ids only grow: the page starts after the last id the client saw, wherever it now is.
        const after = Number(cursor);
        start = all.findIndex((c) => c.id > after);
        if (start < 0) start = all.length;
      }
      const items = all.slice(start, start + limit);
      const last = items[items.length - 1];
      return { total: all.length, limit, offset: cursor === undefined ? start : null, items, nextCursor: start + limit < all.length && last !== undefined ? String(last.id) : null };
    },
  );

  app.get<{ Querystring: PageQuery }>(
    '/v1/cheetah/time-wait',
    {
      schema: {
        summary: 'One page of TIME-WAIT entries (limit and offset)',
        querystring: pageQuery,
        response: { 200: page(timeWaitEntry), ...errorResponses },
      },
    },
    async (req) => {
      const all = view.timeWait();
      if (all === undefined) throw notFound('Cheetah is not running');
      if (req.query.cursor !== undefined) throw badRequest('TIME-WAIT entries page with offset only');
      const start = req.query.offset ?? 0;
      const items = all.slice(start, start + req.query.limit);
      return { total: all.length, limit: req.query.limit, offset: start, items, nextCursor: null };
    },
  );
};
