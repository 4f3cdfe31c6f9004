// The compose specification as a JSON schema (draft-07), written for berth from the specification's
// text (compose-spec: 03-compose-file .. 09-configs, 12-interpolation's typed values, build.md,
// deploy.md, develop.md). One definition per concept of the spec; every mapping of the spec allows
// `x-*` extension keys and refuses any other unknown key.
//
// Numbers and booleans also accept strings where the spec lets them be written as `${VAR}` (the file
// may be validated without interpolation: `config --no-interpolate`); the loader converts them.
type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/definitions/${name}` });
const str: Schema = { type: 'string' };
const bool: Schema = { type: ['boolean', 'string'] };
const num: Schema = { type: ['number', 'string'] };
const int: Schema = { type: ['integer', 'string'] };
const duration: Schema = { type: 'string', format: 'duration' };
const strList: Schema = { type: 'array', items: str };
const uniqueStrList: Schema = { type: 'array', items: str, uniqueItems: true };
const anyOf = (...schemas: Schema[]): Schema => ({ oneOf: schemas });
const EXTENSIONS = { '^x-': {} };

/** A mapping of the spec: its keys, `x-*` extensions, nothing else. */
function mapping(properties: Record<string, Schema>, extra: Schema = {}): Schema {
  return { type: 'object', properties, patternProperties: EXTENSIONS, additionalProperties: false, ...extra };
}

/** A mapping that may also be left empty (`db:` with nothing under it). */
function nullable(properties: Record<string, Schema>): Schema {
  return anyOf(mapping(properties), { type: 'null' });
}

/** A mapping whose keys are names (services, networks, ...). */
function named(value: Schema, keyPattern = '^[a-zA-Z0-9._-]+$'): Schema {
  return { type: 'object', patternProperties: { [keyPattern]: value }, additionalProperties: false };
}

const fileReferences: Schema = {
  type: 'array',
  items: anyOf(str, mapping({ source: str, target: str, uid: str, gid: str, mode: num })),
};

const updateConfig = mapping({
  parallelism: int,
  delay: duration,
  failure_action: str,
  monitor: duration,
  max_failure_ratio: num,
  order: { type: 'string', enum: ['start-first', 'stop-first'] },
});

const deviceProperties = {
  capabilities: ref('list_of_strings'),
  count: { type: ['string', 'integer'] },
  device_ids: ref('list_of_strings'),
  driver: str,
  options: ref('list_or_dict'),
};
/** deploy.resources.reservations.devices: a device request names its capabilities. */
const deviceRequest = mapping(deviceProperties, { required: ['capabilities'] });
/** gpus: the same request, capabilities implied ("gpu"), other keys left to the driver. */
const gpuRequest: Schema = { type: 'object', properties: deviceProperties };

const resource = (reservations: boolean): Schema =>
  mapping({
    cpus: num,
    memory: str,
    ...(reservations ? { devices: { type: 'array', items: deviceRequest }, generic_resources: ref('generic_resources') } : { pids: int }),
  });

const definitions: Record<string, Schema> = {
  list_of_strings: uniqueStrList,
  string_or_list: anyOf(str, ref('list_of_strings')),
  list_or_dict: anyOf(
    { type: 'object', patternProperties: { '.+': { type: ['string', 'number', 'boolean', 'null'] } }, additionalProperties: false },
    uniqueStrList,
  ),
  extra_hosts: anyOf(
    { type: 'object', patternProperties: { '.+': anyOf(str, uniqueStrList) }, additionalProperties: false },
    uniqueStrList,
  ),
  command: anyOf({ type: 'null' }, str, strList),
  env_file: anyOf(
    str,
    {
      type: 'array',
      items: anyOf(str, mapping({ path: str, format: str, required: bool }, { required: ['path'] })),
    },
  ),
  label_file: anyOf(str, strList),
  ulimits: {
    type: 'object',
    patternProperties: {
      '^[a-z]+$': anyOf(int, mapping({ hard: int, soft: int }, { required: ['soft', 'hard'] })),
    },
  },
  blkio_limit: mapping({ path: str, rate: int }),
  blkio_weight: mapping({ path: str, weight: int }),
  service_hook: mapping(
    { command: ref('command'), user: str, privileged: bool, working_dir: str, environment: ref('list_or_dict') },
    { required: ['command'] },
  ),
  // A pre_start hook may run in a container of its own image, once per replica or once in all.
  pre_start_hook: mapping({
    command: ref('command'),
    image: str,
    per_replica: bool,
    user: str,
    privileged: bool,
    working_dir: str,
    environment: ref('list_or_dict'),
  }),
  generic_resources: {
    type: 'array',
    items: mapping({ discrete_resource_spec: mapping({ kind: str, value: num }) }),
  },
  build: anyOf(
    str,
    mapping({
      context: str,
      dockerfile: str,
      dockerfile_inline: str,
      entitlements: strList,
      args: ref('list_or_dict'),
      ssh: ref('list_or_dict'),
      labels: ref('list_or_dict'),
      cache_from: strList,
      cache_to: strList,
      no_cache: bool,
      no_cache_filter: ref('string_or_list'),
      additional_contexts: ref('list_or_dict'),
      network: str,
      provenance: { type: ['string', 'boolean'] },
      sbom: { type: ['string', 'boolean'] },
      pull: bool,
      target: str,
      shm_size: { type: ['integer', 'string'] },
      extra_hosts: ref('extra_hosts'),
      isolation: str,
      privileged: bool,
      secrets: fileReferences,
      tags: strList,
      ulimits: ref('ulimits'),
      platforms: strList,
    }),
  ),
  healthcheck: mapping({
    disable: bool,
    interval: duration,
    retries: num,
    test: anyOf(str, strList),
    timeout: duration,
    start_period: duration,
    start_interval: duration,
  }),
  deployment: nullable({
    mode: str,
    endpoint_mode: str,
    replicas: int,
    labels: ref('list_or_dict'),
    rollback_config: updateConfig,
    update_config: updateConfig,
    resources: mapping({ limits: resource(false), reservations: resource(true) }),
    restart_policy: mapping({ condition: str, delay: duration, max_attempts: int, window: duration }),
    placement: mapping({
      constraints: strList,
      preferences: { type: 'array', items: mapping({ spread: str }) },
      max_replicas_per_node: int,
    }),
  }),
  development: nullable({
    watch: {
      type: 'array',
      items: mapping(
        {
          ignore: ref('string_or_list'),
          include: ref('string_or_list'),
          path: str,
          action: { type: 'string', enum: ['rebuild', 'sync', 'restart', 'sync+restart', 'sync+exec'] },
          target: str,
          exec: ref('service_hook'),
          initial_sync: { type: 'boolean' },
        },
        { required: ['path', 'action'] },
      ),
    },
  }),
  service: mapping({
    develop: ref('development'),
    deploy: ref('deployment'),
    annotations: ref('list_or_dict'),
    attach: bool,
    build: ref('build'),
    blkio_config: mapping({
      device_read_bps: { type: 'array', items: ref('blkio_limit') },
      device_read_iops: { type: 'array', items: ref('blkio_limit') },
      device_write_bps: { type: 'array', items: ref('blkio_limit') },
      device_write_iops: { type: 'array', items: ref('blkio_limit') },
      weight: int,
      weight_device: { type: 'array', items: ref('blkio_weight') },
    }),
    cap_add: uniqueStrList,
    cap_drop: uniqueStrList,
    cgroup: { type: 'string', enum: ['host', 'private'] },
    cgroup_parent: str,
    command: ref('command'),
    configs: fileReferences,
    // As the spec words it: the name contains a valid container name (the engine checks the rest).
    container_name: { type: 'string', pattern: '[a-zA-Z0-9][a-zA-Z0-9_.-]+' },
    cpu_count: anyOf({ type: 'integer', minimum: 0 }, str),
    cpu_percent: anyOf({ type: 'integer', minimum: 0, maximum: 100 }, str),
    cpu_shares: num,
    cpu_quota: num,
    cpu_period: num,
    cpu_rt_period: num,
    cpu_rt_runtime: num,
    cpus: num,
    cpuset: str,
    credential_spec: mapping({ config: str, file: str, registry: str }),
    depends_on: anyOf(
      ref('list_of_strings'),
      named(
        mapping(
          { restart: bool, required: { type: 'boolean' }, condition: { type: 'string', enum: ['service_started', 'service_healthy', 'service_completed_successfully'] } },
          { required: ['condition'] },
        ),
      ),
    ),
    device_cgroup_rules: ref('list_of_strings'),
    devices: {
      type: 'array',
      items: anyOf(str, mapping({ source: str, target: str, permissions: str }, { required: ['source'] })),
    },
    dns: ref('string_or_list'),
    dns_opt: uniqueStrList,
    dns_search: ref('string_or_list'),
    domainname: str,
    entrypoint: ref('command'),
    env_file: ref('env_file'),
    label_file: ref('label_file'),
    environment: ref('list_or_dict'),
    expose: { type: 'array', items: { type: ['string', 'number'] }, uniqueItems: true },
    extends: anyOf(str, mapping({ service: str, file: str }, { required: ['service'] })),
    external_links: uniqueStrList,
    extra_hosts: ref('extra_hosts'),
    gpus: anyOf({ type: 'string', enum: ['all'] }, { type: 'array', items: gpuRequest }),
    group_add: { type: 'array', items: { type: ['string', 'number'] }, uniqueItems: true },
    healthcheck: ref('healthcheck'),
    hostname: str,
    image: str,
    init: bool,
    ipc: str,
    isolation: str,
    labels: ref('list_or_dict'),
    links: uniqueStrList,
    logging: mapping({
      driver: str,
      options: { type: 'object', patternProperties: { '^.+$': { type: ['string', 'number', 'null'] } } },
    }),
    mac_address: str,
    mem_limit: num,
    mem_reservation: int,
    mem_swappiness: int,
    memswap_limit: num,
    network_mode: str,
    models: anyOf(ref('list_of_strings'), named(anyOf(mapping({ endpoint_var: str, model_var: str }), { type: 'null' }))),
    networks: anyOf(
      ref('list_of_strings'),
      named(
        anyOf(
          mapping({
            aliases: ref('list_of_strings'),
            interface_name: str,
            ipv4_address: str,
            ipv6_address: str,
            link_local_ips: ref('list_of_strings'),
            mac_address: str,
            driver_opts: { type: 'object', patternProperties: { '^.+$': { type: ['string', 'number'] } } },
            priority: { type: 'number' },
            gw_priority: { type: 'number' },
          }),
          { type: 'null' },
        ),
      ),
    ),
    oom_kill_disable: bool,
    oom_score_adj: anyOf({ type: 'integer', minimum: -1000, maximum: 1000 }, str),
    pid: { type: ['string', 'null'] },
    pids_limit: num,
    platform: str,
    ports: {
      type: 'array',
      items: anyOf(
        { type: 'number' },
        str,
        mapping({
          name: str,
          mode: str,
          host_ip: str,
          target: int,
          published: { type: ['string', 'integer'] },
          protocol: str,
          app_protocol: str,
        }),
      ),
      uniqueItems: true,
    },
    pre_start: { type: 'array', items: ref('pre_start_hook') },
    post_start: { type: 'array', items: ref('service_hook') },
    pre_stop: { type: 'array', items: ref('service_hook') },
    privileged: bool,
    profiles: ref('list_of_strings'),
    provider: mapping(
      {
        type: str,
        options: {
          type: 'object',
          patternProperties: { '^.+$': anyOf({ type: ['string', 'number', 'boolean'] }, { type: 'array', items: { type: ['string', 'number', 'boolean'] } }) },
        },
      },
      { required: ['type'] },
    ),
    // The spec's pattern names the policies without anchors ("rebuild" passes; Compose reads it as build).
    pull_policy: { type: 'string', pattern: 'always|never|build|if_not_present|missing|refresh|daily|weekly|every_([0-9]+[wdhms])+' },
    pull_refresh_after: str,
    read_only: bool,
    restart: str,
    runtime: str,
    scale: int,
    security_opt: uniqueStrList,
    shm_size: num,
    secrets: fileReferences,
    sysctls: ref('list_or_dict'),
    stdin_open: bool,
    stop_grace_period: duration,
    stop_signal: str,
    storage_opt: { type: 'object' },
    tmpfs: ref('string_or_list'),
    tty: bool,
    ulimits: ref('ulimits'),
    use_api_socket: { type: 'boolean' },
    user: str,
    uts: str,
    userns_mode: str,
    volumes: {
      type: 'array',
      items: anyOf(
        str,
        mapping(
          {
            type: { type: 'string', enum: ['bind', 'volume', 'tmpfs', 'cluster', 'npipe', 'image'] },
            source: str,
            target: str,
            read_only: bool,
            consistency: str,
            bind: mapping({
              propagation: str,
              create_host_path: bool,
              recursive: { type: 'string', enum: ['enabled', 'disabled', 'writable', 'readonly'] },
              selinux: { type: 'string', enum: ['z', 'Z'] },
            }),
            volume: mapping({ labels: ref('list_or_dict'), nocopy: bool, subpath: str }),
            tmpfs: mapping({ size: anyOf({ type: 'integer', minimum: 0 }, str), mode: num }),
            image: mapping({ subpath: str }),
          },
          { required: ['type'] },
        ),
      ),
      uniqueItems: true,
    },
    volumes_from: ref('list_of_strings'),
    working_dir: str,
  }),
  network: nullable({
    name: str,
    driver: str,
    driver_opts: { type: 'object', patternProperties: { '^.+$': { type: ['string', 'number'] } } },
    ipam: mapping({
      driver: str,
      config: {
        type: 'array',
        items: mapping({
          subnet: str,
          ip_range: str,
          gateway: str,
          aux_addresses: { type: 'object', additionalProperties: false, patternProperties: { '^.+$': str } },
        }),
      },
      options: { type: 'object', additionalProperties: false, patternProperties: { '^.+$': str } },
    }),
    external: { type: ['boolean', 'string', 'object'], properties: { name: str }, additionalProperties: false },
    internal: bool,
    enable_ipv4: bool,
    enable_ipv6: bool,
    attachable: bool,
    labels: ref('list_or_dict'),
  }),
  volume: nullable({
    name: str,
    driver: str,
    driver_opts: { type: 'object', patternProperties: { '^.+$': { type: ['string', 'number'] } } },
    external: { type: ['boolean', 'string', 'object'], properties: { name: str }, additionalProperties: false },
    labels: ref('list_or_dict'),
  }),
  secret: mapping({
    name: str,
    environment: str,
    file: str,
    external: { type: ['boolean', 'string', 'object'], properties: { name: str } },
    labels: ref('list_or_dict'),
    driver: str,
    driver_opts: { type: 'object', patternProperties: { '^.+$': { type: ['string', 'number'] } } },
    template_driver: str,
  }),
  config: mapping({
    name: str,
    content: str,
    environment: str,
    file: str,
    external: { type: ['boolean', 'string', 'object'], properties: { name: str } },
    labels: ref('list_or_dict'),
    template_driver: str,
  }),
  model: mapping({ name: str, model: str, context_size: { type: 'integer' }, runtime_flags: strList }, { required: ['model'] }),
};

export const composeSpecSchema: Schema = {
  $id: 'berth-compose-spec',
  type: 'object',
  properties: {
    version: str,
    name: str,
    include: {
      type: 'array',
      items: anyOf(str, mapping({ path: ref('string_or_list'), env_file: ref('string_or_list'), project_directory: str })),
    },
    services: named(ref('service')),
    models: named(ref('model'), '^[a-zA-Z0-9._-]+$'),
    // The spec checks networks named as services are; other names are left to the engine.
    networks: { type: 'object', patternProperties: { '^[a-zA-Z0-9._-]+$': ref('network') } },
    volumes: named(ref('volume')),
    secrets: named(ref('secret')),
    configs: named(ref('config')),
  },
  patternProperties: EXTENSIONS,
  additionalProperties: false,
  definitions,
};
