// Waiting for depends_on conditions (service_started, service_healthy, service_completed_successfully)
// and for `up --wait`, driven by the engine's events stream — not by polling — so a dependent starts as
// soon as the engine reports its dependency healthy or exited. One GET /events (filtered to the
// project's containers) is opened before anything starts; each wait registers for its container's
// events first, then inspects it once (it may already be there), then decides on each event.
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { ContainerInspect, ContainerSummary } from '../api/types.js';
import { ApiError } from '../client/errors.js';
import type { ComposeBackend } from './backend.js';
import { containerName } from './backend.js';
import { SERVICE } from './labels.js';
import { progressId } from './plan.js';
import type { Progress } from './progress.js';
import { ComposeError, type Project, type ServiceDependency } from './types.js';

interface EngineEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
}

/** The project's container events, fanned out by container ID. */
export class ProjectEvents {
  private readonly bus = new EventEmitter();
  private closed = false;

  private constructor(private readonly res: IncomingMessage) {
    this.bus.setMaxListeners(0);
    let pending = '';
    res.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line) continue;
        try {
          const e = JSON.parse(line) as EngineEvent;
          this.bus.emit(e.Actor.ID, e);
          this.bus.emit('*', e);
        } catch {
          // Not an event (a proxy's noise): ignored, as the docker CLI does.
        }
      }
    });
    res.on('error', () => undefined);
    res.on('close', () => {
      if (!this.closed) this.bus.emit('lost');
    });
  }

  static async open(backend: ComposeBackend, project: string): Promise<ProjectEvents> {
    return new ProjectEvents(await backend.projectEvents(project));
  }

  /** Events of one container (or every one with '*'); returns the unsubscribe function. */
  on(id: string, fn: (e: EngineEvent) => void): () => void {
    this.bus.on(id, fn);
    return () => this.bus.off(id, fn);
  }

  /** Called when the stream ends before close(): the engine went away. */
  onLost(fn: () => void): () => void {
    this.bus.on('lost', fn);
    return () => this.bus.off('lost', fn);
  }

  close(): void {
    this.closed = true;
    this.res.destroy();
  }
}

/** What to wait for: Compose's conditions, plus `running_or_healthy` for `up --wait`. */
export type WaitCondition = 'service_healthy' | 'service_completed_successfully' | 'running_or_healthy';

type Verdict = { done: true } | { done: false; error?: string };

/** Wait until `c` meets the condition; rejects with the engine-side reason ("container app-db-1 is unhealthy"). */
export function waitContainer(backend: ComposeBackend, events: ProjectEvents, c: ContainerSummary, condition: WaitCondition, signal?: AbortSignal): Promise<void> {
  const name = containerName(c);
  let hasHealthcheck: boolean | undefined;
  return new Promise<void>((resolve, reject) => {
    const settle = (v: Verdict): boolean => {
      if (v.done) resolve();
      else if (v.error !== undefined) reject(new Error(v.error));
      else return false;
      cleanup();
      return true;
    };
    const judge = (e: EngineEvent): void => {
      const action = e.Action;
      if (action === 'die') {
        const code = Number(e.Actor.Attributes.exitCode ?? 0);
        if (condition === 'service_completed_successfully') settle(code === 0 ? { done: true } : { done: false, error: `exit ${code}` });
        else settle({ done: false, error: `container ${name} exited (${code})` });
      } else if (action === 'destroy') settle({ done: false, error: `container ${name} was removed` });
      else if (action === 'health_status: healthy' && condition !== 'service_completed_successfully') settle({ done: true });
      else if (action === 'health_status: unhealthy' && condition !== 'service_completed_successfully') settle({ done: false, error: `container ${name} is unhealthy` });
      else if (action === 'start' && condition === 'running_or_healthy' && hasHealthcheck === false) settle({ done: true });
    };
    // Events that arrive while the inspect is under way are judged after it, in order.
    const early: EngineEvent[] = [];
    let inspected = false;
    const off = events.on(c.Id, (e) => (inspected ? judge(e) : early.push(e)));
    const offLost = events.onLost(() => settle({ done: false, error: 'lost the connection to the engine while waiting for containers' }));
    const abort = (): void => void settle({ done: false, error: 'aborted' });
    signal?.addEventListener('abort', abort);
    const cleanup = (): void => {
      off();
      offLost();
      signal?.removeEventListener('abort', abort);
    };
    backend.inspectContainer(c.Id).then(
      (info) => {
        hasHealthcheck = healthchecked(info);
        if (settle(fromState(info, name, condition))) return;
        inspected = true;
        for (const e of early.splice(0)) judge(e);
      },
      (err: unknown) => settle({ done: false, error: err instanceof ApiError && err.status === 404 ? `container ${name} was removed` : String((err as Error).message) }),
    );
  });
}

