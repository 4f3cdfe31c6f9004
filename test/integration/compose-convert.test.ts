// The compose converter against a real engine (issue 11 items 4 and 7): containers created and started
// from the create requests convert.ts makes, through ComposeBackend, then checked as a user would check
// them — limits applied in the container's cgroup, environment, a single bind-mounted file read-only,
// secrets and configs readable with their owner and mode, the tmpfs size, extra_hosts in /etc/hosts,
// the health check turning healthy — and recreateReasons finding nothing to say about an unchanged
// container, and the one change made. On a private berthd (API 1.44) and on a private dockerd 20.10
// (API 1.41: networks connected after create, no start_interval) — the converter is engine-independent.
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
import { PrivateDockerd, TestDaemon, context, type RunResult } from './harness.js';
import { waitFor } from './waits.js';

const MiB = 2 ** 20;

interface Engine {
  client: EngineClient;
  /** The docker CLI against this engine. */
  docker: (args: string[]) => Promise<RunResult>;
  imageId: string;
  apiVersion: string;
  close: () => Promise<void>;
}

async function onBerthd(): Promise<Engine> {
  const d = await TestDaemon.start();
  try {
    const imageId = (await d.importBusybox()).replace(/\s+/g, '');
    const client = new EngineClient(resolveHost(d.host));
    return { client, docker: (a) => d.docker(a), imageId, apiVersion: await client.apiVersion(), close: () => d.cleanup() };
  } catch (e) {
    await d.cleanup();
    throw e;
  }
}

