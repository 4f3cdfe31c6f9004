// Whether a service's container must be recreated, and why. The decision is Compose v2's mustRecreate:
// the config-hash label differs from the service's hash, or the image ID in com.docker.compose.image
// differs from the one `up` resolved. The reasons go beyond Compose (issue 11 item 7): the desired
// create request is compared with the container's inspect, key by key, and each difference is named
// in the compose file's words (`environment.LOG_LEVEL changed`, `ports changed`, `image changed
// (sha256:ab… → sha256:cd…)`). What the engine added on its own — the image's environment, labels,
// command, exposed ports and health check merged into Config, a default hostname, log driver, IPC mode
// or /dev/shm size — is never reported: the image's config is merged into the desired side as the
// engine merges it, and a field the request leaves unset is compared only where unset is recognisable.
// Values are shown for resources and the image, never for environment variables (they hold secrets).
import type { ContainerCreateRequest, ContainerInspect, EndpointSettings, HealthConfig, ImageRuntimeConfig, Mount } from '../api/types.js';
import { bytesSize } from '../lib/units.js';
import * as L from './labels.js';

export type RecreatePolicy = 'diverged' | 'force' | 'never';

/**
 * Compose v2's mustRecreate: `force` always, `never` never; else a differing config hash, or (when `up`
 * resolved it) a differing image ID.
 */
export function mustRecreate(
  labels: Record<string, string> | null | undefined,
  desired: { configHash: string; imageId?: string },
  policy: RecreatePolicy = 'diverged',
): boolean {
  if (policy === 'never') return false;
  if (policy === 'force') return true;
  if ((labels?.[L.CONFIG_HASH] ?? '') !== desired.configHash) return true;
  return desired.imageId !== undefined && (labels?.[L.IMAGE] ?? '') !== desired.imageId;
}

export interface RecreateInput {
  /** The create request the service converts to now (convert.ts). */
  desired: ContainerCreateRequest;
  /** Networks connected after create (convert.ts networkConnects), when the engine predates API 1.44. */
  connects?: { network: string; endpoint: EndpointSettings }[];
  /** GET /containers/{id}/json of the existing container. */
  actual: ContainerInspect;
  /**
   * The config of the image the existing container was created from (GET /images/{actual.Image}/json
   * → Config): what the engine merged into its Config. Without it, only what the request sets is compared.
   */
  actualImage?: ImageRuntimeConfig | null;
}

/**
 * Human-readable reasons, in a stable order; empty when the container is what the service asks for.
 * A differing config hash that no compared key explains (secrets copied in, a key the request does not
 * show, a hash written by another compose) is said as it is: `configuration changed (config hash)`.
 */
export function recreateReasons(input: RecreateInput): string[] {
  const reasons = [...imageReasons(input), ...configReasons(input), ...hostReasons(input), ...networkReasons(input)];
  const want = input.desired.Labels?.[L.CONFIG_HASH];
  if (!reasons.length && want && want !== input.actual.Config.Labels?.[L.CONFIG_HASH]) reasons.push('configuration changed (config hash)');
  return reasons;
}

// ---- helpers ----

const COMPOSE_LABEL = /^com\.docker\.compose\./;

function shortId(id: string): string {
  const m = /^(sha256:)?([0-9a-f]{12})[0-9a-f]{52}$/.exec(id);
  return m ? `${m[1] ?? ''}${m[2]}…` : id;
}

/** A value with the engine's "unset" forms (null, 0, '', false, [], {}) as null, for comparison. */
function norm(v: unknown): unknown {
  if (v === undefined || v === null || v === 0 || v === '' || v === false) return null;
  if (Array.isArray(v)) return v.length ? v.map(norm) : null;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => [k, norm(x)] as const)
      .filter(([, x]) => x !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.length ? Object.fromEntries(entries) : null;
  }
  return v;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

function sortedSame(a: readonly string[] | null | undefined, b: readonly string[] | null | undefined): boolean {
  return same([...(a ?? [])].sort(), [...(b ?? [])].sort());
}

function envMap(env: readonly string[] | null | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const eq = e.indexOf('=');
    m.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
  }
  return m;
}

/** Keyed differences in the compose file's words: `environment.X changed|added|removed`. */
function mapReasons(key: string, want: Map<string, string>, have: Map<string, string>, removals: boolean): string[] {
  const out: string[] = [];
  for (const [k, v] of want) {
    if (!have.has(k)) out.push(`${key}.${k} added`);
    else if (have.get(k) !== v) out.push(`${key}.${k} changed`);
  }
  if (removals) for (const k of have.keys()) if (!want.has(k)) out.push(`${key}.${k} removed`);
  return out;
}

