// The overlay snapshotter for real: a whiteout layer and an opaque directory over a base layer,
// two container snapshots over one image that do not see each other's writes, idempotent teardown.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { OverlaySnapshotter } from '../../src/engine/snapshots/overlay.js';
import { isMounted, mountAll, unmount, upperDirOf } from '../../src/engine/snapshots/mount.js';
import { tarOf } from './harness.js';

describe('overlay snapshotter', () => {
  let tmp: string;
  let snaps: OverlaySnapshotter;
  let top: string;
  const mounts: string[] = [];

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-snap-'));
    snaps = new OverlaySnapshotter(path.join(tmp, 'root'));
    await snaps.init();
    const base = await tarOf([['etc/', null], ['etc/keep', 'keep\n'], ['etc/gone', 'gone\n'], ['var/', null], ['var/cache/', null], ['var/cache/old1', '1'], ['var/cache/old2', '2']]);
    const upper = await tarOf([['etc/', null], ['etc/.wh.gone', ''], ['var/cache/', null], ['var/cache/.wh..wh..opq', ''], ['var/cache/new', 'new\n']]);
    const l0 = await snaps.layers.extract(Readable.from([base]), undefined);
    const l1 = await snaps.layers.extract(Readable.from([upper]), l0.chainId);
    top = l1.chainId;
  });
  after(async () => {
    for (const m of mounts) await unmount(m).catch(() => undefined);
    await fs.rm(tmp, { recursive: true, force: true });
  });

  const mountAt = async (key: string, parent: string | undefined) => {
    const target = path.join(tmp, `mnt-${key}`);
    mounts.push(target);
    await mountAll(await snaps.prepare(key, parent), target);
    return target;
  };

  it('stores whiteouts in overlay form and leaves no .wh. files', async () => {
    const diff = path.join(snaps.layers.dir, top.slice(7), 'diff');
    const st = await fs.lstat(path.join(diff, 'etc/gone'));
    assert.ok(st.isCharacterDevice() && st.rdev === 0);
    assert.deepEqual((await fs.readdir(path.join(diff, 'var/cache'))).sort(), ['new']);
    assert.deepEqual(await fs.readdir(path.join(diff, 'etc')), ['gone']);
  });

  it('hides whited-out files and the old content of an opaque directory', async () => {
    const m = await mountAt('one', top);
    assert.ok(isMounted(m));
    assert.deepEqual((await fs.readdir(path.join(m, 'etc'))).sort(), ['keep']);
    assert.deepEqual(await fs.readdir(path.join(m, 'var/cache')), ['new']);
    assert.equal(await fs.readFile(path.join(m, 'etc/keep'), 'utf8'), 'keep\n');
  });

  it('keeps two snapshots of one image independent', async () => {
    const a = path.join(tmp, 'mnt-one');
    const b = await mountAt('two', top);
    await fs.writeFile(path.join(a, 'etc/keep'), 'changed in one\n');
    await fs.rm(path.join(b, 'var/cache/new'));
    assert.equal(await fs.readFile(path.join(b, 'etc/keep'), 'utf8'), 'keep\n');
    assert.deepEqual(await fs.readdir(path.join(a, 'var/cache')), ['new']);
    assert.ok((await snaps.usage('one')) > 0);
    assert.equal(await fs.readFile(path.join(upperDirOf(await snaps.mounts('one'))!, 'etc/keep'), 'utf8'), 'changed in one\n');
    assert.equal(await snaps.inUse(top), true);
  });

  it('mounts an empty root for a snapshot without parent', async () => {
    const m = await mountAt('scratch', undefined);
    assert.deepEqual(await fs.readdir(m), []);
  });

  it('unmounts and removes idempotently, then no longer holds the layers', async () => {
    for (const key of ['one', 'two', 'scratch']) {
      const m = path.join(tmp, `mnt-${key}`);
      await unmount(m);
      await unmount(m);
      assert.ok(!isMounted(m));
      await snaps.remove(key);
      await snaps.remove(key);
    }
    assert.equal(await snaps.inUse(top), false);
  });
});
