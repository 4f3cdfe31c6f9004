// `berth sbom --attach REF`: the SBOM as an OCI 1.1 referrer — an image manifest whose artifactType is
// application/vnd.cyclonedx+json, with the empty config, one layer (the CycloneDX document) and a
// `subject` naming the manifest REF points to — pushed by digest with berth's registry client. A
// registry with the referrers API (berth's own, distribution 3, most clouds) then lists it under
// GET /v2/<name>/referrers/<subject digest>.
import { Readable } from 'node:stream';
import type { ImageSbom } from '../../api/sbom.js';
import { CYCLONEDX_MEDIA_TYPE, toCycloneDxJson, validateCycloneDx } from '../../api/sbom-formats.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { sha256Of } from '../../distribution/registry.js';
import { familiarString } from '../../image-spec/reference.js';
import { MEDIA } from '../../image-spec/media-types.js';
import { InvalidParameter } from '../../lib/errors.js';
import { resolveRemoteImage } from '../distribution/pull.js';

const EMPTY = Buffer.from('{}');
const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';

export interface Attached {
  /** The referrer manifest's digest. */
  digest: string;
  /** The digest of the manifest it refers to. */
  subject: string;
  artifactType: string;
}

export async function attachSbom(sbom: ImageSbom, refText: string, o: { auth: AuthConfig; insecure: string[] }): Promise<Attached> {
  const { ref, client, manifest, image: m } = await resolveRemoteImage(refText, { ...o, platform: `${sbom.image.os}/${sbom.image.architecture}` });
  if (m.config?.digest !== sbom.image.id) {
    throw new InvalidParameter(
      `${familiarString(ref)} in the registry is image ${m.config?.digest ?? '(none)'}, not ${sbom.image.id} whose SBOM this is: push the image first (berth push ${familiarString(ref)})`,
    );
  }
  const doc = Buffer.from(toCycloneDxJson(sbom));
  await validateCycloneDx(doc.toString());
  const docDigest = sha256Of(doc);
  for (const [blob, digest] of [[EMPTY, sha256Of(EMPTY)], [doc, docDigest]] as const) {
    if (!(await client.hasBlob(ref.path, digest, 'pull,push'))) await client.upload(ref.path, () => Readable.from([blob]), () => digest);
  }
  const referrer = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    artifactType: CYCLONEDX_MEDIA_TYPE,
    config: { mediaType: EMPTY_MEDIA_TYPE, digest: sha256Of(EMPTY), size: EMPTY.length, data: EMPTY.toString('base64') },
    layers: [{ mediaType: CYCLONEDX_MEDIA_TYPE, digest: docDigest, size: doc.length, annotations: { 'org.opencontainers.image.title': 'sbom.cdx.json' } }],
    subject: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.body.length },
    annotations: { 'org.opencontainers.image.created': new Date().toISOString(), 'dev.berth.sbom.image': sbom.image.id },
  };
  const body = Buffer.from(JSON.stringify(referrer));
  const digest = sha256Of(body);
  await client.putManifest(ref.path, digest, body, MEDIA.ociManifest);
  return { digest, subject: manifest.digest, artifactType: CYCLONEDX_MEDIA_TYPE };
}
