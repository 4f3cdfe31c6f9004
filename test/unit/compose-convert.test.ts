// The compose converter: each service key → the Engine API create request Docker Compose v2 sends
// (pkg/compose/create.go getCreateConfigs), keys berth cannot honour refused by name, and the
// top-level networks and volumes → their create requests.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkConvertible, containerCreateRequest, containerName, containerPlatform, networkConnects, networkCreateRequest, networksByPriority, serviceImage, volumeCreateRequest } from '../../src/compose/convert.js';
import type { ContainerOptions } from '../../src/compose/convert.js';
import { ComposeError, type Project, type ServiceConfig } from '../../src/compose/types.js';

const S = 1_000_000_000;

function project(services: Record<string, ServiceConfig>, extra: Partial<Project> = {}): Project {
  return {
    name: 'app',
    workingDir: '/srv/app',
    composeFiles: ['/srv/app/compose.yaml'],
    environment: {},
    profiles: [],
    services,
    disabledServices: {},
    networks: { default: { name: 'app_default' } },
    volumes: {},
    secrets: {},
    configs: {},
    ...extra,
  };
}

const OPTS: ContainerOptions = { number: 1, configHash: 'abc' };

/** The request for service `web` of a one-service project (networks: default). */
function req(svc: ServiceConfig, extra: Partial<Project> = {}, opts: Partial<ContainerOptions> = {}) {
  const p = project({ web: { image: 'busybox', networks: { default: null }, ...svc } }, extra);
  return containerCreateRequest(p, 'web', p.services.web!, { ...OPTS, ...opts });
}
const host = (svc: ServiceConfig, extra: Partial<Project> = {}) => req(svc, extra).HostConfig!;

function refuses(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ComposeError && message.test(err.message));
}

