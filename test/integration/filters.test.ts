// List filters as dockerd applies them, seen from real clients: the docker CLI 28, docker-py and
// docker-compose 1.29 (which selects its containers by project AND service labels). AND across keys and
// across the values of `label`; OR across the values of any other key; unknown keys refused with a 400.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TestDaemon, runCmd } from './harness.js';

const COMPOSE = '/usr/bin/docker-compose';

const lines = (s: string) => s.split('\n').filter(Boolean).sort();

describe('list filters', () => {
  let d: TestDaemon;
  const ps = async (...filters: string[]) => {
    const r = await d.docker(['ps', '-a', '--format', '{{.Names}}', ...filters.flatMap((f) => ['--filter', f])]);
    assert.equal(r.code, 0, r.stderr);
    return lines(r.stdout);
  };
  const api = async (p: string) => {
    const r = await runCmd(['curl', '-gs', '-w', '\n%{http_code}', '--unix-socket', d.socket, `http://berth${p}`]);
    const body = r.stdout.slice(0, r.stdout.lastIndexOf('\n'));
    return { status: Number(r.stdout.slice(r.stdout.lastIndexOf('\n') + 1)), body };
  };

  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    assert.equal((await d.docker(['network', 'create', 'flt-net'])).code, 0);
    const create = async (name: string, ...args: string[]) => {
      const r = await d.docker(['create', '--name', name, ...args, 'busybox', 'sleep', '300']);
      assert.equal(r.code, 0, r.stderr);
    };
    await create('ab', '-l', 'a=1', '-l', 'b=2', '--network', 'flt-net', '-p', '127.0.0.1::8080', '--expose', '9000-9001/udp');
    await create('a-only', '-l', 'a=1', '-l', 'b=3', '-p', '127.0.0.1::53/udp');
    await create('b-only', '-l', 'b=2', '--expose', '7000');
    await create('none', '--network', 'none');
  });
  after(async () => d.cleanup());

  it('requires every label given (docker ps, the API, docker-py)', async () => {
    assert.deepEqual(await ps('label=a=1', 'label=b=2'), ['ab']);
    assert.deepEqual(await ps('label=a=1'), ['a-only', 'ab']);
    assert.deepEqual(await ps('label=a', 'label=b'), ['a-only', 'ab']);
    assert.deepEqual(await ps('label=a=1', 'label=c'), []);
    const r = await api('/containers/json?all=1&filters={"label":["a=1","b=2"]}');
    assert.equal(r.status, 200);
    assert.deepEqual((JSON.parse(r.body) as { Names: string[] }[]).map((c) => c.Names[0]), ['/ab']);
    const py = await runCmd(['python3', '-c', 'import docker,sys; c=docker.DockerClient(base_url=sys.argv[1]); print(sorted(x.name for x in c.containers.list(all=True, filters={"label": ["a=1", "b=2"]})))', d.host]);
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), "['ab']");
  });

  it('ORs the values of other keys and ANDs the keys', async () => {
    assert.deepEqual(await ps('name=^/ab$', 'name=^/none$'), ['ab', 'none']);
    assert.deepEqual(await ps('name=^/ab$', 'name=^/none$', 'label=a'), ['ab']);
    assert.deepEqual(await ps('status=created', 'status=running'), ['a-only', 'ab', 'b-only', 'none']);
    assert.deepEqual(await ps('exited=0'), [], 'a container that never ran has not exited');
    // Without -a, only a status filter lists stopped containers (as dockerd).
    assert.equal((await d.docker(['ps', '-q', '--filter', 'label=a'])).stdout, '');
    assert.equal((await d.docker(['ps', '-q', '--filter', 'status=created', '--filter', 'label=b=2'])).stdout.split('\n').filter(Boolean).length, 2);
  });

  it('matches network by name or ID, publish and expose by port, protocol and range, is-task', async () => {
    assert.deepEqual(await ps('network=flt-net'), ['ab']);
    const netId = (await d.docker(['network', 'inspect', '-f', '{{.Id}}', 'flt-net'])).stdout.trim();
    assert.deepEqual(await ps(`network=${netId.slice(0, 12)}`), ['ab']);
    assert.deepEqual(await ps('network=none'), ['none']);
    assert.deepEqual(await ps('network=bridge'), ['a-only', 'b-only']);
    assert.deepEqual(await ps('network=flt-net', 'network=none'), ['ab', 'none']);
    assert.deepEqual(await ps('network=no-such-net'), []);

    assert.deepEqual(await ps('publish=8080'), ['ab']);
    assert.deepEqual(await ps('publish=8080/tcp'), ['ab']);
    assert.deepEqual(await ps('publish=8080/udp'), []);
    assert.deepEqual(await ps('publish=53/udp'), ['a-only']);
    assert.deepEqual(await ps('publish=53'), []);
    assert.deepEqual(await ps('publish=8000-8100'), ['ab']);
    assert.deepEqual(await ps('publish=1-100/udp', 'publish=8080'), ['a-only', 'ab']);

    assert.deepEqual(await ps('expose=7000'), ['b-only']);
    assert.deepEqual(await ps('expose=9001/udp'), ['ab']);
    assert.deepEqual(await ps('expose=9000'), []);
    assert.deepEqual(await ps('expose=8080'), ['ab'], 'a published port is exposed too');
    assert.deepEqual(await ps('expose=6990-7010/tcp'), ['b-only']);

    assert.deepEqual(await ps('is-task=false'), ['a-only', 'ab', 'b-only', 'none']);
    assert.deepEqual(await ps('is-task=true'), []);
  });

  it('refuses unknown keys and bad values with a 400, on every list endpoint', async () => {
    for (const p of ['/containers/json', '/images/json', '/networks', '/volumes']) {
      const r = await api(`${p}?filters={"bogus":["x"]}`);
      assert.equal(r.status, 400, `${p}: ${r.body}`);
      assert.equal((JSON.parse(r.body) as { message: string }).message, "invalid filter 'bogus'", p);
    }
    const bad: [string, RegExp][] = [
      ['{"status":["sleepy"]}', /invalid filter 'status=sleepy'/],
      ['{"health":["meh"]}', /Unrecognised filter value for health: meh/],
      ['{"is-task":["maybe"]}', /invalid filter 'is-task=\[maybe\]'/],
      ['{"publish":["80:80"]}', /filter for 'publish' should not contain ':': 80:80/],
      ['{"expose":["90-80"]}', /error while looking up for expose 90-80/],
      ['{"exited":["x"]}', /invalid syntax/],
      ['{"label!":["a"]}', /invalid filter 'label!'/],
    ];
    for (const [f, msg] of bad) {
      const r = await api(`/containers/json?filters=${f}`);
      assert.equal(r.status, 400, `${f}: ${r.body}`);
      assert.match(r.body, msg);
    }
    assert.equal((await api('/containers/json?filters={"before":["nope"]}')).status, 404);
    // A name that is not a valid regular expression matches nothing, as in dockerd (not a 500).
    assert.deepEqual(JSON.parse((await api('/containers/json?all=1&filters={"name":["("]}')).body), []);
    const cli = await d.docker(['ps', '--filter', 'bogus=1']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /invalid filter 'bogus'/);
  });

  it('requires every label on networks, volumes, images and events too', async () => {
    for (const args of [
      ['network', 'create', '--label', 'a=1', '--label', 'b=2', 'n-ab'],
      ['network', 'create', '--label', 'a=1', 'n-a'],
      ['volume', 'create', '--label', 'a=1', '--label', 'b=2', 'v-ab'],
      ['volume', 'create', '--label', 'a=1', 'v-a'],
    ]) {
      const r = await d.docker(args);
      assert.equal(r.code, 0, r.stderr);
    }
    const ctx = await fs.mkdtemp('/tmp/bt-flt-');
    await fs.writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nLABEL a=1 b=2\n');
    assert.equal((await d.docker(['build', '-q', '-t', 'img-ab', ctx], { env: { DOCKER_BUILDKIT: '0' } })).code, 0);
    await fs.writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nLABEL a=1\n');
    assert.equal((await d.docker(['build', '-q', '-t', 'img-a', ctx], { env: { DOCKER_BUILDKIT: '0' } })).code, 0);
    await fs.rm(ctx, { recursive: true, force: true });
    const f = ['--filter', 'label=a=1', '--filter', 'label=b=2'];
    assert.deepEqual(lines((await d.docker(['network', 'ls', '--format', '{{.Name}}', ...f])).stdout), ['n-ab']);
    // name and id are regular expressions, as in dockerd; values of one key are alternatives.
    assert.deepEqual(lines((await d.docker(['network', 'ls', '--format', '{{.Name}}', '--filter', 'name=^n-a$', '--filter', 'name=^n-ab$'])).stdout), ['n-a', 'n-ab']);
    assert.deepEqual(lines((await d.docker(['network', 'ls', '--format', '{{.Name}}', '--filter', 'name=^n-a$', '--filter', 'label=b=2'])).stdout), []);
    assert.deepEqual(lines((await d.docker(['volume', 'ls', '--format', '{{.Name}}', ...f])).stdout), ['v-ab']);
    assert.deepEqual(lines((await d.docker(['images', '--format', '{{.Repository}}', ...f])).stdout), ['img-ab']);
    const since = Math.floor(Date.now() / 1000) - 600;
    const ev = await d.docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=container', '--filter', 'event=create', '--format', '{{.Actor.Attributes.name}}', ...f]);
    assert.equal(ev.code, 0, ev.stderr);
    assert.deepEqual(lines(ev.stdout), ['ab']);
  });
});

