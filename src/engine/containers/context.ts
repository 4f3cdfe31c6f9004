// What the containers service's parts share: the service's options and the other services it uses,
// the records, the runtime, the exit bus and the lifecycle's entry points. Each part (restart.ts,
// launch.ts, create.ts, attach.ts, list.ts, update.ts, top.ts) extends ContainerPart, which gives
// its methods the same names the service uses (this.store, this.runtime, this.emit …).
import type { EventEmitter } from 'node:events';
import type { EndpointSettings, HostConfig } from '../../api/types.js';
import type { EventsService } from '../events.js';
import type { ImagesService } from '../images/service.js';
import type { RootfsMounts } from '../snapshots/rootfs.js';
import type { Snapshotter } from '../snapshots/snapshotter.js';
import type { Runtime } from '../runtime/runtime.js';
import type { MountPlan, MountPointRecord, OciMountLike } from '../volumes/mounts.js';
import type { HealthMonitor } from './health.js';
import type { ContainerRecord } from './record.js';
import type { ContainerStore } from './store.js';

export interface RemoveOptions {
  force?: boolean;
  volumes?: boolean;
  /** The exit's own removal (--rm): its record on disk still says running, so a crash before the end
   *  brings the exit, and this removal, back at start-up; 'removing' need not be written first. And
   *  the runtime's container is already deleted. */
  afterExit?: boolean;
}

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

/** One container service, as its parts see it. */
export interface ContainerContext {
  readonly o: ContainersOptions;
  readonly store: ContainerStore;
  readonly runtime: Runtime;
  /** `exit:<id>` (the exit code) and `removed:<id>`: what waits listen to. */
  readonly bus: EventEmitter;
  readonly health: HealthMonitor;
  stateDir(id: string): string;
  rootfs(id: string): string;
  emit(rec: ContainerRecord, action: string, extra?: Record<string, string>): void;
  // The lifecycle's entry points the parts call back into.
  start(ref: string): Promise<void>;
  remove(ref: string, opts?: RemoveOptions): Promise<void>;
  /** One start or stop at a time per container. */
  serialize<T>(id: string, fn: () => Promise<T>): Promise<T>;
  startLocked(id: string): Promise<void>;
}

/** A part of the containers service: the shared context under the names the service uses. */
export abstract class ContainerPart {
  constructor(protected readonly ctx: ContainerContext) {}

  protected get o(): ContainersOptions {
    return this.ctx.o;
  }
  protected get store(): ContainerStore {
    return this.ctx.store;
  }
  protected get runtime(): Runtime {
    return this.ctx.runtime;
  }
  protected get bus(): EventEmitter {
    return this.ctx.bus;
  }
  protected get health(): HealthMonitor {
    return this.ctx.health;
  }
  protected stateDir(id: string): string {
    return this.ctx.stateDir(id);
  }
  protected rootfs(id: string): string {
    return this.ctx.rootfs(id);
  }
  protected emit(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.ctx.emit(rec, action, extra);
  }
  protected start(ref: string): Promise<void> {
    return this.ctx.start(ref);
  }
  protected remove(ref: string, opts?: RemoveOptions): Promise<void> {
    return this.ctx.remove(ref, opts);
  }
  protected serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.ctx.serialize(id, fn);
  }
  protected startLocked(id: string): Promise<void> {
    return this.ctx.startLocked(id);
  }
}
