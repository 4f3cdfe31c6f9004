// The containers service: create, start, stop, kill, remove, wait, attach, pause, rename, top, resize —
// Docker's rules for each, with state kept in atomically written records and each container's
// processes owned by its berth-shim, so containers outlive berthd.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { ContainerCreateRequest, ContainerInspect, ContainerSummary, EndpointSettings, HostConfig } from '../../api/types.js';
import { Conflict, InvalidParameter, NotFound, NotModified, SystemError, messageOf } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { parseSignal } from '../../lib/signals.js';
import { writeFileAtomic } from '../../lib/fsutil.js';
import { secureJoin } from '../../lib/securejoin.js';
import type { EventsService } from '../events.js';
import type { ImagesService } from '../images/service.js';
import { upperDirOf } from '../snapshots/mount.js';
import type { RootfsMounts } from '../snapshots/rootfs.js';
import type { Snapshotter } from '../snapshots/types.js';
import { Runc } from '../runtime/runc.js';
import { cgroupControllers, cgroupLayout, discardUnsupportedLimits } from '../cgroups.js';
import { connectShim, liveShimPid, readExitFile, resizeShim, spawnShim, waitShim, type ExitStatus, type LogSettings } from '../runtime/shim.js';
import { buildResources, buildSpec, loadSeccompProfile } from '../runtime/spec.js';
import { adaptHostConfig, validateHostConfig } from '../runtime/validate.js';
import { resolveUser } from '../runtime/user.js';
import { attachHeader, joinStreams, parseDetachKeys, type AttachStreams } from './attach.js';
import { commandLine, mergeConfig } from './config.js';
import { linkEnv, linkHost, linkedChild, parseLink, parseLinks } from './links.js';
import { containerFiles, writeContainerFiles } from './files.js';
import { matchesContainerFilters, parseContainerFilters } from './filters.js';
import { generateName, normalizeName } from './names.js';
import { newState, ZERO_TIME, type ContainerRecord } from './record.js';
import { ContainerStore } from './store.js';
import { inspectView, summaryView } from './view.js';
import { sampleStats, type StatsJSON } from './stats.js';
import type { MountPlan, MountPointRecord, OciMountLike } from '../volumes/mounts.js';
import { HealthMonitor, PROBE_SPEC, probeCommand, probeSpecFile, type HealthState } from './health.js';
import { logDriver, logFile, normalizeLogConfig, resolveLogOptions } from './log-config.js';

export interface ContainersOptions {
  root: string;
  execRoot: string;
  runtime: string;
  images: ImagesService;
  snapshotter: Snapshotter;
  /** Mounts the snapshots' mounts as the containers' rootfs, shared with cp/export (snapshots/rootfs.ts). */
  rootfs: RootfsMounts;
  events: EventsService;
  /** Daemon-wide log options (berthd --log-opt); berth rotates by default (DESIGN.md). */
  logOpts: Record<string, string>;
  initBinary?: string;
  /** Wires each container's network before it starts (the networks service). */
  networks: () => ContainerNetworking;
  /** Volumes, bind mounts and tmpfs mounts (the volumes service). */
  volumes?: () => ContainerVolumes;
}

/** What the containers service needs from the volumes service. */
export interface ContainerVolumes {
  /** Mount points and the volumes they need, every rule checked; creates nothing. */
  plan(input: { hostConfig: HostConfig; volumes?: Record<string, object> | null; containerMounts(ref: string): MountPointRecord[] }): MountPlan;
  /** Create the missing volumes, referenced by the container until settle(); returns those created. */
  acquire(containerId: string, plan: MountPlan): Promise<string[]>;
  settle(containerId: string): void;
  rollback(created: string[]): Promise<void>;
  /** Whether create must mount the rootfs to copy the image's content into a volume. */
  wantsImageContent(mounts: readonly MountPointRecord[]): Promise<boolean>;
  copyImageContent(mounts: readonly MountPointRecord[], rootfs: string): Promise<void>;
  /** At start: host side ready, OCI mounts; release() at stop. */
  /** Before start: dockerd's start-time checks of the mounts (a --mount bind source still there). */
  verifyStart(rec: ContainerRecord): void;
  setup(rec: ContainerRecord, rootfs: string): Promise<{ mounts: OciMountLike[]; rootfsPropagation?: string }>;
  release(rec: ContainerRecord): Promise<void>;
  /** rm -v / --rm: the container's anonymous volumes. */
  removeAnonymous(rec: ContainerRecord): Promise<void>;
  /** A volume's data directory. */
  dataPath(name: string): string;
}

/** What the containers service needs from the networks service. */
export interface ContainerNetworking {
  endpointsForCreate(hc: HostConfig, config?: Record<string, EndpointSettings>, macAddress?: string): Record<string, EndpointSettings>;
  attach(rec: ContainerRecord): Promise<string | undefined>;
  detach(rec: ContainerRecord): Promise<void>;
  embeddedDns(rec: ContainerRecord): string | undefined;
  hostGatewayIp(): string;
}

interface PendingAttach {
  client: Duplex;
  streams: AttachStreams;
  detachKeys: Buffer;
  done: (r: 'detached' | 'ended') => void;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

const DEFAULT_STOP_TIMEOUT = 10;

export class ContainersService {
  readonly store: ContainerStore;
  readonly runc: Runc;
  private readonly bus = new EventEmitter();
  private readonly pendingAttach = new Map<string, PendingAttach[]>();
  private readonly reservedNames = new Set<string>();
  /** Containers with a start or stop in flight: one at a time per container. */
  private readonly locks = new Map<string, Promise<unknown>>();

