// The commands that move a project's existing containers between states, as Docker Compose v2 has
// them: stop (dependents first), start (dependencies first, waiting for their conditions), restart,
// kill, rm, pause and unpause. Each works from the compose file or, with only `-p NAME`, from the
// engine's labels (observed.ts); each reports through progress events ("Container x  Stopping").
// With --dry-run nothing is changed: the same events are reported, no mutating call is made.
import type { ContainerSummary } from '../api/types.js';
import { ApiError } from '../client/errors.js';
import { containerName, type ComposeBackend } from './backend.js';
import { dependencies, inDependencyOrder, withDependencies } from './graph.js';
import { ONEOFF, SERVICE } from './labels.js';
import { ProjectEvents, waitDependencies } from './dependencies.js';
import { observedProject } from './observed.js';
import type { Progress } from './progress.js';
import { ComposeError, type Project } from './types.js';

/** What a command works on: the project from the files, or only its name (then read from labels). */
export interface Target {
  name: string;
  project?: Project;
}

export interface CommonOptions {
  /** Services named on the command line (empty = all). */
  services: string[];
  dryRun: boolean;
  /** --parallel (0 = unlimited). */
  limit?: number;
}

/** The project from the files, else as the engine's labels show it. */
export async function resolveProject(backend: ComposeBackend, target: Target, containers: ContainerSummary[]): Promise<Project> {
  return target.project ?? observedProject(backend, target.name, containers);
}

/** Services left out by profiles still have containers to stop and remove. */
export function withDisabledServices(project: Project): Project {
  return { ...project, services: { ...project.disabledServices, ...project.services } };
}

/**
 * The named services that exist. With a file an unknown name is an error (a typo); from labels alone
 * it is skipped, as a service whose containers are already gone cannot be told from a typo.
 */
export function selectServices(project: Project, names: string[], fromFile: boolean): string[] {
  const known = names.filter((n) => project.services[n] || project.disabledServices[n]);
  const unknown = names.find((n) => !known.includes(n));
  if (unknown !== undefined && fromFile) throw new ComposeError(`no such service: ${unknown}`);
  return known;
}

/** `names` and every service that depends on them, directly or not (what `down web` takes down with web). */
export function dependentsOf(project: Project, names: string[], only?: (dependent: string, dependency: string) => boolean): string[] {
  const out = new Set(names);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, svc] of Object.entries(project.services)) {
      if (out.has(name)) continue;
      if (dependencies(svc).some((d) => out.has(d) && (!only || only(name, d)))) {
        out.add(name);
        grew = true;
      }
    }
  }
  return [...out];
}

/** Run `fn` on every item at once; once all have settled, throw the first failure. */
export async function runAll<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(items.map(fn));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export function containerEvent(c: ContainerSummary): string {
  return `Container ${containerName(c)}`;
}

const byService = (containers: ContainerSummary[], name: string): ContainerSummary[] => containers.filter((c) => c.Labels[SERVICE] === name);
const notOneOff = (c: ContainerSummary): boolean => c.Labels[ONEOFF] !== 'True';

// ---- stop ----

export async function stopContainer(backend: ComposeBackend, c: ContainerSummary, timeout: number | undefined, dryRun: boolean, progress: Progress): Promise<void> {
  const id = containerEvent(c);
  progress.event({ id, status: 'Stopping', state: 'working' });
  try {
    if (!dryRun) await backend.stopContainer(c.Id, timeout);
  } catch (err) {
    progress.event({ id, status: 'Error while Stopping', state: 'error' });
    throw err;
  }
  progress.event({ id, status: 'Stopped', state: 'done' });
}

