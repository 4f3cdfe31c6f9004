// Registry verbs: pull, push, login, logout, manifest inspect. Credentials come from the docker CLI's
// config (src/client/credentials.ts) and travel to berthd in X-Registry-Auth, as with dockerd.
import type { Readable } from 'node:stream';
import { renderJSONMessages } from '../../client/jsonmessage.js';
import { eraseCredentials, getCredentials, serverKey, storeCredentials, DOCKER_HUB_SERVER, type AuthConfig } from '../../client/credentials.js';
import { ApiError } from '../../client/errors.js';
import { familiarString, normalizedString, tagNameOnly } from '../../image-spec/reference.js';
import { RegistryClient } from '../../distribution/registry.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { readLine } from '../prompt.js';
import { authHeader, nullSink, parseRef, pullImage } from '../pull.js';
import { contentTrustOn } from '../trust-env.js';

/** docker's --disable-content-trust: when given, it decides; else BERTH_CONTENT_TRUST/DOCKER_CONTENT_TRUST do. */
function trustFlag(ctx: Context, f: ParsedFlags): boolean {
  return f.changed.has('disable-content-trust') ? !f.bool('disable-content-trust') : contentTrustOn(ctx.env);
}

async function pull(ctx: Context, f: ParsedFlags): Promise<number> {
  await pullImage(ctx, f.args[0]!, { platform: f.str('platform'), allTags: f.bool('all-tags'), quiet: f.bool('quiet'), trust: trustFlag(ctx, f) });
  return 0;
}

async function push(ctx: Context, f: ParsedFlags): Promise<number> {
  const named = parseRef(f.args[0]!);
  if (named.digest) throw new StatusError('cannot push a digest reference', 1);
  let tag = named.tag;
  if (!tag && !f.bool('all-tags')) {
    tag = 'latest';
    if (!f.bool('quiet')) await writeOut(ctx.stdout, 'Using default tag: latest\n');
  }
  if (tag && f.bool('all-tags')) throw new StatusError('tag can\'t be used with --all-tags/-a', 1);
  // Content trust: the signing key is opened (its passphrase asked) before anything is pushed.
  const signer = trustFlag(ctx, f) ? await (await import('../trust.js')).pushSigningKey(ctx) : undefined;
  if (signer && !tag) throw new StatusError('content trust signs one tag at a time: push NAME:TAG rather than --all-tags', 1);
  const name = familiarString({ ...named, tag: undefined });
  const res = await ctx.client().request({
    method: 'POST',
    path: `/images/${name.split('/').map(encodeURIComponent).join('/')}/push`,
    query: { tag },
    headers: authHeader(ctx, named.domain),
  });
  const quiet = f.bool('quiet');
  await renderJSONMessages(res as Readable, quiet ? nullSink() : ctx.stdout, { tty: !quiet && !!ctx.stdout.isTTY });
  if (quiet) await writeOut(ctx.stdout, familiarString({ ...named, tag }) + '\n');
  if (signer) {
    const { signReference } = await import('../trust.js');
    const r = await signReference(ctx, signer.key, normalizedString({ ...named, tag })).catch((e: unknown) => {
      throw e instanceof ApiError ? new StatusError(`pushed, but signing failed: ${e.message}`, 1) : e;
    });
    if (!quiet) await writeOut(ctx.stdout, `Signed ${r.DockerReference}@${r.Digest} with ${signer.file} (${r.Tag})\n`);
  }
  return 0;
}

