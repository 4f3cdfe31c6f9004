// The one place an image config blob becomes the engine's OciImageConfig: decoded as dockerd decodes
// it (moby image.Image), so what Docker's Go structs allow — `"Env": null`, a null `Entrypoint`,
// `Volumes`, `OnBuild`, `Labels`, `ExposedPorts`, `Healthcheck`, `history`, `container_config`, fields
// in any case — is accepted, and nothing past here sees a null. The blob itself is never rewritten
// (its digest is the image ID).
import { decodeJson, GoJsonError } from '../../api/go-json.js';
import { imageConfig } from '../../api/schemas.js';
import { InvalidParameter } from '../../lib/errors.js';
import type { ContentStore } from '../content/store.js';
import type { OciImageConfig } from './service.js';

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

export async function readImageConfig(content: ContentStore, digest: string): Promise<OciImageConfig> {
  return parseImageConfig(await content.readText(digest), digest);
}
