// The containers service: the lifecycle's façade — create, start, stop, kill, restart, pause, wait,
// remove — over its parts: creating and names (create.ts), launching (launch.ts), restart supervision
// (restart.ts), attach plumbing (attach.ts), list (list.ts), update (update.ts), top (top.ts), stats
// (stats.ts) and logs (log-stream.ts). State is kept in atomically written records and each
// container's processes are owned by its berth-shim, so containers outlive berthd.
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { ContainerCreateRequest, ContainerInspect, ContainerSummary, HostConfig } from '../../api/types.js';
import { traced } from '../../lib/trace.js';
import { Conflict, NotFound, NotModified } from '../../lib/errors.js';
import { parseSignal } from '../../lib/signals.js';
import type { Runc } from '../runtime/runc.js';
import type { Runtime } from '../runtime/runtime.js';
import { ShimRuntime } from '../runtime/shim-runtime.js';
import { upperDirOf } from '../snapshots/mount.js';
import { AttachPlumbing, openAttach, type AttachOptions, type AttachSession, type AttachStreams } from './attach.js';
import type { ContainerContext, ContainersOptions, RemoveOptions } from './context.js';
import { ContainerCreator } from './create.js';
import { containerFiles } from './files.js';
import { HealthMonitor, type HealthState } from './health.js';
import { Launcher, withStartHint } from './launch.js';
import { parseLink } from './links.js';
import { ContainerLister } from './list.js';
import { logDriver, logFile } from './log-config.js';
import { openContainerLogs, type ContainerLogStream } from './log-stream.js';
import type { ContainerRecord } from './record.js';
import { RestartSupervisor } from './restart.js';
import { statsStream, type StatsJSON } from './stats.js';
import { ContainerStore } from './store.js';
import { ContainerTop } from './top.js';
import { ContainerUpdater } from './update.js';
import { ContainerWaits, type WaitCondition, type WaitResult } from './wait.js';
import { inspectView } from './view.js';

export type { ContainersOptions, ContainerVolumes, ContainerNetworking } from './context.js';
export { shouldRestart } from './restart.js';

export type { WaitCondition, WaitResult } from './wait.js';

const DEFAULT_STOP_TIMEOUT = 10;

export class ContainersService {
  readonly store: ContainerStore;
  /** Creates and monitors the containers' processes (berth-shim + runc). */
  readonly runtime: Runtime;
  /** runc itself, for start-up recovery (it also clears build steps' containers). */
  readonly runc: Runc;
  private readonly bus = new EventEmitter();
  /** Containers with a start or stop in flight: one at a time per container. */
  private readonly locks = new Map<string, Promise<unknown>>();

  private readonly health: HealthMonitor;
  private readonly restarts: RestartSupervisor;
  private readonly attaches: AttachPlumbing;
  private readonly launcher: Launcher;
  private readonly creator: ContainerCreator;
  private readonly lister: ContainerLister;
  private readonly updater: ContainerUpdater;
  private readonly topper: ContainerTop;
  /** The runtime as implemented, for where its state dirs are (the bundles live there). */
  private readonly shims: ShimRuntime;
  private readonly waits: ContainerWaits;

  constructor(private readonly o: ContainersOptions) {
    this.store = new ContainerStore(path.join(o.root, 'containers'));
    this.shims = new ShimRuntime({ binary: o.runtime, root: path.join(o.execRoot, 'runc'), stateRoot: o.execRoot });
    this.runtime = this.shims;
    this.runc = this.shims.runc;
    this.bus.setMaxListeners(0);
    this.health = new HealthMonitor({
      runtime: this.runtime,
      isRunning: (id) => this.store.tryGet(id)?.state.status === 'running',
      update: (id, h, changed) => this.recordHealth(id, h, changed),
    });
    const ctx: ContainerContext = {
      o,
      store: this.store,
      runtime: this.runtime,
      bus: this.bus,
      health: this.health,
      stateDir: (id) => this.stateDir(id),
      rootfs: (id) => this.rootfs(id),
      emit: (rec, action, extra) => this.emit(rec, action, extra),
      start: (ref) => this.start(ref),
      remove: (ref, opts) => this.remove(ref, opts),
      serialize: (id, fn) => this.serialize(id, fn),
      startLocked: (id) => this.startLocked(id),
    };
    this.restarts = new RestartSupervisor(ctx);
    this.attaches = new AttachPlumbing(ctx);
    this.launcher = new Launcher(ctx, this.attaches);
    this.creator = new ContainerCreator(ctx);
    this.lister = new ContainerLister(ctx);
    this.updater = new ContainerUpdater(ctx);
    this.topper = new ContainerTop(ctx);
    this.waits = new ContainerWaits(ctx);
  }

  private async recordHealth(id: string, health: HealthState, changed: boolean): Promise<void> {
    const rec = this.store.tryGet(id);
    if (!rec || (rec.state.status !== 'running' && rec.state.status !== 'paused')) return;
    rec.state.health = health;
    await this.store.save(rec);
    if (changed) this.emit(rec, `health_status: ${health.Status}`);
  }

