// The reference loader's own test files: each file of compose-go's loader/testdata and cli/testdata
// (kept outside the project, in ../shared/conformance/compose-go) loaded by berth's loader, with the
// result compose-go's loader/*_test.go and cli/*_test.go expect of it. Where the reference test
// switches normalisation off, the expectation here is the normalised one that Docker Compose (which
// always normalises) gives: build.dockerfile "Dockerfile", the implied depends_on of volumes_from.
// BERTH_CONFORMANCE_DIR points elsewhere (the conformance folder, or its compose-go folder).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject, type LoadOptions } from '../../src/compose/loader/index.js';
import type { Project } from '../../src/compose/types.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function composeGoDir(): string {
  const dir = process.env.BERTH_CONFORMANCE_DIR ?? path.resolve(REPO, '../shared/conformance');
  for (const candidate of [path.join(dir, 'compose-go'), dir, path.join(dir, '..', 'compose-go')]) {
    if (existsSync(path.join(candidate, 'loader', 'testdata'))) return candidate;
  }
  return path.join(dir, 'compose-go');
}

const CG = composeGoDir();
const LT = path.join(CG, 'loader', 'testdata');
const CT = path.join(CG, 'cli', 'testdata');
const HOME = '/home/tester';

let tmp: string;
function load(opts: Partial<LoadOptions> & { files?: string[] }, warnings: string[] = []): Promise<Project> {
  return loadProject({ files: [], envFiles: [], profiles: [], env: { HOME }, cwd: tmp, warn: (m) => warnings.push(m), ...opts });
}
/** An inline compose file (as the reference tests write them) in a fresh temporary directory. */
function inline(yaml: string, name = 'compose.yaml'): string {
  const dir = mkdtempSync(path.join(tmp, 'inline-'));
  writeFileSync(path.join(dir, name), yaml);
  return path.join(dir, name);
}
const lt = (p: string): string => path.join(LT, p);
const ct = (p: string): string => path.join(CT, p);

