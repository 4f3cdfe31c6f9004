// Validation before anything is made (issue 11, item 3): `berth compose up -d` on a file that Compose
// refuses exits 1 with Compose's message, naming the file, the service and the key, and the engine holds
// nothing of the project afterwards (no container, network or volume by label). And `config
// --resolve-image-digests` reports an image whose registry cannot be asked, naming it.
// A private berthd; no container is ever started.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TestDaemon, context, type RunResult } from './harness.js';

describe('compose validation against an engine', () => {
  let d: TestDaemon;
  const dirs: string[] = [];
  before(async () => {
    d = await TestDaemon.start();
  });
  after(async () => {
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
    await d.cleanup();
  });

  const leftovers = async (name: string): Promise<string[]> => {
    const label = `label=com.docker.compose.project=${name}`;
    const out: RunResult[] = await Promise.all([
      d.docker(['ps', '-a', '--filter', label, '--format', 'container {{.Names}}']),
      d.docker(['network', 'ls', '--filter', label, '--format', 'network {{.Name}}']),
      d.docker(['volume', 'ls', '--filter', label, '--format', 'volume {{.Name}}']),
    ]);
    return out.flatMap((r) => r.stdout.trim().split('\n').filter(Boolean));
  };

  // Each file is otherwise complete (a network and a volume to create), so a half-done `up` would show.
  const base = (body: string): string =>
    `services:\n  web:\n    image: busybox\n    volumes: ["data:/data"]\n${body}\n  db:\n    image: busybox\nvolumes:\n  data: {}\nnetworks:\n  back: {}\n`;
  const cases: [string, string, (file: string) => string][] = [
    ['an unknown key', base('    imgae: busybox'), (f) => `validating ${f}: services.web additional properties 'imgae' not allowed`],
    ['a wrong type', base('    ports: [true]'), (f) => `validating ${f}: services.web.ports.0 must be a number`],
    ['a bad duration', base('    healthcheck:\n      interval: 10x'), (f) => `validating ${f}: services.web.healthcheck.interval '10x' is not valid duration: time: unknown unit "x" in duration "10x"`],
    ['a bad size', base('    shm_size: 64q'), (f) => `validating ${f}: services.web.shm_size: invalid suffix: 'q'`],
    ['a bad port range', base('    ports: ["8000-8002:80-81"]'), (f) => `validating ${f}: services.web.ports[0]: invalid ranges specified for container and host Ports: 80-81 and 8000-8002`],
    ['an undefined dependency', base('    depends_on: [cache]'), () => 'service "web" depends on undefined service "cache": invalid compose project'],
    ['a dependency cycle', base('    depends_on: [db]').replace('  db:\n    image: busybox\n', '  db:\n    image: busybox\n    depends_on: [web]\n'), () => 'dependency cycle detected: db -> web -> db'],
    ['neither image nor build', base('').replace('  db:\n    image: busybox\n', '  db:\n    restart: always\n'), () => 'service "db" has neither an image nor a build context specified: invalid compose project'],
    ['an undefined network', base('    networks: [front]'), () => 'service "web" refers to undefined network front: invalid compose project'],
    ['an undefined volume', base('').replace('["data:/data"]', '["logs:/logs"]'), () => 'service "web" refers to undefined volume logs: invalid compose project'],
    ['an undefined secret', base('    secrets: [token]'), () => 'service "web" refers to undefined secret token: invalid compose project'],
  ];

  cases.forEach(([what, yaml, message], i) => {
    it(`refuses ${what} and creates nothing`, async () => {
      const name = `val${i}`;
      const dir = await context({ 'compose.yaml': `name: ${name}\n${yaml}` });
      dirs.push(dir);
      const r = await d.compose(dir, ['up', '-d']);
      assert.equal(r.code, 1, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.equal(r.stderr.trim(), message(path.join(dir, 'compose.yaml')));
      assert.deepEqual(await leftovers(name), []);
    });
  });

  it('config --resolve-image-digests names an image whose registry cannot be asked', async () => {
    const dir = await context({ 'compose.yaml': 'name: digests\nservices:\n  web:\n    image: 127.0.0.1:1/nowhere/app:1\n' });
    dirs.push(dir);
    const r = await d.compose(dir, ['config', '--resolve-image-digests']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^failed to resolve digest for 127\.0\.0\.1:1\/nowhere\/app:1: /);
    assert.equal(r.stdout, '');
  });
});
