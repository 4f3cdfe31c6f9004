// The images `up`, `create`, `build` and `pull` need, as Docker Compose v2 decides them: a service's
// image is `image:`, or `<project>-<service>` for a `build:` service without one. pull_policy
// (always, never, missing / if_not_present — the default —, build, daily, weekly) or `--pull` says
// when to pull; a `build:` service is built when its image is missing, with --build, or with
// pull_policy build (never with --no-build). Builds go to the engine's POST /build with the build
// context code the CLI's `build` uses; pulls to POST /images/create. Every image is resolved to its ID
// (what the planner compares with the containers' images).
// What only a build or a pull needs is imported when one happens: an unchanged `up` loads none of it.
import type { Readable, Writable } from 'node:stream';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { BUILD_PROGRESS_HEADER } from '../api/build-progress.js';
import { parseJSONMessages } from '../client/jsonmessage.js';
import type { ComposeBackend } from './backend.js';
import * as L from './labels.js';
import { serviceImage } from './convert.js';
import type { Progress } from './progress.js';
import { ComposeError, type BuildConfig, type Project, type ServiceConfig } from './types.js';

/** `--pull`: undefined = each service's pull_policy. */
export type PullFlag = 'always' | 'missing' | 'never' | 'build' | undefined;

export interface ImageOptions {
  pull?: PullFlag;
  /** --build: build every `build:` service before starting. */
  build?: boolean;
  /** --no-build: never build (a missing image is an error). */
  noBuild?: boolean;
  /** --quiet-pull: no pull progress. */
  quietPull?: boolean;
  /** Draws a build's progress (the CLI gives its BuildKit-style renderer). */
  renderBuild?: (res: Readable) => Promise<string | undefined>;
  env: NodeJS.ProcessEnv;
  dryRun?: boolean;
}

type Decision = 'use' | 'pull' | 'build' | 'pull-or-build';

/** What to do for a service's image, given whether the engine has it (and its age, for daily/weekly). */
export function imageDecision(service: ServiceConfig, present: boolean, ageMs: number, opts: Pick<ImageOptions, 'pull' | 'build' | 'noBuild'>): Decision {
  const policy = normalisePolicy(opts.pull ?? service.pull_policy);
  if (service.build && !opts.noBuild) {
    if (opts.build || policy === 'build') return 'build';
    if (policy === 'always') return 'pull-or-build';
    return present ? 'use' : 'build';
  }
  switch (policy) {
    case 'always':
      return 'pull';
    case 'never':
      return 'use';
    case 'daily':
      return present && ageMs < 86_400_000 ? 'use' : 'pull';
    case 'weekly':
      return present && ageMs < 7 * 86_400_000 ? 'use' : 'pull';
    default:
      return present ? 'use' : 'pull';
  }
}

function normalisePolicy(p: string | undefined): string {
  if (!p || p === 'if_not_present' || p === 'missing' || p === 'policy') return 'missing';
  if (['always', 'never', 'build', 'daily', 'weekly'].includes(p)) return p;
  if (/^every_/.test(p)) throw new ComposeError(`pull_policy ${p} is not supported by berth compose: use always, missing, never, build, daily or weekly`);
  throw new ComposeError(`invalid pull_policy "${p}": use always, missing, never, build, daily or weekly`);
}

/**
 * Make sure every named service has its image; returns each one's image ID. Pulls run in parallel,
 * builds one at a time (their output would interleave); every failure is reported by service, and
 * nothing else is done when one fails.
 */
