// The dependency planner: services as a graph of depends_on edges (links, volumes_from and
// network_mode: service:x count as dependencies too, as in Compose). Work runs in dependency order
// (a service after everything it depends on) or in reverse (stop/down: dependents first), independent
// services concurrently up to a limit (--parallel, COMPOSE_PARALLEL_LIMIT).
import { ComposeError, type Project, type ServiceConfig } from './types.js';

/** The services a service depends on, by every relation Compose counts. */
export function dependencies(service: ServiceConfig): string[] {
  const deps = new Set(Object.keys(service.depends_on ?? {}));
  for (const link of service.links ?? []) deps.add(link.split(':')[0]!);
  for (const from of service.volumes_from ?? []) {
    if (!from.startsWith('container:')) deps.add(from.split(':')[0]!);
  }
  const mode = service.network_mode ?? '';
  if (mode.startsWith('service:')) deps.add(mode.slice('service:'.length));
  return [...deps];
}

/** `names` and everything they depend on, transitively (what `up web` or `start web` works on). */
export function withDependencies(project: Project, names: string[]): string[] {
  const out = new Set<string>();
  const visit = (n: string): void => {
    if (out.has(n) || !project.services[n]) return;
    out.add(n);
    for (const d of dependencies(project.services[n]!)) visit(d);
  };
  names.forEach(visit);
  return [...out];
}

/** Throws `dependency cycle detected: a -> b -> a` as Compose does. */
export function checkCycles(services: Record<string, ServiceConfig>): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      throw new ComposeError(`dependency cycle detected: ${cycle.join(' -> ')}`);
    }
    state.set(name, 'visiting');
    const svc = services[name];
    for (const dep of svc ? dependencies(svc) : []) if (services[dep]) visit(dep, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of Object.keys(services).sort()) visit(name, []);
}

export type Direction = 'up' | 'down';

/**
 * Run `fn` for each named service (all when `names` is empty), in dependency order ('up') or reverse
 * ('down'), with at most `limit` running at once (0 = no limit). Services outside `names` are not
 * visited, but ordering among the visited ones still follows the whole graph. The first error stops
 * new work from starting; it is thrown once the running work has settled.
 */
export async function inDependencyOrder(
  project: Project,
  direction: Direction,
  fn: (name: string, service: ServiceConfig) => Promise<void>,
  opts: { names?: string[]; limit?: number } = {},
): Promise<void> {
  const services = project.services;
  const selected = new Set(opts.names?.length ? opts.names : Object.keys(services));
  // edges[a] = services that must finish before a starts
  const before = new Map<string, Set<string>>();
  for (const name of Object.keys(services)) before.set(name, new Set());
  for (const [name, svc] of Object.entries(services)) {
    for (const dep of dependencies(svc)) {
      if (!services[dep]) continue;
      if (direction === 'up') before.get(name)!.add(dep);
      else before.get(dep)!.add(name);
    }
  }
  const done = new Set<string>();
  const started = new Set<string>();
  let running = 0;
  let failure: unknown;
  const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      if (failure === undefined) {
        for (const name of Object.keys(services).sort()) {
          if (running >= limit) break;
          if (started.has(name)) continue;
          if (![...before.get(name)!].every((d) => done.has(d))) continue;
          started.add(name);
          if (!selected.has(name)) {
            done.add(name);
            return pump();
          }
          running++;
          fn(name, services[name]!).then(
            () => {
              running--;
              done.add(name);
              pump();
            },
            (err: unknown) => {
              running--;
              failure ??= err;
              pump();
            },
          );
        }
      }
      if (running === 0) resolve();
    };
    pump();
  });
  if (failure !== undefined) throw failure;
}

/** The parallelism limit: --parallel, else COMPOSE_PARALLEL_LIMIT, else unlimited (0). */
export function parallelLimit(flag: number | undefined, env: NodeJS.ProcessEnv): number {
  if (flag !== undefined && flag !== 0) return flag < 0 ? 0 : flag;
  const n = Number(env.COMPOSE_PARALLEL_LIMIT ?? '');
  return Number.isInteger(n) && n > 0 ? n : 0;
}
