// berth compose's commands that look at and work inside a running project (issue 11 item 5): ps, logs,
// exec, run, cp, port, top, ls, images, events, wait, version — checked as a user reads their output.
// The project is brought up without `compose up`: its containers are made here through ComposeBackend
// and convert.ts (Compose v2's labels), as any Compose would have made them. Real runc, a private berthd.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { REPO, TestDaemon, context } from './harness.js';
import { waitFor } from './waits.js';
import { EngineClient } from '../../src/client/engine.js';
import { parseHost } from '../../src/client/host.js';
import { ComposeBackend } from '../../src/compose/backend.js';
import { containerCreateRequest, containerName, networkCreateRequest } from '../../src/compose/convert.js';
import { serviceConfigHash } from '../../src/compose/hash.js';
import { loadProject } from '../../src/compose/loader/index.js';
import type { Project } from '../../src/compose/types.js';

const COMPOSE = `name: rd
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "echo web started; while true; do echo tick; sleep 1; done"]
    ports: ["127.0.0.1::80"]
  db:
    image: busybox:latest
    command: ["sleep", "1000"]
  job:
    image: busybox:latest
    command: ["sh", "-c", "echo job done; exit 3"]
  dep:
    image: busybox:latest
    command: ["sleep", "1000"]
  needs:
    image: busybox:latest
    depends_on: [dep]
    command: ["echo", "needs ran"]
`;

const ESC = String.fromCharCode(27);

