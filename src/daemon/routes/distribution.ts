// /auth and /distribution/*: registry logins and lookups, thin translators to the distribution service.
import { decodeRegistryAuth, type AuthConfig } from '../../distribution/auth.js';
import { authConfig } from '../../api/schemas.js';
import { readBody, sendJson, type Router } from '../http.js';

/** What /auth and /distribution need from the distribution service. */
export interface DistributionBackend {
  login(auth: AuthConfig): Promise<{ Status: string; IdentityToken: string }>;
  distributionInspect(name: string, auth: AuthConfig): Promise<unknown>;
}

export function distributionRoutes(r: Router, distribution: DistributionBackend): void {
  r.on('POST', '/auth', async (ctx) => sendJson(ctx, 200, await distribution.login(await readBody<AuthConfig>(ctx, authConfig))));
  r.on('GET', '/distribution/{name:.*}/json', async (ctx) => {
    const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
    sendJson(ctx, 200, await distribution.distributionInspect(ctx.params[0]!, auth));
  });
}
