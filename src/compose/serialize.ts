// The canonical form of a project, as `docker compose config` prints it: YAML (2-space indent, block
// sequences indented under their key) or JSON (2-space indent, no final newline). Compose marshals its
// Go model, so its output follows that model's rules, which this module reproduces:
// - keys in the model's field order (`name:` first, then services, networks, volumes, secrets,
//   configs, models); the keys of maps (services, labels, environment...) sorted;
// - empty values left out (omitempty), except the fields Compose keeps when set even to zero or false
//   (`replicas: 0`, `init: false`), `required:` of depends_on always, and a `required`/`create_host_path`
//   that is true (their default) left out of YAML;
// - sizes as strings of bytes ("536870912"), durations in Go's form ("1m30s"), file modes in octal
//   ("0444"), extra_hosts as sorted "host=ip" lines;
// - in JSON (Go's encoding/json): the top-level keys sorted, `command`/`entrypoint` always present
//   (null when unset), a deploy's `resources`/`placement` and a network's `ipam` always present, no
//   `x-*` keys below the top level;
// - no internal field of the project (its directory, files, environment, disabled services).
// Every `$` of the output is doubled when the project was interpolated, so the output loads back to
// the same project.
import { stringify } from 'yaml';
import { normaliseDuration } from './loader/units.js';
import type { Project } from './types.js';

type Format = 'yaml' | 'json';
type Dict = Record<string, unknown>;

/**
 * How a field is printed:
 * - plain: left out when empty (undefined, null, '', false, 0, [], {});
 * - ptr: left out only when unset (Compose keeps `replicas: 0`, `init: false`);
 * - always: printed even when unset;
 * - optout: a boolean whose default is true, left out of YAML when true and of JSON when false;
 * - duration / durationPtr: a Go duration string ("1m30s"), left out when zero / only when unset;
 * - bytes: a byte count printed as a string; mode: a file mode printed in octal;
 * - hosts: extra_hosts as sorted "host=ip" lines; ulimits: a number or {soft, hard};
 * - map: a mapping with sorted keys whose values are printed as they are (null included);
 * - command: a command line (in JSON always present, null when unset: Go's json tag has no omitempty);
 * - cpus: a number of CPUs (a string in the model) printed as a number.
 */
type How = 'plain' | 'ptr' | 'always' | 'optout' | 'duration' | 'durationPtr' | 'bytes' | 'mode' | 'hosts' | 'ulimits' | 'map' | 'command' | 'cpus';

/** A field: a scalar/list printed per `how`, or a nested struct (`ptr`: printed when set; `value`: as Go prints a non-pointer struct), a list or a map of structs. */
interface Field {
  key: string;
  how: How;
  struct?: string;
  kind?: 'ptr' | 'value' | 'list' | 'map';
}

/**
 * The structs of Compose's model, their fields in the order Compose prints them. A field is written
 * `key`, `key:how`, `key>struct` (pointer), `key>>struct` (value), `key[]struct`, `key{}struct`.
 */
