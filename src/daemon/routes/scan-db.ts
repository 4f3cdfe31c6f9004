// /scan/db: berth's vulnerability database — import (the request body is a zip, tar or JSON of OSV
// records), status, and push/pull as an OCI artifact (progress streamed as JSON messages, as image push
// and pull do). Thin translators to the engine's VulnDbService.
import type { Readable } from 'node:stream';
import type { JSONMessage } from '../../api/types.js';
import type { VulnDbMeta, VulnDbStatus } from '../../api/vulndb.js';
import { decodeRegistryAuth, type AuthConfig } from '../../distribution/auth.js';
import { InvalidParameter } from '../../lib/errors.js';
import { progressStream, sendJson, type Ctx, type Router } from '../http.js';

/** What /scan/db needs from the vulnerability database service. */
export interface VulnDbBackend {
  status(): VulnDbStatus;
  importStream(src: Readable, source: string): Promise<VulnDbMeta>;
  push(ref: string, o: { auth: AuthConfig; progress: (m: JSONMessage) => void }): Promise<string>;
  pull(ref: string, o: { auth: AuthConfig; progress: (m: JSONMessage) => void }): Promise<VulnDbMeta>;
}

function refOf(ctx: Ctx): string {
  const ref = ctx.query.get('ref');
  if (!ref) throw new InvalidParameter('no reference given: pass ?ref=REGISTRY/REPOSITORY:TAG');
  return ref;
}

export function scanDbRoutes(r: Router, db: VulnDbBackend): void {
  r.on('GET', '/scan/db', (ctx) => sendJson(ctx, 200, db.status()));
  r.on('POST', '/scan/db/import', async (ctx) => {
    const source = ctx.query.get('source') || 'upload';
    sendJson(ctx, 200, await db.importStream(ctx.req, source));
  });
  r.on('POST', '/scan/db/push', async (ctx) => {
    const ref = refOf(ctx);
    const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
    await progressStream(ctx, async (send) => void (await db.push(ref, { auth, progress: send })));
  });
  r.on('POST', '/scan/db/pull', async (ctx) => {
    const ref = refOf(ctx);
    const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
    await progressStream(ctx, async (send) => void (await db.pull(ref, { auth, progress: send })));
  });
}
