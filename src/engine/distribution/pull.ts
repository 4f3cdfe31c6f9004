// `docker pull`: resolve the reference's manifest (choosing the platform's from an index), fetch the
// config and the layers — in parallel, each blob streamed at once into the content store (verified by
// digest and size) and into extraction — then record the image with its tag and RepoDigest. Nothing is
// recorded unless every blob verified; what a failed pull stored and no image uses is removed again.
import type { OciImageConfig } from '../../api/image-config.js';
import type { ImagesService } from '../images/service.js';
import { parseImageIndex, parseImageManifest, readImageConfig } from '../images/config.js';
import { parsePlatform } from '../images/service.js';
import { familiarString, normalizedName, normalizedString, parseNormalizedNamed, tagNameOnly, type Reference } from '../../image-spec/reference.js';
import { chainIds } from '../snapshots/layers.js';
import { InvalidParameter, NotFound } from '../../lib/errors.js';
import { tee } from '../../lib/streams.js';
import { inParallel } from '../../lib/concurrency.js';
import type { LayerRef } from '../images/store.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { RegistryClient, RegistryError, type FetchedManifest } from '../../distribution/registry.js';
import { MEDIA } from '../../image-spec/media-types.js';
import { LayerProgress, shortId, type Progress } from './progress.js';
import { traced, traceStart } from '../../lib/trace.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface PullOptions {
  auth: AuthConfig;
  insecure?: string[];
  platform?: string;
  progress: Progress;
  /** The trust gate (engine/trust): refuses the resolved digest before anything is stored. */
  checkTrust?: (client: RegistryClient, ref: Reference, digest: string) => Promise<void>;
}

/** Docker's max-concurrent-downloads default. */
const CONCURRENT_DOWNLOADS = 3;

export function isIndex(mediaType: string): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;
}

/** The manifest of `platform` in an index: os and architecture must match, the variant when asked. */
export function selectPlatform(index: ImageIndex, platform: string | undefined, what: string): Descriptor {
  const want = parsePlatform(platform);
  const matches = index.manifests.filter(
    (m) => m.platform?.os === want.os && m.platform.architecture === want.architecture && (!want.variant || m.platform.variant === want.variant),
  );
  const pick = matches.find((m) => !m.annotations?.['vnd.docker.reference.type']) ?? matches[0];
  if (!pick) {
    const have = index.manifests.map((m) => m.platform && `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? '/' + m.platform.variant : ''}`).filter(Boolean);
    throw new NotFound(`no matching manifest for ${want.os}/${want.architecture}${want.variant ? '/' + want.variant : ''} in the manifest list entries of ${what} (it has ${have.join(', ') || 'none'})`);
  }
  return pick;
}

/** Fetch the image manifest for `ref`, resolving an index to the wanted platform. */
export async function resolveManifest(client: RegistryClient, ref: Reference, platform?: string): Promise<{ top: FetchedManifest; manifest: FetchedManifest }> {
  const top = await client.getManifest(ref.path, ref.digest ?? ref.tag ?? 'latest');
  if (!isIndex(top.mediaType)) return { top, manifest: top };
  const chosen = selectPlatform(parseImageIndex(top.body.toString(), `manifest list of ${familiarString(ref)}`), platform, familiarString(ref));
  return { top, manifest: await client.getManifest(ref.path, chosen.digest) };
}

/** A registry image as the SBOM, its attachment and attested scans read it (nothing stored): the parsed
 *  reference, a client for its registry, the manifest it names (an index resolved to `platform`) parsed. */
