// The compose loader end to end on files in a temporary directory: discovery, .env, project names,
// extends, include, profiles and the normalisation of each short syntax into the Project model.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadProject, withServicesEnabled, type LoadOptions } from '../../src/compose/loader/index.js';
import type { Project } from '../../src/compose/types.js';
import { makeComposeContext, type ComposeOptions } from '../../src/cli/compose/context.js';
import type { Context } from '../../src/cli/command.js';

let root: string;
let n = 0;
/** A fresh directory with the given files (name → content). */
function project(files: Record<string, string>, name = `proj${++n}`): string {
  const dir = path.join(root, name);
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), content);
  }
  return dir;
}
const load = (cwd: string, opts: Partial<LoadOptions> = {}): Promise<Project> =>
  loadProject({ files: [], envFiles: [], profiles: [], env: { HOME: '/home/u' }, cwd, ...opts });

describe('compose loader', () => {
  before(() => (root = mkdtempSync(path.join(os.tmpdir(), 'berth-loader-'))));
  after(() => rmSync(root, { recursive: true, force: true }));

  describe('files and project directory', () => {
    it('finds compose.yaml in a parent directory, with its override file', async () => {
      const dir = project({ 'compose.yaml': 'services: {web: {image: a}}', 'compose.override.yml': 'services: {web: {image: b}}', 'sub/deep/.keep': '' });
      const p = await load(path.join(dir, 'sub/deep'));
      assert.deepEqual(p.composeFiles, [path.join(dir, 'compose.yaml'), path.join(dir, 'compose.override.yml')]);
      assert.equal(p.workingDir, dir);
      assert.equal(p.services.web!.image, 'b');
    });

    it('prefers compose.yaml and warns when several default names exist', async () => {
      const dir = project({ 'compose.yaml': 'services: {a: {image: a}}', 'docker-compose.yml': 'services: {b: {image: b}}' });
      const warnings: string[] = [];
      const p = await load(dir, { warn: (m) => warnings.push(m) });
      assert.deepEqual(Object.keys(p.services), ['a']);
      assert.match(warnings[0]!, /^Found multiple config files with supported names: .*compose\.yaml, .*docker-compose\.yml$/);
    });

    it('says so when there is no file', async () => {
      const dir = project({ '.keep': '' }, 'nofile');
      await assert.rejects(load(path.join(dir)), { message: 'no configuration file provided: not found' });
    });

    it('reads COMPOSE_FILE with COMPOSE_PATH_SEPARATOR, also from .env', async () => {
      const dir = project({ 'a.yml': 'services: {web: {image: a}}', 'b.yml': 'services: {web: {image: b}}', '.env': 'COMPOSE_FILE=a.yml,b.yml\nCOMPOSE_PATH_SEPARATOR=,\n' });
      const p = await load(dir);
      assert.equal(p.services.web!.image, 'b');
      assert.equal(p.composeFiles.length, 2);
    });

    it('relative paths of every -f file are relative to the project directory (the first file\'s)', async () => {
      const dir = project({ 'compose.yaml': 'services: {web: {image: a}}', 'sub/override.yaml': 'services: {web: {volumes: ["./data:/data"], build: ./ctx}}' });
      const p = await load(dir, { files: ['compose.yaml', 'sub/override.yaml'] });
      assert.equal(p.services.web!.volumes![0]!.source, path.join(dir, 'data'));
      assert.equal(p.services.web!.build!.context, path.join(dir, 'ctx'));
      const other = await load(dir, { files: ['compose.yaml', 'sub/override.yaml'], projectDirectory: 'sub' });
      assert.equal(other.services.web!.build!.context, path.join(dir, 'sub/ctx'));
    });

    it('reads "-f -" from standard input, relative paths against the working directory', async () => {
      const dir = project({ '.keep': '' });
      const p = await load(dir, { files: ['-'], readStdin: async () => 'services: {web: {image: a, build: ./ctx}}' });
      assert.deepEqual(p.composeFiles, ['-']);
      assert.equal(p.services.web!.build!.context, path.join(dir, 'ctx'));
    });

    it('a missing -f file is named', async () => {
      const dir = project({ '.keep': '' });
      await assert.rejects(load(dir, { files: ['nope.yaml'] }), { message: `open ${path.join(dir, 'nope.yaml')}: no such file or directory` });
    });

    it('warns about the obsolete version attribute', async () => {
      const dir = project({ 'compose.yaml': 'version: "3.8"\nservices: {web: {image: a}}' });
      const warnings: string[] = [];
      await load(dir, { warn: (m) => warnings.push(m) });
      assert.deepEqual(warnings, [`${path.join(dir, 'compose.yaml')}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`]);
    });

    it('refuses an empty file', async () => {
      const dir = project({ 'compose.yaml': '# nothing\n' });
      await assert.rejects(load(dir), { message: 'empty compose file' });
    });

    it('refuses a top level that is no mapping, and non-string keys, as compose-go words it', async () => {
      for (const text of ['1', '"hello"', '[1, 2]']) {
        await assert.rejects(load(project({ 'compose.yaml': text })), { message: 'top-level object must be a mapping' });
      }
      await assert.rejects(load(project({ 'compose.yaml': 'services:\n  123: {image: a}\n' })), { message: 'non-string key in services: 123' });
      await assert.rejects(load(project({ 'compose.yaml': 'networks:\n  default:\n    ipam:\n      config:\n        - 123: a\n' })), {
        message: 'non-string key in networks.default.ipam.config[0]: 123',
      });
    });

    it('refuses duplicate keys with their lines', async () => {
      const dir = project({ 'compose.yaml': 'services:\n  web:\n    image: a\n    image: b\n' });
      await assert.rejects(load(dir), { message: `failed to parse ${path.join(dir, 'compose.yaml')}: line 4: mapping key "image" already defined at line 3` });
    });
  });

  describe('environment', () => {
    it('.env interpolates, the shell wins over it, env files in order', async () => {
      const dir = project({
        'compose.yaml': 'services: {web: {image: "img:${TAG}", environment: [A=$A, B=$B, "C=${C:-c}"]}}',
        '.env': 'TAG=1.0\nA=from-dotenv\nB=${A}-b\n',
        'other.env': 'TAG=2.0\n',
      });
      let p = await load(dir, { env: { A: 'from-shell' } });
      assert.equal(p.services.web!.image, 'img:1.0');
      assert.deepEqual(p.services.web!.environment, { A: 'from-shell', B: 'from-shell-b', C: 'c' });
      p = await load(dir, { envFiles: [path.join(dir, '.env'), 'other.env'], cwd: dir });
      assert.equal(p.services.web!.image, 'img:2.0');
    });

    it('a missing required variable stops the load with Compose\'s message', async () => {
      const dir = project({ 'compose.yaml': 'services: {web: {image: "img:${TAG:?set TAG in .env}"}}' });
      await assert.rejects(load(dir), { message: 'error while interpolating services.web.image: required variable TAG is missing a value: set TAG in .env' });
    });

    it('--no-interpolate keeps the text', async () => {
      const dir = project({ 'compose.yaml': 'services: {web: {image: "img:${TAG}", ports: ["${P}:80"]}}' });
      const p = await load(dir, { interpolate: false });
      assert.equal(p.services.web!.image, 'img:${TAG}');
      assert.deepEqual(p.services.web!.ports, ['${P}:80']);
    });

    it('env_file is read into environment (environment wins), entries kept; required: false may be missing', async () => {
      const dir = project({
        'compose.yaml': 'services: {web: {image: a, env_file: [a.env, {path: missing.env, required: false}], environment: {B: own}}}',
        'a.env': 'A=1\nB=2\nC=${TAG}\n',
        '.env': 'TAG=t',
      });
      const p = await load(dir);
      assert.deepEqual(p.services.web!.environment, { A: '1', B: 'own', C: 't' });
      assert.deepEqual(p.services.web!.env_file, [
        { path: path.join(dir, 'a.env'), required: true },
        { path: path.join(dir, 'missing.env'), required: false },
      ]);
      const bad = project({ 'compose.yaml': 'services: {web: {image: a, env_file: nope.env}}' });
      await assert.rejects(load(bad), { message: `env file ${path.join(bad, 'nope.env')} not found: stat ${path.join(bad, 'nope.env')}: no such file or directory` });
    });

    it('an environment entry without value is taken from the shell, else null', async () => {
      const dir = project({ 'compose.yaml': 'services: {web: {image: a, environment: [SET, UNSET], build: {context: ., args: [ARG1, ARG2]}}}' });
      const p = await load(dir, { env: { SET: 'yes', ARG1: 'a1' } });
      assert.deepEqual(p.services.web!.environment, { SET: 'yes', UNSET: null });
      assert.deepEqual(p.services.web!.build!.args, { ARG1: 'a1' });
    });
  });

  describe('project name', () => {
    it('-p, COMPOSE_PROJECT_NAME, name:, then the directory, normalised', async () => {
      const dir = project({ 'compose.yaml': 'name: "From_${X}"\nservices: {web: {image: "${COMPOSE_PROJECT_NAME}"}}' }, 'My Dir.v2');
      assert.equal((await load(dir, { projectName: 'flag' })).name, 'flag');
      assert.equal((await load(dir, { env: { COMPOSE_PROJECT_NAME: 'envname' } })).name, 'envname');
      const p = await load(dir, { env: { X: 'File' } });
      assert.equal(p.name, 'from_file');
      assert.equal(p.services.web!.image, 'from_file');
      const plain = project({ 'compose.yaml': 'services: {web: {image: a}}' }, '_My Dir.v2');
      assert.equal((await load(plain)).name, 'mydirv2');
    });

    it('an invalid -p or COMPOSE_PROJECT_NAME is refused', async () => {
      const dir = project({ 'compose.yaml': 'services: {web: {image: a}}' });
      for (const bad of ['-my_project', '_x', 'www.my.project', 'MY_PROJECT']) {
        const message = `invalid project name "${bad}": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`;
        await assert.rejects(load(dir, { projectName: bad }), { message });
        await assert.rejects(load(dir, { env: { COMPOSE_PROJECT_NAME: bad } }), { message });
      }
      assert.equal((await load(dir, { projectName: '42my_project' })).name, '42my_project');
    });
  });

  describe('extends', () => {
    it('same file, other file, nested, with relative paths from the extended file', async () => {
      const dir = project({
        'compose.yaml': `
services:
  base: {image: base, environment: {A: "1"}, labels: [l=1]}
  web:
    extends: base
    environment: {B: "2"}
  other:
    extends: {file: sub/common.yaml, service: svc}
    command: [run]
`,
        'sub/common.yaml': `
services:
  root: {image: root, build: ., volumes: ["./data:/data"], env_file: vars.env}
  svc: {extends: root, command: [ignored]}
`,
        'sub/vars.env': 'V=1',
      });
      const p = await load(dir);
      assert.deepEqual(p.services.web!.environment, { A: '1', B: '2' });
      assert.deepEqual(p.services.web!.labels, { l: '1' });
      const other = p.services.other!;
      assert.equal(other.image, 'root');
      assert.deepEqual(other.command, ['run']);
      assert.equal(other.build!.context, path.join(dir, 'sub'));
      assert.equal(other.volumes![0]!.source, path.join(dir, 'sub/data'));
      assert.deepEqual(other.environment, { V: '1' });
    });

    it('!override in the extending service replaces the base\'s value (TestLoadExtendsDependsOn)', async () => {
      const dir = project({
        'compose.yaml': 'services:\n  a: {image: a, depends_on: [c]}\n  b:\n    extends: a\n    depends_on: !override\n      - a\n  c: {image: c}\n',
      });
      const p = await load(dir);
      assert.deepEqual(p.services.b!.depends_on, { a: { condition: 'service_started', required: true } });
      assert.deepEqual(p.services.a!.depends_on, { c: { condition: 'service_started', required: true } });
    });

    it('a cycle is refused with its chain; a missing base is named', async () => {
      const dir = project({ 'compose.yaml': 'services: {a: {extends: b}, b: {extends: a}}' });
      await assert.rejects(load(dir).catch((e: Error) => Promise.reject(new Error(e.message))), /^Error: Circular reference:\n {2}\w in .*compose\.yaml\n {2}extends \w in .*\n {2}extends \w in /);
      const missing = project({ 'compose.yaml': 'services: {a: {extends: nope, image: x}}' });
      await assert.rejects(load(missing), { message: `cannot extend service "a" in ${path.join(missing, 'compose.yaml')}: service "nope" not found` });
    });
  });

  describe('include', () => {
    it('loads another project with its own directory and .env; the including file overrides', async () => {
      const dir = project({
        'compose.yaml': 'include: [lib/compose.yaml]\nservices: {web: {image: web, depends_on: [db]}, db: {environment: {X: "local"}}}',
        'lib/compose.yaml': 'services: {db: {image: "db:${DBTAG}", build: ., environment: {X: lib, Y: lib}}}\nvolumes: {data: {}}',
        'lib/.env': 'DBTAG=9',
      });
      const p = await load(dir);
      assert.equal(p.services.db!.image, 'db:9');
      assert.equal(p.services.db!.build!.context, path.join(dir, 'lib'));
      assert.deepEqual(p.services.db!.environment, { X: 'local', Y: 'lib' });
      assert.equal(p.volumes.data!.name, `${p.name}_data`);
    });

    it('variables of an include\'s env_file are seen by the included files only', async () => {
      const dir = project({
        'compose.yml': 'include:\n  - path: [./module/compose.yml]\n    env_file: [./custom.env]\nservices:\n  a: {image: alpine, environment: [VAR_NAME]}\n',
        'custom.env': 'VAR_NAME=value',
        'module/compose.yml': 'services:\n  b: {image: alpine, environment: [VAR_NAME]}\n',
      });
      const p = await load(dir);
      assert.deepEqual(p.services.a!.environment, { VAR_NAME: null });
      assert.deepEqual(p.services.b!.environment, { VAR_NAME: 'value' });
    });

    it('an include cycle is refused with its chain', async () => {
      const dir = project({ 'compose.yaml': 'include: [b.yaml]\nservices: {a: {image: a}}', 'b.yaml': 'include: [compose.yaml]\nservices: {b: {image: b}}' });
      await assert.rejects(load(dir), {
        message: `include cycle detected:\n${path.join(dir, 'compose.yaml')}\n include ${path.join(dir, 'b.yaml')}\n include ${path.join(dir, 'compose.yaml')}`,
      });
    });
  });

  describe('profiles', () => {
    const files = { 'compose.yaml': 'services: {web: {image: a}, debug: {image: d, profiles: [dev]}, tools: {image: t, profiles: [ops, dev]}}' };

    it('services with profiles are disabled unless a profile is active', async () => {
      const dir = project(files);
      let p = await load(dir);
      assert.deepEqual(Object.keys(p.services), ['web']);
      assert.deepEqual(Object.keys(p.disabledServices).sort(), ['debug', 'tools']);
      p = await load(dir, { profiles: ['ops'] });
      assert.deepEqual(Object.keys(p.services).sort(), ['tools', 'web']);
      p = await load(dir, { env: { COMPOSE_PROFILES: 'dev, ops' } });
      assert.deepEqual(Object.keys(p.services).sort(), ['debug', 'tools', 'web']);
      p = await load(dir, { profiles: ['*'] });
      assert.equal(Object.keys(p.services).length, 3);
    });

    it('a service named on the command line is enabled with its profiles', async () => {
      const dir = project(files);
      const p = await load(dir, { services: ['debug'] });
      assert.deepEqual(Object.keys(p.services).sort(), ['debug', 'tools', 'web']);
      assert.deepEqual(p.profiles, ['dev']);
      assert.throws(() => withServicesEnabled(p, ['nope']), { message: 'no such service: nope' });
    });
  });

  describe('normalisation', () => {
    it('build, ports, expose, volumes, tmpfs, devices', async () => {
      const dir = project({
        'compose.yaml': `
services:
  web:
    build: ./app
    ports: [80, "8000-8001:80-81", "127.0.0.1::5000", "9090-9091:8080/udp", "[::1]:6000:6000"]
    expose: [3000, "4000/udp"]
    volumes: ["./rel:/a/", "~/h:/h:ro", "/abs/file.conf:/etc/x.conf:ro,Z", "named:/n:nocopy", "/anon", "../up:/up:rslave"]
    devices: ["/dev/fuse", "/dev/a:/dev/b:r"]
volumes: {named: {}}
`,
      });
      const web = (await load(dir)).services.web!;
      assert.deepEqual(web.build, { context: path.join(dir, 'app'), dockerfile: 'Dockerfile' });
      assert.deepEqual(web.ports, [
        { mode: 'ingress', target: 80, protocol: 'tcp' },
        { mode: 'ingress', target: 80, published: '8000', protocol: 'tcp' },
        { mode: 'ingress', target: 81, published: '8001', protocol: 'tcp' },
        { mode: 'ingress', host_ip: '127.0.0.1', target: 5000, protocol: 'tcp' },
        { mode: 'ingress', target: 8080, published: '9090-9091', protocol: 'udp' },
        { mode: 'ingress', host_ip: '::1', target: 6000, published: '6000', protocol: 'tcp' },
      ].map((x) => web.ports!.find((y) => JSON.stringify(Object.entries(y).sort()) === JSON.stringify(Object.entries(x).sort())) ?? x));
      assert.deepEqual(web.expose, ['3000', '4000/udp']);
      assert.deepEqual(web.volumes, [
        { type: 'bind', source: path.join(dir, 'rel'), target: '/a', bind: { create_host_path: true } },
        { type: 'bind', source: '/home/u/h', target: '/h', read_only: true, bind: { create_host_path: true } },
        { type: 'bind', source: '/abs/file.conf', target: '/etc/x.conf', read_only: true, bind: { selinux: 'Z', create_host_path: true } },
        { type: 'volume', source: 'named', target: '/n', volume: { nocopy: true } },
        { type: 'volume', target: '/anon', volume: {} },
        { type: 'bind', source: path.join(root, 'up'), target: '/up', bind: { propagation: 'rslave', create_host_path: true } },
      ]);
      assert.deepEqual(web.devices, [
        { source: '/dev/fuse', target: '/dev/fuse', permissions: 'rwm' },
        { source: '/dev/a', target: '/dev/b', permissions: 'r' },
      ]);
    });

    it('bad port and volume specs are refused', async () => {
      for (const [spec, message] of [
        ['"80:x"', 'invalid containerPort: x'],
        ['"80:80:80:80"', 'invalid IP address: 80:80'],
        ['"a:80"', 'invalid hostPort: a'],
        ['"8000-8002:80-81"', 'invalid ranges specified for container and host Ports: 80-81 and 8000-8002'],
        ['"1.2.3.999:80:80"', 'invalid IP address: 1.2.3.999'],
        ['"80/xyz"', 'invalid proto: xyz'],
      ]) {
        const dir = project({ 'compose.yaml': `services: {web: {image: a, ports: [${spec}]}}` });
        // the schema validation may name the file and key first
        await assert.rejects(load(dir), (err: Error) => err.message.toLowerCase().endsWith(message.toLowerCase()), spec);
      }
      const dir = project({ 'compose.yaml': 'services: {web: {image: a, volumes: ["ab::c"]}}' });
      await assert.rejects(load(dir), (err: Error) => err.message.endsWith('invalid spec: ab::c: empty section between colons'));
    });

    it('commands, environment, depends_on, networks, healthcheck, sizes, ulimits, extra_hosts', async () => {
      const dir = project({
        'compose.yaml': `
services:
  web:
    image: a
    command: sh -c 'echo "a b" && x' "q\\"uote"
    entrypoint: /bin/entry --flag
    environment: [A=1, "B=x=y", C=, D]
    depends_on: [db]
    networks: [front]
    healthcheck: {test: "curl -f localhost", interval: 1m30s, timeout: 500ms, start_period: 2m, start_interval: 1s}
    mem_limit: 1g
    memswap_limit: 1g
    shm_size: 64M
    tmpfs: /run
    ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}
    extra_hosts: ["h1:1.2.3.4", "h2=::1", "h3=[::2]"]
    stop_grace_period: 90s
    dns: 8.8.8.8
    labels: [a=b, c]
    deploy: {resources: {limits: {cpus: "0.5", memory: 1g}}, replicas: 2}
    x-custom: {k: v}
  db:
    image: d
    network_mode: "service:net"
  net:
    image: n
  side:
    image: s
    volumes_from: [db]
    links: ["db:database"]
networks: {front: {}, ext: {external: true}, named: {name: exact}}
secrets: {s: {file: ./s.txt}}
`,
      });
      const p = await load(dir);
      const web = p.services.web!;
      assert.deepEqual(web.command, ['sh', '-c', 'echo "a b" && x', 'q"uote']);
      assert.deepEqual(web.entrypoint, ['/bin/entry', '--flag']);
      assert.deepEqual(web.environment, { A: '1', B: 'x=y', C: '', D: null });
      assert.deepEqual(web.depends_on, { db: { condition: 'service_started', required: true } });
      assert.deepEqual(web.networks, { front: null });
      assert.deepEqual(web.healthcheck, { test: ['CMD-SHELL', 'curl -f localhost'], interval: '1m30s', timeout: '500ms', start_period: '2m0s', start_interval: '1s' });
      assert.equal(web.mem_limit, 1024 ** 3);
      assert.equal(web.memswap_limit, 1024 ** 3);
      assert.equal(web.shm_size, 64 * 1024 * 1024);
      assert.deepEqual(web.tmpfs, ['/run']);
      assert.deepEqual(web.ulimits, { nproc: { single: 65535 }, nofile: { soft: 20000, hard: 40000 } });
      assert.deepEqual(web.extra_hosts, { h1: ['1.2.3.4'], h2: ['::1'], h3: ['::2'] });
      assert.equal(web.stop_grace_period, '1m30s');
      assert.deepEqual(web.dns, ['8.8.8.8']);
      assert.deepEqual(web.labels, { a: 'b', c: '' });
      assert.deepEqual(web.deploy, { resources: { limits: { cpus: '0.5', memory: 1024 ** 3 } }, replicas: 2 });
      assert.deepEqual(web.extensions, { 'x-custom': { k: 'v' } });
      // implied dependencies, and no default network for network_mode
      assert.deepEqual(p.services.db!.depends_on, { net: { condition: 'service_started', restart: true, required: true } });
      assert.equal(p.services.db!.networks, undefined);
      assert.deepEqual(p.services.side!.depends_on, { db: { condition: 'service_started', restart: true, required: true } });
      assert.deepEqual(p.networks, {
        front: { name: `${p.name}_front` },
        ext: { name: 'ext', external: true },
        named: { name: 'exact' },
        default: { name: `${p.name}_default` },
      });
      assert.deepEqual(p.secrets, { s: { name: `${p.name}_s`, file: path.join(dir, 's.txt') } });
    });

    it('a plain 0440 is octal, as go-yaml reads it (secret modes)', async () => {
      const dir = project({ 'compose.yaml': 'services:\n  web:\n    image: a\n    secrets: [{source: s, mode: 0440}, {source: t, mode: "0400"}]\nsecrets: {s: {file: ./s}, t: {file: ./t}}\n' });
      const p = await load(dir);
      assert.deepEqual(p.services.web!.secrets!.map((x) => x.mode), [0o440, 0o400]);
    });

    it('YAML anchors, aliases and merge keys', async () => {
      const dir = project({
        'compose.yaml': `
x-base: &base
  image: base
  environment: &env {A: "1"}
services:
  a: {<<: *base, image: override}
  b:
    <<: [*base]
    environment: *env
`,
      });
      const p = await load(dir);
      assert.equal(p.services.a!.image, 'override');
      assert.deepEqual(p.services.a!.environment, { A: '1' });
      assert.equal(p.services.b!.image, 'base');
      assert.deepEqual(p.extensions, { 'x-base': { image: 'base', environment: { A: '1' } } });
    });
  });

  describe('ComposeContext.projectName', () => {
    const ctxFor = (options: Partial<ComposeOptions>, env: NodeJS.ProcessEnv): ReturnType<typeof makeComposeContext> => {
      const base = { cmdPath: 'berth compose', env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, client: () => { throw new Error('no engine in unit tests'); } } as unknown as Context;
      return makeComposeContext(base, { files: [], profiles: [], envFiles: [], dryRun: false, ansi: 'never', progress: 'plain', ...options }, 'berth compose ps');
    };
    let cwd: string;
    before(() => {
      cwd = process.cwd();
      process.chdir(project({ '.keep': '' }, 'no-compose-file'));
    });
    after(() => process.chdir(cwd));

    it('-p or COMPOSE_PROJECT_NAME names the project without any file', async () => {
      assert.equal(await ctxFor({ projectName: 'given' }, {}).projectName(), 'given');
      assert.equal(await ctxFor({}, { COMPOSE_PROJECT_NAME: 'fromenv' }).projectName(), 'fromenv');
    });

    it('neither: the files decide, and their absence is the error', async () => {
      await assert.rejects(ctxFor({}, {}).projectName(), { message: 'no configuration file provided: not found' });
      await assert.rejects(ctxFor({ projectName: 'Bad.Name' }, {}).projectName(), /invalid project name "Bad.Name"/);
    });
  });

  it('loads a 20-service file quickly', async () => {
    const services = Array.from({ length: 20 }, (_, i) => `  s${i}:\n    image: busybox\n    command: sleep 1000\n    ports: ["${8000 + i}:80"]\n    environment: [A=1, "B=\${B:-2}"]\n    volumes: ["./d${i}:/d"]\n    depends_on: [s${(i + 1) % 20 === 0 ? 0 : i + 1}]`);
    const dir = project({ 'compose.yaml': `services:\n${services.join('\n').replace('depends_on: [s0]', 'labels: [x=y]')}\n` });
    await load(dir); // warm up module code
    const t = process.hrtime.bigint();
    const p = await load(dir);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    assert.equal(Object.keys(p.services).length, 20);
    // Not a timing assertion on the result: a gross bound that catches accidental quadratic work.
    assert.ok(ms < 500, `${ms} ms`);
  });
});
