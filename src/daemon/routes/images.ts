// /images/*: thin translators to the images service. Image names may contain slashes, hence {name:.*}.
import type { Readable, Writable } from 'node:stream';
import type { HistoryItem, ImageInspect, ImageSummary, JSONMessage } from '../../api/types.js';
import { InvalidParameter, messageOf } from '../../lib/errors.js';
import type { DeleteItem, ImportOptions } from '../../engine/images/service.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { decodeRegistryAuth } from '../../distribution/auth.js';
import { progressStream, qBool, qFilters, sendJson, startStream, type Ctx, type Router } from '../http.js';
import type { TrustedKey } from '../../distribution/cosign.js';
import { trustKeysFrom } from './trust.js';

/** What the /images routes need from the images service (moby's imageBackend). */
export interface ImagesBackend {
  list(opts: { all?: boolean; filters?: Record<string, string[]>; digests?: boolean }): Promise<ImageSummary[]>;
  /** Resolves, or throws NotFound for, a name or ID. */
  resolve(nameOrId: string): Promise<unknown>;
  inspect(nameOrId: string): Promise<ImageInspect>;
  history(nameOrId: string): Promise<HistoryItem[]>;
  tag(source: string, target: string): Promise<void>;
  remove(nameOrId: string, opts: { force?: boolean; noPrune?: boolean }): Promise<DeleteItem[]>;
  load(src: Readable, progress?: (line: string) => void): Promise<string[]>;
  save(names: string[], out: Writable): Promise<void>;
  importTarball(src: Readable, opts: ImportOptions): Promise<string>;
  importUrl(url: string, opts: ImportOptions): Promise<string>;
}

/** What pull and push (under /images) need from the distribution service. */
export interface ImageTransferBackend {
  pull(ref: string, opts: { auth: AuthConfig; platform?: string; allTags?: boolean; progress: (m: JSONMessage) => void; trustKeys?: TrustedKey[] }): Promise<unknown>;
  push(name: string, tag: string | undefined, opts: { auth: AuthConfig; allTags?: boolean; progress: (m: JSONMessage) => void }): Promise<void>;
}

export function imageRoutes(r: Router, images: ImagesBackend, distribution: ImageTransferBackend): void {
  r.on('GET', '/images/json', async (ctx) =>
    sendJson(ctx, 200, await images.list({ all: qBool(ctx.query, 'all'), filters: qFilters(ctx.query), digests: qBool(ctx.query, 'digests') })),
  );
  r.on('POST', '/images/create', (ctx) => createImage(ctx, images, distribution));
  r.on('POST', '/images/load', async (ctx) => {
    const quiet = qBool(ctx.query, 'quiet');
    // As dockerd: 200 at once and a bad archive reported in the stream (docker-py raises ImageLoadError from it).
    await progressStream(
      ctx,
      async (send) => {
        const lines = await images.load(ctx.req, quiet ? undefined : (line) => send({ stream: line + '\n' }));
        for (const l of lines) send({ stream: l + '\n' });
      },
      { headersFirst: true },
    );
  });
  r.on('GET', '/images/get', (ctx) => saveImages(ctx, images, ctx.query.getAll('names')));
  r.on('GET', '/images/{name:.*}/get', (ctx) => saveImages(ctx, images, [ctx.params[0]!]));
  r.on('GET', '/images/{name:.*}/json', async (ctx) => sendJson(ctx, 200, await images.inspect(ctx.params[0]!)));
  r.on('GET', '/images/{name:.*}/history', async (ctx) => sendJson(ctx, 200, await images.history(ctx.params[0]!)));
  r.on('POST', '/images/{name:.*}/tag', async (ctx) => {
    const repo = ctx.query.get('repo');
    if (!repo) throw new InvalidParameter('repository name must have at least one component');
    const tag = ctx.query.get('tag');
    await images.tag(ctx.params[0]!, tag ? `${repo}:${tag}` : repo);
    sendJson(ctx, 201, null);
  });
  r.on('POST', '/images/{name:.*}/push', async (ctx) => {
    const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
    const tag = ctx.query.get('tag') || undefined;
    await progressStream(ctx, (send) => distribution.push(ctx.params[0]!, tag, { auth, allTags: !tag, progress: send }));
  });
  r.on('DELETE', '/images/{name:.*}', async (ctx) =>
    sendJson(ctx, 200, await images.remove(ctx.params[0]!, { force: qBool(ctx.query, 'force'), noPrune: qBool(ctx.query, 'noprune') })),
  );
}

/** POST /images/create: `fromImage` pulls (every tag when no tag is given), `fromSrc` imports a tarball. */
async function createImage(ctx: Ctx, images: ImagesBackend, distribution: ImageTransferBackend): Promise<void> {
  const q = ctx.query;
  const fromImage = q.get('fromImage');
  if (fromImage) {
    const tag = q.get('tag');
    // A digest comes as tag=sha256:… from the docker CLI.
    const ref = tag ? (tag.includes(':') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`) : fromImage;
    const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
    const platform = q.get('platform') || undefined;
    const trustKeys = trustKeysFrom(ctx.req.headers);
    await progressStream(ctx, async (send) => {
      await distribution.pull(ref, { auth, platform, allTags: !tag, progress: send, trustKeys });
    });
    return;
  }
  const src = q.get('fromSrc');
  if (!src) throw new InvalidParameter('fromSrc or fromImage is required');
  const repo = q.get('repo');
  const tag = q.get('tag');
  const opts = {
    // The docker CLI sends repo=name:tag with an empty tag; either form is accepted.
    reference: repo ? (tag ? `${repo}:${tag}` : repo) : undefined,
    changes: q.getAll('changes'),
    message: q.get('message') ?? undefined,
    platform: q.get('platform') ?? undefined,
  };
  await progressStream(ctx, async (send) => {
    const id = src === '-' ? await images.importTarball(ctx.req, opts) : await images.importUrl(src, opts);
    send({ status: id });
  });
}

async function saveImages(ctx: Ctx, images: ImagesBackend, names: string[]): Promise<void> {
  if (!names.length) throw new InvalidParameter('no images named to save');
  for (const n of names) await images.resolve(n); // 404 before any bytes go out
  const res = startStream(ctx, 'application/x-tar');
  try {
    await images.save(names, res);
  } catch (e) {
    ctx.log(`save failed: ${messageOf(e)}`);
    res.destroy();
    return;
  }
  res.end();
}

