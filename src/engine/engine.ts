// The composition root: builds every service over the mechanisms and reconciles state at start.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ContainersService } from './containers/service.js';
import { ExecService } from './containers/exec.js';
import { EventsService } from './events.js';
import { ImagesService } from './images/service.js';
import { OverlaySnapshotter } from './snapshots/overlay.js';
import { RootfsMounts } from './snapshots/rootfs.js';
import { SystemService } from './system.js';
import { NetworksService } from './networks/service.js';
import { DistributionService } from './distribution/service.js';
import { TrustService } from './trust/service.js';
import type { TrustPolicy } from './trust/policy.js';
import { ContainerFilesService } from './containers/archive.js';
import { HousekeepingService, type BuildHousekeeping } from './housekeeping.js';
import { BuildService } from './builder/service.js';
import { BuildCache } from './builder/cache.js';
import { VolumesService } from './volumes/service.js';
import { SbomService } from './sbom/service.js';
import { recoverLeftovers, type EngineLog } from './recovery.js';
import { VulnDbService } from './scan/service.js';
import { ScanService } from './scan/scanner.js';
import { osvSource, sbomInventory } from './scan/database.js';
import { withAttestedSboms } from './scan/attested.js';
import { NotFound } from '../lib/errors.js';

export interface EngineOptions {
  root: string;
  execRoot: string;
  runtime: string;
  logOpts: Record<string, string>;
  initBinary?: string;
  /** The default bridge's device name (dockerd's --bridge). */
  bridgeName?: string;
  /** dockerd's --ip-forward: turn on net.ipv4.ip_forward at start (default true). */
  ipForward?: boolean;
  /** Registries where plain HTTP is allowed besides loopback (dockerd's --insecure-registry). */
  insecureRegistries?: string[];
  /** berthd --trust-policy, already parsed (a bad file stops berthd before the engine starts). */
  trustPolicy?: TrustPolicy;
  /** Where start-up recovery reports what it cleaned (berthd's log). */
  log?: EngineLog;
}

export interface Engine {
  events: EventsService;
  images: ImagesService;
  containers: ContainersService;
  exec: ExecService;
  system: SystemService;
  networks: NetworksService;
  volumes: VolumesService;
  distribution: DistributionService;
  trust: TrustService;
  build: BuildService;
  /** cp, export, diff, commit (containers/archive.ts). */
  files: ContainerFilesService;
  /** system df, container prune, image prune (housekeeping.ts). */
  housekeeping: HousekeepingService;
  /** Package inventories (SBOMs) of images, archives and remote references (sbom/service.ts). */
  sbom: SbomService;
  /** The vulnerability database (<root>/vulndb): import, status, push, pull; scan/service.ts. */
  vulndb: VulnDbService;
  /** Vulnerability scans of images, archives and remote references (scan/scanner.ts). */
  scan: ScanService;
}

export async function startEngine(o: EngineOptions): Promise<Engine> {
  await fs.mkdir(o.root, { recursive: true, mode: 0o710 });
  await fs.mkdir(o.execRoot, { recursive: true, mode: 0o700 });
  const events = new EventsService();
  const snapshotter = new OverlaySnapshotter(o.root);
  // Containers' mounted root filesystems, shared by their runs and cp/export/diff/commit.
  const rootfs = new RootfsMounts(snapshotter);
  // The images service asks the containers service (made next) which containers use an image.
  const users: { containers?: ContainersService } = {};
  const images = new ImagesService({
    root: o.root,
    snapshotter,
    emit: (action, id, attrs) => events.emit('image', action, id, attrs ?? {}),
    usage: async (imageId) => users.containers?.isRunningUser(imageId) ?? {},
  });
  // The volumes service asks the containers service (made next) which containers use a volume.
  const volumes: VolumesService = new VolumesService({ root: o.root, events, containers: () => containers.store.all() });
  const containers: ContainersService = new ContainersService({
    root: o.root,
    execRoot: o.execRoot,
    runtime: o.runtime,
    images,
    snapshotter,
    rootfs,
    events,
    logOpts: o.logOpts,
    initBinary: o.initBinary,
    networks: () => networks,
    volumes: () => volumes,
  });
  users.containers = containers;
  const networks = new NetworksService({ root: o.root, execRoot: o.execRoot, bridgeName: o.bridgeName ?? 'berth0', ipForward: o.ipForward, events, containers: () => containers.store });
  const exec = new ExecService(containers, events);
  // The build cache's layers are GC roots from the first collection on (images.init collects): a restart
  // must not take the layers of cached steps no image holds (a warm build would miss on them).
  const builds: { service?: BuildService } = {};
  images.gcRoots.push(() => (builds.service ? builds.service.builder.cacheRoots() : new BuildCache({ root: o.root, images }).roots()));
  await snapshotter.init();
  await images.init();
  await containers.load();
  await volumes.init();
  await networks.init();
  await containers.init();
  await recoverLeftovers({
    root: o.root,
    execRoot: o.execRoot,
    runc: containers.runc,
    containers: containers.store.all(),
    stateDir: (id) => containers.stateDir(id),
    volumeDir: (name) => path.dirname(volumes.dataPath(name)),
    log: o.log ?? { info: () => undefined, error: () => undefined },
  });
  containers.resumeRestarts();
  await fs.rm(path.join(o.execRoot, 'x'), { recursive: true, force: true });
  const system = new SystemService({ root: o.root, runtime: o.runtime, containers, images, startedAt: new Date(), insecureRegistries: o.insecureRegistries });
  const trust = new TrustService({ policy: o.trustPolicy, insecure: o.insecureRegistries ?? [] });
  const distribution = new DistributionService({ images, events, insecure: o.insecureRegistries ?? [], trust });
  const build = new BuildService({ root: o.root, execRoot: o.execRoot, runtime: containers.runtime, images, snapshotter, layers: snapshotter.layers, networks, distribution });
  builds.service = build;
  await build.init();
  const files = new ContainerFilesService({ containers, images, snapshotter, rootfs, events });
  const housekeeping = new HousekeepingService({
    containers,
    images,
    snapshotter,
    events,
    volumes: () => volumes,
    build: (): BuildHousekeeping => build,
  });
  files.volumeMounts = (rec) => volumes.hostMounts(rec);
  const sbom = new SbomService({ root: o.root, images, insecure: o.insecureRegistries ?? [] });
  await sbom.prune();
  const vulndb = new VulnDbService({ root: o.root, insecure: o.insecureRegistries ?? [] });
  // Scans read the database the vulndb service keeps open (reopened by it after an import or pull).
  const database = async () => {
    try {
      return osvSource(vulndb.open());
    } catch (e) {
      if (e instanceof NotFound) return undefined;
      throw e;
    }
  };
  const scan = new ScanService({ inventory: withAttestedSboms(sbomInventory(sbom), { insecure: o.insecureRegistries ?? [] }), database, tmpDir: path.join(o.root, 'tmp') });
  const engine: Engine = { events, images, containers, exec, system, networks, volumes, distribution, trust, build, files, housekeeping, sbom, vulndb, scan };
  return engine;
}
