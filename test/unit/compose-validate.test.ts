// Compose validation messages, as Docker Compose v2 words them: the schema's (per file: the file, then
// the key path), the value checks after it, and the checks on the loaded project.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { validateSchema } from '../../src/compose/validate/schema.js';
import { checkProject } from '../../src/compose/validate/project.js';
import { ComposeError, type Project, type ServiceConfig } from '../../src/compose/types.js';

const FILE = '/work/app/compose.yaml';

function schemaError(yaml: string): string {
  try {
    validateSchema(parse(yaml) as unknown, FILE);
  } catch (err) {
    assert.ok(err instanceof ComposeError, String(err));
    return err.message;
  }
  return '(accepted)';
}

const svc = (body: string): string => `services:\n  web:\n    image: busybox\n${body.replace(/^/gm, '    ')}\n`;

describe('compose file validation (schema)', () => {
  const cases: [string, string, string][] = [
    ['an unknown service key', 'services:\n  web:\n    imgae: busybox\n', 'services.web additional properties \'imgae\' not allowed'],
    ['several unknown keys', 'services:\n  web:\n    image: x\n    foo: 1\n    bar: 2\n', "services.web additional properties 'foo', 'bar' not allowed"],
    ['an unknown top-level key', 'servces:\n  web:\n    image: x\n', "(root) additional properties 'servces' not allowed"],
    ['a port of the wrong type', svc('ports:\n  - true'), 'services.web.ports.0 must be a number'],
    ['a port mapping with an unknown key', svc('ports:\n  - target: 80\n    publish: 8080'), "services.web.ports.0 additional properties 'publish' not allowed"],
    ['a string where a mapping is', 'services:\n  web: busybox\n', 'services.web must be a mapping'],
    ['a list where a mapping is', 'services:\n  - web\n', 'services must be a mapping'],
    ['environment as a string', svc('environment: "A=1"'), 'services.web.environment must be a mapping'],
    ['an environment value that is a list', svc('environment:\n  FOO: ["1"]'), 'services.web.environment.FOO must be a boolean, null, number or string'],
    ['an image that is a list', svc('image: [a, b]').replace('    image: busybox\n', ''), 'services.web.image must be a string'],
    ['a bad duration', svc('healthcheck:\n  interval: 10x'), `services.web.healthcheck.interval '10x' is not valid duration: time: unknown unit "x" in duration "10x"`],
    ['a duration without unit', svc('stop_grace_period: "10"'), `services.web.stop_grace_period '10' is not valid duration: time: missing unit in duration "10"`],
    ['a condition that is not one', svc('depends_on:\n  db:\n    condition: started'), "services.web.depends_on.db.condition value must be one of 'service_started', 'service_healthy', 'service_completed_successfully'"],
    ['a depends_on without condition', svc('depends_on:\n  db:\n    required: true'), "services.web.depends_on.db missing property 'condition'"],
    ['a negative tmpfs size', svc('volumes:\n  - type: tmpfs\n    target: /t\n    tmpfs:\n      size: -1'), 'services.web.volumes.0.tmpfs.size must be greater than or equal to 0'],
    ['a fractional tmpfs size', svc('volumes:\n  - type: tmpfs\n    target: /t\n    tmpfs:\n      size: 0.5'), 'services.web.volumes.0.tmpfs.size must be a integer'],
    ['a volume of no known type', svc('volumes:\n  - type: disk\n    target: /t'), "services.web.volumes.0.type value must be one of 'bind', 'volume', 'tmpfs', 'cluster', 'npipe', 'image'"],
    ['a duplicate list entry', svc('cap_add: [NET_ADMIN, NET_ADMIN]'), 'services.web.cap_add items at 0 and 1 are equal'],
    ['a cpu_percent over 100', svc('cpu_percent: 150'), 'services.web.cpu_percent must be less than or equal to 100'],
    ['an invalid service name', 'services:\n  "web app":\n    image: x\n', "services additional properties 'web app' not allowed"],
    ['a network that is a string', 'services:\n  web:\n    image: x\nnetworks:\n  default: bridge\n', 'networks.default must be a mapping'],
    ['a volume that is a list', 'services:\n  web:\n    image: x\nvolumes:\n  - data\n', 'volumes must be a mapping'],
    ['a name that is not a string', 'name: [a]\nservices:\n  web:\n    image: x\n', 'name must be a string'],
    ['a build with ssh: null', svc('build:\n  context: .\n  ssh:'), 'services.web.build.ssh must be a mapping'],
    ['a boolean given a list', svc('privileged: [yes]'), 'services.web.privileged must be a boolean or string'],
    ['an ulimit without hard', svc('ulimits:\n  nofile:\n    soft: 1'), 'services.web.ulimits.nofile must be a integer or string'],
  ];
  for (const [what, yaml, expected] of cases) {
    it(`refuses ${what}`, () => assert.equal(schemaError(yaml), `validating ${FILE}: ${expected}`));
  }

  it('refuses a document that is not a mapping', () => {
    assert.equal(schemaError('- a\n- b\n'), 'top-level object must be a mapping');
    assert.equal(schemaError('hello\n'), 'top-level object must be a mapping');
  });

  it('accepts x- extensions everywhere the spec allows them, and the deprecated version', () => {
    const yaml = `version: "3.8"\nx-common: &c\n  image: busybox\nservices:\n  web:\n    <<: *c\n    x-note: hi\n    ports:\n      - target: 80\n        x-ext: 1\n`;
    assert.equal(schemaError(yaml.replace('<<: *c', 'image: busybox')), '(accepted)');
  });

  it('accepts the long and short syntaxes of a realistic file', () => {
    const yaml = `
name: shop
services:
  web:
    build:
      context: ./web
      args: [A=1]
    ports: ["8080:80", "127.0.0.1:9000-9001:9000-9001/udp", 3000, {target: 80, published: "8081", host_ip: "::1"}]
    environment: {LOG: debug, N: 1, ON: true, EMPTY: null}
    depends_on:
      db: {condition: service_healthy, restart: true}
    healthcheck: {test: ["CMD", "true"], interval: 1m30s, start_interval: 500ms}
    deploy: {replicas: 2, resources: {limits: {cpus: "0.5", memory: 512m}}, update_config: {order: start-first, delay: 2s}}
    mem_limit: 1g
    shm_size: 64M
    volumes: ["data:/data", "./conf:/etc/conf:ro", {type: tmpfs, target: /tmp, tmpfs: {size: 10m}}]
    networks: {front: {aliases: [www]}, back: null}
    secrets: [token]
  db:
    image: postgres
    depends_on: [cache]
  cache:
    image: redis
networks: {front: {}, back: {internal: true}}
volumes: {data: {}}
secrets: {token: {file: ./token.txt}}
configs: {conf: {content: "x=1"}}
`;
    assert.equal(schemaError(yaml), '(accepted)');
  });
});

