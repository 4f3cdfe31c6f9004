// `build`: send a context (a directory minus its .dockerignore — synced, see client/build-context.ts —, a
// tar on stdin, or a Dockerfile alone from stdin) to berthd's /build and render the progress; -f may name a
// Dockerfile outside the context (it is then added to the context under a private name, as the docker CLI does).
import { promises as fs, statSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { cloneGitContext, contextEntries, directoryContext, downloadContext, isGitURL, isURL, packDirectory, tarPaths } from '../../client/build-context.js';
import { buildProgress } from '../build-progress.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import { confirm } from '../prompt.js';
import { filtersJSON, keyValues } from '../filters.js';
import { humanSize } from '../../lib/units.js';
import type { ParsedFlags } from '../flags.js';
import { contentTrustOn } from '../trust-env.js';

async function build(ctx: Context, f: ParsedFlags): Promise<number> {
  let source = f.args[0]!;
  let cleanup = async (): Promise<void> => undefined;
  let remote = false;
  if (isGitURL(source)) {
    // Cloned on this side, as the docker CLI does, then sent like a directory (not synced: it is new each time).
    const cloned = await cloneGitContext(source).catch((e: Error) => {
      throw new StatusError(e.message, 1);
    });
    source = cloned.dir;
    cleanup = cloned.cleanup;
    remote = true;
  }
  try {
    return await buildFrom(ctx, f, source, remote);
  } finally {
    await cleanup();
  }
}

async function buildFrom(ctx: Context, f: ParsedFlags, source: string, remote: boolean): Promise<number> {
  const file = f.str('file');
  let body: Readable;
  let dockerfile = file || 'Dockerfile';
  let contextHeaders: Record<string, string> = {};
  if (source === '-' || isURL(source)) {
    // A tar context (on stdin, or downloaded), or a Dockerfile alone (then the context is empty).
    const chunks: Buffer[] = [];
    if (source === '-') for await (const c of ctx.stdin) chunks.push(c as Buffer);
    else
      chunks.push(
        await downloadContext(source).catch((e: Error) => {
          throw new StatusError(e.message, 1);
        }),
      );
    const data = Buffer.concat(chunks);
    const isTar = data.length > 262 && data.subarray(257, 262).toString() === 'ustar';
    const isGzip = data[0] === 0x1f && data[1] === 0x8b;
    const isZstd = data.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    if (data.subarray(0, 3).toString() === 'BZh' || data.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
      throw new StatusError('unable to prepare context: bzip2 and xz compressed contexts are not supported: send a plain, gzip or zstd tar', 1);
    }
    if (isTar || isGzip || isZstd) body = Readable.from([data]);
    else {
      // tar-stream is loaded only here: importing it costs every build ~15 ms of start-up.
      const pack = (await import('tar-stream')).pack();
      pack.entry({ name: 'Dockerfile', size: data.length, mode: 0o644 }, data);
      pack.finalize();
      body = Readable.from(pack as unknown as AsyncIterable<Buffer>);
      dockerfile = 'Dockerfile';
    }
  } else {
    const st = statOrUndefined(source);
    if (!st?.isDirectory()) throw new StatusError(`unable to prepare context: path "${source}" not found`, 1);
    let extra: { name: string; data: Buffer } | undefined;
    // -f is relative to the working directory, and to the repository for a git context (as docker's).
    const dfPath = file ? (path.isAbsolute(file) ? file : remote ? path.join(source, file) : path.resolve(file)) : path.join(source, 'Dockerfile');
    const rel = path.relative(path.resolve(source), dfPath);
    if (file === '-' || rel.startsWith('..') || path.isAbsolute(rel)) {
      const data = file === '-' ? Buffer.concat(await readAll(ctx.stdin)) : await fs.readFile(dfPath).catch(() => {
        throw new StatusError(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${dfPath}: no such file or directory`, 1);
      });
      dockerfile = `.dockerfile.${Math.random().toString(16).slice(2, 22)}`;
      extra = { name: dockerfile, data };
    } else {
      dockerfile = rel.split(path.sep).join('/');
      if (!statOrUndefined(dfPath)) throw new StatusError(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${dfPath}: no such file or directory`, 1);
    }
    const keep = new Set([dockerfile, '.dockerignore']);
    if (extra) body = await packDirectory(source, keep, extra);
    else if (remote) body = tarPaths(source, (await contextEntries(source, keep)).map((e) => e[0]));
    else ({ body, headers: contextHeaders } = await directoryContext(ctx.client(), source, dockerfile, keep));
  }
  const buildArgs: Record<string, string | null> = {};
  for (const a of f.list('build-arg')) {
    const eq = a.indexOf('=');
    // "--build-arg NAME" takes the value from the environment, as docker does.
    buildArgs[eq < 0 ? a : a.slice(0, eq)] = eq < 0 ? (ctx.env[a] ?? null) : a.slice(eq + 1);
  }
  const labels = keyValues(f.list('label'));
  const secrets: Record<string, string> = {};
  for (const spec of f.list('secret')) {
    const kv = Object.fromEntries(spec.split(',').map((p) => p.split(/=(.*)/s, 2) as [string, string]));
    const id = kv.id;
    if (!id) throw new StatusError(`invalid secret "${spec}": an id is required (id=name,src=file or id=name,env=VAR)`, 1);
    const src = kv.src ?? kv.source;
    let data: Buffer | undefined;
    if (src) data = await fs.readFile(src).catch(() => undefined);
    else if (kv.env ?? (kv.type === 'env' ? id : undefined)) data = ctx.env[kv.env ?? id] !== undefined ? Buffer.from(ctx.env[kv.env ?? id]!) : undefined;
    else data = ctx.env[id] !== undefined ? Buffer.from(ctx.env[id]!) : undefined;
    if (!data) throw new StatusError(`secret ${id}: ${src ? `cannot read ${src}` : `environment variable ${kv.env ?? id} is not set`}`, 1);
    secrets[id] = data.toString('base64');
  }
  const progress = buildProgress(ctx, f);
  const res = await ctx.client().request({
    method: 'POST',
    path: '/build',
    headers: { ...contextHeaders, ...(Object.keys(secrets).length ? { 'X-Berth-Build-Secrets': Buffer.from(JSON.stringify(secrets)).toString('base64') } : {}), ...progress.headers, ...(contentTrustOn(ctx.env) ? (await import('../trust.js')).trustHeader(ctx) : {}) },
    query: {
      t: f.list('tag').length ? f.list('tag') : undefined,
      dockerfile,
      buildargs: JSON.stringify(buildArgs),
      labels: JSON.stringify(labels),
      target: f.str('target') || undefined,
      nocache: f.bool('no-cache') || undefined,
      nocachefilter: f.list('no-cache-filter').length ? JSON.stringify(f.list('no-cache-filter')) : undefined,
      cachefrom: f.list('cache-from').length ? JSON.stringify(f.list('cache-from')) : undefined,
      pull: f.bool('pull') || undefined,
      q: f.bool('quiet') || undefined,
      networkmode: f.str('network') || undefined,
      platform: f.str('platform') || ctx.env.DOCKER_DEFAULT_PLATFORM || undefined,
    },
    input: body,
    contentType: 'application/x-tar',
  });
  let id = '';
  await progress.render(res as Readable, (aux) => (id = String(aux.ID ?? id)));
  if (f.str('iidfile') && id) writeFileSync(f.str('iidfile'), id);
  if ((f.bool('sbom') || f.str('sbom-file')) && id) await (await import('../sbom-output.js')).writeBuildSbom(ctx, id, f.str('sbom-file') || 'sbom.cdx.json');
  return 0;
}

/** A path's stat, or undefined when it cannot be had. Synchronous: a build's few checks before its
 *  context is listed need no trips through libuv's thread pool (each one slow on a busy machine). */
function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

async function readAll(src: AsyncIterable<unknown>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of src) out.push(c as Buffer);
  return out;
}

async function builderPrune(ctx: Context, f: ParsedFlags): Promise<number> {
  const warning = f.bool('all') ? 'WARNING! This will remove all build cache.' : 'WARNING! This will remove all dangling build cache.';
  if (!f.bool('force') && !(await confirm(ctx, warning))) return 0;
  const bytes = (name: string) => (f.has(name) && f.num(name) > 0 ? String(f.num(name)) : undefined);
  const query = {
    all: f.bool('all') || undefined,
    filters: filtersJSON(f.list('filter')),
    'keep-storage': bytes('keep-storage'),
    'reserved-space': bytes('reserved-space'),
    'max-used-space': bytes('max-used-space'),
    'min-free-space': bytes('min-free-space'),
  };
  const res = await ctx.client().json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>({ method: 'POST', path: '/build/prune', query });
  const ids = res.CachesDeleted ?? [];
  const lines = ids.length ? ['Deleted build cache objects:', ...ids, ''] : [];
  lines.push(`Total reclaimed space: ${humanSize(res.SpaceReclaimed, 4)}`);
  await writeOut(ctx.stdout, lines.join('\n') + '\n');
  return 0;
}

export const commands: Record<string, CommandSpec> = {
  'builder prune': {
    usage: '[OPTIONS]',
    description: 'Remove build cache',
    flags: [
      { name: 'all', short: 'a', type: 'bool', description: 'Remove all unused build cache, not just dangling ones' },
      { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
      { name: 'filter', type: 'stringArray', description: 'Provide filter values (e.g. "until=24h")' },
      { name: 'keep-storage', type: 'size', description: 'Amount of disk space to keep for cache' },
      { name: 'reserved-space', type: 'size', description: 'Amount of disk space always allowed to keep for cache' },
      { name: 'max-used-space', type: 'size', description: 'Maximum amount of disk space allowed to keep for cache' },
      { name: 'min-free-space', type: 'size', description: 'Target amount of free disk space after pruning' },
    ],
    args: { max: 0 },
    run: builderPrune,
  },
  build: {
    usage: '[OPTIONS] PATH | URL | -',
    description: 'Build an image from a Dockerfile',
    aliases: ['berth image build', 'berth build', 'berth builder build'],
    flags: [
      { name: 'tag', short: 't', type: 'stringArray', description: "Name and optionally a tag in the 'name:tag' format" },
      { name: 'file', short: 'f', type: 'string', description: "Name of the Dockerfile (Default is 'PATH/Dockerfile')" },
      { name: 'build-arg', type: 'stringArray', description: 'Set build-time variables' },
      { name: 'label', type: 'stringArray', description: 'Set metadata for an image' },
      { name: 'target', type: 'string', description: 'Set the target build stage to build.' },
      { name: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
      { name: 'no-cache-filter', type: 'stringArray', description: 'Do not cache specified stages' },
      { name: 'cache-from', type: 'stringArray', description: 'Images to consider as cache sources' },
      { name: 'secret', type: 'stringArray', description: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")' },
      { name: 'pull', type: 'bool', description: 'Always attempt to pull a newer version of the image' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the build output and print image ID on success' },
      { name: 'iidfile', type: 'string', description: 'Write the image ID to the file' },
      { name: 'sbom', type: 'bool', description: 'Write the SBOM of the built image (CycloneDX 1.5 JSON) to sbom.cdx.json' },
      { name: 'sbom-file', type: 'string', description: 'Write the SBOM of the built image to this file (implies --sbom)' },
      { name: 'progress', type: 'string', default: 'auto', description: 'Set type of progress output (auto, plain, tty)' },
      { name: 'network', type: 'string', default: 'default', description: 'Set the networking mode for the RUN instructions during build' },
      { name: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
      { name: 'rm', type: 'bool', default: true, description: 'Remove intermediate containers after a successful build' },
      { name: 'force-rm', type: 'bool', description: 'Always remove intermediate containers' },
    ],
    args: { min: 1, max: 1 },
    run: build,
  },
};

