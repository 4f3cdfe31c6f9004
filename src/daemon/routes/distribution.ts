// /auth and /distribution/*: registry logins and lookups, thin translators to the distribution service.
import type { DistributionService } from '../../engine/distribution/service.js';
import { decodeRegistryAuth, type AuthConfig } from '../../distribution/auth.js';
import { authConfig } from '../../api/schemas.js';
import { readBody, sendJson, type Router } from '../http.js';

export function distributionRoutes(r: Router, distribution: DistributionService): void {
  r.on('POST', '/auth', async (ctx) => sendJson(ctx, 200, await distribution.login(await readBody<AuthConfig>(ctx, authConfig))));
  r.on('GET', '/distribution/{name:.*}/json', async (ctx) => {
    const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
    sendJson(ctx, 200, await distribution.distributionInspect(ctx.params[0]!, auth));
  });
}
