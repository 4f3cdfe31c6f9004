// `docker push`: send an image's layers (in parallel; skipped when the registry has them, mounted from another
// repository of the same registry when berth knows one that has them), its config, then the manifest. An
// image pulled from a registry is pushed with the manifest bytes it came with, so its digest never changes;
// a local image's uncompressed layers are gzip-compressed once, while uploading, and the image then keeps
// those compressed blobs (the next push sends the same digests).
import { gzipStream } from '../../lib/gzip.js';
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { ImagesService } from '../images/service.js';
import { familiarName, normalizedName, normalizedString, parseNormalizedNamed, withTag, type Reference } from '../../image-spec/reference.js';
import { InvalidParameter, NotFound } from '../../lib/errors.js';
import { tee } from '../../lib/streams.js';
import { inParallel } from '../../lib/concurrency.js';
import type { LayerRef, StoredImage } from '../images/store.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { RegistryClient } from '../../distribution/registry.js';
import { MEDIA } from '../../image-spec/media-types.js';
import { LayerProgress, shortId, type Progress } from './progress.js';
import { parseImageManifest } from '../images/config.js';

export interface PushOptions {
  auth: AuthConfig;
  insecure?: string[];
  progress: Progress;
}

/** Docker's max-concurrent-uploads default. */
const CONCURRENT_UPLOADS = 5;

/** Push `name` (all its local tags when `tag` is undefined and allTags is set, else name:tag). */
export async function pushImage(images: ImagesService, name: string, tag: string | undefined, o: PushOptions & { allTags?: boolean }): Promise<void> {
  const base = parseNormalizedNamed(name);
  if (base.digest) throw new InvalidParameter(`cannot push a digest reference (${name}): push a tag`);
  const repoName = normalizedName(base);
  const tags = tag || base.tag ? [tag || base.tag!] : o.allTags ? localTags(images, repoName) : ['latest'];
  if (!tags.length) throw new NotFound(`An image does not exist locally with the tag: ${familiarName(base)}`);
  const client = new RegistryClient({ host: base.domain, auth: o.auth, insecure: o.insecure });
  o.progress({ status: `The push refers to repository [${repoName.replace(/^docker\.io\//, 'docker.io/')}]` });
  for (const t of tags) await pushTag(images, client, withTag(base, t), o.progress);
}

function localTags(images: ImagesService, repoName: string): string[] {
  return images.store
    .allTags()
    .filter((r) => r.startsWith(repoName + ':'))
    .map((r) => r.slice(repoName.length + 1));
}

async function pushTag(images: ImagesService, client: RegistryClient, ref: Reference, progress: Progress): Promise<void> {
  const id = images.store.idForTag(normalizedString(ref));
  if (!id) throw new NotFound(`An image does not exist locally with the tag: ${familiarName(ref)}${ref.tag === 'latest' ? '' : ':' + ref.tag}`);
  const rec = images.store.get(id)!;
  const layers: LayerRef[] = [];
  await inParallel(
    rec.layers.map((l, i) => async () => {
      layers[i] = await pushLayer(images, client, ref.path, l, progress);
    }),
    CONCURRENT_UPLOADS,
  );
  const cfgSize = await images.content.size(rec.configDigest);
  if (!(await client.hasBlob(ref.path, rec.configDigest, 'pull,push'))) {
    await client.upload(ref.path, () => images.content.reader(rec.configDigest), () => rec.configDigest);
  }
  const { body, mediaType } = await manifestFor(images, rec, layers, cfgSize);
  const digest = await client.putManifest(ref.path, ref.tag!, body, mediaType);
  const stored = await images.content.putBytes(body);
  await images.recordImage({ ...rec, layers, manifestDigest: stored.digest, repoDigests: [`${normalizedName(ref)}@${digest}`] }, []);
  progress({ status: `${ref.tag}: digest: ${digest} size: ${body.length}` });
  progress({ progressDetail: {}, aux: { Tag: ref.tag!, Digest: digest, Size: body.length } });
}

