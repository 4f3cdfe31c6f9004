// Engine independence (issue 11 item 1): `berth compose` talks to the engine through the Engine API
// only, so the same flow — up -d with a health-gated dependency and a build, ps, exec, logs, down -v —
// gives the same user-visible results against a private dockerd 20.10 (Debian's docker.io) and berthd.
// And interop with the old Python docker-compose 1.29: a project it started is seen by `berth compose
// ps/ls -p NAME` (by Compose's labels; 1.29 names containers `<project>_<service>_<n>`), and
// `berth compose down -p NAME` removes it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PrivateDockerd, REPO, TestDaemon, busyboxTar, context, runCmd, type RunResult } from './harness.js';

const CLI = path.join(REPO, 'dist/src/cli/main.js');
const P = 'eng';
const FILE = `
name: ${P}
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo db-started; touch /tmp/ready; trap 'exit 0' TERM; while true; do sleep 1; done"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 30
    volumes: ["data:/data"]
  web:
    build: .
    depends_on:
      db:
        condition: service_healthy
    command: ["sh", "-c", "echo web-started; trap 'exit 0' TERM; while true; do sleep 1; done"]
volumes:
  data: {}
`;
const DOCKERFILE = 'FROM busybox\nRUN echo built-into-image > /built\n';

/** One engine as the tests see it: `berth compose` and the docker CLI pointed at its socket. */
interface Engine {
  name: string;
  compose(cwd: string, args: string[]): Promise<RunResult>;
  docker(args: string[]): Promise<RunResult>;
}

const ok = (r: RunResult): string => {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
};

/** What a user sees of the flow, with what differs by nature (ids, times, sizes) taken out. */
async function flow(e: Engine, dir: string): Promise<Record<string, unknown>> {
  ok(await e.compose(dir, ['up', '-d']));
  // web waited for db's health check: db is healthy by the time up returns
  const dbHealth = ok(await e.docker(['inspect', '-f', '{{.State.Health.Status}}', `${P}-db-1`])).trim();
  const ps = ok(await e.compose(dir, ['ps', '--format', '{{.Name}} {{.Service}} {{.State}}']))
    .trim()
    .split('\n')
    .sort();
  const built = ok(await e.compose(dir, ['exec', '-T', 'web', 'cat', '/built'])).trim();
  const logs = ok(await e.compose(dir, ['logs', '--no-color', 'web'])).trim();
  const labels = ok(await e.docker(['inspect', '-f', '{{index .Config.Labels "com.docker.compose.service"}} {{index .Config.Labels "com.docker.compose.container-number"}} {{index .Config.Labels "com.docker.compose.oneoff"}}', `${P}-web-1`])).trim();
  const volumes = ok(await e.docker(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${P}`])).trim();
  const networks = ok(await e.docker(['network', 'ls', '--format', '{{.Name}}', '--filter', `label=com.docker.compose.project=${P}`])).trim();
  const down = await e.compose(dir, ['down', '-v']);
  ok(down);
  const left = [
    ok(await e.docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${P}`])),
    ok(await e.docker(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${P}`])),
    ok(await e.docker(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${P}`])),
  ].join('').trim();
  const downLines = down.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => / (Removed|Stopped)$/.test(l))
    .sort();
  return { dbHealth, ps, built, logs, labels, volumes, networks, downLines, left };
}

