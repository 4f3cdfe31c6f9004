// The snapshotter contract (src/engine/snapshots/types.ts): what any implementation must do, on real
// mounts. snapshotterSuite(name, impl) registers node:test tests; snapshotter.test.ts runs it against the
// overlay snapshotter. Layers are made through the interface itself (prepare, write, commit), so the
// suite needs nothing but the implementation's constructor. Everything lives in a private tmp dir, and
// every mount is undone at the end.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mountAll, unmount } from '../../src/engine/snapshots/mount.js';
import type { Mount, Snapshotter } from '../../src/engine/snapshots/snapshotter.js';

/** What prepare's `init` adds where the parent lacks it (runc's mount points, the last ones it makes). */
const INIT_PATHS = ['proc', 'sys', 'dev/pts', 'dev/shm', 'dev/console', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'etc/mtab'];

export interface SnapshotterImpl {
  /** A snapshotter over `root` (not yet initialised): called again with the same root for a restart. */
  make(root: string): Snapshotter | Promise<Snapshotter>;
  /** A module exporting that `make`, imported by a child process the suite kills half-way through prepares. */
  makeModule: string;
  /** Leave in `root` what a prepare of `key` cut short before it recorded the snapshot would leave. */
  halfPrepare(root: string, key: string): Promise<void>;
}