/** The manifest the image came with when it still describes these blobs; else a Docker schema 2 one. */
async function manifestFor(images: ImagesService, rec: StoredImage, layers: LayerRef[], cfgSize: number): Promise<{ body: Buffer; mediaType: string }> {
  if (rec.manifestDigest && (await images.content.has(rec.manifestDigest))) {
    const body = await readBlob(images, rec.manifestDigest);
    const m = parseImageManifest(body.toString(), `manifest ${rec.manifestDigest}`);
    const same = m.config?.digest === rec.configDigest && m.layers.length === layers.length && m.layers.every((d, i) => d.digest === layers[i]!.digest);
    if (same) return { body, mediaType: m.mediaType ?? MEDIA.ociManifest };
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.dockerManifest,
    config: { mediaType: MEDIA.dockerConfig, size: cfgSize, digest: rec.configDigest },
    layers: layers.map((l) => ({ mediaType: l.mediaType.endsWith('gzip') ? MEDIA.dockerLayer : l.mediaType, size: l.size, digest: l.digest })),
  };
  return { body: Buffer.from(JSON.stringify(manifest, null, 3)), mediaType: MEDIA.dockerManifest };
}

async function readBlob(images: ImagesService, digest: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of images.content.reader(digest)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** One layer: already there, mounted, or uploaded (compressed on the way when stored uncompressed). */
async function pushLayer(images: ImagesService, client: RegistryClient, repo: string, layer: LayerRef, progress: Progress): Promise<LayerRef> {
  const compressed = /(gzip|zstd)$/.test(layer.mediaType);
  const p = new LayerProgress(progress, shortId(compressed ? layer.digest : layer.diffId), layer.size);
  p.status('Preparing');
  if (compressed) {
    if (await client.hasBlob(repo, layer.digest, 'pull,push')) {
      p.status('Layer already exists');
      return layer;
    }
    for (const from of mountSources(images, client.host, repo, layer.digest)) {
      if (await client.mount(repo, layer.digest, from).catch(() => false)) {
        p.status(`Mounted from ${from.replace(/^library\//, '')}`);
        return layer;
      }
    }
    await client.upload(repo, () => counted(images.content.reader(layer.digest), (n) => p.bytes('Pushing', n)), () => layer.digest);
    p.status('Pushed');
    return layer;
  }
  // Uncompressed (an imported or committed image): gzip while uploading and keep the result.
  let digest = '';
  let size = 0;
  const hash = createHash('sha256');
  const gz = gzipStream(images.content.reader(layer.digest));
  const [toStore, toRegistry] = tee(gz, 2);
  const hashed = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      size += chunk.length;
      p.bytes('Pushing', chunk.length);
      cb(null, chunk);
    },
  });
  const stored = images.content.put(toStore!);
  await client.upload(repo, () => toRegistry!.pipe(hashed), () => (digest = 'sha256:' + hash.digest('hex')));
  const blob = await stored;
  if (blob.digest !== digest || blob.size !== size) throw new InvalidParameter(`layer ${layer.diffId}: the compressed stream changed while it was sent`);
  p.status('Pushed');
  return { diffId: layer.diffId, digest: blob.digest, size: blob.size, mediaType: MEDIA.ociLayerGzip };
}

/** Other repositories of the same registry that this blob came from or went to (from RepoDigests). */
function mountSources(images: ImagesService, host: string, repo: string, digest: string): string[] {
  const out = new Set<string>();
  for (const img of images.store.all()) {
    if (!img.layers.some((l) => l.digest === digest)) continue;
    for (const rd of img.repoDigests) {
      const named = parseNormalizedNamed(rd);
      if (named.domain === host && named.path !== repo) out.add(named.path);
    }
  }
  return [...out];
}

function counted(src: Readable, onBytes: (n: number) => void): Readable {
  return src.pipe(
    new Transform({
      transform(chunk: Buffer, _e, cb) {
        onBytes(chunk.length);
        cb(null, chunk);
      },
    }),
  );
}


