// `berth compose config`'s output: the canonical form Docker Compose v2 prints (compose-go's model
// marshalled by Go's YAML and JSON encoders), written here from the specification and Compose's
// documentation for the kind of stack the examples use: a built web service, a database and a cache,
// health-gated dependencies, named volumes, a read-only bind-mounted config file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { goDuration, projectModel, serializeProject } from '../../src/compose/serialize.js';
import { inDependencyOrder, selectServices } from '../../src/cli/compose/config.js';
import type { Project, ServiceConfig } from '../../src/compose/types.js';
import { extractVariables } from '../../src/compose/variables.js';

function project(services: Record<string, ServiceConfig>, extra: Partial<Project> = {}): Project {
  return {
    name: 'shop',
    workingDir: '/srv/shop',
    composeFiles: ['/srv/shop/compose.yaml'],
    environment: { HOME: '/root', PATH: '/usr/bin' },
    profiles: [],
    services,
    disabledServices: {},
    networks: { default: { name: 'shop_default' } },
    volumes: {},
    secrets: {},
    configs: {},
    ...extra,
  };
}

/** The example stack as the loader gives it (long syntax, absolute paths, defaults filled in). */
const stack = (): Project =>
  project(
    {
      web: {
        build: { context: '/srv/shop/web', dockerfile: 'Dockerfile' },
        image: 'shop-web',
        ports: [{ mode: 'ingress', target: 8080, published: '8080', protocol: 'tcp', host_ip: '127.0.0.1' }],
        environment: { DB_HOST: 'db', CACHE_HOST: 'cache', LOG_LEVEL: 'info' },
        depends_on: {
          db: { condition: 'service_healthy', required: true },
          cache: { condition: 'service_started', required: true, restart: true },
        },
        volumes: [{ type: 'bind', source: '/srv/shop/web.conf', target: '/etc/web.conf', read_only: true, bind: { create_host_path: true } }],
        networks: { default: null },
        restart: 'unless-stopped',
      },
      db: {
        image: 'shop-db:1',
        environment: { DB_PASSWORD: 's3cret', EMPTY: null },
        healthcheck: { test: ['CMD-SHELL', 'pg_isready -U app'], interval: '1s', timeout: '5s', retries: 30, start_period: '0s' },
        volumes: [{ type: 'volume', source: 'dbdata', target: '/var/lib/db', volume: {} }],
        networks: { default: null },
        stop_grace_period: '90s',
      },
      cache: {
        image: 'shop-cache:1',
        command: ['cache-server', '--port', '6379'],
        networks: { default: null },
        mem_limit: 268435456,
        ulimits: { nofile: { soft: 1024, hard: 2048 }, nproc: { single: 512 } },
      },
    },
    { volumes: { dbdata: { name: 'shop_dbdata' } } },
  );

const STACK_YAML = `name: shop
services:
  cache:
    command:
      - cache-server
      - --port
      - "6379"
    image: shop-cache:1
    mem_limit: "268435456"
    networks:
      default: null
    ulimits:
      nofile:
        soft: 1024
        hard: 2048
      nproc: 512
  db:
    environment:
      DB_PASSWORD: s3cret
      EMPTY: null
    healthcheck:
      test:
        - CMD-SHELL
        - pg_isready -U app
      timeout: 5s
      interval: 1s
      retries: 30
      start_period: 0s
    image: shop-db:1
    networks:
      default: null
    stop_grace_period: 1m30s
    volumes:
      - type: volume
        source: dbdata
        target: /var/lib/db
        volume: {}
  web:
    build:
      context: /srv/shop/web
      dockerfile: Dockerfile
    depends_on:
      cache:
        condition: service_started
        restart: true
        required: true
      db:
        condition: service_healthy
        required: true
    environment:
      CACHE_HOST: cache
      DB_HOST: db
      LOG_LEVEL: info
    image: shop-web
    networks:
      default: null
    ports:
      - mode: ingress
        host_ip: 127.0.0.1
        target: 8080
        published: "8080"
        protocol: tcp
    restart: unless-stopped
    volumes:
      - type: bind
        source: /srv/shop/web.conf
        target: /etc/web.conf
        read_only: true
        bind: {}
networks:
  default:
    name: shop_default
volumes:
  dbdata:
    name: shop_dbdata
`;

