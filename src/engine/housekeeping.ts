// Housekeeping: what takes disk space (`system df`) and giving it back (`container prune`, `image prune`),
// with dockerd's rules, filters, reports and `prune` events. `system prune` is the CLI's: it calls the
// prune endpoints one after the other (containers, networks, volumes, images, build cache), as docker's does.
//
// Where berth differs on purpose (DESIGN.md): container logs count. A container's json-file logs (all
// rotated files) are part of what `container prune` reclaims, and `system df` reports them (extra fields
// `LogsSize` and, per container, `SizeLogs`, which the docker CLI ignores; the berth CLI shows a
// "Container Logs" row).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ContainerSummary, ImageSummary } from '../api/types.js';
import { Conflict, InvalidParameter, NotFound } from '../lib/errors.js';
import { labelsMatch, untilCutoff } from '../lib/filters.js';
import type { ContainersService } from './containers/service.js';
import type { EventsService } from './events.js';
import type { DeleteItem, ImagesService } from './images/service.js';
import { chainIds } from './snapshots/layers.js';
import type { Snapshotter } from './snapshots/types.js';

export interface ContainerPruneReport {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

export interface ImagePruneReport {
  ImagesDeleted: DeleteItem[] | null;
  SpaceReclaimed: number;
}

/** Docker's Volume with its usage (what `GET /system/df` lists). */
export interface VolumeUsage {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string> | null;
  Scope: string;
  Options: Record<string, string> | null;
  CreatedAt?: string;
  UsageData?: { Size: number; RefCount: number } | null;
}

/** Docker's BuildCache record (GET /system/df). */
export interface BuildCacheUsage {
  ID: string;
  /** The record this one was made over (API < 1.42; `Parents` from 1.42 on). */
  Parent?: string;
  Parents?: string[];
  /** "regular" (a step's layer) or "exec.cachemount" (a RUN --mount=type=cache directory). */
  Type: string;
  Description?: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string | null;
  UsageCount: number;
}

/** `GET /system/df` in the shape API ≤ 1.51 sends it, plus berth's log sizes. */
export interface DiskUsage {
  LayersSize?: number;
  Images?: ImageSummary[];
  Containers?: (ContainerSummary & { SizeLogs: number })[];
  Volumes?: VolumeUsage[];
  BuildCache?: BuildCacheUsage[];
  BuilderSize?: number;
  /** berth: bytes of every container's logs. */
  LogsSize?: number;
}

/** What housekeeping needs from services that arrive with other issues (volumes, build). */
export interface VolumesHousekeeping {
  diskUsage?(): Promise<VolumeUsage[]>;
}
export interface BuildHousekeeping {
  diskUsage?(): Promise<BuildCacheUsage[]>;
}

export interface HousekeepingOptions {
  containers: ContainersService;
  images: ImagesService;
  snapshotter: Snapshotter;
  events: EventsService;
  /** TODO(volumes): the volumes service's usage, once it exists (Local Volumes in `system df`). */
  volumes?: () => VolumesHousekeeping | undefined;
  /** The build cache's usage (the build service's step records, their layers and cache mounts). */
  build?: () => BuildHousekeeping | undefined;
}

const CONTAINER_PRUNE_FILTERS = ['label', 'label!', 'until'];
const IMAGE_PRUNE_FILTERS = ['dangling', 'label', 'label!', 'until'];
const DF_TYPES = ['container', 'image', 'volume', 'build-cache'];

function validateFilters(filters: Record<string, string[]>, accepted: string[]): void {
  for (const k of Object.keys(filters)) if (!accepted.includes(k)) throw new InvalidParameter(`invalid filter '${k}'`);
}

/** The `until` filter as a cut-off in ms (Infinity without one), with dockerd's messages. */
function untilOf(filters: Record<string, string[]>): number {
  const u = filters.until ?? [];
  if (u.length > 1) throw new InvalidParameter('more than one until filter specified');
  if (!u.length) return Infinity;
  try {
    return untilCutoff(u[0]!);
  } catch {
    throw new InvalidParameter(`invalid value for 'until' filter: failed to parse value as time or duration: "${u[0]}"`);
  }
}

export class HousekeepingService {
  /** One prune at a time, as dockerd ("a prune operation is already running"). */
  private pruning = false;

