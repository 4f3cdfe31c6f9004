// The build cache as Docker accounts for it (`system df`, `builder prune`): the step records in
// <root>/build/cache/<key>.json, the layers only they keep alive, and the RUN --mount=type=cache
// directories in <root>/build/cache-mounts, and the kept build contexts ("source.local", contexts.ts).
//
// A record of a step that made a layer (RUN, COPY, ADD) is a "regular" cache entry: its size is its own
// layer's (plus any base layers no image holds any more, counted once, on the shortest record holding
// them); it is Shared when an image holds that layer too (the docker CLI leaves shared entries out of the
// Build Cache total, and `builder prune` without --all keeps them, as dockerd does). Records of metadata
// steps (ENV, LABEL, …) hold no layer of their own: they are not listed and keep nothing alive.
// A cache hit updates the record's LastUsedAt and UsageCount in the background (never on the hit's path).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { dirSize, readJsonIfExists } from '../../lib/fsutil.js';
import { writeRecord } from './records.js';
import type { BuildCacheUsage } from '../housekeeping.js';
import type { OciImageConfig } from '../../api/image-config.js';
import type { ImagesService } from '../images/service.js';
import type { LayerRef } from '../images/store.js';
import { chainIds } from '../snapshots/layers.js';
import { cacheMountsInUse, type CacheMountMeta } from './executors/run-mounts.js';
import { pruneCandidates, type BuildPruneOptions, type BuildPruneReport } from './cache-prune.js';

export type { BuildPruneOptions, BuildPruneReport };

/** What a step leaves: the next step's starting state. */
export interface CachedState {
  config: OciImageConfig;
  layers: LayerRef[];
  key: string;
}

/** A record's accounting (records written before it existed have none: their file's times stand in). */
export interface StepMeta {
  /** The instruction, as written. */
  description: string;
  /** RUN, COPY and ADD make a layer; the other instructions only change the config. */
  layer: boolean;
  createdAt: string;
  lastUsedAt: string;
  usageCount: number;
}

interface StepRecord extends CachedState {
  meta?: StepMeta;
}


export class BuildCache {
  readonly dir: string;
  readonly mountsDir: string;
  /** COPY --link results by their parent-independent key: the layer to put over any parent. */
  readonly linksDir: string;
  /** Cache hits not written yet, by key: written together a moment later (or when asked for). */
  private readonly uses = new Map<string, { count: number; at: string }>();
  private flushTimer?: NodeJS.Timeout;
  /** The write in progress (one at a time, so two never race on a record). */
  private flushing: Promise<void> = Promise.resolve();

  /** Other entries of the build cache: the kept build contexts (contexts.ts), set by the build service. */
  sources?: { usage(): Promise<BuildCacheUsage[]>; remove(id: string): Promise<number> };

  constructor(private readonly d: { root: string; images: ImagesService }) {
    this.dir = path.join(d.root, 'build', 'cache');
    this.mountsDir = path.join(d.root, 'build', 'cache-mounts');
    this.linksDir = path.join(d.root, 'build', 'links');
  }

  private file(key: string): string {
    return path.join(this.dir, key + '.json');
  }

  async read(key: string): Promise<CachedState | undefined> {
    const r = await readJsonIfExists<StepRecord>(this.file(key)).catch(() => undefined);
    if (!r) return undefined;
    return { config: r.config, layers: r.layers, key: r.key ?? key };
  }

  /** Record a step's result. */
  async put(state: CachedState, info: { description: string; layer: boolean }): Promise<void> {
    const now = new Date().toISOString();
    const rec: StepRecord = { config: state.config, layers: state.layers, key: state.key, meta: { ...info, createdAt: now, lastUsedAt: now, usageCount: 1 } };
    await fs.mkdir(this.dir, { recursive: true });
    await writeRecord(this.file(state.key), rec);
  }

  /** A cache hit: LastUsedAt and UsageCount move on. Noted in memory only; no I/O on the hit's path. */
  touch(key: string): void {
    const u = this.uses.get(key) ?? { count: 0, at: '' };
    this.uses.set(key, { count: u.count + 1, at: new Date().toISOString() });
    this.flushTimer ??= setTimeout(() => void this.flush(), 500).unref();
  }

