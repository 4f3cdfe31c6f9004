// The converter: a service of the project model → the Engine API's create request (Config,
// HostConfig, NetworkingConfig) for its n-th container, as Docker Compose v2's getCreateConfigs makes
// it, with Compose v2's labels; top-level networks and volumes → their create requests. The parts live
// in convert/ (container config, host config and resources, mounts, networks). A key berth cannot
// honour is refused by name before anything is created, never dropped.
import type { ContainerCreateRequest, EndpointSettings, Mount, NetworkCreateRequest, VolumeCreateRequest } from '../api/types.js';
import * as L from './labels.js';
import { secretMounts } from './secrets.js';
import type { Project, ServiceConfig } from './types.js';
import { compact, microseconds, nonEmpty, seconds, unsupported, type ContainerOptions, type ServiceRef } from './convert/common.js';
import { containerLabels, environment, exposedPorts, healthcheck, portBindings, serviceImage as imageOf } from './convert/container.js';
import { extraHosts, namespaces, resources, restartPolicy, securityOpts } from './convert/host.js';
import { serviceMounts, tmpfsMap, volumesFrom } from './convert/mounts.js';
import { networkConnects as connects, networkSettings, networksByPriority, serviceLinks } from './convert/networks.js';

export type { ContainerOptions } from './convert/common.js';
export { containerName } from './convert/common.js';
export { networksByPriority };

/** The image a service runs: `image`, else the name Compose v2 gives a built image (`<project>-<service>`). */
export function serviceImage(project: Project, serviceName: string, service: ServiceConfig): string {
  return imageOf({ project, name: serviceName, service });
}

/** A value the file sets: not absent, false, an empty list or an empty map. */
function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  return typeof v !== 'object' || Object.keys(v).length > 0;
}

/**
 * Keys with no honest mapping on berth: refused by name. (berthd does not apply them — Compose would
 * send them and dockerd would; dropping them would run a container other than the one asked for.)
 */
function refuseUnsupported(ref: ServiceRef): void {
  const s = ref.service;
  const refuse = (key: string, value: unknown, why?: string) => {
    if (isSet(value)) throw unsupported(ref.name, key, why);
  };
  refuse('annotations', s.annotations);
  refuse('cgroup_parent', s.cgroup_parent);
  refuse('cgroup', s.cgroup);
  // berth has no user-namespace remapping: "host" is what every container gets already.
  refuse('userns_mode', s.userns_mode === 'host' ? undefined : s.userns_mode);
  refuse('device_cgroup_rules', s.device_cgroup_rules);
  refuse('oom_score_adj', s.oom_score_adj || undefined);
  refuse('mem_swappiness', s.mem_swappiness === -1 ? undefined : s.mem_swappiness);
  refuse('storage_opt', s.storage_opt);
  refuse('cpu_count', s.cpu_count || undefined, 'a Windows option');
  refuse('cpu_percent', s.cpu_percent || undefined, 'a Windows option');
  refuse('credential_spec', s.credential_spec, 'a Windows option');
  refuse('gpus', s.gpus, 'berth has no device requests (GPUs)');
  for (const k of ['weight_device', 'device_read_bps', 'device_read_iops', 'device_write_bps', 'device_write_iops'] as const) refuse(`blkio_config.${k}`, s.blkio_config?.[k]);
  if (s.runtime !== undefined && s.runtime !== 'runc') refuse('runtime', s.runtime, 'berth runs containers with runc only');
  if (s.isolation !== undefined && s.isolation !== 'default') refuse('isolation', s.isolation, 'Linux containers have only the default isolation');
}

/** The service's mounts: its volumes, then its bind-mounted secrets and configs (a volume at the same target wins, as in Compose). */
function mounts(ref: ServiceRef, opts: ContainerOptions): { Mounts?: Mount[]; Binds?: string[] } {
  const { mounts: list, binds } = serviceMounts(ref, opts);
  const targets = new Set([...list.map((m) => m.Target), ...binds.map((b) => b.split(':')[1])]);
  for (const m of secretMounts(ref.project, ref.name, ref.service)) if (!targets.has(m.Target)) list.push(m);
  return { Mounts: nonEmpty(list), Binds: nonEmpty(binds) };
}