export async function resolveRemoteImage(
  refText: string,
  o: { auth: AuthConfig; insecure: string[]; platform?: string },
): Promise<{ ref: Reference; client: RegistryClient; top: FetchedManifest; manifest: FetchedManifest; image: ReturnType<typeof parseImageManifest> }> {
  let ref: Reference;
  try {
    ref = tagNameOnly(parseNormalizedNamed(refText));
  } catch (e) {
    throw new InvalidParameter(`invalid reference "${refText}": ${(e as Error).message}`);
  }
  const client = new RegistryClient({ host: ref.domain, auth: o.auth, insecure: o.insecure });
  const { top, manifest } = await resolveManifest(client, ref, o.platform);
  return { ref, client, top, manifest, image: parseImageManifest(manifest.body.toString(), `manifest of ${familiarString(ref)}`) };
}

/** Pull one reference (a tag or a digest); returns the image ID. */
export async function pullImage(images: ImagesService, refText: string, o: PullOptions): Promise<string> {
  const ref = tagNameOnly(parseNormalizedNamed(refText));
  const client = new RegistryClient({ host: ref.domain, auth: o.auth, insecure: o.insecure });
  let resolved;
  try {
    resolved = await traced('pull: manifest', resolveManifest(client, ref, o.platform));
  } catch (e) {
    throw explainPullError(e, ref);
  }
  // Trust: the digest just resolved is the one verified and the one stored (pinned), or nothing is.
  await o.checkTrust?.(client, ref, resolved.top.digest);
  // Only now does output start, so a missing image is a plain error response (the CLI's exit code).
  o.progress({ status: `Pulling from ${ref.path.replace(/^library\//, '')}`, id: ref.digest ?? ref.tag! });
  const parsed = parseImageManifest(resolved.manifest.body.toString(), `manifest of ${familiarString(ref)}`);
  if (!parsed.config) {
    throw new InvalidParameter(`unsupported manifest for ${familiarString(ref)}: media type ${resolved.manifest.mediaType} (schema 1 and other formats are not supported)`);
  }
  const manifest = { ...parsed, config: parsed.config };
  const before =
    ref.tag !== undefined
      ? images.store.idForTag(normalizedString(ref))
      : images.store.all().find((img) => img.repoDigests.includes(`${normalizedName(ref)}@${ref.digest}`))?.id;
  const id = await images.unrecorded(() => fetchImage(images, client, ref, resolved.top, manifest, resolved.manifest, o));
  o.progress({ status: `Digest: ${resolved.top.digest}` });
  const upToDate = before === id;
  o.progress({ status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarString(ref)}` });
  return id;
}

async function fetchImage(
  images: ImagesService,
  client: RegistryClient,
  ref: Reference,
  top: FetchedManifest,
  manifest: ImageManifest,
  manifestBlob: FetchedManifest,
  o: PullOptions,
): Promise<string> {
  const added: string[] = [];
  try {
    const configDigest = manifest.config.digest;
    if (!(await images.content.has(configDigest))) {
      await traced('pull: config', images.content.put(client.blob(ref.path, configDigest), { digest: configDigest, size: manifest.config.size }));
      added.push(configDigest);
    }
    const cfg = await readImageConfig(images.content, configDigest);
    checkPlatform(cfg, o.platform);
    const diffIds = cfg.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw new InvalidParameter(`invalid image ${familiarString(ref)}: its config names ${diffIds.length} layers but its manifest ${manifest.layers.length}`);
    }
    const chains = chainIds(diffIds);
    const layers: LayerRef[] = [];
    await inParallel(manifest.layers.map((desc, i) => async () => {
      layers[i] = await fetchLayer(images, client, ref.path, desc, { diffId: diffIds[i]!, chain: chains[i]!, parent: i ? chains[i - 1] : undefined }, o.progress, added);
    }), CONCURRENT_DOWNLOADS);
    // The manifests as the registry sent them, so a push gives the same digests back.
    for (const m of top === manifestBlob ? [top] : [top, manifestBlob]) {
      if (!(await images.content.has(m.digest))) {
        await images.content.putBytes(m.body, m.digest);
        added.push(m.digest);
      }
    }
    const refs = ref.tag !== undefined ? [ref] : [];
    const digestRef = normalizedName(ref) + '@' + top.digest;
    await traced('pull: record', images.recordImage({ id: configDigest, configDigest, layers, manifestDigest: manifestBlob.digest, repoDigests: [digestRef] }, refs));
    return configDigest;
  } catch (e) {
    // Nothing half-stored: blobs this pull added and no image uses go again (layers are swept by GC).
    const used = new Set(images.store.all().flatMap((r) => [r.configDigest, ...(r.manifestDigest ? [r.manifestDigest] : []), ...r.layers.map((l) => l.digest)]));
    for (const d of added) if (!used.has(d)) await images.content.delete(d);
    throw e;
  }
}

/** One layer: "Already exists", or download → (content store ‖ extraction) with Docker's status lines. */
async function fetchLayer(
  images: ImagesService,
  client: RegistryClient,
  repo: string,
  desc: Descriptor,
  layer: { diffId: string; chain: string; parent?: string },
  progress: Progress,
  added: string[],
): Promise<LayerRef> {
  const { diffId, chain, parent } = layer;
  const p = new LayerProgress(progress, shortId(desc.digest), desc.size);
  const ref: LayerRef = { diffId, digest: desc.digest, mediaType: desc.mediaType, size: desc.size };
  const haveLayer = !!(await images.layers.info(chain));
  if (haveLayer && (await images.content.has(desc.digest))) {
    p.status('Already exists');
    return ref;
  }
  if (!/tar(\+gzip|\+zstd)?$|rootfs\.diff\.tar(\.gzip)?$/.test(desc.mediaType)) {
    throw new InvalidParameter(`unsupported layer media type ${desc.mediaType} for ${desc.digest} (berth pulls tar, tar+gzip and tar+zstd layers)`);
  }
  p.status('Pulling fs layer');
  const downloaded = traceStart('pull: download');
  const body = client.blob(repo, desc.digest, (n) => p.bytes('Downloading', n));
  body.once('end', downloaded);
  const [toStore, toLayer] = tee(body, 2);
  const stored = traced('pull: blob stored', images.content.put(toStore!, { digest: desc.digest, size: desc.size }).then((b) => {
    added.push(b.digest);
    p.status('Verifying Checksum');
    p.status('Download complete');
  }));
  const extracted = traced<unknown>('pull: extracted', haveLayer ? drain(toLayer!) : images.layers.extract(toLayer!, parent, diffId));
  const [s, x] = await Promise.allSettled([stored, extracted]);
  if (s.status === 'rejected') {
    toLayer!.destroy();
    throw s.reason;
  }
  if (x.status === 'rejected') throw x.reason;
  p.status('Pull complete');
  return ref;
}

function checkPlatform(cfg: OciImageConfig, platform: string | undefined): void {
  const want = parsePlatform(platform);
  if (cfg.os && cfg.os !== want.os) throw new InvalidParameter(`image operating system "${cfg.os}" cannot be used on this platform (${want.os})`);
  if (platform && cfg.architecture && cfg.architecture !== want.architecture) {
    throw new InvalidParameter(`image with reference was found but its platform (${cfg.os}/${cfg.architecture}) does not match the specified platform (${want.os}/${want.architecture})`);
  }
}

async function drain(src: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of src);
}


/** Docker's wording for a repository or tag that is not there (or not visible without login). */
function explainPullError(e: unknown, ref: Reference): unknown {
  const name = familiarString({ ...ref, tag: undefined, digest: undefined });
  if (e instanceof NotFound) {
    const code = (e as NotFound & { registryCode?: string }).registryCode;
    if (code === 'MANIFEST_UNKNOWN' || code === 'NOT_FOUND') return new NotFound(`manifest for ${familiarString(ref)} not found: ${e.message}`);
    return new NotFound(`pull access denied for ${name}, repository does not exist or may require 'docker login': ${e.message}`);
  }
  if (e instanceof RegistryError && e.registryStatus === 401) {
    return new RegistryError(401, 'UNAUTHORIZED', `pull access denied for ${name}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`);
  }
  return e;
}
