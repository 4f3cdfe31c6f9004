// `compose run`'s one-off container: the service's config with the command line's overrides, named
// `<project>-<service>-run-<12 hex>` and labelled oneoff=True (so `up`, `ps` and `down` tell it apart);
// before it, the service's dependencies are brought up by the reconciler (up.ts) and their depends_on
// conditions met (dependencies.ts).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ContainerCreateRequest, EndpointSettings } from '../api/types.js';
import type { ComposeBackend } from './backend.js';
import { containerCreateRequest } from './convert.js';
import { ProjectEvents, waitDependencies } from './dependencies.js';
import { dependencies } from './graph.js';
import { serviceConfigHash } from './hash.js';
import { SLUG } from './labels.js';
import type { Progress } from './progress.js';
import { ComposeError, type Project, type ServiceConfig, type ServiceVolume } from './types.js';
import { up, type UpOptions } from './up.js';

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
export function oneOffService(project: Project, service: ServiceConfig, opts: OneOffOptions, name: string): ServiceConfig {
  // The container name is also its only network alias (Compose's getAliases), unless --use-aliases.
  const s: ServiceConfig = { ...service, tty: opts.tty, stdin_open: opts.interactive, container_name: name };
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
  if (!opts.servicePorts) s.ports = [];
  if (opts.volumes.length) s.volumes = [...(s.volumes ?? []), ...opts.volumes.map((v) => parseVolume(v, project.workingDir))];
  return s;
}

/** The one-off container's name, its create request, and the networks to connect it to after the create. */
export function oneOffCreateRequest(
  project: Project,
  serviceName: string,
  service: ServiceConfig,
  opts: OneOffOptions,
  slug: string,
): { name: string; body: ContainerCreateRequest; connects: [string, EndpointSettings][] } {
  const name = opts.name || `${project.name}-${serviceName}-run-${slug.slice(0, 12)}`;
  const s = oneOffService(project, service, opts, name);
  const body = containerCreateRequest(project, serviceName, s, {
    number: 1,
    configHash: serviceConfigHash(s),
    oneoff: true,
    useNetworkAliases: opts.useAliases,
    labels: { ...opts.labels, [SLUG]: slug },
  });
  body.Tty = opts.tty;
  body.OpenStdin = opts.interactive;
  body.AttachStdin = opts.interactive;
  body.AttachStdout = true;
  body.AttachStderr = true;
  body.StdinOnce = opts.interactive;
  const host = (body.HostConfig ??= {});
  host.AutoRemove = opts.autoRemove;
  host.RestartPolicy = { Name: 'no' };
  if (opts.publish) {
    body.ExposedPorts = { ...body.ExposedPorts, ...opts.publish.exposed };
    host.PortBindings = { ...host.PortBindings, ...opts.publish.bindings };
  }
  // The first network goes with the create, the others are connected after it (engines before API 1.44).
  const endpoints = Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {});
  const primary = endpoints.find(([n]) => n === host.NetworkMode) ?? endpoints[0];
  if (body.NetworkingConfig && primary) body.NetworkingConfig.EndpointsConfig = { [primary[0]]: primary[1] };
  return { name, body, connects: endpoints.filter(([n]) => n !== primary?.[0]) };
}

/**
 * The dependencies of `service` up (created, recreated when their config changed, started) by the
 * reconciler, as Compose's run does with the service itself set aside; then its depends_on conditions
 * awaited (healthy, completed successfully) before the one-off is created.
 */
export async function startDependencies(
  backend: ComposeBackend,
  project: Project,
  service: string,
  opts: DependencyOptions,
  progress: Progress,
  warn: (m: string) => void,
): Promise<void> {
  const target = project.services[service]!;
  const deps = dependencies(target).filter((d) => project.services[d]);
  if (!deps.length) return;
  const { [service]: _self, ...others } = project.services;
  const rest: Project = { ...project, services: others, disabledServices: { ...project.disabledServices, [service]: target } };
  const upOptions = { ...opts, services: deps, recreate: 'diverged' as const, recreateDependencies: 'diverged' as const };
  // --dry-run: what up would do, said; nothing to wait for.
  if (opts.dryRun) return void (await up(backend, rest, upOptions, progress, warn));
  const events = await ProjectEvents.open(backend, project.name);
  try {
    const { containers } = await up(backend, rest, upOptions, progress, warn);
    await waitDependencies(backend, events, project, service, containers, progress, warn);
  } finally {
    events.close();
  }
}

export type DependencyOptions = Pick<UpOptions, 'pull' | 'build' | 'quietPull' | 'env' | 'renderBuild' | 'removeOrphans' | 'ignoreOrphans' | 'parallel' | 'dryRun'>;