export function containerCreateRequest(
  project: Project,
  serviceName: string,
  service: ServiceConfig,
  opts: ContainerOptions,
): ContainerCreateRequest {
  const ref: ServiceRef = { project, name: serviceName, service };
  refuseUnsupported(ref);
  const net = networkSettings(ref, opts);
  const env = environment(ref);
  const hostConfig = compact({
    NetworkMode: net.networkMode,
    PortBindings: portBindings(ref),
    RestartPolicy: restartPolicy(ref),
    ...mounts(ref, opts),
    VolumesFrom: volumesFrom(ref, opts),
    Tmpfs: tmpfsMap(ref),
    Links: serviceLinks(ref, opts),
    CapAdd: nonEmpty(service.cap_add),
    CapDrop: nonEmpty(service.cap_drop),
    Privileged: service.privileged || undefined,
    ReadonlyRootfs: service.read_only || undefined,
    SecurityOpt: securityOpts(ref),
    Init: service.init,
    Sysctls: nonEmpty(service.sysctls),
    ExtraHosts: extraHosts(ref),
    Dns: nonEmpty(service.dns),
    DnsSearch: nonEmpty(service.dns_search),
    DnsOptions: nonEmpty(service.dns_opt),
    GroupAdd: nonEmpty(service.group_add),
    ShmSize: service.shm_size || undefined,
    LogConfig: service.logging ? compact({ Type: service.logging.driver ?? '', Config: service.logging.options }) : undefined,
    Runtime: service.runtime,
    VolumeDriver: service.volume_driver,
    BlkioWeight: service.blkio_config?.weight || undefined,
    CpuRealtimePeriod: microseconds(serviceName, 'cpu_rt_period', service.cpu_rt_period),
    CpuRealtimeRuntime: microseconds(serviceName, 'cpu_rt_runtime', service.cpu_rt_runtime),
    ...namespaces(ref, opts),
    ...resources(ref),
  });
  return compact({
    Hostname: service.hostname,
    Domainname: service.domainname,
    User: service.user,
    AttachStdout: true,
    AttachStderr: true,
    Tty: service.tty || undefined,
    OpenStdin: service.stdin_open || undefined,
    ExposedPorts: exposedPorts(ref),
    Env: env,
    // null: not set (the image's); [] sent as [] clears the image's, as Compose sends it.
    Cmd: service.command ?? undefined,
    Entrypoint: service.entrypoint ?? undefined,
    Image: opts.image ?? imageOf(ref),
    WorkingDir: service.working_dir,
    Labels: containerLabels(ref, opts),
    StopSignal: service.stop_signal,
    StopTimeout: seconds(serviceName, 'stop_grace_period', service.stop_grace_period),
    Healthcheck: healthcheck(ref, opts),
    MacAddress: net.macAddress,
    HostConfig: hostConfig,
    NetworkingConfig: net.endpoints ? { EndpointsConfig: net.endpoints } : undefined,
  });
}

/**
 * Convert every named service once (all when none are named) and throw the first refusal or invalid
 * value: `up`/`create` call it before creating anything, so a key berth cannot honour in the last
 * service leaves nothing half-created.
 */
export function checkConvertible(project: Project, services: string[] = Object.keys(project.services), apiVersion?: string): void {
  for (const name of services) {
    const service = project.services[name];
    // `models:` asks the engine for an AI model runner (Docker Model Runner), which berth does not have.
    if (service && Object.keys(service.models ?? {}).length) throw unsupported(name, 'models', 'berth has no model runner');
    if (service) containerCreateRequest(project, name, service, { number: 1, configHash: '', apiVersion });
  }
}

/**
 * The networks to connect the created container to before it starts, in priority order: empty when the
 * engine took them all at create (API 1.44 and later).
 */
export function networkConnects(
  project: Project,
  serviceName: string,
  service: ServiceConfig,
  opts: ContainerOptions,
): { network: string; endpoint: EndpointSettings }[] {
  return connects({ project, name: serviceName, service }, opts);
}

/** The `platform` to create with: the service's, else DOCKER_DEFAULT_PLATFORM, as Compose does. */
export function containerPlatform(project: Project, service: ServiceConfig): string | undefined {
  return service.platform || project.environment.DOCKER_DEFAULT_PLATFORM || undefined;
}

export function networkCreateRequest(project: Project, key: string): NetworkCreateRequest {
  const net = project.networks[key]!;
  const ipam = net.ipam
    ? compact({
        Driver: net.ipam.driver,
        Config: net.ipam.config?.map((c) => compact({ Subnet: c.subnet, IPRange: c.ip_range, Gateway: c.gateway, AuxiliaryAddresses: c.aux_addresses })),
        Options: net.ipam.options,
      })
    : undefined;
  return compact({
    Name: net.name,
    // Compose v2 asks the engine to refuse a second network of the same name.
    CheckDuplicate: true,
    Driver: net.driver,
    Internal: net.internal,
    Attachable: net.attachable,
    EnableIPv6: net.enable_ipv6,
    IPAM: ipam,
    Options: net.driver_opts,
    Labels: { ...net.labels, [L.NETWORK]: key, [L.PROJECT]: project.name, [L.VERSION]: L.COMPOSE_VERSION },
  });
}

export function volumeCreateRequest(project: Project, key: string): VolumeCreateRequest {
  const vol = project.volumes[key]!;
  return compact({
    Name: vol.name,
    Driver: vol.driver,
    DriverOpts: vol.driver_opts,
    Labels: { ...vol.labels, [L.VOLUME]: key, [L.PROJECT]: project.name, [L.VERSION]: L.COMPOSE_VERSION },
  });
}
