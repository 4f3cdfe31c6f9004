// `docker load` and `docker save` archives. Load accepts the legacy docker-archive (Docker 20.10:
// manifest.json, <id>.json, <dir>/layer.tar), the Docker 25+ archive that is also an OCI image
// layout, and a plain OCI image layout. Save writes an archive that is both (like Docker 25),
// so old and new Docker load it.
import { once } from 'node:events';
import path from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tarStream from 'tar-stream';
import { InvalidParameter, messageOf } from '../../lib/errors.js';
import type { BlobInfo, FileContentStore } from '../../content/store.js';
import { familiarName, familiarString, normalizedString, parseImageReference, type Reference } from '../../image-spec/reference.js';
import { sha256 } from '../../image-spec/digest.js';
import type { LayerStore } from '../snapshots/layers.js';
import { parseImageIndex, parseImageManifest, parseSaveManifest, readImageConfig } from './config.js';
import type { ImageStore, LayerRef, StoredImage } from './store.js';
import { MEDIA } from '../../image-spec/media-types.js';

/** What loading and saving archives needs of the images service: its stores and the one way an image
 *  is recorded. Narrow, so that this module does not import the service that calls it. */
export interface ImageArchiveBackend {
  readonly content: FileContentStore;
  readonly store: ImageStore;
  readonly layers: LayerStore;
  recordImage(img: Omit<StoredImage, 'lastTagTime'>, refs: Reference[]): Promise<void>;
}

const SMALL_FILES = new Set(['manifest.json', 'index.json', 'repositories', 'oci-layout']);
const OCI_MANIFEST = MEDIA.ociManifest;
const OCI_INDEX = MEDIA.ociIndex;
const OCI_CONFIG = MEDIA.ociConfig;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

interface ArchiveImage {
  configDigest: string;
  manifestDigest?: string;
  layerDigests: string[];
  layerMediaTypes: string[];
  refs: Reference[];
}

/** What the archive's tar holds once read: small index files and the blobs stored by path. */
interface ArchiveContents {
  small: Map<string, Buffer>;
  blobs: Map<string, BlobInfo>;
  links: Map<string, string>;
  added: Set<string>;
  /** The blob being stored, ended by the reader when the archive turns out truncated. */
  body?: Readable;
  failure?: Error;
}

const clean = (p: string) => path.posix.normalize(p.replace(/^\.?\/+/, ''));

async function readArchive(svc: ImageArchiveBackend, src: Readable): Promise<ArchiveContents> {
  const c: ArchiveContents = { small: new Map(), blobs: new Map(), links: new Map(), added: new Set() };
  const extract = tarStream.extract();
  let currentPut: Promise<unknown> = Promise.resolve();
  const done = (async () => {
    for await (const entry of extract) {
      c.body = undefined;
      const work = storeEntry(svc, c, entry as unknown as Readable & { header: tarStream.Header });
      currentPut = work.catch(() => undefined);
      await work;
    }
  })();
  // A truncated archive ends the parser but not the entry being stored: end that one too.
  const reading = pipeline(src, extract).catch((e: Error) => {
    c.failure = e;
    c.body?.destroy(e);
    throw e;
  });
  // Wait for both sides, so no blob is still streaming into ingest/. When reading fails, tar-stream's
  // iterator may never settle: then only the blob being stored is waited for.
  const [read, stored] = await Promise.allSettled([
    reading,
    Promise.race([done, reading.catch((e: unknown) => currentPut.then(() => Promise.reject(e)))]),
  ]);
  // A verification error names the real cause; otherwise the reader's error (e.g. a truncated archive) does.
  const verified = stored.status === 'rejected' && stored.reason instanceof InvalidParameter ? stored : undefined;
  const failed = verified ?? [read, stored].find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const d of c.added) await svc.content.delete(d);
    const msg = messageOf(failed.reason);
    throw failed.reason instanceof InvalidParameter ? failed.reason : new InvalidParameter(`invalid archive: ${msg}`);
  }
  return c;
}

/** A Node stream carrying a tar-stream (streamx) entry. When the archive is cut off, tar-stream's entry
 *  may never end or fail; destroying this stream ends the blob write that reads it, so its file in
 *  ingest/ goes at once. */
function nodeStreamOf(entry: Readable): Readable {
  const body = new PassThrough();
  body.on('error', () => undefined); // reported to the blob write that reads it, which may not have started yet
  void (async () => {
    for await (const ch of entry) if (!body.write(ch)) await once(body, 'drain');
    body.end();
  })().catch((e: Error) => body.destroy(e));
  return body;
}

