// The container's Config: environment, ports (published and exposed), health check and Compose's
// labels — getCreateConfigs' container.Config and buildContainerPorts/buildContainerPortBindingOptions.
import type { HealthConfig, PortBinding } from '../../api/types.js';
import * as L from '../labels.js';
import { apiAtLeast, compact, invalid, nanoseconds, unsupported, type ContainerOptions, type ServiceRef } from './common.js';

/** The image a service runs: `image`, else the name Compose v2 gives a built image (`<project>-<service>`). */
export function serviceImage(ref: Pick<ServiceRef, 'project' | 'name' | 'service'>): string {
  return ref.service.image ?? `${ref.project.name}-${ref.name}`;
}

/** Declared variables without a value (and not set in the shell) are left out, as the model says. */
export function environment(ref: ServiceRef): string[] | undefined {
  const env = Object.entries(ref.service.environment ?? {}).filter((e): e is [string, string] => e[1] !== null && e[1] !== undefined);
  return env.length ? env.map(([k, v]) => `${k}=${v}`) : undefined;
}

/** User labels, then Compose v2's own (they win: a user label cannot fake a project's state). */
export function containerLabels(ref: ServiceRef, opts: ContainerOptions): Record<string, string> {
  const { project, name, service } = ref;
  const dependsOn = Object.entries(service.depends_on ?? {}).map(([dep, d]) => `${dep}:${d.condition}:${d.restart ?? false}`);
  return compact<Record<string, string | undefined>>({
    ...service.labels,
    ...opts.labels,
    [L.PROJECT]: project.name,
    [L.SERVICE]: name,
    [L.CONTAINER_NUMBER]: String(opts.number),
    [L.ONEOFF]: opts.oneoff ? 'True' : 'False',
    [L.CONFIG_HASH]: opts.configHash,
    [L.IMAGE]: opts.imageId,
    [L.DEPENDS_ON]: dependsOn.join(','),
    [L.CONFIG_FILES]: project.composeFiles.join(','),
    [L.WORKING_DIR]: project.workingDir,
    [L.VERSION]: L.COMPOSE_VERSION,
  }) as Record<string, string>;
}

/** Port keys as the Engine API writes them: "80/tcp". */
function portKey(ref: ServiceRef, port: number | string, protocol: string | undefined, key: string): string {
  const p = Number(port);
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalid(ref.name, key, `invalid container port ${JSON.stringify(String(port))}`);
  const proto = (protocol || 'tcp').toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw invalid(ref.name, key, `invalid protocol ${JSON.stringify(protocol)}`);
  return `${p}/${proto}`;
}

/** "8080" or "8080-8090" (a range the engine picks a free port from); "" for an ephemeral one. */
function hostPort(ref: ServiceRef, published: string | undefined, key: string): string {
  if (published === undefined || published === '') return '';
  const m = /^(\d+)(?:-(\d+))?$/.exec(String(published));
  const ok = m && Number(m[1]) <= 65535 && (m[2] === undefined || (Number(m[2]) <= 65535 && Number(m[2]) >= Number(m[1])));
  if (!ok) throw invalid(ref.name, key, `invalid published port ${JSON.stringify(published)}`);
  return String(published);
}

/** Always a map, empty without ports, as Compose sends it (a one-off's `run` adds its -p ones to it). */
export function portBindings(ref: ServiceRef): Record<string, PortBinding[]> {
  const out: Record<string, PortBinding[]> = {};
  (ref.service.ports ?? []).forEach((p, i) => {
    const key = `ports[${i}]`;
    (out[portKey(ref, p.target, p.protocol, key)] ??= []).push({ HostIp: p.host_ip ?? '', HostPort: hostPort(ref, p.published, key) });
  });
  return out;
}

/** Published ports' targets and `expose` (ranges expanded), as the image's EXPOSE would be. */
export function exposedPorts(ref: ServiceRef): Record<string, object> | undefined {
  const out: Record<string, object> = {};
  (ref.service.ports ?? []).forEach((p, i) => (out[portKey(ref, p.target, p.protocol, `ports[${i}]`)] = {}));
  for (const e of ref.service.expose ?? []) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(\w+))?$/.exec(String(e));
    if (!m) throw invalid(ref.name, 'expose', `invalid port ${JSON.stringify(String(e))}`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (end < start) throw invalid(ref.name, 'expose', `invalid port range ${JSON.stringify(String(e))}`);
    for (let p = start; p <= end; p++) out[portKey(ref, p, m[3], 'expose')] = {};
  }
  return Object.keys(out).length ? out : undefined;
}

/** healthcheck → HealthConfig (durations in ns); `disable` → ["NONE"], which turns the image's off. */
export function healthcheck(ref: ServiceRef, opts: ContainerOptions): HealthConfig | undefined {
  const h = ref.service.healthcheck;
  if (!h) return undefined;
  const d = (k: 'interval' | 'timeout' | 'start_period' | 'start_interval') => nanoseconds(ref.name, `healthcheck.${k}`, h[k]);
  if (h.start_interval !== undefined && !apiAtLeast(opts, '1.44')) {
    throw unsupported(ref.name, 'healthcheck.start_interval', 'the engine needs API 1.44 (Docker Engine v25) or later');
  }
  return compact({
    Test: h.disable ? ['NONE'] : h.test,
    Interval: d('interval'),
    Timeout: d('timeout'),
    StartPeriod: d('start_period'),
    StartInterval: d('start_interval'),
    Retries: h.retries,
  });
}
