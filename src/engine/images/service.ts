// The images service: resolve, inspect, list, history, tag, remove, import, load, save — Docker's
// rules over the content store (blobs), the image store (records, tags) and the layer store
// (extracted layers). Writes go blob → layer → record → tag, so a crash leaves old or new state.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { OciImageConfig } from '../../api/image-config.js';
import type { HistoryItem, ImageInspect, ImageRuntimeConfig, ImageSummary } from '../../api/types.js';
import { matchLabel } from '../../lib/filters.js';
import { Conflict, InvalidParameter, NotFound } from '../../lib/errors.js';
import { tee } from '../../lib/streams.js';
import { FileContentStore } from '../../content/store.js';
import { chainIds, decompressed, type LayerStore } from '../snapshots/layers.js';
import { layerTar } from '../snapshots/diff.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';
import { loadArchive, saveArchive } from './archive.js';
import { applyChanges } from './changes.js';
import { familiarString, matchesReferencePattern, normalizedName, normalizedString, parseImageReference, parseNormalizedNamed, type Reference } from '../../image-spec/reference.js';
import { readImageConfig } from './config.js';
import { ImageStore, type ImageRecord, type LayerRef, type StoredImage } from './store.js';

export type { ImageRecord, LayerRef, StoredImage } from './store.js';

export interface ImagesOptions {
  root: string;
  /** The overlay snapshotter: its layer store holds the images' layers (committed snapshots). */
  snapshotter: OverlaySnapshotter;
  emit?: (action: string, imageIdOrRef: string, attrs?: Record<string, string>) => void;
  /** IDs of a running / a stopped container using the image. */
  usage?: (imageId: string) => Promise<{ running?: string; stopped?: string }>;
}

export interface ImportOptions {
  reference?: string;
  changes?: string[];
  message?: string;
  platform?: string;
  /** What the history comment names ("Imported from <source>"); "-" for a stream. */
  source?: string;
}

export interface DeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
const ZERO_TIME = '0001-01-01T00:00:00Z';
const IMAGE_FILTERS = ['dangling', 'reference', 'label', 'before', 'since'];

const short = (id: string) => id.replace('sha256:', '').slice(0, 12);
const seconds = (iso: string | undefined) => Math.floor(Date.parse(iso ?? '1970-01-01T00:00:00Z') / 1000);

/** moby's isImageIDPrefix: "rmi abc" means the ID when the ID starts with "abc". */
function isImageIdPrefix(id: string, s: string): boolean {
  return id.startsWith(s) || id.slice('sha256:'.length).startsWith(s);
}

export class ImagesService {
  readonly content: FileContentStore;
  readonly store: ImageStore;
  /** Start times of imports/loads in flight: what they wrote is not garbage yet. */
  private readonly inFlight = new Set<number>();

  constructor(private readonly o: ImagesOptions) {
    this.content = new FileContentStore(o.root);
    this.store = new ImageStore(o.root);
    // A build's layers are kept as their directories; their tars are made again when read (content/store.ts).
    this.content.lazySource = {
      exists: async (b) => !!(await this.layers.info(b.chainId)),
      open: async (b) => (await layerTar(path.join(this.layers.layerDir(b.chainId), 'diff'))).stream,
    };
  }

  /** Needs the snapshotter's init first (the engine does it): leftovers go, then unreferenced blobs and layers. */
  async init(): Promise<void> {
    await this.content.init();
    await this.store.load();
    await this.collectGarbage();
  }

  get layers(): LayerStore {
    return this.o.snapshotter.layers;
  }

  private emit(action: string, id: string, attrs: Record<string, string> = {}): void {
    this.o.emit?.(action, id, attrs);
  }

  // ---- lookup ----

  /** By reference (tag latest by default), name@digest, full or unique short ID. */
  async resolve(nameOrId: string): Promise<ImageRecord> {
    const stored = this.lookup(nameOrId);
    if (!stored) throw new NotFound(`No such image: ${nameOrId}`);
    return this.withTags(stored);
  }

