// The images service on a private root: import a busybox rootfs, inspect/history/list, tag and
// rmi rules, OCI layout loads, and archives that must be refused without leaving anything behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './harness.js';
import { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { run } from '../../src/lib/exec.js';
import { ImagesService } from '../../src/engine/images/service.js';
import { OverlaySnapshotter } from '../../src/engine/snapshots/overlay.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function tarOf(files: { name: string; data?: string; type?: 'directory' }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const f of files) {
    if (f.type === 'directory') pack.entry({ name: f.name, type: 'directory', mode: 0o755 });
    else pack.entry({ name: f.name, mode: 0o644 }, f.data ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** An OCI image layout (no manifest.json) with a base layer and a whiteout layer. */
async function ociLayout(refName: string): Promise<{ tar: Buffer; configDigest: string }> {
  const base = await tarOf([{ name: 'keep.txt', data: 'kept\n' }, { name: 'gone.txt', data: 'x' }]);
  const top = await tarOf([{ name: '.wh.gone.txt' }, { name: 'new.txt', data: 'new\n' }]);
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [base, top].map((l) => `sha256:${sha(l)}`) }, history: [{ created_by: 'base' }, { created_by: 'top' }] });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
    layers: [base, top].map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${sha(l)}`, size: l.length })),
  });
  const index = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': refName } }] });
  const tar = await tarOf([
    { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', data: index },
    ...[base, top, Buffer.from(config), Buffer.from(manifest)].map((b) => ({ name: `blobs/sha256/${sha(b)}`, data: b.toString('latin1') })),
  ]);
  return { tar, configDigest: `sha256:${sha(config)}` };
}

describe('images service', () => {
  let tmp: string;
  let root: string;
  let bbTar: string;
  let images: ImagesService;
  const events: string[] = [];
  const users: { running?: string; stopped?: string } = {};

  const open = async () => {
    const snapshotter = new OverlaySnapshotter(root);
    await snapshotter.init();
    const svc = new ImagesService({ root, snapshotter, emit: (a, id) => events.push(`${a} ${id}`), usage: async () => ({ ...users }) });
    await svc.init();
    return svc;
  };
  const listDir = async (d: string) => (await fs.readdir(path.join(root, d)).catch(() => [])).sort();

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-images-'));
    root = path.join(tmp, 'root');
    await run(['sh', path.join(REPO, 'scripts/mkrootfs-busybox.sh'), path.join(tmp, 'rootfs')]);
    bbTar = path.join(tmp, 'busybox.tar');
    await run(['tar', '-C', path.join(tmp, 'rootfs'), '-cf', bbTar, '.']);
    images = await open();
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('imports a rootfs: ID is the config digest, tags, inspect and history as Docker shows them', async () => {
    const id = await images.importTarball(createReadStream(bbTar), { reference: 'busybox', changes: ['CMD ["sh"]'], message: 'first' });
    const configBlob = await fs.readFile(path.join(root, 'content/sha256', id.slice(7)));
    assert.equal(id, `sha256:${sha(configBlob)}`);
    const tarBytes = await fs.readFile(bbTar);
    const img = await images.inspect('busybox');
    assert.equal(img.Id, id);
    assert.deepEqual(img.RepoTags, ['busybox:latest']);
    assert.deepEqual(img.RootFS, { Type: 'layers', Layers: [`sha256:${sha(tarBytes)}`] });
    assert.deepEqual(img.Config.Cmd, ['sh']);
    assert.equal(img.Comment, 'first');
    assert.equal(img.Os, 'linux');
    assert.equal(img.GraphDriver.Name, 'overlay2');
    assert.ok(img.Size > 1_000_000 && img.Size < tarBytes.length, 'size counts file bytes, not tar bytes');
    const hist = await images.history(id.slice(7, 19));
    assert.equal(hist.length, 1);
    assert.deepEqual({ ...hist[0], Created: 0 }, { Id: id, Created: 0, CreatedBy: '', Tags: ['busybox:latest'], Size: img.Size, Comment: 'first' });
    const chain = await images.chainIds(id);
    assert.deepEqual(chain, img.RootFS.Layers);
    await fs.access(path.join(root, 'layers', chain[0]!.slice(7), 'diff/bin/busybox'));
    assert.ok(events.includes(`import ${id}`));
    assert.deepEqual(await listDir('content/ingest'), []);
  });

  it('resolves by name, full and short ID, and says which image is missing', async () => {
    const id = (await images.resolve('busybox:latest')).id;
    for (const n of [id, id.slice(7), id.slice(0, 19), id.slice(7, 10), 'docker.io/library/busybox']) assert.equal((await images.resolve(n)).id, id);
    await assert.rejects(images.resolve('nosuch'), { status: 404, message: 'No such image: nosuch' });
  });

  it('tags, lists with filters, untags a name and deletes by ID with Docker rules', async () => {
    const id = (await images.resolve('busybox')).id;
    await images.tag('busybox', 'example.com/bb:v1');
    assert.deepEqual((await images.resolve(id)).repoTags.sort(), ['busybox:latest', 'example.com/bb:v1']);
    assert.deepEqual((await images.list({ filters: { reference: ['example.com/*'] } })).map((i) => i.RepoTags), [['example.com/bb:v1']]);
    assert.equal((await images.list({ filters: { dangling: ['true'] } })).length, 0);
    await assert.rejects(images.list({ filters: { nope: ['x'] } }), { status: 400, message: "invalid filter 'nope'" });
    await assert.rejects(images.remove(id.slice(7, 19), {}), { status: 409, message: `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories` });
    users.running = 'c'.repeat(64);
    await assert.rejects(images.remove(id, { force: true }), { status: 409, message: `conflict: unable to delete ${id.slice(7, 19)} (cannot be forced) - image is being used by running container cccccccccccc` });
    assert.deepEqual(await images.remove('example.com/bb:v1', {}), [{ Untagged: 'example.com/bb:v1' }]);
    await assert.rejects(images.remove('busybox', {}), { status: 409, message: /unable to remove repository reference "busybox" \(must force\) - container cccccccccccc is using/ });
    delete users.running;
    users.stopped = 'd'.repeat(64);
    await assert.rejects(images.remove(id, {}), { message: `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is being used by stopped container dddddddddddd` });
    delete users.stopped;
  });

  it('loads an OCI layout, tags it from its annotation, and hides whited-out files', async () => {
    const { tar, configDigest } = await ociLayout('example.com/oci:1');
    assert.deepEqual(await images.load(Readable.from([tar])), ['Loaded image: example.com/oci:1']);
    const img = await images.resolve('example.com/oci:1');
    assert.equal(img.id, configDigest);
    assert.match(img.manifestDigest ?? '', /^sha256:/);
    const [, top] = await images.chainIds(img.id);
    const diff = path.join(root, 'layers', top!.slice(7), 'diff');
    const st = await fs.lstat(path.join(diff, 'gone.txt'));
    assert.ok(st.isCharacterDevice() && st.rdev === 0, 'whiteout is a 0:0 character device');
    assert.deepEqual((await fs.readdir(diff)).sort(), ['gone.txt', 'new.txt']);
    assert.deepEqual((await images.history(img.id)).map((h) => [h.Id === img.id ? 'top' : h.Id, h.CreatedBy]), [['top', 'top'], ['<missing>', 'base']]);
  });

  it('refuses a blob with the wrong digest and a truncated archive, leaving nothing', async () => {
    const before = { blobs: await listDir('content/sha256'), layers: await listDir('layers'), images: await listDir('images') };
    const wrong = await tarOf([{ name: 'oci-layout', data: '{}' }, { name: `blobs/sha256/${'0'.repeat(64)}`, data: 'not that' }, { name: 'index.json', data: '{"manifests":[]}' }]);
    await assert.rejects(images.load(Readable.from([wrong])), { status: 400, message: new RegExp(`expected sha256:${'0'.repeat(64)}, got sha256:${sha('not that')}`) });
    const { tar } = await ociLayout('example.com/trunc:1');
    await assert.rejects(images.load(Readable.from([tar.subarray(0, Math.floor(tar.length / 2))])), { status: 400 });
    await assert.rejects(images.load(Readable.from([await tarOf([{ name: 'hello.txt', data: 'hi' }])])), { status: 400, message: /neither manifest.json nor index.json/ });
    await assert.rejects(images.resolve('example.com/trunc:1'), { status: 404 });
    assert.deepEqual({ blobs: await listDir('content/sha256'), layers: await listDir('layers'), images: await listDir('images') }, before);
    // A blob write cut off with the archive finishes removing its temporary file just after load rejects.
    for (let i = 0; i < 40 && (await listDir('content/ingest')).length; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await listDir('content/ingest'), []);
  });

  it('removes an image with its blobs and layers, and init clears what a crash left', async () => {
    const oci = await images.resolve('example.com/oci:1');
    const chains = await images.chainIds(oci.id);
    const out = await images.remove('example.com/oci:1', {});
    assert.deepEqual(out, [{ Untagged: 'example.com/oci:1' }, { Deleted: oci.id }, ...chains.reverse().map((c) => ({ Deleted: c }))]);
    assert.ok(chains.length >= 1, 'the image had layers');
    for (const c of chains) await assert.rejects(fs.access(path.join(root, 'layers', c.slice(7))));
    await assert.rejects(fs.access(path.join(root, 'content/sha256', oci.id.slice(7))));
    // Leftovers of a crash: an ingest file, a half-extracted layer, a temp record, an orphan blob.
    await fs.writeFile(path.join(root, 'content/ingest/deadbeef'), 'partial');
    await fs.mkdir(path.join(root, 'layers', `abc.tmp-1`, 'diff'), { recursive: true });
    await fs.writeFile(path.join(root, 'images', '.x.json.123.tmp'), '{');
    await fs.writeFile(path.join(root, 'content/sha256', sha('orphan')), 'orphan');
    images = await open();
    assert.deepEqual(await listDir('content/ingest'), []);
    assert.ok(!(await listDir('layers')).some((n) => n.includes('.tmp-')));
    assert.ok(!(await listDir('images')).some((n) => n.endsWith('.tmp')));
    assert.ok(!(await listDir('content/sha256')).includes(sha('orphan')));
    assert.equal((await images.inspect('busybox')).RepoTags[0], 'busybox:latest');
  });
});
