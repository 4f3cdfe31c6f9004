// The compose converter against a real engine (issue 11 items 4 and 7): containers created and started
// from the create requests convert.ts makes, through ComposeBackend, then checked as a user would check
// them — limits applied in the container's cgroup, environment, a single bind-mounted file read-only,
// secrets and configs readable with their owner and mode, the tmpfs size, extra_hosts in /etc/hosts,
// the health check turning healthy — and recreateReasons finding nothing to say about an unchanged
// container, and the one change made. Private berthd, real runc.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EngineClient } from '../../src/client/engine.js';
import { resolveHost } from '../../src/client/host.js';
import { ComposeBackend } from '../../src/compose/backend.js';
import { containerCreateRequest, containerName, networkConnects, networkCreateRequest, volumeCreateRequest } from '../../src/compose/convert.js';
import { serviceConfigHash } from '../../src/compose/hash.js';
import { mustRecreate, recreateReasons } from '../../src/compose/recreate.js';
import { injectSecrets } from '../../src/compose/secrets.js';
import type { Project, ServiceConfig } from '../../src/compose/types.js';
import { TestDaemon, context } from './harness.js';
import { waitFor } from './waits.js';

const MiB = 2 ** 20;

describe('compose convert on a real engine', () => {
  let d: TestDaemon;
  let client: EngineClient;
  let backend: ComposeBackend;
  let dir: string;
  let project: Project;
  let id = '';
  let imageId = '';

  const web = (): ServiceConfig => ({
    image: 'busybox:latest',
    command: ['sh', '-c', 'sleep 600'],
    environment: { LOG_LEVEL: 'info', GREETING: 'hello world' },
    mem_limit: 64 * MiB,
    cpus: 0.5,
    pids_limit: 50,
    ports: [{ target: 80, host_ip: '127.0.0.1', protocol: 'tcp' }],
    volumes: [
      { type: 'volume', source: 'data', target: '/data' },
      { type: 'bind', source: './app.conf', target: '/etc/app.conf', read_only: true },
      { type: 'tmpfs', target: '/scratch', tmpfs: { size: MiB } },
      { type: 'volume', target: '/anon' },
    ],
    extra_hosts: { 'db.example': ['10.1.2.3'] },
    healthcheck: { test: ['CMD-SHELL', 'test -f /data/ready'], interval: '1s', start_interval: '100ms', start_period: '30s' },
    secrets: [{ source: 'db_pass' }, { source: 'api_key', uid: '1000', gid: '1000', mode: 0o400 }],
    configs: [{ source: 'motd', target: '/etc/motd' }],
    networks: { default: { aliases: ['www'] } },
    restart: 'unless-stopped',
    stop_grace_period: '3s',
  });

  const ok = (r: { code: number; stdout: string; stderr: string }) => {
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const exec = async (...cmd: string[]) => ok(await d.berth(['exec', id, ...cmd]));

  before(async () => {
    d = await TestDaemon.start();
    imageId = (await d.importBusybox()).replace(/\s+/g, '');
    client = new EngineClient(resolveHost(d.host));
    backend = new ComposeBackend(client);
    dir = await context({ 'app.conf': 'listen 8080\n', 'db_pass.txt': 'hunter2\n' });
    project = {
      name: 'cv',
      workingDir: dir,
      composeFiles: [path.join(dir, 'compose.yaml')],
      environment: { API_KEY: 'k-123' },
      profiles: [],
      services: { web: web() },
      disabledServices: {},
      networks: { default: { name: 'cv_default' } },
      volumes: { data: { name: 'cv_data' } },
      secrets: { db_pass: { name: 'cv_db_pass', file: path.join(dir, 'db_pass.txt') }, api_key: { name: 'cv_api_key', environment: 'API_KEY' } },
      configs: { motd: { name: 'cv_motd', content: 'welcome\n' } },
    };
    await backend.createNetwork(networkCreateRequest(project, 'default'));
    await backend.createVolume(volumeCreateRequest(project, 'data'));
  });

  after(async () => {
    if (id) await backend.removeContainer(id, { force: true, volumes: true }).catch(() => undefined);
    await backend.removeNetwork('cv_default').catch(() => undefined);
    await backend.removeVolume('cv_data').catch(() => undefined);
    client?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
    await d.cleanup();
  });

  const request = (svc: ServiceConfig) =>
    containerCreateRequest(project, 'web', svc, { number: 1, configHash: serviceConfigHash(svc), imageId });

  it('creates, fills secrets and starts a container from the converter\'s request', async () => {
    const svc = project.services.web!;
    const name = containerName(project, 'web', svc, 1);
    id = await backend.createContainer(name, request(svc));
    assert.deepEqual(networkConnects(project, 'web', svc, { number: 1, configHash: '' }), []);
    await injectSecrets(backend, id, project, 'web');
    await backend.startContainer(id);
    const c = await backend.inspectContainer(id);
    assert.equal(c.Name, '/cv-web-1');
    assert.equal(c.State.Running, true);
    assert.equal(c.Config.Labels?.['com.docker.compose.project'], 'cv');
    assert.equal(c.Config.Labels?.['com.docker.compose.image'], imageId);
  });

  it('applies the limits in the container\'s cgroup', async () => {
    const c = await backend.inspectContainer(id);
    assert.equal(c.HostConfig.Memory, 64 * MiB);
    assert.equal(c.HostConfig.NanoCpus, 5e8);
    assert.equal(c.HostConfig.PidsLimit, 50);
    const read = (v2: string, v1: string) => exec('sh', '-c', `cat /sys/fs/cgroup/${v2} 2>/dev/null || cat /sys/fs/cgroup/${v1}`);
    assert.equal(await read('memory.max', 'memory/memory.limit_in_bytes'), String(64 * MiB));
    assert.equal(await read('pids.max', 'pids/pids.max'), '50');
    const cpu = await read('cpu.max', 'cpu/cpu.cfs_quota_us');
    assert.ok(cpu === '50000 100000' || cpu === '50000', cpu);
  });

  it('sets the environment, extra_hosts and the network alias', async () => {
    assert.equal(await exec('sh', '-c', 'echo "$LOG_LEVEL/$GREETING"'), 'info/hello world');
    assert.match(await exec('cat', '/etc/hosts'), /^10\.1\.2\.3\s+db\.example$/m);
    const c = await backend.inspectContainer(id);
    const aliases = c.NetworkSettings.Networks.cv_default?.Aliases ?? [];
    assert.ok(['cv-web-1', 'web', 'www'].every((a) => aliases.includes(a)), JSON.stringify(aliases));
  });

  it('mounts a single file read-only, the named and anonymous volumes, and a tmpfs of the given size', async () => {
    assert.equal(await exec('cat', '/etc/app.conf'), 'listen 8080');
    const write = await d.berth(['exec', id, 'sh', '-c', 'echo x >> /etc/app.conf']);
    assert.notEqual(write.code, 0, 'the bind-mounted file is read-only');
    assert.match(write.stderr, /Read-only file system/);
    await exec('sh', '-c', 'echo ok > /data/ready && echo ok > /anon/x');
    const c = await backend.inspectContainer(id);
    assert.equal(c.Mounts.find((m) => m.Destination === '/data')?.Name, 'cv_data');
    assert.equal(c.Mounts.find((m) => m.Destination === '/anon')?.Type, 'volume');
    // 1 MiB: 1024 blocks of 1K.
    assert.match(await exec('df', '-k', '/scratch'), /\s1024\s/);
  });

  it('makes secrets and configs readable with their owner and mode', async () => {
    assert.equal(await exec('cat', '/run/secrets/db_pass'), 'hunter2');
    assert.notEqual((await d.berth(['exec', id, 'sh', '-c', 'echo x > /run/secrets/db_pass'])).code, 0, 'a file secret is mounted read-only');
    assert.equal(await exec('cat', '/run/secrets/api_key'), 'k-123');
    assert.equal(await exec('stat', '-c', '%a %u %g', '/run/secrets/api_key'), '400 1000 1000');
    const denied = await d.berth(['exec', '-u', '2000', id, 'cat', '/run/secrets/api_key']);
    assert.notEqual(denied.code, 0, 'mode 0400 keeps other users out');
    assert.equal(await exec('cat', '/etc/motd'), 'welcome');
    assert.equal(await exec('stat', '-c', '%a %u', '/etc/motd'), '444 0');
  });

  it('runs the health check until healthy', async () => {
    await waitFor(async () => (await backend.inspectContainer(id)).State.Health?.Status === 'healthy', 'the container to turn healthy');
    const c = await backend.inspectContainer(id);
    assert.deepEqual(c.Config.Healthcheck?.Test, ['CMD-SHELL', 'test -f /data/ready']);
    assert.equal(c.Config.Healthcheck?.StartInterval, 1e8);
  });

  it('finds no reason to recreate an unchanged container, and names a change', async () => {
    const actual = await backend.inspectContainer(id);
    const image = await backend.inspectImage(actual.Image);
    const svc = project.services.web!;
    assert.equal(mustRecreate(actual.Config.Labels, { configHash: serviceConfigHash(web()), imageId }), false);
    assert.deepEqual(recreateReasons({ desired: request(svc), actual, actualImage: image?.Config }), []);
    assert.deepEqual(recreateReasons({ desired: request(svc), actual }), [], 'without the image either');
    const changed: ServiceConfig = { ...web(), environment: { LOG_LEVEL: 'debug', GREETING: 'hello world' }, mem_limit: 128 * MiB };
    assert.equal(mustRecreate(actual.Config.Labels, { configHash: serviceConfigHash(changed), imageId }), true);
    assert.deepEqual(recreateReasons({ desired: request(changed), actual, actualImage: image?.Config }), ['environment.LOG_LEVEL changed', 'mem_limit changed (64MiB → 128MiB)']);
  });
});