// ---- the image ----

function imageReasons({ desired, actual }: RecreateInput): string[] {
  const was = actual.Config.Image ?? '';
  if (desired.Image && was && desired.Image !== was) return [`image changed (${shortId(was)} → ${shortId(desired.Image)})`];
  const wantId = desired.Labels?.[L.IMAGE];
  const hadId = actual.Config.Labels?.[L.IMAGE] || actual.Image;
  if (wantId && hadId && wantId !== hadId) return [`image changed (${shortId(hadId)} → ${shortId(wantId)})`];
  return [];
}

// ---- Config, with the image's defaults merged as the engine merges them ----

/** dockerd's merge of a create request's Config with its image's (daemon/commit.go merge). */
function mergedConfig(d: ContainerCreateRequest, img: ImageRuntimeConfig) {
  const entrypointGiven = (d.Entrypoint?.length ?? 0) > 0;
  const env = envMap(img.Env);
  for (const [k, v] of envMap(d.Env)) env.set(k, v);
  return {
    env,
    labels: { ...img.Labels, ...d.Labels },
    cmd: (d.Cmd?.length ?? 0) > 0 ? d.Cmd : entrypointGiven ? null : img.Cmd,
    entrypoint: entrypointGiven ? d.Entrypoint : d.Entrypoint === undefined || d.Entrypoint === null ? img.Entrypoint : null,
    workingDir: d.WorkingDir || img.WorkingDir,
    user: d.User || img.User,
    stopSignal: d.StopSignal || img.StopSignal,
    exposed: { ...img.ExposedPorts, ...d.ExposedPorts },
    healthcheck: mergedHealth(d.Healthcheck, img.Healthcheck),
  };
}

function mergedHealth(d: HealthConfig | undefined, img: HealthConfig | undefined): HealthConfig | undefined {
  if (!d) return img;
  if (!img) return d;
  return {
    Test: d.Test?.length ? d.Test : img.Test,
    Interval: d.Interval || img.Interval,
    Timeout: d.Timeout || img.Timeout,
    StartPeriod: d.StartPeriod || img.StartPeriod,
    StartInterval: d.StartInterval || img.StartInterval,
    Retries: d.Retries || img.Retries,
  };
}

function userLabels(labels: Record<string, string> | null | undefined): Map<string, string> {
  return new Map(Object.entries(labels ?? {}).filter(([k]) => !COMPOSE_LABEL.test(k)));
}

function configReasons({ desired: d, actual, actualImage }: RecreateInput): string[] {
  const a = actual.Config;
  const out: string[] = [];
  if (actualImage) {
    const m = mergedConfig(d, actualImage);
    out.push(...mapReasons('environment', m.env, envMap(a.Env), true));
    if (!same(m.cmd, a.Cmd)) out.push('command changed');
    if (!same(m.entrypoint, a.Entrypoint)) out.push('entrypoint changed');
    out.push(...mapReasons('labels', userLabels(m.labels), userLabels(a.Labels), true));
    if (!same(m.workingDir, a.WorkingDir)) out.push('working_dir changed');
    if (!same(m.user, a.User)) out.push('user changed');
    if (!same(m.stopSignal, a.StopSignal)) out.push('stop_signal changed');
    if (!sortedSame(Object.keys(m.exposed), Object.keys(a.ExposedPorts ?? {}))) out.push('expose changed');
    if (!same(m.healthcheck, a.Healthcheck)) out.push('healthcheck changed');
  } else {
    // Without the image, only what the request sets can be told apart from the engine's additions.
    out.push(...mapReasons('environment', envMap(d.Env), envMap(a.Env), false));
    if (d.Cmd?.length && !same(d.Cmd, a.Cmd)) out.push('command changed');
    if (d.Entrypoint && !same(d.Entrypoint, a.Entrypoint)) out.push('entrypoint changed');
    out.push(...mapReasons('labels', userLabels(d.Labels), userLabels(a.Labels), false));
    if (d.WorkingDir && d.WorkingDir !== a.WorkingDir) out.push('working_dir changed');
    if (d.User && d.User !== a.User) out.push('user changed');
    if (d.StopSignal && d.StopSignal !== a.StopSignal) out.push('stop_signal changed');
    if (Object.keys(d.ExposedPorts ?? {}).some((p) => !(p in (a.ExposedPorts ?? {})))) out.push('expose changed');
    const h = d.Healthcheck ?? {};
    if ((Object.keys(h) as (keyof HealthConfig)[]).some((k) => !same(h[k], a.Healthcheck?.[k]))) out.push('healthcheck changed');
  }
  // The engine names a container's host after its ID unless told otherwise.
  const defaultHostname = actual.Id.slice(0, 12);
  if ((d.Hostname || defaultHostname) !== (a.Hostname || defaultHostname)) out.push('hostname changed');
  if (!same(d.Domainname, a.Domainname)) out.push('domainname changed');
  if (!same(d.Tty, a.Tty)) out.push('tty changed');
  if (!same(d.OpenStdin, a.OpenStdin)) out.push('stdin_open changed');
  // 10 s is the engine's default stop timeout (berthd records it).
  if ((d.StopTimeout ?? 10) !== (a.StopTimeout ?? 10)) out.push('stop_grace_period changed');
  return out;
}

