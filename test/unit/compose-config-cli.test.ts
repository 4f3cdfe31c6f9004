// `berth compose config` end to end, in-process (no engine is needed): files on disk through the
// loader, its validation and the serializer, with the command's flags, as a user runs it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough, Readable } from 'node:stream';
import { parse } from 'yaml';
import { commands } from '../../src/cli/compose/main.js';
import { StatusError, type Context } from '../../src/cli/command.js';
import { parseFlags } from '../../src/cli/flags.js';
import type { EngineClient } from '../../src/client/engine.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `berth compose ARGS`, in-process, with the given environment. */
async function compose(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  stdout.on('data', (c: Buffer) => chunks.out.push(c));
  stderr.on('data', (c: Buffer) => chunks.err.push(c));
  const ctx: Context = {
    cmdPath: 'berth compose',
    client: (): EngineClient => {
      throw new Error('config needs no engine');
    },
    stdin: Readable.from([]),
    stdout,
    stderr,
    env: { PATH: '/usr/bin:/bin', HOME: '/root', ...env },
  };
  const spec = commands.compose!;
  let code: number;
  try {
    code = await spec.run(ctx, parseFlags(spec.flags, args, { stopAtFirstArg: true }));
  } catch (err) {
    if (!(err instanceof StatusError)) throw err;
    stderr.write(`${err.message}\n`);
    code = err.exitCode;
  }
  return { code, stdout: Buffer.concat(chunks.out).toString(), stderr: Buffer.concat(chunks.err).toString() };
}

let dir: string;
const file = (name: string): string => path.join(dir, name);
const inDir = (args: string[]): string[] => ['-f', file('compose.yaml'), '--project-directory', dir, ...args];