describe('compose config: YAML', () => {
  it('prints the example stack as Compose does: name first, services by name, keys in Compose order', () => {
    assert.equal(serializeProject(stack(), { format: 'yaml' }), STACK_YAML);
  });

  it('prints YAML that loads back to the same model', () => {
    assert.deepEqual(parse(STACK_YAML), JSON.parse(JSON.stringify(projectModel(stack(), 'yaml'))));
  });

  it('doubles every $ of an interpolated project, and leaves them with --no-interpolate', () => {
    const p = project({ web: { image: 'x', command: ['sh', '-c', 'echo $HOME'], networks: { default: null } } });
    assert.match(serializeProject(p, { format: 'yaml' }), / {6}- echo \$\$HOME\n/);
    assert.match(serializeProject(p, { format: 'yaml', interpolated: false }), / {6}- echo \$HOME\n/);
  });

  it('never prints internal fields, secret contents, or a config content that came from the environment', () => {
    const p = project(
      { web: { image: 'x', secrets: [{ source: 'token', target: '/run/secrets/token', mode: 0o440 }], configs: [{ source: 'conf' }] } },
      {
        secrets: { token: { name: 'shop_token', environment: 'TOKEN', content: 'hunter2' } },
        configs: { conf: { name: 'shop_conf', environment: 'CONF', content: 'from-env' }, inline: { name: 'shop_inline', content: 'a=1' } },
      },
    );
    const yaml = serializeProject(p, { format: 'yaml' });
    assert.doesNotMatch(yaml, /hunter2|from-env|workingDir|composeFiles|disabledServices|PATH/);
    assert.match(yaml, /configs:\n {2}conf:\n {4}name: shop_conf\n {4}environment: CONF\n {2}inline:\n {4}name: shop_inline\n {4}content: a=1\n/);
    assert.match(yaml, /mode: "0440"/);
  });

  it('keeps the fields Compose prints even when zero or false, and drops the empty ones', () => {
    const p = project({
      web: {
        image: 'x',
        init: false,
        privileged: false,
        read_only: false,
        scale: 0,
        cpu_shares: 0,
        labels: {},
        dns: [],
        deploy: { replicas: 0, resources: {}, update_config: { parallelism: 0, delay: '0s', order: 'start-first' } },
      },
    });
    const web = (parse(serializeProject(p, { format: 'yaml' })) as { services: { web: Record<string, unknown> } }).services.web;
    assert.deepEqual(web, { deploy: { replicas: 0, update_config: { parallelism: 0, order: 'start-first' } }, image: 'x', init: false, scale: 0 });
  });

  it('prints extra_hosts as sorted host=ip lines, cpus as numbers, sizes as byte strings, and x- keys last', () => {
    const p = project({
      web: {
        image: 'x',
        extra_hosts: { 'b.example': ['10.0.0.2'], 'a.example': ['10.0.0.1', '::1'] },
        deploy: { resources: { limits: { cpus: '0.5', memory: 1073741824, pids: 100 } } },
        shm_size: 67108864,
        extensions: { 'x-team': 'shop' },
      },
    }, { extensions: { 'x-defaults': { restart: 'always' } } });
    const yaml = serializeProject(p, { format: 'yaml' });
    assert.match(yaml, /extra_hosts:\n {6}- a\.example=10\.0\.0\.1\n {6}- a\.example=::1\n {6}- b\.example=10\.0\.0\.2\n/);
    assert.match(yaml, /limits:\n {10}cpus: 0\.5\n {10}memory: "1073741824"\n {10}pids: 100\n/);
    assert.match(yaml, /shm_size: "67108864"\n {4}x-team: shop\n/);
    assert.ok(yaml.endsWith('x-defaults:\n  restart: always\n'), yaml);
  });

  it('quotes strings a YAML 1.1 reader would take for something else, as Go does', () => {
    const p = project({ web: { image: 'x', environment: { A: 'yes', B: 'on', C: '0123', D: '1.5', E: 'true', F: 'plain', y: 'n' } } });
    const yaml = serializeProject(p, { format: 'yaml' });
    assert.match(yaml, /A: "yes"\n {6}B: "on"\n {6}C: "0123"\n {6}D: "1.5"\n {6}E: "true"\n {6}F: plain\n {6}"y": "n"\n/);
  });
});

describe('compose config: models', () => {
  it('prints the models section after configs in YAML; Compose\'s JSON has none', () => {
    const p = project({ web: { image: 'x', models: { llm: { endpoint_var: 'LLM_URL' } } } }, { models: { llm: { model: 'ai/smollm2', context_size: 4096 } } });
    assert.ok(serializeProject(p, { format: 'yaml' }).endsWith('models:\n  llm:\n    model: ai/smollm2\n    context_size: 4096\n'));
    assert.match(serializeProject(p, { format: 'yaml' }), /models:\n {6}llm:\n {8}endpoint_var: LLM_URL\n/);
    assert.equal((JSON.parse(serializeProject(p, { format: 'json' })) as Record<string, unknown>).models, undefined);
  });
});