/** Keep an archive entry: small index files in memory, blobs in the content store. */
async function storeEntry(svc: ImageArchiveBackend, c: ArchiveContents, entry: Readable & { header: tarStream.Header }): Promise<void> {
  const name = clean(entry.header.name);
  const type = entry.header.type;
  if (type === 'symlink' || type === 'link') {
    c.links.set(name, type === 'symlink' ? path.posix.join(path.posix.dirname(name), entry.header.linkname ?? '') : clean(entry.header.linkname ?? ''));
    entry.resume();
  } else if (type !== 'file') {
    entry.resume();
  } else if (SMALL_FILES.has(name)) {
    const chunks: Buffer[] = [];
    for await (const ch of entry) chunks.push(ch as Buffer);
    c.small.set(name, Buffer.concat(chunks));
  } else if (name.startsWith('blobs/sha256/') || name.endsWith('layer.tar') || /^[a-f0-9]{64}\.json$/.test(name)) {
    const expected = name.startsWith('blobs/sha256/') ? 'sha256:' + path.posix.basename(name) : /^[a-f0-9]{64}\.json$/.test(name) ? 'sha256:' + name.slice(0, 64) : undefined;
    const body = (c.body = nodeStreamOf(entry));
    const had = expected ? await svc.content.has(expected) : false;
    if (c.failure) body.destroy(c.failure); // the archive broke off meanwhile
    const info = await svc.content.put(body, { digest: expected, size: entry.header.size });
    if (!had) c.added.add(info.digest);
    c.blobs.set(name, info);
  } else {
    entry.resume();
  }
}

function blobAt(c: ArchiveContents, p: string): BlobInfo {
  let name = clean(p);
  for (let i = 0; i < 10 && c.links.has(name); i++) name = c.links.get(name)!;
  const b = c.blobs.get(name) ?? (name.startsWith('blobs/sha256/') ? { digest: 'sha256:' + path.posix.basename(name), size: -1 } : undefined);
  if (!b) throw new InvalidParameter(`invalid archive: ${p} is named in the manifest but missing from the archive`);
  return b;
}

function refFrom(s: string | undefined): Reference[] {
  if (!s) return [];
  try {
    return [parseImageReference(s)];
  } catch {
    return [];
  }
}

async function imagesFromArchive(svc: ImageArchiveBackend, c: ArchiveContents): Promise<ArchiveImage[]> {
  const manifestJson = c.small.get('manifest.json');
  const manifest = manifestJson && parseSaveManifest(manifestJson.toString());
  if (manifest) {
    return manifest.map((m) => ({
      configDigest: blobAt(c, m.Config).digest,
      layerDigests: m.Layers.map((l) => blobAt(c, l).digest),
      layerMediaTypes: m.Layers.map(() => ''),
      refs: m.RepoTags.flatMap(refFrom),
    }));
  }
  const indexJson = c.small.get('index.json');
  const index = indexJson && parseImageIndex(indexJson.toString(), 'archive: index.json');
  if (!index) throw new InvalidParameter('invalid archive: neither manifest.json nor index.json found (expected a "docker save" archive or an OCI image layout)');
  const out: ArchiveImage[] = [];
  for (const d of index.manifests) await collectOci(svc, d, out);
  return out;
}

async function collectOci(svc: ImageArchiveBackend, d: Descriptor, out: ArchiveImage[], refs?: Reference[]): Promise<void> {
  const ann = d.annotations ?? {};
  // ref.name is often just a tag ("latest"); only a full reference ("busybox:1", "a/b") names an image.
  const refName = ann['org.opencontainers.image.ref.name'];
  const names = refs ?? refFrom(ann['io.containerd.image.name'] ?? (refName && /[:/]/.test(refName) ? refName : undefined));
  if (d.mediaType === OCI_INDEX || d.mediaType === MEDIA.dockerList) {
    const idx = parseImageIndex(await svc.content.readText(d.digest), `index ${d.digest}`);
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const pick = idx.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch) ?? idx.manifests[0];
    if (pick) await collectOci(svc, pick, out, names);
    return;
  }
  if (!(await svc.content.has(d.digest))) throw new InvalidParameter(`invalid archive: manifest ${d.digest} named in index.json is missing from the archive`);
  const m = parseImageManifest(await svc.content.readText(d.digest), `manifest ${d.digest}`);
  if (!m.config) throw new InvalidParameter(`invalid archive: manifest ${d.digest} names no image config`);
  out.push({ configDigest: m.config.digest, manifestDigest: d.digest, layerDigests: m.layers.map((l) => l.digest), layerMediaTypes: m.layers.map((l) => l.mediaType), refs: names });
}

