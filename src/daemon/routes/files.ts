// Files in and out of containers: the archive API (HEAD/GET/PUT /containers/{id}/archive), export,
// changes (diff) and commit — thin translators to the container files service.
import type { ContainerConfig } from '../../api/types.js';
import { containerConfig } from '../../api/schemas.js';
import type { Readable } from 'node:stream';
import { encodePathStat, sendArchive, type Archive, type PathStat } from '../../engine/containers/archive.js';
import type { CommitOptions } from '../../engine/containers/commit.js';
import type { Change } from '../../engine/snapshots/diff.js';
import { InvalidParameter } from '../../lib/errors.js';
import { commonHeaders, qBool, readBody, sendJson, startStream, type Ctx, type Router } from '../http.js';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

function pathParam(ctx: Ctx): string {
  const p = ctx.query.get('path');
  if (!p) throw new InvalidParameter('path is required');
  return p;
}

/** What the archive, export, changes and commit routes need from the container files service. */
export interface FilesBackend {
  statPath(ref: string, p: string): Promise<PathStat>;
  archivePath(ref: string, p: string): Promise<{ stat: PathStat } & Archive>;
  extractToDir(ref: string, p: string, body: Readable, opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean }): Promise<void>;
  export(ref: string): Promise<Archive>;
  changes(ref: string): Promise<Change[]>;
  commit(ref: string, opts: CommitOptions): Promise<string>;
}

export function fileRoutes(r: Router, files: FilesBackend): void {
  // HEAD first: the router would otherwise answer a HEAD with the GET route.
  r.on('HEAD', '/containers/{id}/archive', async (ctx) => {
    const stat = await files.statPath(ctx.params[0]!, pathParam(ctx));
    ctx.res!.writeHead(200, { ...commonHeaders(ctx.version), [STAT_HEADER]: encodePathStat(stat) }).end();
  });
  r.on('GET', '/containers/{id}/archive', async (ctx) => {
    const a = await files.archivePath(ctx.params[0]!, pathParam(ctx));
    ctx.res!.setHeader(STAT_HEADER, encodePathStat(a.stat));
    await sendArchive(a, startStream(ctx, 'application/x-tar'));
  });
  r.on('PUT', '/containers/{id}/archive', async (ctx) => {
    await files.extractToDir(ctx.params[0]!, pathParam(ctx), ctx.req, {
      noOverwriteDirNonDir: qBool(ctx.query, 'noOverwriteDirNonDir'),
      copyUIDGID: qBool(ctx.query, 'copyUIDGID'),
    });
    ctx.res!.writeHead(200, commonHeaders(ctx.version)).end();
  });
  r.on('GET', '/containers/{id}/export', async (ctx) => {
    const a = await files.export(ctx.params[0]!);
    await sendArchive(a, startStream(ctx, 'application/x-tar'));
  });
  r.on('GET', '/containers/{id}/changes', async (ctx) => {
    const changes = await files.changes(ctx.params[0]!);
    sendJson(ctx, 200, changes.length ? changes : null);
  });
  r.on('POST', '/commit', async (ctx) => {
    const q = ctx.query;
    const container = q.get('container');
    if (!container) throw new InvalidParameter('container name or ID cannot be empty');
    const body = await readBody<ContainerConfig>(ctx, containerConfig, { optional: true });
    const id = await files.commit(container, {
      repo: q.get('repo') || undefined,
      tag: q.get('tag') || undefined,
      comment: q.get('comment') ?? undefined,
      author: q.get('author') ?? undefined,
      // As dockerd: paused unless pause is given and false.
      pause: q.has('pause') ? qBool(q, 'pause') : true,
      changes: q.getAll('changes'),
      config: body,
    });
    sendJson(ctx, 201, { Id: id });
  });
}