  private withTags(s: StoredImage): ImageRecord {
    return { ...s, repoTags: this.store.tagsOf(s.id).map((t) => familiarString(parseNormalizedNamed(t))) };
  }

  private lookup(s: string): StoredImage | undefined {
    const full = /^(?:sha256:)?([a-f0-9]{64})$/.exec(s);
    if (full) return this.store.get('sha256:' + full[1]);
    let ref: Reference | undefined;
    try {
      ref = parseImageReference(s);
    } catch {
      ref = undefined;
    }
    if (ref?.digest) {
      const wanted = `${normalizedName(ref)}@${ref.digest}`;
      return this.store.all().find((r) => r.repoDigests.includes(wanted)) ?? this.store.get(ref.digest);
    }
    const tagged = ref && this.store.idForTag(normalizedString(ref));
    if (tagged) return this.store.get(tagged);
    const prefix = /^(?:sha256:)?([a-f0-9]{1,63})$/.exec(s);
    if (!prefix) return undefined;
    const matches = this.store.all().filter((r) => r.id.slice(7).startsWith(prefix[1]!));
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** The image's config blob (architecture, os, config, rootfs, history, created, ...). */
  async imageConfig(id: string): Promise<OciImageConfig> {
    const rec = this.store.get(id) ?? (await this.resolve(id));
    return readImageConfig(this.content, rec.configDigest);
  }

  /** Chain IDs of the image's layers, bottom → top. */
  async chainIds(id: string): Promise<string[]> {
    const rec = this.store.get(id) ?? (await this.resolve(id));
    return chainIds(rec.layers.map((l) => l.diffId));
  }

  /** Image size as Docker shows it: the layers' file bytes. */
  private async imageSize(rec: StoredImage): Promise<number> {
    let size = 0;
    for (const c of chainIds(rec.layers.map((l) => l.diffId))) size += (await this.layers.info(c))?.size ?? 0;
    return size;
  }

  async inspect(nameOrId: string): Promise<ImageInspect> {
    const rec = await this.resolve(nameOrId);
    const cfg = await this.imageConfig(rec.id);
    const size = await this.imageSize(rec);
    return {
      Id: rec.id,
      RepoTags: rec.repoTags,
      RepoDigests: rec.repoDigests.map((d) => familiarString(parseNormalizedNamed(d))),
      Parent: rec.parent ?? '',
      Comment: cfg.comment ?? '',
      Created: cfg.created ?? ZERO_TIME,
      Container: cfg.container ?? '',
      ContainerConfig: goContainerConfig(cfg.container_config),
      DockerVersion: cfg.docker_version ?? '',
      Author: cfg.author ?? '',
      Config: goContainerConfig(cfg.config),
      Architecture: cfg.architecture,
      ...(cfg.variant ? { Variant: cfg.variant } : {}),
      Os: cfg.os,
      Size: size,
      VirtualSize: size,
      GraphDriver: { Name: 'overlay2', Data: this.graphDriverData(rec) },
      RootFS: { Type: 'layers', Layers: rec.layers.map((l) => l.diffId) },
      Metadata: { LastTagTime: rec.lastTagTime ?? ZERO_TIME },
    };
  }

  /** overlay2's shape: the top layer as UpperDir, the others (top first) as LowerDir. */
  private graphDriverData(rec: StoredImage): Record<string, string> | null {
    const dirs = chainIds(rec.layers.map((l) => l.diffId)).map((c) => this.layers.layerDir(c)).reverse();
    const [top, ...lower] = dirs;
    if (!top) return null;
    return {
      ...(lower.length ? { LowerDir: lower.map((d) => `${d}/diff`).join(':') } : {}),
      MergedDir: `${top}/merged`,
      UpperDir: `${top}/diff`,
      WorkDir: `${top}/work`,
    };
  }

  // ---- list / history ----

  async list(opts: { all?: boolean; filters?: Record<string, string[]>; digests?: boolean } = {}): Promise<ImageSummary[]> {
    const f = opts.filters ?? {};
    for (const k of Object.keys(f)) if (!IMAGE_FILTERS.includes(k)) throw new InvalidParameter(`invalid filter '${k}'`);
    const dangling = danglingFilter(f.dangling);
    const rows: { rec: StoredImage; cfg: OciImageConfig; created: number }[] = [];
    for (const rec of this.store.all()) {
      const cfg = await readImageConfig(this.content, rec.configDigest);
      rows.push({ rec, cfg, created: Date.parse(cfg.created ?? '1970-01-01T00:00:00Z') });
    }
    const createdOf = async (ref: string | undefined) => {
      if (ref === undefined) return undefined;
      const r = await this.resolve(ref);
      return rows.find((x) => x.rec.id === r.id)!.created;
    };
    const before = await createdOf(f.before?.[0]);
    const since = await createdOf(f.since?.[0]);
    const out: ImageSummary[] = [];
    const parents = new Set(rows.map((r) => r.rec.parent));
    for (const { rec, cfg, created } of rows.sort((a, b) => b.created - a.created)) {
      const tags = this.store.tagsOf(rec.id).map((t) => parseNormalizedNamed(t));
      // An untagged image with children is an intermediate one (a classic build's step): shown with -a
      // only, and never dangling (dockerd's rules).
      const intermediate = !tags.length && !rec.repoDigests.length && parents.has(rec.id);
      if (intermediate && (!opts.all || dangling === true)) continue;
      if (dangling !== undefined && dangling !== (tags.length === 0)) continue;
      if (before !== undefined && created >= before) continue;
      if (since !== undefined && created <= since) continue;
      if (f.label?.length && !f.label.every((l) => matchLabel(cfg.config?.Labels ?? {}, l))) continue;
      let shown = tags;
      let digests = rec.repoDigests.map((d) => parseNormalizedNamed(d));
      if (f.reference?.length) {
        // As dockerd: only the names (tags and repository digests) the pattern matches are listed.
        shown = tags.filter((t) => f.reference!.some((p) => matchesReferencePattern(t, p)));
        digests = digests.filter((t) => f.reference!.some((p) => matchesReferencePattern(t, p)));
        if (!shown.length && !digests.length) continue;
      }
      const size = await this.imageSize(rec);
      out.push({
        Id: rec.id,
        ParentId: rec.parent ?? '',
        RepoTags: shown.map(familiarString),
        RepoDigests: digests.map(familiarString),
        Created: Math.floor(created / 1000),
        Size: size,
        SharedSize: -1,
        VirtualSize: size,
        Labels: cfg.config?.Labels ?? null,
        Containers: -1,
      });
    }
    return out;
  }

  /** As dockerd: newest first; the top entry carries the image ID and tags, the rest "<missing>". */
  async history(nameOrId: string): Promise<HistoryItem[]> {
    const rec = await this.resolve(nameOrId);
    const cfg = await this.imageConfig(rec.id);
    const chains = chainIds(rec.layers.map((l) => l.diffId));
    let layer = 0;
    const items: HistoryItem[] = [];
    for (const h of cfg.history ?? []) {
      const size = h.empty_layer ? 0 : ((await this.layers.info(chains[layer++] ?? ''))?.size ?? 0);
      items.push({ Id: '<missing>', Created: seconds(h.created), CreatedBy: h.created_by ?? '', Tags: null, Size: size, Comment: h.comment ?? '' });
    }
    items.reverse();
    if (items[0]) Object.assign(items[0], { Id: rec.id, Tags: rec.repoTags.length ? rec.repoTags : null });
    return items;
  }

  // ---- tag / remove ----

  /** `docker tag`: target is "repo[:tag]" (latest by default); the tag moves if it pointed elsewhere. */
  async tag(source: string, target: string): Promise<void> {
    const rec = await this.resolve(source);
    const ref = parseImageReference(target);
    if (ref.digest) throw new InvalidParameter('refusing to create a tag with a digest reference');
    const stored = this.store.get(rec.id)!;
    await this.store.save({ ...stored, lastTagTime: new Date().toISOString() });
    await this.store.setTags({ [normalizedString(ref)]: rec.id });
    this.emit('tag', rec.id, { name: familiarString(ref) });
  }

  /** Tags and digests pointing at an image, normalised. */
  private refsOf(id: string): Reference[] {
    const rec = this.store.get(id);
    return [...this.store.tagsOf(id), ...(rec?.repoDigests ?? [])].map((r) => parseNormalizedNamed(r));
  }

  /** `docker rmi`, following dockerd's ImageDelete rules and messages. */
  async remove(nameOrId: string, opts: { force?: boolean; noPrune?: boolean } = {}): Promise<DeleteItem[]> {
    const rec = await this.resolve(nameOrId);
    const id = rec.id;
    const users = (await this.o.usage?.(id)) ?? {};
    const records: DeleteItem[] = [];
    let quiet = false;
    if (!isImageIdPrefix(id, nameOrId)) {
      const user = users.running ?? users.stopped;
      if (!opts.force && isSingleReference(this.refsOf(id)) && user) {
        // Untagging would leave a dangling image under a container: only on request.
        throw new Conflict(`conflict: unable to remove repository reference "${nameOrId}" (must force) - container ${short(user)} is using its referenced image ${short(id)}`);
      }
      const ref = parseImageReference(nameOrId);
      records.push(...(await this.untag(id, [ref])));
      if (!ref.digest && !this.refsOf(id).some((r) => !r.digest && normalizedName(r) === normalizedName(ref))) {
        // The last tag of a repository takes that repository's digests with it.
        records.push(...(await this.untag(id, this.refsOf(id).filter((r) => r.digest && normalizedName(r) === normalizedName(ref)))));
      }
      if (this.refsOf(id).length) return records;
      quiet = true;
    } else if (isSingleReference(this.refsOf(id))) {
      if (this.children(id).length) throw deleteConflict(id, true, 'image has dependent child images');
      if (users.running) throw deleteConflict(id, true, `image is being used by running container ${short(users.running)}`);
      if (users.stopped && !opts.force) throw deleteConflict(id, false, `image is being used by stopped container ${short(users.stopped)}`);
      records.push(...(await this.untag(id, this.refsOf(id))));
    }
    const conflict = this.deleteConflict(id, users, opts.force ?? false);
    if (conflict) {
      // After untagging by name, a conflict just keeps the (now untagged) image, as dockerd does.
      if (quiet) return records;
      throw conflict;
    }
    records.push(...(await this.untag(id, this.refsOf(id))));
    const chains = chainIds(rec.layers.map((l) => l.diffId)).reverse();
    await this.store.delete(id);
    this.emit('delete', id, { name: id });
    records.push({ Deleted: id });
    // As dockerd: untagged parents nothing else needs go too, unless --no-prune.
    if (!opts.noPrune) records.push(...(await this.pruneParents(rec.parent)));
    const removedLayers = await this.collectGarbage();
    records.push(...chains.filter((c) => removedLayers.includes(c)).map((c) => ({ Deleted: c })));
    return records;
  }

  /** Images whose parent is this one (commits and builds on top of it). */
  private children(id: string): StoredImage[] {
    return this.store.all().filter((r) => r.parent === id);
  }

  /** Delete the parent chain while each is dangling (no name, no child) and used by no container. */
  private async pruneParents(parentId: string | undefined): Promise<DeleteItem[]> {
    const records: DeleteItem[] = [];
    for (let id = parentId; id; ) {
      const rec = this.store.get(id);
      if (!rec || this.refsOf(id).length || this.children(id).length) break;
      const users = (await this.o.usage?.(id)) ?? {};
      if (users.running || users.stopped) break;
      await this.store.delete(id);
      this.emit('delete', id, { name: id });
      records.push({ Deleted: id });
      id = rec.parent;
    }
    return records;
  }

  private deleteConflict(id: string, users: { running?: string; stopped?: string }, force: boolean): Conflict | undefined {
    if (this.children(id).length) return deleteConflict(id, true, 'image has dependent child images');
    if (users.running) return deleteConflict(id, true, `image is being used by running container ${short(users.running)}`);
    if (force) return undefined;
    if (this.refsOf(id).length) return deleteConflict(id, false, 'image is referenced in multiple repositories');
    if (users.stopped) return deleteConflict(id, false, `image is being used by stopped container ${short(users.stopped)}`);
    return undefined;
  }

  private async untag(id: string, refs: Reference[]): Promise<DeleteItem[]> {
    if (!refs.length) return [];
    const tags = refs.filter((r) => !r.digest).map(normalizedString);
    const digests = new Set(refs.filter((r) => r.digest).map((r) => `${normalizedName(r)}@${r.digest}`));
    const rec = this.store.get(id);
    if (rec && digests.size) await this.store.save({ ...rec, repoDigests: rec.repoDigests.filter((d) => !digests.has(d)) });
    if (tags.length) await this.store.setTags(Object.fromEntries(tags.map((t) => [t, undefined])));
    return refs.map((r) => {
      this.emit('untag', id, { name: id });
      return { Untagged: familiarString(r.digest ? { ...r, tag: undefined } : r) };
    });
  }

  /** Mark from image records and snapshots, sweep unreferenced blobs and layer folders.
   *  What imports/loads in flight wrote since they started is spared. Returns removed chain IDs. */
  /** Other owners of layers (the build cache): what they name is kept by collectGarbage. */
  readonly gcRoots: (() => Promise<LayerRef[][]>)[] = [];

  async collectGarbage(): Promise<string[]> {
    const cutoff = this.inFlight.size ? Math.min(...this.inFlight) - 2000 : Infinity;
    const blobs = new Set<string>();
    const layers = new Set<string>();
    const mark = (refs: LayerRef[]) => {
      refs.forEach((l) => blobs.add(l.digest));
      chainIds(refs.map((l) => l.diffId)).forEach((c) => layers.add(c));
    };
    for (const rec of this.store.all()) {
      [rec.id, rec.configDigest, ...(rec.manifestDigest ? [rec.manifestDigest] : [])].forEach((d) => blobs.add(d));
      mark(rec.layers);
    }
    for (const root of this.gcRoots) (await root()).forEach(mark);
    for await (const b of this.content.walk()) {
      if (!blobs.has(b.digest) && (await this.content.mtime(b.digest)) < cutoff) await this.content.delete(b.digest);
    }
    const removed: string[] = [];
    for (const c of await this.layers.all()) {
      if (layers.has(c) || (await this.layers.mtime(c)) >= cutoff || (await this.o.snapshotter.inUse(c))) continue;
      await this.layers.remove(c);
      removed.push(c);
    }
    return removed;
  }

  /** Run work that writes blobs and layers not yet named by any record (spared by GC meanwhile). */
  async unrecorded<T>(work: () => Promise<T>): Promise<T> {
    const start = Date.now();
    this.inFlight.add(start);
    try {
      return await work();
    } finally {
      this.inFlight.delete(start);
    }
  }

  // ---- import ----

  /** `docker import`: a rootfs tar (plain or gzip) becomes a one-layer image. Returns its ID. */
  async importTarball(src: Readable, opts: ImportOptions = {}): Promise<string> {
    const ref = opts.reference ? parseImageReference(opts.reference) : undefined;
    if (ref?.digest) throw new InvalidParameter(`invalid reference ${opts.reference}: import cannot tag with a digest`);
    const platform = parsePlatform(opts.platform);
    const runtime = applyChanges({}, opts.changes ?? []);
    const id = await this.unrecorded(async () => {
      const { blob, info } = await this.storeLayer(src);
      const now = new Date().toISOString();
      const comment = opts.message || `Imported from ${opts.source ?? '-'}`;
      // Docker's import config: no created_by, the message as comment.
      const cfg: OciImageConfig = {
        ...platform,
        comment,
        config: runtime,
        created: now,
        history: [{ created: now, comment }],
        rootfs: { type: 'layers', diff_ids: [info.diffId] },
      };
      const { digest } = await this.content.putBytes(JSON.stringify(cfg));
      await this.recordImage({ id: digest, configDigest: digest, layers: [{ diffId: info.diffId, digest: blob.digest, mediaType: LAYER_TAR, size: blob.size }], repoDigests: [] }, ref ? [ref] : []);
      return digest;
    });
    this.emit('import', id, { name: id });
    return id;
  }

  /** One pass: the uncompressed tar goes to the content store (the layer blob) and to extraction. */
  private async storeLayer(src: Readable): Promise<{ blob: { digest: string; size: number }; info: { diffId: string } }> {
    const [toBlob, toLayer] = tee(decompressed(src), 2);
    const [blob, info] = await Promise.allSettled([this.content.put(toBlob!), this.layers.extract(toLayer!, undefined)]);
    if (blob.status === 'fulfilled' && info.status === 'fulfilled') return { blob: blob.value, info: info.value };
    toBlob!.destroy();
    toLayer!.destroy();
    throw blob.status === 'rejected' ? blob.reason : (info as PromiseRejectedResult).reason;
  }

  /** `docker import URL`: fetch (http/https), then importTarball. */
  async importUrl(url: string, opts: ImportOptions = {}): Promise<string> {
    const full = url.includes('://') ? url : `http://${url}`;
    if (!/^https?:\/\//.test(full)) throw new InvalidParameter(`invalid import source "${url}": use a file, "-" or an http(s) URL`);
    const res = await fetch(full).catch((e: Error) => {
      throw new InvalidParameter(`fetching ${full}: ${e.message}`);
    });
    if (!res.ok || !res.body) throw new InvalidParameter(`fetching ${full}: HTTP ${res.status} ${res.statusText}`);
    return this.importTarball(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), { ...opts, source: opts.source ?? full });
  }

  /** Write an image record whose blobs and layers are stored, then point its tags at it. */
  async recordImage(img: Omit<StoredImage, 'lastTagTime'>, refs: Reference[]): Promise<void> {
    const existing = this.store.get(img.id);
    const rec: StoredImage = {
      ...img,
      parent: img.parent ?? existing?.parent,
      manifestDigest: img.manifestDigest ?? existing?.manifestDigest,
      repoDigests: [...new Set([...(existing?.repoDigests ?? []), ...img.repoDigests])],
      lastTagTime: refs.length ? new Date().toISOString() : existing?.lastTagTime,
    };
    if (!rec.manifestDigest) delete rec.manifestDigest;
    if (!rec.parent) delete rec.parent;
    await this.store.save(rec);
    if (refs.length) await this.store.setTags(Object.fromEntries(refs.map((r) => [normalizedString(r), img.id])));
  }

  // ---- load / save ----

  /** `docker load`: returns the lines docker prints ("Loaded image: busybox:latest"). */
  async load(src: Readable, progress?: (line: string) => void): Promise<string[]> {
    // `docker save img | gzip > img.tar.gz`: dockerd loads a compressed archive as it is sent.
    const loaded = await this.unrecorded(() => loadArchive(this, Readable.from(decompressed(src)), progress));
    for (const id of new Set(loaded.ids)) this.emit('load', id, { name: id });
    return loaded.lines;
  }

  /** `docker save`: an archive both docker 20.10 (manifest.json) and OCI tools (index.json) load. */
  async save(names: string[], out: Writable): Promise<void> {
    const images: { rec: StoredImage; refs: Reference[] }[] = [];
    for (const n of names) {
      const rec = await this.resolve(n);
      const refs = this.savedRefs(n, rec);
      const prev = images.find((x) => x.rec.id === rec.id);
      if (prev) prev.refs.push(...refs.filter((r) => !prev.refs.some((p) => normalizedString(p) === normalizedString(r))));
      else images.push({ rec, refs });
    }
    await saveArchive(this, images, out);
    for (const i of images) this.emit('save', i.rec.id, { name: i.rec.id });
  }

  /** Which tags `docker save NAME` records: the tag named, or all tags of a repository or ID. */
  private savedRefs(name: string, rec: ImageRecord): Reference[] {
    if (isImageIdPrefix(rec.id, name)) return [];
    const all = this.store.tagsOf(rec.id).map((t) => parseNormalizedNamed(t));
    const ref = parseNormalizedNamed(name);
    if (ref.tag) return all.filter((t) => normalizedString(t) === normalizedString(ref));
    if (ref.digest) return [];
    // A bare name saves every tag of that repository pointing at the image, as docker save does.
    return all.filter((t) => normalizedName(t) === normalizedName(ref));
  }
}

/** container.Config as dockerd's JSON has it (Go's field order; the fields without `omitempty` always
 *  there, null or zero when unset; the others only when set), whatever keys the image config kept:
 *  clients index it directly (docker-py's `attrs['Config']['Entrypoint']`). */
function goContainerConfig(c: ImageRuntimeConfig | undefined): Record<string, unknown> {
  const v = (c ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const set = (x: unknown): boolean => x !== undefined && x !== null && x !== '' && x !== false && !(typeof x === 'object' && Object.keys(x).length === 0);
  for (const [key, zero, omitEmpty] of GO_CONFIG_FIELDS) {
    if (omitEmpty) {
      if (set(v[key])) out[key] = v[key];
    } else out[key] = v[key] ?? zero;
  }
  return out;
}

/** moby's api/types/container.Config: [field, zero value, omitempty]. */
const GO_CONFIG_FIELDS: [string, unknown, boolean][] = [
  ['Hostname', '', false],
  ['Domainname', '', false],
  ['User', '', false],
  ['AttachStdin', false, false],
  ['AttachStdout', false, false],
  ['AttachStderr', false, false],
  ['ExposedPorts', null, true],
  ['Tty', false, false],
  ['OpenStdin', false, false],
  ['StdinOnce', false, false],
  ['Env', null, false],
  ['Cmd', null, false],
  ['Healthcheck', null, true],
  ['ArgsEscaped', false, true],
  ['Image', '', false],
  ['Volumes', null, false],
  ['WorkingDir', '', false],
  ['Entrypoint', null, false],
  ['NetworkDisabled', false, true],
  ['MacAddress', '', true],
  ['OnBuild', null, false],
  ['Labels', null, false],
  ['StopSignal', '', true],
  ['StopTimeout', null, true],
  ['Shell', null, true],
];

function deleteConflict(id: string, hard: boolean, message: string): Conflict {
  return new Conflict(`conflict: unable to delete ${short(id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${message}`);
}

/** moby's isSingleReference: one tag (plus digests of the same repository), or digests of one repository. */
function isSingleReference(refs: Reference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  const names = new Set<string>();
  let single: Reference | undefined;
  for (const r of refs) {
    if (r.digest) names.add(normalizedName(r));
    else if (!single) {
      names.add(normalizedName(r));
      single = r;
    } else return false;
  }
  return names.size === 1 && names.has(normalizedName(single ?? refs[0]!));
}

function danglingFilter(values: string[] | undefined): boolean | undefined {
  if (!values?.length) return undefined;
  const v = values[0]!.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidParameter(`Invalid filter 'dangling=${values[0]}'`);
}

export function hostArch(): string {
  return ({ x64: 'amd64', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
}

/** "linux", "linux/arm64", "linux/arm/v7" → config fields; only Linux images run here. */
export function parsePlatform(p: string | undefined): { architecture: string; os: string; variant?: string } {
  if (!p) return { architecture: hostArch(), os: 'linux' };
  const [os = '', arch, variant] = p.toLowerCase().split('/');
  if (os !== 'linux') throw new InvalidParameter(`"${p}": operating system is not supported (only linux images are)`);
  return { architecture: arch || hostArch(), os, ...(variant ? { variant } : {}) };
}

/** sha256 of bytes, "sha256:<hex>". */
export function digestOf(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}