describe('compose ps, logs, exec, run, cp, port, top, ls, images, events, wait', () => {
  let d: TestDaemon;
  let dir: string;
  let project: Project;
  let backend: ComposeBackend;
  let client: EngineClient;
  const env = (): NodeJS.ProcessEnv => ({ COMPOSE_PROJECT_NAME: '' });

  const ok = (r: { code: number; stdout: string; stderr: string }): string => {
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const compose = (args: string[], cwd = dir) => d.compose(cwd, args, { env: env() });

  /** `berth compose ARGS` left running (logs -f, events), its output read as it comes. */
  const composeProcess = (args: string[]): ChildProcess =>
    spawn(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), '-H', d.host, 'compose', ...args], {
      cwd: dir,
      env: { ...process.env, DOCKER_CONFIG: path.join(d.dir, 'docker-config'), COMPOSE_PROJECT_NAME: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  /** A service's container n, made and started as Compose would (web gets a quick health check). */
  async function createAndStart(service: string, n = 1, cmd?: string[]): Promise<string> {
    const svc = project.services[service]!;
    const body = containerCreateRequest(project, service, svc, { number: n, configHash: serviceConfigHash(svc) });
    if (cmd) body.Cmd = cmd;
    if (service === 'web') body.Healthcheck = { Test: ['CMD-SHELL', 'true'], Interval: 500_000_000, Retries: 3 };
    const id = await backend.createContainer(containerName(project, service, svc, n), body);
    await backend.startContainer(id);
    return id;
  }

  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    dir = await context({ 'compose.yaml': COMPOSE, '.env': 'FROM_DOTENV=dotenv-value\n' });
    client = new EngineClient(parseHost(d.host), {});
    backend = new ComposeBackend(client);
    project = await loadProject({ files: [], envFiles: [], profiles: [], env: {}, cwd: dir });
    await backend.createNetwork(networkCreateRequest(project, 'default'));
    await createAndStart('web');
    await createAndStart('db');
    await createAndStart('job');
    // The job has run (exit 3) and web is healthy before anything is looked at.
    await waitFor(async () => (await backend.inspectContainer('rd-job-1')).State.Status === 'exited', 'job exited');
    await waitFor(async () => (await backend.inspectContainer('rd-web-1')).State.Health?.Status === 'healthy', 'web healthy');
  });

  after(async () => {
    client?.close();
    if (d) {
      const ids = (await d.berth(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (ids.length) await d.berth(['rm', '-f', ...ids]);
      await d.berth(['network', 'rm', 'rd_default']);
      await d.cleanup();
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('ps: the running containers as a table, health in STATUS, published ports', async () => {
    const lines = ok(await compose(['ps'])).trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+IMAGE\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS$/);
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.match(lines[1]!, /^rd-db-1\s+busybox:latest\s+"sleep 1000"\s+db\s+.+ ago\s+Up [^(]+$/);
    assert.match(lines[2]!, /^rd-web-1\s+busybox:latest\s+"sh -c 'echo web sta…"\s+web\s+.* ago\s+Up .* \(healthy\)\s+127\.0\.0\.1:\d+->80\/tcp$/);
  });

  it('ps -a, --status, -q, --services, --format json and templates', async () => {
    const all = ok(await compose(['ps', '-a']));
    assert.match(all, /^rd-job-1\s+.*\s+job\s+.*Exited \(3\)/m);
    const exited = ok(await compose(['ps', '--status', 'exited'])).trimEnd().split('\n');
    assert.equal(exited.length, 2);
    assert.match(exited[1]!, /^rd-job-1 /);
    assert.equal(ok(await compose(['ps', '--filter', 'status=exited', '-q'])).trim().length, 64);
    assert.equal(ok(await compose(['ps', '--services'])), 'db\nweb\n');
    const json = ok(await compose(['ps', '-a', '--format', 'json'])).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(json.map((c) => c.Name), ['rd-db-1', 'rd-job-1', 'rd-web-1']);
    const web = json.find((c) => c.Service === 'web')!;
    assert.equal(web.State, 'running');
    assert.equal(web.Health, 'healthy');
    assert.equal(web.Project, 'rd');
    assert.equal((web.Publishers as { TargetPort: number }[])[0]!.TargetPort, 80);
    assert.equal(json.find((c) => c.Service === 'job')!.ExitCode, 3);
    assert.equal(ok(await compose(['ps', '--format', '{{.Service}}:{{.State}}'])), 'db:running\nweb:running\n');
    const bad = await compose(['ps', '--status', 'sleeping']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid status "sleeping"/);
    const noSuch = await compose(['ps', 'nope']);
    assert.equal(noSuch.code, 1);
    assert.match(noSuch.stderr, /no such service: nope/);
  });

  it('ps -p without a compose file reads the project from the labels', async () => {
    const elsewhere = await context({});
    try {
      const out = ok(await compose(['-p', 'rd', 'ps', '--format', '{{.Name}}'], elsewhere));
      assert.equal(out, 'rd-db-1\nrd-web-1\n');
    } finally {
      await fs.rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('logs: each line prefixed with its container, padded to the longest name; --tail, --no-log-prefix, colors', async () => {
    const out = ok(await compose(['logs']));
    assert.match(out, /^web-1 {2}\| web started$/m);
    assert.match(out, /^job-1 {2}\| job done$/m);
    assert.match(out, /^web-1 {2}\| tick$/m);
    assert.equal(ok(await compose(['logs', '--tail', '1', 'job'])), 'job-1  | job done\n');
    assert.equal(ok(await compose(['logs', '--no-log-prefix', 'job'])), 'job done\n');
    const colored = ok(await compose(['--ansi', 'always', 'logs', 'job']));
    assert.equal(colored, `${ESC}[36mjob-1  | ${ESC}[0mjob done\n`);
    assert.equal(ok(await compose(['--ansi', 'always', 'logs', '--no-color', 'job'])), 'job-1  | job done\n');
    assert.equal(ok(await compose(['logs', '--since', '1h', 'job'])), 'job-1  | job done\n');
    assert.equal(ok(await compose(['logs', '--until', '2000-01-01T00:00:00Z', 'job'])), '');
    const t = ok(await compose(['logs', '-t', 'job']));
    assert.match(t, /^job-1 {2}\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z job done$/m);
  });

  it('logs -f follows output, and picks up a container that starts later', async () => {
    const child = composeProcess(['logs', '-f', '--tail', '0', 'web']);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += String(c)));
    try {
      await waitFor(async () => /^web-1 {2}\| tick$/m.test(out), 'a new tick followed');
      await createAndStart('web', 2);
      await waitFor(async () => /^web-2 {2}\| web started$/m.test(out), `web-2's output followed; got:\n${out}`);
      // Both names are as long: the prefixes stay aligned.
      assert.match(out, /^web-1 {2}\| tick/m);
    } finally {
      await stop(child);
      await backend.removeContainer('rd-web-2', { force: true });
    }
  });

  it('logs -f ends when the followed containers have exited, saying how', async () => {
    const id = await createAndStart('job', 2, ['sh', '-c', 'while [ ! -f /tmp/go ]; do sleep 0.1; done; echo bye; exit 5']);
    try {
      const child = composeProcess(['logs', '-f', '--tail', '0', 'job']);
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += String(c)));
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      // The container is told to finish once its logs are being followed.
      await waitFor(() => d.log.includes(`/containers/${id}/logs?`), 'the follow request');
      ok(await d.berth(['exec', id, 'touch', '/tmp/go']));
      assert.equal(await exited, 0);
      assert.equal(out, 'job-2  | bye\njob-2 exited with code 5\n');
    } finally {
      await backend.removeContainer('rd-job-2', { force: true });
    }
  });

  it('exec and run pass standard input through (-T: no terminal)', async () => {
    assert.equal(ok(await d.compose(dir, ['exec', '-T', 'web', 'cat'], { input: 'piped in\n', env: env() })), 'piped in\n');
    assert.equal(ok(await d.compose(dir, ['run', '--rm', 'db', 'cat'], { input: 'into a one-off\n', env: env() })), 'into a one-off\n');
  });

  it('bad input is refused by name, with a non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['logs', '--index', '1'], /--index requires one service to be selected/],
      [['logs', '--tail', 'many'], /invalid value for --tail/],
      [['port', 'web', 'http'], /invalid port "http"/],
      [['cp', 'web:/a', 'db:/b'], /copying between services is not supported/],
      [['ls', '--filter', 'status=running'], /invalid filter 'status'/],
      [['ls', '--format', 'yaml'], /format value "yaml" could not be parsed/],
      [['version', '--format', 'xml'], /unsupported --format "xml"/],
      [['ps', '--filter', 'name=web'], /unknown filter name/],
      [['run', '--pull', 'sometimes', 'web'], /invalid --pull value "sometimes"/],
    ];
    for (const [args, message] of cases) {
      const r = await compose(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
  });

  it('exec: the command runs in the service container with -e, -w, -u; its exit code is ours', async () => {
    assert.equal(ok(await compose(['exec', '-T', 'web', 'echo', 'hi'])), 'hi\n');
    const vars = ok(await compose(['exec', '-T', '-e', 'FOO=bar', '-w', '/tmp', '-u', 'nobody', 'web', 'sh', '-c', 'echo $FOO $(pwd) $(id -u)']));
    assert.equal(vars, 'bar /tmp 65534\n');
    // -e KEY: the value from the project's environment (.env here).
    assert.equal(ok(await compose(['exec', '-T', '-e', 'FROM_DOTENV', 'web', 'sh', '-c', 'echo $FROM_DOTENV'])), 'dotenv-value\n');
    const failed = await compose(['exec', '-T', 'web', 'sh', '-c', 'exit 7']);
    assert.equal(failed.code, 7);
    const stopped = await compose(['exec', '-T', 'job', 'true']);
    assert.equal(stopped.code, 1);
    assert.equal(stopped.stderr.trim(), 'service "job" is not running');
    const index = await compose(['exec', '-T', '--index', '2', 'web', 'true']);
    assert.equal(index.stderr.trim(), 'service "web" is not running container #2');
  });

  it('run --rm: a one-off container that leaves nothing; its output and exit code', async () => {
    const r = await compose(['run', '--rm', '-T', 'web', 'sh', '-c', 'echo one-off $HOSTNAME; exit 4']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /^one-off \w+\n$/);
    const left = ok(await d.berth(['ps', '-a', '--format', '{{.Names}}']));
    assert.doesNotMatch(left, /run/);
    // A command that cannot start: the engine's error, and still nothing left.
    const bad = await compose(['run', '--rm', '-T', 'db', 'no-such-command']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /no-such-command/);
    assert.doesNotMatch(ok(await d.berth(['ps', '-a', '--format', '{{.Names}}'])), /run/);
  });

  it('run: named <project>-<service>-run-<12 hex>, labelled oneoff, with -e, --entrypoint, -l', async () => {
    const r = await compose(['run', '-T', '-e', 'X=1', '-l', 'who=test', '--entrypoint', 'sh -c', 'db', 'echo X=$X']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'X=1\n');
    const names = ok(await d.berth(['ps', '-a', '--filter', 'label=com.docker.compose.oneoff=True', '--format', '{{.Names}} {{.Label "who"}}'])).trim();
    assert.match(names, /^rd-db-run-[0-9a-f]{12} test$/);
    // ps -a lists it; ps does not.
    assert.match(ok(await compose(['ps', '-a', '--format', '{{.Name}}'])), /rd-db-run-/);
    assert.doesNotMatch(ok(await compose(['ps', '--format', '{{.Name}}'])), /rd-db-run-/);
    ok(await d.berth(['rm', names.split(' ')[0]!]));
  });

  it('run starts the service dependencies first (not with --no-deps)', async () => {
    const noDeps = await compose(['run', '--rm', '-T', '--no-deps', 'needs']);
    assert.equal(noDeps.stdout, 'needs ran\n', noDeps.stderr);
    assert.equal((await backend.containers('rd', { all: true, services: ['dep'] })).length, 0);
    // --dry-run says what it would do and does nothing.
    const dry = await compose(['--dry-run', 'run', '--rm', '-T', 'needs']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /DRY-RUN MODE -.*Container rd-needs-run-[0-9a-f]{12}\s+Created/);
    assert.equal(dry.stdout, '');
    assert.equal((await backend.containers('rd', { all: true, services: ['dep', 'needs'] })).length, 0);
    const r = await compose(['run', '--rm', '-T', 'needs']);
    assert.equal(r.stdout, 'needs ran\n', r.stderr);
    assert.match(r.stderr, /Container rd-dep-1\s+Started/);
    const dep = await backend.containers('rd', { services: ['dep'] });
    assert.equal(dep.length, 1);
    assert.equal(dep[0]!.State, 'running');
    await backend.removeContainer(dep[0]!.Id, { force: true });
  });

  it('run refuses an unknown service and incompatible flags', async () => {
    const r = await compose(['run', '--rm', 'nope']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no such service: nope/);
    const p = await compose(['run', '--rm', '-P', '-p', '80', 'web']);
    assert.match(p.stderr, /--service-ports and --publish are incompatible/);
  });

  it('cp: into the service container and back out', async () => {
    await fs.writeFile(path.join(dir, 'note.txt'), 'from the host\n');
    const to = await compose(['cp', 'note.txt', 'web:/tmp/note.txt']);
    assert.equal(to.code, 0, to.stderr);
    assert.match(to.stderr, /rd-web-1 copy note\.txt to rd-web-1:\/tmp\/note\.txt Copied/);
    assert.equal(ok(await compose(['exec', '-T', 'web', 'cat', '/tmp/note.txt'])), 'from the host\n');
    ok(await compose(['exec', '-T', 'web', 'sh', '-c', 'echo from the container > /tmp/back.txt']));
    ok(await compose(['cp', 'web:/tmp/back.txt', 'back.txt']));
    assert.equal(await fs.readFile(path.join(dir, 'back.txt'), 'utf8'), 'from the container\n');
    const none = await compose(['cp', 'nope:/x', 'y']);
    assert.match(none.stderr, /no container found for service "nope"/);
  });

  it('port: the published address of a container port', async () => {
    const addr = ok(await compose(['port', 'web', '80'])).trim();
    assert.match(addr, /^127\.0\.0\.1:\d+$/);
    assert.match(ok(await compose(['ps', '--format', '{{.Ports}}', 'web'])), new RegExp(`${addr.replace(/\./g, '\\.')}->80/tcp`));
    const missing = await compose(['port', 'web', '81']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), 'no port 81/tcp for container rd-web-1: 80/tcp');
  });

  it('top: each running container with its processes', async () => {
    const out = ok(await compose(['top']));
    assert.match(out, /^rd-db-1\nUID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n/m);
    assert.match(out, /sleep 1000/);
    assert.match(out, /^rd-web-1$/m);
  });

  it('ls: projects from the labels with their states counted', async () => {
    const out = ok(await compose(['ls']));
    assert.match(out, /^NAME\s+STATUS\s+CONFIG FILES\n/);
    assert.match(out, new RegExp(`^rd\\s+running\\(2\\)\\s+${path.join(dir, 'compose.yaml')}$`, 'm'));
    assert.match(ok(await compose(['ls', '-a'])), /^rd\s+exited\(1\), running\(2\)\s/m);
    const json = JSON.parse(ok(await compose(['ls', '--format', 'json']))) as { Name: string; Status: string; ConfigFiles: string }[];
    assert.deepEqual(json, [{ Name: 'rd', Status: 'running(2)', ConfigFiles: path.join(dir, 'compose.yaml') }]);
    assert.equal(ok(await compose(['ls', '-q', '--filter', 'name=other'])), '');
    assert.equal(ok(await compose(['ls', '-q', '--filter', 'name=r.'])), 'rd\n');
  });

  it('images: the image of each container', async () => {
    const lines = ok(await compose(['images'])).trimEnd().split('\n');
    assert.match(lines[0]!, /^CONTAINER\s+REPOSITORY\s+TAG\s+IMAGE ID\s+SIZE$/);
    assert.equal(lines.length, 4);
    assert.match(lines[3]!, /^rd-web-1\s+busybox\s+latest\s+[0-9a-f]{12}\s+\d/);
    assert.match(ok(await compose(['images', '-q'])), /^[0-9a-f]{64}\n$/);
  });

  it('events --json and wait: a container run again, its start and die, its exit code', async () => {
    const child = composeProcess(['events', '--json', 'job']);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += String(c)));
    try {
      // The stream is open before the start (berthd logs each request at debug level; only `compose
      // events` asks for the project's events by label alone).
      await waitFor(() => d.log.includes('/events?filters=%7B%22label%22'), 'the events request');
      ok(await d.berth(['start', 'rd-job-1']));
      const w = await compose(['wait', 'job']);
      // Already exited by now, or waited for: either way the status is the job's.
      if (w.stdout) assert.match(w.stdout, /^container "[0-9a-f]{64}" exited with status code 3\n$/);
      await waitFor(async () => /"action":"die"/.test(out), `a die event; got:\n${out}`);
      const events = out.trim().split('\n').map((l) => JSON.parse(l) as { action: string; service: string; type: string; attributes: Record<string, string> });
      assert.ok(events.some((e) => e.action === 'start' && e.service === 'job' && e.type === 'container'));
      assert.equal(events.find((e) => e.action === 'die')!.attributes.exitCode, '3');
    } finally {
      await stop(child);
    }
    // wait on a running service: stop it from the side, the exit code comes back.
    const dbId = (await backend.inspectContainer('rd-db-1')).Id;
    const waiting = compose(['wait', 'db']);
    // Killed only once the wait is in the daemon's hands (berthd logs each request at debug level).
    await waitFor(() => d.log.includes(`/containers/${dbId}/wait`), 'the wait request');
    ok(await d.berth(['kill', 'rd-db-1']));
    const w = await waiting;
    assert.equal(w.code, 137, w.stderr);
    assert.match(w.stdout, /exited with status code 137/);
    ok(await d.berth(['start', 'rd-db-1']));
  });

  it('wait --down-project: the exit code, then the project taken down', async () => {
    const other: Project = { ...project, name: 'rdw' };
    const svc = other.services.job!;
    const body = containerCreateRequest(other, 'job', svc, { number: 1, configHash: serviceConfigHash(svc) });
    body.Cmd = ['sh', '-c', 'sleep 1; exit 2'];
    await backend.startContainer(await backend.createContainer('rdw-job-1', body));
    const r = await compose(['-p', 'rdw', 'wait', '--down-project', 'job']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /exited with status code 2/);
    assert.match(r.stderr, /Container rdw-job-1\s+Removed/);
    assert.equal((await backend.containers('rdw', { all: true })).length, 0);
  });

  it('version: Compose v2 version, marked as berth', async () => {
    assert.equal(ok(await compose(['version'])), 'Docker Compose version v2.29.7-berth\n');
    assert.equal(ok(await compose(['version', '--short'])), '2.29.7-berth\n');
    assert.deepEqual(JSON.parse(ok(await compose(['version', '--format', 'json']))), { version: 'v2.29.7-berth' });
  });
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
