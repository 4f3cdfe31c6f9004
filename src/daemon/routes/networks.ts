// /networks/*: thin translators to the networks service.
import type { EndpointSettings, NetworkCreateRequest, NetworkInspect } from '../../api/types.js';
import type { PruneReport } from '../../engine/networks/service.js';
import { networkConnectBody, networkCreateBody, networkDisconnectBody } from '../../api/schemas.js';
import { qFilters, readBody, sendJson, sendStatus, type Router } from '../http.js';

/** What the /networks routes need from the networks service (moby's network Backend). */
export interface NetworksBackend {
  list(filters: Record<string, string[]>): NetworkInspect[];
  create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }>;
  prune(filters: Record<string, string[]>): Promise<PruneReport>;
  inspect(ref: string): NetworkInspect;
  remove(ref: string): Promise<void>;
  connect(netRef: string, containerRef: string, settings: EndpointSettings): Promise<void>;
  disconnect(netRef: string, containerRef: string, force: boolean): Promise<void>;
}

export function networkRoutes(r: Router, networks: NetworksBackend): void {
  r.on('GET', '/networks', async (ctx) => sendJson(ctx, 200, networks.list(qFilters(ctx.query))));
  r.on('POST', '/networks/create', async (ctx) => sendJson(ctx, 201, await networks.create(await readBody<NetworkCreateRequest>(ctx, networkCreateBody))));
  r.on('POST', '/networks/prune', async (ctx) => sendJson(ctx, 200, await networks.prune(qFilters(ctx.query))));
  r.on('GET', '/networks/{id}', async (ctx) => sendJson(ctx, 200, networks.inspect(ctx.params[0]!)));
  r.on('DELETE', '/networks/{id}', async (ctx) => {
    await networks.remove(ctx.params[0]!);
    sendStatus(ctx, 204);
  });
  r.on('POST', '/networks/{id}/connect', async (ctx) => {
    const body = await readBody<{ Container?: string; EndpointConfig?: EndpointSettings }>(ctx, networkConnectBody);
    await networks.connect(ctx.params[0]!, body.Container ?? '', body.EndpointConfig ?? {});
    sendStatus(ctx, 200);
  });
  r.on('POST', '/networks/{id}/disconnect', async (ctx) => {
    const body = await readBody<{ Container?: string; Force?: boolean }>(ctx, networkDisconnectBody);
    await networks.disconnect(ctx.params[0]!, body.Container ?? '', body.Force ?? false);
    sendStatus(ctx, 200);
  });
}
