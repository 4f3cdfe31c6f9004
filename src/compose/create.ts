// Convergence: bring the engine to the project model, as Docker Compose v2's `create` does (and `up`
// before it starts anything). One container list by project label is the whole observation; the
// planner (plan.ts) decides per service; this module carries the plan out:
//   - orphans (services no longer in the file) warned about, or removed with --remove-orphans;
//   - networks and volumes ensured (created with Compose's labels; one that exists without them is
//     used with Compose's warning; external ones must exist);
//   - per service, in dependency order (independent services in parallel): scale down, recreate
//     (new container under a temporary name, old one stopped and removed, new one renamed — its
//     anonymous volumes carried over unless -V), create, or keep.
// Nothing is inspected for an up-to-date container: an unchanged `up` costs one list.
import type { ContainerCreateRequest, ContainerSummary, EndpointSettings, Mount, NetworkInspect, Volume } from '../api/types.js';
import { ApiError } from '../client/errors.js';
import type { ComposeBackend } from './backend.js';
import { containerName as summaryName } from './backend.js';
import { containerCreateRequest, networkConnects, networkCreateRequest, volumeCreateRequest } from './convert.js';
import { inDependencyOrder } from './graph.js';
import { serviceConfigHash } from './hash.js';
import { NETWORK, ONEOFF, PROJECT, SERVICE, VOLUME } from './labels.js';
import { recreateReasons } from './recreate.js';
import { hasRollingUpdate, rollingUpdate } from './rolling.js';
import { containerName } from './convert.js';
import { planConvergence, progressId, type ContainerAction, type Plan, type RecreatePolicy } from './plan.js';
import type { Progress } from './progress.js';
import { ComposeError, type Project, type ServiceConfig } from './types.js';

export interface ConvergeOptions {
  /** Services to converge (named ones and their dependencies). */
  services: string[];
  /** Services named on the command line (empty: all). */
  targeted: string[];
  recreate: RecreatePolicy;
  recreateDependencies: RecreatePolicy;
  scale?: Record<string, number>;
  removeOrphans?: boolean;
  /** COMPOSE_IGNORE_ORPHANS */
  ignoreOrphans?: boolean;
  /** -V: new anonymous volumes for recreated containers. */
  renewAnonVolumes?: boolean;
  /** -t: seconds given to stop a container being replaced or removed. */
  timeout?: number;
  /** --parallel limit (0: none). */
  parallel?: number;
  dryRun?: boolean;
  /** Each service's image ID (images.ts). */
  imageIds: Record<string, string | undefined>;
}

export interface ConvergeResult {
  /** The services' containers after convergence (new ones as created: State "created"). */
  containers: ContainerSummary[];
  /** Names of the containers this run created (reported when a later step fails). */
  created: string[];
}

export async function converge(backend: ComposeBackend, project: Project, opts: ConvergeOptions, progress: Progress, warn: (m: string) => void): Promise<ConvergeResult> {
  // The three lists go out at once: an unchanged `up` is these round trips and nothing more.
  const listed = { networks: backend.networks(project.name), volumes: backend.volumes(project.name) };
  listed.networks.catch(() => undefined);
  listed.volumes.catch(() => undefined);
  const observed = await backend.containers(project.name, { all: true, oneoff: false });
  // As Compose: the expected hash has service:x references resolved to the containers observed now.
  const observedFirst = firstContainers(observed);
  const hashes = Object.fromEntries(opts.services.map((s) => [s, serviceConfigHash(project.services[s]!, { serviceContainer: observedFirst })]));
  const networks = Object.fromEntries(opts.services.map((s) => [s, serviceNetworks(project, project.services[s]!)]));
  const plan = planConvergence({ project, services: opts.services, targeted: opts.targeted, observed, hashes, imageIds: opts.imageIds, networks, recreate: opts.recreate, recreateDependencies: opts.recreateDependencies, scale: opts.scale });
  await handleOrphans(backend, plan, opts, progress, warn);
  await Promise.all([
    ensureNetworks(backend, project, opts.services, progress, warn, opts.dryRun, listed.networks),
    ensureVolumes(backend, project, opts.services, progress, warn, opts.dryRun, listed.volumes),
  ]);

  const current = new Map<string, ContainerSummary[]>();
  const created: string[] = [];
  const apiVersion = await backend.client.apiVersion();
  const byService = new Map(plan.services.map((p) => [p.service, p.actions]));
  await inDependencyOrder(
    project,
    'up',
    async (name, service) => {
      const ctx: ApplyContext = { backend, project, name, service, opts, progress, current, created, apiVersion, observed };
      current.set(name, await applyActions(ctx, byService.get(name) ?? []));
    },
    { names: opts.services, limit: opts.parallel },
  ).catch((err: unknown) => {
    if (created.length) warn(`containers created before the failure are left as they are: ${created.join(', ')} ('berth compose down' removes them)`);
    throw err;
  });
  return { containers: opts.services.flatMap((s) => current.get(s) ?? []), created };
}