const COMPOSE = `
name: shop
services:
  web:
    build: ./web
    image: shop-web:\${TAG:-dev}
    ports:
      - "127.0.0.1:8080:8080"
    environment:
      DB_HOST: db
      LOG_LEVEL: \${LOG_LEVEL}
    depends_on:
      db:
        condition: service_healthy
    volumes:
      - ./web.conf:/etc/web.conf:ro
  db:
    image: shop-db:1
    healthcheck:
      test: ["CMD-SHELL", "pg_isready"]
      interval: 90s
    volumes:
      - dbdata:/var/lib/db
    stop_grace_period: 1m
  debug:
    image: busybox
    profiles: [tools]
    command: sh -c 'echo $$HOME'
volumes:
  dbdata:
`;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-config-'));
  await fs.writeFile(file('compose.yaml'), COMPOSE);
  await fs.writeFile(file('.env'), 'LOG_LEVEL=debug\n');
  await fs.writeFile(file('web.conf'), 'x=1\n');
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('berth compose config', () => {
  it('prints the canonical YAML: interpolated from .env, paths absolute, short syntax long, defaults filled', async () => {
    const r = await compose(inDir(['config']));
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      `name: shop
services:
  db:
    healthcheck:
      test:
        - CMD-SHELL
        - pg_isready
      interval: 1m30s
    image: shop-db:1
    networks:
      default: null
    stop_grace_period: 1m0s
    volumes:
      - type: volume
        source: dbdata
        target: /var/lib/db
        volume: {}
  web:
    build:
      context: ${dir}/web
      dockerfile: Dockerfile
    depends_on:
      db:
        condition: service_healthy
        required: true
    environment:
      DB_HOST: db
      LOG_LEVEL: debug
    image: shop-web:dev
    networks:
      default: null
    ports:
      - mode: ingress
        host_ip: 127.0.0.1
        target: 8080
        published: "8080"
        protocol: tcp
    volumes:
      - type: bind
        source: ${dir}/web.conf
        target: /etc/web.conf
        read_only: true
        bind: {}
networks:
  default:
    name: shop_default
volumes:
  dbdata:
    name: shop_dbdata
`,
    );
  });

  it("prints the example stack (examples/compose-app) as docker compose config does", async () => {
    const EXAMPLE = path.join(REPO, 'examples/compose-app');
    const r = await compose(['-f', path.join(EXAMPLE, 'compose.yaml'), '--project-directory', EXAMPLE, 'config']);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, `name: compose-app
services:
  cache:
    command:
      - redis-server
      - --bind
      - 0.0.0.0
      - --protected-mode
      - "no"
      - --appendonly
      - "yes"
    healthcheck:
      test:
        - CMD
        - redis-cli
        - ping
      timeout: 3s
      interval: 10s
      retries: 5
      start_period: 30s
      start_interval: 1s
    image: compose-app/redis:7
    networks:
      default: null
    restart: unless-stopped
    volumes:
      - type: volume
        source: cache-data
        target: /data
        volume: {}
  db:
    environment:
      POSTGRES_DB: app
      POSTGRES_PASSWORD: change-me-example-only
      POSTGRES_USER: app
    healthcheck:
      test:
        - CMD-SHELL
        - pg_isready -U app -d app -h 127.0.0.1
      timeout: 3s
      interval: 10s
      retries: 5
      start_period: 30s
      start_interval: 1s
    image: compose-app/postgres:15
    networks:
      default: null
    restart: unless-stopped
    volumes:
      - type: volume
        source: db-data
        target: /var/lib/postgresql/data
        volume: {}
  web:
    build:
      context: ${EXAMPLE}/web
      dockerfile: Dockerfile
    depends_on:
      cache:
        condition: service_healthy
        required: true
      db:
        condition: service_healthy
        required: true
    environment:
      DATABASE_URL: postgresql://app:change-me-example-only@db:5432/app
      LOG_LEVEL: info
      REDIS_URL: redis://cache:6379/0
    networks:
      default: null
    ports:
      - mode: ingress
        host_ip: 127.0.0.1
        target: 8000
        published: "8080"
        protocol: tcp
    restart: unless-stopped
    volumes:
      - type: bind
        source: ${EXAMPLE}/config/web.ini
        target: /etc/web/web.ini
        read_only: true
        bind: {}
networks:
  default:
    name: compose-app_default
volumes:
  cache-data:
    name: compose-app_cache-data
  db-data:
    name: compose-app_db-data
`);
  });

  it('prints JSON with --format json, and writes to a file with -o', async () => {
    const r = await compose(inDir(['config', '--format', 'json']));
    assert.equal(r.code, 0);
    const model = JSON.parse(r.stdout) as { name: string; services: Record<string, { command: unknown }> };
    assert.equal(model.name, 'shop');
    assert.deepEqual(Object.keys(model.services), ['db', 'web']);
    assert.equal(model.services.db!.command, null);
    const out = file('out.yaml');
    const w = await compose(inDir(['config', '-o', out]));
    assert.equal(w.code, 0);
    assert.equal(w.stdout, '');
    assert.equal((parse(await fs.readFile(out, 'utf8')) as { name: string }).name, 'shop');
  });

  it('lists services (dependencies first), volumes, networks, profiles, images', async () => {
    assert.equal((await compose(inDir(['config', '--services']))).stdout, 'db\nweb\n');
    assert.equal((await compose(inDir(['--profile', 'tools', 'config', '--services']))).stdout, 'db\ndebug\nweb\n');
    assert.equal((await compose(inDir(['config', '--volumes']))).stdout, 'dbdata\n');
    assert.equal((await compose(inDir(['config', '--networks']))).stdout, 'default\n');
    assert.equal((await compose(inDir(['config', '--profiles']))).stdout, 'tools\n');
    assert.equal((await compose(inDir(['config', '--images']))).stdout, 'shop-db:1\nshop-web:dev\n');
  });

  it('prints one config hash per service with --hash', async () => {
    const all = (await compose(inDir(['config', '--hash', '*']))).stdout.trim().split('\n');
    assert.deepEqual(all.map((l) => l.split(' ')[0]), ['db', 'web']);
    for (const l of all) assert.match(l, /^\w+ [0-9a-f]{64}$/);
    assert.equal((await compose(inDir(['config', '--hash', 'web']))).stdout, `${all[1]}\n`);
    const bad = await compose(inDir(['config', '--hash', 'nope']));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no such service: nope/);
  });

  it('keeps ${VAR} and $ as written with --no-interpolate', async () => {
    const r = await compose(inDir(['--profile', 'tools', 'config', '--no-interpolate']));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /image: shop-web:\$\{TAG:-dev\}\n/);
    assert.match(r.stdout, /LOG_LEVEL: \$\{LOG_LEVEL\}\n/);
  });

  it('doubles $ so the output loads back the same', async () => {
    const r = await compose(inDir(['--profile', 'tools', 'config']));
    assert.match(r.stdout, /- echo \$\$HOME\n/);
  });

  it('selects services and what they depend on', async () => {
    const r = await compose(inDir(['config', 'web']));
    assert.deepEqual(Object.keys((parse(r.stdout) as { services: object }).services), ['db', 'web']);
    const bad = await compose(inDir(['config', 'nope']));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no such service: nope/);
  });

  it('validates only with -q: nothing printed, exit 0; an invalid file names the file and the key, exit 1', async () => {
    const ok = await compose(inDir(['config', '-q']));
    assert.deepEqual(ok, { code: 0, stdout: '', stderr: '' });
    await fs.writeFile(file('bad.yaml'), 'services:\n  web:\n    imgae: busybox\n');
    const bad = await compose(['-f', file('bad.yaml'), 'config', '-q']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, '');
    assert.equal(bad.stderr, `validating ${file('bad.yaml')}: services.web additional properties 'imgae' not allowed\n`);
  });

  it('refuses an undefined volume, a missing dependency and a bad duration as Compose words them', async () => {
    const cases: [string, string][] = [
      ['services:\n  web:\n    image: x\n    volumes: ["data:/d"]\n', 'service "web" refers to undefined volume data: invalid compose project'],
      ['services:\n  web:\n    image: x\n    depends_on: [db]\n', 'service "web" depends on undefined service "db": invalid compose project'],
      ['services:\n  web:\n    image: x\n    healthcheck:\n      interval: 5 seconds\n', `validating ${file('case.yaml')}: services.web.healthcheck.interval '5 seconds' is not valid duration: time: unknown unit " seconds" in duration "5 seconds"`],
      ['services:\n  web:\n    build: .\n    container_name: app\n  api:\n    image: x\n    container_name: app\n', 'services.web: container name "app" is already in use by service api'],
    ];
    for (const [yaml, message] of cases) {
      await fs.writeFile(file('case.yaml'), yaml);
      const r = await compose(['-f', file('case.yaml'), '-p', 'case', 'config']);
      assert.equal(r.code, 1, yaml);
      assert.equal(r.stderr, `${message}\n`);
      assert.equal(r.stdout, '');
    }
  });

  it('reads env_file into the environment and leaves it out; --no-env-resolution and --no-path-resolution keep them', async () => {
    await fs.writeFile(file('env.yaml'), 'services:\n  app:\n    image: x\n    env_file: [app.env]\n    volumes: ["./data:/data"]\n');
    await fs.writeFile(file('app.env'), 'A=1\n');
    const resolved = parse((await compose(['-f', file('env.yaml'), 'config'])).stdout) as { services: { app: Record<string, unknown> } };
    assert.deepEqual(resolved.services.app.environment, { A: '1' });
    assert.equal(resolved.services.app.env_file, undefined);
    assert.equal((resolved.services.app.volumes as { source: string }[])[0]!.source, file('data'));
    const raw = await compose(['-f', file('env.yaml'), 'config', '--no-env-resolution', '--no-path-resolution']);
    const kept = parse(raw.stdout) as { services: { app: Record<string, unknown> } };
    assert.equal(kept.services.app.environment, undefined);
    assert.deepEqual(kept.services.app.env_file, [{ path: 'app.env' }]);
    assert.equal((kept.services.app.volumes as { source: string }[])[0]!.source, './data');
  });

  it('prints an inconsistent project with --no-consistency', async () => {
    await fs.writeFile(file('case.yaml'), 'services:\n  web:\n    image: x\n    depends_on: [db]\n');
    const r = await compose(['-f', file('case.yaml'), '-p', 'case', 'config', '--no-consistency']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /depends_on:\n {6}db:\n/);
  });

  it('refuses an invalid project name given with -p or COMPOSE_PROJECT_NAME', async () => {
    const message = (n: string): string =>
      `invalid project name "${n}": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number\n`;
    const flag = await compose(['-p', 'My App', ...inDir(['config'])]);
    assert.deepEqual([flag.code, flag.stderr], [1, message('My App')]);
    const env = await compose(inDir(['config']), { COMPOSE_PROJECT_NAME: '_app' });
    assert.deepEqual([env.code, env.stderr], [1, message('_app')]);
  });

  it('leaves out what normalisation adds with --no-normalize (default network, dockerfile, resource names)', async () => {
    const r = await compose(inDir(['config', '--no-normalize']));
    assert.equal(r.code, 0, r.stderr);
    const model = parse(r.stdout) as { services: Record<string, Record<string, unknown>>; networks?: unknown; volumes: unknown };
    assert.equal(model.networks, undefined);
    assert.equal(model.services.web!.networks, undefined);
    assert.deepEqual(model.services.web!.build, { context: path.join(dir, 'web') });
    assert.deepEqual(model.volumes, { dbdata: {} });
  });

  it('refuses an unknown format', async () => {
    const f = await compose(inDir(['config', '--format', 'toml']));
    assert.equal(f.code, 1);
    assert.equal(f.stderr, 'unsupported format "toml"\n');
  });

  it('lists the variables the files use with --variables (a table; json and yaml with --format)', async () => {
    const r = await compose(inDir(['config', '--variables']));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'NAME                REQUIRED            DEFAULT VALUE       ALTERNATE VALUE\n' +
        'LOG_LEVEL           false                                   \n' +
        'TAG                 false               dev                 \n',
    );
    const json = JSON.parse((await compose(inDir(['config', '--variables', '--format', 'json']))).stdout) as Record<string, unknown>;
    assert.deepEqual(json.TAG, { Name: 'TAG', DefaultValue: 'dev', PresenceValue: '', Required: false });
  });

  it('prints the variables used for interpolation with --environment', async () => {
    const r = await compose(inDir(['config', '--environment']), { FOO: 'bar' });
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.includes('FOO=bar'));
    assert.ok(lines.includes('LOG_LEVEL=debug'));
    assert.ok(lines.includes('COMPOSE_PROJECT_NAME=shop'));
    assert.deepEqual(lines, [...lines].sort());
  });
});