describe('berth compose against dockerd 20.10 and berthd: the same results', () => {
  let d: TestDaemon;
  let dockerd: PrivateDockerd;
  let dir: string;
  const results: Record<string, Record<string, unknown>> = {};
  before(async () => {
    [d, dockerd] = await Promise.all([TestDaemon.start(), PrivateDockerd.start()]);
    await d.importBusybox();
    ok(await dockerd.docker(['import', '-c', 'CMD ["sh"]', await busyboxTar(), 'busybox:latest']));
    dir = await context({ 'compose.yaml': FILE, Dockerfile: DOCKERFILE });
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    await dockerd.docker(['rm', '-f', `${P}-db-1`, `${P}-web-1`]);
    await dockerd.stop();
    await d.cleanup();
  });

  const onDockerd = (): Engine => ({
    name: 'dockerd',
    compose: (cwd, args) => runCmd([process.execPath, CLI, '-H', `unix://${dockerd.socket}`, 'compose', ...args], { cwd }),
    docker: (args) => dockerd.docker(args),
  });
  const onBerthd = (): Engine => ({ name: 'berthd', compose: (cwd, args) => d.compose(cwd, args), docker: (args) => d.docker(args) });

  it('the flow on dockerd 20.10', async () => {
    results.dockerd = await flow(onDockerd(), dir);
    assert.equal(results.dockerd.dbHealth, 'healthy');
    assert.deepEqual(results.dockerd.ps, [`${P}-db-1 db running`, `${P}-web-1 web running`]);
    assert.equal(results.dockerd.built, 'built-into-image');
    assert.match(String(results.dockerd.logs), /web-started/);
    assert.equal(results.dockerd.labels, 'web 1 False');
    assert.equal(results.dockerd.volumes, `${P}_data`);
    assert.equal(results.dockerd.networks, `${P}_default`);
    assert.equal(results.dockerd.left, '');
  });

  it('the flow on berthd gives what dockerd gave', async () => {
    results.berthd = await flow(onBerthd(), dir);
    assert.deepEqual(results.berthd, results.dockerd);
  });
});

describe('docker-compose 1.29 and berth compose see each other\'s projects', () => {
  let d: TestDaemon;
  let dir: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    dir = await context({
      'docker-compose.yml': `version: "2.4"\nservices:\n  db:\n    image: busybox\n    command: ["sleep", "600"]\n    volumes: ["data:/data"]\n  web:\n    image: busybox\n    depends_on: [db]\n    command: ["sleep", "600"]\nvolumes:\n  data: {}\n`,
    });
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    await d.cleanup();
  });

  const v1 = (args: string[], project = 'old') =>
    runCmd(['/usr/bin/docker-compose', '-p', project, ...args], { cwd: dir, env: { DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.dir, 'docker-config') } });

  it('a project started by berth compose is listed by 1.29 and taken down by it', async () => {
    ok(await d.compose(dir, ['-p', 'new', 'up', '-d']));
    const ps = ok(await v1(['ps'], 'new'));
    assert.match(ps, /^new-db-1 .* Up/m);
    assert.match(ps, /^new-web-1 .* Up/m);
    ok(await v1(['down', '-v'], 'new'));
    const left = ok(await d.docker(['ps', '-aq', '--filter', 'label=com.docker.compose.project=new'])).trim();
    assert.equal(left, '');
  });

  it('a project started by 1.29 is listed by berth compose ps and ls, and removed by berth compose down -p', async () => {
    ok(await v1(['up', '-d']));
    // 1.29 names containers with underscores; the labels are the ones Compose v2 reads.
    const names = ok(await d.docker(['ps', '--format', '{{.Names}}', '--filter', 'label=com.docker.compose.project=old'])).trim().split('\n').sort();
    assert.deepEqual(names, ['old_db_1', 'old_web_1']);
    const empty = await context({});
    try {
      const ps = ok(await d.compose(empty, ['-p', 'old', 'ps', '--format', '{{.Name}} {{.Service}}'])).trim().split('\n').sort();
      assert.deepEqual(ps, ['old_db_1 db', 'old_web_1 web']);
      const ls = ok(await d.compose(empty, ['ls']));
      assert.match(ls, /^old\s+running\(2\)/m);
      const down = await d.compose(empty, ['-p', 'old', 'down', '-v']);
      ok(down);
      assert.match(down.stderr, /Container old_web_1 +Removed/);
      assert.match(down.stderr, /Network old_default +Removed/);
      assert.match(down.stderr, /Volume old_data +Removed/);
      const left = [
        ok(await d.docker(['ps', '-aq', '--filter', 'label=com.docker.compose.project=old'])),
        ok(await d.docker(['network', 'ls', '-q', '--filter', 'label=com.docker.compose.project=old'])),
        ok(await d.docker(['volume', 'ls', '-q', '--filter', 'label=com.docker.compose.project=old'])),
      ].join('').trim();
      assert.equal(left, '');
    } finally {
      await fs.rm(empty, { recursive: true, force: true });
    }
  });
});