describe('compose file validation (values the schema cannot check)', () => {
  const cases: [string, string, string][] = [
    ['a size with a bad suffix', svc('shm_size: 10x'), "services.web.shm_size: invalid suffix: 'x'"],
    ['a size that is not one', svc('mem_limit: lots'), "services.web.mem_limit: invalid size: 'lots'"],
    ['a tmpfs size that is not one', svc('volumes:\n  - type: tmpfs\n    target: /t\n    tmpfs:\n      size: big'), "services.web.volumes[0].tmpfs.size: invalid size: 'big'"],
    ['a host port out of range', svc('ports: ["70000:80"]'), 'services.web.ports[0]: invalid hostPort: 70000'],
    ['a container port that is not a number', svc('ports: ["8080:http"]'), 'services.web.ports[0]: invalid containerPort: http'],
    ['a backwards range', svc('ports: ["9001-9000:80"]'), 'services.web.ports[0]: invalid hostPort: 9001-9000'],
    ['ranges of different lengths', svc('ports: ["8000-8002:80-81"]'), 'services.web.ports[0]: invalid ranges specified for container and host Ports: 80-81 and 8000-8002'],
    ['an unknown protocol', svc('ports: ["80/icmp"]'), 'services.web.ports[0]: invalid proto: icmp'],
    ['a host_ip that is no address', svc('ports:\n  - target: 80\n    host_ip: localhost'), 'services.web.ports[0].host_ip: invalid ip address: localhost'],
    ['an external volume with a driver', 'services:\n  web:\n    image: x\nvolumes:\n  data:\n    external: true\n    driver: local\n', 'volumes.data: conflicting parameters "external" and "driver" specified'],
    ['a config with two sources', 'services:\n  web:\n    image: x\nconfigs:\n  c:\n    file: ./c\n    content: x\n', 'configs.c: file|environment|content attributes are mutually exclusive'],
    ['a secret with no source', 'services:\n  web:\n    image: x\nsecrets:\n  s:\n    labels: {a: b}\n', 'secrets.s: one of file|environment must be set'],
    ['a device request with count and ids', svc('deploy:\n  resources:\n    reservations:\n      devices:\n        - capabilities: [gpu]\n          count: 1\n          device_ids: ["0"]'), 'services.web.deploy.resources.reservations.devices[0]: "count" and "device_ids" attributes are exclusive'],
    ['a blank watch path', svc('develop:\n  watch:\n    - path: ""\n      action: rebuild'), "services.web.develop.watch[0].path: value can't be blank"],
  ];
  for (const [what, yaml, expected] of cases) {
    it(`refuses ${what}`, () => assert.equal(schemaError(yaml), `validating ${FILE}: ${expected}`));
  }

  it('leaves values with ${VAR} to be checked once interpolated (config --no-interpolate)', () => {
    assert.equal(schemaError(svc('ports: ["${PORT}:80"]\nshm_size: ${SHM}')), '(accepted)');
  });

  it('accepts -1 as an unlimited memswap_limit and IPv6 port specs', () => {
    assert.equal(schemaError(svc('memswap_limit: "-1"\nports: ["[::1]:8080:80", "::1:8081:80"]')), '(accepted)');
  });
});

