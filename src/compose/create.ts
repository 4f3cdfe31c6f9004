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
import type { ContainerCreateRequest, ContainerSummary, EndpointSettings, Mount } from '../api/types.js';
import { ApiError } from '../client/errors.js';
import type { ComposeBackend } from './backend.js';
import { containerName as summaryName } from './backend.js';
import { containerCreateRequest, networkCreateRequest, volumeCreateRequest } from './convert.js';
import { inDependencyOrder } from './graph.js';
import { serviceConfigHash } from './hash.js';
import { CONFIG_HASH, IMAGE, NETWORK, PROJECT, SERVICE, VOLUME } from './labels.js';
import { planConvergence, progressId, type ContainerAction, type Plan, type RecreatePolicy } from './plan.js';
import type { Progress } from './progress.js';
import { hasRollingUpdate, rollingRecreate } from './rolling.js';
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
  const observed = await backend.containers(project.name, { all: true, oneoff: false });
  const hashes = Object.fromEntries(opts.services.map((s) => [s, serviceConfigHash(project.services[s]!)]));
  const networks = Object.fromEntries(opts.services.map((s) => [s, serviceNetworks(project, project.services[s]!)]));
  const plan = planConvergence({ project, services: opts.services, targeted: opts.targeted, observed, hashes, imageIds: opts.imageIds, networks, recreate: opts.recreate, recreateDependencies: opts.recreateDependencies, scale: opts.scale });
  await handleOrphans(backend, plan, opts, progress, warn);
  await ensureNetworks(backend, project, opts.services, progress, warn, opts.dryRun);
  await ensureVolumes(backend, project, opts.services, progress, warn, opts.dryRun);

  const current = new Map<string, ContainerSummary[]>();
  const created: string[] = [];
  const byService = new Map(plan.services.map((p) => [p.service, p.actions]));
  await inDependencyOrder(
    project,
    'up',
    async (name, service) => {
      const ctx: ApplyContext = { backend, project, name, service, hash: hashes[name]!, opts, progress, current, created };
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
  hash: string;
  opts: ConvergeOptions;
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
  // deploy.update_config: the service's recreations are one rolling update (rolling.ts), its new containers started and healthy.
  const rolling = hasRollingUpdate(ctx.project, ctx.name) && !opts.dryRun ? actions.filter((a): a is Extract<ContainerAction, { kind: 'recreate' }> => a.kind === 'recreate') : [];
  if (rolling.length) {
    const create = (n: number, name: string, old: ContainerSummary) => createContainer(ctx, name, n, opts.renewAnonVolumes ? undefined : old, progressId(name));
    out.push(...(await rollingRecreate(backend, ctx.project, ctx.name, rolling, create, progress, { stopTimeout: opts.timeout, created: ctx.created })));
  }
  await Promise.all(
    actions.filter((a) => !(rolling as ContainerAction[]).includes(a)).map(async (a) => {
      switch (a.kind) {
        case 'keep':
          progress.event({ id: progressId(a.container), status: 'Running', state: 'done' });
          out.push(a.container);
          return;
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

async function recreate(ctx: ApplyContext, old: ContainerSummary, reasons: string[]): Promise<ContainerSummary> {
  const { backend, opts, progress } = ctx;
  const name = summaryName(old);
  const id = progressId(name);
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

/** Create one container; `inherit`: the container it replaces (its anonymous volumes are kept). */
async function createContainer(ctx: ApplyContext, name: string, number: number, inherit: ContainerSummary | undefined, progressName: string): Promise<ContainerSummary> {
  const { backend, project, opts } = ctx;
  const req = containerCreateRequest(project, ctx.name, resolveReferences(ctx), { number, configHash: ctx.hash });
  req.Labels = { ...req.Labels, [CONFIG_HASH]: ctx.hash };
  const imageId = opts.imageIds[ctx.name];
  if (imageId) req.Labels[IMAGE] = imageId;
  if (inherit) inheritAnonymousVolumes(req, inherit);
  // The first network goes with the create, the others are connected after it: engines before API 1.44
  // (dockerd 20.10) take only one endpoint at create.
  const endpoints = Object.entries(req.NetworkingConfig?.EndpointsConfig ?? {});
  const primary = endpoints.find(([n]) => n === req.HostConfig?.NetworkMode) ?? endpoints[0];
  if (req.NetworkingConfig && primary) req.NetworkingConfig.EndpointsConfig = { [primary[0]]: primary[1] };
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
    NetworkSettings: { Networks: Object.fromEntries(endpoints) as Record<string, EndpointSettings> },
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
    for (const [net, ep] of endpoints) if (net !== primary?.[0]) await backend.connectNetwork(net, id, ep);
  } catch (err) {
    await ignoreMissing(backend.removeContainer(id, { force: true }));
    ctx.created.pop();
    throw err;
  }
  return summary(id);
}

/** `network_mode`/`ipc`/`pid: service:x` and `volumes_from: x` name the first container of x. */
function resolveReferences(ctx: ApplyContext): ServiceConfig {
  const svc = { ...ctx.service };
  const first = (ref: string, what: string): string => {
    const c = ctx.current.get(ref)?.[0];
    if (!c) throw new ComposeError(`cannot share ${what} with service ${ref}: container missing`);
    return c.Id;
  };
  if (svc.network_mode?.startsWith('service:')) svc.network_mode = `container:${first(svc.network_mode.slice(8), 'network namespace')}`;
  if (svc.ipc?.startsWith('service:')) svc.ipc = `container:${first(svc.ipc.slice(8), 'IPC namespace')}`;
  if (svc.pid?.startsWith('service:')) svc.pid = `container:${first(svc.pid.slice(8), 'PID namespace')}`;
  if (svc.volumes_from) {
    svc.volumes_from = svc.volumes_from.map((v) => {
      if (v.startsWith('container:')) return v.slice('container:'.length);
      const [ref, mode] = v.split(':');
      return mode ? `${first(ref!, 'volume')}:${mode}` : first(ref!, 'volume');
    });
  }
  return svc;
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

async function ensureNetworks(backend: ComposeBackend, project: Project, services: string[], progress: Progress, warn: (m: string) => void, dryRun?: boolean): Promise<void> {
  const keys = usedKeys(project, services, (s) => (s.network_mode ? [] : Object.keys(s.networks ?? {})));
  if (!keys.length) return;
  const ours = new Map((await backend.networks(project.name)).map((n) => [n.Name, n]));
  await Promise.all(
    keys.map(async (key) => {
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
    }),
  );
}

async function ensureVolumes(backend: ComposeBackend, project: Project, services: string[], progress: Progress, warn: (m: string) => void, dryRun?: boolean): Promise<void> {
  const keys = usedKeys(project, services, (s) => (s.volumes ?? []).filter((v) => v.type === 'volume' && v.source && project.volumes[v.source]).map((v) => v.source!));
  if (!keys.length) return;
  const ours = new Map((await backend.volumes(project.name)).map((v) => [v.Name, v]));
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

/** The containers of the given services among a list (helper for callers holding a converge result). */
export function ofService(containers: ContainerSummary[], service: string): ContainerSummary[] {
  return containers.filter((c) => c.Labels[SERVICE] === service);
}