  private readonly health: HealthMonitor;

  constructor(private readonly o: ContainersOptions) {
    this.store = new ContainerStore(path.join(o.root, 'containers'));
    this.runc = new Runc(o.runtime, path.join(o.execRoot, 'runc'));
    this.bus.setMaxListeners(0);
    this.health = new HealthMonitor({
      runc: this.runc,
      isRunning: (id) => this.store.tryGet(id)?.state.status === 'running',
      update: (id, h, changed) => this.recordHealth(id, h, changed),
      stateDir: (id) => this.stateDir(id),
    });
  }

  private async recordHealth(id: string, health: HealthState, changed: boolean): Promise<void> {
    const rec = this.store.tryGet(id);
    if (!rec || (rec.state.status !== 'running' && rec.state.status !== 'paused')) return;
    rec.state.health = health;
    await this.store.save(rec);
    if (changed) this.emit(rec, `health_status: ${health.Status}`);
  }

  // ---- paths ----

  /** The shim's state dir and OCI bundle; short so unix socket paths stay under 108 bytes. */
  stateDir(id: string): string {
    return path.join(this.o.execRoot, 'c', id.slice(0, 16));
  }
  rootfs(id: string): string {
    return path.join(this.store.dir(id), 'rootfs');
  }
  /** The container's log file (json-file: <id>-json.log; local: local-logs/container.log). */
  logPath(id: string): string {
    const lc = this.store.tryGet(id)?.hostConfig.LogConfig;
    return logFile(this.store.dir(id), id, lc) || path.join(this.store.dir(id), `${id}-json.log`);
  }

  // ---- start-up ----

  /** Reconcile records with what is really running; clean what a crash left behind. */
  /** Read the records (the networks service needs them before reconcile), cleaning what a crash left. */
  async load(): Promise<void> {
    await fs.mkdir(path.join(this.o.execRoot, 'c'), { recursive: true });
    const { orphans } = await this.store.load();
    for (const dir of orphans) {
      await this.o.rootfs.unmount(path.join(dir, 'rootfs')).catch(() => undefined);
      // A dir still busy is left to the next start rather than keeping berthd from starting.
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Exited containers whose restart policy brings them back at daemon start (set by init). */
  private exitedBefore = new Set<string>();

  async init(): Promise<void> {
    this.exitedBefore = new Set(this.store.all().filter((r) => r.state.status === 'exited' || r.state.status === 'restarting').map((r) => r.id));
    for (const rec of this.store.all()) await this.reconcile(rec);
  }

  /** After start-up recovery: the restart policies' starts, in the background. */
  resumeRestarts(): void {
    const exitedBefore = this.exitedBefore;
    // Exits seen by reconcile already went through the policy; the rest are started here.
    void (async () => {
      for (const id of exitedBefore) {
        const rec = this.store.tryGet(id);
        // `always` comes back at daemon start even after a manual stop; `unless-stopped` does not.
        if (rec && (rec.hostConfig.RestartPolicy?.Name === 'always' || shouldRestart(rec))) {
          rec.state.status = 'exited';
          await this.start(id).catch(() => undefined);
        }
      }
    })();
  }

  private async reconcile(rec: ContainerRecord): Promise<void> {
    const st = rec.state.status;
    if (st === 'removing') return this.finishRemove(rec);
    const shim = await liveShimPid(this.stateDir(rec.id));
    if (st === 'running' || st === 'paused') {
      if (shim) {
        this.health.start(rec.id, rec.config.Healthcheck, Date.parse(rec.state.startedAt), rec.state.health);
        return void this.monitor(rec.id);
      }
      const exit = await readExitFile(this.stateDir(rec.id));
      return this.onExit(rec.id, exit ?? { exitCode: 255, signal: null, finishedAt: new Date().toISOString() }, !exit);
    }
    // created/exited: a start interrupted by a crash may have left a created runc container behind.
    if (shim) await this.runc.delete(rec.id);
    await this.o.rootfs.unmount(this.rootfs(rec.id)).catch(() => undefined);
  }

  // ---- create ----

  async create(req: ContainerCreateRequest, name?: string, opts: { platform?: string } = {}): Promise<{ Id: string; Warnings: string[] }> {
    if (!req.Image) throw new InvalidParameter('Config cannot be empty in order to create a container');
    const hostConfig: HostConfig = req.HostConfig ?? {};
    validateHostConfig(hostConfig);
    const limits = discardUnsupportedLimits(hostConfig, await cgroupControllers());
    if (limits.error) throw new InvalidParameter(limits.error);
    // Each link names an existing container (dockerd's registerLinks, before anything is created).
    for (const link of parseLinks(hostConfig.Links)) this.store.get(link.target);
    hostConfig.LogConfig = normalizeLogConfig(hostConfig.LogConfig, this.o.logOpts);
    const networks = this.o.networks().endpointsForCreate(hostConfig, req.NetworkingConfig?.EndpointsConfig ?? undefined, req.MacAddress || undefined);
    const image = await this.o.images.resolve(req.Image);
    const imageConfig = await this.o.images.imageConfig(image.id);
    if (opts.platform) assertPlatform(req.Image, opts.platform, imageConfig);
    const id = randomBytes(32).toString('hex');
    const config = mergeConfig(req, imageConfig.config ?? {}, id.slice(0, 12));
    const fullName = name ? normalizeName(name) : generateName((n) => this.nameInUse(n));
    this.assertNameFree(fullName);
    const volumes = this.o.volumes?.();
    const plan = volumes?.plan({ hostConfig, volumes: config.Volumes, containerMounts: (ref) => this.store.get(ref).mounts ?? [] });
    this.reservedNames.add(fullName);
    try {
      const chain = await this.o.images.chainIds(image.id);
      const [entry, ...args] = commandLine(config);
      const rec: ContainerRecord = {
        id,
        name: fullName,
        created: new Date().toISOString(),
        path: entry!,
        args,
        image: image.id,
        imageRef: req.Image,
        parentChainId: chain[chain.length - 1],
        config,
        hostConfig: withHostDefaults(adaptHostConfig(hostConfig)),
        state: newState(),
        networks,
      };
      if (plan?.mounts.length) rec.mounts = plan.mounts;
      // Volumes and snapshot first, record last: a crash in between leaves an orphan snapshot that
      // init() sweeps (and volumes nothing uses). A failure here leaves nothing it created.
      const created = volumes && plan ? await volumes.acquire(id, plan) : [];
      try {
        await this.o.snapshotter.prepare(id, rec.parentChainId, { init: true });
        if (volumes && plan && (await volumes.wantsImageContent(plan.mounts))) await this.copyImageContent(rec, volumes);
        await this.store.save(rec);
      } catch (e) {
        volumes?.settle(id);
        await this.o.rootfs.remove(id).catch(() => undefined);
        await volumes?.rollback(created);
        throw e;
      } finally {
        volumes?.settle(id);
      }
      this.emit(rec, 'create');
      return { Id: id, Warnings: limits.warnings };
    } finally {
      this.reservedNames.delete(fullName);
    }
  }

  /** Docker's copy-up at create: the image's content into the container's empty volumes. */
  private async copyImageContent(rec: ContainerRecord, volumes: ContainerVolumes): Promise<void> {
    const rootfs = this.rootfs(rec.id);
    await fs.mkdir(rootfs, { recursive: true });
    await this.o.rootfs.mount(rec.id, rootfs);
    try {
      await volumes.copyImageContent(rec.mounts ?? [], rootfs);
    } finally {
      await this.o.rootfs.unmount(rootfs);
    }
  }

  private nameInUse(name: string): boolean {
    return this.store.nameTaken(name) || this.reservedNames.has(name);
  }

  private assertNameFree(name: string): void {
    this.store.assertNameFree(name);
    if (this.reservedNames.has(name)) throw new Conflict(`Conflict. The container name "${name}" is already in use.`);
  }

  // ---- start ----

  async start(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    await this.serialize(rec.id, () => this.startLocked(rec.id));
  }

  private async serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(id, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(id) === next) this.locks.delete(id);
    }
  }

