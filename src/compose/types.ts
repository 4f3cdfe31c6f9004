// The project model: a compose file after loading (interpolation, merge, include, extends, profiles,
// normalisation). Field names are the compose specification's own keys, in the normalised ("long")
// syntax that `docker compose config` prints, so the model can be printed as it is and a reader of the
// spec can find every field. Everything downstream (converter, planner, reconciler, commands) reads
// only this model, never raw YAML.

/** A duration as written in the file ("1m30s", "10s"); converted where the Engine API needs numbers. */
export type Duration = string;

export interface Project {
  /** Normalised project name (lower case, [a-z0-9_-], starting with a letter or digit). */
  name: string;
  /** Absolute project directory (`--project-directory`, else the first file's directory). */
  workingDir: string;
  /** Absolute paths of the files loaded, in order ("-" for standard input). */
  composeFiles: string[];
  /** Variables used for interpolation: the shell's, then the project's .env / --env-file. */
  environment: Record<string, string>;
  /** Active profiles. */
  profiles: string[];
  services: Record<string, ServiceConfig>;
  /** Services left out by profiles (kept so `--profile`-less commands can name them in errors). */
  disabledServices: Record<string, ServiceConfig>;
  networks: Record<string, NetworkConfig>;
  volumes: Record<string, VolumeConfig>;
  secrets: Record<string, FileObjectConfig>;
  configs: Record<string, FileObjectConfig>;
  /** AI models (`models:`), when the files declare any. */
  models?: Record<string, ModelConfig>;
  /** `x-*` keys at the top level. */
  extensions?: Record<string, unknown>;
}

export interface BuildConfig {
  /** Absolute path, or a URL (git, http). */
  context: string;
  dockerfile?: string;
  dockerfile_inline?: string;
  args?: Record<string, string | null>;
  target?: string;
  labels?: Record<string, string>;
  cache_from?: string[];
  cache_to?: string[];
  network?: string;
  shm_size?: number;
  extra_hosts?: Record<string, string[]>;
  secrets?: ServiceFileReference[];
  no_cache?: boolean;
  pull?: boolean;
  platforms?: string[];
  tags?: string[];
  ssh?: string[];
  additional_contexts?: Record<string, string>;
  privileged?: boolean;
  isolation?: string;
}

export interface ServicePort {
  name?: string;
  mode?: string; // "ingress" (default) | "host"
  host_ip?: string;
  target: number;
  /** A single port or a range ("8080", "8080-8081"); absent = an ephemeral port. */
  published?: string;
  protocol?: string; // "tcp" | "udp" | "sctp"
  app_protocol?: string;
}

export interface ServiceVolume {
  type: 'volume' | 'bind' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
  /** Volume name (key of Project.volumes), absolute host path (bind) or absent (anonymous volume, tmpfs). */
  source?: string;
  target: string;
  read_only?: boolean;
  consistency?: string;
  bind?: { propagation?: string; create_host_path?: boolean; selinux?: 'z' | 'Z' };
  volume?: { nocopy?: boolean; subpath?: string };
  tmpfs?: { size?: number; mode?: number };
  image?: { subpath?: string };
}

export interface ServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  ipv6_address?: string;
  link_local_ips?: string[];
  mac_address?: string;
  priority?: number;
  gw_priority?: number;
  driver_opts?: Record<string, string>;
}

export type DependencyCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface ServiceDependency {
  condition: DependencyCondition;
  /** false: a missing or failing dependency is only warned about. */
  required: boolean;
  /** Restart this service when the dependency is updated. */
  restart?: boolean;
}

export interface HealthCheckConfig {
  test?: string[];
  interval?: Duration;
  timeout?: Duration;
  retries?: number;
  start_period?: Duration;
  start_interval?: Duration;
  disable?: boolean;
}

export interface UpdateConfig {
  parallelism?: number;
  delay?: Duration;
  failure_action?: 'continue' | 'rollback' | 'pause';
  monitor?: Duration;
  max_failure_ratio?: number;
  order?: 'start-first' | 'stop-first';
}

export interface Resources {
  cpus?: string;
  memory?: number;
  pids?: number;
  devices?: { capabilities?: string[]; count?: number | 'all'; device_ids?: string[]; driver?: string }[];
}

export interface DeployConfig {
  mode?: string;
  replicas?: number;
  labels?: Record<string, string>;
  update_config?: UpdateConfig;
  rollback_config?: UpdateConfig;
  resources?: { limits?: Resources; reservations?: Resources };
  restart_policy?: { condition?: 'none' | 'on-failure' | 'any'; delay?: Duration; max_attempts?: number; window?: Duration };
  placement?: unknown;
  endpoint_mode?: string;
}