export function snapshotterSuite(name: string, impl: SnapshotterImpl): void {
  describe(`snapshotter contract: ${name}`, () => {
    let tmp: string;
    let root: string;
    let snaps: Snapshotter;
    const targets: string[] = [];
    /** Committed layers: base (/etc/keep, /etc/gone, /data/a), top over it (/etc/gone deleted, /etc/new added). */
    let base: string;
    let top: string;

    /** Mount `mounts` at a fresh target (unmounted after the suite). */
    const mountAt = async (mounts: Mount[], label: string): Promise<string> => {
      const target = path.join(tmp, 'mnt', `${label}-${targets.length}`);
      targets.push(target);
      await mountAll(mounts, target);
      return target;
    };
    const read = (dir: string, p: string) => fs.readFile(path.join(dir, p), 'utf8');
    const missing = async (p: string) => assert.equal(await fs.lstat(p).catch((e: NodeJS.ErrnoException) => e.code), 'ENOENT');

    /** An active snapshot over `parent`, changed by `fill` through its mounts, then committed. */
    const layer = async (key: string, parent: string | undefined, fill: (dir: string) => Promise<void>): Promise<string> => {
      const target = await mountAt(await snaps.prepare(key, parent), key);
      await fill(target);
      await unmount(target);
      return (await snaps.commit(key)).chainId;
    };

    before(async () => {
      tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-contract-snap-'));
      root = path.join(tmp, 'root');
      snaps = await impl.make(root);
      await snaps.init();
      base = await layer('base', undefined, async (d) => {
        await fs.mkdir(path.join(d, 'etc'));
        await fs.writeFile(path.join(d, 'etc/keep'), 'keep\n');
        await fs.writeFile(path.join(d, 'etc/gone'), 'gone\n');
        await fs.mkdir(path.join(d, 'data'));
        await fs.writeFile(path.join(d, 'data/a'), 'a\n');
      });
      top = await layer('top', base, async (d) => {
        await fs.rm(path.join(d, 'etc/gone'));
        await fs.writeFile(path.join(d, 'etc/new'), 'new\n');
      });
    });
    after(async () => {
      for (const t of targets.reverse()) await unmount(t).catch(() => undefined);
      await fs.rm(tmp, { recursive: true, force: true });
    });

    it('prepare: the returned mounts give a writable tree with the parent layers\' files', async () => {
      const m = await mountAt(await snaps.prepare('rw', top), 'rw');
      assert.equal(await read(m, 'etc/keep'), 'keep\n');
      assert.equal(await read(m, 'data/a'), 'a\n');
      await fs.writeFile(path.join(m, 'etc/keep'), 'changed\n');
      await fs.writeFile(path.join(m, 'added'), 'x');
      assert.equal(await read(m, 'etc/keep'), 'changed\n');
      assert.deepEqual(await snaps.mounts('rw'), await snaps.mounts('rw'));
    });

    it('commit: the committed snapshot is a parent with the committed files, and not active any more', async () => {
      const infos = await snaps.walk();
      assert.deepEqual(infos.find((i) => i.key === top), { key: top, parent: base, kind: 'committed' });
      assert.deepEqual(infos.find((i) => i.key === base), { key: base, kind: 'committed' });
      assert.ok(!infos.some((i) => i.key === 'base' || i.key === 'top'));
      const m = await mountAt(await snaps.prepare('over-base', base), 'over-base');
      assert.equal(await read(m, 'etc/gone'), 'gone\n');
      await assert.rejects(snaps.mounts('top'));
    });

    it('whiteouts: a file deleted in an upper layer is gone', async () => {
      const m = await mountAt(await snaps.prepare('wh', top), 'wh');
      await missing(path.join(m, 'etc/gone'));
      assert.deepEqual((await fs.readdir(path.join(m, 'etc'))).sort(), ['keep', 'new']);
      // Deleted again in a snapshot over it, committed: gone in what lies over that too.
      await fs.rm(path.join(m, 'data/a'));
      await unmount(m);
      const gone = (await snaps.commit('wh')).chainId;
      const m2 = await mountAt(await snaps.prepare('wh2', gone), 'wh2');
      await missing(path.join(m2, 'data/a'));
      assert.ok((await fs.stat(path.join(m2, 'data'))).isDirectory());
    });

    it('view: read-only (writes fail with EROFS), over one layer and over several', async () => {
      for (const [key, parent] of [['view1', base], ['view2', top]] as const) {
        const m = await mountAt(await snaps.view(key, parent), key);
        assert.equal(await read(m, 'etc/keep'), 'keep\n');
        await assert.rejects(fs.writeFile(path.join(m, 'etc/keep'), 'no'), { code: 'EROFS' });
        await assert.rejects(fs.writeFile(path.join(m, 'new-file'), 'no'), { code: 'EROFS' });
        assert.equal((await snaps.walk()).find((i) => i.key === key)?.kind, 'view');
      }
    });

    it('two snapshots of one parent do not see each other\'s writes', async () => {
      const a = await mountAt(await snaps.prepare('iso-a', top), 'iso-a');
      const b = await mountAt(await snaps.prepare('iso-b', top), 'iso-b');
      await fs.writeFile(path.join(a, 'etc/keep'), 'from a\n');
      await fs.rm(path.join(b, 'etc/new'));
      assert.equal(await read(b, 'etc/keep'), 'keep\n');
      assert.equal(await read(a, 'etc/new'), 'new\n');
    });

    it('prepare with init: the runtime\'s mount points are there, outside the snapshot\'s changes', async () => {
      const m = await mountAt(await snaps.prepare('with-init', top, { init: true }), 'with-init');
      for (const p of INIT_PATHS) await fs.lstat(path.join(m, p));
      assert.equal(await snaps.usage('with-init'), 0);
    });

    it('usage counts the bytes written', async () => {
      const m = await mountAt(await snaps.prepare('usage', top), 'usage');
      assert.equal(await snaps.usage('usage'), 0);
      await fs.writeFile(path.join(m, 'blob'), Buffer.alloc(10_000, 1));
      await fs.writeFile(path.join(m, 'etc/keep'), '12345');
      assert.equal(await snaps.usage('usage'), 10_005);
    });

    it('remove: a committed snapshot with children is refused; a removed one is not walked nor mountable', async () => {
      await assert.rejects(snaps.remove(base));
      await snaps.prepare('doomed', top);
      assert.ok((await snaps.walk()).some((i) => i.key === 'doomed' && i.kind === 'active' && i.parent === top));
      await snaps.remove('doomed');
      assert.ok(!(await snaps.walk()).some((i) => i.key === 'doomed'));
      await assert.rejects(snaps.mounts('doomed'));
      await snaps.remove('doomed'); // idempotent
      await assert.rejects(snaps.prepare('rw', top), 'a key in use is refused');
    });

    it('mounts stay valid after a restart (a new snapshotter over the same root)', async () => {
      const before = await snaps.mounts('rw');
      const again = await impl.make(root);
      await again.init();
      assert.deepEqual(await again.mounts('rw'), before);
      const m = await mountAt(await again.mounts('rw'), 'rw-again');
      assert.equal(await read(m, 'etc/keep'), 'changed\n');
      assert.equal(await read(m, 'added'), 'x');
      assert.deepEqual((await again.walk()).map((i) => i.key).sort(), (await snaps.walk()).map((i) => i.key).sort());
    });

    it('crash: a prepare cut short is cleaned or ignored at init, never returned as a snapshot', async () => {
      await impl.halfPrepare(root, 'half');
      const killed: string[] = [];
      for (const [i, at] of [0.1, 0.3, 0.5, 0.7, 0.9].entries()) killed.push(...(await killedMidPrepare(impl.makeModule, root, top, `k${i}-`, at)));
      const again = await impl.make(root);
      await again.init();
      const walked = new Map((await again.walk()).map((i) => [i.key, i]));
      assert.ok(!walked.has('half'));
      await assert.rejects(again.mounts('half'));
      let valid = 0;
      for (const key of killed) {
        const info = walked.get(key);
        if (!info) {
          await assert.rejects(again.mounts(key), `${key} is not a snapshot but has mounts`);
          continue;
        }
        valid++;
        assert.deepEqual(info, { key, parent: top, kind: 'active' });
        const m = await mountAt(await again.mounts(key), key);
        assert.equal(await read(m, 'etc/new'), 'new\n');
        for (const p of INIT_PATHS) await fs.lstat(path.join(m, p)); // its init layer is whole
        await fs.writeFile(path.join(m, 'w'), 'w');
        await unmount(m);
        await again.remove(key);
      }
      assert.ok(valid < killed.length, 'a child was killed before its last prepare finished');
      // What the crash left does not stand in the way of a new snapshot under the same key.
      for (const key of ['half', ...killed]) {
        await again.prepare(key, top);
        await again.remove(key);
      }
    });
  });
}