  private async startLocked(id: string): Promise<void> {
    const rec = this.store.get(id);
    if (rec.state.status === 'paused') throw new Conflict('cannot start a paused container, try unpause instead');
    if (rec.state.status === 'running') throw new NotModified('container already started');
    if (rec.state.status === 'removing') throw new Conflict(`container is marked for removal and cannot be started`);
    this.o.volumes?.().verifyStart(rec);
    try {
      const pid = await this.launch(rec);
      rec.state = { ...rec.state, status: 'running', pid, exitCode: 0, error: '', startedAt: new Date().toISOString(), finishedAt: rec.state.finishedAt, oomKilled: false, manuallyStopped: false };
      await this.store.save(rec);
      this.emit(rec, 'start');
      this.monitor(rec.id);
      this.health.start(rec.id, rec.config.Healthcheck, Date.now());
    } catch (e) {
      const err = withStartHint(e);
      await this.cleanupFailedStart(rec, err);
      throw err;
    }
  }

  /** Legacy links on the default bridge: their /etc/hosts lines and variables (each target must be running). */
  private resolveLinks(rec: ContainerRecord): { hosts: string[]; env: string[] } {
    const out = { hosts: [] as string[], env: [] as string[] };
    if (!rec.networks?.bridge) return out;
    for (const link of parseLinks(rec.hostConfig.Links)) {
      const { child, ip } = linkedChild(rec, link, (ref) => this.store.get(ref));
      out.hosts.push(linkHost(link, child, ip));
      out.env.push(...linkEnv(rec.name, link, child, ip));
    }
    return out;
  }

  /** DELETE /containers/{parent}/{alias}?link=1: the parent forgets that link (both containers stay). */
  async removeLink(parentRef: string, alias: string): Promise<void> {
    const parent = this.store.get(parentRef);
    const links = parent.hostConfig.Links ?? [];
    const kept = links.filter((l) => parseLink(l).alias !== alias);
    if (kept.length === links.length) throw new NotFound(`Could not find link ${alias} of container ${parent.name}`);
    parent.hostConfig.Links = kept.length ? kept : null;
    await this.store.save(parent);
  }