export interface ServiceFileReference {
  source: string;
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

export interface LoggingConfig {
  driver?: string;
  options?: Record<string, string>;
}

export interface UlimitConfig {
  single?: number;
  soft?: number;
  hard?: number;
}

export interface DevelopWatch {
  path: string;
  action: 'sync' | 'rebuild' | 'sync+restart' | 'restart' | 'sync+exec';
  target?: string;
  ignore?: string[];
  include?: string[];
  initial_sync?: boolean;
  exec?: { command: string[]; user?: string; privileged?: boolean; working_dir?: string; environment?: Record<string, string> };
}

export interface ServiceConfig {
  image?: string;
  build?: BuildConfig;
  pull_policy?: 'always' | 'never' | 'missing' | 'build' | 'if_not_present' | 'daily' | 'weekly' | string;
  platform?: string;
  profiles?: string[];
  command?: string[] | null;
  entrypoint?: string[] | null;
  /** null value: declared without a value and not set in the environment (left out of the container). */
  environment?: Record<string, string | null>;
  env_file?: { path: string; required: boolean; format?: string }[];
  ports?: ServicePort[];
  expose?: string[];
  volumes?: ServiceVolume[];
  volumes_from?: string[];
  tmpfs?: string[];
  networks?: Record<string, ServiceNetwork | null>;
  network_mode?: string;
  depends_on?: Record<string, ServiceDependency>;
  healthcheck?: HealthCheckConfig;
  restart?: string;
  deploy?: DeployConfig;
  scale?: number;
  user?: string;
  working_dir?: string;
  hostname?: string;
  domainname?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  container_name?: string;
  read_only?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  privileged?: boolean;
  security_opt?: string[];
  ulimits?: Record<string, UlimitConfig>;
  sysctls?: Record<string, string>;
  init?: boolean;
  stop_signal?: string;
  stop_grace_period?: Duration;
  extra_hosts?: Record<string, string[]>;
  dns?: string[];
  dns_search?: string[];
  dns_opt?: string[];
  logging?: LoggingConfig;
  mem_limit?: number;
  memswap_limit?: number;
  mem_reservation?: number;
  mem_swappiness?: number;
  oom_kill_disable?: boolean;
  oom_score_adj?: number;
  cpus?: number;
  cpu_shares?: number;
  cpu_quota?: number;
  cpu_period?: number;
  cpuset?: string;
  pids_limit?: number;
  shm_size?: number;
  pid?: string;
  ipc?: string;
  uts?: string;
  userns_mode?: string;
  cgroup?: string;
  cgroup_parent?: string;
  devices?: { source: string; target: string; permissions: string }[];
  device_cgroup_rules?: string[];
  group_add?: string[];
  tty?: boolean;
  stdin_open?: boolean;
  mac_address?: string;
  runtime?: string;
  isolation?: string;
  links?: string[];
  external_links?: string[];
  secrets?: ServiceFileReference[];
  configs?: ServiceFileReference[];
  /** Microseconds, or a duration ("950ms"). */
  cpu_rt_period?: number | Duration;
  cpu_rt_runtime?: number | Duration;
  blkio_config?: {
    weight?: number;
    weight_device?: { path: string; weight: number }[];
    device_read_bps?: { path: string; rate: number | string }[];
    device_read_iops?: { path: string; rate: number | string }[];
    device_write_bps?: { path: string; rate: number | string }[];
    device_write_iops?: { path: string; rate: number | string }[];
  };
  volume_driver?: string;
  storage_opt?: Record<string, string>;
  cpu_count?: number;
  cpu_percent?: number;
  credential_spec?: Record<string, unknown>;
  gpus?: unknown[] | 'all';
  develop?: { watch?: DevelopWatch[] };
  /** The models the service uses (keys of Project.models), with the variables that pass them in. */
  models?: Record<string, { endpoint_var?: string; model_var?: string } | null>;
  /** `x-*` keys of the service. */
  extensions?: Record<string, unknown>;
}

export interface IpamConfig {
  driver?: string;
  config?: { subnet?: string; ip_range?: string; gateway?: string; aux_addresses?: Record<string, string> }[];
  options?: Record<string, string>;
}

export interface NetworkConfig {
  /** The engine's name: `<project>_<key>` unless `name:` says otherwise or the network is external. */
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  ipam?: IpamConfig;
  external?: boolean;
  internal?: boolean;
  attachable?: boolean;
  enable_ipv4?: boolean;
  enable_ipv6?: boolean;
  labels?: Record<string, string>;
}

export interface VolumeConfig {
  /** The engine's name: `<project>_<key>` unless `name:` says otherwise or the volume is external. */
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  labels?: Record<string, string>;
}

/** A top-level model: what a service's `models:` names. */
export interface ModelConfig {
  name?: string;
  model: string;
  context_size?: number;
  runtime_flags?: string[];
}

/** A top-level secret or config: exactly one of file, environment, content, external. */
export interface FileObjectConfig {
  name: string;
  file?: string;
  environment?: string;
  content?: string;
  external?: boolean;
  labels?: Record<string, string>;
}

/** A compose error that names where it comes from; the CLI prints its message alone and exits 1 (or exitCode). */
export class ComposeError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'ComposeError';
  }
}