export async function ensureImages(backend: ComposeBackend, project: Project, services: string[], opts: ImageOptions, progress: Progress): Promise<Record<string, string | undefined>> {
  const ids: Record<string, string | undefined> = {};
  const toBuild: string[] = [];
  const failures: string[] = [];
  const pulled = new Map<string, Promise<void>>(); // one pull per reference, shared by services
  // Images a `build:` service of this run makes: another service naming one (`image: app` beside
  // `build: . / image: app`) gets the built image, and a failed pull of it is no failure (as Compose).
  const built = new Set(services.filter((n) => project.services[n]!.build && !opts.noBuild).map((n) => serviceImage(project, n, project.services[n]!)));
  await Promise.all(
    services.map(async (name) => {
      const svc = project.services[name]!;
      const ref = serviceImage(project, name, svc);
      const info = await backend.inspectImage(ref);
      const tagged = info?.Metadata?.LastTagTime && !info.Metadata.LastTagTime.startsWith('0001') ? info.Metadata.LastTagTime : info?.Created;
      const decision = imageDecision(svc, !!info, tagged ? Date.now() - Date.parse(tagged) : Infinity, opts);
      if (decision === 'use') {
        if (!info) failures.push(missingMessage(name, ref, svc, opts));
        ids[name] = info?.Id;
        return;
      }
      if (decision === 'build') return void toBuild.push(name);
      if (!pulled.has(ref)) pulled.set(ref, pull(backend, ref, svc.platform, opts, progress));
      try {
        await pulled.get(ref);
      } catch (err) {
        if (decision === 'pull-or-build') return void toBuild.push(name);
        if (built.has(ref)) return void (ids[name] = info?.Id);
        failures.push(`service "${name}": failed to pull image ${ref}: ${(err as Error).message}`);
        return;
      }
      ids[name] = opts.dryRun ? info?.Id : (await backend.inspectImage(ref))?.Id;
    }),
  );
  if (failures.length) throw new ComposeError(failures.sort().join('\n'));
  const builtIds = new Map<string, string | undefined>();
  for (const name of toBuild.sort()) {
    ids[name] = await buildService(backend, project, name, opts, progress);
    builtIds.set(serviceImage(project, name, project.services[name]!), ids[name]);
  }
  for (const name of services) {
    const ref = serviceImage(project, name, project.services[name]!);
    if (builtIds.has(ref)) ids[name] = builtIds.get(ref);
  }
  return ids;
}

function missingMessage(name: string, ref: string, svc: ServiceConfig, opts: ImageOptions): string {
  if (svc.build && opts.noBuild) return `service "${name}": image ${ref} is not built and --no-build was given: run 'berth compose build ${name}' first`;
  return `service "${name}": no such image: ${ref} (pull_policy is never)`;
}

/** Pull one image, its layers as sub-lines of "Image <ref>"; errors carry the engine's message. */
export async function pull(backend: ComposeBackend, ref: string, platform: string | undefined, opts: Pick<ImageOptions, 'env' | 'quietPull' | 'dryRun'>, progress: Progress): Promise<void> {
  const id = `Image ${ref}`;
  const { familiarString, parseNormalizedNamed } = await import('../image-spec/reference.js');
  const { encodeRegistryAuth, getCredentials } = await import('../client/credentials.js');
  let named;
  try {
    named = parseNormalizedNamed(ref);
  } catch (e) {
    throw new ComposeError(`invalid reference format: ${ref}: ${(e as Error).message}`);
  }
  progress.event({ id, status: 'Pulling', state: 'working' });
  if (opts.dryRun) return void progress.event({ id, status: 'Pulled', state: 'done' });
  try {
    const res = await backend.pullImage(
      familiarString({ ...named, tag: undefined, digest: undefined }),
      named.digest ?? named.tag ?? 'latest',
      { 'X-Registry-Auth': encodeRegistryAuth(getCredentials(opts.env, named.domain)) },
      platform,
    );
    for await (const jm of parseJSONMessages(res as unknown as Readable)) {
      if (jm.error || jm.errorDetail) throw new Error(jm.errorDetail?.message ?? jm.error);
      if (jm.id && !opts.quietPull && jm.id !== named.tag) progress.event({ id: jm.id, parent: id, status: jm.status ?? '', state: /complete|exists/i.test(jm.status ?? '') ? 'done' : 'working' });
    }
  } catch (err) {
    progress.event({ id, status: 'Error', state: 'error', text: (err as Error).message });
    throw err;
  }
  progress.event({ id, status: 'Pulled', state: 'done' });
}