interface ApplyContext {
  backend: ComposeBackend;
  project: Project;
  name: string;
  service: ServiceConfig;
  opts: ConvergeOptions;
  apiVersion: string;
  /** The project's containers as listed before converging (services outside this run, --no-deps). */
  observed: ContainerSummary[];
  progress: Progress;
  /** Containers of the services converged so far (service:x references resolve to them). */
  current: Map<string, ContainerSummary[]>;
  created: string[];
}

async function applyActions(ctx: ApplyContext, actions: ContainerAction[]): Promise<ContainerSummary[]> {
  const { backend, progress, opts } = ctx;
  const out: ContainerSummary[] = [];
  // Scale down first (it frees names and ports), then the rest in parallel.
  for (const a of actions) {
    if (a.kind === 'remove') await stopAndRemove(backend, a.container, progress, opts);
  }
  // A service with deploy.update_config has its diverged replicas replaced as a rolling update (rolling.ts).
  const rolling = !opts.dryRun && hasRollingUpdate(ctx.project, ctx.name) ? actions.filter((a): a is Extract<ContainerAction, { kind: 'recreate' }> => a.kind === 'recreate') : [];
  if (rolling.length) out.push(...(await rollingRecreate(ctx, rolling)));
  await Promise.all(
    actions.map(async (a) => {
      if (a.kind === 'recreate' && rolling.length) return;
      switch (a.kind) {
        case 'keep':
          progress.event({ id: progressId(a.container), status: 'Running', state: 'done' });
          out.push(a.container);
          return;
        case 'restart': {
          const id = progressId(a.container);
          progress.event({ id, status: 'Stopping', state: 'working', text: `dependency ${a.dependency} recreated` });
          if (!opts.dryRun) await ignoreMissing(backend.stopContainer(a.container.Id, opts.timeout));
          progress.event({ id, status: 'Stopped', state: 'done', text: `dependency ${a.dependency} recreated` });
          out.push({ ...a.container, State: 'exited' });
          return;
        }
        case 'start':
          // Compose shows an up-to-date stopped container as "Created"; `up` starts it next.
          progress.event({ id: progressId(a.container), status: 'Created', state: 'done' });
          out.push(a.container);
          return;
        case 'create': {
          const id = progressId(a.name);
          progress.event({ id, status: 'Creating', state: 'working' });
          out.push(await createContainer(ctx, a.name, a.number, undefined, id));
          progress.event({ id, status: 'Created', state: 'done' });
          return;
        }
        case 'recreate':
          out.push(await recreate(ctx, a.container, a.reasons));
          return;
        case 'remove':
          return;
      }
    }),
  );
  return out.sort((a, b) => Number(a.Labels['com.docker.compose.container-number']) - Number(b.Labels['com.docker.compose.container-number']));
}

/** The rolling update of a service's diverged replicas: new containers created here, started and swapped by rolling.ts. */
async function rollingRecreate(ctx: ApplyContext, recreations: { container: ContainerSummary; reasons: string[] }[]): Promise<ContainerSummary[]> {
  const olds = recreations.map((r) => r.container);
  for (const r of recreations) ctx.progress.event({ id: progressId(r.container), status: 'Recreate', state: 'working', text: (await explain(ctx, r.container, r.reasons)).join(', ') });
  const made = new Map<string, ContainerSummary>();
  await rollingUpdate(
    ctx.backend,
    ctx.project,
    ctx.name,
    olds,
    async (number, name) => {
      const inherit = ctx.opts.renewAnonVolumes ? undefined : olds.find((o) => Number(o.Labels['com.docker.compose.container-number']) === number);
      const c = await createContainer(ctx, name, number, inherit, progressId(name));
      made.set(c.Id, c);
      return c.Id;
    },
    ctx.progress,
    { stopTimeout: ctx.opts.timeout },
  ).catch((err: unknown) => {
    // A failed update removed its new containers itself (rollback) or renamed those it kept (pause):
    // none of their interim names is left behind to report.
    const interim = new Set([...made.values()].map((c) => summaryName(c)));
    ctx.created.splice(0, ctx.created.length, ...ctx.created.filter((n) => !interim.has(n)));
    throw err;
  });
  // What the update kept: the new containers, running, under their standard names.
  const current = await ctx.backend.containers(ctx.project.name, { all: true, oneoff: false, services: [ctx.name] });
  return current.filter((c) => made.has(c.Id)).map((c) => ({ ...c, Names: [`/${containerName(ctx.project, ctx.name, ctx.service, Number(c.Labels['com.docker.compose.container-number']) || 1)}`] }));
}

