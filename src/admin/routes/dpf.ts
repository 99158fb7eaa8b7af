/**
 * Admin routes of DPF (thesis §3.2; docs/dpf.md "Admin API"): the installed filters with their
 * sockets' queues, the merged trie and its generated code, counters, and a compiler that checks a
 * filter without installing it. Register with `app.register(dpfRoutes, { dpf })`.
 *
 *   GET  /v1/dpf                    → counters: the engine (frames, codegen…) and the socket layer
 *   GET  /v1/dpf/filters            → { filters: [{ id, owner, text, canonical, matches, drops, queue }] }
 *   GET  /v1/dpf/filters/:id        → one filter (404 when not installed)
 *   GET  /v1/dpf/trie?format=text|dot → the merged trie (text/plain; `dot` is Graphviz)
 *   GET  /v1/dpf/code               → the generated JavaScript of every unit (text/plain)
 *   POST /v1/dpf/compile { source, language: 'dpf' | 'pcap' } → the filters the source gives
 *
 * A refused filter is an answer, not a failed request: `POST /v1/dpf/compile` returns 200 with
 * `ok: false`, the DPF code (and the errno `dpf_attach` would return), the reason and the
 * verifier's log — the same things a process reads with `dpf_geterror`. A request that is not a
 * compile request (no source, unknown language, unknown fields) is a 400 ADMIN_ERR_BAD_REQUEST.
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import { errnoName } from '../../kernel/abi/errno.js';
import { DPF_ERRNO } from '../../kernel/abi/layout.js';
import {
  ATOM_SHIFT,
  DPF_MAX_TEXT_CHARS,
  type DpfErrorCode,
  type NormalAtom,
  compileFilter,
  dpfErrorName,
  normalize,
} from '../../kernel/dpf/index.js';
import type { AfDpf } from '../../kernel/net/af-dpf.js';
import { errorResponses, notFound } from '../errors.js';

/** Options of {@link dpfRoutes}. */
export interface DpfRoutesOptions {
  /** The machine's AF_DPF layer (its `engine` is the demultiplexer). */
  dpf: AfDpf;
}

const count = { type: 'number' } as const;
const counters = { type: 'object', additionalProperties: { type: 'number' } } as const;

const queueView = {
  type: 'object',
  required: ['frames', 'bytes', 'capacityFrames', 'capacityBytes', 'allocatedBytes'],
  properties: { frames: count, bytes: count, capacityFrames: count, capacityBytes: count, allocatedBytes: count },
} as const;

const filterView = {
  type: 'object',
  required: ['id', 'owner', 'text', 'canonical', 'matches', 'drops', 'queue'],
  properties: {
    id: { type: 'integer' },
    owner: { type: 'object', required: ['pid', 'uid'], properties: { pid: { type: 'integer' }, uid: { type: 'integer' } } },
    text: { type: 'string', description: 'the filter as written, canonical spelling' },
    canonical: { type: 'string', description: 'its canonical atoms (what the trie holds)' },
    matches: { ...count, description: 'frames it won since it was installed' },
    drops: { ...count, description: "frames it won that its socket's full queue refused" },
    queue: queueView,
  },
} as const;

const atom = {
  type: 'object',
  required: ['op'],
  properties: {
    op: { type: 'string', enum: ['eq', 'meq', 'shift', 'mshift', 'shifti'] },
    width: { type: 'integer' },
    offset: { type: 'integer' },
    mask: { type: 'integer' },
    value: { type: 'integer' },
    shift: { type: 'integer' },
    bytes: { type: 'integer' },
  },
} as const;

const compiled = {
  type: 'object',
  required: ['text', 'atoms', 'canonical', 'canonicalAtoms', 'binary', 'log'],
  properties: {
    text: { type: 'string', description: 'canonical DPF text of the filter as written' },
    atoms: { type: 'array', items: atom },
    canonical: { type: 'string', description: 'canonical atoms, one per line' },
    canonicalAtoms: { type: 'array', items: atom, description: "after normalization: 'meq' comparisons (widths 8/16/24/32) and 'mshift' shifts" },
    binary: { type: 'string', description: 'the binary encoding a process passes to dpf_attach, hex' },
    log: { type: 'array', items: { type: 'string' }, description: "the verifier's log" },
  },
} as const;

const compileResponse = {
  type: 'object',
  required: ['ok'],
  properties: {
    ok: { type: 'boolean' },
    filters: { type: 'array', items: compiled },
    code: { type: ['string', 'null'], description: 'the DPF code of a refusal (null for a pcap expression refused before DPF)' },
    value: { type: ['integer', 'null'], description: 'its numeric value' },
    errno: { type: ['string', 'null'], description: 'what dpf_attach returns for it' },
    reason: { type: 'string' },
    log: { type: 'array', items: { type: 'string' } },
  },
} as const;

