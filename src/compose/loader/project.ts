// The merged, normalised document as the typed Project model (types.ts): values in the forms the
// model keeps (commands split into arguments, environment and labels as mappings, sizes in bytes,
// durations as Go prints them, `x-` keys under `extensions`). Keys the model does not describe are
// kept as written, so that what berth cannot honour can be refused by name downstream.
import type {
  BuildConfig,
  DeployConfig,
  FileObjectConfig,
  HealthCheckConfig,
  ModelConfig,
  NetworkConfig,
  Project,
  Resources,
  ServiceConfig,
  ServiceDependency,
  ServiceFileReference,
  ServiceNetwork,
  ServicePort,
  ServiceVolume,
  UlimitConfig,
  UpdateConfig,
  VolumeConfig,
} from '../types.js';
import { ComposeError } from '../types.js';
import { shellSplit } from './shellwords.js';
import { goString, isDict, type Dict } from './tree.js';
import { normaliseDuration, toBytes } from './units.js';

type Conv = (v: unknown, at: string) => unknown;

// ---- scalar and collection conversions (the compose-go types' decoders) ----

const str: Conv = (v) => goString(v);
const num: Conv = (v, at) => {
  const n = typeof v === 'number' ? v : Number(v);
  if (typeof v === 'boolean' || Number.isNaN(n)) throw new ComposeError(`${at}: expected a number, got ${goString(v)}`);
  return n;
};
const bool: Conv = (v, at) => {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ComposeError(`${at}: expected a boolean, got ${goString(v)}`);
};
const bytes: Conv = (v, at) => {
  try {
    return toBytes(v);
  } catch (err) {
    throw new ComposeError(`${at}: ${(err as Error).message}`);
  }
};
const duration: Conv = (v, at) => {
  try {
    return normaliseDuration(v);
  } catch (err) {
    throw new ComposeError(`${at}: ${(err as Error).message}`);
  }
};
/** A string or a list of strings/numbers. */
const strList: Conv = (v) => (v === null || v === undefined ? [] : Array.isArray(v) ? v.map(goString) : [goString(v)]);

const command: Conv = (v) => {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return shellSplit(v);
  if (Array.isArray(v)) return v.map(goString);
  return [goString(v)];
};

/** environment, build.args: "KEY=VALUE" / "KEY" (no value: null) or a mapping. */
const mappingWithEquals: Conv = (v, at) => {
  const out: Record<string, string | null> = {};
  if (isDict(v)) {
    for (const [k, e] of Object.entries(v)) out[k] = e === null || e === undefined ? null : goString(e);
  } else if (Array.isArray(v)) {
    for (const item of v) {
      const s = goString(item);
      const eq = s.indexOf('=');
      const k = eq < 0 ? s : s.slice(0, eq);
      if (k !== '' && /\s$/u.test(k)) throw new ComposeError(`environment variable ${k} is declared with a trailing space`);
      out[k] = eq < 0 ? null : s.slice(eq + 1);
    }
  } else if (v !== null && v !== undefined) throw new ComposeError(`${at}: unexpected value type for mapping`);
  return out;
};

/** labels, sysctls, options: "k=v" / "k" (empty) or a mapping. */
const mapping: Conv = (v, at) => {
  const out: Record<string, string> = {};
  if (isDict(v)) {
    for (const [k, e] of Object.entries(v)) out[k] = goString(e);
  } else if (Array.isArray(v)) {
    for (const item of v) {
      const s = goString(item);
      const eq = s.indexOf('=');
      out[eq < 0 ? s : s.slice(0, eq)] = eq < 0 ? '' : s.slice(eq + 1);
    }
  } else if (v !== null && v !== undefined) throw new ComposeError(`${at}: unexpected value type for mapping`);
  return out;
};

/** extra_hosts: "host=ip", "host:ip" (list) or host: ip | [ip...] (mapping) → host → [ip...]. */
const hostsList: Conv = (v, at) => {
  const out: Record<string, string[]> = {};
  if (isDict(v)) {
    for (const [host, e] of Object.entries(v)) out[host] = Array.isArray(e) ? e.map(goString) : [goString(e)];
  } else if (Array.isArray(v)) {
    for (const item of v) {
      const s = goString(item);
      const sep = ['=', ':'].map((c) => s.indexOf(c)).find((i) => i >= 0);
      if (sep === undefined) throw new ComposeError(`invalid additional host, missing IP: ${s}`);
      const host = s.slice(0, sep);
      (out[host] ??= []).push(...s.slice(sep + 1).split(','));
    }
  } else throw new ComposeError(`${at}: unexpected value type for extra_hosts`);
  for (const [host, ips] of Object.entries(out)) {
    if (host === '' || /[:=]/.test(host)) throw new ComposeError(`bad host name '${host}'`);
    out[host] = ips.map((ip) => (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip));
  }
  return out;
};

const fileMode: Conv = (v, at) => {
  if (typeof v === 'number') return v;
  const s = goString(v);
  if (!/^[0-7]+$/.test(s)) throw new ComposeError(`${at}: invalid file mode ${JSON.stringify(s)}`);
  return parseInt(s, 8);
};