async function recreate(ctx: ApplyContext, old: ContainerSummary, planned: string[]): Promise<ContainerSummary> {
  const { backend, opts, progress } = ctx;
  const name = summaryName(old);
  const id = progressId(name);
  const reasons = await explain(ctx, old, planned);
  progress.event({ id, status: 'Recreate', state: 'working', text: reasons.join(', ') });
  const number = Number(old.Labels['com.docker.compose.container-number']) || 1;
  // As Compose: the new container first (under "<old id>_<name>"), then the old one goes, then the rename.
  const fresh = await createContainer(ctx, `${old.Id.slice(0, 12)}_${name}`, number, opts.renewAnonVolumes ? undefined : old, id);
  if (!opts.dryRun) {
    await ignoreMissing(backend.stopContainer(old.Id, opts.timeout));
    await ignoreMissing(backend.removeContainer(old.Id, { force: true }));
    await backend.renameContainer(fresh.Id, name);
  }
  progress.event({ id, status: 'Recreated', state: 'done', text: reasons.join(', ') });
  return { ...fresh, Names: [`/${name}`] };
}

/** The first container of each service converged so far: what `service:x` references name. */
function lookup(ctx: ApplyContext): (service: string) => string {
  return (svc) => {
    const c = ctx.current.get(svc)?.[0] ?? ctx.observed.find((o) => o.Labels[SERVICE] === svc && o.Labels[ONEOFF] !== 'True');
    if (!c) throw new ComposeError(`service "${ctx.name}" refers to service ${svc}, which has no container`);
    return c.Id;
  };
}

/** The create request for container `number` of the service, as it is now. */
function request(ctx: ApplyContext, number: number): { req: ContainerCreateRequest; connects: ReturnType<typeof networkConnects> } {
  const serviceContainer = lookup(ctx);
  const configHash = serviceConfigHash(ctx.service, { serviceContainer });
  // links name containers (as Compose does): the engine resolves a link's alias through the target's name.
  const serviceContainers = (svc: string) => (ctx.current.get(svc) ?? []).map(summaryName);
  const copts = { number, configHash, imageId: ctx.opts.imageIds[ctx.name], serviceContainer, serviceContainers, apiVersion: ctx.apiVersion };
  return { req: containerCreateRequest(ctx.project, ctx.name, ctx.service, copts), connects: networkConnects(ctx.project, ctx.name, ctx.service, copts) };
}

/** Why a diverged container is recreated, key by key (recreate.ts), beyond the planner's own reasons. */
async function explain(ctx: ApplyContext, old: ContainerSummary, planned: string[]): Promise<string[]> {
  if (!planned.includes('configuration changed') || ctx.opts.dryRun) return planned;
  try {
    const { req, connects } = request(ctx, Number(old.Labels['com.docker.compose.container-number']) || 1);
    const actual = await ctx.backend.inspectContainer(old.Id);
    const image = await ctx.backend.inspectImage(actual.Image);
    const detailed = recreateReasons({ desired: req, connects, actual, actualImage: image?.Config });
    if (!detailed.length) return planned;
    const hasImage = detailed.some((r) => r.startsWith('image changed'));
    return [...detailed, ...planned.filter((r) => r !== 'configuration changed' && !(hasImage && r.startsWith('image changed')))];
  } catch {
    return planned; // the reasons explain; failing to work them out must not stop the recreate
  }
}

