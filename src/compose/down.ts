// `down`: stop and remove a project's containers in reverse dependency order (dependents first), then
// its networks, and on request its images (--rmi) and volumes (-v), as Docker Compose v2 does. The
// project comes from the files or, with only `-p NAME`, from the engine's labels (observed.ts).
import type { ContainerSummary } from '../api/types.js';
import { ApiError } from '../client/errors.js';
import type { ComposeBackend } from './backend.js';
import { inDependencyOrder } from './graph.js';
import { NETWORK, PROJECT, SERVICE } from './labels.js';
import { dependentsOf, removeContainer, resolveProject, runAll, selectServices, withDisabledServices, type Target } from './lifecycle.js';
import type { Progress } from './progress.js';
import type { Project } from './types.js';

export interface DownOptions {
  /** Services named on the command line: they and the services depending on them go. */
  services: string[];
  removeOrphans: boolean;
  /** -t: seconds to wait before killing; undefined = each container's own stop timeout. */
  timeout?: number;
  /** -v: named volumes of the project and anonymous volumes of its containers. */
  volumes: boolean;
  /** --rmi */
  images?: 'local' | 'all';
  dryRun: boolean;
  /** --parallel (0 = unlimited). */
  limit?: number;
}

export interface DownResult {
  /** false: the project had nothing to remove (the CLI warns as Compose does). */
  found: boolean;
}

export async function down(backend: ComposeBackend, target: Target, opts: DownOptions, progress: Progress): Promise<DownResult> {
  // One-off (`run`) containers go only with --remove-orphans, as in Compose v2.
  const containers = await backend.containers(target.name, { all: true, oneoff: opts.removeOrphans ? undefined : false });
  const project = withDisabledServices(await resolveProject(backend, target, containers));
  const services = selectServices(project, opts.services, target.project !== undefined);
  if (opts.services.length && !services.length) {
    progress.info(`Any of the services [${opts.services.join(' ')}] not running in project "${target.name}"`);
    return { found: true };
  }
  const names = services.length ? dependentsOf(project, services) : [];
  const byService = (name: string): ContainerSummary[] => containers.filter((c) => c.Labels[SERVICE] === name);
  await inDependencyOrder(
    project,
    'down',
    (name) => runAll(byService(name), (c) => removeContainer(backend, c, { timeout: opts.timeout, volumes: opts.volumes, dryRun: opts.dryRun }, progress)),
    { names, limit: opts.limit },
  );
  if (opts.removeOrphans) {
    const orphans = containers.filter((c) => !project.services[c.Labels[SERVICE] ?? '']);
    await runAll(orphans, (c) => removeContainer(backend, c, { timeout: opts.timeout, volumes: false, dryRun: opts.dryRun }, progress));
  }
  const removed = await removeResources(backend, project, opts, progress);
  return { found: containers.length > 0 || removed };
}

/** Networks, then on request images and volumes, all at once; true if any of them was there. */
async function removeResources(backend: ComposeBackend, project: Project, opts: DownOptions, progress: Progress): Promise<boolean> {
  const networks = Object.entries(project.networks).filter(([, n]) => !n.external);
  const images = opts.images ? await imagesToRemove(backend, project, opts.images, opts.removeOrphans) : [];
  const volumes = opts.volumes ? Object.values(project.volumes).filter((v) => !v.external) : [];
  const found = await Promise.all([
    ...networks.map(([key, n]) => removeNetwork(backend, project.name, key, n.name, opts.dryRun, progress)),
    ...images.map((ref) => removeImage(backend, ref, opts.dryRun, progress)),
    ...volumes.map((v) => removeVolume(backend, project.name, v.name, opts.dryRun, progress)),
  ]);
  return found.some(Boolean);
}

