// A remote scan's shortcut (issue 12 item 6): before fetching an image's layers, look for a CycloneDX SBOM
// attached to its manifest as an OCI 1.1 referrer (`berth sbom --attach`) whose signature verifies with a
// key the client trusts; if there is one, its packages are what the scan matches. Anything else — no
// trusted keys, no referrers API, nothing attached, unsigned, a signature that does not verify, a document
// that is not the image's — falls back to the layers, and `origin` says why in one line.
import type { ImageSbom } from '../../api/sbom.js';
import { CYCLONEDX_MEDIA_TYPE } from '../../api/sbom-formats.js';
import { sbomFromCycloneDx } from '../../api/sbom-from-cyclonedx.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { fetchSignatures, checkSignatures, type Descriptor, type TrustedKey } from '../../distribution/cosign.js';
import { readAll, RegistryError, sha256Of } from '../../distribution/registry.js';
import { MEDIA } from '../../image-spec/media-types.js';
import { familiarString } from '../../image-spec/reference.js';
import { NotFound } from '../../lib/errors.js';
import { resolveRemoteImage } from '../distribution/pull.js';
import type { Inventory } from './scanner.js';

/** The attached SBOM's packages, or why there are none to use. */
export type AttestedLookup = { sbom: ImageSbom; referrer: string } | { reason: string };

interface Referrer extends Descriptor {
  annotations?: Record<string, string>;
}

export async function attestedSbom(refText: string, o: { auth: AuthConfig; insecure: string[]; keys: TrustedKey[]; platform?: string }): Promise<AttestedLookup> {
  if (!o.keys.length) return { reason: 'no trusted keys to verify an attached SBOM with (--key PUB, BERTH_TRUST_KEYS or ~/.berth/trust/*.pub)' };
  const { ref, client, top, manifest, image } = await resolveRemoteImage(refText, o);
  let index: { manifests?: Referrer[] };
  try {
    const res = await client.request('GET', `/v2/${ref.path}/referrers/${manifest.digest}?artifactType=${encodeURIComponent(CYCLONEDX_MEDIA_TYPE)}`, { repo: ref.path, headers: { Accept: MEDIA.ociIndex } });
    const body = await readAll(res);
    if (!String(res.headers['content-type'] ?? '').startsWith(MEDIA.ociIndex)) return { reason: 'the registry does not answer the OCI referrers API' };
    index = JSON.parse(body.toString()) as { manifests?: Referrer[] };
  } catch (e) {
    const noApi = e instanceof NotFound || e instanceof SyntaxError || (e instanceof RegistryError && [400, 404, 405].includes(e.registryStatus));
    if (noApi) return { reason: 'the registry does not answer the OCI referrers API' };
    return { reason: `cannot list the referrers of ${manifest.digest}: ${(e as Error).message}` };
  }
  const sboms = (Array.isArray(index.manifests) ? index.manifests : [])
    .filter((d) => d?.artifactType === CYCLONEDX_MEDIA_TYPE && typeof d.digest === 'string')
    // The newest attachment first.
    .sort((a, b) => (b.annotations?.['org.opencontainers.image.created'] ?? '').localeCompare(a.annotations?.['org.opencontainers.image.created'] ?? ''));
  if (!sboms.length) return { reason: `no SBOM is attached to ${manifest.digest}` };
  const reasons: string[] = [];
  for (const d of sboms) {
    try {
      checkSignatures(ref, d.digest, await fetchSignatures(client, ref.path, d.digest), o.keys);
    } catch (e) {
      reasons.push(`the SBOM ${d.digest}: ${(e as Error).message.replace(/^.*? (is not signed|has no valid signature)/, '$1')}`);
      continue;
    }
    // Signed: now the document must be what the signed manifest names, and about this image.
    let m: { subject?: Descriptor; layers?: Descriptor[] };
    try {
      m = JSON.parse((await client.getManifest(ref.path, d.digest)).body.toString()) as typeof m;
    } catch (e) {
      reasons.push(`the SBOM ${d.digest}: cannot read its manifest: ${(e as Error).message}`);
      continue;
    }
    const layer = m.layers?.find((l) => l.mediaType === CYCLONEDX_MEDIA_TYPE);
    if (m.subject?.digest !== manifest.digest || !layer) {
      reasons.push(`the SBOM ${d.digest}: its manifest does not refer to ${manifest.digest} or has no CycloneDX layer`);
      continue;
    }
    const doc = await readAll(client.blob(ref.path, layer.digest));
    if (sha256Of(doc) !== layer.digest) {
      reasons.push(`the SBOM ${d.digest}: the document's digest is not ${layer.digest}`);
      continue;
    }
    let sbom: ImageSbom;
    try {
      sbom = sbomFromCycloneDx(doc.toString('utf8'));
    } catch (e) {
      reasons.push(`the SBOM ${d.digest}: ${(e as Error).message}`);
      continue;
    }
    if (sbom.image.id !== image.config?.digest) {
      reasons.push(`the SBOM ${d.digest} describes image ${sbom.image.id}, not ${image.config?.digest}`);
      continue;
    }
    // Named as the layer scan names a remote image (sbom/remote.ts).
    sbom.image.repoTags = ref.tag ? [familiarString(ref)] : [];
    sbom.image.repoDigests = [`${familiarString({ ...ref, tag: undefined, digest: undefined })}@${top.digest}`];
    return { sbom, referrer: d.digest };
  }
  return { reason: reasons.join('; ') };
}

/** The scan's inventory with the shortcut in front of a remote reference's layers. */
export function withAttestedSboms(inner: Inventory, o: { insecure: string[] }): Inventory {
  return {
    async inventoryOf(source) {
      if (source.kind !== 'remote' || !source.keys) return inner.inventoryOf(source);
      // Any failure of the lookup (the image missing, the registry down, a malformed referrer) leaves the
      // layer scan to run and report it as it does without the shortcut.
      const found = await attestedSbom(source.ref, { auth: source.auth ?? {}, insecure: o.insecure, keys: source.keys }).catch(
        (e: Error): AttestedLookup => ({ reason: `cannot look for an attached SBOM: ${e.message}` }),
      );
      if ('sbom' in found) return { ...found.sbom, origin: `using the signed SBOM attached to ${source.ref} (${found.referrer})` };
      const sbom = await inner.inventoryOf(source);
      return { ...sbom, origin: `not using an attached SBOM (${found.reason}): scanned the layers of ${source.ref}` };
    },
  };
}