/** Converts the keys of `v` with `table`; keys not in it are kept as written (extensions apart). */
function struct<T>(table: Record<string, Conv>, v: unknown, at: string, extensions = true): T {
  if (!isDict(v)) throw new ComposeError(`${at} must be a mapping`);
  const out: Dict = {};
  const ext: Dict = {};
  for (const [k, e] of Object.entries(v)) {
    if (extensions && k.startsWith('x-')) {
      ext[k] = e;
      continue;
    }
    const conv = table[k];
    const converted = conv ? conv(e, `${at}.${k}`) : e;
    if (converted !== undefined) out[k] = converted;
  }
  if (extensions && Object.keys(ext).length) out.extensions = ext;
  return out as T;
}

const sub =
  (table: Record<string, Conv>): Conv =>
  (v, at) =>
    v === null || v === undefined ? undefined : struct(table, v, at);
const listOf =
  (conv: Conv): Conv =>
  (v, at) =>
    Array.isArray(v) ? v.map((e, i) => conv(e, `${at}.${i}`)) : [];
const mapOf =
  (conv: Conv): Conv =>
  (v, at) => {
    if (!isDict(v)) return {};
    const out: Dict = {};
    for (const [k, e] of Object.entries(v)) out[k] = conv(e, `${at}.${k}`);
    return out;
  };

// ---- service parts ----

const fileRef: Conv = (v, at) => struct<ServiceFileReference>({ source: str, target: str, uid: str, gid: str, mode: fileMode }, v, at);

const port: Conv = (v, at) => {
  if (typeof v === 'string') return v; // --no-interpolate: "${PORT}:80" kept as written
  return struct<ServicePort>({ name: str, mode: str, host_ip: str, target: num, published: str, protocol: str, app_protocol: str }, v, at);
};

const volume: Conv = (v, at) => {
  if (typeof v === 'string') return v;
  return struct<ServiceVolume>(
    {
      type: str,
      source: str,
      target: str,
      read_only: bool,
      consistency: str,
      bind: sub({ propagation: str, create_host_path: bool, selinux: str }),
      volume: sub({ nocopy: bool, subpath: str, labels: mapping }),
      tmpfs: sub({ size: bytes, mode: num }),
      image: sub({ subpath: str }),
    },
    v,
    at,
  );
};

const serviceNetwork: Conv = (v, at) =>
  v === null || v === undefined
    ? null
    : struct<ServiceNetwork>(
        {
          aliases: strList,
          ipv4_address: str,
          ipv6_address: str,
          link_local_ips: strList,
          mac_address: str,
          priority: num,
          gw_priority: num,
          driver_opts: mapping,
          interface_name: str,
        },
        v,
        at,
      );

const dependency: Conv = (v, at) => struct<ServiceDependency>({ condition: str, required: bool, restart: bool }, v, at);

const healthcheck: Conv = (v, at) =>
  struct<HealthCheckConfig>(
    {
      test: (t) => (typeof t === 'string' ? ['CMD-SHELL', t] : strList(t, at)),
      interval: duration,
      timeout: duration,
      retries: num,
      start_period: duration,
      start_interval: duration,
      disable: bool,
    },
    v,
    at,
  );

const updateConfig: Conv = (v, at) =>
  struct<UpdateConfig>({ parallelism: num, delay: duration, failure_action: str, monitor: duration, max_failure_ratio: num, order: str }, v, at);

const resources: Conv = (v, at) =>
  struct<Resources>(
    {
      cpus: str,
      memory: bytes,
      pids: num,
      devices: listOf((d, a) => struct({ capabilities: strList, count: (c) => (c === 'all' ? 'all' : num(c, a)), device_ids: strList, driver: str, options: mapping }, d, a)),
    },
    v,
    at,
  );

const deploy: Conv = (v, at) =>
  struct<DeployConfig>(
    {
      mode: str,
      replicas: num,
      labels: mapping,
      update_config: updateConfig,
      rollback_config: updateConfig,
      resources: sub({ limits: resources, reservations: resources }),
      restart_policy: sub({ condition: str, delay: duration, max_attempts: num, window: duration }),
      endpoint_mode: str,
    },
    v,
    at,
  );

const build: Conv = (v, at) =>
  struct<BuildConfig>(
    {
      context: str,
      dockerfile: str,
      dockerfile_inline: str,
      args: mappingWithEquals,
      target: str,
      labels: mapping,
      cache_from: strList,
      cache_to: strList,
      network: str,
      shm_size: bytes,
      extra_hosts: hostsList,
      secrets: listOf(fileRef),
      no_cache: bool,
      pull: bool,
      platforms: strList,
      tags: strList,
      ssh: (s) => (isDict(s) ? Object.entries(s).map(([id, p]) => (p === null || p === undefined ? id : `${id}=${goString(p)}`)) : strList(s, at)),
      additional_contexts: mapping,
      privileged: bool,
      isolation: str,
    },
    v,
    at,
  );

