// `berth compose watch`: an edited file is synced into the running container, an ignored one is not, a
// deleted one is removed, sync+restart restarts the container, and a change made while the container
// restarts still arrives. The watch process is ended by PID.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { REPO, TestDaemon, context } from './harness.js';
import { waitFor } from './waits.js';

const CLI = path.join(REPO, 'dist/src/cli/main.js');
const PROJECT = 'watchtest';

// A process that stops promptly on SIGTERM, but not instantly (so a restart takes a moment).
const COMPOSE = `
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "trap 'sleep 1; exit 0' TERM; while :; do sleep 0.2; done"]
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app/src
          ignore:
            - "*.tmp"
  api:
    image: busybox:latest
    command: ["sh", "-c", "trap 'sleep 1; exit 0' TERM; while :; do sleep 0.2; done"]
    develop:
      watch:
        - action: sync+restart
          path: ./conf
          target: /conf
  app:
    build: ./app
    develop:
      watch:
        - action: rebuild
          path: ./app
`;

const DOCKERFILE = `FROM busybox:latest
COPY version /version
CMD ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]
`;

describe('compose watch', () => {
  let d: TestDaemon;
  let dir: string;
  let watcher: ChildProcess | undefined;
  let output = '';

  const execCat = async (container: string, file: string): Promise<string | undefined> => {
    const r = await d.berth(['exec', container, 'cat', file]);
    return r.code === 0 ? r.stdout : undefined;
  };
  const startedAt = async (container: string): Promise<string> => (await d.berth(['inspect', '-f', '{{.State.StartedAt}}', container])).stdout.trim();
  const isRunning = async (container: string): Promise<boolean> => (await d.berth(['inspect', '-f', '{{.State.Running}}', container])).stdout.trim() === 'true';

  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    dir = await context({ 'compose.yaml': COMPOSE, 'src/index.html': 'v1\n', 'conf/app.conf': 'a=1\n', 'app/Dockerfile': DOCKERFILE, 'app/version': '1\n' });
    // `compose watch` brings the services up (building app), then watches.
    watcher = spawn(process.execPath, [CLI, '-H', d.host, 'compose', '-p', PROJECT, 'watch'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    watcher.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    watcher.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    await waitFor(() => output.includes('Watch enabled'), '"Watch enabled"', { timeoutMs: 90_000 });
    assert.equal(await execCat(`${PROJECT}-app-1`, '/version'), '1\n');
  });

  after(async () => {
    if (watcher?.pid && watcher.exitCode === null) {
      const exited = new Promise((r) => watcher!.once('exit', r));
      process.kill(watcher.pid, 'SIGTERM');
      await exited;
    }
    await d?.compose(dir, ['-p', PROJECT, 'down']).catch(() => undefined);
    await d?.cleanup();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('syncs an edited file and a new one into the running container', async () => {
    await fs.writeFile(path.join(dir, 'src/index.html'), 'v2\n');
    await fs.mkdir(path.join(dir, 'src/css'));
    await fs.writeFile(path.join(dir, 'src/css/site.css'), 'body{}\n');
    await waitFor(async () => (await execCat(`${PROJECT}-web-1`, '/app/src/index.html')) === 'v2\n', 'index.html v2 in the container');
    await waitFor(async () => (await execCat(`${PROJECT}-web-1`, '/app/src/css/site.css')) === 'body{}\n', 'css/site.css in the container');
    assert.match(output, / ⦿ Syncing service "web" after \d+ changes were detected/);
  });

  it('leaves out a file the rule ignores, and removes a deleted one', async () => {
    await fs.writeFile(path.join(dir, 'src/scratch.tmp'), 'x\n');
    await fs.writeFile(path.join(dir, 'src/after.txt'), 'later\n');
    await waitFor(async () => (await execCat(`${PROJECT}-web-1`, '/app/src/after.txt')) === 'later\n', 'after.txt in the container');
    assert.equal(await execCat(`${PROJECT}-web-1`, '/app/src/scratch.tmp'), undefined, 'the ignored file is not synced');

    await fs.rm(path.join(dir, 'src/after.txt'));
    await waitFor(async () => (await execCat(`${PROJECT}-web-1`, '/app/src/after.txt')) === undefined, 'after.txt removed from the container');
  });

  it('sync+restart syncs, then restarts; a change made during the restart still arrives', async () => {
    const before = await startedAt(`${PROJECT}-api-1`);
    await fs.writeFile(path.join(dir, 'conf/app.conf'), 'a=2\n');
    await waitFor(() => output.includes('Syncing service "api"'), '"Syncing service "api"" line');
    // The container now stops (its TERM trap takes a second) and starts again: change a file meanwhile.
    await fs.writeFile(path.join(dir, 'conf/extra.conf'), 'b=1\n');
    await waitFor(() => output.includes('service(s) ["api"] restarted'), 'the restart line');
    assert.notEqual(await startedAt(`${PROJECT}-api-1`), before, 'the container was restarted');
    await waitFor(async () => (await execCat(`${PROJECT}-api-1`, '/conf/app.conf')) === 'a=2\n', 'app.conf in the container');
    await waitFor(async () => (await execCat(`${PROJECT}-api-1`, '/conf/extra.conf')) === 'b=1\n', 'the change made during the restart');
    // extra.conf matches the sync+restart rule too: the container restarts once more, and runs.
    await waitFor(() => output.split('service(s) ["api"] restarted').length > 2, 'the second restart');
    await waitFor(() => isRunning(`${PROJECT}-api-1`), 'api running again');
  });

  it('up --watch follows the rules while it shows the logs, and stops on Ctrl-C', async () => {
    const upDir = await context({
      'compose.yaml': `services:\n  web:\n    image: busybox:latest\n    command: ["sh", "-c", "echo serving; trap 'exit 0' TERM; while :; do sleep 0.2; done"]\n    develop:\n      watch:\n        - action: sync\n          path: ./src\n          target: /src\n`,
      'src/a.txt': '1\n',
    });
    let out = '';
    const p = spawn(process.execPath, [CLI, '-H', d.host, 'compose', '-p', 'watchup', 'up', '--watch'], { cwd: upDir, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    try {
      await waitFor(() => out.includes('Watch enabled') && out.includes('serving'), '"Watch enabled" and the log line', { timeoutMs: 60_000 });
      await fs.writeFile(path.join(upDir, 'src/a.txt'), '2\n');
      await waitFor(async () => (await execCat('watchup-web-1', '/src/a.txt')) === '2\n', 'a.txt synced');
      assert.match(out.replaceAll('\x1b[36m', '').replaceAll('\x1b[0m', ''), /web-1 +\| serving/);
      process.kill(p.pid!, 'SIGINT');
      await exited;
      assert.match(out, /Watch disabled/);
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
      await d.compose(upDir, ['-p', 'watchup', 'down']);
      await fs.rm(upDir, { recursive: true, force: true });
    }
  });

  it('rebuild builds the image again and recreates the container', async () => {
    await fs.writeFile(path.join(dir, 'app/version'), '2\n');
    await waitFor(() => output.includes('Rebuilding service(s) ["app"] after changes were detected...'), 'the rebuild line');
    await waitFor(async () => (await execCat(`${PROJECT}-app-1`, '/version')) === '2\n', 'the rebuilt image in a new container', { timeoutMs: 90_000 });
    assert.match(output, /service\(s\) \["app"\] successfully built/);
  });
});