  // ---- paths ----

  /** The container's OCI bundle: its shim's state dir (one directory holds both). */
  stateDir(id: string): string {
    return this.shims.stateDir(id);
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

  async init(): Promise<void> {
    this.restarts.exitedBefore = new Set(this.store.all().filter((r) => r.state.status === 'exited' || r.state.status === 'restarting').map((r) => r.id));
    for (const rec of this.store.all()) await this.reconcile(rec);
  }

  /** After start-up recovery: the restart policies' starts, in the background (restart.ts). */
  resumeRestarts(): void {
    this.restarts.resumeRestarts();
  }

  private async reconcile(rec: ContainerRecord): Promise<void> {
    const st = rec.state.status;
    if (st === 'removing') return this.finishRemove(rec);
    const shim = await this.runtime.monitored(rec.id);
    if (st === 'running' || st === 'paused') {
      if (shim) {
        this.health.start(rec.id, rec.config.Healthcheck, Date.parse(rec.state.startedAt), rec.state.health);
        return void this.restarts.monitor(rec.id);
      }
      const exit = await this.runtime.wait(rec.id);
      return this.restarts.onExit(rec.id, exit ?? { exitCode: 255, signal: null, finishedAt: new Date().toISOString() }, !exit);
    }
    // created/exited: a start interrupted by a crash may have left a created runc container behind.
    if (shim) await this.runtime.delete(rec.id, { force: true }).catch(() => undefined);
    await this.o.rootfs.unmount(this.rootfs(rec.id)).catch(() => undefined);
  }

  // ---- create / rename (create.ts) ----

  create(req: ContainerCreateRequest, name?: string, opts: { platform?: string } = {}): Promise<{ Id: string; Warnings: string[] }> {
    return this.creator.create(req, name, opts);
  }

  rename(ref: string, newName: string): Promise<void> {
    return this.creator.rename(ref, newName);
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
      const pid = await this.launcher.launch(rec);
      rec.state = { ...rec.state, status: 'running', pid, exitCode: 0, error: '', startedAt: new Date().toISOString(), finishedAt: rec.state.finishedAt, oomKilled: false, manuallyStopped: false };
      // Its exit is watched from now on (a command that ends at once is learnt of as it ends, and what it
      // held given back meanwhile); that exit is handled once the start is on disk and announced.
      let announced!: (ok: boolean) => void;
      this.restarts.monitor(rec.id, new Promise<boolean>((resolve) => (announced = resolve)));
      try {
        // Not fsynced: after a machine crash no container runs, whatever the record says (recovery
        // finds no shim and marks it exited).
        await traced('start: save record', this.store.save(rec, { durable: false }));
      } catch (e) {
        announced(false);
        throw e;
      }
      this.emit(rec, 'start');
      announced(true);
      this.health.start(rec.id, rec.config.Healthcheck, Date.now());
    } catch (e) {
      const err = withStartHint(e);
      await this.launcher.cleanupFailedStart(rec, err);
      throw err;
    }
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

  // ---- attach (attach.ts) ----

  /** Attach a client stream; before start it waits and is connected as the container starts. */
  attach(ref: string, client: Duplex, streams: AttachStreams, detachKeysSpec?: string): Promise<'detached' | 'ended'> {
    return this.attaches.attach(ref, client, streams, detachKeysSpec);
  }

  async resize(ref: string, rows: number, cols: number): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.state.status !== 'running') throw new Conflict(`Container ${rec.id} is not running`);
    await this.runtime.resize(rec.id, rows, cols).catch(() => undefined);
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
    if (rec.state.status === 'paused') await this.runtime.resume(rec.id).catch(() => undefined);
    await this.runtime.kill(rec.id, normalizeSignal(signal)).catch(() => undefined);
    if (timeout < 0) return void (await exited);
    const inTime = await Promise.race([exited.then(() => true), sleep(timeout * 1000).then(() => false)]);
    if (!inTime) {
      await this.runtime.kill(rec.id, 'KILL', true).catch(() => undefined);
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
    await this.runtime.kill(rec.id, sig);
    // A frozen process takes its SIGKILL only once thawed (dockerd resumes it too).
    if (sig === 'KILL' && paused) await this.runtime.resume(rec.id).catch(() => undefined);
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
    await this.runtime.pause(rec.id);
    rec.state.status = 'paused';
    await this.store.save(rec);
    this.emit(rec, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.state.status !== 'paused') throw new Conflict(`Container ${rec.id} is not paused`);
    await this.runtime.resume(rec.id);
    rec.state.status = 'running';
    await this.store.save(rec);
    this.emit(rec, 'unpause');
  }

  // ---- wait (wait.ts) ----

  private nextExit(id: string): Promise<number> {
    return this.waits.nextExit(id);
  }