const ulimit: Conv = (v, at) => (typeof v === 'number' ? { single: v } : struct<UlimitConfig>({ single: num, soft: num, hard: num }, v, at));

const SERVICE: Record<string, Conv> = {
  image: str,
  build,
  pull_policy: str,
  platform: str,
  profiles: strList,
  command,
  entrypoint: command,
  environment: mappingWithEquals,
  env_file: listOf((e, at) => struct({ path: str, required: bool, format: str }, e, at)),
  ports: listOf(port),
  expose: strList,
  volumes: listOf(volume),
  volumes_from: strList,
  tmpfs: strList,
  networks: mapOf(serviceNetwork),
  network_mode: str,
  depends_on: mapOf(dependency),
  healthcheck,
  restart: str,
  deploy,
  scale: num,
  user: str,
  working_dir: str,
  hostname: str,
  domainname: str,
  labels: mapping,
  annotations: mapping,
  container_name: str,
  read_only: bool,
  cap_add: strList,
  cap_drop: strList,
  privileged: bool,
  security_opt: strList,
  ulimits: mapOf(ulimit),
  sysctls: mapping,
  init: bool,
  stop_signal: str,
  stop_grace_period: duration,
  extra_hosts: hostsList,
  dns: strList,
  dns_search: strList,
  dns_opt: strList,
  logging: sub({ driver: str, options: mapping }),
  mem_limit: bytes,
  memswap_limit: bytes,
  mem_reservation: bytes,
  mem_swappiness: num,
  oom_kill_disable: bool,
  oom_score_adj: num,
  cpus: num,
  cpu_shares: num,
  cpu_quota: num,
  cpu_period: num,
  cpuset: str,
  pids_limit: num,
  shm_size: bytes,
  pid: str,
  ipc: str,
  uts: str,
  userns_mode: str,
  cgroup: str,
  cgroup_parent: str,
  devices: listOf((d, at) => struct({ source: str, target: str, permissions: str }, d, at)),
  device_cgroup_rules: strList,
  group_add: strList,
  tty: bool,
  stdin_open: bool,
  mac_address: str,
  runtime: str,
  isolation: str,
  links: strList,
  external_links: strList,
  secrets: listOf(fileRef),
  configs: listOf(fileRef),
  develop: sub({
    watch: listOf((w, at) =>
      struct(
        {
          path: str,
          action: str,
          target: str,
          ignore: strList,
          include: strList,
          initial_sync: bool,
          exec: sub({ command, user: str, privileged: bool, working_dir: str, environment: mapping }),
        },
        w,
        at,
      ),
    ),
  }),
};

export function toService(name: string, v: unknown): ServiceConfig {
  if (v === null || v === undefined) return {};
  return struct<ServiceConfig>(SERVICE, v, `services.${name}`);
}

// ---- top level ----

const NETWORK: Record<string, Conv> = {
  name: str,
  driver: str,
  driver_opts: mapping,
  ipam: sub({
    driver: str,
    config: listOf((c, at) => struct({ subnet: str, ip_range: str, gateway: str, aux_addresses: mapping }, c, at)),
    options: mapping,
  }),
  external: bool,
  internal: bool,
  attachable: bool,
  enable_ipv4: bool,
  enable_ipv6: bool,
  labels: mapping,
};
const VOLUME: Record<string, Conv> = { name: str, driver: str, driver_opts: mapping, external: bool, labels: mapping };
const FILE_OBJECT: Record<string, Conv> = { name: str, file: str, environment: str, content: str, external: bool, labels: mapping };
const MODEL: Record<string, Conv> = { name: str, model: str, context_size: num, runtime_flags: strList };

export interface ProjectParts {
  name: string;
  workingDir: string;
  composeFiles: string[];
  environment: Record<string, string>;
}

export function toProject(dict: Dict, parts: ProjectParts): Project {
  const services: Record<string, ServiceConfig> = {};
  for (const [name, svc] of Object.entries(isDict(dict.services) ? dict.services : {})) services[name] = toService(name, svc);
  const top = <T>(key: string, table: Record<string, Conv>): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(isDict(dict[key]) ? dict[key] : {})) out[k] = struct<T>(table, v ?? {}, `${key}.${k}`);
    return out;
  };
  const project: Project = {
    ...parts,
    profiles: [],
    services,
    disabledServices: {},
    networks: top<NetworkConfig>('networks', NETWORK),
    volumes: top<VolumeConfig>('volumes', VOLUME),
    secrets: top<FileObjectConfig>('secrets', FILE_OBJECT),
    configs: top<FileObjectConfig>('configs', FILE_OBJECT),
  };
  if (isDict(dict.models) && Object.keys(dict.models).length) project.models = top<ModelConfig>('models', MODEL);
  const extensions: Dict = {};
  for (const [k, v] of Object.entries(dict)) if (k.startsWith('x-')) extensions[k] = v;
  if (Object.keys(extensions).length) project.extensions = extensions;
  return project;
}
