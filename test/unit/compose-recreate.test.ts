// Why a container is recreated: the desired create request against the container's inspect, with the
// engine's own additions (image env/labels/cmd merged in, default hostname, log driver, shm size, IPC
// mode, swap, extra aliases) never reported. And Compose's decision itself (mustRecreate).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerCreateRequest, ContainerInspect, ImageRuntimeConfig } from '../../src/api/types.js';
import { containerCreateRequest } from '../../src/compose/convert.js';
import { mustRecreate, recreateReasons } from '../../src/compose/recreate.js';
import type { Project, ServiceConfig } from '../../src/compose/types.js';

const ID1 = 'sha256:' + 'ab'.repeat(32);
const ID2 = 'sha256:' + 'cd'.repeat(32);
const CONTAINER_ID = '0123456789ab' + '0'.repeat(52);

const IMAGE: ImageRuntimeConfig = {
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LOG_LEVEL=warn'],
  Cmd: ['sh'],
  Labels: { 'org.opencontainers.image.title': 'base' },
  ExposedPorts: { '9999/tcp': {} },
  WorkingDir: '/',
  Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30e9 },
};

function project(web: ServiceConfig): Project {
  return {
    name: 'app', workingDir: '/srv/app', composeFiles: ['/srv/app/compose.yaml'], environment: {}, profiles: [],
    services: { web }, disabledServices: {}, networks: { default: { name: 'app_default' } }, volumes: { data: { name: 'app_data' } }, secrets: {}, configs: {},
  };
}

const BASE: ServiceConfig = {
  image: 'busybox',
  environment: { LOG_LEVEL: 'info', TOKEN: 's3cret' },
  ports: [{ target: 80, published: '8080', protocol: 'tcp' }],
  volumes: [{ type: 'volume', source: 'data', target: '/data' }, { type: 'volume', target: '/anon' }],
  mem_limit: 256 * 2 ** 20,
  networks: { default: { aliases: ['www'] } },
  healthcheck: { interval: '1s' },
};

function desired(svc: ServiceConfig, imageId = ID1): ContainerCreateRequest {
  return containerCreateRequest(project(svc), 'web', svc, { number: 1, configHash: 'h', imageId });
}

/** What an engine shows for a container made from `req` on IMAGE (its merges and defaults). */
function inspectOf(req: ContainerCreateRequest, image: ImageRuntimeConfig = IMAGE): ContainerInspect {
  const env = new Map((image.Env ?? []).map((e) => [e.split('=')[0]!, e] as const));
  for (const e of req.Env ?? []) env.set(e.split('=')[0]!, e);
  const hc = req.HostConfig!;
  const endpoints = Object.fromEntries(Object.entries(req.NetworkingConfig?.EndpointsConfig ?? {}).map(([k, v]) => [k, { ...v, Aliases: [...(v.Aliases ?? []), CONTAINER_ID.slice(0, 12)] }]));
  return {
    Id: CONTAINER_ID,
    Image: req.Labels!['com.docker.compose.image']!,
    Config: {
      ...req,
      Hostname: CONTAINER_ID.slice(0, 12),
      Env: [...env.values()],
      Cmd: req.Cmd ?? image.Cmd,
      Entrypoint: req.Entrypoint ?? null,
      Labels: { ...image.Labels, ...req.Labels },
      ExposedPorts: { ...image.ExposedPorts, ...req.ExposedPorts },
      WorkingDir: req.WorkingDir || image.WorkingDir,
      Healthcheck: { ...image.Healthcheck, ...req.Healthcheck },
      StopTimeout: 10,
    },
    HostConfig: { ...hc, LogConfig: { Type: 'json-file', Config: {} }, ShmSize: 64 * 2 ** 20, IpcMode: 'private', MemorySwap: (hc.Memory ?? 0) * 2, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, CapAdd: null, Privileged: false },
    NetworkSettings: { Networks: endpoints },
  } as unknown as ContainerInspect;
}

function reasons(svc: ServiceConfig, opts: { imageId?: string; was?: ServiceConfig; image?: ImageRuntimeConfig | null } = {}): string[] {
  const actual = inspectOf(desired(opts.was ?? BASE));
  return recreateReasons({ desired: desired(svc, opts.imageId), actual, actualImage: opts.image === null ? undefined : (opts.image ?? IMAGE) });
}