describe('compose convert: the container config', () => {
  it('image, command, entrypoint, environment, labels, user, working_dir, hostname, tty', () => {
    const r = req({
      command: ['sh', '-c', 'echo hi'],
      entrypoint: [],
      environment: { A: '1', EMPTY: '', UNSET: null },
      labels: { 'com.example.role': 'web' },
      user: '1000:1000',
      working_dir: '/app',
      hostname: 'web1',
      domainname: 'example.org',
      tty: true,
      stdin_open: true,
      stop_signal: 'SIGUSR1',
      stop_grace_period: '1m30s',
    });
    assert.equal(r.Image, 'busybox');
    assert.deepEqual(r.Cmd, ['sh', '-c', 'echo hi']);
    assert.deepEqual(r.Entrypoint, [], 'an empty entrypoint clears the image\'s, as Compose sends it');
    assert.deepEqual(r.Env, ['A=1', 'EMPTY='], 'a variable declared without a value and unset is left out');
    assert.equal(r.User, '1000:1000');
    assert.equal(r.WorkingDir, '/app');
    assert.equal(r.Hostname, 'web1');
    assert.equal(r.Domainname, 'example.org');
    assert.equal(r.Tty, true);
    assert.equal(r.OpenStdin, true);
    assert.equal(r.StopSignal, 'SIGUSR1');
    assert.equal(r.StopTimeout, 90);
    assert.equal(r.Labels!['com.example.role'], 'web');
  });

  it('no command or entrypoint: the image\'s (nothing sent)', () => {
    const r = req({ command: null });
    assert.equal('Cmd' in r, false);
    assert.equal('Entrypoint' in r, false);
  });

  it('a service without image runs the image Compose builds: <project>-<service>', () => {
    const p = project({ api: { build: { context: '/srv/app' } } });
    assert.equal(serviceImage(p, 'api', p.services.api!), 'app-api');
    assert.equal(containerCreateRequest(p, 'api', p.services.api!, OPTS).Image, 'app-api');
    assert.equal(containerCreateRequest(p, 'api', p.services.api!, { ...OPTS, image: 'sha256:' + 'a'.repeat(64) }).Image, 'sha256:' + 'a'.repeat(64));
  });

  it('Compose v2\'s labels, the image ID and depends_on in its format', () => {
    const p = project({
      db: { image: 'postgres' },
      web: {
        image: 'busybox',
        labels: { 'com.docker.compose.project': 'forged', mine: 'x' },
        depends_on: { db: { condition: 'service_healthy', required: true, restart: true }, cache: { condition: 'service_started', required: false } },
      },
    });
    const r = containerCreateRequest(p, 'web', p.services.web!, { number: 2, configHash: 'h1', imageId: 'sha256:' + 'b'.repeat(64), labels: { 'com.docker.compose.replace': 'old' } });
    assert.deepEqual(r.Labels, {
      mine: 'x',
      'com.docker.compose.replace': 'old',
      'com.docker.compose.project': 'app',
      'com.docker.compose.service': 'web',
      'com.docker.compose.container-number': '2',
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.config-hash': 'h1',
      'com.docker.compose.image': 'sha256:' + 'b'.repeat(64),
      'com.docker.compose.depends_on': 'db:service_healthy:true,cache:service_started:false',
      'com.docker.compose.project.config_files': '/srv/app/compose.yaml',
      'com.docker.compose.project.working_dir': '/srv/app',
      'com.docker.compose.version': '2.29.7',
    });
    assert.equal(req({}).Labels!['com.docker.compose.depends_on'], '', 'Compose writes the label empty');
    assert.equal(containerCreateRequest(p, 'web', p.services.web!, { ...OPTS, oneoff: true }).Labels!['com.docker.compose.oneoff'], 'True');
  });

  it('deploy.labels stay off the container, as Compose does', () => {
    assert.equal(req({ deploy: { labels: { swarm: 'only' } } }).Labels!.swarm, undefined);
  });

  it('healthcheck: durations in ns, start_interval, disable → NONE', () => {
    assert.deepEqual(req({ healthcheck: { test: ['CMD-SHELL', 'true'], interval: '1s', timeout: '500ms', retries: 3, start_period: '1m', start_interval: '100ms' } }).Healthcheck, {
      Test: ['CMD-SHELL', 'true'],
      Interval: S,
      Timeout: S / 2,
      StartPeriod: 60 * S,
      StartInterval: S / 10,
      Retries: 3,
    });
    assert.deepEqual(req({ healthcheck: { disable: true } }).Healthcheck, { Test: ['NONE'] });
    assert.deepEqual(req({ healthcheck: { interval: '2s' } }).Healthcheck, { Interval: 2 * S }, 'no test: the image\'s is kept by the engine');
    refuses(() => req({ healthcheck: { interval: '5 seconds' } }), /service "web": healthcheck\.interval: time: /);
    refuses(() => req({ healthcheck: { start_interval: '1s' } }, {}, { apiVersion: '1.41' }), /healthcheck\.start_interval is not supported by berth compose/);
  });

  it('ports: long form, ranges, host_ip, protocol → PortBindings and ExposedPorts; expose ranges', () => {
    const r = req({
      ports: [
        { target: 80, published: '8080', protocol: 'tcp', mode: 'ingress' },
        { target: 80, published: '8081', host_ip: '127.0.0.1', protocol: 'tcp' },
        { target: 53, protocol: 'udp' },
        { target: 9000, published: '9000-9010' },
      ],
      expose: ['3000', '4000-4002/udp'],
    });
    assert.deepEqual(r.HostConfig!.PortBindings, {
      '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '8081' }],
      '53/udp': [{ HostIp: '', HostPort: '' }],
      '9000/tcp': [{ HostIp: '', HostPort: '9000-9010' }],
    });
    assert.deepEqual(Object.keys(r.ExposedPorts!).sort(), ['3000/tcp', '4000/udp', '4001/udp', '4002/udp', '53/udp', '80/tcp', '9000/tcp']);
    refuses(() => req({ ports: [{ target: 70000 }] }), /service "web": ports\[0\]: invalid container port "70000"/);
    refuses(() => req({ ports: [{ target: 80, published: '90-80' }] }), /invalid published port "90-80"/);
    refuses(() => req({ expose: ['abc'] }), /service "web": expose: invalid port "abc"/);
  });
});