// ---- HostConfig ----

type Shown = (v: unknown) => string;
const raw: Shown = (v) => (v === undefined || v === null || v === 0 ? 'unset' : String(v));
const bytes: Shown = (v) => (typeof v === 'number' && v > 0 ? bytesSize(v) : v === -1 ? 'unlimited' : 'unset');
const cpus: Shown = (v) => (typeof v === 'number' && v > 0 ? String(v / 1e9) : 'unset');

/** [compose key, HostConfig field, how to show values (none: not shown), compared when the request leaves it unset]. */
const HOST_FIELDS: [string, keyof NonNullable<ContainerCreateRequest['HostConfig']>, Shown | null, boolean][] = [
  ['mem_limit', 'Memory', bytes, true],
  // The engine derives a swap limit from the memory limit when none is given.
  ['memswap_limit', 'MemorySwap', bytes, false],
  ['mem_reservation', 'MemoryReservation', bytes, true],
  ['cpus', 'NanoCpus', cpus, true],
  ['cpu_shares', 'CpuShares', raw, true],
  ['cpu_quota', 'CpuQuota', raw, true],
  ['cpu_period', 'CpuPeriod', raw, true],
  ['cpuset', 'CpusetCpus', raw, true],
  ['pids_limit', 'PidsLimit', raw, true],
  ['oom_kill_disable', 'OomKillDisable', null, true],
  // 64 MiB /dev/shm is the engine's default.
  ['shm_size', 'ShmSize', bytes, false],
  ['ulimits', 'Ulimits', null, true],
  ['devices', 'Devices', null, true],
  ['blkio_config.weight', 'BlkioWeight', raw, true],
  ['cpu_rt_period', 'CpuRealtimePeriod', raw, true],
  ['cpu_rt_runtime', 'CpuRealtimeRuntime', raw, true],
  ['privileged', 'Privileged', null, true],
  ['read_only', 'ReadonlyRootfs', null, true],
  ['init', 'Init', null, true],
  ['security_opt', 'SecurityOpt', null, true],
  ['sysctls', 'Sysctls', null, true],
  ['tmpfs', 'Tmpfs', null, true],
  ['volumes_from', 'VolumesFrom', null, true],
  ['dns', 'Dns', null, true],
  ['dns_search', 'DnsSearch', null, true],
  ['dns_opt', 'DnsOptions', null, true],
  ['network_mode', 'NetworkMode', raw, true],
  // The engine's defaults (private/shareable IPC, its log driver, runc) fill these when unset.
  ['pid', 'PidMode', raw, false],
  ['ipc', 'IpcMode', raw, false],
  ['uts', 'UTSMode', raw, false],
  ['logging', 'LogConfig', null, false],
  ['runtime', 'Runtime', raw, false],
  ['volume_driver', 'VolumeDriver', raw, false],
];

/** Lists whose order means nothing to the engine. */
const SETS = new Set(['CapAdd', 'CapDrop', 'ExtraHosts', 'GroupAdd', 'Links', 'Binds']);

