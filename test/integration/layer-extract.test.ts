// A layer extracted by several GNU tar processes at once (snapshots/extract.ts) is the layer one GNU tar
// gives: the same files, contents, modes, owners, times (directories' too), links, devices and xattrs —
// for a tree with everything a root file system has, and for archives whose order matters.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tarStream from 'tar-stream';
import { LayerStore } from '../../src/engine/snapshots/layers.js';

const sh = (script: string) => execFileSync('sh', ['-euc', script], { encoding: 'utf8' });

const started = Date.now() / 1000;

/** Everything `find` and `getfattr` say of a tree, and each file's digest: equal trees, equal text. A time
 *  after the test started (a folder changed after tar set its time, in either extraction) reads "now". */
function describeTree(dir: string): string {
  return sh(`cd '${dir}'
    find . -printf '%p %y %m %U %G %s %T@ %l %n\\n' | awk '$7 > ${started} { $7 = "now" } { print }' | LC_ALL=C sort
    getfattr -R -h -d -m - . 2>/dev/null | LC_ALL=C sort || true
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum`);
}

async function tarOf(entries: Partial<tarStream.Header>[], bodies: Record<string, string> = {}): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) pack.entry({ ...e, name: e.name!, mode: e.mode ?? 0o644, mtime: e.mtime ?? new Date(1_600_000_000_000) }, bodies[e.name!] ?? '');
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('parallel layer extraction', () => {
  let tmp: string;
  let store: LayerStore;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-extract-'));
    store = new LayerStore(path.join(tmp, 'layers'));
    await store.init();
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  /** berth's extraction of `tar` and one GNU tar's, described. */
  async function both(tar: Buffer): Promise<{ berth: string; gnu: string }> {
    const info = await store.extract(Readable.from([tar]), undefined);
    const gnu = await fs.mkdtemp(path.join(tmp, 'gnu-'));
    await fs.chmod(gnu, 0o755); // as the layer's own folder is made
    const r = spawnSync('tar', ['-x', '--numeric-owner', '-p', '--xattrs', '--xattrs-include=*', '-C', gnu], { input: tar });
    assert.equal(r.status, 0, String(r.stderr));
    const out = { berth: describeTree(path.join(store.layerDir(info.chainId), 'diff')), gnu: describeTree(gnu) };
    await store.remove(info.chainId);
    return out;
  }

  it('gives the tree one GNU tar gives for a root file system with every kind of member', async () => {
    const src = path.join(tmp, 'src');
    // 40 folders of 20 files (beyond the first members one worker takes alone), modes, owners, times,
    // special bits, links of both kinds, devices, a FIFO, xattrs, long names, folders without entries.
    sh(`mkdir -p '${src}' && cd '${src}'
      for d in $(seq 1 40); do mkdir -p usr/share/p$d/sub; for f in $(seq 1 20); do echo "$d $f" > usr/share/p$d/f$f; done; done
      mkdir -p etc/ssl/private var/tmp srv/ro home/u/.cache
      echo secret > etc/ssl/private/key && chmod 600 etc/ssl/private/key && chmod 700 etc/ssl/private
      chmod 1777 var/tmp && chmod 2775 srv && chown 1000:1000 home/u home/u/.cache && chown 0:50 srv
      echo tool > usr/share/p1/tool && chmod 4755 usr/share/p1/tool && chown 1234:5678 usr/share/p1/f1
      ln -s ../share/p2/f2 usr/share/p3/rel && ln -s /etc/passwd usr/share/p4/abs && ln -s missing usr/share/p5/dangling
      ln usr/share/p6/f1 usr/share/p7/hard && ln usr/share/p8/f1 usr/share/p8/hard2
      mkfifo run.fifo && mknod null c 1 3 && mkdir empty
      setfattr -n user.berth -v yes usr/share/p9/f1 && setfattr -n user.dir -v 1 usr/share/p10
      long=usr/share/$(printf 'l%.0s' $(seq 1 120)) && mkdir -p "$long" && echo deep > "$long/$(printf 'n%.0s' $(seq 1 130))"
      echo ro > srv/ro/file && chmod 555 srv/ro
      find . -exec touch -h -d '2021-03-04 05:06:07' {} +
      touch -d '2020-01-01' usr/share/p11 usr/share/p12/f3`);
    const tar = execFileSync('tar', ['-C', src, '--format=posix', '--xattrs', '--xattrs-include=*', '--numeric-owner', '-c', '.'], { maxBuffer: 1 << 28 });
    const { berth, gnu } = await both(tar);
    assert.ok(berth.split('\n').length > 900);
    assert.equal(berth, gnu);
  });

  it('keeps the order where it matters: a path twice, a folder listed after its files, a file replaced by a folder', async () => {
    const tar = await tarOf(
      [
        ...Array.from({ length: 300 }, (_, i) => ({ name: `a/f${i}` })),
        { name: 'a/dup' },
        { name: 'a', type: 'directory', mode: 0o750, uid: 7, gid: 8, mtime: new Date(1_500_000_000_000) },
        { name: 'b/link-to-dup', type: 'link', linkname: 'a/dup' },
        { name: 'a/dup', mode: 0o600 },
        { name: 'c/x' },
        { name: 'c/x', type: 'directory', mode: 0o700 },
        { name: 'c/x/y' },
      ],
      { 'a/dup': 'second' },
    );
    const { berth, gnu } = await both(tar);
    assert.equal(berth, gnu);
  });

  it('refuses a member under a symbolic link of the same layer and leaves nothing behind', async () => {
    const tar = await tarOf([...Array.from({ length: 300 }, (_, i) => ({ name: `d${i % 9}/f${i}` })), { name: 'esc', type: 'symlink', linkname: '/' }, { name: 'esc/etc/evil' }]);
    await assert.rejects(store.extract(Readable.from([tar]), undefined), /refusing layer: esc\/etc\/evil lies under the symbolic link esc/);
    assert.deepEqual(await fs.readdir(store.dir), []);
    assert.equal(await fs.stat('/etc/evil').catch(() => 'absent'), 'absent');
  });

  it('reports a corrupt archive as an invalid layer and leaves nothing behind', async () => {
    const tar = await tarOf(Array.from({ length: 400 }, (_, i) => ({ name: `e${i % 7}/f${i}` })), {});
    const bad = Buffer.from(tar);
    bad[512 * 200 + 3] ^= 0xff; // a header's name byte: its checksum no longer matches
    await assert.rejects(store.extract(Readable.from([bad]), undefined), /invalid layer tar: invalid tar header checksum/);
    assert.deepEqual(await fs.readdir(store.dir), []);
  });

  it('extracts a gzip layer in a store on tmpfs (no ext4 flags), and refuses a damaged one leaving nothing', async () => {
    const shm = await fs.mkdtemp('/dev/shm/berth-extract-');
    try {
      const onTmpfs = new LayerStore(path.join(shm, 'layers'));
      await onTmpfs.init();
      const tar = await tarOf(Array.from({ length: 300 }, (_, i) => ({ name: `g${i % 5}/f${i}` })), { 'g1/f1': 'one', 'g2/f2': 'two' });
      const info = await onTmpfs.extract(Readable.from([gzipSync(tar)]), undefined);
      const diff = path.join(onTmpfs.layerDir(info.chainId), 'diff');
      assert.equal(await fs.readFile(path.join(diff, 'g2/f2'), 'utf8'), 'two');
      assert.equal((await fs.readdir(path.join(diff, 'g4'))).length, 60);
      const damaged = gzipSync(tar);
      damaged[damaged.length >> 1] ^= 0xff;
      await assert.rejects(onTmpfs.extract(Readable.from([damaged]), undefined), /reading layer: /);
      assert.deepEqual(await fs.readdir(onTmpfs.dir), [info.chainId.replace('sha256:', '')]);
    } finally {
      await fs.rm(shm, { recursive: true, force: true });
    }
  });
});
