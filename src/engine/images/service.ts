// The images service: resolve, inspect, list, history, tag, remove, import — Docker's rules over
// the content store (blobs), the image store (records, tags) and the layer store (extracted layers).
import { Readable } from 'node:stream';
import type { HistoryItem, ImageInspect, ImageRuntimeConfig, ImageSummary } from '../../api/types.js';
import { Conflict, InvalidParameter, NotFound } from '../../lib/errors.js';
import { ContentStore } from '../content/store.js';
import type { Snapshotter } from '../snapshots/snapshotter.js';
import { chainIds, decompressed } from '../snapshots/layers.js';
import { tee } from '../../lib/streams.js';
import { applyChanges } from './changes.js';
import { familiarString, matchesReferencePattern, normalizedString, parseImageReference, parseNormalizedNamed, type Reference } from './reference.js';
import { ImageStore, type ImageRecord, type LayerRef } from './store.js';
import { loadArchive, saveArchive } from './archive.js';

export type { ImageRecord } from './store.js';

export interface OciImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ImageRuntimeConfig;
  container?: string;
  container_config?: ImageRuntimeConfig;
  docker_version?: string;
  comment?: string;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }[];
}

export interface ImagesOptions {
  root: string;
  snapshotter: Snapshotter;
  emit?: (action: string, imageIdOrRef: string, attrs?: Record<string, string>) => void;
  /** IDs of a running / a stopped container using the image. */
  usage?: (imageId: string) => Promise<{ running?: string; stopped?: string }>;
}

export const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

const short = (id: string) => id.replace('sha256:', '').slice(0, 12);

export class ImagesService {
  readonly content: ContentStore;
  readonly store: ImageStore;

  constructor(private readonly o: ImagesOptions) {
    this.content = new ContentStore(o.root);
    this.store = new ImageStore(o.root);
  }

  async init(): Promise<void> {
    await this.content.init();
    await this.store.load();
  }

  private emit(action: string, id: string, attrs: Record<string, string> = {}): void {
    this.o.emit?.(action, id, attrs);
  }

  // ---- lookup ----

  async resolve(nameOrId: string): Promise<ImageRecord> {
    const rec = this.tryResolve(nameOrId);
    if (!rec) throw new NotFound(`No such image: ${nameOrId}`);
    return rec;
  }

