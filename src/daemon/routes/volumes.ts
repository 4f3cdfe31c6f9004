// /volumes/*: thin translators to the volumes service.
import type { Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneReport } from '../../api/types.js';
import { compareVersions } from '../../api/version.js';
import { volumeCreateBody } from '../../api/schemas.js';
import { qBool, qFilters, readBody, sendJson, sendStatus, type Router } from '../http.js';

/** What the /volumes routes need from the volumes service (moby's volume Backend). */
export interface VolumesBackend {
  list(filters: Record<string, string[]>): VolumeListResponse;
  create(req: VolumeCreateRequest): Promise<Volume>;
  prune(filters: Record<string, string[]>): Promise<VolumePruneReport>;
  inspect(name: string): Volume;
  remove(name: string, opts: { force?: boolean }): Promise<void>;
}

export function volumeRoutes(r: Router, volumes: VolumesBackend): void {
  r.on('GET', '/volumes', async (ctx) => sendJson(ctx, 200, volumes.list(qFilters(ctx.query))));
  r.on('POST', '/volumes/create', async (ctx) => sendJson(ctx, 201, await volumes.create(await readBody<VolumeCreateRequest>(ctx, volumeCreateBody))));
  r.on('POST', '/volumes/prune', async (ctx) => {
    const filters = qFilters(ctx.query);
    // Before API 1.42 a prune removed every unused volume; since then only anonymous ones unless all=true.
    if (compareVersions(ctx.version, '1.42') < 0) filters.all = ['true'];
    sendJson(ctx, 200, await volumes.prune(filters));
  });
  r.on('GET', '/volumes/{name}', async (ctx) => sendJson(ctx, 200, volumes.inspect(ctx.params[0]!)));
  r.on('DELETE', '/volumes/{name}', async (ctx) => {
    await volumes.remove(ctx.params[0]!, { force: qBool(ctx.query, 'force') });
    sendStatus(ctx, 204);
  });
}
