// The config hash: what `up` compares (label com.docker.compose.config-hash) to decide whether a
// container is up to date. As Compose v2's ServiceHash: a sha256 of the service's configuration without
// the keys that do not change a container — build, pull_policy, scale, deploy.replicas, depends_on (its
// conditions and restart flags only order and restart things), profiles and x-* extensions. berth also
// leaves out what only steers `up` itself or another tool: deploy.update_config and rollback_config
// (how to roll, not what runs), deploy.labels (Compose puts them on no container), deploy.placement
// and endpoint_mode (Swarm's), develop (watch rules).
// The JSON is canonical — keys sorted, and zero values of optional fields left out as Go's omitempty
// leaves them out of compose-go's JSON — so the hash does not change with the order keys are written
// in, nor with `privileged: false` written or not. Entries of user maps (environment, labels, …) are
// kept as they are: `FOO: ""` is not the same as no FOO.
// A changed image (same reference, new ID) is not in the hash: the resolved image ID goes in the
// com.docker.compose.image label, as Compose writes the image digest there (recreate.ts compares it).
import { createHash } from 'node:crypto';
import type { ServiceConfig } from './types.js';

/** Fields whose value is a user map: every entry counts, whatever its value. */
const MAP_FIELDS = new Set(['environment', 'labels', 'annotations', 'sysctls', 'extra_hosts', 'driver_opts', 'options', 'args', 'networks', 'ulimits', 'aux_addresses', 'additional_contexts']);
/** Fields where an empty or false value says something (command: [] clears the image's; init: false). */
const KEEP_ZERO = new Set(['command', 'entrypoint', 'init']);

function isZero(v: unknown): boolean {
  if (v === undefined || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return v !== null && typeof v === 'object' && Object.keys(v).length === 0;
}

function canonical(v: unknown, mapEntries = false): unknown {
  if (Array.isArray(v)) return v.map((x) => canonical(x));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v).sort()) {
    const value = (v as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const c = canonical(value, MAP_FIELDS.has(key));
    if (!mapEntries && !KEEP_ZERO.has(key) && isZero(c)) continue;
    out[key] = c;
  }
  return out;
}

/** The service as hashed: without the keys that do not change its containers. */
export function hashedConfig(service: ServiceConfig): Partial<ServiceConfig> {
  const { build: _b, pull_policy: _p, scale: _s, depends_on: _d, profiles: _pr, develop: _dv, extensions: _x, deploy, ...rest } = service;
  if (!deploy) return rest;
  const { replicas: _r, update_config: _u, rollback_config: _rb, labels: _l, placement: _pl, endpoint_mode: _e, ...keptDeploy } = deploy;
  return { ...rest, deploy: keptDeploy };
}

export interface HashOptions {
  /**
   * The container (its ID) standing for service x in `network_mode`/`ipc`/`pid: service:x` and
   * `volumes_from: x`. Compose hashes the service with these references resolved, so a service sharing
   * a recreated container's namespace or volumes (a new ID) is recreated with it.
   */
  serviceContainer?: (service: string) => string;
}

/** `service:x` references replaced by `container:<x's container>`, as Compose resolves them before hashing. */
function withResolvedReferences(service: ServiceConfig, lookup: (service: string) => string): ServiceConfig {
  const mode = (m: string | undefined) => (m?.startsWith('service:') ? `container:${lookup(m.slice('service:'.length))}` : m);
  const from = service.volumes_from?.map((spec) => {
    if (spec.startsWith('container:')) return spec;
    const [name = '', access] = spec.split(':');
    return access ? `${lookup(name)}:${access}` : lookup(name);
  });
  return { ...service, network_mode: mode(service.network_mode), ipc: mode(service.ipc), pid: mode(service.pid), volumes_from: from };
}

export function serviceConfigHash(service: ServiceConfig, opts: HashOptions = {}): string {
  const resolved = opts.serviceContainer ? withResolvedReferences(service, opts.serviceContainer) : service;
  return createHash('sha256').update(JSON.stringify(canonical(hashedConfig(resolved)))).digest('hex');
}
