// A service's networking as Compose v2 sets it at create: `network_mode` (service:x resolved to x's
// container), else the service's networks by priority — the highest is NetworkMode with its endpoint
// in the create request; the others join it in the same request from API 1.44, or are connected after
// create before (networkConnects). Every endpoint answers to the container's name, the service's name
// and the network's aliases.
import type { EndpointSettings } from '../../api/types.js';
import type { ServiceConfig, ServiceNetwork } from '../types.js';
import { apiAtLeast, compact, containerName, invalid, resolveServiceMode, serviceContainerRef, unsupported, type ContainerOptions, type ServiceRef } from './common.js';

/** Whether the engine takes several networks (and each endpoint's MAC address) at create. */
export function multiNetworkCreate(opts: ContainerOptions): boolean {
  return apiAtLeast(opts, '1.44');
}

/** The service's network keys, highest priority first, then by name (compose-go's NetworksByPriority). */
export function networksByPriority(service: ServiceConfig): string[] {
  const nets = service.networks ?? {};
  return Object.keys(nets).sort((a, b) => (nets[b]?.priority ?? 0) - (nets[a]?.priority ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
}

export interface NetworkSettings {
  networkMode: string;
  endpoints?: Record<string, EndpointSettings>;
  /** Config.MacAddress (engines before API 1.44). */
  macAddress?: string;
}

export function networkSettings(ref: ServiceRef, opts: ContainerOptions): NetworkSettings {
  const { project, service } = ref;
  if (service.network_mode !== undefined) {
    if (service.network_mode === 'disabled') return { networkMode: 'none' };
    return { networkMode: resolveServiceMode(ref, opts, 'network_mode', service.network_mode)! };
  }
  if (!Object.keys(project.networks).length) return { networkMode: 'none' };
  const keys = networksByPriority(ref.service);
  const primary = keys[0] ?? 'default';
  const modern = multiNetworkCreate(opts);
  const joined = modern ? (keys.length ? keys : [primary]) : [primary];
  const endpoints: Record<string, EndpointSettings> = {};
  for (const key of joined) endpoints[engineNetwork(ref, key)] = endpointSettings(ref, opts, key, key === primary);
  // Before API 1.44 the MAC address is the container's (its primary network's).
  const mac = modern ? undefined : (service.networks?.[primary]?.mac_address ?? service.mac_address);
  return { networkMode: engineNetwork(ref, primary), endpoints, macAddress: mac };
}

/** The networks to connect after create, in priority order (empty from API 1.44: all joined at create). */
export function networkConnects(ref: ServiceRef, opts: ContainerOptions): { network: string; endpoint: EndpointSettings }[] {
  if (ref.service.network_mode !== undefined || multiNetworkCreate(opts)) return [];
  return networksByPriority(ref.service)
    .slice(1)
    .map((key) => ({ network: engineNetwork(ref, key), endpoint: endpointSettings(ref, opts, key, false) }));
}

function engineNetwork(ref: ServiceRef, key: string): string {
  const net = ref.project.networks[key];
  if (!net) throw invalid(ref.name, `networks.${key}`, `service "${ref.name}" refers to undefined network ${key}`);
  return net.name;
}

function endpointSettings(ref: ServiceRef, opts: ContainerOptions, key: string, primary: boolean): EndpointSettings {
  const cfg: ServiceNetwork | null | undefined = ref.service.networks?.[key];
  if (cfg?.gw_priority) throw unsupported(ref.name, `networks.${key}.gw_priority`);
  const name = containerName(ref.project, ref.name, ref.service, opts.number);
  const aliases = opts.useNetworkAliases === false ? [name] : [name, ref.name, ...(cfg?.aliases ?? [])];
  const ipam = cfg ? compact({ IPv4Address: cfg.ipv4_address, IPv6Address: cfg.ipv6_address, LinkLocalIPs: cfg.link_local_ips?.length ? cfg.link_local_ips : undefined }) : {};
  const mac = cfg?.mac_address ?? (primary ? ref.service.mac_address : undefined);
  if (primary && cfg?.mac_address && ref.service.mac_address && cfg.mac_address !== ref.service.mac_address) {
    throw invalid(ref.name, 'mac_address', `the service-level mac_address should have the same value as network ${key}`);
  }
  const links = serviceLinks(ref, opts);
  return compact({
    Aliases: aliases,
    Links: links,
    IPAMConfig: Object.keys(ipam).length ? ipam : undefined,
    MacAddress: multiNetworkCreate(opts) ? mac : undefined,
    DriverOpts: cfg?.driver_opts && Object.keys(cfg.driver_opts).length ? cfg.driver_opts : undefined,
  });
}

/**
 * `links` and `external_links` as Compose v2 makes them: each container of a linked service under the
 * link's alias, `<service>-<n>` and `<project>-<service>-<n>` (n: this container's number).
 */
export function serviceLinks(ref: ServiceRef, opts: ContainerOptions): string[] | undefined {
  const out: string[] = [];
  for (const link of ref.service.links ?? []) {
    const [service = '', alias = service] = link.split(':');
    const containers = opts.serviceContainers?.(service) ?? [serviceContainerRef(ref, opts, service, 'links')];
    for (const c of containers) {
      out.push(`${c}:${alias}`, `${c}:${service}-${opts.number}`, `${c}:${ref.project.name}-${service}-${opts.number}`);
    }
  }
  for (const link of ref.service.external_links ?? []) {
    const [container = '', alias = container] = link.split(':');
    out.push(`${container}:${alias}`);
  }
  // `links: [db, db:database]` names db's containers twice under `db-1`: once is enough.
  return out.length ? [...new Set(out)] : undefined;
}