  /** moby's ContainerWait: an unknown container fails now (before any reply); `result` is the wait. */
  waitFor(ref: string, condition: WaitCondition): { result: Promise<WaitResult> } {
    return this.waits.waitFor(ref, condition);
  }

  wait(ref: string, condition: WaitCondition = 'not-running'): Promise<WaitResult> {
    return this.waits.wait(ref, condition);
  }

  // ---- remove / rename ----

  async remove(ref: string, opts: RemoveOptions = {}): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.state.status === 'removing') throw new Conflict(`removal of container ${rec.id} is already in progress`);
    const running = rec.state.status === 'running' || rec.state.status === 'paused';
    if ((running || rec.state.status === 'restarting') && !opts.force) {
      throw new Conflict(`You cannot remove a running container ${rec.id}. Stop the container before attempting removal or force remove`);
    }
    if (running) {
      const exited = this.nextExit(rec.id);
      rec.state.manuallyStopped = true;
      if (rec.state.status === 'paused') await this.runtime.resume(rec.id).catch(() => undefined);
      await this.runtime.kill(rec.id, 'KILL', true).catch(() => undefined);
      await Promise.race([exited, sleep(10_000)]);
    }
    rec.state.status = 'removing';
    // Not fsynced: the removal goes on at once, and a machine crash before its end leaves the former
    // state, from which the container can be removed again.
    if (!opts.afterExit) await traced('remove: save removing', this.store.save(rec, { durable: false }));
    await this.finishRemove(rec, opts.volumes, opts.afterExit);
  }

  /** `afterExit`: the runtime's container is already deleted (by the shim before it gave the exit status,
   *  or by onExit for a lost shim); a shim still exiting must not be taken for a live one. */
  private async finishRemove(rec: ContainerRecord, removeVolumes = false, afterExit = false): Promise<void> {
    if (!afterExit && (await this.runtime.monitored(rec.id))) await traced('remove: runc delete', this.runtime.delete(rec.id, { force: true }).catch(() => undefined));
    await traced('remove: unmount rootfs', this.o.rootfs.unmount(this.rootfs(rec.id)).catch(() => undefined));
    // The record after the snapshot (a crash in between leaves a record whose removal is finished at
    // start-up); the state dir beside both (one a crash leaves without its record, recovery removes).
    await Promise.all([
      (async () => {
        await traced('remove: snapshot', this.o.rootfs.remove(rec.id));
        await traced('remove: record', this.store.delete(rec.id));
      })(),
      traced('remove: state dir', fs.rm(this.stateDir(rec.id), { recursive: true, force: true })),
    ]);
    // rm -v: its anonymous volumes go (those another container uses stay, silently, as in dockerd).
    if (removeVolumes) await this.o.volumes?.().removeAnonymous(rec).catch(() => undefined);
    this.emit(rec, 'destroy');
    this.bus.emit(`removed:${rec.id}`);
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
      view.SizeRootFs = sizeRw + (await this.lister.imageSize(rec.image));
    }
    return view;
  }

  /** Set by the exec service so inspect can list a container's exec IDs. */
  execIds: (containerId: string) => string[] = () => [];

  list(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> }): Promise<ContainerSummary[]> {
    return this.lister.list(opts);
  }

  /** `docker update` (update.ts). */
  update(ref: string, changes: HostConfig): Promise<{ Warnings: string[] }> {
    return this.updater.update(ref, changes);
  }

  /** Which containers use an image, running or not (the images service asks before a remove). */
  isRunningUser(imageId: string): { running?: string; stopped?: string } {
    return this.lister.isRunningUser(imageId);
  }

  /** `docker top` (top.ts). */
  top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    return this.topper.top(ref, psArgs);
  }

  /** GET /containers/{id}/stats's samples (stats.ts); an unknown container fails now. */
  statsStream(ref: string, opts: { stream: boolean; oneShot: boolean }, signal: AbortSignal): AsyncGenerator<StatsJSON> {
    return statsStream(this, ref, opts, signal);
  }

  /** GET /containers/{id}/logs (log-stream.ts); an unknown container or unreadable driver fails now. */
  logs(ref: string): ContainerLogStream {
    return openContainerLogs(this, ref);
  }

  /** POST /containers/{id}/attach (attach.ts); an unknown container fails now. */
  attachSession(ref: string, opts: AttachOptions): AttachSession {
    return openAttach(this, ref, opts);
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

/** "SIGTERM", "TERM", "15" → runc's form. */
/** runc's form of a signal: its name without SIG, or its number for the real-time ones runc cannot name. */
export function normalizeSignal(sig: string): string {
  const s = sig.toUpperCase();
  if (/^\d+$/.test(s)) return s;
  const name = s.startsWith('SIG') ? s.slice(3) : s;
  return name.startsWith('RT') ? String(parseSignal(sig)) : name;
}

/** How long kill waits for the exit a SIGKILL causes (dockerd's bound; an unkillable process is an error). */
const KILL_EXIT_WAIT_MS = 10_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