  constructor(private readonly o: HousekeepingOptions) {}

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.pruning) throw new Conflict('a prune operation is already running');
    this.pruning = true;
    try {
      return await fn();
    } finally {
      this.pruning = false;
    }
  }

  /** Bytes of a container's logs, rotated (and compressed) files included: json-file's `<id>-json.log*`
   *  and the local driver's `local-logs/container.log*`. */
  async logsSize(id: string): Promise<number> {
    const dir = this.o.containers.store.dir(id);
    const sizeOf = async (d: string, prefix: string): Promise<number> => {
      let size = 0;
      for (const n of await fs.readdir(d).catch((): string[] => [])) {
        if (n.startsWith(prefix)) size += (await fs.stat(path.join(d, n)).catch(() => ({ size: 0 }))).size;
      }
      return size;
    };
    return (await sizeOf(dir, `${id}-json.log`)) + (await sizeOf(path.join(dir, 'local-logs'), 'container.log'));
  }

  /** `POST /containers/prune`: every container not running (nor paused, nor restarting). */
  async pruneContainers(filters: Record<string, string[]> = {}): Promise<ContainerPruneReport> {
    validateFilters(filters, CONTAINER_PRUNE_FILTERS);
    const until = untilOf(filters);
    return this.exclusive(async () => {
      const deleted: string[] = [];
      let reclaimed = 0;
      for (const rec of this.o.containers.store.all()) {
        if (['running', 'paused', 'restarting', 'removing'].includes(rec.state.status)) continue;
        if (Date.parse(rec.created) > until || !labelsMatch(rec.config.Labels ?? {}, filters)) continue;
        const size = (await this.o.snapshotter.usage(rec.id)) + (await this.logsSize(rec.id));
        try {
          await this.o.containers.remove(rec.id);
        } catch {
          continue; // started or removed meanwhile: not ours to prune
        }
        deleted.push(rec.id);
        reclaimed += size;
      }
      this.o.events.emit('container', 'prune', '', { reclaimed: String(reclaimed) });
      return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
    });
  }

  /** `POST /images/prune`: dangling images (or, with dangling=false, every image no container uses). */
  async pruneImages(filters: Record<string, string[]> = {}): Promise<ImagePruneReport> {
    validateFilters(filters, IMAGE_PRUNE_FILTERS);
    const until = untilOf(filters);
    const d = filters.dangling?.[0]?.toLowerCase();
    if (d !== undefined && !['true', 'false', '1', '0'].includes(d)) throw new InvalidParameter(`invalid filter 'dangling=${filters.dangling![0]}'`);
    const danglingOnly = d === undefined || d === 'true' || d === '1';
    return this.exclusive(async () => {
      const images = this.o.images;
      // Sizes of the layers before anything goes, to count what the deletions free.
      const layerSizes = new Map<string, number>();
      for (const c of await images.layers.all()) layerSizes.set(c, (await images.layers.info(c))?.size ?? 0);
      const all = images.store.all();
      const hasChildren = new Set(all.map((i) => i.parent).filter((p): p is string => !!p));
      const deleted: DeleteItem[] = [];
      for (const img of all) {
        const tags = images.store.tagsOf(img.id);
        const refs = [...tags, ...img.repoDigests];
        // An untagged image with children is an intermediate one: it goes with its children.
        if (!refs.length && hasChildren.has(img.id)) continue;
        if (danglingOnly && tags.length) continue;
        // "all images without at least one container associated to them": one in use stays whole.
        const users = this.o.containers.isRunningUser(img.id);
        if (users.running || users.stopped) continue;
        const cfg = await images.imageConfig(img.id).catch(() => undefined);
        if (!cfg) continue;
        if (until !== Infinity && (!cfg.created || Date.parse(cfg.created) > until)) continue;
        if (!labelsMatch(cfg.config?.Labels ?? {}, filters)) continue;
        const names = refs.length ? refs : [img.id.slice('sha256:'.length)];
        for (const name of names) {
          try {
            deleted.push(...(await images.remove(name)));
          } catch (e) {
            // In use by a container (a conflict), or gone meanwhile: kept, as dockerd keeps it.
            if (!(e instanceof Conflict) && !(e instanceof NotFound)) throw e;
            break;
          }
        }
      }
      let reclaimed = 0;
      for (const item of deleted) if (item.Deleted && layerSizes.has(item.Deleted)) reclaimed += layerSizes.get(item.Deleted)!;
      this.o.events.emit('image', 'prune', '', { reclaimed: String(reclaimed) });
      return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
    });
  }

  /** `GET /system/df` (`type` selects, API 1.42+; all by default). */
  async diskUsage(types: string[] = []): Promise<DiskUsage> {
    for (const t of types) if (!DF_TYPES.includes(t)) throw new InvalidParameter(`unknown object type: ${t}`);
    const want = (t: string) => !types.length || types.includes(t);
    const out: DiskUsage = {};
    const recs = this.o.containers.store.all();
    if (want('image')) {
      const images = await this.o.images.list({});
      const chainsOf = new Map<string, string[]>();
      const users = new Map<string, number>();
      for (const img of images) {
        const stored = this.o.images.store.get(img.Id);
        chainsOf.set(img.Id, stored ? chainIds(stored.layers.map((l) => l.diffId)) : []);
      }
      for (const chains of chainsOf.values()) for (const c of new Set(chains)) users.set(c, (users.get(c) ?? 0) + 1);
      let layersSize = 0;
      const sizes = new Map<string, number>();
      for (const c of users.keys()) {
        const s = (await this.o.images.layers.info(c))?.size ?? 0;
        sizes.set(c, s);
        layersSize += s;
      }
      out.LayersSize = layersSize;
      out.Images = images.map((img) => ({
        ...img,
        Containers: recs.filter((r) => r.image === img.Id).length,
        SharedSize: (chainsOf.get(img.Id) ?? []).filter((c) => (users.get(c) ?? 0) > 1).reduce((n, c) => n + (sizes.get(c) ?? 0), 0),
      }));
    }
    if (want('container')) {
      const list = await this.o.containers.list({ all: true, size: true });
      out.Containers = await Promise.all(list.map(async (c) => ({ ...c, SizeLogs: await this.logsSize(c.Id) })));
      out.LogsSize = out.Containers.reduce((n, c) => n + c.SizeLogs, 0);
    }
    if (want('volume')) out.Volumes = (await this.o.volumes?.()?.diskUsage?.()) ?? [];
    if (want('build-cache')) {
      out.BuildCache = (await this.o.build?.()?.diskUsage?.()) ?? [];
      // What the docker CLI shows as the cache's size: shared entries' layers are counted with the images.
      out.BuilderSize = out.BuildCache.filter((b) => !b.Shared).reduce((n, b) => n + b.Size, 0);
    }
    return out;
  }
}