/** A canonical atom in the shape of a written one. */
function canonicalAtom(a: NormalAtom): Record<string, number | string> {
  return a.kind === ATOM_SHIFT
    ? { op: 'mshift', width: a.width, offset: a.offset, mask: a.mask, shift: a.shift }
    : { op: 'meq', width: a.width, offset: a.offset, mask: a.mask, value: a.value };
}

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** The plugin. */
export const dpfRoutes: FastifyPluginAsync<DpfRoutesOptions> = async (app, { dpf }) => {
  const engine = dpf.engine;

  app.get(
    '/v1/dpf',
    {
      schema: {
        summary: 'DPF counters: the demultiplexer (frames, matches, codegen) and the AF_DPF sockets (queued, dropped, delivered, sent)',
        response: {
          200: {
            type: 'object',
            required: ['engine', 'sockets'],
            properties: {
              engine: {
                type: 'object',
                properties: {
                  filters: count,
                  maxFilters: count,
                  trieNodes: count,
                  maxTrieNodes: count,
                  inserts: count,
                  removes: count,
                  refused: counters,
                  frames: { ...count, description: 'frames demultiplexed' },
                  unmatched: { ...count, description: 'frames no filter claimed (to the conventional path)' },
                  codegen: counters,
                  filterShapeCache: {
                    ...counters,
                    description: 'binary filters installed without decode/verify/normalize because their shape (all but compared values) was cached: hits, misses, valueRefusals, entries, maxEntries',
                  },
                },
              },
              sockets: {
                type: 'object',
                properties: {
                  sockets: count,
                  ringBytesAllocated: { ...count, description: 'bytes of receive rings allocated over all sockets now' },
                  framesClaimed: count,
                  framesQueued: count,
                  queueDrops: count,
                  framesDelivered: count,
                  framesSent: count,
                  bytesSent: count,
                  sendErrors: count,
                  tsoFrames: { ...count, description: 'dpf_send_tso super-segments sent (by the card, or cut in software)' },
                  tsoSegmentsSoftware: { ...count, description: 'segments the kernel cut in software for cards without TSO' },
                  tsoRefused: { ...counters, description: 'super-segment sends refused, by errno name' },
                  attaches: count,
                  detaches: count,
                  refused: counters,
                  queueFrames: count,
                  queueBytes: count,
                },
              },
            },
          },
        },
      },
    },
    async () => ({ engine: engine.stats(), sockets: dpf.stats() }),
  );

  app.get(
    '/v1/dpf/filters',
    {
      schema: {
        summary: 'Installed filters: owner, text and canonical form, frames matched and dropped, the socket queue',
        response: { 200: { type: 'object', required: ['filters'], properties: { filters: { type: 'array', items: filterView } } } },
      },
    },
    async () => ({ filters: dpf.filterViews() }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/dpf/filters/:id',
    {
      schema: {
        summary: 'One installed filter',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,8}$' } } },
        response: { 200: { type: 'object', required: ['filter'], properties: { filter: filterView } }, ...errorResponses },
      },
    },
    async (req) => {
      const filter = dpf.filterView(Number(req.params.id));
      if (filter === undefined) throw notFound(`no DPF filter ${req.params.id}`);
      return { filter };
    },
  );

  app.get<{ Querystring: { format?: 'text' | 'dot' } }>(
    '/v1/dpf/trie',
    {
      schema: {
        summary: 'The merged filter trie as text, or Graphviz DOT (text/plain)',
        querystring: { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['text', 'dot'] } } },
        produces: ['text/plain'],
        response: { 200: { type: 'string' }, ...errorResponses },
      },
    },
    async (req, reply) => reply.type('text/plain; charset=utf-8').send(engine.printTrie(req.query.format ?? 'text')),
  );

  app.get(
    '/v1/dpf/code',
    {
      schema: {
        summary: 'The generated demultiplexer: the JavaScript of every unit, root first (text/plain)',
        produces: ['text/plain'],
        response: { 200: { type: 'string' } },
      },
    },
    async (_req, reply) => reply.type('text/plain; charset=utf-8').send(engine.printCode()),
  );

  app.post<{ Body: { source: string; language?: 'dpf' | 'pcap' } }>(
    '/v1/dpf/compile',
    {
      schema: {
        summary: 'Compile a filter (DPF text or a pcap-like expression) without installing it: atoms, canonical form, binary, verifier log — or why it is refused',
        body: {
          type: 'object',
          required: ['source'],
          additionalProperties: false,
          properties: {
            source: { type: 'string', maxLength: DPF_MAX_TEXT_CHARS },
            language: { type: 'string', enum: ['dpf', 'pcap'], default: 'dpf' },
          },
        },
        response: { 200: compileResponse, ...errorResponses },
      },
    },
    async (req) => {
      const r = compileFilter(req.body.source, req.body.language ?? 'dpf');
      if (!r.ok) {
        const code: DpfErrorCode | undefined = r.code;
        const errno = code === undefined ? undefined : DPF_ERRNO[code];
        return {
          ok: false,
          code: code === undefined ? null : dpfErrorName(code),
          value: code ?? null,
          errno: errno === undefined ? null : errnoName(errno),
          reason: r.reason,
          log: [...r.log],
        };
      }
      return {
        ok: true,
        filters: r.filters.map((f) => ({
          text: f.text,
          atoms: f.filter.atoms,
          canonical: f.canonical,
          canonicalAtoms: normalize(f.filter).atoms.map(canonicalAtom),
          binary: hexOf(f.binary),
          log: [...f.log],
        })),
      };
    },
  );
};
