// Bad request bodies and parameters are refused as dockerd refuses them (400, dockerd's words, nothing
// created); what Docker's Go structs allow — nulls anywhere, in request bodies and in image configs —
// is accepted; swarm routes answer as a node outside a swarm. Raw HTTP over berthd's socket.
// The expected messages were recorded from dockerd 20.10.24 given the same requests (its JSON decode
// errors came with status 500 there; moby 23+ answers them with 400, as berth does).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import * as tarStream from 'tar-stream';
import { PrivateDockerd, TestDaemon, busyboxTar } from './harness.js';
import { startDistribution } from '../support/distribution.js';

interface Answer {
  status: number;
  body: string;
  json: { message?: string; Id?: string; [k: string]: unknown };
}

function api(d: TestDaemon, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method, path: `/v1.41${path}`, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = {};
        try {
          json = JSON.parse(text) as object;
        } catch {
          // not JSON (204, a stream)
        }
        resolve({ status: res.statusCode ?? 0, body: text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function containerCount(d: TestDaemon): Promise<number> {
  return ((await api(d, 'GET', '/containers/json?all=1')).json as unknown as unknown[]).length;
}

const NOT_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

describe('API validation', () => {
  let d: TestDaemon;

  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => {
    await d?.cleanup();
  });

  it('refuses create bodies of the wrong types with Go decoder messages, before creating anything', async () => {
    const cases: [body: string, message: string][] = [
      ['{"Image":"busybox","HostConfig":{"Memory":"lots"}}', 'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64'],
      ['{"Image":"busybox","HostConfig":{"Memory":1e30}}', 'json: cannot unmarshal number 1e30 into Go struct field HostConfig.HostConfig.Memory of type int64'],
      ['{"Image":"busybox","HostConfig":{"Memory":7000000.5}}', 'json: cannot unmarshal number 7000000.5 into Go struct field HostConfig.HostConfig.Memory of type int64'],
      ['{"Image":"busybox","HostConfig":{"Memory":9223372036854775808}}', 'json: cannot unmarshal number 9223372036854775808 into Go struct field HostConfig.HostConfig.Memory of type int64'],
      ['{"Image":"busybox","Cmd":42}', 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd of type string'],
      ['{"Image":"busybox","Cmd":[1]}', 'json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Cmd of type string'],
      ['{"Image":"busybox","Env":{}}', 'json: cannot unmarshal object into Go struct field ContainerConfigWrapper.Env of type []string'],
      ['{"Image":"busybox","Labels":["a"]}', 'json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Labels of type map[string]string'],
      ['{"Image":"busybox","Tty":"yes"}', 'json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Tty of type bool'],
      ['{"Image":"busybox","memory":"x"}', 'json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Memory of type int64'],
      ['{"Image":"busybox","hostconfig":{"memory":"x"}}', 'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64'],
      ['{"Image":"busybox","HostConfig":5}', 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig'],
      ['{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":80}]}}}', 'json: cannot unmarshal number into Go struct field PortBinding.HostConfig.PortBindings.HostPort of type string'],
      ['{"Image":"busybox","HostConfig":{"Ulimits":[{"Name":"nofile","Soft":"x"}]}}', 'json: cannot unmarshal string into Go struct field Ulimit.HostConfig.Ulimits.Soft of type int64'],
      ['{"Image":"busybox","HostConfig":{"BlkioWeight":70000}}', 'json: cannot unmarshal number 70000 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16'],
      ['{"Image":"busybox","HostConfig":{"ConsoleSize":[-1,2]}}', 'json: cannot unmarshal number -1 into Go struct field HostConfig.HostConfig.ConsoleSize of type uint'],
      ['{"Image":"busybox","HostConfig":{"Mounts":[{"TmpfsOptions":{"Mode":"x"}}]}}', 'json: cannot unmarshal string into Go struct field TmpfsOptions.HostConfig.Mounts.TmpfsOptions.Mode of type fs.FileMode'],
      ['{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":"x"}}}}', 'json: cannot unmarshal string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string'],
      ['{"Image":"busybox","Healthcheck":{"Interval":"1s"}}', 'json: cannot unmarshal string into Go struct field HealthConfig.Healthcheck.Interval of type time.Duration'],
      ['{"Image":"busybox","Volumes":["x"]}', 'json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Volumes of type map[string]struct {}'],
      ['{"Image":"busybox","ExposedPorts":[]}', 'json: cannot unmarshal array into Go struct field ContainerConfigWrapper.ExposedPorts of type nat.PortSet'],
      ['[]', 'json: cannot unmarshal array into Go value of type runconfig.ContainerConfigWrapper'],
      ['{"Image":"busybox"', 'unexpected EOF'],
    ];
    const before = await containerCount(d);
    for (const [body, message] of cases) {
      const r = await api(d, 'POST', '/containers/create', body);
      assert.deepEqual({ status: r.status, message: r.json.message }, { status: 400, message }, body);
    }
    assert.equal(await containerCount(d), before, 'a refused create left a container');
  });

  it('refuses bad values in a create body with dockerd 400s, before creating anything', async () => {
    const long = 'a'.repeat(10_000);
    const cases: [query: string, body: string, message: string | RegExp][] = [
      ['', 'null', 'Config cannot be empty in order to create a container'],
      ['', '', 'got EOF while reading request body'],
      ['', '{"Image":"busybox","HostConfig":{"CpuShares":-5}}', 'invalid CPU shares (-5): value must be a positive integer'],
      ['', '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"notaport"}]}}}', 'invalid port specification: "notaport"'],
      ['', '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"99999"}]}}}', 'invalid port specification: "99999"'],
      ['', '{"Image":"busybox","HostConfig":{"PortBindings":{"abc":[{"HostPort":"80"}]}}}', 'invalid port specification: "abc"'],
      ['', '{"Image":"busybox","HostConfig":{"Memory":1}}', 'Minimum memory limit allowed is 6MB'],
      ['', '{"Image":"busybox","Env":[null]}', 'invalid environment variable: '],
      ['', '{"Image":"busybox","StopSignal":"SIGBOGUS"}', 'Invalid signal: SIGBOGUS'],
      ['', '{"Image":"BusyBox"}', /^invalid reference format: repository name .*must be lowercase$/],
      ['', '{"Image":"busybox:Bad:Tag"}', 'invalid reference format'],
      ['?name=a%20b', '{"Image":"busybox"}', 'Invalid container name (a b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
      [`?name=${long}`, '{"Image":"busybox"}', /^Invalid container name \(a+\.\.\.\): 10000 characters, at most 253 are allowed$/],
    ];
    const before = await containerCount(d);
    for (const [query, body, message] of cases) {
      const r = await api(d, 'POST', `/containers/create${query}`, body);
      assert.equal(r.status, 400, `${body}: ${r.body}`);
      if (typeof message === 'string') assert.equal(r.json.message, message, body);
      else assert.match(r.json.message ?? '', message, body);
    }
    assert.equal(await containerCount(d), before, 'a refused create left a container');
  });

  it('accepts null for every field Docker allows to be null, and runs the container', async () => {
    const body = {
      Image: 'busybox',
      Cmd: ['sh', '-c', 'echo "$A:$B"'],
      Env: ['A=1', 'B=2'],
      Entrypoint: null,
      Volumes: null,
      Labels: { keep: 'yes', empty: null },
      ExposedPorts: null,
      Healthcheck: null,
      OnBuild: null,
      Shell: null,
      StopTimeout: null,
      WorkingDir: null,
      User: null,
      HostConfig: { Binds: null, PortBindings: null, Mounts: null, CapAdd: null, Dns: null, ExtraHosts: null, LogConfig: { Type: null, Config: null }, RestartPolicy: null, Ulimits: null, Devices: null, Tmpfs: null, Sysctls: null, Init: null, PidsLimit: null, OomKillDisable: null, MemorySwappiness: null, SecurityOpt: null, ConsoleSize: null },
      NetworkingConfig: { EndpointsConfig: { bridge: null } },
    };
    const created = await api(d, 'POST', '/containers/create?name=nulls', JSON.stringify(body));
    assert.equal(created.status, 201, created.body);
    const started = await api(d, 'POST', '/containers/nulls/start');
    assert.equal(started.status, 204, started.body);
    const waited = await api(d, 'POST', '/containers/nulls/wait');
    assert.equal(JSON.parse(waited.body).StatusCode, 0);
    const logs = await d.berth(['logs', 'nulls']);
    assert.equal(logs.stdout, '1:2\n');
    const inspect = (await api(d, 'GET', '/containers/nulls/json')).json as { Config: { Labels: Record<string, string> } };
    assert.deepEqual(inspect.Config.Labels, { keep: 'yes', empty: '' });

    // Both null sections at once, as some clients send them.
    const bare = await api(d, 'POST', '/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: null, NetworkingConfig: null }));
    assert.equal(bare.status, 201, bare.body);
  });

  it('refuses a bad signal, and a bad integer parameter, with dockerd 400s', async () => {
    const run = await d.berth(['run', '-d', '--name', 'sleeper', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    for (const sig of ['SIGBOGUS', 'bogus', '0', '99']) {
      const r = await api(d, 'POST', `/containers/sleeper/kill?signal=${sig}`);
      assert.deepEqual({ status: r.status, message: r.json.message }, { status: 400, message: `Invalid signal: ${sig}` });
    }
    const stop = await api(d, 'POST', '/containers/sleeper/stop?signal=SIGBOGUS');
    assert.deepEqual({ status: stop.status, message: stop.json.message }, { status: 400, message: 'Invalid signal: SIGBOGUS' });
    const t = await api(d, 'POST', '/containers/sleeper/stop?t=abc');
    assert.deepEqual({ status: t.status, message: t.json.message }, { status: 400, message: 'strconv.Atoi: parsing "abc": invalid syntax' });
    const state = (await api(d, 'GET', '/containers/sleeper/json')).json as { State: { Running: boolean } };
    assert.equal(state.State.Running, true, 'a refused kill or stop touched the container');
    const usr1 = await api(d, 'POST', '/containers/sleeper/kill?signal=usr1');
    assert.equal(usr1.status, 204, usr1.body);
  });

  it('decodes the other bodies as dockerd does: nulls accepted, wrong types refused', async () => {
    const cases: [path: string, body: string, status: number, message?: string][] = [
      ['/networks/create', '{"Name":"nulls-net","IPAM":null,"Options":null,"Labels":null}', 201],
      ['/networks/create', '{"Name":"nulls-net2","IPAM":{"Config":null,"Options":null,"Driver":null},"Driver":null}', 201],
      ['/networks/create', '{"Name":5}', 400, 'json: cannot unmarshal number into Go struct field NetworkCreateRequest.Name of type string'],
      ['/networks/create', '{"Name":"x","IPAM":{"Config":[{"Subnet":5}]}}', 400, 'json: cannot unmarshal number into Go struct field IPAMConfig.IPAM.Config.Subnet of type string'],
      ['/networks/create', '{"Name":"x","Labels":["a"]}', 400, 'json: cannot unmarshal array into Go struct field NetworkCreateRequest.Labels of type map[string]string'],
      ['/networks/create', '{"Name":"x","Internal":"yes"}', 400, 'json: cannot unmarshal string into Go struct field NetworkCreateRequest.Internal of type bool'],
      ['/networks/create', '', 400, 'got EOF while reading request body'],
      ['/volumes/create', '{"Name":"nulls-vol","DriverOpts":null,"Labels":null,"Driver":null}', 201],
      ['/volumes/create', '{"Name":5}', 400, 'json: cannot unmarshal number into Go struct field VolumeCreateBody.Name of type string'],
      ['/volumes/create', '{"Labels":["a"]}', 400, 'json: cannot unmarshal array into Go struct field VolumeCreateBody.Labels of type map[string]string'],
      ['/volumes/create', '', 400, 'got EOF while reading request body'],
      ['/containers/sleeper/exec', '{"Cmd":"ls"}', 400, 'json: cannot unmarshal string into Go struct field ExecConfig.Cmd of type []string'],
      ['/containers/sleeper/exec', '{"Cmd":["ls"],"Env":{}}', 400, 'json: cannot unmarshal object into Go struct field ExecConfig.Env of type []string'],
      ['/containers/sleeper/exec', '{"Cmd":["ls"],"Env":null,"User":null,"WorkingDir":null}', 201],
      ['/containers/sleeper/update', '{"Memory":"x"}', 400, 'json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64'],
      ['/containers/sleeper/update', '{"RestartPolicy":{"Name":5}}', 400, 'json: cannot unmarshal number into Go struct field RestartPolicy.RestartPolicy.Name of type string'],
      ['/containers/sleeper/update', '{"CpuShares":-5}', 400, 'invalid CPU shares (-5): value must be a positive integer'],
      ['/containers/sleeper/update', 'null', 200],
      ['/networks/nulls-net/connect', '{"Container":5}', 400, 'json: cannot unmarshal number into Go struct field NetworkConnect.Container of type string'],
      ['/networks/nulls-net/connect', '{"Container":"sleeper","EndpointConfig":{"Aliases":"x"}}', 400, 'json: cannot unmarshal string into Go struct field EndpointSettings.EndpointConfig.Aliases of type []string'],
      ['/networks/nulls-net/connect', '{"Container":"sleeper","EndpointConfig":{"Aliases":null,"IPAMConfig":null,"Links":null,"DriverOpts":null}}', 200],
      ['/networks/nulls-net/disconnect', '{"Container":"sleeper","Force":"x"}', 400, 'json: cannot unmarshal string into Go struct field NetworkDisconnect.Force of type bool'],
    ];
    for (const [path, body, status, message] of cases) {
      const r = await api(d, 'POST', path, body);
      assert.equal(r.status, status, `${path} ${body}: ${r.body}`);
      if (message !== undefined) assert.equal(r.json.message, message, `${path} ${body}`);
    }
    const nets = (await api(d, 'GET', '/networks')).json as unknown as { Name: string }[];
    assert.deepEqual(nets.map((n) => n.Name).filter((n) => n === 'x'), [], 'a refused network create made a network');
  });

  // A berthd that reads the context first never answers: the timeout turns that hang into a failure.
  it('refuses a bad build tag before reading the build context', { timeout: 60_000 }, async () => {
    // The context never ends: an answer proves the tag was checked first.
    const r = await new Promise<Answer>((resolve, reject) => {
      const req = http.request({ socketPath: d.socket, method: 'POST', path: '/v1.41/build?t=Bad:Tag', headers: { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          req.destroy();
          const body = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, body, json: JSON.parse(body) as Answer['json'] });
        });
      });
      req.on('error', reject);
      req.write(Buffer.alloc(512));
    });
    assert.equal(r.status, 400, r.body);
    assert.match(r.json.message ?? '', /^invalid reference format: repository name .*must be lowercase$/);
  });

  it('answers swarm routes as a node outside a swarm', async () => {
    for (const [method, path] of [['GET', '/swarm'], ['GET', '/nodes'], ['GET', '/services'], ['GET', '/tasks'], ['GET', '/secrets'], ['GET', '/configs'], ['GET', '/swarm/unlockkey'], ['POST', '/services/create'], ['GET', '/nodes/x'], ['DELETE', '/secrets/x']] as const) {
      const r = await api(d, method, path);
      assert.deepEqual({ status: r.status, message: r.json.message }, { status: 503, message: NOT_MANAGER }, `${method} ${path}`);
    }
    const leave = await api(d, 'POST', '/swarm/leave');
    assert.deepEqual({ status: leave.status, message: leave.json.message }, { status: 503, message: 'This node is not part of a swarm' });
    const init = await api(d, 'POST', '/swarm/init', '{"ListenAddr":"0.0.0.0:2377"}');
    assert.equal(init.status, 501, init.body);
    assert.match(init.json.message ?? '', /swarm mode is not supported/);
    const info = (await api(d, 'GET', '/info')).json as { Swarm: { LocalNodeState: string; ControlAvailable: boolean } };
    assert.equal(info.Swarm.LocalNodeState, 'inactive');
    const cli = await d.docker(['node', 'ls']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /This node is not a swarm manager/);
  });

  it('extracts an archive whose file goes through a symlink it made, all of it, inside the container', async () => {
    // dockerd (20.10) answers 200 and writes through the link, confined to the container's root.
    const run = await d.berth(['run', '-d', '--name', 'archived', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const pack = tarStream.pack();
    pack.entry({ name: 'before.txt' }, 'before\n');
    pack.entry({ name: 'link', type: 'symlink', linkname: '/etc' });
    pack.entry({ name: 'link/through' }, 'through\n');
    pack.entry({ name: 'after.txt' }, 'after\n');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const put = await api(d, 'PUT', '/containers/archived/archive?path=/tmp', Buffer.concat(chunks), { 'Content-Type': 'application/x-tar' });
    assert.equal(put.status, 200, put.body);
    const look = await d.berth(['exec', 'archived', 'sh', '-c', 'cat /tmp/before.txt /etc/through /tmp/after.txt; readlink /tmp/link']);
    assert.deepEqual({ code: look.code, out: look.stdout }, { code: 0, out: 'before\nthrough\nafter\n/etc\n' }, look.stderr);
  });

  it('loads and runs an image whose config has every nullable field null', async () => {
    const layer = await fs.readFile(await busyboxTar());
    const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
    const nullConfig = {
      Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false, StdinOnce: false,
      Env: null, Cmd: null, Healthcheck: null, Image: '', Volumes: null, WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null, ExposedPorts: null, Shell: null, StopSignal: null,
    };
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      author: null,
      comment: null,
      created: null,
      docker_version: null,
      container: null,
      config: { ...nullConfig, Cmd: ['sh', '-c', 'echo "null-config PATH=$PATH"'] },
      container_config: null,
      history: null,
      rootfs: { type: 'layers', diff_ids: [diffId] },
    });
    const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
    const pack = tarStream.pack();
    pack.entry({ name: configName }, config);
    pack.entry({ name: 'layer/layer.tar' }, layer);
    pack.entry({ name: 'manifest.json' }, JSON.stringify([{ Config: configName, RepoTags: ['nullcfg:latest'], Layers: ['layer/layer.tar'] }]));
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const loaded = await api(d, 'POST', '/images/load?quiet=1', Buffer.concat(chunks), { 'Content-Type': 'application/x-tar' });
    assert.equal(loaded.status, 200, loaded.body);
    assert.match(loaded.body, /Loaded image: nullcfg:latest/);
    assert.doesNotMatch(loaded.body, /error/i);

    const run = await d.berth(['run', '--rm', 'nullcfg']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^null-config PATH=\/usr\/local\/sbin:/);
    // A command given at run time, and the image's (absent) everything else, as with `docker import`ed images.
    const withCmd = await d.berth(['run', '--rm', '-e', 'X=1', 'nullcfg', 'sh', '-c', 'echo $X']);
    assert.deepEqual({ code: withCmd.code, out: withCmd.stdout }, { code: 0, out: '1\n' }, withCmd.stderr);
    for (const args of [['image', 'inspect', 'nullcfg'], ['history', 'nullcfg'], ['images', 'nullcfg']]) {
      const r = await d.berth(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const build = await d.berth(['build', '-q', '-t', 'fromnull', '-'], { input: 'FROM nullcfg\nRUN echo built > /built\nCMD ["cat", "/built"]\n' });
    assert.equal(build.code, 0, build.stderr);
    const built = await d.berth(['run', '--rm', 'fromnull']);
    assert.deepEqual({ code: built.code, out: built.stdout }, { code: 0, out: 'built\n' }, built.stderr);
  });

  it('pulls and runs an image dockerd imported and pushed (its config full of nulls)', async () => {
    const reg = await startDistribution();
    const ref = await PrivateDockerd.start();
    try {
      const name = `127.0.0.1:${reg.port}/imported/busybox:v1`;
      const imported = await ref.docker(['import', await busyboxTar(), name]);
      assert.equal(imported.code, 0, imported.stderr);
      const config = await ref.docker(['image', 'inspect', '-f', '{{json .Config.Env}} {{json .Config.Cmd}} {{json .Config.Entrypoint}}', name]);
      assert.equal(config.stdout.trim(), 'null null null', 'dockerd no longer writes the nulls this test is about');
      const pushed = await ref.docker(['push', name]);
      assert.equal(pushed.code, 0, pushed.stderr);
      const pulled = await d.berth(['pull', name]);
      assert.equal(pulled.code, 0, pulled.stderr);
      const run = await d.berth(['run', '--rm', name, 'sh', '-c', 'echo imported:$PATH']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^imported:\/usr\/local\/sbin:/);
    } finally {
      await ref.stop();
      await reg.stop();
    }
  });

  it('takes CPU real-time period and runtime in any casing, as dockerd 20.10 does: shown under its names, checked at create, given to runc at start', async () => {
    // dockerd's sysinfo: the real-time scheduler of cgroup v1's cpu controller (CONFIG_RT_GROUP_SCHED); none on v2.
    const rt = existsSync('/sys/fs/cgroup/cpu/cpu.rt_period_us') && !existsSync('/sys/fs/cgroup/cgroup.controllers');
    const create = (hc: object, cmd = ['true']) => api(d, 'POST', '/containers/create', JSON.stringify({ Image: 'busybox', Cmd: cmd, HostConfig: hc }));
    const before = await containerCount(d);
    // runtime above period: refused before anything is created (dockerd 20.10 said so with a 500; moby 23+ with 400).
    const higher = await create({ CpuRealtimePeriod: 500, CpuRealtimeRuntime: 1000 });
    assert.equal(higher.status, 400);
    assert.equal(higher.json.message, rt ? 'cpu real-time runtime cannot be higher than cpu real-time period' : 'Your kernel does not support CPU real-time scheduler');
    assert.equal(await containerCount(d), before);
    // docker-py sends CPURealtimePeriod; Go matches field names whatever their case.
    for (const hc of [{ CPURealtimePeriod: 1000, CPURealtimeRuntime: 500 }, { cpurealtimeperiod: 1000, CPUREALTIMERUNTIME: 500 }]) {
      const made = await create(hc);
      if (!rt) {
        assert.deepEqual({ status: made.status, message: made.json.message }, { status: 400, message: 'Your kernel does not support CPU real-time scheduler' });
        continue;
      }
      assert.equal(made.status, 201, made.body);
      const shown = (await api(d, 'GET', `/containers/${made.json.Id}/json`)).json as { HostConfig: Record<string, unknown> };
      assert.deepEqual([shown.HostConfig.CpuRealtimePeriod, shown.HostConfig.CpuRealtimeRuntime], [1000, 500]);
      assert.equal(Object.keys(shown.HostConfig).filter((k) => /realtime/i.test(k)).length, 2, 'only dockerd\'s two names');
      // runc writes the runtime into the container's cgroup, whose parent has no real-time budget (as
      // dockerd's /docker has none unless the daemon is given --cpu-rt-runtime): the start fails saying so.
      const started = await api(d, 'POST', `/containers/${made.json.Id}/start`);
      assert.equal(started.status, 500);
      assert.match(started.json.message ?? '', /cpu\.rt_runtime_us/);
      assert.equal((await api(d, 'DELETE', `/containers/${made.json.Id}?force=1`)).status, 204);
    }
    if (!rt) return;
    // A period alone needs no budget: the container runs with it.
    const period = await create({ CpuRealtimePeriod: 500000 }, ['cat', '/sys/fs/cgroup/cpu/cpu.rt_period_us']);
    assert.equal(period.status, 201, period.body);
    assert.equal((await api(d, 'POST', `/containers/${period.json.Id}/start`)).status, 204);
    assert.equal((await api(d, 'POST', `/containers/${period.json.Id}/wait`)).json.StatusCode, 0);
    assert.equal((await d.berth(['logs', period.json.Id!])).stdout, '500000\n');
    assert.equal((await api(d, 'DELETE', `/containers/${period.json.Id}`)).status, 204);
    // The same from the CLIs' --cpu-rt-period (berth's and the docker CLI's).
    for (const cli of [d.berth.bind(d), d.docker.bind(d)]) {
      const r = await cli(['run', '--rm', '--network', 'none', '--cpu-rt-period', '400000', 'busybox', 'cat', '/sys/fs/cgroup/cpu/cpu.rt_period_us']);
      assert.deepEqual({ code: r.code, out: r.stdout }, { code: 0, out: '400000\n' }, r.stderr);
    }
  });
});