describe('compose convert: mounts', () => {
  const vols = { data: { name: 'app_data' }, ext: { name: 'shared', external: true } };
  it('volume, bind (create_host_path, propagation, a single file), tmpfs, anonymous; read_only, nocopy', () => {
    const h = host(
      {
        volumes: [
          { type: 'volume', source: 'data', target: '/data', volume: { nocopy: true } },
          { type: 'volume', source: 'ext', target: '/ext', read_only: true },
          { type: 'volume', target: '/anon' },
          { type: 'bind', source: './conf/app.conf', target: '/etc/app.conf', read_only: true },
          { type: 'bind', source: '/var/log', target: '/logs', bind: { create_host_path: true, propagation: 'rslave' } },
          { type: 'tmpfs', target: '/scratch', tmpfs: { size: 1048576, mode: 0o1777 } },
        ],
      },
      { volumes: vols },
    );
    assert.deepEqual(h.Mounts, [
      { Type: 'volume', Source: 'app_data', Target: '/data', VolumeOptions: { NoCopy: true } },
      { Type: 'volume', Source: 'shared', Target: '/ext', ReadOnly: true },
      { Type: 'volume', Target: '/anon' },
      { Type: 'bind', Source: '/srv/app/conf/app.conf', Target: '/etc/app.conf', ReadOnly: true },
      { Type: 'bind', Source: '/var/log', Target: '/logs', BindOptions: { Propagation: 'rslave', CreateMountpoint: true } },
      { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1777 } },
    ]);
  });
  it('before API 1.42 a bind that creates its source goes as Binds (the one form that creates it there)', () => {
    const r = req({ volumes: [{ type: 'bind', source: './src', target: '/src', bind: { create_host_path: true } }, { type: 'bind', source: '/etc/x', target: '/x', read_only: true }] }, {}, { apiVersion: '1.41' });
    assert.deepEqual(r.HostConfig!.Binds, ['/srv/app/src:/src:rw']);
    assert.deepEqual(r.HostConfig!.Mounts, [{ Type: 'bind', Source: '/etc/x', Target: '/x', ReadOnly: true }]);
  });
  it('tmpfs key → HostConfig.Tmpfs; volumes_from resolved', () => {
    const p = project({ data: { image: 'busybox', container_name: 'store' }, web: { image: 'busybox', tmpfs: ['/run', '/tmp:size=64m,mode=1777'], volumes_from: ['data', 'data:ro', 'container:other:rw'] } });
    const h = containerCreateRequest(p, 'web', p.services.web!, OPTS).HostConfig!;
    assert.deepEqual(h.Tmpfs, { '/run': '', '/tmp': 'size=64m,mode=1777' });
    assert.deepEqual(h.VolumesFrom, ['store', 'store:ro', 'other:rw']);
    const byId = containerCreateRequest(p, 'web', p.services.web!, { ...OPTS, serviceContainer: (s) => `id-of-${s}` }).HostConfig!;
    assert.deepEqual(byId.VolumesFrom, ['id-of-data', 'id-of-data:ro', 'other:rw']);
  });
  it('refuses what it cannot mount', () => {
    refuses(() => req({ volumes: [{ type: 'npipe', source: 'x', target: '/x' }] }), /service "web": volumes of type npipe is not supported by berth compose/);
    refuses(() => req({ volumes: [{ type: 'bind', source: '/a', target: '/a', bind: { selinux: 'z' } }] }), /volumes\[0\]\.bind\.selinux is not supported/);
    refuses(() => req({ volumes: [{ type: 'volume', source: 'data', target: '/a', volume: { subpath: 'x' } }] }, { volumes: vols }), /volume\.subpath is not supported/);
    refuses(() => req({ volumes: [{ type: 'volume', target: 'rel' }] }), /target "rel" must be an absolute path/);
  });
});