  private tryResolve(s: string): ImageRecord | undefined {
    const full = /^(?:sha256:)?([a-f0-9]{64})$/.exec(s);
    if (full) return this.store.get('sha256:' + full[1]);
    let ref: Reference | undefined;
    try {
      ref = parseImageReference(s);
    } catch {
      ref = undefined;
    }
    if (ref?.digest) {
      const repo = `${ref.domain}/${ref.path}@${ref.digest}`;
      return this.store.all().find((r) => r.repoDigests.some((d) => normalizedString(parseNormalizedNamed(d)) === repo));
    }
    const tagged = ref && this.store.idForTag(normalizedString(ref));
    if (tagged) return this.store.get(tagged);
    const prefix = /^(?:sha256:)?([a-f0-9]{1,63})$/.exec(s);
    if (prefix) {
      const matches = this.store.all().filter((r) => r.id.slice(7).startsWith(prefix[1]!));
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }

  async imageConfig(id: string): Promise<OciImageConfig> {
    return this.content.readJson<OciImageConfig>(id);
  }

  async chainIds(id: string): Promise<string[]> {
    const rec = await this.resolve(id);
    return chainIds(rec.layers.map((l) => l.diffId));
  }

  private repoTags(rec: ImageRecord): string[] {
    return this.store.tagsOf(rec.id).map((t) => familiarString(parseNormalizedNamed(t)));
  }

  private async layerSize(rec: ImageRecord): Promise<number> {
    let size = 0;
    for (const c of chainIds(rec.layers.map((l) => l.diffId))) size += (await this.o.snapshotter.layers.info(c))?.size ?? 0;
    return size;
  }

  async inspect(nameOrId: string): Promise<ImageInspect> {
    const rec = await this.resolve(nameOrId);
    const cfg = await this.imageConfig(rec.id);
    const size = await this.layerSize(rec);
    const chains = chainIds(rec.layers.map((l) => l.diffId));
    const top = chains[chains.length - 1];
    return {
      Id: rec.id,
      RepoTags: this.repoTags(rec),
      RepoDigests: rec.repoDigests,
      Parent: '',
      Comment: cfg.comment ?? cfg.history?.[cfg.history.length - 1]?.comment ?? '',
      Created: cfg.created ?? '',
      Container: cfg.container ?? '',
      ContainerConfig: cfg.container_config ?? {},
      DockerVersion: cfg.docker_version ?? '',
      Author: cfg.author ?? '',
      Config: cfg.config ?? {},
      Architecture: cfg.architecture,
      ...(cfg.variant ? { Variant: cfg.variant } : {}),
      Os: cfg.os,
      Size: size,
      VirtualSize: size,
      GraphDriver: {
        Name: 'overlay2',
        Data: top ? { MergedDir: '', UpperDir: this.o.snapshotter.layers.layerDir(top) + '/diff', WorkDir: '' } : null,
      },
      RootFS: { Type: 'layers', Layers: rec.layers.map((l) => l.diffId) },
      Metadata: { LastTagTime: rec.lastTagTime ?? '0001-01-01T00:00:00Z' },
    };
  }

  // ---- list / history ----

  async list(opts: { all?: boolean; filters?: Record<string, string[]>; digests?: boolean }): Promise<ImageSummary[]> {
    const f = opts.filters ?? {};
    for (const k of Object.keys(f)) if (!['dangling', 'reference', 'label', 'before', 'since'].includes(k)) throw new InvalidParameter(`invalid filter '${k}'`);
    const rows: { rec: ImageRecord; cfg: OciImageConfig; created: number }[] = [];
    for (const rec of this.store.all()) {
      const cfg = await this.imageConfig(rec.id);
      rows.push({ rec, cfg, created: Math.floor(Date.parse(cfg.created ?? '1970-01-01T00:00:00Z') / 1000) });
    }
    const createdOf = async (ref: string) => {
      const r = await this.resolve(ref);
      return rows.find((x) => x.rec.id === r.id)!.created;
    };
    const before = f.before?.length ? await createdOf(f.before[0]!) : undefined;
    const since = f.since?.length ? await createdOf(f.since[0]!) : undefined;
    const out: ImageSummary[] = [];
    for (const { rec, cfg, created } of rows.sort((a, b) => b.created - a.created)) {
      const tags = this.store.tagsOf(rec.id).map((t) => parseNormalizedNamed(t));
      const dangling = tags.length === 0;
      if (f.dangling?.length && (f.dangling[0] === 'true' || f.dangling[0] === '1') !== dangling) continue;
      if (before !== undefined && created >= before) continue;
      if (since !== undefined && created <= since) continue;
      if (f.label?.length && !f.label.every((l) => matchLabel(cfg.config?.Labels ?? {}, l))) continue;
      let shown = tags;
      if (f.reference?.length) {
        shown = tags.filter((t) => f.reference!.some((p) => matchesReferencePattern(t, p)));
        if (!shown.length) continue;
      }
      const size = await this.layerSize(rec);
      out.push({
        Id: rec.id,
        ParentId: '',
        RepoTags: shown.map(familiarString),
        RepoDigests: rec.repoDigests,
        Created: created,
        Size: size,
        SharedSize: -1,
        VirtualSize: size,
        Labels: cfg.config?.Labels ?? null,
        Containers: -1,
      });
    }
    return out;
  }

  async history(nameOrId: string): Promise<HistoryItem[]> {
    const rec = await this.resolve(nameOrId);
    const cfg = await this.imageConfig(rec.id);
    const chains = chainIds(rec.layers.map((l) => l.diffId));
    const hist = cfg.history?.length ? cfg.history : rec.layers.map(() => ({}) as NonNullable<OciImageConfig['history']>[number]);
    let layer = 0;
    const items: HistoryItem[] = [];
    for (const h of hist) {
      let size = 0;
      if (!h.empty_layer) size = (await this.o.snapshotter.layers.info(chains[layer++]!))?.size ?? 0;
      items.push({ Id: '<missing>', Created: Math.floor(Date.parse(h.created ?? '1970-01-01T00:00:00Z') / 1000), CreatedBy: h.created_by ?? '', Tags: null, Size: size, Comment: h.comment ?? '' });
    }
    items.reverse();
    if (items[0]) {
      items[0].Id = rec.id;
      items[0].Tags = this.repoTags(rec);
    }
    return items;
  }

  // ---- tag / remove ----

  async tag(source: string, target: string): Promise<void> {
    const rec = await this.resolve(source);
    const ref = parseImageReference(target);
    if (ref.digest) throw new InvalidParameter(`refusing to create a tag with a digest reference`);
    rec.lastTagTime = new Date().toISOString();
    await this.store.save(rec);
    await this.store.setTags({ [normalizedString(ref)]: rec.id });
    this.emit('tag', rec.id, { name: familiarString(ref) });
  }

  async remove(nameOrId: string, opts: { force?: boolean; noPrune?: boolean }): Promise<{ Untagged?: string; Deleted?: string }[]> {
    const rec = await this.resolve(nameOrId);
    const byId = /^(?:sha256:)?[a-f0-9]+$/.test(nameOrId) && rec.id.slice(7).startsWith(nameOrId.replace('sha256:', ''));
    const tags = this.store.tagsOf(rec.id);
    const users = (await this.o.usage?.(rec.id)) ?? {};
    const out: { Untagged?: string; Deleted?: string }[] = [];
    if (!byId) {
      const ref = normalizedString(parseImageReference(nameOrId));
      if (tags.length > 1 || users.running || (users.stopped && opts.force)) return this.untag([ref]);
      if (users.stopped) {
        throw new Conflict(`conflict: unable to remove repository reference "${nameOrId}" (must force) - container ${short(users.stopped)} is using its referenced image ${short(rec.id)}`);
      }
      out.push(...(await this.untag([ref])));
    } else {
      if (users.running) throw new Conflict(`conflict: unable to delete ${short(rec.id)} (cannot be forced) - image is being used by running container ${short(users.running)}`);
      if (users.stopped && !opts.force) throw new Conflict(`conflict: unable to delete ${short(rec.id)} (must be forced) - image is being used by stopped container ${short(users.stopped)}`);
      if (tags.length > 1 && !opts.force) throw new Conflict(`conflict: unable to delete ${short(rec.id)} (must be forced) - image is referenced in multiple repositories`);
      out.push(...(await this.untag(tags)));
      if (users.stopped) return out;
    }
    await this.store.delete(rec.id);
    out.push({ Deleted: rec.id });
    this.emit('delete', rec.id);
    await this.collectGarbage();
    return out;
  }

  private async untag(refs: string[]): Promise<{ Untagged: string }[]> {
    await this.store.setTags(Object.fromEntries(refs.map((r) => [r, undefined])));
    return refs.map((r) => {
      const f = familiarString(parseNormalizedNamed(r));
      this.emit('untag', f);
      return { Untagged: f };
    });
  }

  /** Mark from image records and snapshots, sweep unreferenced blobs and layer folders. */
  async collectGarbage(): Promise<void> {
    const blobs = new Set<string>();
    const layers = new Set<string>();
    for (const rec of this.store.all()) {
      blobs.add(rec.id);
      rec.layers.forEach((l) => blobs.add(l.digest));
      chainIds(rec.layers.map((l) => l.diffId)).forEach((c) => layers.add(c));
    }
    for await (const b of this.content.walk()) if (!blobs.has(b.digest)) await this.content.delete(b.digest);
    for (const c of await this.o.snapshotter.layers.all()) {
      if (!layers.has(c) && !(await this.o.snapshotter.inUse(c))) await this.o.snapshotter.layers.remove(c);
    }
  }

  // ---- import / load / save ----

  async importTarball(src: Readable, opts: { reference?: string; changes?: string[]; message?: string; platform?: string; source?: string }): Promise<string> {
    const ref = opts.reference ? parseImageReference(opts.reference) : undefined;
    const runtime = applyChanges({}, opts.changes ?? []);
    // One pass: the uncompressed tar goes to the content store (the layer blob) and to extraction.
    const [toBlob, toLayer] = tee(decompressed(src), 2);
    const [blob, info] = await Promise.all([this.content.put(toBlob!), this.o.snapshotter.layers.extract(toLayer!, undefined)]);
    const now = new Date().toISOString();
    const cfg: OciImageConfig = {
      architecture: hostArch(),
      os: 'linux',
      created: now,
      config: runtime,
      rootfs: { type: 'layers', diff_ids: [info.diffId] },
      history: [{ created: now, created_by: '', comment: opts.message || `Imported from ${opts.source ?? '-'}` }],
    };
    const layer: LayerRef = { diffId: info.diffId, digest: blob.digest, mediaType: LAYER_TAR, size: blob.size };
    const id = await this.commitImage(cfg, [layer], ref);
    this.emit('import', id);
    return id;
  }

  async importUrl(url: string, opts: { reference?: string; changes?: string[]; message?: string; platform?: string }): Promise<string> {
    if (!/^https?:\/\//.test(url)) throw new InvalidParameter(`invalid import source "${url}": use a file, "-" or an http(s) URL`);
    const res = await fetch(url).catch((e: Error) => {
      throw new InvalidParameter(`fetching ${url}: ${e.message}`);
    });
    if (!res.ok || !res.body) throw new InvalidParameter(`fetching ${url}: HTTP ${res.status}`);
    return this.importTarball(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), { ...opts, source: url });
  }

  /** Store config, record and tag, in that order. Returns the image ID. */
  async commitImage(cfg: OciImageConfig, layers: LayerRef[], ref?: Reference, repoDigests: string[] = []): Promise<string> {
    const { digest: id } = await this.content.putBytes(JSON.stringify(cfg));
    await this.recordImage(id, layers, ref ? [ref] : [], repoDigests);
    return id;
  }

  /** Record an image whose config blob is already stored, then point its tags at it. */
  async recordImage(id: string, layers: LayerRef[], refs: Reference[], repoDigests: string[] = []): Promise<void> {
    const existing = this.store.get(id);
    const rec: ImageRecord = {
      id,
      layers,
      repoDigests: [...new Set([...(existing?.repoDigests ?? []), ...repoDigests])],
      lastTagTime: refs.length ? new Date().toISOString() : existing?.lastTagTime,
    };
    await this.store.save(rec);
    if (refs.length) await this.store.setTags(Object.fromEntries(refs.map((r) => [normalizedString(r), id])));
  }

  snapshotterLayers() {
    return this.o.snapshotter.layers;
  }

  load(src: Readable, progress?: (line: string) => void): Promise<string[]> {
    return loadArchive(this, src, progress).then((lines) => {
      this.emit('load', lines.join(', '));
      return lines;
    });
  }

  async save(names: string[], out: NodeJS.WritableStream): Promise<void> {
    const images: { rec: ImageRecord; refs: Reference[] }[] = [];
    for (const n of names) {
      const rec = await this.resolve(n);
      let refs: Reference[] = [];
      try {
        const r = parseImageReference(n);
        if (!/^(?:sha256:)?[a-f0-9]{12,64}$/.test(n) && this.store.idForTag(normalizedString(r)) === rec.id) refs = [r];
      } catch {
        refs = [];
      }
      if (!refs.length && !/^(?:sha256:)?[a-f0-9]+$/.test(n)) refs = this.store.tagsOf(rec.id).map((t) => parseNormalizedNamed(t));
      const prev = images.find((x) => x.rec.id === rec.id);
      if (prev) prev.refs.push(...refs);
      else images.push({ rec, refs });
    }
    await saveArchive(this, images, out);
    for (const i of images) this.emit('save', i.rec.id);
  }
}

function matchLabel(labels: Record<string, string>, filter: string): boolean {
  const [k, v] = filter.split(/=(.*)/s, 2);
  return v === undefined ? k! in labels : labels[k!] === v;
}

export function hostArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}
