// `compose run`'s one-off container: the service's config with the command line's overrides, named
// `<project>-<service>-run-<12 hex>` and labelled oneoff=True (so `up`, `ps` and `down` tell it apart);
// before it, the service's dependencies are created and started and their depends_on conditions met.
// FIRST CUT of the dependency start: until the reconciler (create.ts/up.ts) lands, a dependency with
// no container gets one (number 1) and a stopped one is started; nothing is recreated.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ContainerCreateRequest } from '../api/types.js';
import type { ComposeBackend } from './backend.js';
import { containerCreateRequest, containerName, networkCreateRequest, serviceImage, volumeCreateRequest } from './convert.js';
import { dependencies, inDependencyOrder } from './graph.js';
import { serviceConfigHash } from './hash.js';
import { SLUG } from './labels.js';
import type { Progress } from './progress.js';
import { ComposeError, type DependencyCondition, type Project, type ServiceConfig, type ServiceVolume } from './types.js';

export interface OneOffOptions {
  /** Replaces the service's command (empty: keep it). */
  command: string[];
  /** Replaces the entrypoint (and, without a command, drops the service's command). */
  entrypoint?: string[];
  /** KEY=VALUE, or KEY taken from the project's environment (dropped when unset there). */
  environment: string[];
  labels: Record<string, string>;
  user?: string;
  workdir?: string;
  /** --name; default `<project>-<service>-run-<slug>`. */
  name?: string;
  tty: boolean;
  interactive: boolean;
  autoRemove: boolean;
  /** --service-ports: the service's ports published; otherwise only `publish`. */
  servicePorts: boolean;
  /** -p, already parsed (Engine API form). */
  publish?: { exposed: Record<string, object>; bindings: Record<string, { HostIp?: string; HostPort?: string }[]> };
  /** -v, short syntax. */
  volumes: string[];
  /** --use-aliases: the service name and its network aliases too. */
  useAliases: boolean;
  capAdd: string[];
  capDrop: string[];
}

/** The 64-hex slug Compose labels a one-off with; its first 12 digits end the container's name. */
export function newSlug(): string {
  return randomBytes(32).toString('hex');
}

/** `-v` short syntax → a service volume: `/host:/ctr[:ro]`, `./rel:/ctr`, `name:/ctr`, or `/ctr` (anonymous). */
export function parseVolume(spec: string, workingDir: string): ServiceVolume {
  const parts = spec.split(':');
  if (parts.length === 1) return { type: 'volume', target: spec };
  if (parts.length > 3 || !parts[0] || !parts[1]) throw new ComposeError(`invalid volume specification: ${spec}`);
  const [source, target, mode = ''] = parts as [string, string, string?];
  const readOnly = mode.split(',').includes('ro');
  if (source.startsWith('/') || source.startsWith('.') || source.startsWith('~')) {
    return { type: 'bind', source: path.resolve(workingDir, source), target, read_only: readOnly, bind: { create_host_path: true } };
  }
  return { type: 'volume', source, target, read_only: readOnly };
}

/** The service as the one-off runs it (Compose's applyRunOptions). */
export function oneOffService(project: Project, service: ServiceConfig, opts: OneOffOptions): ServiceConfig {
  const s: ServiceConfig = { ...service, tty: opts.tty, stdin_open: opts.interactive };
  delete s.container_name;
  delete s.restart;
  if (s.deploy) s.deploy = { ...s.deploy, restart_policy: undefined };
  if (opts.command.length) s.command = opts.command;
  if (opts.entrypoint) {
    s.entrypoint = opts.entrypoint;
    if (!opts.command.length) s.command = [];
  }
  if (opts.user) s.user = opts.user;
  if (opts.workdir) s.working_dir = opts.workdir;
  if (opts.environment.length) {
    const env = { ...s.environment };
    for (const e of opts.environment) {
      const eq = e.indexOf('=');
      if (eq >= 0) env[e.slice(0, eq)] = e.slice(eq + 1);
      else if (project.environment[e] !== undefined) env[e] = project.environment[e]!;
    }
    s.environment = env;
  }
  if (opts.capAdd.length) {
    s.cap_add = [...(s.cap_add ?? []), ...opts.capAdd];
    s.cap_drop = s.cap_drop?.filter((c) => !opts.capAdd.includes(c));
  }
  if (opts.capDrop.length) {
    s.cap_drop = [...(s.cap_drop ?? []), ...opts.capDrop];
    s.cap_add = s.cap_add?.filter((c) => !opts.capDrop.includes(c));
  }
  if (Object.keys(opts.labels).length) s.labels = { ...s.labels, ...opts.labels };
  if (!opts.servicePorts) s.ports = [];
  if (opts.volumes.length) s.volumes = [...(s.volumes ?? []), ...opts.volumes.map((v) => parseVolume(v, project.workingDir))];
  return s;
}

