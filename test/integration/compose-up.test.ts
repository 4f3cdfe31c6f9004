// `berth compose up` and friends on a real berthd (issue 11 items 5, 7, 8): the flows users run most —
// a health-gated web+db stack, service names resolved between containers, a published port, an
// unchanged `up` that recreates nothing, a changed service recreated with its reason, --force-recreate,
// --scale, orphans, --build, --wait on a failing health check, a migration service
// (service_completed_successfully), an unhealthy dependency, a missing image and a taken port.
// Names and labels are checked as Docker Compose v2 writes them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { REPO, TestDaemon, context, type RunResult } from './harness.js';
import { httpGetReady } from '../support/api.js';
import { freePort, startDistribution } from '../support/distribution.js';

// A db that is ready (its compose health check passes) about a second after it starts.
const DB_DOCKERFILE = 'FROM busybox\nCMD ["sh", "-c", "sleep 1; echo db-says-hi > /tmp/index.html; touch /tmp/ready; trap \\"exit 0\\" TERM; httpd -f -p 5432 -h /tmp & wait"]\n';
const BAD_DOCKERFILE = 'FROM busybox\nCMD ["sh", "-c", "trap \\"exit 0\\" TERM; sleep 300 & wait"]\n';
const FAILING_CHECK = '    healthcheck:\n      test: ["CMD", "false"]\n      interval: 1s\n      retries: 2\n';

// Ports chosen free at the start (fixed numbers would collide with other tests running on the machine).
let webPort = 0;

function compose(web: { env?: string; ports?: string } = {}, extra = ''): string {
  return `
services:
  db:
    build: ./db
    image: uptest-db
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 30s
      start_period: 30s
      start_interval: 500ms
      retries: 3
  web:
    image: busybox
    command: ["sh", "-c", "echo web-page > /tmp/index.html; trap 'exit 0' TERM; httpd -f -p 80 -h /tmp & wait"]
    environment:
      LOG_LEVEL: ${web.env ?? 'info'}
    ports:
      - "${web.ports ?? `127.0.0.1:${webPort}:80`}"
    depends_on:
      db:
        condition: service_healthy
  worker:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]
${extra}`;
}

