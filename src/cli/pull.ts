// Pull with progress, docker's way: `berth pull`, and `run`/`create` when the image is missing (progress
// then goes to stderr). The reference check and the X-Registry-Auth header are push's too.
import { Writable, type Readable } from 'node:stream';
import { renderJSONMessages } from '../client/jsonmessage.js';
import { encodeRegistryAuth, getCredentials } from '../client/credentials.js';
// Reference parsing is image-format code shared by the CLI, berthd and the registry server.
import { familiarString, normalizedString, parseNormalizedNamed, tagNameOnly } from '../image-spec/reference.js';
import { StatusError, type Context } from './command.js';
import { contentTrustOn } from './trust-env.js';

export function parseRef(text: string): ReturnType<typeof parseNormalizedNamed> {
  try {
    return parseNormalizedNamed(text);
  } catch (e) {
    throw new StatusError(`invalid reference format: ${(e as Error).message.replace(/^invalid reference format: /, '')}`, 1);
  }
}

/** -q: the progress is read (errors still end the command) but not shown. */
export function nullSink(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

export function authHeader(ctx: Context, host: string): Record<string, string> {
  return { 'X-Registry-Auth': encodeRegistryAuth(getCredentials(ctx.env, host)) };
}

/** Pull through berthd with docker's output: `berth pull`, and run/create when the image is missing. */
export async function pullImage(ctx: Context, ref: string, opts: { platform?: string; allTags?: boolean; quiet?: boolean; out?: Writable & { isTTY?: boolean }; trust?: boolean }): Promise<void> {
  const named = parseRef(ref);
  const out = opts.out ?? ctx.stdout;
  let tag = named.tag;
  if (!tag && !named.digest && !opts.allTags) {
    tag = 'latest';
    if (!opts.quiet) out.write('Using default tag: latest\n');
  }
  const fromImage = familiarString({ ...named, tag: undefined, digest: undefined });
  const res = await ctx.client().request({
    method: 'POST',
    path: '/images/create',
    query: { fromImage, tag: named.digest ?? tag, platform: opts.platform || undefined },
    // Content trust on: berthd verifies the tag's digest with these keys and stores only that digest.
    headers: { ...authHeader(ctx, named.domain), ...((opts.trust ?? contentTrustOn(ctx.env)) ? (await import('./trust.js')).trustHeader(ctx, true) : {}) },
  });
  await renderJSONMessages(res as Readable, opts.quiet ? nullSink() : out, { tty: !opts.quiet && !!out.isTTY });
  if (!opts.allTags) out.write(normalizedString(tagNameOnly({ ...named, tag: named.digest ? undefined : tag })) + '\n');
}