/** The one-off container's name and create request. */
export function oneOffCreateRequest(
  project: Project,
  serviceName: string,
  service: ServiceConfig,
  opts: OneOffOptions,
  slug: string,
): { name: string; body: ContainerCreateRequest } {
  const s = oneOffService(project, service, opts);
  const name = opts.name || `${project.name}-${serviceName}-run-${slug.slice(0, 12)}`;
  const body = containerCreateRequest(project, serviceName, s, { number: 1, configHash: serviceConfigHash(s), oneoff: true });
  body.Labels = { ...body.Labels, [SLUG]: slug };
  // What the first-cut converter may not map yet, set from the model so the one-off gets it either way.
  body.Tty = opts.tty;
  body.OpenStdin = opts.interactive;
  body.AttachStdin = opts.interactive;
  body.AttachStdout = true;
  body.AttachStderr = true;
  body.StdinOnce = opts.interactive;
  if (s.user) body.User = s.user;
  if (s.working_dir) body.WorkingDir = s.working_dir;
  if (opts.entrypoint) body.Cmd = opts.command.length ? opts.command : [];
  const host = (body.HostConfig ??= {});
  host.AutoRemove = opts.autoRemove;
  host.RestartPolicy = { Name: 'no' };
  if (s.cap_add?.length) host.CapAdd = s.cap_add;
  if (s.cap_drop?.length) host.CapDrop = s.cap_drop;
  if (opts.publish) {
    body.ExposedPorts = { ...body.ExposedPorts, ...opts.publish.exposed };
    host.PortBindings = { ...host.PortBindings, ...opts.publish.bindings };
  }
  // A one-off answers to its own name only, unless --use-aliases (Compose's getAliases).
  for (const [netName, endpoint] of Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {})) {
    const key = Object.keys(project.networks).find((k) => project.networks[k]?.name === netName) ?? netName;
    const aliases = [name];
    if (opts.useAliases) aliases.push(serviceName, ...(s.networks?.[key]?.aliases ?? []));
    (endpoint as { Aliases?: string[] }).Aliases = aliases;
  }
  return { name, body };
}

/** The services `service` depends on, directly or not. */
export function transitiveDependencies(project: Project, service: string): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const svc = project.services[name];
    for (const dep of svc ? dependencies(svc) : []) {
      if (seen.has(dep) || !project.services[dep]) continue;
      seen.add(dep);
      visit(dep);
    }
  };
  visit(service);
  return [...seen];
}

/** The project's networks and volumes that `services` use, created when missing (external ones must exist). */
export async function ensureResources(backend: ComposeBackend, project: Project, services: string[], progress: Progress): Promise<void> {
  const networks = new Set<string>();
  const volumes = new Set<string>();
  for (const name of services) {
    const svc = project.services[name];
    if (!svc) continue;
    if (!svc.network_mode) for (const key of Object.keys(svc.networks ?? {})) networks.add(key);
    for (const v of svc.volumes ?? []) if (v.type === 'volume' && v.source && project.volumes[v.source]) volumes.add(v.source);
  }
  for (const key of networks) {
    const net = project.networks[key];
    if (!net) continue;
    if (await backend.inspectNetwork(net.name)) continue;
    if (net.external) throw new ComposeError(`network ${net.name} declared as external, but could not be found`);
    progress.event({ id: `Network ${net.name}`, status: 'Creating', state: 'working' });
    await backend.createNetwork(networkCreateRequest(project, key));
    progress.event({ id: `Network ${net.name}`, status: 'Created', state: 'done' });
  }
  for (const key of volumes) {
    const vol = project.volumes[key]!;
    if (await backend.inspectVolume(vol.name)) continue;
    if (vol.external) throw new ComposeError(`external volume "${vol.name}" not found`);
    progress.event({ id: `Volume "${vol.name}"`, status: 'Creating', state: 'working' });
    await backend.createVolume(volumeCreateRequest(project, key));
    progress.event({ id: `Volume "${vol.name}"`, status: 'Created', state: 'done' });
  }
}

/** The service's image present: pulled when missing (policy "missing"), or always, or never. */
export async function ensureImage(
  backend: ComposeBackend,
  project: Project,
  serviceName: string,
  policy: 'always' | 'missing' | 'never',
  progress: Progress,
): Promise<void> {
  const service = project.services[serviceName]!;
  const image = serviceImage(project, serviceName, service);
  if (policy !== 'always' && (await backend.inspectImage(image))) return;
  if (!service.image) throw new ComposeError(`image ${image} for service ${serviceName} is not built: build it first with "berth compose build ${serviceName}"`);
  if (policy === 'never') throw new ComposeError(`image ${image} for service ${serviceName} is not present and --pull never was given`);
  progress.event({ id: `Image ${image}`, status: 'Pulling', state: 'working' });
  try {
    await backend.pull(image);
  } catch (err) {
    progress.event({ id: `Image ${image}`, status: 'Error', state: 'error', text: (err as Error).message });
    throw new ComposeError(`Error response from daemon: ${(err as Error).message}`);
  }
  progress.event({ id: `Image ${image}`, status: 'Pulled', state: 'done' });
}