function project(services: Record<string, ServiceConfig>, extra: Partial<Project> = {}): Project {
  return {
    name: 'app',
    workingDir: '/work/app',
    composeFiles: [FILE],
    environment: {},
    profiles: [],
    services,
    disabledServices: {},
    networks: { default: { name: 'app_default' } },
    volumes: {},
    secrets: {},
    configs: {},
    ...extra,
  };
}

function projectError(p: Project): string {
  try {
    checkProject(p);
  } catch (err) {
    assert.ok(err instanceof ComposeError, String(err));
    return err.message;
  }
  return '(valid)';
}

const started = { condition: 'service_started' as const, required: true };

describe('compose project checks', () => {
  it('accepts a consistent project', () => {
    assert.equal(
      projectError(
        project(
          {
            web: { image: 'nginx', depends_on: { db: started }, networks: { default: null }, volumes: [{ type: 'volume', source: 'data', target: '/d' }] },
            db: { build: { context: '/work/app/db' }, secrets: [{ source: 's' }], configs: [{ source: 'c' }] },
          },
          { volumes: { data: { name: 'app_data' } }, secrets: { s: { name: 'app_s', file: '/s' } }, configs: { c: { name: 'app_c', content: 'x' } } },
        ),
      ),
      '(valid)',
    );
  });

  const cases: [string, Project, string][] = [
    ['a service with neither image nor build', project({ x: {} }), 'service "x" has neither an image nor a build context specified: invalid compose project'],
    ['a dependency on no service', project({ web: { image: 'a', depends_on: { db: started } } }), 'service "web" depends on undefined service "db": invalid compose project'],
    ['a cycle', project({ a: { image: 'a', depends_on: { b: started } }, b: { image: 'b', depends_on: { a: started } } }), 'dependency cycle detected: a -> b -> a'],
    ['a service depending on itself', project({ a: { image: 'a', depends_on: { a: started } } }), 'dependency cycle detected: a -> a'],
    ['an undefined network', project({ web: { image: 'a', networks: { front: null } } }), 'service "web" refers to undefined network front: invalid compose project'],
    ['an undefined volume', project({ web: { image: 'a', volumes: [{ type: 'volume', source: 'data', target: '/d' }] } }), 'service "web" refers to undefined volume data: invalid compose project'],
    ['an undefined secret', project({ web: { image: 'a', secrets: [{ source: 'token' }] } }), 'service "web" refers to undefined secret token: invalid compose project'],
    ['an undefined config', project({ web: { image: 'a', configs: [{ source: 'conf' }] } }), 'service "web" refers to undefined config conf: invalid compose project'],
    ['an undefined model', project({ web: { image: 'a', models: { llm: null } } }), 'service "web" refers to undefined model llm: invalid compose project'],
    ['an undefined build secret', project({ web: { build: { context: '/c', secrets: [{ source: 'npm' }] } } }), 'service "web" refers to undefined build secret npm: invalid compose project'],
    ['two services with one container_name', project({ a: { image: 'a', container_name: 'app' }, b: { image: 'b', container_name: 'app' } }), 'services.b: container name "app" is already in use by service a'],
    ['container_name with replicas', project({ web: { image: 'a', container_name: 'app', deploy: { replicas: 2 } } }), "services.web: can't set container_name and deploy.replicas as container name must be unique: invalid compose project"],
    ['scale and replicas that differ', project({ web: { image: 'a', scale: 2, deploy: { replicas: 3 } } }), "services.web: can't set distinct values on 'scale' and 'deploy.replicas': invalid compose project"],
    ['a negative scale', project({ web: { image: 'a', scale: -1 } }), 'services.web.scale: must be greater than or equal to 0'],
    ['network_mode and networks', project({ web: { image: 'a', network_mode: 'host', networks: { default: null } } }), 'service web declares mutually exclusive `network_mode` and `networks`: invalid compose project'],
    ['network_mode naming no service', project({ web: { image: 'a', network_mode: 'service:vpn' } }), "service \"vpn\" not found for network_mode 'service:vpn'"],
    ['a health check test of no known form', project({ web: { image: 'a', healthcheck: { test: ['curl', 'x'] } } }), 'healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"'],
    ['dockerfile and dockerfile_inline', project({ web: { build: { context: '/c', dockerfile: 'D', dockerfile_inline: 'FROM x' } } }), 'service "web" declares mutualy exclusive dockerfile and dockerfile_inline: invalid compose project'],
    ['two mounts on one target', project({ web: { image: 'a', tmpfs: ['/data'], volumes: [{ type: 'volume', target: '/data' }] } }), 'services.web.volumes[0]: target /data already mounted as services.web.tmpfs[0]'],
    ['a watch without target', project({ web: { image: 'a', develop: { watch: [{ path: '/src', action: 'sync' }] } } }), 'services.web.develop.watch: target is required for non-rebuild actions: invalid compose project'],
    ['mem_limit and a different deploy limit', project({ web: { image: 'a', mem_limit: 1024, deploy: { resources: { limits: { memory: 2048 } } } } }), "services.web: can't set distinct values on 'mem_limit' and 'deploy.resources.limits.memory': invalid compose project"],
    ['a secret with no source', project({ web: { image: 'a' } }, { secrets: { s: { name: 'app_s' } } }), 'secret "s" must declare either `file` or `environment`: invalid compose project'],
  ];
  for (const [what, p, expected] of cases) it(`refuses ${what}`, () => assert.equal(projectError(p), expected));

  it('lets an optional dependency be left out by profiles, not a required one', () => {
    const disabled = { db: { image: 'db', profiles: ['debug'] } };
    const optional = project({ web: { image: 'a', depends_on: { db: { condition: 'service_started', required: false } } } }, { disabledServices: disabled });
    assert.equal(projectError(optional), '(valid)');
    const required = project({ web: { image: 'a', depends_on: { db: started } } }, { disabledServices: disabled });
    assert.equal(projectError(required), 'service "web" depends on undefined service "db": invalid compose project');
  });
});
