// berth's package inventory endpoints (not in Docker's API):
//   GET  /images/{name}/sbom                 the ImageSbom of a stored image
//   GET  /sbom?archive=PATH | ?remote=REF    of an image archive on the daemon's host, or of a remote image
//                                            (X-Registry-Auth for the registry; nothing is stored as an image)
//   POST /images/{name}/sbom/attach?ref=REF  push the SBOM (CycloneDX) as an OCI 1.1 referrer of REF's manifest
import type { ImageSbom } from '../../api/sbom.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { decodeRegistryAuth } from '../../distribution/auth.js';
import { InvalidParameter } from '../../lib/errors.js';
import { sendJson, type Router } from '../http.js';

export type SbomSource = { image: string } | { archive: string } | { remote: string; auth?: AuthConfig; platform?: string };

/** What the SBOM routes need from the engine. */
export interface SbomBackend {
  inventoryOf(source: SbomSource): Promise<ImageSbom>;
  attach(image: string, ref: string, auth: AuthConfig): Promise<{ digest: string; subject: string; artifactType: string }>;
}

export function sbomRoutes(r: Router, sbom: SbomBackend): void {
  r.on('GET', '/images/{name:.*}/sbom', async (ctx) => sendJson(ctx, 200, await sbom.inventoryOf({ image: ctx.params[0]! })));
  r.on('GET', '/sbom', async (ctx) => {
    const archive = ctx.query.get('archive');
    const remote = ctx.query.get('remote');
    if (!archive === !remote) throw new InvalidParameter('give exactly one of archive=PATH (an image archive on the daemon\'s host) or remote=REF');
    const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
    const platform = ctx.query.get('platform') || undefined;
    sendJson(ctx, 200, await sbom.inventoryOf(archive ? { archive } : { remote: remote!, auth, platform }));
  });
  r.on('POST', '/images/{name:.*}/sbom/attach', async (ctx) => {
    const ref = ctx.query.get('ref');
    if (!ref) throw new InvalidParameter('attach: give ref=REGISTRY/REPOSITORY:TAG, the image in a registry to attach the SBOM to');
    const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
    sendJson(ctx, 201, await sbom.attach(ctx.params[0]!, ref, auth));
  });
}