/** Each dependency of `service` has a running container (created and started in dependency order). */
export async function startDependencies(backend: ComposeBackend, project: Project, service: string, progress: Progress): Promise<void> {
  const deps = transitiveDependencies(project, service);
  if (!deps.length) return;
  await ensureResources(backend, project, deps, progress);
  await inDependencyOrder(
    project,
    'up',
    async (name, svc) => {
      await waitDependencies(backend, project, svc, progress);
      await ensureImage(backend, project, name, 'missing', progress);
      await ensureRunning(backend, project, name, svc, progress);
    },
    { names: deps },
  );
}

async function ensureRunning(backend: ComposeBackend, project: Project, name: string, svc: ServiceConfig, progress: Progress): Promise<void> {
  const existing = await backend.containers(project.name, { all: true, services: [name], oneoff: false });
  if (!existing.length) {
    const cname = containerName(project, name, svc, 1);
    progress.event({ id: `Container ${cname}`, status: 'Creating', state: 'working' });
    const id = await backend.createContainer(cname, containerCreateRequest(project, name, svc, { number: 1, configHash: serviceConfigHash(svc) }));
    progress.event({ id: `Container ${cname}`, status: 'Created', state: 'done' });
    progress.event({ id: `Container ${cname}`, status: 'Starting', state: 'working' });
    await backend.startContainer(id);
    progress.event({ id: `Container ${cname}`, status: 'Started', state: 'done' });
    return;
  }
  for (const c of existing) {
    const cname = (c.Names[0] ?? '').replace(/^\//, '');
    if (c.State === 'running') {
      progress.event({ id: `Container ${cname}`, status: 'Running', state: 'done' });
      continue;
    }
    progress.event({ id: `Container ${cname}`, status: 'Starting', state: 'working' });
    await backend.startContainer(c.Id);
    progress.event({ id: `Container ${cname}`, status: 'Started', state: 'done' });
  }
}

/** Wait until each depends_on condition of `svc` holds (healthy, completed successfully, or started). */
export async function waitDependencies(backend: ComposeBackend, project: Project, svc: ServiceConfig, progress: Progress): Promise<void> {
  await Promise.all(
    Object.entries(svc.depends_on ?? {}).map(async ([dep, d]) => {
      if (!project.services[dep]) return;
      const containers = await backend.containers(project.name, { all: true, services: [dep], oneoff: false });
      for (const c of containers) await waitCondition(backend, c.Id, dep, d.condition, d.required, progress);
    }),
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitCondition(
  backend: ComposeBackend,
  id: string,
  service: string,
  condition: DependencyCondition,
  required: boolean,
  progress: Progress,
): Promise<void> {
  if (condition === 'service_started') return;
  const fullName = (await backend.inspectContainer(id)).Name.replace(/^\//, '');
  progress.event({ id: `Container ${fullName}`, status: 'Waiting', state: 'working' });
  for (;;) {
    const c = await backend.inspectContainer(id);
    const failure = conditionFailure(condition, c.State, service, fullName);
    if (failure === undefined) {
      progress.event({ id: `Container ${fullName}`, status: condition === 'service_healthy' ? 'Healthy' : 'Exited', state: 'done' });
      return;
    }
    if (failure) {
      if (!required) {
        progress.info(`WARN[0000] optional dependency ${service} failed: ${failure}`);
        return;
      }
      progress.event({ id: `Container ${fullName}`, status: 'Error', state: 'error' });
      throw new ComposeError(failure);
    }
    await sleep(200);
  }
}

/** undefined: the condition holds; '': not yet; otherwise the failure, worded as Compose words it. */
export function conditionFailure(
  condition: DependencyCondition,
  state: { Status: string; ExitCode: number; Health?: { Status: string } | null },
  service: string,
  container: string,
): string | undefined {
  if (condition === 'service_healthy') {
    if (!state.Health) return `dependency failed to start: container ${container} has no healthcheck configured`;
    if (state.Health.Status === 'healthy') return undefined;
    if (state.Health.Status === 'unhealthy') return `dependency failed to start: container ${container} is unhealthy`;
    if (state.Status === 'exited' || state.Status === 'dead') return `dependency failed to start: container ${container} exited (${state.ExitCode})`;
    return '';
  }
  if (state.Status === 'exited' || state.Status === 'dead') {
    return state.ExitCode === 0 ? undefined : `service "${service}" didn't complete successfully: exit ${state.ExitCode}`;
  }
  return '';
}