describe('compose recreate reasons', () => {
  it('an unchanged container: none, whatever the engine added', () => {
    assert.deepEqual(reasons(BASE), []);
    assert.deepEqual(reasons(BASE, { image: null }), [], 'without the image: none either');
  });
  it('the image: reference or ID, shortened', () => {
    assert.deepEqual(reasons(BASE, { imageId: ID2 }), ['image changed (sha256:abababababab… → sha256:cdcdcdcdcdcd…)']);
    assert.deepEqual(reasons({ ...BASE, image: 'busybox:1.37' }), ['image changed (busybox → busybox:1.37)']);
  });
  it('environment by key, values never shown; a variable only the image sets is not a change', () => {
    assert.deepEqual(reasons({ ...BASE, environment: { LOG_LEVEL: 'debug', TOKEN: 's3cret' } }), ['environment.LOG_LEVEL changed']);
    assert.deepEqual(reasons({ ...BASE, environment: { ...BASE.environment, NEW: '1' } }), ['environment.NEW added']);
    assert.deepEqual(reasons({ ...BASE, environment: { LOG_LEVEL: 'info' } }), ['environment.TOKEN removed']);
    // LOG_LEVEL falls back to the image's value: a change the user made.
    assert.deepEqual(reasons({ ...BASE, environment: { TOKEN: 's3cret' } }), ['environment.LOG_LEVEL changed']);
    for (const r of reasons({ ...BASE, environment: { LOG_LEVEL: 'info', TOKEN: 'other' } })) assert.doesNotMatch(r, /s3cret|other/);
  });
  it('command, entrypoint, labels, working_dir, user, healthcheck, hostname, stop_grace_period', () => {
    assert.deepEqual(reasons({ ...BASE, command: ['sleep', '1'] }), ['command changed']);
    assert.deepEqual(reasons({ ...BASE, entrypoint: ['/bin/sh', '-c'] }), ['command changed', 'entrypoint changed'], 'an entrypoint drops the image\'s command');
    assert.deepEqual(reasons({ ...BASE, labels: { tier: 'front' } }), ['labels.tier added']);
    assert.deepEqual(reasons({ ...BASE, working_dir: '/app', user: 'nobody' }), ['working_dir changed', 'user changed']);
    assert.deepEqual(reasons({ ...BASE, healthcheck: { interval: '2s' } }), ['healthcheck changed']);
    assert.deepEqual(reasons({ ...BASE, hostname: 'web' }), ['hostname changed']);
    assert.deepEqual(reasons({ ...BASE, stop_grace_period: '30s' }), ['stop_grace_period changed']);
  });
  it('anonymous volumes inherited from the replaced container (the service\'s and the image\'s VOLUMEs) are no change', () => {
    const anon = 'f'.repeat(64);
    const was = desired(BASE);
    const mounts = was.HostConfig!.Mounts!.map((m) => (m.Target === '/anon' ? { ...m, Source: anon } : m));
    was.HostConfig!.Mounts = [...mounts, { Type: 'volume', Source: 'e'.repeat(64), Target: '/var/lib/image-vol' }];
    const image = { ...IMAGE, Volumes: { '/var/lib/image-vol': {} } };
    assert.deepEqual(recreateReasons({ desired: desired(BASE), actual: inspectOf(was, image), actualImage: image }), []);
    assert.deepEqual(recreateReasons({ desired: desired(BASE), actual: inspectOf(was, image), actualImage: IMAGE }), ['volume /var/lib/image-vol removed'], 'not the image\'s: it was the service\'s');
  });
  it('a differing hash nothing else explains is said as it is', () => {
    const svc: ServiceConfig = { ...BASE, secrets: [{ source: 'token', mode: 0o400 }] };
    const want = containerCreateRequest({ ...project(BASE), secrets: { token: { name: 'app_token', content: 't' } } }, 'web', svc, { number: 1, configHash: 'h2', imageId: ID1 });
    assert.deepEqual(recreateReasons({ desired: want, actual: inspectOf(desired(BASE)), actualImage: IMAGE }), ['configuration changed (config hash)']);
  });
  it('ports, volumes, resources with their values, restart, networks', () => {
    assert.deepEqual(reasons({ ...BASE, ports: [{ target: 80, published: '8081', protocol: 'tcp' }] }), ['ports changed']);
    assert.deepEqual(reasons({ ...BASE, volumes: [{ type: 'volume', source: 'data', target: '/data', read_only: true }] }), ['volume /data changed', 'volume /anon removed']);
    assert.deepEqual(reasons({ ...BASE, mem_limit: 512 * 2 ** 20 }), ['mem_limit changed (256MiB → 512MiB)']);
    assert.deepEqual(reasons({ ...BASE, cpus: 0.5 }), ['cpus changed (unset → 0.5)']);
    assert.deepEqual(reasons({ ...BASE, restart: 'always' }), ['restart changed (no → always)']);
    assert.deepEqual(reasons({ ...BASE, networks: { default: { aliases: ['api'] } } }), ['networks.app_default.aliases changed']);
    assert.deepEqual(reasons({ ...BASE, cap_add: ['NET_ADMIN'], read_only: true }), ['read_only changed', 'cap_add changed']);
  });
});

describe('compose mustRecreate', () => {
  const labels = { 'com.docker.compose.config-hash': 'h', 'com.docker.compose.image': ID1 };
  it('a differing hash or image ID; force and never', () => {
    assert.equal(mustRecreate(labels, { configHash: 'h', imageId: ID1 }), false);
    assert.equal(mustRecreate(labels, { configHash: 'h' }), false, 'an image ID up did not resolve is not compared');
    assert.equal(mustRecreate(labels, { configHash: 'h2', imageId: ID1 }), true);
    assert.equal(mustRecreate(labels, { configHash: 'h', imageId: ID2 }), true);
    assert.equal(mustRecreate(labels, { configHash: 'h', imageId: ID1 }, 'force'), true);
    assert.equal(mustRecreate(labels, { configHash: 'h2', imageId: ID2 }, 'never'), false);
    assert.equal(mustRecreate(null, { configHash: 'h' }), true);
  });
});
