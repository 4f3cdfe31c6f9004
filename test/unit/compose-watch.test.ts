// Watch rules without a daemon: which changed paths a rule covers and where they go, what a batch
// asks for, editors' files, the debounce, and the tar a sync sends.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import type { Project } from '../../src/compose/types.js';
import type { ComposeBackend } from '../../src/compose/backend.js';
import { Debouncer, initialFiles, isEphemeral, matchRule, planBatch, tarOf, Watch, watchRules } from '../../src/compose/watch.js';

function project(dir: string, services: Project['services']): Project {
  return { name: 'app', workingDir: dir, composeFiles: [], environment: {}, profiles: [], services, disabledServices: {}, networks: {}, volumes: {}, secrets: {}, configs: {} };
}

async function tarNames(buf: Buffer): Promise<string[]> {
  const names: string[] = [];
  const ex = extract();
  ex.on('entry', (h, stream, next) => {
    names.push(`${h.type}:${h.name}`);
    stream.on('end', next);
    stream.resume();
  });
  const done = new Promise<void>((r) => ex.on('finish', () => r()));
  Readable.from([buf]).pipe(ex);
  await done;
  return names;
}

describe('watch rules', () => {
  const dir = '/proj';
  const services: Project['services'] = {
    web: {
      image: 'busybox',
      develop: {
        watch: [
          { action: 'sync', path: './src', target: '/app/src', ignore: ['*.tmp', 'cache/'] },
          { action: 'sync+restart', path: './conf', target: '/etc/app', include: ['*.conf'] },
        ],
      },
    },
    db: { image: 'busybox' },
  };

  it('maps a changed path under the rule to its container path, and leaves out ignored and excluded ones', async () => {
    const rules = await watchRules(project(dir, services), [], () => undefined);
    assert.equal(rules.length, 2);
    const [sync, restart] = rules;
    assert.deepEqual(matchRule(sync!, '/proj/src/a/b.js'), { hostPath: '/proj/src/a/b.js', containerPath: '/app/src/a/b.js' });
    assert.equal(matchRule(sync!, '/proj/src/x.tmp'), undefined, 'ignore');
    assert.equal(matchRule(sync!, '/proj/src/cache/y'), undefined, 'ignored directory');
    assert.equal(matchRule(sync!, '/proj/src/.git/HEAD'), undefined, '.git');
    assert.equal(matchRule(sync!, '/proj/src/.b.js.swp'), undefined, 'an editor file');
    assert.equal(matchRule(sync!, '/proj/other/b.js'), undefined, 'outside the rule');
    assert.ok(matchRule(restart!, '/proj/conf/app.conf'));
    assert.equal(matchRule(restart!, '/proj/conf/notes.txt'), undefined, 'not included');
  });

  it('plans a batch: syncs per service (each path once), restarts, rebuilds', async () => {
    const rules = await watchRules(project(dir, services), [], () => undefined);
    const plan = planBatch(rules, ['/proj/src/a.js', '/proj/src/b.js', '/proj/conf/app.conf', '/proj/README']);
    assert.deepEqual(
      plan.sync.get('web')?.map((m) => m.containerPath),
      ['/app/src/a.js', '/app/src/b.js', '/etc/app/app.conf'],
    );
    assert.deepEqual([...plan.restart], ['web']);
    assert.equal(plan.rebuild.size, 0);
  });

  it("refuses what Compose refuses, with Compose's words", async () => {
    await assert.rejects(watchRules(project(dir, { db: { image: 'busybox' } }), [], () => undefined), /none of the selected services is configured for watch, consider setting a 'develop' section/);
    await assert.rejects(
      watchRules(project(dir, { web: { image: 'busybox', develop: { watch: [{ action: 'rebuild', path: '.' }] } } }), [], () => undefined),
      /can't watch service "web" with action rebuild without a build context/,
    );
    await assert.rejects(watchRules(project(dir, { web: { image: 'busybox', develop: { watch: [{ action: 'sync', path: '.' }] } } }), [], () => undefined), /action sync needs a target/);
    await assert.rejects(watchRules(project(dir, services), ['nope'], () => undefined), /no such service: nope/);
  });

  it('skips, with a warning, a sync path already bind-mounted into the service', async () => {
    const warned: string[] = [];
    const svc = { image: 'busybox', volumes: [{ type: 'bind' as const, source: '/proj/src', target: '/app/src' }], develop: { watch: [{ action: 'sync' as const, path: './src', target: '/app/src' }, { action: 'restart' as const, path: './conf' }] } };
    const rules = await watchRules(project(dir, { web: svc }), [], (m) => warned.push(m));
    assert.deepEqual(rules.map((r) => r.action), ['restart']);
    assert.match(warned[0]!, /path '\/proj\/src' also declared by a bind mount volume, this path won't be monitored!/);
  });

  it("applies the build context's .dockerignore", async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'watch-unit-'));
    try {
      await fs.writeFile(path.join(tmp, '.dockerignore'), 'node_modules\n');
      const svc = { build: { context: tmp }, develop: { watch: [{ action: 'sync' as const, path: '.', target: '/app' }] } };
      const [rule] = await watchRules(project(tmp, { web: svc }), [], () => undefined);
      assert.equal(matchRule(rule!, path.join(tmp, 'node_modules/x/index.js')), undefined);
      assert.ok(matchRule(rule!, path.join(tmp, 'index.js')));
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
});

describe('watch helpers', () => {
  it("knows editors' temporary files", () => {
    for (const p of ['/a/.x.swp', '/a/x~', '/a/.#x', '/a/#x#', '/a/4913', '/a/x___jb_tmp___', '/a/.idea/ws.xml', '/a/.git/index']) assert.ok(isEphemeral(p), p);
    for (const p of ['/a/x.js', '/a/swp', '/a/.env']) assert.ok(!isEphemeral(p), p);
  });

  it('debounces: one batch once changes stop coming', async () => {
    const batches: string[][] = [];
    const got = new Promise<void>((resolve) => {
      const d = new Debouncer((paths) => {
        batches.push([...paths].sort());
        resolve();
      }, 20);
      d.add('/a');
      d.add('/b');
      d.add('/a');
    });
    await got;
    assert.deepEqual(batches, [['/a', '/b']]);
  });

  it('packs files and directories under their container paths, last mapping winning', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'watch-tar-'));
    try {
      await fs.mkdir(path.join(tmp, 'd'));
      await fs.writeFile(path.join(tmp, 'd/f.txt'), 'x');
      await fs.writeFile(path.join(tmp, 'g.txt'), 'y');
      const names = await tarNames(
        await tarOf([
          { hostPath: path.join(tmp, 'd'), containerPath: '/app/d' },
          { hostPath: path.join(tmp, 'g.txt'), containerPath: '/app/g.txt' },
          { hostPath: path.join(tmp, 'missing'), containerPath: '/app/missing' },
        ]),
      );
      assert.deepEqual(names, ['directory:app/d', 'file:app/d/f.txt', 'file:app/g.txt']);
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
});

/** A container as the fake engine sees it, and what was done to it. */
interface FakeState {
  running: boolean;
  restarting: boolean;
  archives: number;
  execs: string[][];
}

function fakeBackend(st: FakeState): ComposeBackend {
  return {
    containers: () => Promise.resolve([{ Id: 'c1', Names: ['/app-web-1'], Labels: {} }]),
    inspectContainer: () => Promise.resolve({ State: { Running: st.running, Restarting: st.restarting, Status: st.running ? 'running' : 'exited', Dead: false } }),
    putArchive: () => {
      if (st.restarting) return Promise.reject(new Error('container is restarting'));
      st.archives++;
      return Promise.resolve();
    },
    execWait: (_id: string, cmd: string[]) => {
      st.execs.push(cmd);
      return Promise.resolve(0);
    },
  } as unknown as ComposeBackend;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not reached');
}

describe('sync owed to a container', () => {
  it('copies into a stopped container at once; its deletions wait until it runs again', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'watch-owe-'));
    const st: FakeState = { running: false, restarting: false, archives: 0, execs: [] };
    const w = new Watch({ backend: fakeBackend(st), project: project(tmp, {}), rules: [], log: () => undefined, retryMs: 5 });
    try {
      await fs.writeFile(path.join(tmp, 'kept'), 'x');
      await w.sync('web', [
        { hostPath: path.join(tmp, 'kept'), containerPath: '/app/kept' },
        { hostPath: path.join(tmp, 'gone'), containerPath: '/app/gone' },
      ]);
      assert.equal(st.archives, 1);
      assert.deepEqual(st.execs, []);
      st.running = true;
      await until(() => st.execs.length === 1);
      assert.deepEqual(st.execs[0], ['rm', '-rf', '/app/gone']);
    } finally {
      w.stop();
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });

  it('keeps what a restarting container is owed and delivers it once it runs', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'watch-owe-'));
    const st: FakeState = { running: false, restarting: true, archives: 0, execs: [] };
    const w = new Watch({ backend: fakeBackend(st), project: project(tmp, {}), rules: [], log: () => undefined, retryMs: 5 });
    try {
      await fs.writeFile(path.join(tmp, 'f'), 'x');
      await w.sync('web', [{ hostPath: path.join(tmp, 'f'), containerPath: '/app/f' }]);
      assert.equal(st.archives, 0);
      st.restarting = false;
      st.running = true;
      await until(() => st.archives === 1);
    } finally {
      w.stop();
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });

  it('initial_sync lists the files a rule covers', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'watch-init-'));
    try {
      await fs.mkdir(path.join(tmp, 'src/sub'), { recursive: true });
      await fs.writeFile(path.join(tmp, 'src/a.js'), '');
      await fs.writeFile(path.join(tmp, 'src/sub/b.js'), '');
      await fs.writeFile(path.join(tmp, 'src/c.tmp'), '');
      const svc = { image: 'busybox', develop: { watch: [{ action: 'sync' as const, path: './src', target: '/app', ignore: ['*.tmp'], initial_sync: true }] } };
      const [rule] = await watchRules(project(tmp, { web: svc }), [], () => undefined);
      assert.deepEqual((await initialFiles(rule!)).map((m) => m.containerPath), ['/app/a.js', '/app/sub/b.js']);
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
});