async function login(ctx: Context, f: ParsedFlags): Promise<number> {
  const server = f.args[0] ?? DOCKER_HUB_SERVER;
  const host = serverKey(server) === DOCKER_HUB_SERVER ? 'docker.io' : serverKey(server);
  let username = f.str('username');
  let password = f.str('password');
  if (password) ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (f.bool('password-stdin')) {
    if (password) throw new StatusError('--password and --password-stdin are mutually exclusive', 1);
    if (!username) throw new StatusError('Must provide --username with --password-stdin', 1);
    const chunks: Buffer[] = [];
    for await (const c of ctx.stdin) chunks.push(c as Buffer);
    password = Buffer.concat(chunks).toString().replace(/\r?\n$/, '');
  }
  if (!username) username = await readLine(ctx, 'Username: ');
  if (!password) {
    if (ctx.stdin.isTTY) ctx.stdin.setRawMode?.(false);
    password = await readLine(ctx, 'Password: ');
  }
  if (!username || !password) throw new StatusError('Error: Cannot perform an interactive login from a non TTY device', 1);
  const auth: AuthConfig = { username, password, serveraddress: serverKey(server) };
  try {
    await ctx.client().json({ method: 'POST', path: '/auth', body: auth });
  } catch (e) {
    if (e instanceof ApiError) throw new StatusError(`Error response from daemon: ${e.message}`, 1);
    throw e;
  }
  storeCredentials(ctx.env, host, auth);
  await writeOut(ctx.stdout, 'Login Succeeded\n');
  return 0;
}

async function logout(ctx: Context, f: ParsedFlags): Promise<number> {
  const server = f.args[0] ?? DOCKER_HUB_SERVER;
  const key = serverKey(server);
  if (!eraseCredentials(ctx.env, key === DOCKER_HUB_SERVER ? 'docker.io' : key)) {
    await writeOut(ctx.stdout, `Not logged in to ${key}\n`);
    return 0;
  }
  await writeOut(ctx.stdout, `Removing login credentials for ${key}\n`);
  return 0;
}

/** `manifest inspect`: the manifest or index as the registry has it, straight from the registry (as docker does). */
async function manifestInspect(ctx: Context, f: ParsedFlags): Promise<number> {
  const named = tagNameOnly(parseRef(f.args[f.args.length - 1]!));
  const client = new RegistryClient({ host: named.domain, auth: getCredentials(ctx.env, named.domain), insecure: f.bool('insecure') ? [named.domain] : [] });
  try {
    const m = await client.getManifest(named.path, named.digest ?? named.tag!);
    const value = JSON.parse(m.body.toString()) as unknown;
    const shown = f.bool('verbose') ? { Ref: normalizedString(named), Descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.body.length }, Raw: m.body.toString('base64'), SchemaV2Manifest: value } : value;
    await writeOut(ctx.stdout, JSON.stringify(shown, null, '\t') + '\n');
  } catch (e) {
    throw new StatusError(`no such manifest: ${normalizedString(named)}: ${(e as Error).message}`, 1);
  }
  return 0;
}

export const commands: Record<string, CommandSpec> = {
  pull: {
    usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
    description: 'Download an image from a registry',
    flags: [
      { name: 'all-tags', short: 'a', type: 'bool', description: 'Download all tagged images in the repository' },
      { name: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
      { name: 'disable-content-trust', type: 'bool', default: true, description: 'Skip image verification' },
    ],
    args: { min: 1, max: 1 },
    run: pull,
  },
  push: {
    usage: '[OPTIONS] NAME[:TAG]',
    description: 'Upload an image to a registry',
    flags: [
      { name: 'all-tags', short: 'a', type: 'bool', description: 'Push all tags of an image to the repository' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
      { name: 'disable-content-trust', type: 'bool', default: true, description: 'Skip image signing' },
    ],
    args: { min: 1, max: 1 },
    run: push,
  },
  login: {
    usage: '[OPTIONS] [SERVER]',
    description: 'Log in to a registry',
    flags: [
      { name: 'username', short: 'u', type: 'string', description: 'Username' },
      { name: 'password', short: 'p', type: 'string', description: 'Password' },
      { name: 'password-stdin', type: 'bool', description: 'Take the password from stdin' },
    ],
    args: { max: 1 },
    run: login,
  },
  logout: { usage: '[SERVER]', description: 'Log out from a registry', flags: [], args: { max: 1 }, run: logout },
  'manifest inspect': {
    usage: '[OPTIONS] [MANIFEST_LIST] MANIFEST',
    description: 'Display an image manifest, or manifest list',
    flags: [
      { name: 'insecure', type: 'bool', description: 'Allow communication with an insecure registry' },
      { name: 'verbose', short: 'v', type: 'bool', description: 'Output additional info including layers and platform' },
    ],
    args: { min: 1, max: 2 },
    run: manifestInspect,
  },
};