/** Build a service's image, tagged `image:` (or `<project>-<service>`) and `build.tags`; returns its ID. */
export async function buildService(backend: ComposeBackend, project: Project, name: string, opts: ImageOptions, progress: Progress, extra: { noCache?: boolean; pull?: boolean; args?: Record<string, string> } = {}): Promise<string | undefined> {
  const svc = project.services[name]!;
  const build = svc.build;
  if (!build) throw new ComposeError(`service "${name}" has no build section`);
  const ref = serviceImage(project, name, svc);
  const id = `Image ${ref}`;
  progress.event({ id, status: 'Building', state: 'working' });
  if (opts.dryRun) {
    progress.event({ id, status: 'Built', state: 'done' });
    return undefined;
  }
  let imageId: string | undefined;
  try {
    imageId = await withContext(backend, name, build, async (body, headers, dockerfile) => {
      const res = await backend.build(buildQuery(project, name, build, ref, dockerfile, extra), body, { ...headers, [BUILD_PROGRESS_HEADER]: 'vertex' });
      return (opts.renderBuild ?? drain)(res as unknown as Readable);
    });
  } catch (err) {
    progress.event({ id, status: 'Error', state: 'error', text: (err as Error).message });
    throw new ComposeError(`failed to build service "${name}": ${(err as Error).message}`);
  }
  progress.event({ id, status: 'Built', state: 'done' });
  return imageId ?? (await backend.inspectImage(ref))?.Id;
}

function buildQuery(project: Project, service: string, b: BuildConfig, ref: string, dockerfile: string, extra: { noCache?: boolean; pull?: boolean; args?: Record<string, string> }): Record<string, string | string[] | boolean | number | undefined> {
  // An argument without a value takes the project environment's, and is left out when that has none.
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(b.args ?? {})) {
    const val = v ?? project.environment[k];
    if (val !== undefined) args[k] = val;
  }
  Object.assign(args, extra.args);
  const hosts = Object.entries(b.extra_hosts ?? {}).flatMap(([h, ips]) => ips.map((ip) => `${h}:${ip}`));
  return {
    t: [ref, ...(b.tags ?? [])],
    dockerfile,
    buildargs: JSON.stringify(args),
    // Compose v2 labels what it builds, so `down --rmi local -p NAME` finds the project's images without the file.
    labels: JSON.stringify({ ...b.labels, [L.PROJECT]: project.name, [L.SERVICE]: service, [L.VERSION]: L.COMPOSE_VERSION }),
    target: b.target || undefined,
    nocache: extra.noCache || b.no_cache || undefined,
    pull: extra.pull || b.pull || undefined,
    cachefrom: b.cache_from?.length ? JSON.stringify(b.cache_from) : undefined,
    networkmode: b.network || undefined,
    shmsize: b.shm_size || undefined,
    extrahosts: hosts.length ? hosts.join(',') : undefined,
    platform: b.platforms?.[0],
  };
}

/** Refused by name: these need BuildKit features berthd's builder does not have. */
function checkSupported(name: string, b: BuildConfig): void {
  const unsupported: [keyof BuildConfig, boolean][] = [
    ['secrets', !!b.secrets?.length],
    ['ssh', !!b.ssh?.length],
    ['cache_to', !!b.cache_to?.length],
    ['additional_contexts', !!Object.keys(b.additional_contexts ?? {}).length],
    ['platforms', (b.platforms?.length ?? 0) > 1],
    ['privileged', !!b.privileged],
  ];
  for (const [key, used] of unsupported) {
    if (used) throw new Error(`services.${name}.build.${key} is not supported by berth compose`);
  }
}

type Send = (body: Readable, headers: Record<string, string>, dockerfile: string) => Promise<string | undefined>;