describe('docker-compose 1.29 on berthd', () => {
  let d: TestDaemon;
  let dir: string;
  const compose = (project: string, ...args: string[]) =>
    runCmd([COMPOSE, '-p', project, '-f', path.join(dir, 'docker-compose.yml'), ...args], { env: { DOCKER_HOST: d.host, COMPOSE_INTERACTIVE_NO_CLI: '1' }, timeoutMs: 120_000 });
  const names = async (...filters: string[]) => lines((await d.docker(['ps', '-a', '--format', '{{.Names}}', ...filters.flatMap((f) => ['--filter', f])])).stdout);

  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    dir = await fs.mkdtemp('/tmp/bt-compose-');
    await fs.writeFile(
      path.join(dir, 'docker-compose.yml'),
      ['version: "3"', 'services:', '  web:', '    image: busybox', '    command: sleep 300', '  db:', '    image: busybox', '    command: sleep 300', ''].join('\n'),
    );
  });
  after(async () => {
    for (const p of ['cmpa', 'cmpb']) await compose(p, 'down', '-t', '1');
    await fs.rm(dir, { recursive: true, force: true });
    await d.cleanup();
  });

  it('keeps two projects apart, numbers and scales services, lists each container once', async () => {
    const upA = await compose('cmpa', 'up', '-d');
    assert.equal(upA.code, 0, upA.stderr);
    const upB = await compose('cmpb', 'up', '-d');
    assert.equal(upB.code, 0, upB.stderr);
    assert.deepEqual(await names(), ['cmpa_db_1', 'cmpa_web_1', 'cmpb_db_1', 'cmpb_web_1']);
    const aIds = lines((await d.docker(['ps', '-q', '--no-trunc', '--filter', 'label=com.docker.compose.project=cmpa'])).stdout);

    // up -d again in project b must not touch project a's containers.
    const again = await compose('cmpb', 'up', '-d');
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /cmpa/);
    assert.deepEqual(lines((await d.docker(['ps', '-q', '--no-trunc', '--filter', 'label=com.docker.compose.project=cmpa'])).stdout), aIds);

    const scale = await compose('cmpa', 'up', '-d', '--scale', 'web=2');
    assert.equal(scale.code, 0, scale.stderr);
    assert.deepEqual(await names('label=com.docker.compose.project=cmpa'), ['cmpa_db_1', 'cmpa_web_1', 'cmpa_web_2']);
    assert.deepEqual(await names('label=com.docker.compose.project=cmpb'), ['cmpb_db_1', 'cmpb_web_1']);

    const psA = await compose('cmpa', 'ps', '-q');
    assert.equal(psA.code, 0, psA.stderr);
    const listed = psA.stdout.split('\n').filter(Boolean);
    assert.equal(listed.length, 3, psA.stdout);
    assert.equal(new Set(listed).size, 3, 'each container once');

    // stop/start find the project's containers by its labels too.
    const stop = await compose('cmpa', 'stop', '-t', '1');
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(lines((await d.docker(['ps', '--format', '{{.Names}}'])).stdout), ['cmpb_db_1', 'cmpb_web_1']);
    const start = await compose('cmpa', 'start');
    assert.equal(start.code, 0, start.stderr);
    assert.deepEqual(await names('status=running', 'label=com.docker.compose.project=cmpa'), ['cmpa_db_1', 'cmpa_web_1', 'cmpa_web_2']);

    const down = await compose('cmpa', 'down', '-t', '1');
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await names(), ['cmpb_db_1', 'cmpb_web_1']);
    assert.deepEqual(lines((await d.docker(['ps', '--format', '{{.Names}}'])).stdout), ['cmpb_db_1', 'cmpb_web_1'], "project b's containers still run");
  });
});