  /** Write the hits noted so far into their records (a record pruned meanwhile is not brought back). */
  private flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = [...this.uses];
    this.uses.clear();
    this.flushing = this.flushing.then(async () => {
      for (const [key, u] of batch) {
        const file = this.file(key);
        const rec = await readJsonIfExists<StepRecord>(file).catch(() => undefined);
        if (!rec) continue;
        const meta = rec.meta ?? (await legacyMeta(file));
        await writeRecord(file, { ...rec, meta: { ...meta, lastUsedAt: u.at, usageCount: meta.usageCount + u.count } }).catch(() => undefined);
      }
    });
    return this.flushing;
  }

  /** Every hit noted so far is in its record. */
  async settled(): Promise<void> {
    if (this.uses.size) await this.flush();
    await this.flushing;
  }

  private async records(): Promise<{ key: string; rec: StepRecord; meta: StepMeta }[]> {
    const out: { key: string; rec: StepRecord; meta: StepMeta }[] = [];
    for (const f of await fs.readdir(this.dir).catch(() => [] as string[])) {
      if (!f.endsWith('.json') || f.startsWith('.')) continue;
      const file = path.join(this.dir, f);
      const rec = await readJsonIfExists<StepRecord>(file).catch(() => undefined);
      if (!rec) continue;
      out.push({ key: f.slice(0, -'.json'.length), rec, meta: rec.meta ?? (await legacyMeta(file)) });
    }
    return out;
  }

  /** Layers the cache keeps from image garbage collection: those of the records that made a layer. */
  async roots(): Promise<LayerRef[][]> {
    return (await this.records()).filter((r) => r.meta.layer).map((r) => r.rec.layers);
  }

  /** `GET /system/df`'s BuildCache. */
  async usage(): Promise<BuildCacheUsage[]> {
    await this.settled();
    const layers = this.d.images.layers;
    const held = new Set<string>();
    for (const img of this.d.images.store.all()) for (const c of chainIds(img.layers.map((l) => l.diffId))) held.add(c);
    const sizes = new Map<string, number | undefined>();
    const sizeOf = async (c: string): Promise<number | undefined> => {
      if (!sizes.has(c)) sizes.set(c, (await layers.info(c))?.size);
      return sizes.get(c);
    };
    const live: { key: string; meta: StepMeta; chains: string[] }[] = [];
    for (const r of await this.records()) {
      if (!r.meta.layer || !r.rec.layers.length) continue;
      const chains = chainIds(r.rec.layers.map((l) => l.diffId));
      let present = true;
      for (const c of chains) if ((await sizeOf(c)) === undefined) present = false;
      if (present) live.push({ key: r.key, meta: r.meta, chains });
    }
    // Each layer only the cache keeps is counted once: on the shortest (then oldest) record holding it.
    live.sort((a, b) => a.chains.length - b.chains.length || a.meta.createdAt.localeCompare(b.meta.createdAt) || a.key.localeCompare(b.key));
    const counted = new Set<string>();
    const owner = new Map<string, string>();
    const out: BuildCacheUsage[] = [];
    for (const r of live) {
      const own = r.chains[r.chains.length - 1]!;
      const shared = held.has(own);
      let size = 0;
      if (shared) size = (await sizeOf(own)) ?? 0;
      else {
        for (const c of r.chains) {
          if (held.has(c) || counted.has(c)) continue;
          counted.add(c);
          size += (await sizeOf(c)) ?? 0;
        }
      }
      const parent = r.chains.length > 1 ? owner.get(r.chains[r.chains.length - 2]!) : undefined;
      if (!owner.has(own)) owner.set(own, r.key);
      out.push({
        ID: r.key,
        Parent: parent ?? '',
        Parents: parent ? [parent] : [],
        Type: 'regular',
        Description: r.meta.description,
        InUse: false,
        Shared: shared,
        Size: size,
        CreatedAt: r.meta.createdAt,
        LastUsedAt: r.meta.lastUsedAt,
        UsageCount: r.meta.usageCount,
      });
    }
    return [...out, ...(await this.mountUsage()), ...((await this.sources?.usage()) ?? [])];
  }

  /** The RUN --mount=type=cache directories. */
  private async mountUsage(): Promise<BuildCacheUsage[]> {
    const out: BuildCacheUsage[] = [];
    const busy = cacheMountsInUse();
    for (const e of await fs.readdir(this.mountsDir, { withFileTypes: true }).catch(() => [])) {
      if (!e.isDirectory()) continue;
      const dir = path.join(this.mountsDir, e.name);
      const meta = await readJsonIfExists<CacheMountMeta>(dir + '.json').catch(() => undefined);
      const st = await fs.stat(dir).catch(() => undefined);
      if (!st) continue;
      const created = meta?.createdAt ?? st.birthtime.toISOString();
      out.push({
        ID: e.name,
        Parent: '',
        Parents: [],
        Type: 'exec.cachemount',
        Description: meta?.description ?? 'cached mount',
        // A private mount's directory lives only while its RUN does.
        InUse: busy.has(dir) || e.name.includes('-'),
        Shared: false,
        Size: await dirSize(dir),
        CreatedAt: created,
        LastUsedAt: meta?.lastUsedAt ?? created,
        UsageCount: meta?.usageCount ?? 1,
      });
    }
    return out;
  }

  /** `POST /build/prune`: what the options select goes; the space is what image GC then frees, measured. */
  async prune(o: BuildPruneOptions): Promise<BuildPruneReport> {
    const { candidates, wholeCache } = await pruneCandidates(await this.usage(), o, this.d.root);

    const deleted: string[] = [];
    let reclaimed = 0;
    for (const e of candidates) {
      if (e.Type === 'exec.cachemount') {
        const dir = path.join(this.mountsDir, e.ID);
        await fs.rm(dir, { recursive: true, force: true });
        await fs.rm(dir + '.json', { force: true });
        reclaimed += e.Size;
      } else if (e.Type === 'source.local') reclaimed += (await this.sources?.remove(e.ID)) ?? 0;
      else await fs.rm(this.file(e.ID), { force: true });
      deleted.push(e.ID);
    }
    if (wholeCache) {
      // Everything goes, the metadata steps' records with it, and what explained the last misses.
      await fs.rm(this.dir, { recursive: true, force: true });
      await fs.rm(this.linksDir, { recursive: true, force: true });
      await fs.rm(path.join(this.d.root, 'build', 'steps'), { recursive: true, force: true });
    }
    const sizes = new Map<string, number>();
    for (const c of await this.d.images.layers.all()) sizes.set(c, (await this.d.images.layers.info(c))?.size ?? 0);
    for (const c of await this.d.images.collectGarbage()) reclaimed += sizes.get(c) ?? 0;
    await this.sweep();
    return { CachesDeleted: deleted, SpaceReclaimed: reclaimed };
  }

  /** After a prune: records whose layers are gone, and --link results whose blob is gone, go too. */
  private async sweep(): Promise<void> {
    const layers = this.d.images.layers;
    for (const r of await this.records()) {
      for (const c of chainIds(r.rec.layers.map((l) => l.diffId))) {
        if (!(await layers.info(c))) {
          await fs.rm(this.file(r.key), { force: true });
          break;
        }
      }
    }
    for (const f of await fs.readdir(this.linksDir).catch(() => [] as string[])) {
      const link = await readJsonIfExists<LayerRef>(path.join(this.linksDir, f)).catch(() => undefined);
      if (!link || !(await this.d.images.content.has(link.digest))) await fs.rm(path.join(this.linksDir, f), { force: true });
    }
  }

  // ---- COPY --link ----

  async readLink(key: string): Promise<LayerRef | undefined> {
    const ref = await readJsonIfExists<LayerRef>(path.join(this.linksDir, key + '.json')).catch(() => undefined);
    return ref && (await this.d.images.content.has(ref.digest)) ? ref : undefined;
  }

  async putLink(key: string, ref: LayerRef): Promise<void> {
    await fs.mkdir(this.linksDir, { recursive: true });
    await writeRecord(path.join(this.linksDir, key + '.json'), ref);
  }
}

/** Accounting for a record from before StepMeta: its file's times. */
async function legacyMeta(file: string): Promise<StepMeta> {
  const st = await fs.stat(file).catch(() => undefined);
  const t = (st?.mtime ?? new Date()).toISOString();
  return { description: '', layer: true, createdAt: t, lastUsedAt: t, usageCount: 1 };
}

/** Bytes of the regular files under a directory (as layer sizes count them). */