// Missing test data fails the run rather than skipping it: a fresh machine skips nothing.
describe('compose-go test data', () => {
  it('is there to read', () => {
    assert.ok(existsSync(LT), `no compose-go test data at ${CG} (the shared folder beside the repository holds it; set BERTH_CONFORMANCE_DIR to its conformance folder)`);
  });

  before(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-cg-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  describe('loader/testdata', () => {
    it('compose-test-with-version.yaml: loaded, version warned about (TestComposeFileWithVersion)', async () => {
      const warnings: string[] = [];
      const p = await load({ files: [lt('compose-test-with-version.yaml')], env: { HOME, QUX: 'qux_from_environment' } }, warnings);
      assert.equal(p.name, 'compose-test-with-version');
      assert.deepEqual(warnings, [`${lt('compose-test-with-version.yaml')}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`]);
      assert.deepEqual(p.services.web, {
        build: { context: lt('Dockerfile'), dockerfile: 'Dockerfile' },
        environment: {},
        networks: { front: null, default: null },
        volumes_from: ['other'],
        depends_on: { other: { condition: 'service_started', restart: false, required: true } },
      });
      assert.deepEqual(p.services.other, {
        image: 'busybox:1.31.0-uclibc',
        command: ['top'],
        environment: {},
        volumes: [{ type: 'volume', target: '/data', volume: {} }],
        networks: { default: null },
      });
      assert.deepEqual(p.networks.front, { name: 'compose-test-with-version_front' });
      assert.deepEqual(p.volumes.data, { name: 'compose-test-with-version_data', driver: 'local' });
    });

    it('compose-test-extends.yaml: env_file and paths relative to the extended file (TestLoadWithExtends)', async () => {
      const p = await load({ files: [lt('compose-test-extends.yaml')] });
      assert.deepEqual(p.services, {
        importer: {
          image: 'nginx',
          container_name: 'imported',
          environment: { SOURCE: 'extends' },
          env_file: [{ path: lt('subdir/extra.env'), required: true }],
          networks: { default: null },
          volumes: [{ type: 'bind', source: '/opt/data', target: '/var/lib/mysql', bind: { create_host_path: true } }],
        },
      });
    });

    it('compose-test-extends-with-context-url.yaml: a URL context is kept (TestLoadWithExtendsWithContextUrl)', async () => {
      const p = await load({ files: [lt('compose-test-extends-with-context-url.yaml')] });
      assert.deepEqual(p.services, {
        'importer-with-https-url': {
          build: { context: 'https://github.com/docker/compose.git', dockerfile: 'Dockerfile' },
          environment: {},
          networks: { default: null },
        },
      });
    });

    it('empty.yaml: "empty compose file" (TestEmptyFile)', async () => {
      await assert.rejects(load({ files: [lt('empty.yaml')] }), { message: 'empty compose file' });
    });

    it('compose-include-cycle.yaml: "include cycle detected" (TestLoadWithIncludeCycle)', async () => {
      await assert.rejects(load({ files: [lt('compose-include-cycle.yaml')] }), (err: Error) => err.message.startsWith('include cycle detected'));
    });

    it('compose-depends-on-cycle.yaml and -self: the cycle named (TestLoadDependsOnCycle/Self)', async () => {
      await assert.rejects(load({ files: [lt('compose-depends-on-cycle.yaml')] }), { message: 'dependency cycle detected: service1 -> service2 -> service3 -> service1' });
      await assert.rejects(load({ files: [lt('compose-depends-on-self.yaml')] }), { message: 'dependency cycle detected: service1 -> service1' });
      // same services as the cycle file (no profiles in it): the same cycle
      await assert.rejects(load({ files: [lt('compose-depends-on-profile-no-cycle.yaml')] }), /dependency cycle detected: /);
    });

    it('compose-include.yaml: the included service and the local one', async () => {
      const p = await load({ files: [lt('compose-include.yaml')] });
      assert.deepEqual(p.services.bar!.environment, { FOO: 'BAR' });
      assert.equal(p.services.imported!.container_name, 'imported');
      assert.deepEqual(p.services.imported!.environment, { SOURCE: 'extends' });
    });

    it('extends/base.yaml from another file: hostname, nested extends, ports, ulimits, relative build (TestExtends*)', async () => {
      const file = inline(`
name: test-extends
services:
  test1: {extends: {file: ${lt('extends/base.yaml')}, service: base}, hostname: test1}
  test2: {extends: {file: ${lt('extends/base.yaml')}, service: base}, hostname: test2}
  test3: {extends: {file: ${lt('extends/base.yaml')}, service: another}, hostname: test3}
  port: {image: test, extends: {file: ${lt('extends/base.yaml')}, service: with-port}}
  ulimits: {extends: {file: ${lt('extends/base.yaml')}, service: withUlimits}}
  build: {extends: {file: ${lt('extends/base.yaml')}, service: with-build}}
`);
      const p = await load({ files: [file] });
      assert.deepEqual(['test1', 'test2', 'test3'].map((s) => [p.services[s]!.hostname, p.services[s]!.image]), [
        ['test1', 'base'],
        ['test2', 'base'],
        ['test3', 'base'],
      ]);
      assert.equal(p.services.port!.ports![0]!.target, 8000);
      assert.deepEqual(p.services.ulimits!.ulimits, { nproc: { single: 65535 }, nofile: { soft: 20000, hard: 40000 } });
      assert.equal(p.services.build!.build!.context, lt('extends'));
    });

    it('extends without a service is refused (TestExtendsWihtMissingService)', async () => {
      const file = inline(`name: x\nservices:\n  test:\n    image: test\n    extends:\n      file: ${lt('extends/base.yaml')}\n`);
      await assert.rejects(load({ files: [file] }), { message: 'extends.test.service is required' });
    });

    it('include of extends/nested.yaml keeps the extended build (TestIncludeWithExtends)', async () => {
      const p = await load({ files: [inline(`name: x\ninclude:\n  - ${lt('extends/nested.yaml')}\n`)] });
      assert.equal(p.services['with-build']!.build!.context, lt('extends'));
    });

    it('extends/ports.yaml: a port extended and overridden is one port (TestExtendsPortOverride)', async () => {
      const override = inline(`name: x\nservices:\n  test:\n    extends:\n      file: ${lt('extends/ports.yaml')}\n      service: test\n`);
      const p = await load({ files: [lt('extends/ports.yaml'), override] });
      assert.equal(p.services.test!.ports!.length, 1);
    });

    for (const service of ['with_volumes_from', 'with_depends_on', 'with_ipc', 'with_network_mode']) {
      const yaml = `name: x\nservices:\n  bar:\n    extends:\n      file: ${lt('extends/depends_on.yaml')}\n      service: ${service}\n`;
      it(`extends/depends_on.yaml ${service}: loads with a local zot (TestExtendsWithServiceRef)`, async () => {
        const p = await load({ files: [inline(`${yaml}  zot:\n    image: zot\n`)] });
        assert.ok(p.services.bar!.depends_on?.zot);
      });
      // checkProject names network_mode's missing service before the implied dependency (compose-go the other way round)
      it(`extends/depends_on.yaml ${service}: refused without one (TestExtendsWithServiceRef)`, async () => {
        await assert.rejects(load({ files: [inline(yaml)] }), /service "bar" depends on undefined service "zot"/);
      });
    }

    it('extends/reset.yaml: !reset in the extended file removes the command (TestExtendsReset)', async () => {
      const p = await load({ files: [inline(`name: x\nservices:\n  test:\n    extends:\n      file: ${lt('extends/reset.yaml')}\n      service: base\n`)] });
      assert.equal(p.services.test!.command, undefined);
      assert.equal(p.services.test!.image, 'alpine:latest');
    });

    it('extends/interpolated.yaml: the extended file is interpolated (TestExtendsWithInterpolation)', async () => {
      const p = await load({ files: [inline(`name: x\nservices:\n  test:\n    extends: { file: ${lt('extends/interpolated.yaml')}, service: foo }\n`)] });
      assert.equal(p.services.test!.volumes![0]!.source, '/dev/null');
    });

    it('extends/withdir: nested extends across directories', async () => {
      const p = await load({ files: [lt('extends/withdir/compose.yaml')], projectName: 'withdir' });
      assert.equal(p.services.test!.image, 'hello-world');
    });

    it('include with env_file: interpolated with the included env, then the shell (TestLoadWithInclude)', async () => {
      const yaml = `name: test-include\ninclude:\n  - path: ${lt('subdir/compose-test-extends-imported.yaml')}\n    env_file: ${lt('subdir/extra.env')}\nservices:\n  foo:\n    image: busybox\n    depends_on: [imported]\n`;
      let p = await load({ files: [inline(yaml)] });
      assert.deepEqual(p.services.imported, {
        image: 'nginx',
        container_name: 'extends',
        environment: { SOURCE: 'extends' },
        env_file: [{ path: lt('subdir/extra.env'), required: true }],
        volumes: [{ type: 'bind', source: '/opt/data', target: '/var/lib/mysql', bind: { create_host_path: true } }],
        networks: { default: null },
      });
      assert.deepEqual(p.services.foo!.depends_on, { imported: { condition: 'service_started', required: true } });
      p = await load({ files: [inline(yaml)], env: { HOME, SOURCE: 'override' } });
      assert.equal(p.services.imported!.container_name, 'override');
    });

    it('the same service included twice is no conflict (TestLoadWithMultipleInclude)', async () => {
      const yaml = `name: test-multi-include\ninclude:\n  - path: ${lt('subdir/compose-test-extends-imported.yaml')}\n    env_file: ${lt('subdir/extra.env')}\n  - path: ${lt('compose-include.yaml')}\nservices:\n  foo:\n    image: busybox\n    depends_on: [imported]\n`;
      const p = await load({ files: [inline(yaml)], env: { HOME, SOURCE: 'override' } });
      assert.equal(p.services.imported!.container_name, 'override');
    });

    it('a local service overrides an included one, !override replacing (TestLoadWithMultipleIncludeConflict)', async () => {
      const yaml = `name: test-multi-include\ninclude:\n  - path: ${lt('subdir/compose-test-extends-imported.yaml')}\n    env_file: ${lt('subdir/extra.env')}\n  - path: ${lt('compose-include.yaml')}\n    env_file: ${lt('subdir/extra.env')}\nservices:\n  bar:\n    image: busybox\n    environment: !override\n      - ZOT=QIX\n`;
      const p = await load({ files: [inline(yaml)], env: { HOME, SOURCE: 'override' } });
      assert.deepEqual(p.services.bar, { image: 'busybox', environment: { ZOT: 'QIX' }, networks: { default: null } });
    });

    it('a second -f file overrides an included service (TestLoadWithIncludeOverride)', async () => {
      const main = inline(`name: test-include-override\ninclude:\n  - ${lt('subdir/compose-test-extends-imported.yaml')}\n`);
      const override = path.join(path.dirname(main), 'override.yaml');
      writeFileSync(override, 'services:\n  imported:\n    image: overridden\n');
      const p = await load({ files: [main, override] });
      assert.equal(p.services.imported!.image, 'overridden');
    });

    it('combined/compose.yaml: include of a file that extends (TestLoadIncludeExtendsCombined)', async () => {
      const p = await load({ files: [lt('combined/compose.yaml')], projectName: 'test-load-combined' });
      assert.equal(p.services.service!.build!.context, lt('combined/dir'));
    });

    it('include/compose.yaml: paths relative to the included file (TestIncludeRelative)', async () => {
      const p = await load({ files: [lt('include/compose.yaml')], projectName: 'test-include-relative' });
      assert.equal(p.services.included!.build!.context, lt('include'));
      assert.equal(p.services.included!.volumes![0]!.source, lt('include'));
    });

    it('include/project-directory.yaml: project_directory decides relative paths (TestIncludeWithProjectDirectory)', async () => {
      const p = await load({ files: [lt('include/project-directory.yaml')], projectName: 'test-load-project-directory' });
      const svc = p.services.service!;
      assert.equal(svc.build!.context, lt('subdir'));
      assert.equal(svc.volumes![0]!.source, lt('subdir/compose-test-extends-imported.yaml'));
      assert.equal(svc.env_file![0]!.path, lt('subdir/extra.env'));
      assert.deepEqual(svc.environment, { SOURCE: 'extends' });
    });

    it('remote/compose.yaml: env_file and bind source relative to its directory (TestLoadWithRemoteResources)', async () => {
      const p = await load({ files: [lt('remote/compose.yaml')], projectName: 'remote' });
      assert.deepEqual(p.services.foo, {
        image: 'foo',
        environment: { FOO: 'BAR' },
        env_file: [{ path: lt('remote/env'), required: true }],
        volumes: [{ type: 'bind', source: lt('remote'), target: '/foo', bind: { create_host_path: true } }],
        networks: { default: null },
      });
    });

    it('remote/nested and remote/cycle: "remote:" references are not a resource berth can load', async () => {
      await assert.rejects(load({ files: [lt('remote/nested/compose.yaml')], projectName: 'remote' }), { message: `open ${lt('remote/nested/remote:nested/compose-nested.yaml')}: no such file or directory` });
      await assert.rejects(load({ files: [lt('remote/cycle/compose.yaml')], projectName: 'remote' }), /no such file or directory/);
    });
  });

  describe('cli/testdata', () => {
    it('simple/compose.yaml: project names from -p, COMPOSE_PROJECT_NAME, the directory (TestProjectName)', async () => {
      const file = ct('simple/compose.yaml');
      assert.equal((await load({ files: [file], projectName: 'my_project' })).name, 'my_project');
      assert.equal((await load({ files: [file], projectName: '42my_project_num' })).name, '42my_project_num');
      assert.equal((await load({ files: [file], env: { COMPOSE_PROJECT_NAME: '42my_project_env' } })).name, '42my_project_env');
      assert.equal((await load({ files: [file] })).name, 'simple');
      assert.equal((await load({ files: [file], projectDirectory: '/path/to/proj' })).name, 'proj');
      assert.equal((await load({ files: [file], env: { COMPOSE_PROJECT_NAME: 'my_project_from_env' } })).name, 'my_project_from_env');
      await assert.rejects(load({ files: [file], projectDirectory: '/' }), { message: 'project name must not be empty' });
      for (const bad of ['-my_project', '_my_project', 'www.my.project', 'MY_PROJECT']) {
        await assert.rejects(load({ files: [file], projectName: bad }), new RegExp(`invalid project name "${bad.replace(/\./g, '\\.')}"`));
        await assert.rejects(load({ files: [file], env: { COMPOSE_PROJECT_NAME: bad } }), new RegExp(`invalid project name "${bad.replace(/\./g, '\\.')}"`));
      }
    });

    it('UNNORMALIZED PATH/compose.yaml: the directory name normalised', async () => {
      assert.equal((await load({ files: [ct('UNNORMALIZED PATH/compose.yaml')] })).name, 'unnormalizedpath');
    });

    it('env-file/.env: COMPOSE_FILE and COMPOSE_PROJECT_NAME from .env (TestProjectName "by .env")', async () => {
      const p = await load({ cwd: ct('env-file') });
      assert.equal(p.name, 'my_project_from_dot_env');
      assert.deepEqual(p.composeFiles, [ct('env-file/compose-with-env-file.yaml')]);
    });

    it('simple/compose-name.yaml: an interpolated name (TestProjectName)', async () => {
      assert.equal((await load({ files: [ct('simple/compose-name.yaml')], env: { TEST: 'expected' } })).name, 'test-expected-test');
    });

    it('simple/compose-with-overrides.yaml: the second file wins (TestProjectFromSetOfFiles)', async () => {
      const p = await load({ files: [ct('simple/compose.yaml'), ct('simple/compose-with-overrides.yaml')], projectName: 'my_project' });
      assert.equal(p.services.simple!.image, 'haproxy');
      assert.deepEqual(p.composeFiles, [ct('simple/compose.yaml'), ct('simple/compose-with-overrides.yaml')]);
    });

    it('simple/: the default file found in the project directory (TestProjectComposefilesFromSetOfFiles)', async () => {
      const p = await load({ projectDirectory: ct('simple'), projectName: 'my_project' });
      assert.deepEqual(p.composeFiles, [ct('simple/compose.yaml')]);
    });

    it('a file from standard input (TestProjectComposefilesFromStdin)', async () => {
      const p = await load({ files: ['-'], projectName: 'my_project', readStdin: async () => 'services:\n  simple:\n    image: nginx\n' });
      assert.equal(p.services.simple!.image, 'nginx');
    });

    it('simple/compose-with-variables.yaml: .env of the project directory (TestProjectWithDotEnv)', async () => {
      const p = await load({ cwd: ct('simple'), files: ['compose-with-variables.yaml'], projectName: 'my_project' });
      assert.equal(p.services.simple!.ports![0]!.published, '8000');
    });

    it('env-file/compose-with-env-file.yaml: env_file into environment (TestProjectWithDiscardEnvFile)', async () => {
      const p = await load({ files: [ct('env-file/compose-with-env-file.yaml')] });
      assert.equal(p.services.simple!.environment!.DEFAULT_PORT, '8080');
      assert.equal(p.services.simple!.ports![0]!.published, '8000');
      // Docker Compose reads the project directory's .env, which names the project
      assert.equal(p.name, 'my_project_from_dot_env');
      const noDotenv = await load({ files: [ct('env-file/compose-with-env-file.yaml')], env: { HOME, COMPOSE_DISABLE_ENV_FILE: '1' } });
      assert.equal(noDotenv.name, 'env-file'); // TestProjectNameFromWorkingDir
    });

    it('env-file/compose-with-env-files.yaml with two --env-file (TestProjectWithMultipleEnvFile)', async () => {
      const p = await load({ files: [ct('env-file/compose-with-env-files.yaml')], envFiles: [ct('env-file/.env'), ct('env-file/override.env')] });
      assert.equal(p.services.simple!.environment!.DEFAULT_PORT, '9090');
      assert.equal(p.services.simple!.ports![0]!.published, '9000');
    });

    it('simple/compose-with-paths.yaml: relative bind sources made absolute, Windows ones kept', async () => {
      const p = await load({ files: [ct('simple/compose-with-paths.yaml')] });
      assert.deepEqual(
        p.services.test!.volumes!.map((v) => v.source),
        ['C:\\docker\\project', ct('simple/relative'), ct('simple/relative2')],
      );
    });

    it('.env variables see the shell first (TestEnvVariablePrecedence)', async () => {
      const dir = mkdtempSync(path.join(tmp, 'prec-'));
      writeFileSync(path.join(dir, '.env'), 'FOO=foo\nBAR=${FOO}');
      writeFileSync(path.join(dir, 'compose.yaml'), 'services: {s: {image: "$FOO-$BAR"}}');
      assert.equal((await load({ cwd: dir })).services.s!.image, 'foo-foo');
      assert.equal((await load({ cwd: dir, env: { HOME, FOO: 'zot' } })).services.s!.image, 'zot-zot');
    });
  });
});
