// POST /build (the classic builder's API, which `DOCKER_BUILDKIT=0 docker build` uses) and
// POST /build/prune, and berth's POST /build/context: thin translators to the build service, progress as JSON messages.
import type { JSONMessage } from '../../api/types.js';
import type { Readable } from 'node:stream';
import type { BuildRequest } from '../../engine/builder/service.js';
import type { BuildPruneOptions, BuildPruneReport } from '../../engine/builder/cache.js';
import { RunFailed } from '../../engine/builder/builder.js';
import { InvalidParameter, statusOf } from '../../lib/errors.js';
import { buildArgsParam, buildLabelsParam } from '../../api/schemas.js';
import { decodeJson, GoJsonError, slice, str, type GoType } from '../../api/go-json.js';
import { validateBuildTags } from '../validate/params.js';
import { qBool, qFilters, qInt, readJsonBody, sendJson, startStream, type Ctx, type Router } from '../http.js';
import type { ContextEntry, ContextSyncAnswer } from '../../api/build-context.js';
import { trustKeysFrom } from './trust.js';


function jsonParam<T>(ctx: Ctx, key: string, schema: GoType, fallback: T): T {
  const v = ctx.query.get(key);
  if (!v) return fallback;
  try {
    return decodeJson<T>(v, schema);
  } catch (e) {
    if (e instanceof GoJsonError) throw new InvalidParameter(e.message);
    throw e;
  }
}

/** berth's CLI sends --secret contents in a header (base64 JSON of id → base64 bytes): never in the context. */
function decodeSecrets(header: string | undefined): Record<string, Buffer> {
  if (!header) return {};
  try {
    const ids = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as Record<string, string>;
    return Object.fromEntries(Object.entries(ids).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  } catch {
    throw new InvalidParameter('invalid X-Berth-Build-Secrets header: expected base64 JSON');
  }
}

/** What /build and /build/* need from the build service (moby's build Backend). */
export interface BuildBackend {
  /** Returns the built image's ID. */
  build(context: Readable, req: BuildRequest, progress: (m: JSONMessage) => void): Promise<string>;
  prune(opts: BuildPruneOptions): Promise<BuildPruneReport>;
  /** berth's context sync: which entries a build still needs sent. */
  contexts: {
    diff(key: string, entries: ContextEntry[], dockerfile?: string): Promise<{ session: string; need: string[] }>;
    diffDigest(key: string, digest: string, dockerfile?: string): Promise<{ session: string; need: string[] } | undefined>;
  };
}

export function buildRoutes(r: Router, build: BuildBackend): void {
  r.on('POST', '/build', async (ctx) => {
    // A BuildKit client (version=2) also sends remote=client-session: the hint it needs is the BuildKit one.
    if (ctx.query.get('version') === '2') throw new InvalidParameter('BuildKit sessions (version=2) are not supported: use DOCKER_BUILDKIT=0 with the docker CLI, or berth build');
    if (ctx.query.get('remote')) throw new InvalidParameter('the remote parameter is not supported: fetch the context on the client (berth build URL and the docker CLI do) and send it as a tar');
    const quiet = qBool(ctx.query, 'q');
    // Refused before the context is read: a bad tag must not cost a whole build.
    validateBuildTags(ctx.query.getAll('t'));
    const req = {
      dockerfile: ctx.query.get('dockerfile') ?? 'Dockerfile',
      tags: ctx.query.getAll('t'),
      buildArgs: jsonParam<Record<string, string | null>>(ctx, 'buildargs', buildArgsParam, {}),
      labels: jsonParam<Record<string, string>>(ctx, 'labels', buildLabelsParam, {}),
      target: ctx.query.get('target') || undefined,
      noCache: qBool(ctx.query, 'nocache'),
      pull: qBool(ctx.query, 'pull'),
      trustKeys: trustKeysFrom(ctx.req.headers),
      noCacheFilter: jsonParam<string[]>(ctx, 'nocachefilter', slice(str()), []),
      // docker build --cache-from (a JSON list of image references): only their history gives cache hits.
      cacheFrom: jsonParam<string[] | undefined>(ctx, 'cachefrom', slice(str()), undefined),
      secrets: decodeSecrets(ctx.req.headers['x-berth-build-secrets'] as string | undefined),
      contextSession: (ctx.req.headers['x-berth-context-session'] as string | undefined) || undefined,
      platform: ctx.query.get('platform') || undefined,
      networkMode: ctx.query.get('networkmode') || undefined,
      extraHosts: ctx.query.getAll('extrahosts').flatMap((h) => h.split(',')).filter(Boolean),
      // berth's CLI asks for one vertex per step (engine/builder/progress.ts); the docker CLI gets the classic lines.
      progressMode: ctx.req.headers['x-berth-build-progress'] === 'vertex' ? ('vertex' as const) : ('classic' as const),
    };
    // As dockerd: the stream starts with the first message, so an error before any output (no Dockerfile
    // in the context, a bad parameter) is an HTTP error status; one after it travels as errorDetail.
    let res: ReturnType<typeof startStream> | undefined;
    // Messages of one turn of the event loop go out as one write (a cached build says ~40 at once).
    let pending: string[] = [];
    const flush = () => {
      if (pending.length) res!.write(pending.join(''));
      pending = [];
    };
    const send = (m: JSONMessage) => {
      res ??= startStream(ctx, 'application/json');
      if (pending.push(JSON.stringify(m) + '\n') === 1) setImmediate(flush);
    };
    try {
      const id = await build.build(ctx.req, req, (m) => (!quiet || (m.aux && m.id === undefined) ? send(m) : undefined));
      if (quiet) send({ stream: id + '\n' });
    } catch (e) {
      if (!res) throw e;
      const message = ctx.fail(e);
      send({ errorDetail: { message, code: e instanceof RunFailed ? e.exitCode : statusOf(e) }, error: message });
    }
    flush();
    res!.end();
  });
  // berth's context sync (see engine/builder/contexts.ts): the entries berthd needs sent for this build.
  r.on('POST', '/build/context', async (ctx) => {
    const body = await readJsonBody<{ Key?: string; Entries?: ContextEntry[]; Digest?: string; Dockerfile?: string }>(ctx);
    const byDigest = !Array.isArray(body.Entries) && typeof body.Digest === 'string';
    if (!body.Key || (!Array.isArray(body.Entries) && !byDigest)) throw new InvalidParameter('build context sync needs Key (64 hex digits) and Entries (or the Digest of the entries)');
    if (body.Dockerfile !== undefined && typeof body.Dockerfile !== 'string') throw new InvalidParameter('build context sync: Dockerfile is the Dockerfile\'s text');
    // A digest alone: known, nothing changed; unknown, the client sends its entries.
    const found = byDigest ? await build.contexts.diffDigest(body.Key, body.Digest!, body.Dockerfile) : await build.contexts.diff(body.Key, body.Entries!, body.Dockerfile);
    const answer: ContextSyncAnswer = found ? { Session: found.session, Need: found.need } : { Session: '', Need: [], NeedEntries: true };
    sendJson(ctx, 200, answer);
  });
  r.on('POST', '/build/prune', async (ctx) => {
    const opts = {
      all: qBool(ctx.query, 'all'),
      filters: qFilters(ctx.query),
      keepStorage: qInt(ctx.query, 'keep-storage'),
      reservedSpace: qInt(ctx.query, 'reserved-space'),
      maxUsedSpace: qInt(ctx.query, 'max-used-space'),
      minFreeSpace: qInt(ctx.query, 'min-free-space'),
    };
    sendJson(ctx, 200, await build.prune(opts));
  });
}