describe('compose convert: networks', () => {
  const nets = { default: { name: 'app_default' }, front: { name: 'app_front' }, back: { name: 'custom-back' } };
  it('one network: NetworkMode and its endpoint with the container name, the service name and the aliases', () => {
    const r = req({ networks: { front: { aliases: ['www'], ipv4_address: '10.5.0.9', mac_address: '02:42:ac:11:00:09' } } }, { networks: nets });
    assert.equal(r.HostConfig!.NetworkMode, 'app_front');
    assert.deepEqual(r.NetworkingConfig, {
      EndpointsConfig: { app_front: { Aliases: ['app-web-1', 'web', 'www'], IPAMConfig: { IPv4Address: '10.5.0.9' }, MacAddress: '02:42:ac:11:00:09' } },
    });
    assert.deepEqual(req({}, {}, { useNetworkAliases: false }).NetworkingConfig!.EndpointsConfig!.app_default!.Aliases, ['app-web-1']);
  });
  it('priority: the highest first (then by name); from API 1.44 all at create, before that the others connected after', () => {
    const svc: ServiceConfig = { image: 'busybox', networks: { front: null, back: { priority: 10 }, default: { priority: 10 } } };
    const p = project({ web: svc }, { networks: nets });
    assert.deepEqual(networksByPriority(svc), ['back', 'default', 'front']);
    const modern = containerCreateRequest(p, 'web', svc, OPTS);
    assert.equal(modern.HostConfig!.NetworkMode, 'custom-back');
    assert.deepEqual(Object.keys(modern.NetworkingConfig!.EndpointsConfig!), ['custom-back', 'app_default', 'app_front']);
    assert.deepEqual(networkConnects(p, 'web', svc, OPTS), []);
    const old = { ...OPTS, apiVersion: '1.41' };
    const r = containerCreateRequest(p, 'web', svc, old);
    assert.equal(r.HostConfig!.NetworkMode, 'custom-back');
    assert.deepEqual(Object.keys(r.NetworkingConfig!.EndpointsConfig!), ['custom-back']);
    assert.deepEqual(networkConnects(p, 'web', svc, old), [
      { network: 'app_default', endpoint: { Aliases: ['app-web-1', 'web'] } },
      { network: 'app_front', endpoint: { Aliases: ['app-web-1', 'web'] } },
    ]);
  });
  it('mac_address: on the primary endpoint from API 1.44, Config.MacAddress before', () => {
    assert.equal(req({ mac_address: '02:42:ac:11:00:02' }).NetworkingConfig!.EndpointsConfig!.app_default!.MacAddress, '02:42:ac:11:00:02');
    const old = req({ mac_address: '02:42:ac:11:00:02' }, {}, { apiVersion: '1.41' });
    assert.equal(old.MacAddress, '02:42:ac:11:00:02');
    assert.equal(old.NetworkingConfig!.EndpointsConfig!.app_default!.MacAddress, undefined);
    refuses(() => req({ mac_address: '02:42:ac:11:00:02', networks: { default: { mac_address: '02:42:ac:11:00:03' } } }), /should have the same value as network default/);
  });
  it('network_mode: none, host, service:x → container:<x\'s container>, container:x; no endpoints', () => {
    const p = project({ db: { image: 'busybox' }, web: { image: 'busybox', network_mode: 'service:db' } });
    const r = containerCreateRequest(p, 'web', p.services.web!, OPTS);
    assert.equal(r.HostConfig!.NetworkMode, 'container:app-db-1');
    assert.equal(r.NetworkingConfig, undefined);
    assert.equal(host({ network_mode: 'host', networks: undefined }).NetworkMode, 'host');
    assert.equal(host({ network_mode: 'none', networks: undefined }).NetworkMode, 'none');
    assert.equal(host({ network_mode: 'container:abc', networks: undefined }).NetworkMode, 'container:abc');
    refuses(() => req({ network_mode: 'service:nope', networks: undefined }), /service "web": network_mode: service "nope" is not defined/);
  });
  it('a project without networks: none, as Compose', () => {
    assert.equal(host({ networks: undefined }, { networks: {} }).NetworkMode, 'none');
  });
  it('links and external_links as Compose makes them', () => {
    const p = project({ db: { image: 'busybox' }, web: { image: 'busybox', networks: { default: null }, links: ['db:database', 'db'], external_links: ['legacy:old'] } });
    const r = containerCreateRequest(p, 'web', p.services.web!, OPTS);
    const links = ['app-db-1:database', 'app-db-1:db-1', 'app-db-1:app-db-1', 'app-db-1:db', 'legacy:old'];
    assert.deepEqual(r.HostConfig!.Links, links);
    assert.deepEqual(r.NetworkingConfig!.EndpointsConfig!.app_default!.Links, links);
  });
  it('pid/ipc service:x resolved, uts as given', () => {
    const p = project({ db: { image: 'busybox' }, web: { image: 'busybox', pid: 'service:db', ipc: 'shareable', uts: 'host' } });
    const h = containerCreateRequest(p, 'web', p.services.web!, OPTS).HostConfig!;
    assert.equal(h.PidMode, 'container:app-db-1');
    assert.equal(h.IpcMode, 'shareable');
    assert.equal(h.UTSMode, 'host');
  });
});