  /** Mount the rootfs, write the bundle, start the shim and runc; returns the container's pid. */
  private async launch(rec: ContainerRecord): Promise<number> {
    const namespacePaths = this.sharedNamespaces(rec.hostConfig);
    const rootfs = this.rootfs(rec.id);
    const stateDir = this.stateDir(rec.id);
    await fs.rm(stateDir, { recursive: true, force: true });
    await fs.mkdir(rootfs, { recursive: true });
    await this.o.rootfs.mount(rec.id, rootfs);
    const links = this.resolveLinks(rec);
    const netnsPath = await this.o.networks().attach(rec);
    const volumeMounts = rec.mounts?.length ? await this.o.volumes?.().setup(rec, rootfs) : undefined;
    const files = containerFiles(this.store.dir(rec.id));
    const hc = rec.hostConfig;
    await writeContainerFiles(files, {
      hostname: rec.config.Hostname!,
      extraHosts: [...links.hosts, ...(hc.ExtraHosts ?? []).map((h) => h.replace(/:host-gateway$/, () => ':' + this.o.networks().hostGatewayIp()))],
      dns: hc.Dns ?? [],
      dnsSearch: hc.DnsSearch ?? [],
      dnsOptions: hc.DnsOptions ?? [],
      embeddedDns: this.o.networks().embeddedDns(rec),
      hostNetwork: hc.NetworkMode === 'host',
      ip: Object.values(rec.networks ?? {}).find((ep) => ep.IPAddress)?.IPAddress,
    });
    const user = await resolveUser(rootfs, rec.config.User, hc.GroupAdd ?? undefined);
    const seccompOpt = (hc.SecurityOpt ?? []).find((o) => o.startsWith('seccomp=') || o.startsWith('seccomp:'));
    const seccompValue = seccompOpt?.slice('seccomp='.length);
    const spec = buildSpec({
      id: rec.id,
      rootfs,
      args: [rec.path, ...rec.args],
      // The container's own variables win over its links' (dockerd's ReplaceOrAppendEnvValues).
      env: [...new Map([...links.env, ...(rec.config.Env ?? [])].map((v) => [v.split('=')[0], v])).values()],
      cwd: rec.config.WorkingDir || '/',
      user,
      tty: rec.config.Tty ?? false,
      hostname: rec.config.Hostname!,
      domainname: rec.config.Domainname,
      hostConfig: hc,
      files,
      cgroupsPath: `/berth/${rec.id}`,
      cgroupns: (await cgroupLayout()) === 'v2',
      netnsPath,
      namespacePaths,
      initPath: hc.Init ? this.o.initBinary : undefined,
      extraMounts: volumeMounts?.mounts,
      rootfsPropagation: volumeMounts?.rootfsPropagation,
      // The default profile and `unconfined` are handled by buildSpec; only a custom one is loaded here.
      seccompProfile: seccompValue && seccompValue !== 'unconfined' ? await loadSeccompProfile(seccompValue) : undefined,
    });
    await fs.mkdir(stateDir, { recursive: true });
    // Resolved in the root (SetupWorkingDirectory): an image's symlink must not lead the mkdir onto the host.
    if (rec.config.WorkingDir) await fs.mkdir(await secureJoin(rootfs, rec.config.WorkingDir), { recursive: true }).catch(() => undefined);
    await writeFileAtomic(path.join(stateDir, 'config.json'), JSON.stringify(spec));
    const probeSpec = probeSpecFile(spec, probeCommand(rec.config.Healthcheck), user.home);
    if (probeSpec) await writeFileAtomic(path.join(stateDir, PROBE_SPEC), probeSpec);
    const shim = await spawnShim({
      id: rec.id,
      stateDir,
      bundle: stateDir,
      runtime: this.o.runtime,
      runtimeRoot: this.runc.root,
      tty: rec.config.Tty ?? false,
      stdin: rec.config.OpenStdin ?? false,
      stdinOnce: rec.config.StdinOnce ?? false,
      log: await this.logSettings(rec),
      probeSpec: probeSpec ? path.join(stateDir, PROBE_SPEC) : undefined,
      oomFile: (await cgroupLayout()) === 'v2' ? `/sys/fs/cgroup/berth/${rec.id}/memory.events` : `/sys/fs/cgroup/memory/berth/${rec.id}/memory.oom_control`,
    });
    const pid = await shim.pid;
    await this.connectPendingAttaches(rec);
    const size = hc.ConsoleSize;
    if (rec.config.Tty && size && size[0] > 0 && size[1] > 0) await resizeShim(stateDir, size[0], size[1]).catch(() => undefined);
    await this.runc.start(rec.id).catch(async (e: unknown) => {
      if (!(await this.exitedDuringStart(rec.id, e))) throw e;
    });
    return pid;
  }

  /**
   * `runc start` opens the exec fifo (the init execs the command), then removes the fifo. A command that
   * exits at once can beat that removal: its shim records the exit and deletes the runc container, state
   * dir and fifo included, and runc start fails with "remove …/exec.fifo: no such file or directory"
   * although the command ran. The shim writes exit.json before it deletes, so that record tells the two
   * apart; the container did start (its monitor then sees the exit).
   */
  private async exitedDuringStart(id: string, err: unknown): Promise<boolean> {
    if (!/exec\.fifo: no such file or directory/.test(messageOf(err))) return false;
    return (await readExitFile(this.stateDir(id))) !== undefined;
  }

  private async logSettings(rec: ContainerRecord): Promise<LogSettings | undefined> {
    const lc = rec.hostConfig.LogConfig;
    const type = logDriver(lc);
    const own = lc?.Config ?? {};
    const r = resolveLogOptions(type, type === 'json-file' ? { ...this.o.logOpts, ...own } : own);
    if (!r) return undefined;
    const file = logFile(this.store.dir(rec.id), rec.id, lc);
    await fs.mkdir(path.dirname(file), { recursive: true });
    return { path: file, ...r };
  }

