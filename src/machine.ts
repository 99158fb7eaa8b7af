/**
 * The machine: boots everything a configuration describes, in dependency order, and takes it
 * down in reverse. `src/main.ts` runs it as the daemon; tests boot it in-process on the memory
 * backend.
 *
 *   config → cards (TAP or memory) → disk + XN → kernel (network path, processes, XN and
 *   raw-device system calls) → admin API
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildAdmin, listenAdmin } from './admin/index.js';
import type { CoreView, NicInfo } from './admin/routes/core.js';
import type { Config, NicConfig } from './config/schema.js';
import { DaemonError } from './errors.js';
import { Docroot, Kernel, NetStack } from './kernel/index.js';
import { diskRoutes } from './admin/routes/disk.js';
import { procsRoutes } from './admin/routes/procs.js';
import { xnRoutes } from './admin/routes/xn.js';
import { openMachineDisk, type MachineDisk } from './kernel/xn/machine-disk.js';
import { programsRoutes } from './admin/routes/programs.js';
import { docrootRoutes } from './admin/routes/docroot.js';
import { dpfRoutes } from './admin/routes/dpf.js';
import { DpfEngine } from './kernel/dpf/index.js';
import { AfDpf } from './kernel/net/af-dpf.js';
import { cheetahRoutes } from './admin/routes/cheetah.js';
import { CheetahView } from './cheetah/index.js';
import { cheetahProgram } from './programs/index.js';
import { formatMac, openNic, type NetDevice } from './nic/index.js';
import { RealClock, type Clock } from './util/clock.js';
import type { Logger } from './util/log.js';
import { packageRoot } from './util/package-root.js';
import { parseIpv4, parseIpv4Cidr } from './wire/index.js';

export interface Machine {
  readonly config: Config;
  readonly nics: readonly NetDevice[];
  readonly net: NetStack;
  readonly kernel: Kernel;
  /** The disk, its buffer cache and XN. */
  readonly disk: MachineDisk;
  /** The admin app, when enabled. */
  readonly admin: FastifyInstance | undefined;
  /** Where the admin API listens (`http://127.0.0.1:8080`), when enabled. */
  readonly adminUrl: string | undefined;
  /** Stop everything in reverse boot order; idempotent. */
  stop(): Promise<void>;
}

export interface BootOptions {
  log: Logger;
  clock?: Clock;
  /**
   * Folder a relative `disk.path` is resolved against (the daemon passes the `--config` file's
   * folder, or the package folder). Absent: the disk is ephemeral, in a temporary folder removed
   * at stop.
   */
  baseDir?: string;
}

const VERSION = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;

/** The machine's addresses on a card, parsed from its (schema-validated) configuration. */
function cardAddresses(nic: NicConfig): { ip: number; prefixLen: number } {
  const ip = parseIpv4(nic.machineAddress);
  const host = parseIpv4Cidr(nic.hostAddress);
  if (ip === undefined || host === undefined) {
    throw new DaemonError('CONFIG_ERR_INVALID', `nic ${nic.name}: bad address ${nic.machineAddress} / ${nic.hostAddress}`);
  }
  return { ip, prefixLen: host.prefixLen };
}

