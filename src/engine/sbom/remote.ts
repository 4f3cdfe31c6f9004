// The inventory of a remote image: manifest and config fetched through the registry client, then each
// layer not already in the layer cache streamed once through the cataloguers. Nothing is stored as an
// image (only the per-layer cache entries).
import type { ImageSbom } from '../../api/sbom.js';
import type { OciImageConfig } from '../../api/image-config.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { readAll } from '../../distribution/registry.js';
import { familiarString } from '../../image-spec/reference.js';
import { InvalidParameter } from '../../lib/errors.js';
import { inParallel } from '../../lib/concurrency.js';
import { resolveRemoteImage } from '../distribution/pull.js';
import type { LayerFacts } from './fragments.js';
import { layerRefs, sbomOf, type LayerReader } from './inventory.js';
import { tarView } from './view.js';

export async function remoteInventory(refText: string, o: { auth: AuthConfig; platform?: string; insecure: string[] }, reader: LayerReader): Promise<ImageSbom> {
  const { ref, client, top, manifest, image: m } = await resolveRemoteImage(refText, o);
  if (!m.config) throw new InvalidParameter(`${familiarString(ref)} is not an image (manifest media type ${manifest.mediaType})`);
  const configBody = await readAll(client.blob(ref.path, m.config.digest));
  let config: OciImageConfig;
  try {
    config = JSON.parse(configBody.toString('utf8')) as OciImageConfig;
  } catch (e) {
    throw new InvalidParameter(`the config of ${familiarString(ref)} is not valid JSON (${(e as Error).message})`);
  }
  const refs = layerRefs(config);
  if (refs.length !== m.layers.length) throw new InvalidParameter(`invalid image ${familiarString(ref)}: its config names ${refs.length} layers but its manifest ${m.layers.length}`);
  const facts: LayerFacts[] = [];
  await inParallel(
    refs.map((r, i) => async () => {
      facts[i] = await reader.facts(r.diffId, async () => tarView(client.blob(ref.path, m.layers[i]!.digest)));
    }),
    3,
  );
  return sbomOf(
    { id: m.config.digest, repoTags: ref.tag ? [familiarString(ref)] : [], repoDigests: [`${familiarString({ ...ref, tag: undefined, digest: undefined })}@${top.digest}`], os: config.os, architecture: config.architecture },
    refs.map((r, i) => ({ ref: r, facts: facts[i]! })),
  );
}