/** down's step for one container: stop it, then remove it (with its anonymous volumes on -v). */
export async function removeContainer(
  backend: ComposeBackend,
  c: ContainerSummary,
  opts: { timeout?: number; volumes: boolean; dryRun: boolean },
  progress: Progress,
): Promise<void> {
  const id = containerEvent(c);
  try {
    await stopContainer(backend, c, opts.timeout, opts.dryRun, progress);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    return progress.event({ id, status: 'Removed', state: 'done' });
  }
  progress.event({ id, status: 'Removing', state: 'working' });
  try {
    if (!opts.dryRun) await backend.removeContainer(c.Id, { force: true, volumes: opts.volumes });
  } catch (err) {
    // Gone already (auto-remove), or being removed by the engine: the end is the same.
    if (!(err instanceof ApiError && (err.status === 404 || err.status === 409))) {
      progress.event({ id, status: 'Error while Removing', state: 'error' });
      throw err;
    }
  }
  progress.event({ id, status: 'Removed', state: 'done' });
}

export interface StopOptions extends CommonOptions {
  timeout?: number;
}

/** Stops the named services' containers (all when none are named), dependents first. */
export async function stop(backend: ComposeBackend, target: Target, opts: StopOptions, progress: Progress): Promise<void> {
  const containers = (await backend.containers(target.name, { all: true, oneoff: false })).filter(notOneOff);
  const project = withDisabledServices(await resolveProject(backend, target, containers));
  const names = selectServices(project, opts.services, target.project !== undefined);
  if (opts.services.length && !names.length) return;
  await inDependencyOrder(
    project,
    'down',
    (name) => runAll(byService(containers, name), (c) => stopContainer(backend, c, opts.timeout, opts.dryRun, progress)),
    { names, limit: opts.limit },
  );
}

// ---- start ----

/**
 * Starts the named services' stopped containers (all when none are named) and the services they depend
 * on, dependencies first; a service waits for its dependencies' conditions (healthy, exited 0), told
 * by the engine's events stream as `up` does.
 */
export async function start(backend: ComposeBackend, target: Target, opts: CommonOptions & { warn: (m: string) => void }, progress: Progress): Promise<void> {
  const containers = await backend.containers(target.name, { all: true, oneoff: false });
  if (!target.project && !containers.length) throw new ComposeError(`no container found for project "${target.name}": not found`);
  const project = await resolveProject(backend, target, containers);
  if (target.project) selectServices(project, opts.services, true);
  else for (const s of opts.services) if (!project.services[s]) throw new ComposeError(`no such service: "${s}": not found`);
  const names = opts.services.length ? withDependencies(project, opts.services) : [];
  const waits = Object.values(project.services).some((s) => Object.values(s.depends_on ?? {}).some((d) => d.condition !== 'service_started'));
  const events = waits && !opts.dryRun ? await ProjectEvents.open(backend, target.name) : undefined;
  try {
    await inDependencyOrder(
      project,
      'up',
      async (name) => {
        if (!containers.length) throw new ComposeError(`service "${name}" has no container to start`);
        if (events) await waitDependencies(backend, events, project, name, containers, progress, opts.warn);
        for (const c of byService(containers, name)) {
          if (c.State === 'running') continue;
          const id = containerEvent(c);
          progress.event({ id, status: 'Starting', state: 'working' });
          if (!opts.dryRun) await backend.startContainer(c.Id);
          progress.event({ id, status: 'Started', state: 'done' });
        }
      },
      { names, limit: opts.limit },
    );
  } finally {
    events?.close();
  }
}

// ---- restart ----

export interface RestartOptions extends StopOptions {
  /** --no-deps: not the services that depend on the named ones. */
  noDeps: boolean;
}

/**
 * Restarts the named services' containers (all when none are named), dependencies first. A service
 * whose depends_on has `restart: true` on a restarted one is restarted with it (unless --no-deps).
 */
export async function restart(backend: ComposeBackend, target: Target, opts: RestartOptions, progress: Progress): Promise<void> {
  const containers = await backend.containers(target.name, { all: true, oneoff: false });
  const project = await resolveProject(backend, target, containers);
  let names = selectServices(project, opts.services, target.project !== undefined);
  if (opts.services.length && !names.length) return;
  if (names.length && !opts.noDeps) {
    names = dependentsOf(project, names, (dependent, dep) => project.services[dependent]?.depends_on?.[dep]?.restart === true);
  }
  await inDependencyOrder(
    project,
    'up',
    (name) =>
      runAll(byService(containers, name), async (c) => {
        const id = containerEvent(c);
        progress.event({ id, status: 'Restarting', state: 'working' });
        if (!opts.dryRun) await backend.restartContainer(c.Id, opts.timeout);
        progress.event({ id, status: 'Started', state: 'done' });
      }),
    { names, limit: opts.limit },
  );
}

