// The README's compose example (examples/compose-app): its files load and validate as they are, and the
// stack runs as a user runs it — `up -d --wait`, web answering through the published port using db and
// cache by service name, `up -d` again recreating nothing, `down -v` leaving nothing. The example's real
// images (Debian's PostgreSQL, Redis, Python: scripts/compose-app-images.sh) take a minute to make on a
// fresh machine, so the run uses the example's compose.yaml and .env unchanged plus an override file
// that swaps the images for busybox stand-ins speaking HTTP: db keeps its rows and cache its counter in
// the example's named volumes, web (built here, as the example's web is) reaches them through the host
// names in DATABASE_URL and REDIS_URL and reads the example's read-only config file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO, TestDaemon, context, type RunResult } from './harness.js';
import { httpGet } from '../support/api.js';

const EXAMPLE = path.join(REPO, 'examples/compose-app');
const PROJECT = 'compose-example-test';
const STANDIN = 'compose-example-standin';

// db and cache: busybox httpd with CGIs keeping state where the real servers keep theirs (the volumes).
const SERVICES_CONTEXT = {
  Dockerfile: 'FROM busybox\nCOPY serve /bin/serve\nCOPY ping incr insert /www/cgi-bin/\nRUN chmod +x /bin/serve /www/cgi-bin/* && mkdir -p /data /var/lib/postgresql/data\n',
  serve: '#!/bin/sh\ntrap "exit 0" TERM\nhttpd -f -p "$1" -h /www &\nwait\n',
  ping: '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nPONG\\n"\n',
  incr: '#!/bin/sh\nn=$(($(cat /data/hits 2>/dev/null || echo 0) + 1))\necho $n >/data/hits\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" $n\n',
  insert: '#!/bin/sh\necho "visit at $(date)" >>/var/lib/postgresql/data/visits\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" $(wc -l </var/lib/postgresql/data/visits)\n',
};

// web: reaches db and cache by the host names in the URLs compose.yaml gives it.
const HOSTS = 'db=${DATABASE_URL#*@}; db=${db%%/*}\ncache=${REDIS_URL#redis://}; cache=${cache%%/*}\n';
const WEB_CONTEXT = {
  Dockerfile:
    'FROM busybox\nCOPY index.cgi healthz /www/cgi-bin/\nRUN chmod +x /www/cgi-bin/*\n' +
    'HEALTHCHECK --interval=1s --timeout=2s --retries=30 CMD wget -qO /dev/null http://127.0.0.1:8000/cgi-bin/healthz || exit 1\n' +
    'CMD ["sh", "-c", "trap \'exit 0\' TERM; httpd -f -p 8000 -h /www & wait"]\n',
  'index.cgi':
    '#!/bin/sh\n' +
    HOSTS +
    'hits=$(wget -qO- "http://$cache/cgi-bin/incr") && rows=$(wget -qO- "http://$db/cgi-bin/insert") || { printf "Status: 503\\r\\n\\r\\n"; exit 0; }\n' +
    'greeting=$(sed -n "s/^greeting *= *//p" /etc/web/web.ini)\n' +
    'printf "Content-Type: text/plain\\r\\n\\r\\n%s\\nvisits counted in cache (%s): %s\\nvisits stored in db (%s): %s\\n" "$greeting" "$cache" "$hits" "$db" "$rows"\n',
  healthz: '#!/bin/sh\n' + HOSTS + 'wget -qO /dev/null "http://$cache/cgi-bin/ping" && wget -qO /dev/null "http://$db/cgi-bin/ping" && printf "Content-Type: text/plain\\r\\n\\r\\nok\\n" || printf "Status: 503\\r\\n\\r\\n"\n',
};

function override(webContext: string): string {
  const probe = (port: number) => `["CMD", "wget", "-qO", "/dev/null", "http://127.0.0.1:${port}/cgi-bin/ping"]`;
  return `# busybox stand-ins for the example's Debian images (see compose-example.test.ts)
services:
  web:
    build:
      context: ${webContext}
  db:
    image: ${STANDIN}
    command: ["serve", "5432"]
    healthcheck:
      test: ${probe(5432)}
  cache:
    image: ${STANDIN}
    command: ["serve", "6379"]
    healthcheck:
      test: ${probe(6379)}
`;
}

