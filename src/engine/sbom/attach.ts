// `berth sbom --attach REF`: the SBOM as an OCI 1.1 referrer — a manifest whose artifactType is
// application/vnd.cyclonedx+json, whose one layer is the CycloneDX document and whose `subject` is the
// image manifest REF names — pushed with berth's registry client. The registry's referrers API
// (GET /v2/<name>/referrers/<digest>) then lists it.
import type { ImageSbom } from '../../api/sbom.js';
import type { AuthConfig } from '../../distribution/auth.js';
export async function attachSbom(_sbom: ImageSbom, _ref: string, _o: { auth: AuthConfig; insecure: string[] }): Promise<{ digest: string; subject: string; artifactType: string }> {
  throw new Error('not yet');
}