/** Create one container; `inherit`: the container it replaces (its anonymous volumes are kept). */
async function createContainer(ctx: ApplyContext, name: string, number: number, inherit: ContainerSummary | undefined, progressName: string): Promise<ContainerSummary> {
  const { backend, opts } = ctx;
  const { req, connects } = request(ctx, number);
  if (inherit) inheritAnonymousVolumes(req, inherit);
  const imageId = opts.imageIds[ctx.name];
  const summary = (id: string): ContainerSummary => ({
    Id: id,
    Names: [`/${name}`],
    Image: req.Image ?? '',
    ImageID: imageId ?? '',
    Command: '',
    Created: Math.floor(Date.now() / 1000),
    Ports: [],
    Labels: req.Labels ?? {},
    State: 'created',
    Status: 'Created',
    HostConfig: { NetworkMode: req.HostConfig?.NetworkMode ?? '' },
    NetworkSettings: { Networks: Object.fromEntries([...Object.entries(req.NetworkingConfig?.EndpointsConfig ?? {}), ...connects.map((c) => [c.network, c.endpoint] as const)]) as Record<string, EndpointSettings> },
    Mounts: [],
  });
  if (opts.dryRun) return summary(`dryrun-${name}`);
  let id: string;
  try {
    id = await backend.createContainer(name, req);
  } catch (err) {
    ctx.progress.event({ id: progressName, status: 'Error', state: 'error', text: (err as Error).message });
    throw err;
  }
  ctx.created.push(name);
  try {
    // Engines before API 1.44 (dockerd 20.10) take one network at create: the others are connected now.
    for (const c of connects) await backend.connectNetwork(c.network, id, c.endpoint);
  } catch (err) {
    await ignoreMissing(backend.removeContainer(id, { force: true }));
    ctx.created.pop();
    throw err;
  }
  return summary(id);
}

/** The replaced container's anonymous volumes (declared in the file or by the image) are reused, as Compose does. */
function inheritAnonymousVolumes(req: ContainerCreateRequest, old: ContainerSummary): void {
  const hc = (req.HostConfig ??= {});
  const mounts: Mount[] = (hc.Mounts ??= []);
  const bindTargets = new Set((hc.Binds ?? []).map((b) => b.split(':')[1]));
  for (const m of old.Mounts ?? []) {
    if (m.Type !== 'volume' || !m.Name || !/^[0-9a-f]{64}$/.test(m.Name)) continue;
    const same = mounts.find((x) => x.Target === m.Destination);
    if (same) {
      if (same.Type === 'volume' && !same.Source) same.Source = m.Name;
    } else if (!bindTargets.has(m.Destination)) {
      mounts.push({ Type: 'volume', Source: m.Name, Target: m.Destination, ReadOnly: !m.RW });
    }
  }
}

async function stopAndRemove(backend: ComposeBackend, c: ContainerSummary, progress: Progress, opts: Pick<ConvergeOptions, 'timeout' | 'dryRun'>): Promise<void> {
  const id = progressId(c);
  if (c.State === 'running' || c.State === 'restarting' || c.State === 'paused') {
    progress.event({ id, status: 'Stopping', state: 'working' });
    if (!opts.dryRun) await ignoreMissing(backend.stopContainer(c.Id, opts.timeout));
    progress.event({ id, status: 'Stopped', state: 'done' });
  }
  progress.event({ id, status: 'Removing', state: 'working' });
  if (!opts.dryRun) await ignoreMissing(backend.removeContainer(c.Id, { force: true }));
  progress.event({ id, status: 'Removed', state: 'done' });
}

async function handleOrphans(backend: ComposeBackend, plan: Plan, opts: ConvergeOptions, progress: Progress, warn: (m: string) => void): Promise<void> {
  if (!plan.orphans.length || opts.ignoreOrphans) return;
  if (!opts.removeOrphans) {
    warn(
      `Found orphan containers ([${plan.orphans.map(summaryName).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
    );
    return;
  }
  await Promise.all(plan.orphans.map((c) => stopAndRemove(backend, c, progress, opts)));
}

/** Engine names of the networks a service's containers join. */
export function serviceNetworks(project: Project, service: ServiceConfig): string[] {
  if (service.network_mode) return [];
  return Object.keys(service.networks ?? {}).map((k) => project.networks[k]?.name ?? k);
}

function usedKeys(project: Project, services: string[], pick: (s: ServiceConfig) => string[]): string[] {
  return [...new Set(services.flatMap((s) => pick(project.services[s]!)))].sort();
}

export async function ensureNetworks(backend: ComposeBackend, project: Project, services: string[], progress: Progress, warn: (m: string) => void, dryRun?: boolean, listed?: Promise<NetworkInspect[]>): Promise<void> {
  const keys = usedKeys(project, services, (s) => (s.network_mode ? [] : Object.keys(s.networks ?? {})));
  if (!keys.length) return;
  const ours = new Map((await (listed ?? backend.networks(project.name))).map((n) => [n.Name, n]));
  // One at a time, as Compose does: the engine picks each new network's subnet from those in use, so
  // networks created at once could be given the same one (and containers on both would clash).
  const ensure = async (key: string): Promise<void> => {
      const net = project.networks[key];
      if (!net) throw new ComposeError(`service uses undefined network "${key}"`);
      const found = ours.get(net.name) ?? (await backend.inspectNetwork(net.name));
      if (net.external) {
        if (!found) throw new ComposeError(`network ${net.name} declared as external, but could not be found`);
        return;
      }
      if (found && (found.Name === net.name || found.Id === net.name)) {
        const p = found.Labels?.[PROJECT];
        if (p === undefined) warn(`a network with name ${net.name} exists but was not created by compose.\nSet \`external: true\` to use an existing network`);
        else if (p !== project.name) warn(`a network with name ${net.name} exists but was not created for project "${project.name}".\nSet \`external: true\` to use an existing network`);
        if (p !== undefined && found.Labels[NETWORK] !== key) {
          throw new ComposeError(`network ${net.name} was found but has incorrect label ${NETWORK} set to "${found.Labels[NETWORK] ?? ''}" (expected: "${key}")`);
        }
        const driver = net.driver ?? 'bridge';
        if (p !== undefined && found.Driver !== driver) {
          throw new ComposeError(`network ${net.name} exists with driver "${found.Driver}" but the compose file asks for "${driver}": remove it ('berth compose down') so it can be recreated`);
        }
        return;
      }
      const id = `Network ${net.name}`;
      progress.event({ id, status: 'Creating', state: 'working' });
      if (!dryRun) {
        try {
          await backend.createNetwork(networkCreateRequest(project, key));
        } catch (err) {
          // Another `up` of the same project may have created it meanwhile.
          if (!(err instanceof ApiError && err.status === 409)) {
            progress.event({ id, status: 'Error', state: 'error', text: (err as Error).message });
            throw new ComposeError(`failed to create network ${net.name}: ${(err as Error).message}`);
          }
        }
      }
      progress.event({ id, status: 'Created', state: 'done' });
  };
  for (const key of keys) await ensure(key);
}

