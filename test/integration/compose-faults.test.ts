// Bad input and faults (issue 11): each is refused with Compose v2's message and a non-zero exit, and
// afterwards nothing of the project is left on the engine (containers, networks, volumes by label).
// Errors found before anything is made (interpolation, the project name, duplicate container names,
// an unknown --exit-code-from service, an image that cannot be had) must leave nothing at all; a fault
// met while starting (a port taken) leaves only what `down` removes. Ctrl-C during a foreground `up`
// stops the containers as Compose does, a second Ctrl-C kills them.
// Real runc, a private berthd, busybox.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO, TestDaemon, context, type RunResult } from './harness.js';
import { waitFor } from './waits.js';

const LOOP = `["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]`;

describe('compose bad input and faults', () => {
  let d: TestDaemon;
  const dirs: string[] = [];
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => {
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
    await d.cleanup();
  });

  const project = async (name: string, yaml: string, files: Record<string, string> = {}): Promise<string> => {
    const dir = await context({ 'compose.yaml': `name: ${name}\n${yaml}`, ...files });
    dirs.push(dir);
    return dir;
  };
  const ok = (r: RunResult): string => {
    assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  };
  const failed = (r: RunResult, message: RegExp): void => {
    assert.notEqual(r.code, 0, `expected a failure\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /TypeError|ReferenceError|at .*\.js:\d+/, 'no JavaScript error reaches the user');
  };
  /** What the engine holds of a project, by label. */
  const leftovers = async (name: string): Promise<string[]> => {
    const label = `label=com.docker.compose.project=${name}`;
    const out = await Promise.all([
      d.docker(['ps', '-a', '--filter', label, '--format', 'container {{.Names}}']),
      d.docker(['network', 'ls', '--filter', label, '--format', 'network {{.Name}}']),
      d.docker(['volume', 'ls', '--filter', label, '--format', 'volume {{.Name}}']),
    ]);
    return out.flatMap((r) => ok(r).trim().split('\n').filter(Boolean));
  };
  const nothingLeft = async (name: string): Promise<void> => assert.deepEqual(await leftovers(name), [], `nothing of ${name} left`);

  it('a required variable missing (${VAR:?err}) fails with Compose\'s message and creates nothing', async () => {
    const dir = await project('fvar', `services:\n  web:\n    image: busybox:\${TAG:?TAG must be set}\n    command: ${LOOP}\n`);
    const r = await d.compose(dir, ['up', '-d']);
    failed(r, /error while interpolating services\.web\.image: required variable TAG is missing a value: TAG must be set/);
    await nothingLeft('fvar');
  });

  it('an image that cannot be had: the service is named, nothing of the project is made', async () => {
    const dir = await project(
      'fimg',
      `services:\n  good:\n    image: busybox\n    command: ${LOOP}\n  bad:\n    image: 127.0.0.1:1/nosuch/image:1\n    command: ${LOOP}\nvolumes:\n  data: {}\n`,
    );
    const r = await d.compose(dir, ['up', '-d']);
    failed(r, /127\.0\.0\.1:1\/nosuch\/image/);
    assert.match(r.stderr, /bad/);
    // As Compose, images are had before anything is created: nothing was made for `good` either.
    await nothingLeft('fimg');
    ok(await d.compose(dir, ['down', '-v']));
    await nothingLeft('fimg');
  });

  it('a port already taken: the start fails naming the port, down removes what was made', async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const dir = await project('fport', `services:\n  web:\n    image: busybox\n    command: ${LOOP}\n    ports: ["127.0.0.1:${port}:80"]\n`);
      const r = await d.compose(dir, ['up', '-d']);
      failed(r, new RegExp(String(port)));
      ok(await d.compose(dir, ['down']));
      await nothingLeft('fport');
    } finally {
      server.close();
    }
  });

  it('an invalid project name is refused before anything is made', async () => {
    const dir = await project('fname', `services:\n  web:\n    image: busybox\n    command: ${LOOP}\n`);
    const r = await d.compose(dir, ['-p', 'Bad Name!', 'up', '-d']);
    failed(r, /invalid project name "Bad Name!": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number/);
    const down = await d.compose(dir, ['-p', 'Bad Name!', 'down']);
    failed(down, /invalid project name "Bad Name!"/);
    const all = ok(await d.docker(['ps', '-aq']));
    assert.equal(all.trim(), '', 'no container at all');
  });

  it('two services with the same container_name are refused before anything is made', async () => {
    const dir = await project('fdup', `services:\n  a:\n    image: busybox\n    container_name: same\n    command: ${LOOP}\n  b:\n    image: busybox\n    container_name: same\n    command: ${LOOP}\n`);
    const r = await d.compose(dir, ['up', '-d']);
    failed(r, /container name "same" is already in use by service/);
    await nothingLeft('fdup');
  });

  it('exec into a service with no running container', async () => {
    const dir = await project('fexec', `services:\n  web:\n    image: busybox\n    command: ${LOOP}\n`);
    failed(await d.compose(dir, ['exec', '-T', 'web', 'true']), /service "web" is not running/);
    ok(await d.compose(dir, ['up', '-d']));
    ok(await d.compose(dir, ['stop']));
    failed(await d.compose(dir, ['exec', '-T', 'web', 'true']), /service "web" is not running/);
    ok(await d.compose(dir, ['down']));
    await nothingLeft('fexec');
  });

  it('--exit-code-from naming an unknown service is refused before anything is made', async () => {
    const dir = await project('fexit', `services:\n  web:\n    image: busybox\n    command: ["true"]\n`);
    failed(await d.compose(dir, ['up', '--exit-code-from', 'nosuch']), /no such service: nosuch/);
    await nothingLeft('fexit');
  });

  it('Ctrl-C during a foreground up stops the containers; a second Ctrl-C kills them', async () => {
    // `stubborn` ignores SIGTERM and has a long grace period: only the second Ctrl-C ends it (SIGKILL).
    const dir = await project(
      'fint',
      `services:\n  polite:\n    image: busybox\n    command: ${LOOP}\n  stubborn:\n    image: busybox\n    command: ["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done"]\n    stop_grace_period: 2m\n`,
    );
    const upFg = foreground(d, dir, ['up']);
    try {
      await waitFor(async () => {
        const now = await states('fint');
        return now.length === 2 && now.every((s) => s.endsWith(' running'));
      }, 'both containers running');
      await waitFor(() => upFg.output().includes('ready'), 'the attached output of stubborn');
      upFg.child.kill('SIGINT');
      await waitFor(() => /Gracefully stopping\.\.\. \(press Ctrl\+C again to force\)/.test(upFg.output()), 'the graceful stop message');
      await waitFor(async () => (await states('fint')).includes('fint-polite-1 exited'), 'polite stopped by the first Ctrl-C');
      assert.ok((await states('fint')).includes('fint-stubborn-1 running'), 'stubborn still in its grace period');
      upFg.child.kill('SIGINT');
      const code = await upFg.exited;
      assert.notEqual(code, 0);
      assert.deepEqual((await states('fint')).sort(), ['fint-polite-1 exited', 'fint-stubborn-1 exited']);
      assert.equal(ok(await d.docker(['inspect', '-f', '{{.State.ExitCode}}', 'fint-stubborn-1'])).trim(), '137', 'killed');
    } finally {
      upFg.child.kill('SIGKILL');
    }
    ok(await d.compose(dir, ['down', '-t', '0']));
    await nothingLeft('fint');
  });

  async function states(name: string): Promise<string[]> {
    const out = ok(await d.docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${name}`, '--format', '{{.Names}} {{.State}}']));
    return out.trim().split('\n').filter(Boolean);
  }
});

/** `berth compose ARGS` left running in the foreground, its output collected. */
function foreground(d: TestDaemon, cwd: string, args: string[]) {
  const child = spawn(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), '-H', d.host, 'compose', ...args], {
    cwd,
    env: { ...process.env, DOCKER_CONFIG: path.join(d.dir, 'docker-config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += String(c)));
  child.stderr.on('data', (c: Buffer) => (text += String(c)));
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  return { child, exited, output: () => text };
}
