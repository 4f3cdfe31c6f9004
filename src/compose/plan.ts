// The convergence planner: from the containers observed on the engine (one list by project label)
// and the project model, what each service needs — as Docker Compose v2's reconciler decides it:
//   - a container whose config hash, image, networks or named volumes differ is recreated (or every
//     one with --force-recreate; none with --no-recreate), and so is one sharing the namespace or
//     volumes (network_mode/ipc/pid service:x, volumes_from) of a service being recreated;
//   - an up-to-date running one is kept ("Running"), a stopped one is started later;
//   - the service is scaled to its replicas (--scale, `scale`, `deploy.replicas`, default 1):
//     obsolete and highest-numbered containers go first, new ones take the next free numbers;
//   - containers of services no longer in the file are orphans.
// Pure: no engine calls, so every decision has a unit test (test/unit/compose-plan.test.ts).
import type { ContainerSummary } from '../api/types.js';
import { containerName as summaryName, containerNumber } from './backend.js';
import { containerName } from './convert.js';
import { dependencies } from './graph.js';
import { CONFIG_HASH, IMAGE, ONEOFF, SERVICE } from './labels.js';
import { ComposeError, type Project, type ServiceConfig } from './types.js';

/** diverged: recreate what changed; force: recreate all; never: keep what exists. */
export type RecreatePolicy = 'diverged' | 'force' | 'never';

export type ContainerAction =
  /** A new container, `number` for its name and label. */
  | { kind: 'create'; number: number; name: string }
  /** Replace an existing container; `reasons` say why (shown to the user). */
  | { kind: 'recreate'; container: ContainerSummary; reasons: string[] }
  /** Up to date but not running: started by `up` / `start`. */
  | { kind: 'start'; container: ContainerSummary }
  /** Up to date and running: nothing to do. */
  | { kind: 'keep'; container: ContainerSummary }
  /** Up to date, but a dependency it declares `restart: true` on is recreated: stopped, then started again. */
  | { kind: 'restart'; container: ContainerSummary; dependency: string }
  /** Scale down: stop and remove. */
  | { kind: 'remove'; container: ContainerSummary };

export interface ServicePlan {
  service: string;
  actions: ContainerAction[];
}

export interface PlanInput {
  project: Project;
  /** The services `up` works on (named on the command line, plus their dependencies unless --no-deps). */
  services: string[];
  /** Services named on the command line (all when empty): --force-recreate applies to them. */
  targeted?: string[];
  /** The project's containers (not one-off), as listed by label. */
  observed: ContainerSummary[];
  /** The config hash each service's containers must carry. */
  hashes: Record<string, string>;
  /** The image ID each service must run (undefined: not known, not compared — e.g. --dry-run before a build). */
  imageIds: Record<string, string | undefined>;
  /** Engine names of the networks each service must be connected to (compared for running containers). */
  networks?: Record<string, string[]>;
  /** For targeted services. */
  recreate: RecreatePolicy;
  /** For the dependencies of targeted services (--always-recreate-deps: force). */
  recreateDependencies: RecreatePolicy;
  /** --scale SERVICE=N */
  scale?: Record<string, number>;
}

export interface Plan {
  services: ServicePlan[];
  /** Containers of services that are neither in the file nor disabled by a profile. */
  orphans: ContainerSummary[];
}

/** How many containers a service wants: --scale, then `scale`, then `deploy.replicas`, then 1. */
export function serviceScale(name: string, service: ServiceConfig, overrides: Record<string, number> = {}): number {
  return overrides[name] ?? service.scale ?? service.deploy?.replicas ?? 1;
}

export function planConvergence(input: PlanInput): Plan {
  const { project } = input;
  const byService = new Map<string, ContainerSummary[]>();
  for (const c of input.observed) {
    if (c.Labels[ONEOFF] === 'True') continue;
    const s = c.Labels[SERVICE] ?? '';
    byService.set(s, [...(byService.get(s) ?? []), c]);
  }
  const recreated = new Set<string>();
  const plans = new Map<string, ServicePlan>();
  for (const name of topological(project, input.services)) {
    const service = project.services[name]!;
    const targeted = !input.targeted?.length || input.targeted.includes(name);
    const policy = targeted ? input.recreate : input.recreateDependencies;
    const plan = planService(input, name, service, byService.get(name) ?? [], policy, recreated);
    // depends_on.restart: a running dependent is restarted when its dependency is recreated, as Compose does.
    const restartOn = Object.entries(service.depends_on ?? {}).find(([dep, d]) => d.restart && recreated.has(dep))?.[0];
    if (restartOn) plan.actions = plan.actions.map((a) => (a.kind === 'keep' ? { kind: 'restart', container: a.container, dependency: restartOn } : a));
    if (plan.actions.some((a) => a.kind === 'recreate')) recreated.add(name);
    plans.set(name, plan);
  }
  const known = new Set([...Object.keys(project.services), ...Object.keys(project.disabledServices)]);
  const orphans = input.observed.filter((c) => c.Labels[ONEOFF] !== 'True' && !known.has(c.Labels[SERVICE] ?? ''));
  return { services: input.services.filter((s) => plans.has(s)).map((s) => plans.get(s)!), orphans };
}

