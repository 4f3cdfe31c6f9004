// Images as a user sees them: import, list and its filters, tag, rmi rules, history, save/load
// (docker-archive and OCI layout), whiteouts on overlayfs, and archives that must be refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tarStream from 'tar-stream';
import { TestDaemon, busyboxTar, tarOf } from './harness.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** An OCI image layout with a base layer and a layer of whiteouts over it. */
async function ociLayout(ref: string): Promise<Buffer> {
  const base = await tarOf([['gone.txt', 'x'], ['keep.txt', 'kept\n'], ['dir/', null], ['dir/old.txt', 'old'], ['bin/', null]]);
  const top = await tarOf([['.wh.gone.txt', ''], ['dir/', null], ['dir/.wh..wh..opq', ''], ['dir/new.txt', 'new\n']]);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha(base)}`, `sha256:${sha(top)}`] },
    history: [{ created_by: 'base' }, { created_by: 'top' }],
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
    layers: [base, top].map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${sha(l)}`, size: l.length })),
  });
  const index = JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length, annotations: { 'io.containerd.image.name': ref } }],
  });
  const files: [string, string | null][] = [['oci-layout', '{"imageLayoutVersion":"1.0.0"}'], ['index.json', index], ['blobs/', null], ['blobs/sha256/', null]];
  const pack = tarStream.pack();
  for (const [n, c] of files) {
    if (c === null) pack.entry({ name: n, type: 'directory' });
    else pack.entry({ name: n }, c);
  }
  for (const b of [base, top, Buffer.from(config), Buffer.from(manifest)]) pack.entry({ name: `blobs/sha256/${sha(b)}` }, b);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('images', () => {
  let d: TestDaemon;
  let bbId: string;
  before(async () => {
    d = await TestDaemon.start();
    bbId = await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('imports with the config digest as image ID, and lists, inspects and shows history', async () => {
    assert.match(bbId, /^sha256:[0-9a-f]{64}$/);
    const inspect = JSON.parse((await d.berth(['image', 'inspect', 'busybox'])).stdout)[0];
    assert.equal(inspect.Id, bbId);
    assert.deepEqual(inspect.RepoTags, ['busybox:latest']);
    assert.deepEqual(inspect.Config.Cmd, ['sh']);
    assert.equal(inspect.RootFS.Layers.length, 1);
    const blob = await fs.readFile(path.join(d.root, 'content/sha256', bbId.slice(7)));
    assert.equal(sha(blob), bbId.slice(7), 'image ID = sha256 of the config');
    assert.match((await d.berth(['images'])).stdout, new RegExp(`^busybox\\s+latest\\s+${bbId.slice(7, 19)}\\s+`, 'm'));
    assert.equal((await d.berth(['images', '-q'])).stdout, bbId.slice(7, 19) + '\n');
    assert.equal((await d.berth(['images', '-q', '--no-trunc'])).stdout, bbId + '\n');
    assert.match((await d.berth(['history', 'busybox'])).stdout, /Imported from/);
  });

  it('filters images by reference, label, dangling, before and since', async () => {
    // A second image, made after busybox and labelled; other/thing:v2 is busybox under another name.
    const labelled = await d.berth(['import', '-c', 'LABEL tier=front', '-c', 'CMD ["sh"]', await busyboxTar(), 'labelled:1']);
    assert.equal(labelled.code, 0, labelled.stderr);
    assert.equal((await d.berth(['tag', 'busybox', 'other/thing:v2'])).code, 0);
    const names = async (...f: string[]) => {
      const r = await d.berth(['images', '--format', '{{.Repository}}:{{.Tag}}', ...f.flatMap((x) => ['--filter', x])]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(await names(), ['busybox:latest', 'labelled:1', 'other/thing:v2'], 'no filter lists them all');
    assert.deepEqual(await names('reference=busy*'), ['busybox:latest']);
    assert.deepEqual(await names('reference=other/*'), ['other/thing:v2']);
    assert.deepEqual(await names('label=tier'), ['labelled:1']);
    assert.deepEqual(await names('label=tier=front'), ['labelled:1']);
    assert.deepEqual(await names('label=tier=back'), []);
    assert.deepEqual(await names('before=labelled:1'), ['busybox:latest', 'other/thing:v2']);
    assert.deepEqual(await names('since=busybox'), ['labelled:1']);
    assert.deepEqual(await names('since=busybox', 'label=tier=front'), ['labelled:1']);
    assert.deepEqual(await names('dangling=true'), []);
    assert.deepEqual(await names('dangling=false'), ['busybox:latest', 'labelled:1', 'other/thing:v2']);
    // An image imported without a name is dangling.
    const untagged = await d.berth(['import', '-c', 'CMD ["true"]', await busyboxTar()]);
    assert.equal(untagged.code, 0, untagged.stderr);
    assert.deepEqual(await names('dangling=true'), ['<none>:<none>']);
    assert.equal((await d.berth(['rmi', untagged.stdout.trim()])).code, 0);
    assert.equal((await d.berth(['images', '--filter', 'bogus=1'])).code, 1);
    assert.equal((await d.berth(['rmi', 'other/thing:v2', 'labelled:1'])).code, 0);
  });

  it('untags a name but deletes by ID, and refuses while a container uses the image', async () => {
    await d.berth(['tag', 'busybox', 'bb2']);
    const untag = await d.berth(['rmi', 'bb2']);
    assert.equal(untag.stdout, 'Untagged: bb2:latest\n');
    assert.equal((await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout, bbId + '\n');
    await d.berth(['tag', 'busybox', 'bb3']);
    const multi = await d.berth(['rmi', bbId.slice(7, 19)]);
    assert.notEqual(multi.code, 0);
    assert.match(multi.stderr, /must be forced\) - image is referenced in multiple repositories/);
    await d.berth(['rmi', 'bb3']);
    await d.berth(['run', '-d', '--name', 'user', 'busybox', 'sleep', '300']);
    const inUse = await d.berth(['rmi', '-f', bbId]);
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, /cannot be forced\) - image is being used by running container/);
    await d.berth(['rm', '-f', 'user']);
  });

  it('saves and loads its own archives, and loads an OCI layout with whiteouts', async () => {
    const archive = path.join(d.dir, 'bb.tar');
    assert.equal((await d.berth(['save', '-o', archive, 'busybox'])).code, 0);
    await d.berth(['tag', 'busybox', 'keep:me']);
    const rm = await d.berth(['rmi', 'busybox']);
    assert.equal(rm.code, 0, rm.stderr);
    const load = await d.berth(['load', '-i', archive]);
    assert.equal(load.stdout, 'Loaded image: busybox:latest\n', load.stderr);
    assert.equal((await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout, bbId + '\n');
    await d.berth(['rmi', 'keep:me']);

    const layout = path.join(d.dir, 'oci.tar');
    await fs.writeFile(layout, await ociLayout('docker.io/library/wh:test'));
    const r = await d.berth(['load', '-i', layout]);
    assert.equal(r.stdout, 'Loaded image: wh:test\n', r.stderr);
    // mount it as a container rootfs: the whiteouts must hide gone.txt and dir/old.txt
    const id = (await d.berth(['create', 'wh:test'])).stdout.trim();
    assert.equal((await d.berth(['start', id])).code !== 0, true, 'no shell in this image: it cannot start');
    await d.berth(['rm', '-f', id]);
    const layers = await fs.readdir(path.join(d.root, 'layers'));
    const top = (await Promise.all(layers.map(async (l) => ({ l, j: JSON.parse(await fs.readFile(path.join(d.root, 'layers', l, 'layer.json'), 'utf8')) })))).find((x) => x.j.parent);
    assert.ok(top, 'a two-layer chain was extracted');
    const st = await fs.stat(path.join(d.root, 'layers', top!.l, 'diff', 'gone.txt'));
    assert.ok(st.isCharacterDevice() && st.rdev === 0, '.wh.gone.txt became a 0:0 character device');
    await assert.rejects(fs.stat(path.join(d.root, 'layers', top!.l, 'diff', '.wh.gone.txt')));
    await d.berth(['rmi', 'wh:test']);
  });

  it('refuses a blob with the wrong digest and a truncated archive, keeping nothing', async () => {
    const good = await ociLayout('docker.io/library/bad:digest');
    // corrupt a byte inside the first blob's content (keep tar headers intact)
    const bad = Buffer.from(good);
    const idx = bad.indexOf('kept\n');
    bad[idx] = 'K'.charCodeAt(0);
    const badFile = path.join(d.dir, 'bad.tar');
    await fs.writeFile(badFile, bad);
    const r = await d.berth(['load', '-i', badFile]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /digest mismatch: expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}/);
    const truncated = path.join(d.dir, 'trunc.tar');
    await fs.writeFile(truncated, good.subarray(0, Math.floor(good.length / 2)));
    const t = await d.berth(['load', '-i', truncated]);
    assert.notEqual(t.code, 0);
    assert.equal((await d.berth(['images', '-q', 'bad'])).stdout, '');
    assert.deepEqual(await fs.readdir(path.join(d.root, 'content', 'ingest')), []);
    const notArchive = await d.berth(['load'], { input: 'this is not a tar' });
    assert.notEqual(notArchive.code, 0);
  });
});