describe('compose convert: the host config', () => {
  it('resources: the service keys, deploy.resources winning as in Compose', () => {
    const h = host({ mem_limit: 256 * 2 ** 20, memswap_limit: 512 * 2 ** 20, mem_reservation: 64 * 2 ** 20, cpus: 1.5, cpu_shares: 512, cpu_quota: 50000, cpu_period: 100000, cpuset: '0', pids_limit: 100, oom_kill_disable: true });
    assert.deepEqual(
      { Memory: h.Memory, MemorySwap: h.MemorySwap, MemoryReservation: h.MemoryReservation, NanoCpus: h.NanoCpus, CpuShares: h.CpuShares, CpuQuota: h.CpuQuota, CpuPeriod: h.CpuPeriod, CpusetCpus: h.CpusetCpus, PidsLimit: h.PidsLimit, OomKillDisable: h.OomKillDisable },
      { Memory: 268435456, MemorySwap: 536870912, MemoryReservation: 67108864, NanoCpus: 1.5e9, CpuShares: 512, CpuQuota: 50000, CpuPeriod: 100000, CpusetCpus: '0', PidsLimit: 100, OomKillDisable: true },
    );
    const d = host({ mem_limit: 1, cpus: 2, deploy: { replicas: 3, resources: { limits: { cpus: '0.5', memory: 128 * 2 ** 20, pids: 20 }, reservations: { memory: 32 * 2 ** 20, cpus: '0.25' } } } });
    assert.equal(d.Memory, 134217728);
    assert.equal(d.NanoCpus, 500000000);
    assert.equal(d.PidsLimit, 20);
    assert.equal(d.MemoryReservation, 33554432);
    refuses(() => host({ deploy: { resources: { reservations: { devices: [{ capabilities: ['gpu'] }] } } } }), /deploy\.resources\.reservations\.devices is not supported by berth compose/);
  });
  it('restart; deploy.restart_policy (wins, as Compose\'s getRestartPolicy)', () => {
    assert.deepEqual(host({ restart: 'unless-stopped' }).RestartPolicy, { Name: 'unless-stopped', MaximumRetryCount: 0 });
    assert.deepEqual(host({ restart: 'on-failure:3' }).RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
    assert.deepEqual(host({ deploy: { restart_policy: { condition: 'on-failure', max_attempts: 5 } } }).RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 5 });
    assert.deepEqual(host({ deploy: { restart_policy: { condition: 'any' } } }).RestartPolicy, { Name: 'always', MaximumRetryCount: 0 });
    assert.deepEqual(host({ restart: 'always', deploy: { restart_policy: { condition: 'none' } } }).RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
    assert.equal(host({}).RestartPolicy, undefined);
    refuses(() => host({ restart: 'sometimes' }), /service "web": restart: invalid restart policy "sometimes"/);
  });
  it('security, namespaces, kernel and process keys', () => {
    const h = host({
      read_only: true,
      cap_add: ['NET_ADMIN'],
      cap_drop: ['ALL'],
      privileged: true,
      security_opt: ['no-new-privileges:true', 'seccomp=unconfined'],
      ulimits: { nproc: { single: 65535 }, nofile: { soft: 1024, hard: 2048 } },
      sysctls: { 'net.core.somaxconn': '1024' },
      init: true,
      extra_hosts: { 'db.local': ['10.0.0.5'], v6: ['::1'] },
      dns: ['1.1.1.1'],
      dns_search: ['example.org'],
      dns_opt: ['ndots:2'],
      logging: { driver: 'json-file', options: { 'max-size': '1m' } },
      shm_size: 128 * 2 ** 20,
      devices: [{ source: '/dev/fuse', target: '/dev/fuse', permissions: 'rwm' }],
      group_add: ['audio'],
      runtime: 'runc',
      volume_driver: 'local',
      blkio_config: { weight: 300 },
      cpu_rt_period: '1s',
      cpu_rt_runtime: 950000,
    });
    assert.equal(h.ReadonlyRootfs, true);
    assert.deepEqual(h.CapAdd, ['NET_ADMIN']);
    assert.deepEqual(h.CapDrop, ['ALL']);
    assert.equal(h.Privileged, true);
    assert.deepEqual(h.SecurityOpt, ['no-new-privileges:true', 'seccomp=unconfined']);
    assert.deepEqual(h.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'nproc', Soft: 65535, Hard: 65535 }]);
    assert.deepEqual(h.Sysctls, { 'net.core.somaxconn': '1024' });
    assert.equal(h.Init, true);
    assert.deepEqual(h.ExtraHosts, ['db.local:10.0.0.5', 'v6:::1']);
    assert.deepEqual(h.Dns, ['1.1.1.1']);
    assert.deepEqual(h.DnsSearch, ['example.org']);
    assert.deepEqual(h.DnsOptions, ['ndots:2']);
    assert.deepEqual(h.LogConfig, { Type: 'json-file', Config: { 'max-size': '1m' } });
    assert.equal(h.ShmSize, 134217728);
    assert.deepEqual(h.Devices, [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }]);
    assert.deepEqual(h.GroupAdd, ['audio']);
    assert.equal(h.Runtime, 'runc');
    assert.equal(h.VolumeDriver, 'local');
    assert.equal(h.BlkioWeight, 300);
    assert.equal(h.CpuRealtimePeriod, 1000000);
    assert.equal(h.CpuRealtimeRuntime, 950000);
  });
  it('a seccomp profile named by path is sent as its JSON, relative to the project directory', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-convert-'));
    try {
      writeFileSync(path.join(dir, 'seccomp.json'), '{\n  "defaultAction": "SCMP_ACT_ALLOW"\n}\n');
      assert.deepEqual(host({ security_opt: ['seccomp=seccomp.json'] }, { workingDir: dir }).SecurityOpt, ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']);
      refuses(() => host({ security_opt: ['seccomp=missing.json'] }, { workingDir: dir }), /opening seccomp profile \(missing\.json\) failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('keys berth cannot honour are refused by name', () => {
    for (const [svc, key] of [
      [{ annotations: { a: 'b' } }, 'annotations'],
      [{ cgroup_parent: 'x' }, 'cgroup_parent'],
      [{ cgroup: 'host' }, 'cgroup'],
      [{ userns_mode: 'keep-id' }, 'userns_mode'],
      [{ device_cgroup_rules: ['c 1:3 mr'] }, 'device_cgroup_rules'],
      [{ oom_score_adj: 500 }, 'oom_score_adj'],
      [{ mem_swappiness: 10 }, 'mem_swappiness'],
      [{ runtime: 'kata' }, 'runtime'],
      [{ isolation: 'hyperv' }, 'isolation'],
      [{ storage_opt: { size: '1G' } }, 'storage_opt'],
      [{ cpu_count: 2 }, 'cpu_count'],
      [{ cpu_percent: 50 }, 'cpu_percent'],
      [{ credential_spec: { file: 'x' } }, 'credential_spec'],
      [{ gpus: 'all' }, 'gpus'],
      [{ blkio_config: { device_read_bps: [{ path: '/dev/sda', rate: '1mb' }] } }, 'blkio_config.device_read_bps'],
      [{ devices: [{ source: 'nvidia.com/gpu=all', target: 'nvidia.com/gpu=all', permissions: '' }] }, 'CDI device nvidia.com/gpu=all'],
    ] as [ServiceConfig, string][]) {
      refuses(() => req(svc), new RegExp(`^service "web": ${key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not supported by berth compose`));
    }
    // Their zero values are no request at all.
    assert.doesNotThrow(() => req({ annotations: {}, device_cgroup_rules: [], oom_score_adj: 0, isolation: 'default', userns_mode: 'host', runtime: 'runc' }));
  });
});

describe('compose convert: secrets and configs', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-secrets-'));
  writeFileSync(path.join(dir, 'pass.txt'), 'hunter2\n');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const files: Partial<Project> = {
    workingDir: dir,
    environment: { TOKEN: 't' },
    secrets: { pass: { name: 'app_pass', file: 'pass.txt' }, token: { name: 'app_token', environment: 'TOKEN' }, gone: { name: 'app_gone', file: 'missing.txt' }, vault: { name: 'vault', external: true }, unset: { name: 'app_unset', environment: 'NOT_SET' } },
    configs: { cfg: { name: 'app_cfg', file: 'pass.txt' }, inline: { name: 'app_inline', content: 'x' } },
  };
  it('file ones without uid, gid or mode are bind-mounted read-only at /run/secrets/<name> and /<name> or their target', () => {
    const h = host({ secrets: [{ source: 'pass' }, { source: 'pass', target: 'renamed' }, { source: 'token' }], configs: [{ source: 'cfg' }, { source: 'cfg', target: '/etc/cfg.ini' }, { source: 'inline' }] }, files);
    assert.deepEqual(h.Mounts, [
      { Type: 'bind', Source: path.join(dir, 'pass.txt'), Target: '/run/secrets/pass', ReadOnly: true },
      { Type: 'bind', Source: path.join(dir, 'pass.txt'), Target: '/run/secrets/renamed', ReadOnly: true },
      { Type: 'bind', Source: path.join(dir, 'pass.txt'), Target: '/cfg', ReadOnly: true },
      { Type: 'bind', Source: path.join(dir, 'pass.txt'), Target: '/etc/cfg.ini', ReadOnly: true },
    ]);
  });
  it('a file with uid, gid or mode is copied instead (no mount); a volume at the same target wins', () => {
    assert.equal(host({ secrets: [{ source: 'pass', mode: 0o400 }] }, files).Mounts, undefined);
    assert.deepEqual(host({ secrets: [{ source: 'pass' }], volumes: [{ type: 'tmpfs', target: '/run/secrets/pass' }] }, files).Mounts, [{ Type: 'tmpfs', Target: '/run/secrets/pass' }]);
  });
  it('refuses before anything is created: a missing file or variable, an external one, names for IDs, copies into a read-only root', () => {
    refuses(() => host({ secrets: [{ source: 'gone' }] }, files), /service "web": secret "gone": file .*missing\.txt does not exist/);
    refuses(() => host({ secrets: [{ source: 'unset' }] }, files), /environment variable "NOT_SET" required by file "app_unset" is not set/);
    refuses(() => host({ secrets: [{ source: 'vault' }] }, files), /service "web": external secret "vault" is not supported by berth compose/);
    refuses(() => host({ secrets: [{ source: 'nope' }] }, files), /service "web" refers to undefined secret nope/);
    refuses(() => host({ secrets: [{ source: 'pass', uid: 'www-data' }] }, files), /secrets\.pass\.uid: "www-data" must be a numeric ID/);
    refuses(() => host({ read_only: true, secrets: [{ source: 'token' }] }, files), /secret "token" with read_only is not supported by berth compose/);
    assert.doesNotThrow(() => host({ read_only: true, secrets: [{ source: 'pass' }] }, files), 'a bind-mounted file needs no writable root');
  });
});

describe('compose convert: checkConvertible', () => {
  it('throws the first refusal of any service before anything is created; passes a convertible project', () => {
    const p = project({ a: { image: 'busybox' }, b: { image: 'busybox', cgroup_parent: 'x' } });
    refuses(() => checkConvertible(p), /^service "b": cgroup_parent is not supported by berth compose/);
    assert.doesNotThrow(() => checkConvertible(p, ['a']));
    refuses(() => checkConvertible(project({ a: { image: 'busybox', healthcheck: { start_interval: '1s' } } }), undefined, '1.41'), /start_interval/);
  });
});

describe('compose convert: names, platform, networks and volumes', () => {
  it('container names and platform', () => {
    const p = project({ web: { image: 'busybox' }, db: { image: 'busybox', container_name: 'the-db', platform: 'linux/arm64' } });
    assert.equal(containerName(p, 'web', p.services.web!, 3), 'app-web-3');
    assert.equal(containerName(p, 'db', p.services.db!, 1), 'the-db');
    assert.equal(containerPlatform(p, p.services.db!), 'linux/arm64');
    assert.equal(containerPlatform(p, p.services.web!), undefined);
    assert.equal(containerPlatform({ ...p, environment: { DOCKER_DEFAULT_PLATFORM: 'linux/amd64' } }, p.services.web!), 'linux/amd64');
  });
  it('a top-level network with driver, options, IPAM, internal, attachable, IPv6 and labels', () => {
    const p = project({}, {
      networks: {
        back: {
          name: 'app_back',
          driver: 'bridge',
          driver_opts: { 'com.docker.network.bridge.name': 'br-app' },
          ipam: { driver: 'default', config: [{ subnet: '10.9.0.0/24', ip_range: '10.9.0.128/25', gateway: '10.9.0.1', aux_addresses: { router: '10.9.0.2' } }] },
          internal: true,
          attachable: true,
          enable_ipv6: false,
          labels: { team: 'x' },
        },
      },
    });
    assert.deepEqual(networkCreateRequest(p, 'back'), {
      Name: 'app_back',
      CheckDuplicate: true,
      Driver: 'bridge',
      Internal: true,
      Attachable: true,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/24', IPRange: '10.9.0.128/25', Gateway: '10.9.0.1', AuxiliaryAddresses: { router: '10.9.0.2' } }] },
      Options: { 'com.docker.network.bridge.name': 'br-app' },
      Labels: { team: 'x', 'com.docker.compose.network': 'back', 'com.docker.compose.project': 'app', 'com.docker.compose.version': '2.29.7' },
    });
  });
  it('a top-level volume with driver, options and labels', () => {
    const p = project({}, { volumes: { data: { name: 'app_data', driver: 'local', driver_opts: { type: 'tmpfs', device: 'tmpfs' }, labels: { keep: 'yes' } } } });
    assert.deepEqual(volumeCreateRequest(p, 'data'), {
      Name: 'app_data',
      Driver: 'local',
      DriverOpts: { type: 'tmpfs', device: 'tmpfs' },
      Labels: { keep: 'yes', 'com.docker.compose.volume': 'data', 'com.docker.compose.project': 'app', 'com.docker.compose.version': '2.29.7' },
    });
  });
});