function planService(input: PlanInput, name: string, service: ServiceConfig, containers: ContainerSummary[], policy: RecreatePolicy, recreated: Set<string>): ServicePlan {
  const want = serviceScale(name, service, input.scale);
  if (want > 1 && service.container_name) {
    throw new ComposeError(
      `WARNING: The "${name}" service is using the custom container name "${service.container_name}". Docker requires each container to have a unique name. Remove the custom name to scale the service`,
    );
  }
  const parent = sharedParents(service).find((p) => recreated.has(p));
  const reasonsOf = new Map(containers.map((c) => [c.Id, recreateReasons(input, name, c, policy, parent)]));
  // Up-to-date before obsolete, then lowest numbers first: scaling down removes obsolete and high numbers.
  const sorted = [...containers].sort((a, b) => {
    const oa = reasonsOf.get(a.Id)!.length > 0;
    const ob = reasonsOf.get(b.Id)!.length > 0;
    if (oa !== ob) return oa ? 1 : -1;
    return containerNumber(a) - containerNumber(b) || a.Created - b.Created;
  });
  const actions: ContainerAction[] = [];
  sorted.forEach((c, i) => {
    if (i >= want) actions.push({ kind: 'remove', container: c });
    else if (reasonsOf.get(c.Id)!.length) actions.push({ kind: 'recreate', container: c, reasons: reasonsOf.get(c.Id)! });
    else if (c.State === 'running') actions.push({ kind: 'keep', container: c });
    else actions.push({ kind: 'start', container: c });
  });
  let next = Math.max(0, ...containers.map(containerNumber)) + 1;
  for (let i = containers.length; i < want; i++, next++) {
    actions.push({ kind: 'create', number: next, name: containerName(input.project, name, service, next) });
  }
  return { service: name, actions };
}

/** Why a container must be recreated ([] = it is up to date). */
function recreateReasons(input: PlanInput, name: string, c: ContainerSummary, policy: RecreatePolicy, parent: string | undefined): string[] {
  if (policy === 'never') return [];
  if (policy === 'force') return ['--force-recreate'];
  const reasons: string[] = [];
  if (parent) reasons.push(`service ${parent} it shares resources with is recreated`);
  if (c.Labels[CONFIG_HASH] !== input.hashes[name]) reasons.push('configuration changed');
  const wanted = input.imageIds[name];
  const actual = c.ImageID || c.Labels[IMAGE];
  if (wanted && actual !== wanted) reasons.push(`image changed (${short(actual)} → ${short(wanted)})`);
  if (c.State === 'running') {
    const connected = new Set(Object.keys(c.NetworkSettings?.Networks ?? {}));
    const missing = (input.networks?.[name] ?? []).filter((n) => !connected.has(n));
    if (missing.length) reasons.push(`not connected to network ${missing.join(', ')}`);
  }
  const service = input.project.services[name]!;
  const mounted = new Set((c.Mounts ?? []).filter((m) => m.Type === 'volume').map((m) => m.Name));
  for (const v of service.volumes ?? []) {
    if (v.type !== 'volume' || !v.source) continue;
    const volName = input.project.volumes[v.source]?.name;
    if (volName && !mounted.has(volName)) reasons.push(`volume ${volName} not mounted`);
  }
  return reasons;
}

function short(id: string | undefined): string {
  if (!id) return 'none';
  return id.startsWith('sha256:') ? id.slice(0, 19) + '…' : id;
}

/** Services whose namespaces or volumes this one uses: their recreation forces this one's. */
function sharedParents(service: ServiceConfig): string[] {
  const out: string[] = [];
  for (const mode of [service.network_mode, service.ipc, service.pid]) if (mode?.startsWith('service:')) out.push(mode.slice(8));
  for (const v of service.volumes_from ?? []) if (!v.startsWith('container:')) out.push(v.split(':')[0]!);
  return out;
}

/** The selected services, every one after the services it depends on (the graph has no cycles: checked at load). */
export function topological(project: Project, names: string[]): string[] {
  const selected = new Set(names);
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n) || !project.services[n]) return;
    seen.add(n);
    for (const d of dependencies(project.services[n]!).sort()) visit(d);
    if (selected.has(n)) out.push(n);
  };
  for (const n of [...names].sort()) visit(n);
  return out;
}

/** A container's display name, "Container app-web-1" in progress lines. */
export function progressId(c: ContainerSummary | string): string {
  return `Container ${typeof c === 'string' ? c : summaryName(c)}`;
}