  private async cleanupFailedStart(rec: ContainerRecord, err: unknown): Promise<void> {
    await this.runc.delete(rec.id);
    await this.o.networks().detach(rec).catch(() => undefined);
    await this.o.volumes?.().release(rec).catch(() => undefined);
    await this.o.rootfs.unmount(this.rootfs(rec.id)).catch(() => undefined);
    const msg = messageOf(err);
    rec.state = { ...rec.state, status: rec.state.startedAt === ZERO_TIME ? 'created' : 'exited', pid: 0, error: msg, exitCode: exitCodeForStartError(msg) };
    await this.store.save(rec);
    for (const p of this.pendingAttach.get(rec.id) ?? []) {
      p.client.end();
      p.done('ended');
    }
    this.pendingAttach.delete(rec.id);
    this.bus.emit(`exit:${rec.id}`, rec.state.exitCode, msg);
    if (rec.hostConfig.AutoRemove) await this.remove(rec.id, { force: true, volumes: true }).catch(() => undefined);
  }

  /** Learn of the container's exit from its shim (or from exit.json if the shim is already gone). */
  private monitor(id: string): void {
    void waitShim(this.stateDir(id)).then((status) =>
      this.onExit(id, status ?? { exitCode: 255, signal: null, finishedAt: new Date().toISOString() }, !status),
    );
  }

  private async onExit(id: string, status: ExitStatus, lost = false): Promise<void> {
    const rec = this.store.tryGet(id);
    this.health.stop(id);
    if (!rec) return;
    const oomKilled = status.oomKilled ?? false;
    // A live shim deletes the runc container itself; only a lost one leaves that to us.
    if (lost) await this.runc.delete(id);
    await this.o.networks().detach(rec).catch(() => undefined);
    await this.o.rootfs.unmount(this.rootfs(id)).catch(() => undefined);
    await this.o.volumes?.().release(rec).catch(() => undefined);
    rec.state = {
      ...rec.state,
      status: 'exited',
      pid: 0,
      exitCode: status.exitCode,
      finishedAt: status.finishedAt,
      error: lost ? 'container monitor exited without recording an exit status' : rec.state.error,
      oomKilled,
    };
    await this.store.save(rec);
    this.emit(rec, 'die', { exitCode: String(status.exitCode) });
    this.bus.emit(`exit:${id}`, status.exitCode);
    if (shouldRestart(rec)) await this.scheduleRestart(rec);
    else if (rec.hostConfig.AutoRemove) await this.remove(id, { force: true, volumes: true }).catch(() => undefined);
  }