const STRUCTS: Record<string, string> = {
  service: `profiles annotations:map attach:ptr build>build develop>develop blkio_config>blkio cap_add cap_drop
    cgroup_parent cgroup cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpus cpuset cpu_shares
    command:command configs[]fileref container_name credential_spec>credspec depends_on{}dependency deploy>deploy
    device_cgroup_rules devices[]device dns dns_opt dns_search dockerfile domainname entrypoint:command provider>provider
    environment:map env_file[]envfile expose extends>extends external_links extra_hosts:hosts group_add gpus[]devicerequest
    hostname healthcheck>healthcheck image init:ptr ipc isolation labels:map label_file links logging>logging log_driver
    log_opt:map mem_limit:bytes mem_reservation:bytes memswap_limit:bytes mem_swappiness:bytes mac_address
    models{}servicemodel net network_mode networks{}servicenetwork oom_kill_disable oom_score_adj pid pids_limit platform
    ports[]port privileged pull_policy read_only restart runtime scale:ptr secrets[]fileref security_opt shm_size:bytes
    stdin_open stop_grace_period:durationPtr stop_signal storage_opt:map sysctls:map tmpfs tty ulimits:ulimits
    use_api_socket user userns_mode uts volume_driver volumes[]volume volumes_from working_dir pre_start[]hook
    post_start[]hook pre_stop[]hook`,
  build: `context dockerfile dockerfile_inline entitlements args:map provenance sbom ssh labels:map cache_from cache_to
    no_cache no_cache_filter additional_contexts:map pull extra_hosts:hosts isolation network target secrets[]fileref
    shm_size:bytes tags ulimits:ulimits platforms privileged`,
  develop: 'watch[]watch',
  watch: 'path:always action:always target exec>>hook include ignore initial_sync',
  hook: 'command:command image user privileged working_dir environment:map per_replica',
  blkio: 'weight weight_device device_read_bps device_read_iops device_write_bps device_write_iops',
  credspec: 'config file registry',
  dependency: 'condition restart required:always',
  deploy: `mode replicas:ptr labels:map update_config>update rollback_config>update resources>>resources
    restart_policy>restartpolicy placement>>placement endpoint_mode`,
  update: 'parallelism:ptr delay:duration failure_action monitor:duration max_failure_ratio order',
  resources: 'limits>resource reservations>resource',
  resource: 'cpus:cpus memory:bytes pids devices[]devicerequest generic_resources',
  restartpolicy: 'condition delay:durationPtr max_attempts:ptr window:durationPtr',
  placement: 'constraints preferences max_replicas_per_node',
  devicerequest: 'capabilities driver count device_ids options:map',
  device: 'source target permissions',
  provider: 'type options:map',
  envfile: 'path required:optout format',
  extends: 'file service',
  healthcheck: `test timeout:durationPtr interval:durationPtr retries:ptr start_period:durationPtr
    start_interval:durationPtr disable`,
  logging: 'driver options:map',
  servicemodel: 'endpoint_var model_var',
  servicenetwork: 'aliases driver_opts:map gw_priority interface_name ipv4_address ipv6_address link_local_ips mac_address priority',
  port: 'name mode host_ip target published protocol app_protocol',
  fileref: 'source target uid gid mode:mode',
  volume: 'type source target read_only consistency bind>bind volume>volumeoptions tmpfs>tmpfs image>imageoptions',
  bind: 'selinux propagation create_host_path:optout recursive',
  volumeoptions: 'labels:map nocopy subpath',
  tmpfs: 'size:bytes mode',
  imageoptions: 'subpath',
  network: `name driver driver_opts:map ipam>>ipam external internal attachable labels:map enable_ipv4:ptr
    enable_ipv6:ptr`,
  ipam: 'driver config[]ipampool options:map',
  ipampool: 'subnet gateway ip_range aux_addresses:map',
  topvolume: 'name driver driver_opts:map external labels:map',
  secret: 'name file environment external labels:map driver driver_opts:map template_driver',
  config: 'name file environment content external labels:map driver driver_opts:map template_driver',
  model: 'name model context_size runtime_flags',
};

const FIELDS: Record<string, Field[]> = Object.fromEntries(
  Object.entries(STRUCTS).map(([name, spec]) => [name, spec.trim().split(/\s+/).map(parseField)]),
);

function parseField(spec: string): Field {
  const m = /^([a-z0-9_]+)(?::([a-zA-Z]+)|>>([a-z]+)|>([a-z]+)|\[\]([a-z]+)|\{\}([a-z]+))?$/.exec(spec);
  if (!m) throw new Error(`serialize: bad field spec ${spec}`);
  const [, key, how, value, ptr, list, map] = m;
  if (value) return { key: key!, how: 'plain', struct: value, kind: 'value' };
  if (ptr) return { key: key!, how: 'plain', struct: ptr, kind: 'ptr' };
  if (list) return { key: key!, how: 'plain', struct: list, kind: 'list' };
  if (map) return { key: key!, how: 'plain', struct: map, kind: 'map' };
  return { key: key!, how: (how as How | undefined) ?? 'plain' };
}

export interface SerializeOptions {
  format: Format;
  /** false (`--no-interpolate`): `$` is printed as it is, not doubled. */
  interpolated?: boolean;
}

/** The project as `docker compose config` prints it. */
export function serializeProject(project: Project, opts: SerializeOptions): string {
  const model = projectModel(project, opts.format);
  const text =
    opts.format === 'json'
      ? JSON.stringify(model, null, 2)
      : stringify(model, { version: '1.1', indent: 2, indentSeq: true, lineWidth: 0, minContentWidth: 0 });
  return opts.interpolated === false ? text : text.replace(/\$/g, '$$$$');
}

/** The project as the ordered plain object Compose marshals (useful to tests and to `--hash`). */
export function projectModel(project: Project, format: Format): Dict {
  const out: Dict = project.name ? { name: project.name } : {};
  out.services = sortedMap(project.services, (s) => struct('service', s, format) ?? {});
  const sections: [string, Record<string, unknown>, string][] = [
    ['networks', project.networks, 'network'],
    ['volumes', project.volumes, 'topvolume'],
    ['secrets', project.secrets, 'secret'],
    ['configs', project.configs, 'config'],
  ];
  for (const [key, section, type] of sections) {
    if (Object.keys(section).length) out[key] = sortedMap(section, (v) => (v === null ? null : struct(type, secretContent(type, v), format) ?? {}));
  }
  // Compose's JSON marshaller has no models section; its YAML one does.
  if (format === 'yaml' && project.models && Object.keys(project.models).length) {
    out.models = sortedMap(project.models, (v) => struct('model', v, format) ?? {});
  }
  for (const [k, v] of Object.entries(project.extensions ?? {}).sort(byKey)) out[k] = v;
  if (format === 'json') return Object.fromEntries(Object.entries(out).sort(byKey));
  return out;
}

