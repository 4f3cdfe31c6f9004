// Disk usage and pruning: GET /system/df, POST /containers/prune, POST /images/prune — thin
// translators to the housekeeping service. (Networks, volumes and build cache prune have their own routes.)
import type { ContainerPruneReport, DiskUsage, ImagePruneReport } from '../../engine/housekeeping.js';
import { compareVersions } from '../../api/version.js';
import { qFilters, sendJson, type Router } from '../http.js';

/** What disk usage and pruning need from the housekeeping service. */
export interface HousekeepingBackend {
  pruneContainers(filters: Record<string, string[]>): Promise<ContainerPruneReport>;
  pruneImages(filters: Record<string, string[]>): Promise<ImagePruneReport>;
  diskUsage(types: string[]): Promise<DiskUsage>;
}

export function housekeepingRoutes(r: Router, hk: HousekeepingBackend): void {
  r.on('POST', '/containers/prune', async (ctx) => sendJson(ctx, 200, await hk.pruneContainers(qFilters(ctx.query))));
  r.on('POST', '/images/prune', async (ctx) => sendJson(ctx, 200, await hk.pruneImages(qFilters(ctx.query))));
  r.on('GET', '/system/df', async (ctx) => {
    // `type` selects what to count from API 1.42 on; older clients always get everything.
    const types = compareVersions(ctx.version, '1.42') >= 0 ? ctx.query.getAll('type') : [];
    const du = await hk.diskUsage(types);
    // A build cache entry's Parent became Parents in API 1.42, as dockerd sends them.
    const parents = compareVersions(ctx.version, '1.42') >= 0;
    du.BuildCache = du.BuildCache?.map(({ Parent, Parents, ...b }) => (parents ? { ...b, ...(Parents?.length ? { Parents } : {}) } : { ...b, ...(Parent ? { Parent } : {}) }));
    sendJson(ctx, 200, du);
  });
}