/** Removes the project's network `key` if the engine has it under the project's labels; true if it was there. */
async function removeNetwork(backend: ComposeBackend, project: string, key: string, name: string, dryRun: boolean, progress: Progress): Promise<boolean> {
  const found = (await backend.networks(project)).filter((n) => n.Labels?.[NETWORK] === key && n.Labels?.[PROJECT] === project && n.Name === name);
  if (!found.length) return false;
  const id = `Network ${name}`;
  progress.event({ id, status: 'Removing', state: 'working' });
  for (const net of found) {
    const inspect = await backend.inspectNetwork(net.Id);
    if (!inspect) continue;
    if (!dryRun && Object.keys(inspect.Containers ?? {}).length > 0) {
      progress.event({ id, status: 'Resource is still in use', state: 'warning' });
      continue;
    }
    try {
      if (!dryRun) await backend.removeNetwork(net.Id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) continue;
      progress.event({ id, status: 'Error', state: 'error', text: errorText(err) });
      throw new Error(`failed to remove network ${name}: ${errorText(err)}`);
    }
    progress.event({ id, status: 'Removed', state: 'done' });
  }
  return true;
}

/** Removes a named volume of the project; one the project did not create (no label of it) is left alone. */
async function removeVolume(backend: ComposeBackend, project: string, name: string, dryRun: boolean, progress: Progress): Promise<boolean> {
  const volume = await backend.inspectVolume(name);
  if (!volume || volume.Labels?.[PROJECT] !== project) return false;
  await removeResource(`Volume ${name}`, progress, () => (dryRun ? Promise.resolve() : backend.removeVolume(name)));
  return true;
}

async function removeImage(backend: ComposeBackend, ref: string, dryRun: boolean, progress: Progress): Promise<boolean> {
  await removeResource(`Image ${ref}`, progress, () => (dryRun ? Promise.resolve() : backend.removeImage(ref)));
  return true;
}

/** Removing → Removed; an engine that says "in use" (409) or "gone" (404) is a warning, not a failure. */
async function removeResource(id: string, progress: Progress, op: () => Promise<void>): Promise<void> {
  progress.event({ id, status: 'Removing', state: 'working' });
  try {
    await op();
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) return progress.event({ id, status: 'Resource is still in use', state: 'warning' });
    if (err instanceof ApiError && err.status === 404) return progress.event({ id, status: 'Warning: No resource found to remove', state: 'done' });
    progress.event({ id, status: 'Error', state: 'error', text: errorText(err) });
    throw err;
  }
  progress.event({ id, status: 'Removed', state: 'done' });
}

/**
 * --rmi: "local" removes the images compose built for the project (labelled with it, or named
 * `<project>-<service>` for a service without `image`); "all" also the images services name.
 */
export async function imagesToRemove(backend: ComposeBackend, project: Project, mode: 'local' | 'all', removeOrphans: boolean): Promise<string[]> {
  const refs: string[] = [];
  const existing = async (candidates: string[]): Promise<string[]> => {
    const found = await Promise.all(candidates.map(async (ref) => ((await backend.inspectImage(ref)) ? ref : undefined)));
    return found.filter((r): r is string => r !== undefined);
  };
  if (mode === 'all') refs.push(...(await existing(Object.values(project.services).flatMap((s) => (s.image ? [s.image] : [])))));
  for (const img of await backend.projectImages(project.name)) {
    const tag = img.RepoTags?.find((t) => t !== '<none>:<none>');
    if (!tag) continue;
    if (removeOrphans || project.services[img.Labels?.[SERVICE] ?? '']) refs.push(tag);
  }
  const unlabelled = Object.entries(project.services).filter(([, s]) => !s.image).map(([name]) => `${project.name}-${name}`);
  refs.push(...(await existing(unlabelled)));
  return [...new Set(refs.map(normaliseRef))];
}

/** `web` and `web:latest` are one image. */
function normaliseRef(ref: string): string {
  const name = ref.slice(ref.lastIndexOf('/') + 1);
  return ref.includes('@') || name.includes(':') ? ref : `${ref}:latest`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
