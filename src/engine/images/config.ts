// Where image-format JSON from outside (registries, archives, the content store) becomes the engine's
// types. The one place an image config blob becomes the engine's OciImageConfig: decoded as dockerd decodes
// it (moby image.Image), so what Docker's Go structs allow — `"Env": null`, a null `Entrypoint`,
// `Volumes`, `OnBuild`, `Labels`, `ExposedPorts`, `Healthcheck`, `history`, `container_config`, fields
// in any case — is accepted, and nothing past here sees a null. The blob itself is never rewritten
// (its digest is the image ID).
import { decodeJson, GoJsonError } from '../../api/go-json.js';
import { imageConfig, imageIndex, imageManifest, saveManifest } from '../../api/schemas.js';
import type { GoType } from '../../api/go-json.js';
import { InvalidParameter } from '../../lib/errors.js';
import type { FileContentStore } from '../../content/store.js';
import type { OciImageConfig } from '../../api/image-config.js';

/** An image config's JSON text → OciImageConfig; InvalidParameter naming the blob when it is malformed. */
export function parseImageConfig(text: string, digest: string): OciImageConfig {
  let cfg: Partial<OciImageConfig>;
  try {
    cfg = decodeJson<Partial<OciImageConfig>>(text, imageConfig);
  } catch (e) {
    if (e instanceof GoJsonError) throw new InvalidParameter(`invalid image config ${digest}: ${e.message}`);
    throw e;
  }
  return {
    ...cfg,
    architecture: cfg.architecture ?? '',
    os: cfg.os ?? '',
    rootfs: { type: 'layers', diff_ids: cfg.rootfs?.diff_ids ?? [] },
  };
}

export async function readImageConfig(content: FileContentStore, digest: string): Promise<OciImageConfig> {
  return parseImageConfig(await content.readText(digest), digest);
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config?: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface SaveManifestItem {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

function decodeFormat<T>(text: string, schema: GoType, what: string): T {
  try {
    return decodeJson<T>(text, schema);
  } catch (e) {
    if (e instanceof GoJsonError) throw new InvalidParameter(`invalid ${what}: ${e.message}`);
    throw e;
  }
}

/** An image manifest; `layers: null` is no layers. `config` stays absent when the manifest has none (not an image). */
export function parseImageManifest(text: string, what = 'manifest'): ImageManifest {
  const m = decodeFormat<Partial<ImageManifest>>(text, imageManifest, what);
  return { ...m, schemaVersion: m.schemaVersion ?? 0, layers: m.layers ?? [] };
}

/** An index or manifest list; `manifests: null` is none. */
export function parseImageIndex(text: string, what = 'index'): ImageIndex {
  const i = decodeFormat<Partial<ImageIndex>>(text, imageIndex, what);
  return { ...i, schemaVersion: i.schemaVersion ?? 0, manifests: i.manifests ?? [] };
}

/** A `docker save` manifest.json: untagged images have `"RepoTags": null`. */
export function parseSaveManifest(text: string): SaveManifestItem[] {
  return decodeFormat<Partial<SaveManifestItem>[]>(text, saveManifest, 'archive: manifest.json').map((m) => ({ Config: m.Config ?? '', RepoTags: m.RepoTags ?? [], Layers: m.Layers ?? [] }));
}