/** A TCP port nobody listens on now (the kernel's pick), for WEB_PORT. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

describe('examples/compose-app', () => {
  let d: TestDaemon;
  let dirs: string[] = [];
  let files: string[];
  let port: number;
  const compose = (args: string[]) => d.compose(EXAMPLE, ['-p', PROJECT, ...files.flatMap((f) => ['-f', f]), ...args], { env: { WEB_PORT: String(port) }, timeoutMs: 80_000 });
  const projectIds = async (kind: 'ps' | 'volume' | 'network') => {
    const args = kind === 'ps' ? ['ps', '-aq'] : [kind, 'ls', '-q'];
    return ok(await d.berth([...args, '--filter', `label=com.docker.compose.project=${PROJECT}`])).split('\n').filter(Boolean);
  };

  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    const services = await context(SERVICES_CONTEXT);
    const web = await context(WEB_CONTEXT);
    const over = await context({ 'compose.standins.yaml': override(web) });
    dirs = [services, web, over];
    ok(await d.berth(['build', '-q', '-t', STANDIN, services]));
    files = [path.join(EXAMPLE, 'compose.yaml'), path.join(over, 'compose.standins.yaml')];
    port = await freePort();
  });
  after(async () => {
    await compose(['down', '-v', '-t', '1']).catch(() => undefined);
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
    await d.cleanup();
  });

  it('loads and validates as it is (config -q; its .env fills the variables)', async () => {
    const r = await d.compose(EXAMPLE, ['config', '-q']);
    assert.equal(ok(r), '');
    assert.equal(r.stderr, '');
    const services = ok(await d.compose(EXAMPLE, ['config', '--services'])).split('\n').filter(Boolean);
    assert.deepEqual([...services].sort(), ['cache', 'db', 'web']);
    const volumes = ok(await d.compose(EXAMPLE, ['config', '--volumes'])).split('\n').filter(Boolean);
    assert.deepEqual([...volumes].sort(), ['cache-data', 'db-data']);
  });

  it('without its .env the file is refused, naming the missing variable and the hint it carries', async () => {
    const empty = await context({ 'empty.env': '' });
    dirs.push(empty);
    const r = await d.compose(EXAMPLE, ['--env-file', path.join(empty, 'empty.env'), 'config', '-q'], { env: { POSTGRES_PASSWORD: '' } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /POSTGRES_PASSWORD/);
    assert.match(r.stderr, /set POSTGRES_PASSWORD in \.env/);
  });

  it('up -d --wait starts db and cache, then web once they are healthy', async () => {
    ok(await compose(['up', '-d', '--wait']));
    const ps = ok(await compose(['ps']));
    for (const service of ['web', 'db', 'cache']) {
      const line = ps.split('\n').find((l) => l.startsWith(`${PROJECT}-${service}-1 `));
      assert.ok(line, `no ${service} line in:\n${ps}`);
      assert.match(line, /\(healthy\)/);
    }
    assert.match(ps, new RegExp(`127\\.0\\.0\\.1:${port}->8000/tcp`));
  });

  it('web answers on 127.0.0.1:WEB_PORT using db and cache by service name, with the read-only config', async () => {
    const first = await httpGet(port);
    assert.match(first, /^Hello from berth compose!$/m, first);
    assert.match(first, /visits counted in cache \(cache:6379\): 1$/m);
    assert.match(first, /visits stored in db \(db:5432\): 1$/m);
    const second = await httpGet(port);
    assert.match(second, /visits counted in cache \(cache:6379\): 2$/m);
    assert.match(second, /visits stored in db \(db:5432\): 2$/m);

    const web = ok(await compose(['ps', '-q', 'web'])).trim();
    const mounts = JSON.parse(ok(await d.berth(['inspect', '-f', '{{json .Mounts}}', web]))) as { Destination: string; RW: boolean; Type: string }[];
    const config = mounts.find((m) => m.Destination === '/etc/web/web.ini');
    assert.deepEqual(config && { Type: config.Type, RW: config.RW }, { Type: 'bind', RW: false });
    // The .env file's values reach the containers (WEB_PORT came from the environment, which wins).
    const env = JSON.parse(ok(await d.berth(['inspect', '-f', '{{json .Config.Env}}', web]))) as string[];
    assert.ok(env.includes('LOG_LEVEL=info'), env.join(' '));
    assert.ok(env.includes('DATABASE_URL=postgresql://app:change-me-example-only@db:5432/app'), env.join(' '));
  });

  it('up -d again on the unchanged project recreates nothing', async () => {
    const before = (await projectIds('ps')).sort();
    const r = await compose(['up', '-d']);
    ok(r);
    assert.doesNotMatch(r.stdout + r.stderr, /Recreat/);
    assert.deepEqual((await projectIds('ps')).sort(), before);
    assert.match(await httpGet(port), /visits counted in cache \(cache:6379\): 3$/m);
  });

  it('down -v leaves no container, network or volume, and frees the port', async () => {
    ok(await compose(['down', '-v']));
    assert.deepEqual(await projectIds('ps'), []);
    assert.deepEqual(await projectIds('network'), []);
    assert.deepEqual(await projectIds('volume'), []);
    assert.match(await httpGet(port), /^error:ECONNREFUSED$/);
  });
});