export async function ensureVolumes(backend: ComposeBackend, project: Project, services: string[], progress: Progress, warn: (m: string) => void, dryRun?: boolean, listed?: Promise<Volume[]>): Promise<void> {
  const keys = usedKeys(project, services, (s) => (s.volumes ?? []).filter((v) => v.type === 'volume' && v.source && project.volumes[v.source]).map((v) => v.source!));
  if (!keys.length) return;
  const ours = new Map((await (listed ?? backend.volumes(project.name))).map((v) => [v.Name, v]));
  await Promise.all(
    keys.map(async (key) => {
      const vol = project.volumes[key]!;
      const found = ours.get(vol.name) ?? (await backend.inspectVolume(vol.name));
      if (vol.external) {
        if (!found) throw new ComposeError(`external volume "${vol.name}" not found`);
        return;
      }
      if (found) {
        const p = found.Labels?.[PROJECT];
        if (p === undefined) warn(`volume "${vol.name}" already exists but was not created by Docker Compose. Use \`external: true\` to use an existing volume`);
        else if (p !== project.name) warn(`volume "${vol.name}" already exists but was created for project "${p}" (expected "${project.name}"). Use \`external: true\` to use an existing volume`);
        const driver = vol.driver ?? 'local';
        if (found.Driver !== driver) {
          throw new ComposeError(
            `configuration for volume ${vol.name} specifies driver ${driver}, but a volume with the same name uses a different driver (${found.Driver}). If you wish to use the new configuration, please remove the existing volume "${vol.name}" first:\n$ berth volume rm ${vol.name}`,
          );
        }
        if (p !== undefined && found.Labels?.[VOLUME] !== undefined && found.Labels?.[VOLUME] !== key) {
          throw new ComposeError(`volume ${vol.name} was found but has incorrect label ${VOLUME} set to "${found.Labels?.[VOLUME]}" (expected: "${key}")`);
        }
        return;
      }
      const id = `Volume ${vol.name}`;
      progress.event({ id, status: 'Creating', state: 'working' });
      if (!dryRun) await backend.createVolume(volumeCreateRequest(project, key));
      progress.event({ id, status: 'Created', state: 'done' });
    }),
  );
}

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiError && (err.status === 404 || err.status === 304))) throw err;
  }
}

/** The first (lowest-numbered) container of each service among those observed, by ID. */
function firstContainers(observed: ContainerSummary[]): (service: string) => string {
  return (svc) => observed.find((c) => c.Labels[SERVICE] === svc && c.Labels[ONEOFF] !== 'True')?.Id ?? `missing-${svc}`;
}

/** The containers of the given services among a list (helper for callers holding a converge result). */
export function ofService(containers: ContainerSummary[], service: string): ContainerSummary[] {
  return containers.filter((c) => c.Labels[SERVICE] === service);
}
