/**
 * Core routes: health, the network cards and the kernel's conventional network path.
 */
import type { FastifyPluginAsync } from 'fastify';
import { errorResponses, notFound } from '../errors.js';

/** Card configuration plus live counters, as `/v1/nics` shows a card. */
export interface NicInfo {
  name: string;
  kind: string;
  mac: string;
  mtuBytes: number;
  hostAddress: string;
  machineAddress: string;
  counters: object;
}

export interface ArpEntryInfo {
  card: string;
  ip: string;
  mac: string;
  state: string;
  expiresInMs: number;
}

/** What the core routes read; the machine implements it. */
export interface CoreView {
  version: string;
  uptimeMs(): number;
  nics(): NicInfo[];
  arp(): ArpEntryInfo[];
  kernelStats(): object;
}

const counterMap = { type: 'object', additionalProperties: { type: 'number' } } as const;

const NicSchema = {
  type: 'object',
  required: ['name', 'kind', 'mac', 'mtuBytes', 'hostAddress', 'machineAddress', 'counters'],
  properties: {
    name: { type: 'string' },
    kind: { type: 'string', description: 'tap or memory' },
    mac: { type: 'string', description: "the machine's MAC on this card" },
    mtuBytes: { type: 'integer' },
    hostAddress: { type: 'string', description: 'host side of the card, CIDR' },
    machineAddress: { type: 'string', description: "the machine's IPv4 address on this card" },
    counters: {
      type: 'object',
      properties: {
        rxFrames: { type: 'number' },
        rxBytes: { type: 'number' },
        txFrames: { type: 'number' },
        txBytes: { type: 'number' },
        txTsoFrames: { type: 'number', description: 'TCP super-segments the card handed the host to segment (also in txFrames)' },
        txTsoBytes: { type: 'number', description: 'their bytes (also in txBytes)' },
        drops: counterMap,
        rxBatches: { type: 'number' },
        rxBatchSizes: counterMap,
        backpressureEvents: { type: 'number' },
        txQueueFrames: { type: 'number' },
        txErrors: { ...counterMap, description: 'writes the device refused, by errno name (their sum is in drops.tx_error)' },
      },
      additionalProperties: true,
    },
  },
} as const;

export const coreRoutes: FastifyPluginAsync<{ view: CoreView }> = async (app, { view }) => {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness and version',
        response: {
          200: {
            type: 'object',
            required: ['status', 'version', 'uptimeMs', 'nics'],
            properties: {
              status: { type: 'string', enum: ['ok'] },
              version: { type: 'string' },
              uptimeMs: { type: 'number' },
              nics: { type: 'integer' },
            },
          },
        },
      },
    },
    async () => ({ status: 'ok', version: view.version, uptimeMs: view.uptimeMs(), nics: view.nics().length }),
  );

  app.get(
    '/v1/nics',
    { schema: { summary: 'All network cards: configuration and counters', response: { 200: { type: 'array', items: NicSchema } } } },
    async () => view.nics(),
  );

  app.get<{ Params: { name: string } }>(
    '/v1/nics/:name',
    {
      schema: {
        summary: 'One network card',
        params: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', pattern: '^[a-zA-Z0-9_.-]{1,15}$' } },
          additionalProperties: false,
        },
        response: { 200: NicSchema, ...errorResponses },
      },
    },
    async (req) => {
      const nic = view.nics().find((n) => n.name === req.params.name);
      if (nic === undefined) throw notFound(`no card named ${req.params.name}`);
      return nic;
    },
  );

  app.get(
    '/v1/kernel/arp',
    {
      schema: {
        summary: "The kernel's ARP cache, per card",
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              required: ['card', 'ip', 'mac', 'state', 'expiresInMs'],
              properties: {
                card: { type: 'string' },
                ip: { type: 'string' },
                mac: { type: 'string' },
                state: { type: 'string' },
                expiresInMs: { type: 'number' },
              },
            },
          },
        },
      },
    },
    async () => view.arp(),
  );

  app.get(
    '/v1/kernel/stats',
    {
      schema: {
        summary: "The conventional network path's counters: frames handled and dropped, by reason",
        response: {
          200: {
            type: 'object',
            required: ['total', 'cards'],
            properties: {
              total: { type: 'object', additionalProperties: true },
              cards: { type: 'object', additionalProperties: { type: 'object', additionalProperties: true } },
            },
          },
        },
      },
    },
    async () => view.kernelStats(),
  );
};