/** Extract each image's layers (verifying diff IDs), then record it and move its tags. */
export async function loadArchive(svc: ImageArchiveBackend, src: Readable, progress?: (line: string) => void): Promise<{ lines: string[]; ids: string[] }> {
  const c = await readArchive(svc, src);
  const lines: string[] = [];
  const ids: string[] = [];
  try {
    for (const img of await imagesFromArchive(svc, c)) {
      for (const d of [img.configDigest, ...img.layerDigests]) {
        if (!(await svc.content.has(d))) throw new InvalidParameter(`invalid archive: blob ${d} named in its manifest is missing from the archive`);
      }
      const cfg = await readImageConfig(svc.content, img.configDigest);
      const diffIds = cfg.rootfs?.diff_ids ?? [];
      if (diffIds.length !== img.layerDigests.length) throw new InvalidParameter(`invalid archive: image ${img.configDigest} has ${diffIds.length} diff IDs but ${img.layerDigests.length} layers`);
      const layers: LayerRef[] = [];
      let parent: string | undefined;
      for (let i = 0; i < diffIds.length; i++) {
        const digest = img.layerDigests[i]!;
        const info = await svc.layers.extract(svc.content.reader(digest), parent, diffIds[i]);
        parent = info.chainId;
        layers.push({ diffId: diffIds[i]!, digest, mediaType: img.layerMediaTypes[i] || (await mediaTypeOf(svc, digest)), size: await svc.content.size(digest) });
      }
      for (const r of img.refs) {
        const prev = svc.store.idForTag(normalizedString(r));
        if (prev && prev !== img.configDigest) progress?.(`The image ${familiarString(r)} already exists, renaming the old one with ID ${prev} to empty string`);
      }
      await svc.recordImage({ id: img.configDigest, configDigest: img.configDigest, layers, manifestDigest: img.manifestDigest, repoDigests: [] }, img.refs);
      ids.push(img.configDigest);
      lines.push(...(img.refs.length ? img.refs.map((r) => `Loaded image: ${familiarString(r)}`) : [`Loaded image ID: ${img.configDigest}`]));
    }
  } catch (e) {
    // Nothing half-stored: blobs this load added and no image uses go again.
    const used = new Set(svc.store.all().flatMap((r) => [r.id, r.configDigest, ...(r.manifestDigest ? [r.manifestDigest] : []), ...r.layers.map((l) => l.digest)]));
    for (const d of c.added) if (!used.has(d)) await svc.content.delete(d);
    throw e;
  }
  return { lines, ids };
}

async function mediaTypeOf(svc: ImageArchiveBackend, digest: string): Promise<string> {
  for await (const chunk of svc.content.reader(digest)) {
    const b = chunk as Buffer;
    return b[0] === 0x1f && b[1] === 0x8b ? MEDIA.ociLayerGzip : MEDIA.ociLayer;
  }
  return MEDIA.ociLayer;
}

function addEntry(pack: tarStream.Pack, name: string, data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => pack.entry({ name, mtime: new Date(0) }, data, (err) => (err ? reject(err) : resolve())));
}

async function addBlob(svc: ImageArchiveBackend, pack: tarStream.Pack, digest: string): Promise<void> {
  const size = await svc.content.size(digest);
  const entry = pack.entry({ name: `blobs/sha256/${digest.slice(7)}`, size, mtime: new Date(0) });
  await pipeline(svc.content.reader(digest), entry);
}

export async function saveArchive(svc: ImageArchiveBackend, images: { rec: StoredImage; refs: Reference[] }[], out: Writable): Promise<void> {
  const pack = tarStream.pack();
  const piped = pipeline(pack, out);
  piped.catch(() => undefined);
  const written = new Set<string>();
  const manifestJson: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  const index: Descriptor[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  await addEntry(pack, 'oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const { rec, refs } of images) {
    for (const d of [rec.id, ...rec.layers.map((l) => l.digest)]) {
      if (!written.has(d)) await addBlob(svc, pack, d);
      written.add(d);
    }
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: rec.id, size: await svc.content.size(rec.id) },
      layers: rec.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    });
    const mdigest = sha256(manifest);
    const msize = Buffer.byteLength(manifest);
    if (!written.has(mdigest)) await addEntry(pack, `blobs/sha256/${mdigest.slice(7)}`, manifest);
    written.add(mdigest);
    const desc = { mediaType: OCI_MANIFEST, digest: mdigest, size: msize };
    if (!refs.length) index.push(desc);
    for (const r of refs) {
      index.push({ ...desc, annotations: { 'io.containerd.image.name': normalizedString(r), 'org.opencontainers.image.ref.name': r.tag ?? 'latest' } });
      (repositories[familiarName(r)] ??= {})[r.tag ?? 'latest'] = rec.id.slice(7);
    }
    manifestJson.push({ Config: `blobs/sha256/${rec.id.slice(7)}`, RepoTags: refs.length ? refs.map(familiarString) : null, Layers: rec.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`) });
  }
  await addEntry(pack, 'index.json', JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: index }));
  await addEntry(pack, 'manifest.json', JSON.stringify(manifestJson));
  if (Object.keys(repositories).length) await addEntry(pack, 'repositories', JSON.stringify(repositories));
  pack.finalize();
  await piped;
}