/** The build context as the CLI's `build` sends it: a directory (synced with berthd), a git repository, an inline Dockerfile. */
async function withContext(backend: ComposeBackend, name: string, b: BuildConfig, send: Send): Promise<string | undefined> {
  checkSupported(name, b);
  const { cloneGitContext, directoryContext, isGitURL, isURL, packDirectory } = await import('../client/build-context.js');
  let dir = b.context;
  let cleanup = async (): Promise<void> => undefined;
  if (isGitURL(dir)) ({ dir, cleanup } = await cloneGitContext(dir));
  else if (isURL(dir)) throw new Error(`services.${name}.build.context: a URL context (${dir}) is not supported by berth compose: use a directory or a git repository`);
  try {
    if (!(await fs.stat(dir).catch(() => undefined))?.isDirectory()) throw new Error(`build context "${dir}" is not a directory`);
    if (b.dockerfile_inline !== undefined) {
      const extraName = `.dockerfile.inline.${Math.random().toString(16).slice(2, 14)}`;
      return await send(await packDirectory(dir, new Set([extraName]), { name: extraName, data: Buffer.from(b.dockerfile_inline) }), {}, extraName);
    }
    const dfPath = path.resolve(dir, b.dockerfile ?? 'Dockerfile');
    const rel = path.relative(dir, dfPath);
    if (!(await fs.stat(dfPath).catch(() => undefined))) throw new Error(`cannot read the Dockerfile ${dfPath}: no such file`);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      const extraName = `.dockerfile.${Math.random().toString(16).slice(2, 14)}`;
      return await send(await packDirectory(dir, new Set([extraName]), { name: extraName, data: await fs.readFile(dfPath) }), {}, extraName);
    }
    const dockerfile = rel.split(path.sep).join('/');
    const { body, headers } = await directoryContext(backend.client, dir, dockerfile, new Set([dockerfile, '.dockerignore']));
    return await send(body, headers, dockerfile);
  } finally {
    await cleanup();
  }
}

/** Read a build stream without drawing it: its error ends the build; its aux carries the image ID. */
async function drain(res: Readable): Promise<string | undefined> {
  let id: string | undefined;
  for await (const jm of parseJSONMessages(res)) {
    if (jm.error || jm.errorDetail) throw new Error(jm.errorDetail?.message ?? jm.error);
    const aux = jm.aux as { ID?: string } | undefined;
    if (aux?.ID && jm.id === undefined) id = aux.ID;
  }
  return id;
}

/** Push a service's image (and its build.tags). */
export async function pushService(backend: ComposeBackend, project: Project, name: string, opts: Pick<ImageOptions, 'env' | 'dryRun'>, progress: Progress, out?: Writable): Promise<void> {
  const svc = project.services[name]!;
  const refs = [serviceImage(project, name, svc), ...(svc.build?.tags ?? [])];
  const { familiarString, parseNormalizedNamed } = await import('../image-spec/reference.js');
  const { encodeRegistryAuth, getCredentials } = await import('../client/credentials.js');
  for (const ref of refs) {
    const id = `Image ${ref}`;
    const named = parseNormalizedNamed(ref);
    progress.event({ id, status: 'Pushing', state: 'working' });
    if (opts.dryRun) {
      progress.event({ id, status: 'Pushed', state: 'done' });
      continue;
    }
    try {
      const res = await backend.pushImage(familiarString({ ...named, tag: undefined }), named.tag ?? 'latest', { 'X-Registry-Auth': encodeRegistryAuth(getCredentials(opts.env, named.domain)) });
      for await (const jm of parseJSONMessages(res as unknown as Readable)) {
        if (jm.error || jm.errorDetail) throw new Error(jm.errorDetail?.message ?? jm.error);
        if (jm.id && jm.status) progress.event({ id: jm.id, parent: id, status: jm.status, state: /pushed|exists/i.test(jm.status) ? 'done' : 'working' });
        else if (out && jm.status) out.write(`${jm.status}\n`);
      }
    } catch (err) {
      progress.event({ id, status: 'Error', state: 'error', text: (err as Error).message });
      throw new ComposeError(`failed to push ${ref}: ${(err as Error).message}`);
    }
    progress.event({ id, status: 'Pushed', state: 'done' });
  }
}