/** busybox saved from a private berthd and loaded into a private dockerd 20.10. */
async function onDockerd(): Promise<Engine> {
  const d = await TestDaemon.start();
  const ref = await PrivateDockerd.start();
  const close = async () => {
    await ref.stop();
    await d.cleanup();
  };
  try {
    await d.importBusybox();
    const archive = path.join(d.dir, 'busybox.tar');
    assert.equal((await d.berth(['save', '-o', archive, 'busybox:latest'])).code, 0);
    const loaded = await ref.docker(['load', '-i', archive]);
    assert.equal(loaded.code, 0, loaded.stderr);
    const imageId = (await ref.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox:latest'])).stdout.trim();
    const client = new EngineClient(resolveHost(`unix://${ref.socket}`));
    return { client, docker: (a) => ref.docker(a), imageId, apiVersion: await client.apiVersion(), close };
  } catch (e) {
    await close();
    throw e;
  }
}

function scenario(engineName: string, start: () => Promise<Engine>, opts: { startInterval: boolean }): void {
  describe(`compose convert on a real engine: ${engineName}`, () => {
    let engine: Engine;
    let backend: ComposeBackend;
    let dir: string;
    let project: Project;
    let id = '';

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
        { type: 'bind', source: './made-for-me', target: '/made', bind: { create_host_path: true } },
        { type: 'tmpfs', target: '/scratch', tmpfs: { size: MiB } },
        { type: 'volume', target: '/anon' },
      ],
      extra_hosts: { 'db.example': ['10.1.2.3'] },
      healthcheck: { test: ['CMD-SHELL', 'test -f /data/ready'], interval: '1s', start_period: '30s', ...(opts.startInterval ? { start_interval: '100ms' } : {}) },
      secrets: [{ source: 'db_pass' }, { source: 'api_key', uid: '1000', gid: '1000', mode: 0o400 }],
      configs: [{ source: 'motd', target: '/etc/motd' }],
      // Two networks: the second joins at create (API 1.44) or is connected after it (before).
      networks: { default: { aliases: ['www'], priority: 10 }, back: null },
      restart: 'unless-stopped',
      stop_grace_period: '3s',
    });

    const ok = (r: { code: number; stdout: string; stderr: string }) => {
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const exec = async (...cmd: string[]) => ok(await engine.docker(['exec', id, ...cmd]));
    const options = () => ({ number: 1, configHash: '', imageId: engine.imageId, apiVersion: engine.apiVersion });
    const request = (svc: ServiceConfig) => containerCreateRequest(project, 'web', svc, { ...options(), configHash: serviceConfigHash(svc) });

    before(async () => {
      engine = await start();
      backend = new ComposeBackend(engine.client);
      dir = await context({ 'app.conf': 'listen 8080\n', 'db_pass.txt': 'hunter2\n' });
      project = {
        name: 'cv',
        workingDir: dir,
        composeFiles: [path.join(dir, 'compose.yaml')],
        environment: { API_KEY: 'k-123' },
        profiles: [],
        services: { web: web() },
        disabledServices: {},
        networks: { default: { name: 'cv_default' }, back: { name: 'cv_back' } },
        volumes: { data: { name: 'cv_data' } },
        secrets: { db_pass: { name: 'cv_db_pass', file: path.join(dir, 'db_pass.txt') }, api_key: { name: 'cv_api_key', environment: 'API_KEY' } },
        configs: { motd: { name: 'cv_motd', content: 'welcome\n' } },
      };
      for (const key of Object.keys(project.networks)) await backend.createNetwork(networkCreateRequest(project, key));
      await backend.createVolume(volumeCreateRequest(project, 'data'));
    });

    after(async () => {
      if (id) await backend.removeContainer(id, { force: true, volumes: true }).catch(() => undefined);
      for (const n of ['cv_default', 'cv_back']) await backend.removeNetwork(n).catch(() => undefined);
      await backend.removeVolume('cv_data').catch(() => undefined);
      engine.client.close();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
      await engine.close();
    });

    it('creates, connects, fills secrets and starts a container from the converter\'s request', async () => {
      const svc = project.services.web!;
      id = await backend.createContainer(containerName(project, 'web', svc, 1), request(svc));
      for (const c of networkConnects(project, 'web', svc, options())) await backend.connectNetwork(c.network, id, c.endpoint);
      await injectSecrets(backend, id, project, 'web');
      await backend.startContainer(id);
      const c = await backend.inspectContainer(id);
      assert.equal(c.Name, '/cv-web-1');
      assert.equal(c.State.Running, true);
      assert.equal(c.HostConfig.NetworkMode, 'cv_default', 'the highest priority network');
      assert.deepEqual(Object.keys(c.NetworkSettings.Networks).sort(), ['cv_back', 'cv_default']);
      assert.equal(c.Config.Labels?.['com.docker.compose.project'], 'cv');
      assert.equal(c.Config.Labels?.['com.docker.compose.image'], engine.imageId);
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

    it('sets the environment, extra_hosts and the network aliases', async () => {
      assert.equal(await exec('sh', '-c', 'echo "$LOG_LEVEL/$GREETING"'), 'info/hello world');
      assert.match(await exec('cat', '/etc/hosts'), /^10\.1\.2\.3\s+db\.example$/m);
      const c = await backend.inspectContainer(id);
      const aliases = c.NetworkSettings.Networks.cv_default?.Aliases ?? [];
      assert.ok(['cv-web-1', 'web', 'www'].every((a) => aliases.includes(a)), JSON.stringify(aliases));
    });

    it('mounts a single file read-only, a created bind source, the named and anonymous volumes, and a tmpfs of the given size', async () => {
      assert.equal(await exec('cat', '/etc/app.conf'), 'listen 8080');
      const write = await engine.docker(['exec', id, 'sh', '-c', 'echo x >> /etc/app.conf']);
      assert.notEqual(write.code, 0, 'the bind-mounted file is read-only');
      assert.match(write.stderr, /Read-only file system/);
      assert.ok((await fs.stat(path.join(dir, 'made-for-me'))).isDirectory(), 'create_host_path made the source');
      await exec('sh', '-c', 'echo ok > /data/ready && echo ok > /anon/x');
      const c = await backend.inspectContainer(id);
      assert.equal(c.Mounts.find((m) => m.Destination === '/data')?.Name, 'cv_data');
      assert.equal(c.Mounts.find((m) => m.Destination === '/anon')?.Type, 'volume');
      // 1 MiB: 1024 blocks of 1K.
      assert.match(await exec('df', '-k', '/scratch'), /\s1024\s/);
    });

    it('makes secrets and configs readable with their owner and mode', async () => {
      assert.equal(await exec('cat', '/run/secrets/db_pass'), 'hunter2');
      assert.notEqual((await engine.docker(['exec', id, 'sh', '-c', 'echo x > /run/secrets/db_pass'])).code, 0, 'a file secret is mounted read-only');
      assert.equal(await exec('cat', '/run/secrets/api_key'), 'k-123');
      assert.equal(await exec('stat', '-c', '%a %u %g', '/run/secrets/api_key'), '400 1000 1000');
      const denied = await engine.docker(['exec', '-u', '2000', id, 'cat', '/run/secrets/api_key']);
      assert.notEqual(denied.code, 0, 'mode 0400 keeps other users out');
      assert.equal(await exec('cat', '/etc/motd'), 'welcome');
      assert.equal(await exec('stat', '-c', '%a %u', '/etc/motd'), '444 0');
    });

    it('runs the health check until healthy', async () => {
      await waitFor(async () => (await backend.inspectContainer(id)).State.Health?.Status === 'healthy', 'the container to turn healthy');
      const c = await backend.inspectContainer(id);
      assert.deepEqual(c.Config.Healthcheck?.Test, ['CMD-SHELL', 'test -f /data/ready']);
      if (opts.startInterval) assert.equal(c.Config.Healthcheck?.StartInterval, 1e8);
    });

    it('finds no reason to recreate an unchanged container, and names a change', async () => {
      const actual = await backend.inspectContainer(id);
      const image = await backend.inspectImage(actual.Image);
      const svc = project.services.web!;
      const connects = networkConnects(project, 'web', svc, options());
      assert.equal(mustRecreate(actual.Config.Labels, { configHash: serviceConfigHash(web()), imageId: engine.imageId }), false);
      assert.deepEqual(recreateReasons({ desired: request(svc), connects, actual, actualImage: image?.Config }), []);
      assert.deepEqual(recreateReasons({ desired: request(svc), connects, actual }), [], 'without the image either');
      const changed: ServiceConfig = { ...web(), environment: { LOG_LEVEL: 'debug', GREETING: 'hello world' }, mem_limit: 128 * MiB };
      assert.equal(mustRecreate(actual.Config.Labels, { configHash: serviceConfigHash(changed), imageId: engine.imageId }), true);
      assert.deepEqual(recreateReasons({ desired: request(changed), connects, actual, actualImage: image?.Config }), ['environment.LOG_LEVEL changed', 'mem_limit changed (64MiB → 128MiB)']);
    });

    it('finds no reason either for a replacement that inherited the anonymous volume (as up makes it)', async () => {
      const svc = project.services.web!;
      const old = await backend.inspectContainer(id);
      const anon = old.Mounts.find((m) => m.Destination === '/anon')?.Name ?? '';
      assert.match(anon, /^[0-9a-f]{64}$/);
      const req = containerCreateRequest(project, 'web', svc, { ...options(), number: 2, configHash: serviceConfigHash(svc) });
      req.HostConfig!.Mounts = req.HostConfig!.Mounts!.map((m) => (m.Target === '/anon' ? { ...m, Source: anon } : m));
      const replacement = await backend.createContainer('cv-web-2', req);
      try {
        for (const c of networkConnects(project, 'web', svc, { ...options(), number: 2 })) await backend.connectNetwork(c.network, replacement, c.endpoint);
        const actual = await backend.inspectContainer(replacement);
        assert.equal(actual.Mounts.find((m) => m.Destination === '/anon')?.Name, anon);
        const image = await backend.inspectImage(actual.Image);
        const desired = containerCreateRequest(project, 'web', svc, { ...options(), number: 2, configHash: serviceConfigHash(svc) });
        const connects = networkConnects(project, 'web', svc, { ...options(), number: 2 });
        assert.deepEqual(recreateReasons({ desired, connects, actual, actualImage: image?.Config }), []);
      } finally {
        await backend.removeContainer(replacement, { force: true });
      }
    });
  });
}

scenario('berthd', onBerthd, { startInterval: true });
scenario('dockerd 20.10', onDockerd, { startInterval: false });
