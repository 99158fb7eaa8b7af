/**
 * Admin routes of XN: status and boot report, roots, types (with disassembled UDFs), one block's
 * registry entry and contents, and an online fsck. Register with
 * `app.register(xnRoutes, { xn, syscalls })`.
 *
 * - `GET /v1/xn` — online, superblock, what the boot found (clean or rebuilt, fsck summary),
 *   call counters, processes holding XN state, completion routing counters.
 * - `GET /v1/xn/roots` — the root catalogue (roots and stored templates).
 * - `GET /v1/xn/types` — loaded types: layout, slots, read sets, raw extents, UDF listings.
 * - `GET /v1/xn/blocks/:db[?source=disk]` — registry entry, parent chain, freemap bit, hexdump
 *   of the cached page (or, with `source=disk`, of the block as it is on the disk).
 * - `POST /v1/xn/fsck` — walk every root over the current state; read-only.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { BlockDeviceSyscalls } from '../../kernel/bcache/index.js';
import { disassemble, type Xn, type XnSyscalls } from '../../kernel/xn/index.js';
import { badRequest, errorResponses, notFound } from '../errors.js';

/** Options of {@link xnRoutes}. */
export interface XnRoutesOptions {
  xn: Xn;
  /** The system-call layers, when the machine registered them (their counters are shown). */
  syscalls?: { xn: XnSyscalls; blkdev: BlockDeviceSyscalls } | null;
}

/** Classic hexdump: offset, 16 bytes in hex, printable ASCII. */
export function hexdump(b: Uint8Array): string[] {
  const lines: string[] = [];
  for (let off = 0; off < b.length; off += 16) {
    const row = b.subarray(off, off + 16);
    const hex = [...row].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    lines.push(`${off.toString(16).padStart(4, '0')}: ${hex.padEnd(47)} |${ascii}|`);
  }
  return lines;
}


/** The plugin. */
export const xnRoutes: FastifyPluginAsync<XnRoutesOptions> = async (app, opts) => {
  const { xn } = opts;
  const anyObj = { type: 'object', additionalProperties: true } as const;

  app.get('/v1/xn', { schema: { summary: 'XN: online state, boot report (clean or rebuilt freemap), registry and I/O counters', response: { 200: anyObj } } }, async () => {
    const boot = xn.bootReport;
    const f = boot?.fsck ?? null;
    const sc = opts.syscalls ?? null;
    return {
      online: xn.online,
      superblock: xn.online ? xn.superblock : null,
      boot:
        boot === null
          ? null
          : {
              formatted: boot.formatted,
              wasClean: boot.wasClean,
              reason: boot.reason,
              fsck: f === null ? null : { roots: f.roots, reachableBlocks: f.reachableBlocks, dangling: f.dangling, doublyOwned: f.doublyOwned, repaired: f.repaired, problems: f.problems.slice(0, 50) },
            },
      stats: xn.stats(),
      processes: sc?.xn.contexts() ?? 0,
      completions: sc === null ? null : { xn: { ...sc.xn.completions }, blkdev: { ...sc.blkdev.completions } },
    };
  });

  app.get('/v1/xn/roots', { schema: { summary: 'The root catalogue: named roots with their blocks and types', response: { 200: anyObj } } }, async () => {
    const types = new Map(xn.types().map((t) => [t.id, t.name]));
    return {
      online: xn.online,
      catalogueBlock: xn.online ? xn.root() : null,
      roots: xn.readCatalogue().map(({ index, entry, persisted }) => ({
        index,
        name: entry.name,
        db: entry.db,
        nelem: entry.nelem,
        type: entry.typeId !== 0 ? 'template' : entry.type,
        typeName: entry.typeId !== 0 ? `template of type ${entry.typeId}` : (types.get(entry.type) ?? null),
        templateOf: entry.typeId === 0 ? null : entry.typeId,
        uid: entry.uid,
        mode: `0${entry.mode.toString(8)}`,
        persisted,
      })),
    };
  });

  app.get('/v1/xn/types', { schema: { summary: 'Imported types (templates) with their UDFs disassembled', response: { 200: anyObj } } }, async () => ({
    types: xn.types().map((t) => ({
      id: t.id,
      name: t.name,
      class: t.cls,
      nbytes: t.nbytes,
      allocatable: t.allocatable,
      hasPointers: t.hasPointers,
      nslots: t.nslots,
      rawRead: t.rawRead,
      rawWrite: t.rawWrite,
      readSets: t.readSets.slice(0, 256),
      members: t.cls === 'struct' ? t.members.map((m) => ({ off: m.off, type: m.type.id, name: m.type.name })) : [],
      arms: t.arms,
      discriminator: t.typeAccess,
      owns: disassemble(t.owns),
      readSet: t.spec?.cls === 'base' ? disassemble(t.spec.readSet) : [],
      getType: disassemble(t.getType),
    })),
  }));

  app.get<{ Params: { db: number }; Querystring: { source?: 'cache' | 'disk' } }>(
    '/v1/xn/blocks/:db',
    {
      schema: {
        summary: 'One disk block: registry entry, parents, owning root, hexdump (in core, or ?source=disk)',
        params: { type: 'object', properties: { db: { type: 'integer', minimum: 0 } }, required: ['db'], additionalProperties: false },
        querystring: { type: 'object', properties: { source: { type: 'string', enum: ['cache', 'disk'] } }, additionalProperties: false },
        response: { 200: anyObj, ...errorResponses },
      },
    },
    async (req) => {
      const info = xn.blockInfo(req.params.db);
      if (info === null) throw notFound(`block ${req.params.db} is outside the disk`);
      let onDisk: Uint8Array | null = null;
      if (req.query.source === 'disk') {
        onDisk = new Uint8Array(xn.device.blockSizeBytes);
        await xn.device.read(info.db, 1, onDisk);
      }
      return {
        db: info.db,
        allocated: info.allocated,
        registry: info.attr,
        parents: info.parents,
        root: info.root >= 0 ? info.root : null,
        inCore: info.page !== null,
        source: onDisk !== null ? 'disk' : 'cache',
        hexdump: onDisk !== null ? hexdump(onDisk) : info.page === null ? null : hexdump(info.page),
      };
    },
  );

  app.post(
    '/v1/xn/fsck',
    {
      schema: {
        summary: 'Walk every root with the UDFs: dangling, doubly-owned and leaked blocks',
        // maxProperties, not additionalProperties: fastify's ajv removes unknown fields silently.
        body: { type: ['object', 'null'], maxProperties: 0 },
        response: { 200: anyObj, ...errorResponses },
      },
    },
    async () => {
      if (!xn.online) throw badRequest('XN is not initialized');
      const r = await xn.fsck();
      return { ...r, ok: r.dangling === 0 && r.doublyOwned === 0 && r.leaked === 0 };
    },
  );
};