// ---- kill ----

export interface KillOptions extends CommonOptions {
  signal: string;
  removeOrphans: boolean;
}

/** Sends a signal to the running containers of the named services; false when there was none. */
export async function kill(backend: ComposeBackend, target: Target, opts: KillOptions, progress: Progress): Promise<boolean> {
  let containers = await backend.containers(target.name, { services: opts.services });
  const project = withDisabledServices(await resolveProject(backend, target, containers));
  if (target.project) selectServices(project, opts.services, true);
  if (!opts.removeOrphans) containers = containers.filter((c) => project.services[c.Labels[SERVICE] ?? '']);
  if (!containers.length) return false;
  await runAll(containers, async (c) => {
    const id = containerEvent(c);
    progress.event({ id, status: 'Killing', state: 'working' });
    try {
      if (!opts.dryRun) await backend.killContainer(c.Id, opts.signal);
    } catch (err) {
      progress.event({ id, status: 'Error while Killing', state: 'error' });
      throw err;
    }
    progress.event({ id, status: 'Killed', state: 'done' });
  });
  return true;
}

// ---- rm ----

/** The named services' containers that are not running (what `rm` removes). */
export async function stoppedContainers(backend: ComposeBackend, target: Target, opts: CommonOptions & { stopFirst: boolean }): Promise<ContainerSummary[]> {
  let containers = await backend.containers(target.name, { all: true, oneoff: false, services: opts.services });
  if (target.project) {
    const project = withDisabledServices(target.project);
    selectServices(project, opts.services, true);
    containers = containers.filter((c) => project.services[c.Labels[SERVICE] ?? '']);
  }
  const out: ContainerSummary[] = [];
  for (const c of containers) {
    // The list's state can be stale (a container stopping right now): ask the container itself.
    const inspect = await backend.inspectContainer(c.Id).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    });
    if (inspect && (!inspect.State.Running || (opts.stopFirst && opts.dryRun))) out.push(c);
  }
  return out;
}

export async function removeContainers(backend: ComposeBackend, containers: ContainerSummary[], opts: { volumes: boolean; force: boolean; dryRun: boolean }, progress: Progress): Promise<void> {
  await runAll(containers, async (c) => {
    const id = containerEvent(c);
    progress.event({ id, status: 'Removing', state: 'working' });
    if (!opts.dryRun) await backend.removeContainer(c.Id, { volumes: opts.volumes, force: opts.force });
    progress.event({ id, status: 'Removed', state: 'done' });
  });
}

// ---- pause / unpause ----

/** Pauses the running containers of the named services (or unpauses the paused ones). */
export async function pause(backend: ComposeBackend, target: Target, opts: CommonOptions & { unpause: boolean }, progress: Progress): Promise<void> {
  // Only those it applies to: the engine refuses to pause a paused container or unpause a running one.
  const from = opts.unpause ? 'paused' : 'running';
  let containers = (await backend.containers(target.name, { services: opts.services })).filter((c) => notOneOff(c) && c.State === from);
  if (target.project) {
    const project = withDisabledServices(target.project);
    selectServices(project, opts.services, true);
    containers = containers.filter((c) => project.services[c.Labels[SERVICE] ?? '']);
  }
  await runAll(containers, async (c) => {
    if (!opts.dryRun) await (opts.unpause ? backend.unpauseContainer(c.Id) : backend.pauseContainer(c.Id));
    progress.event({ id: containerEvent(c), status: opts.unpause ? 'Unpaused' : 'Paused', state: 'done' });
  });
}
