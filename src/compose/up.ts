// `up`: images (pull/build), convergence (create.ts), then start in dependency order — each service
// once its depends_on conditions hold (dependencies.ts, on the engine's events) — and with --wait,
// until every container is running or healthy. The events stream is opened before anything starts,
// so no transition is missed and no dependent waits on a poll interval.
import type { ContainerSummary } from '../api/types.js';
import type { ComposeBackend } from './backend.js';
import { checkConvertible } from './convert.js';
import { converge, type ConvergeOptions } from './create.js';
import { ProjectEvents, waitContainer, waitDependencies, type WaitCondition } from './dependencies.js';
import { inDependencyOrder, withDependencies } from './graph.js';
import { ensureImages, type ImageOptions } from './images.js';
import { SERVICE } from './labels.js';
import { injectSecrets } from './secrets.js';
import { progressId } from './plan.js';
import type { Progress } from './progress.js';
import { ComposeError, type Project } from './types.js';

export interface UpOptions extends Omit<ConvergeOptions, 'imageIds' | 'services' | 'targeted'>, Omit<ImageOptions, 'dryRun'> {
  /** Services named on the command line (empty: all). */
  services: string[];
  /** --no-deps: only the named services. */
  noDeps?: boolean;
  /** --no-start / `create`. */
  noStart?: boolean;
  /** --wait, with --wait-timeout in seconds (0: none). */
  wait?: boolean;
  waitTimeout?: number;
  /** Called with the containers after convergence and before any start (foreground `up` attaches there). */
  beforeStart?: (containers: ContainerSummary[]) => Promise<void>;
}

export interface UpResult {
  containers: ContainerSummary[];
}

/** The services `up web` works on: web and (unless --no-deps) what it depends on, transitively. */
export function selectServices(project: Project, names: string[], noDeps = false): string[] {
  for (const n of names) {
    if (!project.services[n]) {
      if (project.disabledServices[n]) throw new ComposeError(`service "${n}" is not enabled by the active profiles`);
      throw new ComposeError(`no such service: ${n}`);
    }
  }
  if (!names.length) return Object.keys(project.services).sort();
  if (noDeps) return [...names];
  return withDependencies(project, names).sort();
}

export async function up(backend: ComposeBackend, project: Project, opts: UpOptions, progress: Progress, warn: (m: string) => void): Promise<UpResult> {
  const services = selectServices(project, opts.services, opts.noDeps);
  // With --no-deps the dependencies are not part of this run: not waited for either (but still not orphans).
  const runProject: Project = opts.noDeps ? { ...project, services: Object.fromEntries(services.map((s) => [s, project.services[s]!])) } : project;
  // Every service converted once before any engine call: a key berth refuses in the last service must
  // not leave the first ones' images built and containers created.
  checkConvertible(project, services, await backend.client.apiVersion());
  // The events stream is needed only to wait (a depends_on condition, or --wait): one request less otherwise.
  // It is opened while the images are looked at, and before anything starts.
  const waits = opts.wait || services.some((s) => Object.values(runProject.services[s]!.depends_on ?? {}).some((d) => d.condition !== 'service_started'));
  const opening = opts.noStart || opts.dryRun || !waits ? undefined : ProjectEvents.open(backend, project.name);
  opening?.catch(() => undefined);
  let imageIds: Record<string, string | undefined>;
  try {
    imageIds = await ensureImages(backend, project, services, { ...opts, dryRun: opts.dryRun }, progress);
  } catch (err) {
    void opening?.then((e) => e.close(), () => undefined);
    throw err;
  }
  const events = await opening;
  try {
    const { containers } = await converge(backend, project, { ...opts, services, targeted: opts.services, imageIds }, progress, warn);
    if (opts.noStart) return { containers };
    await opts.beforeStart?.(containers);
    await startServices(backend, runProject, services, containers, events, progress, warn, opts);
    if (opts.wait && events) await waitProject(backend, runProject, services, containers, events, progress, opts.waitTimeout ?? 0);
    return { containers };
  } finally {
    events?.close();
  }
}

/** Start what is not running, service by service in dependency order, after its dependencies' conditions hold. */
export async function startServices(
  backend: ComposeBackend,
  project: Project,
  services: string[],
  containers: ContainerSummary[],
  events: ProjectEvents | undefined,
  progress: Progress,
  warn: (m: string) => void,
  opts: { parallel?: number; dryRun?: boolean },
): Promise<void> {
  await inDependencyOrder(
    project,
    'up',
    async (name) => {
      if (events) await waitDependencies(backend, events, project, name, containers, progress, warn);
      for (const c of containers.filter((x) => x.Labels[SERVICE] === name && x.State !== 'running')) {
        const id = progressId(c);
        progress.event({ id, status: 'Starting', state: 'working' });
        if (!opts.dryRun) {
          try {
            // Secrets and configs that are copied (not bind-mounted) go in before every start, as Compose does.
            await injectSecrets(backend, c.Id, project, name);
            await backend.startContainer(c.Id);
          } catch (err) {
            progress.event({ id, status: 'Error', state: 'error', text: (err as Error).message });
            throw err;
          }
        }
        c.State = 'running';
        progress.event({ id, status: 'Started', state: 'done' });
      }
    },
    { names: services, limit: opts.parallel },
  );
}

/**
 * `up --wait`: every container running, or healthy when it has a health check; a service other
 * services wait on with service_completed_successfully must have exited 0 instead.
 */
export async function waitProject(
  backend: ComposeBackend,
  project: Project,
  services: string[],
  containers: ContainerSummary[],
  events: ProjectEvents,
  progress: Progress,
  timeoutSeconds: number,
): Promise<void> {
  const completedOnly = new Set(Object.values(project.services).flatMap((s) => Object.entries(s.depends_on ?? {}).filter(([, d]) => d.condition === 'service_completed_successfully').map(([n]) => n)));
  const abort = new AbortController();
  const waits = containers
    .filter((c) => services.includes(c.Labels[SERVICE] ?? ''))
    .map(async (c) => {
      const condition: WaitCondition = completedOnly.has(c.Labels[SERVICE] ?? '') ? 'service_completed_successfully' : 'running_or_healthy';
      const id = progressId(c);
      progress.event({ id, status: 'Waiting', state: 'working' });
      try {
        await waitContainer(backend, events, c, condition, abort.signal);
      } catch (err) {
        if (abort.signal.aborted) throw err;
        progress.event({ id, status: 'Error', state: 'error', text: (err as Error).message });
        throw err;
      }
      progress.event({ id, status: condition === 'service_completed_successfully' ? 'Exited' : 'Healthy', state: 'done' });
    });
  let timer: NodeJS.Timeout | undefined;
  const timeout =
    timeoutSeconds > 0
      ? new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            abort.abort();
            reject(new ComposeError(`application not healthy after ${formatSeconds(timeoutSeconds)}`));
          }, timeoutSeconds * 1000);
        })
      : undefined;
  try {
    await Promise.race([Promise.all(waits), ...(timeout ? [timeout] : [])]);
  } catch (err) {
    abort.abort();
    throw err instanceof ComposeError ? err : new ComposeError((err as Error).message);
  } finally {
    clearTimeout(timer);
  }
}

/** Go's time.Duration formatting for whole seconds: "10s", "2m0s". */
function formatSeconds(s: number): string {
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${s % 60}s` : `${Math.floor(m / 60)}h${m % 60}m${s % 60}s`;
}