function healthchecked(info: ContainerInspect): boolean {
  const test = info.Config.Healthcheck?.Test;
  return !!test?.length && test[0] !== 'NONE';
}

/** The verdict from an inspect, as Compose's isServiceHealthy / isServiceCompleted decide. */
function fromState(info: ContainerInspect, name: string, condition: WaitCondition): Verdict {
  const st = info.State;
  if (condition === 'service_completed_successfully') {
    if (st.Status !== 'exited' && st.Status !== 'dead') return { done: false };
    return st.ExitCode === 0 ? { done: true } : { done: false, error: `exit ${st.ExitCode}` };
  }
  if (st.Status === 'exited' || st.Status === 'dead') return { done: false, error: `container ${name} exited (${st.ExitCode})` };
  if (!healthchecked(info)) {
    if (condition === 'running_or_healthy') return st.Status === 'running' ? { done: true } : { done: false };
    return { done: false, error: `container ${name} has no healthcheck configured` };
  }
  switch (st.Health?.Status) {
    case 'healthy':
      return { done: true };
    case 'unhealthy':
      return { done: false, error: `container ${name} is unhealthy` };
    default:
      return { done: false };
  }
}

/**
 * Before starting `dependant`, wait for its depends_on conditions (service_started needs nothing more:
 * the dependency order already started it). A required dependency that fails ends `up`
 * ("dependency failed to start: container app-db-1 is unhealthy"); an optional one only warns.
 */
export async function waitDependencies(
  backend: ComposeBackend,
  events: ProjectEvents,
  project: Project,
  dependant: string,
  containers: ContainerSummary[],
  progress: Progress,
  warn: (msg: string) => void,
): Promise<void> {
  const deps = project.services[dependant]?.depends_on ?? {};
  await Promise.all(
    Object.entries(deps).map(async ([dep, cfg]: [string, ServiceDependency]) => {
      if (cfg.condition === 'service_started') return;
      const svc = project.services[dep];
      // A dependency left out (--no-deps, a profile) or scaled to 0 is not waited for, as in Compose.
      if (!svc || (svc.scale ?? svc.deploy?.replicas ?? 1) === 0) return;
      const waitingFor = containers.filter((c) => c.Labels[SERVICE] === dep);
      if (!waitingFor.length) {
        if (cfg.required !== false) throw new ComposeError(`${dependant} is missing dependency ${dep}`);
        warn(`${dependant} is missing dependency ${dep}`);
        return;
      }
      await waitForService(backend, events, dep, cfg, waitingFor, progress, warn);
    }),
  );
}

async function waitForService(
  backend: ComposeBackend,
  events: ProjectEvents,
  dep: string,
  cfg: ServiceDependency,
  containers: ContainerSummary[],
  progress: Progress,
  warn: (msg: string) => void,
): Promise<void> {
  const completed = cfg.condition === 'service_completed_successfully';
  for (const c of containers) progress.event({ id: progressId(c), status: 'Waiting', state: 'working' });
  try {
    await Promise.all(containers.map((c) => waitContainer(backend, events, c, cfg.condition as WaitCondition)));
  } catch (err) {
    const reason = (err as Error).message;
    const message = completed ? `service "${dep}" didn't complete successfully: ${reason}` : `dependency failed to start: ${reason}`;
    if (cfg.required === false) {
      const text = completed ? `optional dependency ${message.slice('service '.length)}` : `optional dependency "${dep}" failed to start: ${reason}`;
      for (const c of containers) progress.event({ id: progressId(c), status: 'Skipped', state: 'warning', text });
      warn(text);
      return;
    }
    for (const c of containers) progress.event({ id: progressId(c), status: 'Error', state: 'error', text: completed ? `service "${dep}" didn't complete successfully: ${reason}` : `dependency ${dep} failed to start` });
    throw new ComposeError(message);
  }
  for (const c of containers) progress.event({ id: progressId(c), status: completed ? 'Exited' : 'Healthy', state: 'done' });
}