describe('compose config: JSON', () => {
  const json = (): Record<string, unknown> => JSON.parse(serializeProject(stack(), { format: 'json' })) as Record<string, unknown>;

  it('sorts the top-level keys and indents by two spaces, without a final newline', () => {
    const text = serializeProject(stack(), { format: 'json' });
    assert.deepEqual(Object.keys(json()), ['name', 'networks', 'services', 'volumes']);
    assert.ok(text.startsWith('{\n  "name": "shop",\n  "networks": {\n'));
    assert.ok(text.endsWith('}'));
  });

  it('prints command and entrypoint always (null when unset), a network ipam and a deploy placement always', () => {
    const services = json().services as Record<string, Record<string, unknown>>;
    assert.equal(services.db!.command, null);
    assert.equal(services.db!.entrypoint, null);
    assert.deepEqual(services.cache!.command, ['cache-server', '--port', '6379']);
    assert.deepEqual((json().networks as Record<string, unknown>).default, { name: 'shop_default', ipam: {} });
    const deployed = JSON.parse(serializeProject(project({ web: { image: 'x', deploy: { replicas: 2 } } }), { format: 'json' })) as {
      services: { web: { deploy: unknown } };
    };
    assert.deepEqual(deployed.services.web.deploy, { replicas: 2, resources: {}, placement: {} });
  });

  it("prints a watch rule's exec (a value struct) and its command always in JSON, neither in YAML when unset", () => {
    const p = project({ web: { image: 'x', develop: { watch: [{ path: '/src', action: 'rebuild' }] } } });
    const json = JSON.parse(serializeProject(p, { format: 'json' })) as { services: { web: { develop: unknown } } };
    assert.deepEqual(json.services.web.develop, { watch: [{ path: '/src', action: 'rebuild', exec: { command: null } }] });
    const yaml = parse(serializeProject(p, { format: 'yaml' })) as { services: { web: { develop: unknown } } };
    assert.deepEqual(yaml.services.web.develop, { watch: [{ path: '/src', action: 'rebuild' }] });
  });

  it('prints create_host_path and env_file required when true (Go JSON leaves out false), no x- keys in services', () => {
    const p = project({
      web: {
        image: 'x',
        env_file: [{ path: '/srv/shop/.env', required: true }, { path: '/srv/shop/opt.env', required: false }],
        volumes: [{ type: 'bind', source: '/a', target: '/b', bind: { create_host_path: true } }],
        extensions: { 'x-team': 'shop' },
      },
    });
    const web = (JSON.parse(serializeProject(p, { format: 'json' })) as { services: { web: Record<string, unknown> } }).services.web;
    assert.deepEqual(web.env_file, [{ path: '/srv/shop/.env', required: true }, { path: '/srv/shop/opt.env' }]);
    assert.deepEqual((web.volumes as unknown[])[0], { type: 'bind', source: '/a', target: '/b', bind: { create_host_path: true } });
    assert.equal(web['x-team'], undefined);
    const yaml = parse(serializeProject(p, { format: 'yaml' })) as { services: { web: { env_file: unknown } } };
    assert.deepEqual(yaml.services.web.env_file, [{ path: '/srv/shop/.env' }, { path: '/srv/shop/opt.env', required: false }]);
  });
});

describe('compose config: durations', () => {
  it("are printed in Go's time.Duration form", () => {
    const cases: [string, string][] = [
      ['90s', '1m30s'], ['1m', '1m0s'], ['1h', '1h0m0s'], ['1.5s', '1.5s'], ['500ms', '500ms'], ['0s', '0s'],
      ['1500ms', '1.5s'], ['2h45m', '2h45m0s'], ['10us', '10µs'], ['100ns', '100ns'], ['1.25ms', '1.25ms'], ['${T}', '${T}'],
    ];
    for (const [given, printed] of cases) assert.equal(goDuration(given), printed, given);
  });
});

describe('compose config: variables', () => {
  it('finds $NAME and ${NAME...} with their modifiers, nested ones, and not $$', () => {
    const vars = extractVariables({ a: ['${A:-x}', '$B and ${C?err}'], b: { c: '${D:+alt ${E-${F}}}', d: '$$G ${H}' }, n: 1 });
    assert.deepEqual([...vars.values()].sort((x, y) => x.name.localeCompare(y.name)), [
      { name: 'A', defaultValue: 'x', presenceValue: '', required: false },
      { name: 'B', defaultValue: '', presenceValue: '', required: false },
      { name: 'C', defaultValue: '', presenceValue: '', required: true },
      { name: 'D', defaultValue: '', presenceValue: 'alt ${E-${F}}', required: false },
      { name: 'E', defaultValue: '${F}', presenceValue: '', required: false },
      { name: 'F', defaultValue: '', presenceValue: '', required: false },
      { name: 'H', defaultValue: '', presenceValue: '', required: false },
    ]);
  });
});

describe('compose config: service selection', () => {
  const p = (): Project =>
    project({
      web: { image: 'w', depends_on: { api: { condition: 'service_started', required: true } } },
      api: { image: 'a', depends_on: { db: { condition: 'service_healthy', required: true } } },
      db: { image: 'd' },
      tool: { image: 't' },
    });

  it('keeps the named services and what they depend on', () => {
    assert.deepEqual(Object.keys(selectServices(p(), ['api']).services).sort(), ['api', 'db']);
    assert.deepEqual(Object.keys(selectServices(p(), []).services).sort(), ['api', 'db', 'tool', 'web']);
    assert.throws(() => selectServices(p(), ['nope']), /^ComposeError: no such service: nope$/);
  });

  it('lists services after their dependencies (--services)', () => {
    assert.deepEqual(inDependencyOrder(p()), ['db', 'api', 'tool', 'web']);
  });
});