/**
 * A child process prepares snapshots <prefix>0, <prefix>1, ... over `parent` until it is killed (SIGKILL)
 * `at` (0..1) of the way through one, timed from the prepares before it; returns every key it started.
 */
async function killedMidPrepare(makeModule: string, root: string, parent: string, prefix: string, at: number): Promise<string[]> {
  const code = `
    const { make } = await import(process.argv[1]);
    const s = await make(process.argv[2]);
    for (let i = 0; ; i++) {
      process.stdout.write(process.argv[4] + i + '\\n');
      const t = performance.now();
      await s.prepare(process.argv[4] + i, process.argv[3], { init: true });
      process.stdout.write('took ' + (performance.now() - t) + '\\n');
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, makeModule, root, parent, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let armed = false;
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const took = out.split('\n').filter((l) => l.startsWith('took ')).map((l) => Number(l.slice(5)));
      if (took.length < 10 || armed || !out.endsWith(`${prefix}${took.length}\n`)) return;
      // The next prepare has just begun: kill it `at` of the way through (the median prepare's time).
      armed = true;
      const median = took.sort((x, y) => x - y)[took.length >> 1]!;
      setTimeout(() => child.kill('SIGKILL'), median * at);
    });
    child.on('close', () => resolve());
  });
  return out.split('\n').filter((l) => l && !l.startsWith('took '));
}