/** Compose never prints a secret's content, nor a config's when it came from the environment. */
function secretContent(type: string, v: unknown): unknown {
  if (!isDict(v)) return v;
  if (type === 'secret' || (type === 'config' && v.environment)) {
    const { content: _content, ...rest } = v;
    return rest;
  }
  return v;
}

function struct(type: string, value: unknown, format: Format): Dict | undefined {
  if (!isDict(value)) return undefined;
  const out: Dict = {};
  for (const field of FIELDS[type]!) {
    const printed = fieldValue(field, value[field.key], format);
    if (printed !== OMIT) out[field.key] = printed;
  }
  // x-* extensions: inline after the fields in YAML; JSON leaves them out (Go's json:"-").
  if (format === 'yaml') {
    const ext = { ...(isDict(value.extensions) ? value.extensions : {}), ...Object.fromEntries(Object.entries(value).filter(([k]) => k.startsWith('x-'))) };
    for (const [k, v] of Object.entries(ext).sort(byKey)) out[k] = v;
  }
  return out;
}

const OMIT = Symbol('omit');

function fieldValue(field: Field, v: unknown, format: Format): unknown {
  if (field.kind) return nested(field, v, format);
  switch (field.how) {
    case 'always':
      return v ?? null;
    case 'ptr':
      return v === undefined || v === null ? OMIT : v;
    case 'optout':
      if (v === undefined || v === null) return OMIT;
      return format === 'yaml' ? (v === true ? OMIT : v) : v === true ? true : OMIT;
    case 'duration':
    case 'durationPtr': {
      if (v === undefined || v === null || v === '') return OMIT;
      const d = goDuration(v);
      return field.how === 'duration' && d === '0s' ? OMIT : d;
    }
    case 'bytes':
      if (v === undefined || v === null || v === 0 || v === '') return OMIT;
      return typeof v === 'number' ? String(Math.trunc(v)) : v;
    case 'mode':
      if (v === undefined || v === null) return OMIT;
      return typeof v === 'number' ? `0${v.toString(8)}` : v;
    case 'cpus':
      if (v === undefined || v === null || v === '' || Number(v) === 0) return OMIT;
      return Number.isFinite(Number(v)) ? Number(v) : v;
    case 'hosts':
      return isDict(v) ? emptyToOmit(hostsList(v)) : emptyToOmit(v);
    case 'ulimits':
      return isDict(v) && Object.keys(v).length ? sortedMap(v, ulimit) : OMIT;
    case 'map':
      return isDict(v) && Object.keys(v).length ? sortedMap(v, (x) => x) : OMIT;
    case 'command':
      if (v === undefined || v === null) return format === 'json' ? null : OMIT;
      return v;
    default:
      return emptyToOmit(v);
  }
}

function nested(field: Field, v: unknown, format: Format): unknown {
  const type = field.struct!;
  switch (field.kind) {
    case 'ptr':
      return isDict(v) ? struct(type, v, format) : OMIT;
    case 'value': {
      const s = struct(type, isDict(v) ? v : {}, format)!;
      // Go's YAML encoder leaves out an empty struct; its JSON encoder prints it ({}).
      return format === 'json' || Object.keys(s).length ? s : OMIT;
    }
    case 'list':
      return Array.isArray(v) && v.length ? v.map((item) => (isDict(item) ? struct(type, item, format) : item)) : OMIT;
    case 'map':
      return isDict(v) && Object.keys(v).length ? sortedMap(v, (item) => (isDict(item) ? struct(type, item, format) : null)) : OMIT;
    default:
      return OMIT;
  }
}

function emptyToOmit(v: unknown): unknown {
  if (v === undefined || v === null || v === '' || v === false || v === 0) return OMIT;
  if (Array.isArray(v) && v.length === 0) return OMIT;
  if (isDict(v) && Object.keys(v).length === 0) return OMIT;
  return v;
}

/** extra_hosts: "host=ip" for each address, sorted (Compose's HostsList). */
function hostsList(hosts: Dict): string[] {
  const list: string[] = [];
  for (const [host, ips] of Object.entries(hosts)) {
    for (const ip of Array.isArray(ips) ? ips : [ips]) list.push(`${host}=${String(ip)}`);
  }
  return list.sort();
}

function ulimit(v: unknown): unknown {
  if (!isDict(v)) return v;
  if (v.single) return v.single;
  return { soft: v.soft ?? 0, hard: v.hard ?? 0 };
}

function sortedMap(m: Record<string, unknown>, f: (v: unknown) => unknown): Dict {
  return Object.fromEntries(Object.entries(m).sort(byKey).map(([k, v]) => [k, f(v)]));
}

function byKey(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A duration in Go's time.Duration.String() form ("1m30s", "1h0m0s", "500ms"); a value that is not one is kept. */
export function goDuration(v: unknown): string {
  try {
    return normaliseDuration(v);
  } catch {
    return String(v);
  }
}