describe('berth compose up', () => {
  let d: TestDaemon;
  let dir: string;
  before(async () => {
    webPort = await freePort();
    d = await TestDaemon.start();
    await d.importBusybox();
    dir = await context({ 'compose.yaml': compose(), 'db/Dockerfile': DB_DOCKERFILE, 'bad/Dockerfile': BAD_DOCKERFILE });
  });
  after(async () => {
    ok(await d.compose(dir, ['-p', 'uptest', 'down', '-v', '--remove-orphans']));
    await fs.rm(dir, { recursive: true, force: true });
    await d.cleanup();
  });

  const ok = (r: RunResult): string => {
    assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout + r.stderr;
  };
  const up = (args: string[], cwd = dir) => d.compose(cwd, ['-p', 'uptest', ...args]);
  const ids = async (): Promise<Map<string, string>> => {
    const out = ok(await d.berth(['ps', '-a', '--filter', 'label=com.docker.compose.project=uptest', '--format', '{{.Names}} {{.ID}}']));
    return new Map(out.trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
  };
  const label = async (name: string, key: string) => ok(await d.berth(['inspect', '-f', `{{index .Config.Labels "${key}"}}`, name])).trim();

  it('starts web after db is healthy, with Compose names and labels, a network, service names and a published port', async () => {
    const out = ok(await up(['up', '-d']));
    assert.match(out, /Network uptest_default Created/);
    assert.match(out, /Container uptest-db-1 Healthy/);
    assert.match(out, /Container uptest-web-1 Started/);
    // web started only once db was healthy
    assert.ok(out.indexOf('Container uptest-db-1 Healthy') < out.indexOf('Container uptest-web-1 Started'), out);
    assert.deepEqual([...(await ids()).keys()].sort(), ['uptest-db-1', 'uptest-web-1', 'uptest-worker-1']);
    assert.equal(await label('uptest-web-1', 'com.docker.compose.project'), 'uptest');
    assert.equal(await label('uptest-web-1', 'com.docker.compose.service'), 'web');
    assert.equal(await label('uptest-web-1', 'com.docker.compose.container-number'), '1');
    assert.equal(await label('uptest-web-1', 'com.docker.compose.oneoff'), 'False');
    assert.equal(await label('uptest-web-1', 'com.docker.compose.project.working_dir'), dir);
    assert.match(await label('uptest-web-1', 'com.docker.compose.config-hash'), /^[0-9a-f]{64}$/);
    assert.match(await label('uptest-web-1', 'com.docker.compose.image'), /^sha256:[0-9a-f]{64}$/);
    assert.equal(ok(await d.berth(['network', 'inspect', '-f', '{{index .Labels "com.docker.compose.network"}}', 'uptest_default'])).trim(), 'default');
    // Service names resolve between containers; the published port answers on 127.0.0.1.
    assert.match(ok(await d.berth(['exec', 'uptest-web-1', 'wget', '-qO-', 'http://db:5432/index.html'])), /db-says-hi/);
    assert.match(ok(await d.berth(['exec', 'uptest-worker-1', 'wget', '-qO-', 'http://web/index.html'])), /web-page/);
    assert.match(await httpGetReady(webPort), /web-page/);
  });

  it('an unchanged up recreates nothing and says Running', async () => {
    const before = await ids();
    const out = ok(await up(['up', '-d']));
    assert.match(out, /Container uptest-db-1 Running/);
    assert.match(out, /Container uptest-web-1 Running/);
    assert.doesNotMatch(out, /Recreate|Creat/);
    assert.deepEqual(await ids(), before);
  });

  it('a changed environment variable recreates only that service, saying why', async () => {
    const before = await ids();
    await fs.writeFile(path.join(dir, 'compose.yaml'), compose({ env: 'debug' }));
    const out = ok(await up(['up', '-d']));
    assert.match(out, /Container uptest-web-1 Recreated environment\.LOG_LEVEL changed\n/);
    const now = await ids();
    assert.notEqual(now.get('uptest-web-1'), before.get('uptest-web-1'));
    assert.equal(now.get('uptest-db-1'), before.get('uptest-db-1'));
    assert.equal(now.get('uptest-worker-1'), before.get('uptest-worker-1'));
    assert.match(ok(await d.berth(['exec', 'uptest-web-1', 'sh', '-c', 'echo $LOG_LEVEL'])), /debug/);
  });

  it('--force-recreate recreates the named service', async () => {
    const before = await ids();
    const out = ok(await up(['up', '-d', '--force-recreate', 'worker']));
    assert.match(out, /Container uptest-worker-1 Recreated/);
    const now = await ids();
    assert.notEqual(now.get('uptest-worker-1'), before.get('uptest-worker-1'));
    assert.equal(now.get('uptest-web-1'), before.get('uptest-web-1'));
  });

  it('--scale worker=3 then back to 1', async () => {
    ok(await up(['up', '-d', '--scale', 'worker=3']));
    let names = [...(await ids()).keys()].filter((n) => n.includes('worker')).sort();
    assert.deepEqual(names, ['uptest-worker-1', 'uptest-worker-2', 'uptest-worker-3']);
    assert.equal(await label('uptest-worker-3', 'com.docker.compose.container-number'), '3');
    const out = ok(await up(['up', '-d', '--scale', 'worker=1']));
    assert.match(out, /Container uptest-worker-3 Removed/);
    names = [...(await ids()).keys()].filter((n) => n.includes('worker'));
    assert.deepEqual(names, ['uptest-worker-1']);
  });

  it('warns about orphans, removes them with --remove-orphans', async () => {
    await fs.writeFile(path.join(dir, 'compose.yaml'), compose({ env: 'debug' }).replace(/ worker:[\s\S]*$/, ''));
    let out = ok(await up(['up', '-d']));
    assert.match(out, /Found orphan containers \(\[uptest-worker-1\]\) for this project/);
    out = ok(await up(['up', '-d', '--remove-orphans']));
    assert.match(out, /Container uptest-worker-1 Removed/);
    assert.ok(!(await ids()).has('uptest-worker-1'));
  });

  it('--build rebuilds a build: service and recreates its container', async () => {
    const before = await ids();
    await fs.appendFile(path.join(dir, 'db/Dockerfile'), 'LABEL rebuilt=yes\n');
    const out = ok(await up(['up', '-d', '--build', 'db']));
    assert.match(out, /Image uptest-db Built/);
    assert.match(out, /Container uptest-db-1 Recreated .*image changed/);
    assert.notEqual((await ids()).get('uptest-db-1'), before.get('uptest-db-1'));
    assert.equal(ok(await d.berth(['image', 'inspect', '-f', '{{index .Config.Labels "rebuilt"}}', 'uptest-db'])).trim(), 'yes');
  });

  it('a port already taken: Compose\'s error and a non-zero exit', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const taken = (server.address() as net.AddressInfo).port;
    try {
      await fs.writeFile(path.join(dir, 'compose.yaml'), compose({ env: 'debug', ports: `127.0.0.1:${taken}:80` }));
      const r = await up(['up', '-d']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(String(taken)));
      assert.match(r.stderr, /(already allocated|in use)/);
    } finally {
      server.close();
    }
    await fs.writeFile(path.join(dir, 'compose.yaml'), compose({ env: 'debug' }));
    ok(await up(['up', '-d']));
  });

  it('--no-deps works on the named service alone: its dependency is neither touched, waited for nor an orphan', async () => {
    const before = await ids();
    const out = ok(await up(['up', '-d', '--no-deps', '--force-recreate', 'web']));
    assert.match(out, /Container uptest-web-1 Recreated/);
    assert.doesNotMatch(out, /uptest-db-1|orphan/);
    assert.equal((await ids()).get('uptest-db-1'), before.get('uptest-db-1'));
  });

  it('up --wait exits non-zero when a health check fails', async () => {
    const p = await context({
      'compose.yaml': 'services:\n  sick:\n    build: ./bad\n    image: uptest-bad\n' + FAILING_CHECK,
      'bad/Dockerfile': BAD_DOCKERFILE,
    });
    try {
      const r = await d.compose(p, ['-p', 'waittest', 'up', '-d', '--wait']);
      assert.notEqual(r.code, 0, r.stderr);
      assert.match(r.stderr, /container waittest-sick-1 is unhealthy/);
      assert.match(r.stderr, /Container waittest-sick-1 Error/);
    } finally {
      const down = await d.compose(p, ['-p', 'waittest', 'down']);
      await fs.rm(p, { recursive: true, force: true });
      ok(down);
    }
  });

  it('a dependency that turns unhealthy stops up: dependency failed to start', async () => {
    const p = await context({
      'compose.yaml': 'services:\n  db:\n    build: ./bad\n    image: uptest-bad\n' + FAILING_CHECK + '  app:\n    image: busybox\n    command: ["true"]\n    depends_on:\n      db:\n        condition: service_healthy\n',
      'bad/Dockerfile': BAD_DOCKERFILE,
    });
    try {
      const r = await d.compose(p, ['-p', 'deptest', 'up', '-d']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /dependency failed to start: container deptest-db-1 is unhealthy/);
      // app was created but never started
      assert.equal(ok(await d.berth(['inspect', '-f', '{{.State.Status}}', 'deptest-app-1'])).trim(), 'created');
    } finally {
      const down = await d.compose(p, ['-p', 'deptest', 'down']);
      await fs.rm(p, { recursive: true, force: true });
      ok(down);
    }
  });

  it('service_completed_successfully: the app starts after its migration exits 0, not after one that fails', async () => {
    const file = (code: number) =>
      `services:\n  migrate:\n    image: busybox\n    command: ["sh", "-c", "echo migrated > /dev/null; exit ${code}"]\n  app:\n    image: busybox\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]\n    depends_on:\n      migrate:\n        condition: service_completed_successfully\n`;
    const p = await context({ 'compose.yaml': file(0) });
    try {
      let out = ok(await d.compose(p, ['-p', 'migtest', 'up', '-d']));
      assert.match(out, /Container migtest-migrate-1 Exited/);
      assert.equal(ok(await d.berth(['inspect', '-f', '{{.State.Status}}', 'migtest-app-1'])).trim(), 'running');
      await fs.writeFile(path.join(p, 'compose.yaml'), file(3));
      const r = await d.compose(p, ['-p', 'migtest', 'up', '-d']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /service "migrate" didn't complete successfully: exit 3/);
      out = r.stderr;
    } finally {
      const down = await d.compose(p, ['-p', 'migtest', 'down']);
      await fs.rm(p, { recursive: true, force: true });
      ok(down);
    }
  });

  // The registry is 127.0.0.1:1 (nothing listens): no traffic leaves the host.
  it('an image that does not exist: a per-service error and nothing created', async () => {
    const p = await context({ 'compose.yaml': 'services:\n  ok:\n    image: busybox\n    command: ["true"]\n  broken:\n    image: 127.0.0.1:1/uptest-no-such-image:1.0\n' });
    try {
      const r = await d.compose(p, ['-p', 'missingtest', 'up', '-d']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /service "broken": .*uptest-no-such-image/);
      const left = ok(await d.berth(['ps', '-aq', '--filter', 'label=com.docker.compose.project=missingtest']));
      assert.equal(left.trim(), '');
      assert.doesNotMatch(ok(await d.berth(['network', 'ls', '--format', '{{.Name}}'])), /missingtest/);
    } finally {
      await fs.rm(p, { recursive: true, force: true });
    }
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const p = await context({ 'compose.yaml': 'services:\n  one:\n    image: busybox\n    command: ["sleep", "30"]\n' });
    try {
      const out = ok(await d.compose(p, ['-p', 'drytest', '--dry-run', 'up', '-d']));
      assert.match(out, /DRY-RUN MODE - {2}Container drytest-one-1 Created/);
      // after the subcommand too, as Compose's persistent flag
      assert.match(ok(await d.compose(p, ['-p', 'drytest', 'up', '-d', '--dry-run'])), /DRY-RUN MODE - {2}Container drytest-one-1 Started/);
      assert.equal(ok(await d.berth(['ps', '-aq', '--filter', 'label=com.docker.compose.project=drytest'])).trim(), '');
      assert.doesNotMatch(ok(await d.berth(['network', 'ls', '--format', '{{.Name}}'])), /drytest/);
    } finally {
      await fs.rm(p, { recursive: true, force: true });
    }
  });

  /** `compose up` in the foreground in `dir`: its output so far, and a wait for a text to show on stdout. */
  function foregroundUp(dir: string, project: string) {
    const child = spawn(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), '-H', d.host, 'compose', '-p', project, 'up', '--no-color'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const shows = (text: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${text}: ${out}`)), 30_000);
        const check = (): void => void (out.includes(text) && (clearTimeout(t), resolve()));
        check();
        child.stdout.on('data', check);
      });
    return { child, shows, output: () => out };
  }

  it('foreground up prints prefixed output; Ctrl-C stops the containers gracefully', async () => {
    const p = await context({
      'compose.yaml': `services:\n  talker:\n    image: busybox\n    command: ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo hello-from-talker; while true; do sleep 1; done & wait"]\n`,
    });
    const up = foregroundUp(p, 'fgtest');
    const { child } = up;
    try {
      await up.shows('hello-from-talker');
      const out = up.output();
      assert.match(out, /Attaching to talker-1/);
      assert.match(out, /talker-1 {2}\| hello-from-talker/);
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      const all = up.output();
      assert.match(all, /Gracefully stopping\.\.\. \(press Ctrl\+C again to force\)/);
      assert.match(all, /talker-1 {2}\| bye/);
      assert.match(all, /talker-1 exited with code 0/);
      assert.notEqual(code, null);
      assert.equal(ok(await d.berth(['inspect', '-f', '{{.State.Status}}', 'fgtest-talker-1'])).trim(), 'exited');
    } finally {
      child.kill('SIGKILL');
      const down = await d.compose(p, ['-p', 'fgtest', 'down']);
      await fs.rm(p, { recursive: true, force: true });
      ok(down);
    }
  });

  it('foreground up: a Ctrl-C while the containers are being started still stops them all', async () => {
    const services = [1, 2, 3].map((i) => `  s${i}:\n    image: busybox\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]\n`).join('');
    const p = await context({ 'compose.yaml': `services:\n${services}` });
    const up = foregroundUp(p, 'fgearly');
    const { child } = up;
    try {
      // As soon as the attach line shows, the starts are under way (or not yet begun).
      await up.shows('Attaching to');
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`up did not end after Ctrl-C: ${up.output()}`)), 60_000);
        child.once('exit', (c) => (clearTimeout(t), resolve(c)));
      });
      assert.notEqual(code, null);
      for (const i of [1, 2, 3]) assert.notEqual(ok(await d.berth(['inspect', '-f', '{{.State.Status}}', `fgearly-s${i}-1`])).trim(), 'running', up.output());
    } finally {
      child.kill('SIGKILL');
      const down = await d.compose(p, ['-p', 'fgearly', 'down', '-t', '1']);
      await fs.rm(p, { recursive: true, force: true });
      ok(down);
    }
  });

  it('--exit-code-from: the exit code of that service, the others stopped; an unknown service is refused', async () => {
    const p = await context({
      'compose.yaml': `services:\n  job:\n    image: busybox\n    command: ["sh", "-c", "echo job-done; exit 3"]\n  side:\n    image: busybox\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]\n`,
    });
    try {
      const r = await d.compose(p, ['-p', 'exittest', 'up', '--exit-code-from', 'job']);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stdout, /job-1 +\| job-done/);
      assert.match(r.stdout, /job-1 exited with code 3/);
      assert.match(r.stderr, /Aborting on container exit\.\.\./);
      assert.equal(ok(await d.berth(['inspect', '-f', '{{.State.Status}}', 'exittest-side-1'])).trim(), 'exited');
      const bad = await d.compose(p, ['-p', 'exittest', 'up', '--exit-code-from', 'nope']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /no such service: nope/);
    } finally {
      const down = await d.compose(p, ['-p', 'exittest', 'down']);
      await fs.rm(p, { recursive: true, force: true });
      ok(down);
    }
  });

  it('build, push and pull: a build: service tagged image:, pushed to a registry on 127.0.0.1 and pulled back', async () => {
    const reg = await startDistribution({});
    const image = `127.0.0.1:${reg.port}/uptest/app:v1`;
    const p = await context({
      'compose.yaml': `services:\n  app:\n    build: .\n    image: ${image}\n    command: ["cat", "/built"]\n`,
      Dockerfile: 'FROM busybox\nRUN echo built-by-compose > /built\n',
    });
    try {
      const built = ok(await d.compose(p, ['-p', 'pushtest', 'build']));
      assert.match(built, new RegExp(`Image ${image.replace(/[.]/g, '\\.')} Built`));
      ok(await d.compose(p, ['-p', 'pushtest', 'push']));
      ok(await d.berth(['rmi', image]));
      const pulled = ok(await d.compose(p, ['-p', 'pushtest', 'pull']));
      assert.match(pulled, /Pulled/);
      assert.match(ok(await d.berth(['run', '--rm', image, 'cat', '/built'])), /built-by-compose/);
    } finally {
      await d.berth(['rmi', '-f', image]);
      await reg.stop();
      await fs.rm(p, { recursive: true, force: true });
    }
  });

  it('a recreated container keeps its anonymous volume; -V gives it a new one', async () => {
    const file = (v: string) => `services:\n  keeper:\n    image: busybox\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]\n    environment:\n      V: "${v}"\n    volumes:\n      - /data\n`;
    const p = await context({ 'compose.yaml': file('1') });
    try {
      ok(await d.compose(p, ['-p', 'anontest', 'up', '-d']));
      ok(await d.berth(['exec', 'anontest-keeper-1', 'sh', '-c', 'echo kept > /data/file']));
      await fs.writeFile(path.join(p, 'compose.yaml'), file('2'));
      ok(await d.compose(p, ['-p', 'anontest', 'up', '-d']));
      assert.match(ok(await d.berth(['exec', 'anontest-keeper-1', 'cat', '/data/file'])), /kept/);
      await fs.writeFile(path.join(p, 'compose.yaml'), file('3'));
      ok(await d.compose(p, ['-p', 'anontest', 'up', '-d', '-V']));
      const r = await d.berth(['exec', 'anontest-keeper-1', 'cat', '/data/file']);
      assert.notEqual(r.code, 0);
    } finally {
      const down = await d.compose(p, ['-p', 'anontest', 'down', '-v']);
      await d.berth(['volume', 'prune', '-f']);
      await fs.rm(p, { recursive: true, force: true });
      ok(down);
    }
  });

  it('create makes the containers without starting them; up then starts the same ones', async () => {
    const p = await context({ 'compose.yaml': 'services:\n  one:\n    image: busybox\n    command: ["sh", "-c", "trap \'exit 0\' TERM; sleep 300 & wait"]\n' });
    try {
      const out = ok(await d.compose(p, ['-p', 'createtest', 'create']));
      assert.match(out, /Container createtest-one-1 Created/);
      const id = ok(await d.berth(['inspect', '-f', '{{.Id}} {{.State.Status}}', 'createtest-one-1'])).trim();
      assert.match(id, / created$/);
      ok(await d.compose(p, ['-p', 'createtest', 'up', '-d']));
      assert.equal(ok(await d.berth(['inspect', '-f', '{{.Id}} {{.State.Status}}', 'createtest-one-1'])).trim(), id.replace(/created$/, 'running'));
    } finally {
      const down = await d.compose(p, ['-p', 'createtest', 'down']);
      await fs.rm(p, { recursive: true, force: true });
      ok(down);
    }
  });

  it('profiles: a service of an inactive profile is left out, and started when named on the command line', async () => {
    const p = await context({
      'compose.yaml': 'services:\n  app:\n    image: busybox\n    command: ["sh", "-c", "trap \'exit 0\' TERM; sleep 300 & wait"]\n  tool:\n    image: busybox\n    profiles: [debug]\n    command: ["sh", "-c", "trap \'exit 0\' TERM; sleep 300 & wait"]\n',
    });
    try {
      let out = ok(await d.compose(p, ['-p', 'proftest', 'up', '-d']));
      assert.doesNotMatch(out, /proftest-tool-1/);
      out = ok(await d.compose(p, ['-p', 'proftest', 'up', '-d', 'tool']));
      assert.match(out, /Container proftest-tool-1 Started/);
      assert.doesNotMatch(out, /orphan/);
    } finally {
      const down = await d.compose(p, ['-p', 'proftest', '--profile', 'debug', 'down']);
      await fs.rm(p, { recursive: true, force: true });
      ok(down);
    }
  });
});
