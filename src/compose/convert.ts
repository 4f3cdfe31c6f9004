// The converter: a service of the project model → the Engine API's create request (Config,
// HostConfig, NetworkingConfig) for its n-th container, with Compose v2's labels; top-level networks
// and volumes → their create requests.
// FIRST CUT: image, command, entrypoint, environment, ports, volumes, networks and labels; the
// converter work completes every key of the spec (or refuses it by name).
import type { ContainerCreateRequest, NetworkCreateRequest, VolumeCreateRequest } from '../api/types.js';
import * as L from './labels.js';
import type { Project, ServiceConfig } from './types.js';

export interface ContainerOptions {
  /** Container number (1-based), Compose's `container-number` label. */
  number: number;
  /** The service's config hash (hash.ts). */
  configHash: string;
  /** A `compose run` container. */
  oneoff?: boolean;
  /** Override of the image reference (an image ID resolved by up). */
  image?: string;
}

/** `<project>-<service>-<n>`, or `container_name`; one-off containers `<project>-<service>-run-<slug>`. */
export function containerName(project: Project, serviceName: string, service: ServiceConfig, number: number): string {
  return service.container_name ?? `${project.name}-${serviceName}-${number}`;
}

/** The image a service runs: `image`, else the name Compose v2 gives a built image (`<project>-<service>`). */
export function serviceImage(project: Project, serviceName: string, service: ServiceConfig): string {
  return service.image ?? `${project.name}-${serviceName}`;
}

export function containerCreateRequest(
  project: Project,
  serviceName: string,
  service: ServiceConfig,
  opts: ContainerOptions,
): ContainerCreateRequest {
  const labels: Record<string, string> = {
    ...service.labels,
    [L.PROJECT]: project.name,
    [L.SERVICE]: serviceName,
    [L.CONTAINER_NUMBER]: String(opts.number),
    [L.ONEOFF]: opts.oneoff ? 'True' : 'False',
    [L.CONFIG_HASH]: opts.configHash,
    [L.IMAGE]: serviceImage(project, serviceName, service),
    [L.CONFIG_FILES]: project.composeFiles.join(','),
    [L.WORKING_DIR]: project.workingDir,
    [L.VERSION]: L.COMPOSE_VERSION,
  };
  const networks = Object.keys(service.networks ?? {});
  const endpoints = Object.fromEntries(
    networks.map((key) => [
      project.networks[key]?.name ?? key,
      { Aliases: [serviceName, ...(service.networks?.[key]?.aliases ?? [])] },
    ]),
  );
  const portBindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
  const exposed: Record<string, object> = {};
  for (const p of service.ports ?? []) {
    const key = `${p.target}/${p.protocol ?? 'tcp'}`;
    exposed[key] = {};
    (portBindings[key] ??= []).push({ HostIp: p.host_ip ?? '', HostPort: p.published ?? '' });
  }
  return {
    Image: opts.image ?? serviceImage(project, serviceName, service),
    Cmd: service.command ?? undefined,
    Entrypoint: service.entrypoint ?? undefined,
    Env: Object.entries(service.environment ?? {})
      .filter((e): e is [string, string] => e[1] !== null)
      .map(([k, v]) => `${k}=${v}`),
    Labels: labels,
    ExposedPorts: exposed,
    HostConfig: {
      NetworkMode: service.network_mode ?? (networks[0] ? project.networks[networks[0]]?.name : undefined),
      PortBindings: portBindings,
      Mounts: (service.volumes ?? []).map((v) => ({
        Type: v.type === 'bind' ? 'bind' : v.type === 'tmpfs' ? 'tmpfs' : 'volume',
        Source: v.type === 'volume' && v.source ? (project.volumes[v.source]?.name ?? v.source) : v.source,
        Target: v.target,
        ReadOnly: v.read_only ?? false,
      })),
    },
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
}

export function networkCreateRequest(project: Project, key: string): NetworkCreateRequest {
  const net = project.networks[key]!;
  return {
    Name: net.name,
    Driver: net.driver,
    Internal: net.internal,
    Attachable: net.attachable,
    EnableIPv6: net.enable_ipv6,
    Options: net.driver_opts,
    Labels: { ...net.labels, [L.PROJECT]: project.name, [L.NETWORK]: key, [L.VERSION]: L.COMPOSE_VERSION },
  };
}

export function volumeCreateRequest(project: Project, key: string): VolumeCreateRequest {
  const vol = project.volumes[key]!;
  return {
    Name: vol.name,
    Driver: vol.driver,
    DriverOpts: vol.driver_opts,
    Labels: { ...vol.labels, [L.PROJECT]: project.name, [L.VOLUME]: key, [L.VERSION]: L.COMPOSE_VERSION },
  };
}