/** Boot the machine. On failure everything already started is stopped again before the error propagates. */
export async function bootMachine(config: Config, opts: BootOptions): Promise<Machine> {
  const log = opts.log;
  const clock = opts.clock ?? new RealClock();
  const startedAtMs = clock.now();
  const nics: NetDevice[] = [];
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        log.error({ err }, 'shutdown step failed');
      }
    }
  };

  try {
    for (const nic of config.nics) {
      const dev = await openNic(nic, { backend: config.nicBackend, log: log.child({ component: 'nic', nic: nic.name }) });
      nics.push(dev);
      stops.push(() => dev.close());
    }

    // The disk comes up before the kernel and goes down after its processes (stops run in reverse).
    const disk = await openMachineDisk(config.disk, { log: log.child({ component: 'disk' }), ...(opts.baseDir === undefined ? {} : { baseDir: opts.baseDir }) });
    stops.push(() => disk.stop());

    const net = new NetStack({
      cards: config.nics.map((nic, i) => ({ dev: nics[i] as NetDevice, ...cardAddresses(nic) })),
      arpCacheTtlMs: config.kernel.arpCacheTtlMs,
      arpCacheMaxEntries: config.kernel.arpCacheMaxEntries,
      icmpErrorsPerSecond: config.kernel.icmpErrorsPerSecond,
      icmpErrorBurst: config.kernel.icmpErrorBurst,
      clock,
      log: log.child({ component: 'net' }),
    });
    net.start();

    const kernel = new Kernel({
      devices: new Map(nics.map((d) => [d.name, d])),
      clock,
      log: log.child({ component: 'kernel' }),
      fdLimit: config.procs.fdLimit,
      memoryBytes: config.procs.memoryBytes,
      traceEntries: config.procs.traceEntries,
      traceTiming: config.procs.traceTiming,
      keepExited: config.procs.keepExited,
    });
    // The docroot is unmounted after the processes are gone (stops run in reverse order).
    const docroot = Docroot.mount(kernel, { dir: config.docroot, log: log.child({ component: 'docroot' }) });
    stops.push(() => docroot.unmount());
    // Processes go first at shutdown: SIGTERM, a grace period, then SIGKILL.
    stops.push(() => kernel.shutdown(config.procs.shutdownGraceMs));
    disk.attach(kernel);

    // DPF (thesis §3.2): the demultiplexer, AF_DPF sockets, and netif_rx's receive hook in
    // front of the conventional path.
    const dpf = new AfDpf({
      net,
      engine: new DpfEngine({
        maxFilters: config.dpf.maxFilters,
        maxTrieNodes: config.dpf.maxTrieNodes,
        maxUnitChars: config.dpf.maxUnitChars,
        checkGeneratedCode: config.dpf.checkGeneratedCode,
        log: log.child({ component: 'dpf' }),
      }),
      queueFrames: config.dpf.socketQueueFrames,
      queueBytes: config.dpf.socketQueueBytes,
      log: log.child({ component: 'af_dpf' }),
    });
    dpf.install(kernel);
    // Cheetah (src/cheetah, docs/cheetah.md): a process spawned at boot; the view is the admin
    // API's read-only window on it, withdrawn when the kernel reports its exit.
    const cheetahView = new CheetahView();
    if (config.cheetah.enabled) {
      const c = config.cheetah;
      const p = kernel.spawn('cheetah', cheetahProgram(c, cheetahView), { uid: 0, memoryBytes: c.memoryBytes, fdLimit: c.fdLimit, traceEntries: c.traceEntries });
      void p.exited.then((st) => cheetahView.ended({ pid: p.pid, code: st.code, error: st.error ?? (st.signal !== null ? `signal ${st.signal}` : null) }));
    }

    const view: CoreView = {
      version: VERSION,
      uptimeMs: () => clock.now() - startedAtMs,
      nics: () =>
        config.nics.map(
          (nic, i): NicInfo => {
            const dev = nics[i] as NetDevice;
            return {
              name: dev.name,
              kind: dev.kind,
              mac: formatMac(dev.mac),
              mtuBytes: dev.mtuBytes,
              hostAddress: nic.hostAddress,
              machineAddress: nic.machineAddress,
              counters: dev.counters(),
            };
          },
        ),
      arp: () => net.arpTable(),
      kernelStats: () => net.stats(),
    };

    let admin: FastifyInstance | undefined;
    let adminUrl: string | undefined;
    if (config.admin.enabled) {
      const app = await buildAdmin({
        view,
        log: log.child({ component: 'admin' }),
        plugins: [
          { plugin: procsRoutes, opts: { kernel } },
          { plugin: programsRoutes, opts: { kernel } },
          { plugin: dpfRoutes, opts: { dpf } },
          { plugin: docrootRoutes, opts: { docroot } },
          { plugin: diskRoutes, opts: { device: disk.device, cache: disk.cache } },
          { plugin: xnRoutes, opts: { xn: disk.xn, syscalls: disk.syscalls } },
          { plugin: cheetahRoutes, opts: { view: cheetahView } },
        ],
      });
      admin = app;
      const listener = await listenAdmin(app, config.admin);
      stops.push(() => listener.close());
      adminUrl = listener.url;
    }

    log.info(
      {
        cards: config.nics.map((n) => `${n.name} ${n.machineAddress} (host ${n.hostAddress})`),
        admin: adminUrl,
        adminSocket: config.admin.socketPath,
        backend: config.nicBackend,
      },
      'exolinuxd ready',
    );

    let stopped: Promise<void> | undefined;
    return {
      config,
      nics,
      net,
      kernel,
      disk,
      admin,
      adminUrl,
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