function hostReasons({ desired, actual, actualImage }: RecreateInput): string[] {
  const d = desired.HostConfig ?? {};
  const a = actual.HostConfig ?? {};
  const out: string[] = [];
  for (const [key, field, show, whenUnset] of HOST_FIELDS) {
    const want = d[field];
    if (norm(want) === null && !whenUnset) continue;
    if (same(want, a[field])) continue;
    out.push(show ? `${key} changed (${show(a[field])} → ${show(want)})` : `${key} changed`);
  }
  for (const [key, field] of [['cap_add', 'CapAdd'], ['cap_drop', 'CapDrop'], ['extra_hosts', 'ExtraHosts'], ['group_add', 'GroupAdd'], ['links', 'Links'], ['volumes', 'Binds']] as const) {
    if (SETS.has(field) && !sortedSame(d[field], a[field])) out.push(`${key} changed`);
  }
  const restart = (r: typeof d.RestartPolicy) => `${r?.Name || 'no'}${r?.MaximumRetryCount ? `:${r.MaximumRetryCount}` : ''}`;
  if (restart(d.RestartPolicy) !== restart(a.RestartPolicy)) out.push(`restart changed (${restart(a.RestartPolicy)} → ${restart(d.RestartPolicy)})`);
  if (!sortedSame(portList(d.PortBindings), portList(a.PortBindings))) out.push('ports changed');
  out.push(...mountReasons(d.Mounts, a.Mounts, actualImage));
  return out;
}

function portList(pb: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null | undefined): string[] {
  return Object.entries(pb ?? {}).flatMap(([port, bs]) => (bs ?? []).map((b) => `${b.HostIp || ''}:${b.HostPort || ''}->${port}`));
}

/** An anonymous volume's engine name: 64 hex digits. */
const ANONYMOUS = /^[0-9a-f]{64}$/;

/**
 * Mounts by target. A recreated container inherits its predecessor's anonymous volumes (Compose's
 * behaviour, `up` without -V): the request then names them, where the service's anonymous volume has
 * no source, and adds those of the image's VOLUMEs — neither is a change.
 */
function mountReasons(want: Mount[] | null | undefined, have: Mount[] | null | undefined, image: ImageRuntimeConfig | null | undefined): string[] {
  const key = (m: Mount) => m.Target ?? '';
  const had = new Map((have ?? []).map((m) => [key(m), m]));
  const out: string[] = [];
  for (const m of want ?? []) {
    const h = had.get(key(m));
    had.delete(key(m));
    const inherited = m.Type === 'volume' && !m.Source && h?.Type === 'volume' && ANONYMOUS.test(h.Source ?? '');
    if (!h) out.push(`volume ${key(m)} added`);
    else if (!same(m, inherited ? { ...h, Source: undefined } : h)) out.push(`volume ${key(m)} changed`);
  }
  for (const [target, h] of had) {
    const imageVolume = h.Type === 'volume' && ANONYMOUS.test(h.Source ?? '') && (!image || target in (image.Volumes ?? {}));
    if (!imageVolume) out.push(`volume ${target} removed`);
  }
  return out;
}

// ---- networks ----

function networkReasons({ desired, connects, actual }: RecreateInput): string[] {
  const endpoints: Record<string, EndpointSettings> = { ...desired.NetworkingConfig?.EndpointsConfig };
  for (const c of connects ?? []) endpoints[c.network] = c.endpoint;
  if (!Object.keys(endpoints).length) return [];
  const have = actual.NetworkSettings?.Networks ?? {};
  const out: string[] = [];
  const added = Object.keys(endpoints).filter((n) => !(n in have));
  const removed = Object.keys(have).filter((n) => !(n in endpoints));
  if (added.length || removed.length) {
    out.push(`networks changed (${[...added.map((n) => `+${n}`), ...removed.map((n) => `-${n}`)].join(', ')})`);
  }
  for (const [name, want] of Object.entries(endpoints)) {
    const h = have[name];
    if (!h) continue;
    // The engine adds aliases of its own (the container's short ID): the wanted ones must all be there.
    if ((want.Aliases ?? []).some((x) => !(h.Aliases ?? []).includes(x))) out.push(`networks.${name}.aliases changed`);
    if (!same(want.IPAMConfig?.IPv4Address, h.IPAMConfig?.IPv4Address)) out.push(`networks.${name}.ipv4_address changed`);
    if (!same(want.IPAMConfig?.IPv6Address, h.IPAMConfig?.IPv6Address)) out.push(`networks.${name}.ipv6_address changed`);
    if (want.MacAddress && want.MacAddress !== h.MacAddress) out.push(`networks.${name}.mac_address changed`);
  }
  return out;
}