  /** --pid/--ipc container:<name>: the running donor's namespaces, refused as dockerd refuses them. */
  private sharedNamespaces(hc: HostConfig): { pid?: string; ipc?: string } {
    const donor = (mode: string | undefined, what: string) => {
      if (!mode?.startsWith('container:')) return undefined;
      const c = this.store.get(mode.slice('container:'.length));
      if (c.state.status !== 'running' && c.state.status !== 'paused') throw new Conflict(`cannot join ${what} of a non running container: ${c.id}`);
      return c;
    };
    const pid = donor(hc.PidMode, 'PID');
    const ipc = donor(hc.IpcMode, 'IPC');
    if (ipc && ipc.hostConfig.IpcMode !== 'shareable') throw new Conflict(`container ${ipc.id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
    return { ...(pid ? { pid: `/proc/${pid.state.pid}/ns/pid` } : {}), ...(ipc ? { ipc: `/proc/${ipc.state.pid}/ns/ipc` } : {}) };
  }

  // ---- restart policies ----

  /** Per-container back-off, Docker's: 100 ms doubling, reset after 10 s of uptime. */
  private readonly backoff = new Map<string, number>();

  private async scheduleRestart(rec: ContainerRecord): Promise<void> {
    const uptime = Date.parse(rec.state.finishedAt) - Date.parse(rec.state.startedAt);
    const prev = this.backoff.get(rec.id);
    const delay = prev === undefined || uptime >= RESTART_RESET_MS ? RESTART_BASE_MS : Math.min(prev * 2, RESTART_MAX_MS);
    this.backoff.set(rec.id, delay);
    rec.state.status = 'restarting';
    await this.store.save(rec);
    setTimeout(() => void this.restartAfterBackoff(rec.id), delay).unref();
  }

  private async restartAfterBackoff(id: string): Promise<void> {
    const rec = this.store.tryGet(id);
    if (!rec || rec.state.status !== 'restarting' || rec.state.manuallyStopped) return;
    rec.state.restartCount++;
    rec.state.status = 'exited';
    await this.serialize(id, () => this.startLocked(id)).catch(() => undefined);
  }


  // ---- attach ----

  /** Attach a client stream; before start it waits and is connected as the container starts. */
  attach(ref: string, client: Duplex, streams: AttachStreams, detachKeysSpec?: string): Promise<'detached' | 'ended'> {
    const rec = this.store.get(ref);
    const detachKeys = parseDetachKeys(detachKeysSpec);
    const stdin = streams.stdin && (rec.config.OpenStdin ?? false);
    const wanted = { ...streams, stdin };
    if (rec.state.status === 'running' || rec.state.status === 'paused') {
      return connectShim(this.stateDir(rec.id), attachHeader(wanted)).then(
        (shim) => joinStreams(client, shim, { stdin, detachKeys, tty: rec.config.Tty ?? false }),
        () => {
          client.end();
          return 'ended' as const;
        },
      );
    }
    return new Promise((done) => {
      const list = this.pendingAttach.get(rec.id) ?? [];
      list.push({ client, streams: wanted, detachKeys, done });
      this.pendingAttach.set(rec.id, list);
      client.once('close', () => {
        const l = this.pendingAttach.get(rec.id);
        if (l) this.pendingAttach.set(rec.id, l.filter((p) => p.client !== client));
      });
    });
  }

  private async connectPendingAttaches(rec: ContainerRecord): Promise<void> {
    const pending = this.pendingAttach.get(rec.id) ?? [];
    this.pendingAttach.delete(rec.id);
    await Promise.all(
      pending.map(async (p) => {
        const shim = await connectShim(this.stateDir(rec.id), attachHeader(p.streams));
        void joinStreams(p.client, shim, { stdin: p.streams.stdin, detachKeys: p.detachKeys, tty: rec.config.Tty ?? false }).then(p.done);
      }),
    );
    if (pending.length) this.emit(rec, 'attach');
  }

  async resize(ref: string, rows: number, cols: number): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.state.status !== 'running') throw new Conflict(`Container ${rec.id} is not running`);
    await resizeShim(this.stateDir(rec.id), rows, cols).catch(() => undefined);
  }

  // ---- stop / kill / restart / pause ----

  async stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    if (opts.signal) parseSignal(opts.signal);
    const rec = this.store.get(ref);
    if (rec.state.status === 'restarting') {
      // Waiting out its back-off: cancel the restart.
      rec.state = { ...rec.state, status: 'exited', manuallyStopped: true };
      await this.store.save(rec);
      return;
    }
    if (rec.state.status !== 'running' && rec.state.status !== 'paused') throw new NotModified('container already stopped');
    rec.state.manuallyStopped = true;
    await this.store.save(rec);
    const exited = this.nextExit(rec.id);
    const timeout = opts.timeout ?? rec.config.StopTimeout ?? DEFAULT_STOP_TIMEOUT;
    const signal = opts.signal || rec.config.StopSignal || 'SIGTERM';
    if (rec.state.status === 'paused') await this.runc.resume(rec.id).catch(() => undefined);
    await this.runc.kill(rec.id, normalizeSignal(signal)).catch(() => undefined);
    if (timeout < 0) return void (await exited);
    const inTime = await Promise.race([exited.then(() => true), sleep(timeout * 1000).then(() => false)]);
    if (!inTime) {
      await this.runc.kill(rec.id, 'KILL', true).catch(() => undefined);
      await exited;
    }
    this.emit(rec, 'stop');
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    parseSignal(signal); // dockerd refuses a bad signal before it looks at the container
    const rec = this.store.get(ref);
    if (rec.state.status !== 'running' && rec.state.status !== 'paused') throw new Conflict(`Container ${rec.id} is not running`);
    const sig = normalizeSignal(signal);
    if (sig === 'KILL' || sig === 'TERM') {
      rec.state.manuallyStopped = true;
      await this.store.save(rec);
    }
    // dockerd's kill with SIGKILL answers once the container has stopped, so a client's next inspect or
    // rm sees it exited; other signals return at once (the process may ignore them).
    const exited = sig === 'KILL' ? this.nextExit(rec.id).then(() => true) : undefined;
    const paused = rec.state.status === 'paused';
    await this.runc.kill(rec.id, sig);
    // A frozen process takes its SIGKILL only once thawed (dockerd resumes it too).
    if (sig === 'KILL' && paused) await this.runc.resume(rec.id).catch(() => undefined);
    this.emit(rec, 'kill', { signal: sig });
    if (exited && !(await Promise.race([exited, sleep(KILL_EXIT_WAIT_MS).then(() => false)]))) {
      throw new Error('tried to kill container, but did not receive an exit event');
    }
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.state.status === 'running' || rec.state.status === 'paused') await this.stop(rec.id, opts);
    await this.start(rec.id);
    this.emit(rec, 'restart');
  }

  async pause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.state.status === 'paused') throw new Conflict(`Container ${rec.id} is already paused`);
    if (rec.state.status !== 'running') throw new Conflict(`Container ${rec.id} is not running`);
    await this.runc.pause(rec.id);
    rec.state.status = 'paused';
    await this.store.save(rec);
    this.emit(rec, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.state.status !== 'paused') throw new Conflict(`Container ${rec.id} is not paused`);
    await this.runc.resume(rec.id);
    rec.state.status = 'running';
    await this.store.save(rec);
    this.emit(rec, 'unpause');
  }

  // ---- wait ----

  private nextExit(id: string): Promise<number> {
    return new Promise((resolve) => this.bus.once(`exit:${id}`, resolve));
  }

  async wait(ref: string, condition: WaitCondition = 'not-running'): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const rec = this.store.get(ref);
    const running = ['running', 'paused', 'restarting'].includes(rec.state.status);
    if (condition === 'not-running' && !running) return { StatusCode: rec.state.exitCode, Error: null };
    if (condition === 'removed') {
      const code = await new Promise<number>((resolve) => {
        let last = rec.state.exitCode;
        const onExit = (c: number) => (last = c);
        this.bus.on(`exit:${rec.id}`, onExit);
        this.bus.once(`removed:${rec.id}`, () => {
          this.bus.off(`exit:${rec.id}`, onExit);
          resolve(last);
        });
      });
      return { StatusCode: code, Error: null };
    }
    const code = await this.nextExit(rec.id);
    return { StatusCode: code, Error: null };
  }

  // ---- remove / rename ----

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.state.status === 'removing') throw new Conflict(`removal of container ${rec.id} is already in progress`);
    const running = rec.state.status === 'running' || rec.state.status === 'paused';
    if ((running || rec.state.status === 'restarting') && !opts.force) {
      throw new Conflict(`You cannot remove a running container ${rec.id}. Stop the container before attempting removal or force remove`);
    }
    if (running) {
      const exited = this.nextExit(rec.id);
      rec.state.manuallyStopped = true;
      if (rec.state.status === 'paused') await this.runc.resume(rec.id).catch(() => undefined);
      await this.runc.kill(rec.id, 'KILL', true).catch(() => undefined);
      await Promise.race([exited, sleep(10_000)]);
    }
    rec.state.status = 'removing';
    await this.store.save(rec);
    await this.finishRemove(rec, opts.volumes);
  }

  private async finishRemove(rec: ContainerRecord, removeVolumes = false): Promise<void> {
    if (await liveShimPid(this.stateDir(rec.id))) await this.runc.delete(rec.id);
    await this.o.rootfs.unmount(this.rootfs(rec.id)).catch(() => undefined);
    await this.o.rootfs.remove(rec.id);
    await fs.rm(this.stateDir(rec.id), { recursive: true, force: true });
    await this.store.delete(rec.id);
    // rm -v: its anonymous volumes go (those another container uses stay, silently, as in dockerd).
    if (removeVolumes) await this.o.volumes?.().removeAnonymous(rec).catch(() => undefined);
    this.emit(rec, 'destroy');
    this.bus.emit(`removed:${rec.id}`);
  }

  async rename(ref: string, newName: string): Promise<void> {
    const rec = this.store.get(ref);
    const name = normalizeName(newName);
    if (name === rec.name) throw new InvalidParameter(`Renaming a container with the same name as its current name`);
    this.assertNameFree(name);
    const old = rec.name;
    rec.name = name;
    // The embedded DNS answers to the new name at once (Docker's behaviour on user-defined networks).
    for (const ep of Object.values(rec.networks ?? {})) {
      if (ep.DNSNames) ep.DNSNames = ep.DNSNames.map((n) => (n === old.slice(1) ? name.slice(1) : n));
    }
    await this.store.save(rec);
    this.emit(rec, 'rename', { oldName: old });
  }

  // ---- views ----

  async inspect(ref: string, size = false): Promise<ContainerInspect> {
    const rec = this.store.get(ref);
    const upper = upperDirOf(await this.o.snapshotter.mounts(rec.id).catch(() => [])) ?? '';
    const view = inspectView(rec, {
      files: containerFiles(this.store.dir(rec.id)),
      // dockerd shows only json-file's path: local's format and place are the engine's business.
      logPath: logDriver(rec.hostConfig.LogConfig) === 'json-file' ? this.logPath(rec.id) : '',
      graphDriverData: { UpperDir: upper, WorkDir: path.join(path.dirname(upper), 'work'), MergedDir: this.rootfs(rec.id) },
      execIds: this.execIds(rec.id),
      volumePath: (n) => this.o.volumes?.().dataPath(n) ?? '',
    });
    if (size) {
      const sizeRw = await this.o.snapshotter.usage(rec.id);
      view.SizeRw = sizeRw;
      view.SizeRootFs = sizeRw + (await this.imageSize(rec.image));
    }
    return view;
  }

  /** Set by the exec service so inspect can list a container's exec IDs. */
  execIds: (containerId: string) => string[] = () => [];

  private async imageSize(imageId: string): Promise<number> {
    try {
      return (await this.o.images.inspect(imageId)).Size;
    } catch {
      return 0;
    }
  }

  async list(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> }): Promise<ContainerSummary[]> {
    const filters = opts.filters ?? {};
    const f = parseContainerFilters(filters, (x) => this.store.tryGet(x));
    let recs = this.store.all().sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
    // As dockerd: a status filter (and a limit) lists stopped containers too; `exited` alone does not.
    const showAll = opts.all || (opts.limit ?? 0) > 0 || !!filters.status?.length;
    if (!showAll) recs = recs.filter((r) => r.state.status === 'running' || r.state.status === 'paused' || r.state.status === 'restarting');
    const ancestors = await this.ancestorIds(filters);
    const imageMatches = (r: ContainerRecord, ref: string) => r.imageRef === ref || ancestors.get(ref) === r.image;
    recs = recs.filter((r) => matchesContainerFilters(r, f, (img) => imageMatches(r, img)));
    if (opts.limit && opts.limit > 0) recs = recs.slice(0, opts.limit);
    return Promise.all(
      recs.map(async (r) => {
        if (!opts.size) return summaryView(r);
        const sizeRw = await this.o.snapshotter.usage(r.id);
        return summaryView(r, { sizeRw, sizeRootFs: sizeRw + (await this.imageSize(r.image)) });
      }),
    );
  }

  /** `ancestor=` names images: resolve each once per list call (by reference, ID or ID prefix). */
  private async ancestorIds(filters: Record<string, string[]>): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const ref of filters.ancestor ?? []) {
      const img = await this.o.images.resolve(ref).catch(() => undefined);
      if (img) ids.set(ref, img.id);
    }
    return ids;
  }


  /** `docker update`: new limits (and restart policy) for a container, applied at once when it runs. */
  async update(ref: string, changes: HostConfig): Promise<{ Warnings: string[] }> {
    const rec = this.store.get(ref);
    const allowed: (keyof HostConfig)[] = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'PidsLimit', 'BlkioWeight', 'RestartPolicy'];
    const next: HostConfig = { ...rec.hostConfig };
    for (const k of allowed) {
      const v = changes[k];
      if (v !== undefined && v !== null && !(typeof v === 'number' && v === 0 && k !== 'PidsLimit') && !(k === 'CpusetCpus' && v === '')) (next as Record<string, unknown>)[k] = v;
    }
    if (changes.NanoCpus) {
      next.CpuPeriod = 0;
      next.CpuQuota = 0;
    }
    if (changes.Memory && !changes.MemorySwap && (rec.hostConfig.MemorySwap ?? 0) > 0 && rec.hostConfig.MemorySwap! < changes.Memory) next.MemorySwap = changes.Memory * 2;
    validateHostConfig(next);
    const limits = discardUnsupportedLimits(next, await cgroupControllers());
    if (limits.error) throw new InvalidParameter(limits.error);
    if (rec.state.status === 'running' || rec.state.status === 'paused') await this.runc.update(rec.id, JSON.stringify(buildResources(next)));
    rec.hostConfig = next;
    await this.store.save(rec);
    this.emit(rec, 'update');
    return { Warnings: limits.warnings };
  }

  /** One resource-usage sample in the Engine API's stats shape (zeros once the container stopped). */
  async stats(ref: string, prev?: StatsJSON): Promise<StatsJSON> {
    const rec = this.store.get(ref);
    const pid = rec.state.status === 'running' || rec.state.status === 'paused' ? rec.state.pid : 0;
    return sampleStats(rec.id, rec.name, pid, prev);
  }

  async top(ref: string, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
    const rec = this.store.get(ref);
    if (rec.state.status !== 'running' && rec.state.status !== 'paused') throw new Conflict(`Container ${rec.id} is not running`);
    const pids = new Set(await this.runc.pids(rec.id));
    const out = (await run(['ps', ...psArgs.split(/\s+/).filter(Boolean)])).stdout.trimEnd().split('\n');
    const titles = out[0]!.trim().split(/\s+/);
    const pidCol = titles.indexOf('PID');
    if (pidCol < 0) throw new InvalidParameter(`Couldn't find PID field in ps output`);
    const rows = out.slice(1).map((l) => splitPsLine(l, titles.length)).filter((r) => pids.has(Number(r[pidCol])));
    return { Titles: titles, Processes: rows };
  }

  isRunningUser(imageId: string): { running?: string; stopped?: string } {
    const users = this.store.all().filter((c) => c.image === imageId);
    const running = users.find((c) => ['running', 'paused', 'restarting'].includes(c.state.status));
    const stopped = users.find((c) => !['running', 'paused', 'restarting'].includes(c.state.status));
    return { running: running?.id, stopped: stopped?.id };
  }

  private emit(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.o.events.emit('container', action, rec.id, {
      ...(rec.config.Labels ?? {}),
      image: rec.imageRef,
      name: rec.name.slice(1),
      ...extra,
    });
  }
}

const RESTART_BASE_MS = 100;
const RESTART_MAX_MS = 60_000;
const RESTART_RESET_MS = 10_000;

/** Docker's restart rules: never after a manual stop; on-failure only for non-zero exits, up to its count. */
export function shouldRestart(rec: ContainerRecord): boolean {
  const p = rec.hostConfig.RestartPolicy;
  if (rec.state.manuallyStopped || !p?.Name || p.Name === 'no') return false;
  if (p.Name === 'on-failure') return rec.state.exitCode !== 0 && (!p.MaximumRetryCount || rec.state.restartCount < p.MaximumRetryCount);
  return p.Name === 'always' || p.Name === 'unless-stopped';
}

function withHostDefaults(hc: HostConfig): HostConfig {
  return {
    NetworkMode: 'default',
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    LogConfig: { Type: 'json-file', Config: {} },
    ...hc,
  };
}

/** ps output has a free-form last column (CMD): split into exactly n fields. */
function splitPsLine(line: string, n: number): string[] {
  const parts = line.trim().split(/\s+/);
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(' ')];
}

/** "SIGTERM", "TERM", "15" → runc's form. */
/** runc's form of a signal: its name without SIG, or its number for the real-time ones runc cannot name. */
export function normalizeSignal(sig: string): string {
  const s = sig.toUpperCase();
  if (/^\d+$/.test(s)) return s;
  const name = s.startsWith('SIG') ? s.slice(3) : s;
  return name.startsWith('RT') ? String(parseSignal(sig)) : name;
}

/** Docker's exit codes for a container that could not start: 127 not found (or a mount of the wrong
 *  kind), 126 not executable. */
function exitCodeForStartError(msg: string): number {
  if (/executable file not found|no such file or directory/.test(msg)) return 127;
  if (/permission denied/.test(msg)) return 126;
  if (msg.includes(MOUNT_KIND_HINT)) return 127;
  return 128;
}

const MOUNT_KIND_HINT = 'Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';

/** dockerd's translateContainerdStartErr: a runtime's ENOTDIR is most often a file bound onto a
 *  directory or back, so say so. */
function withStartHint(e: unknown): unknown {
  if (!(e instanceof SystemError) || !e.message.includes('not a directory') || e.message.includes(MOUNT_KIND_HINT)) return e;
  return new SystemError(`${e.message}: ${MOUNT_KIND_HINT}`);
}
/** How long kill waits for the exit a SIGKILL causes (dockerd's bound; an unkillable process is an error). */
const KILL_EXIT_WAIT_MS = 10_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** create?platform=os/arch[/variant]: a local image of another platform is "not found", as dockerd 20.10 says. */
function assertPlatform(ref: string, wanted: string, cfg: { os?: string; architecture?: string; variant?: string }): void {
  const [os, arch, variant] = wanted.toLowerCase().split('/');
  const actual = [cfg.os ?? 'linux', cfg.architecture ?? 'amd64', ...(cfg.variant ? [cfg.variant] : [])].join('/');
  const matches = (!os || os === (cfg.os ?? 'linux')) && (!arch || arch === (cfg.architecture ?? 'amd64')) && (!variant || variant === cfg.variant);
  if (!matches) throw new NotFound(`image with reference ${ref} was found but does not match the specified platform: wanted ${wanted}, actual: ${actual}`);
}
