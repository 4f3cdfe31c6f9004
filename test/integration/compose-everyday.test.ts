// `berth compose` as people use Docker Compose every day (docs/notes/qa.md lists the ten uses): a
// web + db + cache stack built from `build: .` with a `.env` and an `env_file`, a bind-mounted source
// dir, a db health check gating web, a named volume that survives `down` but not `down -v`; one-off
// `run --rm` tasks and `exec -T` in scripts; `ps --format json` read by a script; the override file
// picked up by itself, `-f a -f b`, `extends`, profiles, `container_name`, `--scale`; frontend/backend
// networks isolating services; a CI run with `--abort-on-container-exit --exit-code-from`; and a file
// with a key berth refuses, which must leave nothing behind. Every server is busybox httpd (its
// `trap` makes `down` quick: PID 1 ignores SIGTERM otherwise).
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { TestDaemon, context, type RunResult } from './harness.js';
import { waitFor } from './waits.js';

const SERVE = (port: number, dir = '/www') => `["sh", "-c", "trap 'exit 0' TERM; httpd -f -p ${port} -h ${dir} & wait"]`;

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function get(port: number, urlPath = '/'): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
  return `${res.status} ${await res.text()}`;
}

/** A port free on 127.0.0.1 now, for a `.env` to publish on. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

interface PsEntry {
  Name: string;
  Service: string;
  State: string;
  Health: string;
  Publishers: { URL: string; TargetPort: number; PublishedPort: number; Protocol: string }[];
}

function psJson(r: RunResult): PsEntry[] {
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as PsEntry);
}

describe('compose everyday use', () => {
  let d: TestDaemon;
  const dirs: string[] = [];
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox('busybox:latest');
  });
  // What a failed test left: down -v by the files it used, so the next test starts from nothing.
  let current: { dir: string; files: string[] } | undefined;
  afterEach(async () => {
    if (current) await d.compose(current.dir, [...current.files, '--profile', '*', 'down', '-v', '-t', '0', '--remove-orphans']);
    current = undefined;
  });
  after(async () => {
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
    await d.cleanup();
  });

  it('web + db + cache: build, .env, env_file, bind mount, health-gated start, a named volume kept by down but not down -v', async () => {
    const port = await freePort();
    const dir = await context({
      Dockerfile: 'FROM busybox\nWORKDIR /www\nCOPY index.html /www/index.html\nEXPOSE 80\n',
      'index.html': 'hello from web\n',
      'src/page.txt': 'first\n',
      '.env': `WEB_PORT=${port}\nDB_PASSWORD=s3cret\n`,
      'app.env': 'FROM_ENV_FILE=yes\n',
      'docker-compose.yml': `version: "3.8"
services:
  web:
    build: .
    command: ${SERVE(80)}
    ports:
      - "\${WEB_PORT}:80"
    environment:
      - DB_URL=postgres://user:\${DB_PASSWORD}@db:5432/app
    env_file: app.env
    volumes:
      - ./src:/www/src:ro
    depends_on:
      db:
        condition: service_healthy
      cache:
        condition: service_started
    restart: unless-stopped
    configs:
      - source: motd
        target: /etc/motd
  db:
    image: busybox
    command: ["sh", "-c", "echo db ready; mkdir -p /data/www; touch /data/www/up; trap 'exit 0' TERM; httpd -f -p 5432 -h /data/www & wait"]
    volumes:
      - db_data:/data
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://localhost:5432/up || exit 1"]
      interval: 1s
      timeout: 2s
      retries: 30
  cache:
    image: busybox
    command: ${SERVE(6379, '/etc')}
    expose:
      - "6379"
volumes:
  db_data:
configs:
  motd:
    content: welcome
`,
    });
    dirs.push(dir);
    current = { dir, files: [] };
    const up = ok(await d.compose(dir, ['up', '-d']), 'up -d');
    assert.match(up.stderr, /the attribute `version` is obsolete/);
    assert.match(up.stderr, /Container [\w-]+-db-1 {1,2}Healthy/);

    // A script reading ps: all three running, db healthy, web published where .env said.
    const ps = psJson(ok(await d.compose(dir, ['ps', '--format', 'json']), 'ps --format json'));
    assert.deepEqual(ps.map((c) => [c.Service, c.State]).sort(), [['cache', 'running'], ['db', 'running'], ['web', 'running']]);
    assert.equal(ps.find((c) => c.Service === 'db')!.Health, 'healthy');
    assert.ok(ps.find((c) => c.Service === 'web')!.Publishers.some((p) => p.PublishedPort === port && p.TargetPort === 80), JSON.stringify(ps));

    // The port answers on 127.0.0.1; the bind mount shows the host's file, edits included.
    assert.equal(await get(port), '200 hello from web\n');
    assert.equal(await get(port, '/src/page.txt'), '200 first\n');
    await fs.writeFile(path.join(dir, 'src/page.txt'), 'edited\n');
    assert.equal(await get(port, '/src/page.txt'), '200 edited\n');

    // exec -T in a script: the environment from the file, .env and env_file; services by name.
    const probe = ok(await d.compose(dir, ['exec', '-T', 'web', 'sh', '-c', 'echo "$DB_URL $FROM_ENV_FILE"; wget -qO- http://db:5432/up && echo db-ok; nc cache 6379 </dev/null && echo cache-ok']), 'exec -T');
    assert.equal(probe.stdout, 'postgres://user:s3cret@db:5432/app yes\ndb-ok\ncache-ok\n');
    const failing = await d.compose(dir, ['exec', '-T', 'web', 'sh', '-c', 'exit 5']);
    assert.equal(failing.code, 5);

    // A one-off task: its exit code is run's, and --rm leaves no container.
    const task = await d.compose(dir, ['run', '--rm', 'web', 'sh', '-c', 'wget -qO- http://web/; cat /etc/motd; exit 7']);
    assert.equal(task.code, 7, task.stderr);
    assert.equal(task.stdout, 'hello from web\nwelcome');
    const names = ok(await d.berth(['ps', '-a', '--format', '{{.Names}}']), 'ps -a').stdout.split('\n').filter(Boolean);
    assert.equal(names.length, 3, names.join(' '));

    const logs = ok(await d.compose(dir, ['logs', '--no-color', 'db']), 'logs db');
    assert.match(logs.stdout, /^db-1 +\| db ready$/m);

    // The named volume survives `down` (containers and network go) and a new `up` finds the data.
    ok(await d.compose(dir, ['exec', '-T', 'db', 'sh', '-c', 'echo kept > /data/www/saved']), 'write to the volume');
    ok(await d.compose(dir, ['down']), 'down');
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
    const project = path.basename(dir).toLowerCase().replace(/[^a-z0-9_-]/g, '');
    assert.match((await d.berth(['volume', 'ls', '-q'])).stdout, new RegExp(`^${project}_db_data$`, 'm'));
    assert.doesNotMatch((await d.berth(['network', 'ls'])).stdout, /_default/);
    ok(await d.compose(dir, ['up', '-d']), 'up -d again');
    assert.equal(ok(await d.compose(dir, ['exec', '-T', 'db', 'cat', '/data/www/saved']), 'read the volume').stdout, 'kept\n');
    ok(await d.compose(dir, ['down', '-v']), 'down -v');
    assert.equal((await d.berth(['volume', 'ls', '-q'])).stdout, '');
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
  });

  it('frontend/backend networks isolate, the override file is read by itself, profiles and container_name', async () => {
    const dir = await context({
      'compose.yaml': `services:
  web:
    image: busybox
    command: ${SERVE(80, '/etc')}
    networks: [frontend]
  api:
    image: busybox
    container_name: my-api
    command: ${SERVE(8000, '/etc')}
    networks: [frontend, backend]
  db:
    image: busybox
    command: ${SERVE(5432, '/etc')}
    networks: [backend]
  debug:
    image: busybox
    profiles: [tools]
    command: ${SERVE(9000, '/etc')}
networks:
  frontend:
  backend:
`,
      'compose.override.yaml': 'services:\n  web:\n    environment:\n      OVERRIDDEN: "yes"\n',
    });
    dirs.push(dir);
    current = { dir, files: [] };
    ok(await d.compose(dir, ['up', '-d']), 'up -d');
    const ps = psJson(ok(await d.compose(dir, ['ps', '--format', 'json']), 'ps'));
    assert.deepEqual(ps.map((c) => c.Name).sort(), [`${path.basename(dir).toLowerCase()}-db-1`, `${path.basename(dir).toLowerCase()}-web-1`, 'my-api'].sort());
    assert.equal(ok(await d.compose(dir, ['exec', '-T', 'web', 'sh', '-c', 'echo $OVERRIDDEN']), 'exec').stdout, 'yes\n');

    // Two networks, two subnets; api on both reaches web and db; web cannot even resolve db.
    const subnets = ok(await d.berth(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', `${path.basename(dir).toLowerCase()}_frontend`, `${path.basename(dir).toLowerCase()}_backend`]), 'network inspect').stdout.split('\n').filter(Boolean);
    assert.equal(new Set(subnets).size, 2, `the networks share a subnet: ${subnets.join(' ')}`);
    const fromApi = await d.compose(dir, ['exec', '-T', 'api', 'sh', '-c', 'wget -qO- http://db:5432/hostname && wget -qO- http://web/hostname && echo reached']);
    assert.match(fromApi.stdout, /reached\n$/, fromApi.stderr);
    const fromWeb = await d.compose(dir, ['exec', '-T', 'web', 'sh', '-c', 'nslookup db >/dev/null 2>&1 && echo resolved || echo isolated']);
    assert.equal(fromWeb.stdout, 'isolated\n');

    // The profile's service starts only when asked for.
    ok(await d.compose(dir, ['--profile', 'tools', 'up', '-d']), 'up with --profile');
    assert.ok(psJson(await d.compose(dir, ['ps', '--format', 'json'])).some((c) => c.Service === 'debug' && c.State === 'running'));
    ok(await d.compose(dir, ['down']), 'down');
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
    assert.doesNotMatch((await d.berth(['network', 'ls'])).stdout, /frontend|backend/);
  });

  it('-f base -f prod with extends and --scale; a CI run with --abort-on-container-exit', async () => {
    const dir = await context({
      'base.yaml': `x-common: &common
  image: busybox
  restart: unless-stopped
services:
  base:
    <<: *common
    command: ${SERVE(80)}
    environment:
      LEVEL: base
  worker:
    extends:
      service: base
    environment:
      ROLE: worker
  web:
    image: busybox
    command: ${SERVE(80, '/etc')}
    ports:
      - "80"
  tests:
    image: busybox
    profiles: [ci]
    depends_on: [web]
    command: sh -c 'wget -qO /dev/null http://web/hostname && echo web answered; exit 3'
`,
      'prod.yaml': `services:
  worker:
    environment:
      LEVEL: prod
    command: ["sh", "-c", "echo worker $$LEVEL $$ROLE; trap 'exit 0' TERM; sleep 1000 & wait"]
`,
    });
    dirs.push(dir);
    current = { dir, files: [] };
    const files = ['-f', 'base.yaml', '-f', 'prod.yaml'];
    current = { dir, files };
    ok(await d.compose(dir, [...files, 'up', '-d', '--scale', 'web=2']), 'up -d --scale');
    const ps = psJson(ok(await d.compose(dir, [...files, 'ps', '--format', 'json']), 'ps'));
    const webPorts = ps.filter((c) => c.Service === 'web').map((c) => c.Publishers[0]?.PublishedPort);
    assert.equal(webPorts.length, 2);
    for (const p of webPorts) assert.match(await get(p!, '/hostname'), /^200 [0-9a-f]{12}\n$/);
    assert.equal(ok(await d.compose(dir, [...files, 'port', '--index', '2', 'web', '80']), 'port').stdout, `0.0.0.0:${webPorts[1]}\n`);
    const logs = ok(await d.compose(dir, [...files, 'logs', '--no-log-prefix', 'worker']), 'logs worker');
    assert.equal(logs.stdout, 'worker prod worker\n');
    const restart = ok(await d.berth(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}', `${path.basename(dir).toLowerCase()}-worker-1`]), 'inspect');
    assert.equal(restart.stdout, 'unless-stopped\n');

    // CI: the tests' exit code is up's; the output piped to a log file has no terminal colors.
    const ci = await d.compose(dir, [...files, '--profile', 'ci', 'up', '--abort-on-container-exit', '--exit-code-from', 'tests', 'tests']);
    assert.equal(ci.code, 3, ci.stderr);
    assert.match(ci.stdout, /^tests-1 +\| web answered$/m);
    assert.match(ci.stdout, /^tests-1 exited with code 3$/m);
    assert.ok(!ci.stdout.includes('\x1b['), 'escape codes in piped output');
    ok(await d.compose(dir, [...files, '--profile', 'ci', 'down']), 'down');
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
  });

  it('a legacy file with links: the linked service answers by its link alias and by its name', async () => {
    const dir = await context({
      'docker-compose.yml': `version: "2"
services:
  web:
    image: busybox
    command: ${SERVE(80, '/etc')}
    links:
      - db:database
  db:
    image: busybox
    command: ${SERVE(5432, '/etc')}
`,
    });
    dirs.push(dir);
    current = { dir, files: [] };
    ok(await d.compose(dir, ['up', '-d']), 'up -d');
    const r = await d.compose(dir, ['exec', '-T', 'web', 'sh', '-c', 'for h in database db; do wget -qO /dev/null http://$h:5432/hostname && echo $h-ok; done']);
    assert.equal(r.stdout, 'database-ok\ndb-ok\n', r.stderr);
    ok(await d.compose(dir, ['down']), 'down');
  });

  it('a worker on the image web builds (image: shared by build: and a plain service), a sidecar in web\'s network namespace', async () => {
    const dir = await context({
      Dockerfile: 'FROM busybox\nRUN echo built > /built\n',
      'compose.yaml': `services:
  web:
    build: .
    image: everyday-app:dev
    command: ${SERVE(80, '/etc')}
  worker:
    image: everyday-app:dev
    command: ["sh", "-c", "cat /built; trap 'exit 0' TERM; sleep 1000 & wait"]
  sidecar:
    image: busybox
    network_mode: service:web
    depends_on: [web]
    command: ["sh", "-c", "until wget -qO- http://127.0.0.1/hostname; do sleep 0.2; done; trap 'exit 0' TERM; sleep 1000 & wait"]
`,
    });
    dirs.push(dir);
    current = { dir, files: [] };
    ok(await d.compose(dir, ['up', '-d']), 'up -d');
    const logs = async (svc: string) => ok(await d.compose(dir, ['logs', '--no-log-prefix', svc]), `logs ${svc}`).stdout;
    assert.equal(await waitFor(() => logs('worker'), 'the worker\'s output'), 'built\n');
    const web = ok(await d.compose(dir, ['ps', '-q', 'web']), 'ps -q').stdout.trim();
    assert.equal(await waitFor(() => logs('sidecar'), 'the sidecar\'s output'), `${web.slice(0, 12)}\n`);
    ok(await d.compose(dir, ['down', '--rmi', 'all']), 'down --rmi all');
  });

  it('a key berth refuses in the last service: up stops before creating anything', async () => {
    const dir = await context({
      'compose.yaml': `services:
  a:
    image: busybox
    command: sleep 100
  z:
    image: busybox
    depends_on: [a]
    volumes:
      - ./x:/x:z
`,
    });
    dirs.push(dir);
    current = { dir, files: [] };
    const r = await d.compose(dir, ['up', '-d']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /service "z": volumes\[0\]\.bind\.selinux is not supported by berth compose/);
    assert.doesNotMatch(r.stderr, /Created/);
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
    assert.doesNotMatch((await d.berth(['network', 'ls'])).stdout, /_default/);
  });
  it('scale SERVICE=N adds and removes replicas of one service, leaving the others; a bad spec is refused', async () => {
    await d.importBusybox('busybox:latest'); // an earlier test's `down --rmi all` removed it
    const dir = await context({
      'compose.yaml': `services:
  web:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
`,
    });
    dirs.push(dir);
    current = { dir, files: [] };
    ok(await d.compose(dir, ['up', '-d']), 'up');
    const names = async () => (await d.compose(dir, ['ps', '--format', '{{.Name}}'])).stdout.split('\n').filter(Boolean).sort();
    const db = (await d.compose(dir, ['ps', '-q', 'db'])).stdout.trim();
    ok(await d.compose(dir, ['scale', 'web=3']), 'scale web=3');
    assert.deepEqual(await names(), [`${path.basename(dir)}-db-1`, ...[1, 2, 3].map((n) => `${path.basename(dir)}-web-${n}`)].map((n) => n.toLowerCase()));
    ok(await d.compose(dir, ['scale', 'web=1']), 'scale web=1');
    assert.equal((await names()).length, 2);
    assert.equal((await d.compose(dir, ['ps', '-q', 'db'])).stdout.trim(), db, 'db was not touched');
    const bad = await d.compose(dir, ['scale', 'web=x']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid --scale option "web=x": use SERVICE=NUM/);
    const unknown = await d.compose(dir, ['scale', 'nosuch=2']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no such service: nosuch/);
  });
});
