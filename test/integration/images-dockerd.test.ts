// Archive compatibility with dockerd (Docker 20.10): our `save` loads there with the same image ID, and its
// `docker save` loads here with the same ID. The reference engine at /run/docker-ref.sock when it answers,
// else a private dockerd (Debian's docker.io, which the test command installs) started for this file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/lib/exec.js';
import { ImagesService } from '../../src/engine/images/service.js';
import { OverlaySnapshotter } from '../../src/engine/snapshots/overlay.js';
import { busyboxTar, DOCKER_CLI, PrivateDockerd } from './harness.js';

const SHARED = 'unix:///run/docker-ref.sock';
const shared = await run([DOCKER_CLI, 'version', '--format', '{{.Server.Version}}'], { env: { ...process.env, DOCKER_HOST: SHARED } }).then(
  () => true,
  () => false,
);
const own = shared ? undefined : await PrivateDockerd.start();
const env = { ...process.env, DOCKER_HOST: own ? `unix://${own.socket}` : SHARED };
const docker = (args: string[]) => run([DOCKER_CLI, ...args], { env });

describe('archives shared with dockerd', () => {
  let tmp: string;
  let images: ImagesService;
  const tag = `berth-test/roundtrip:${process.pid}`;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-dockerd-'));
    const root = path.join(tmp, 'root');
    const snapshotter = new OverlaySnapshotter(root);
    await snapshotter.init();
    images = new ImagesService({ root, snapshotter });
    await images.init();
  });
  after(async () => {
    await docker(['rmi', tag]).catch(() => undefined);
    await fs.rm(tmp, { recursive: true, force: true });
    await own?.stop();
  });

  it('saves an archive that docker 20.10 loads with the same image ID', async () => {
    const id = await images.importTarball(createReadStream(await busyboxTar()), { reference: tag, changes: ['CMD ["sh"]'] });
    const archive = path.join(tmp, 'ours.tar');
    await images.save([tag], createWriteStream(archive));
    const listing = (await run(['tar', '-tf', archive])).stdout.split('\n');
    for (const f of ['manifest.json', 'index.json', 'oci-layout', `blobs/sha256/${id.slice(7)}`]) assert.ok(listing.includes(f), `${f} in the archive`);
    const out = await docker(['load', '-i', archive]);
    assert.match(out.stdout, new RegExp(`Loaded image: ${tag}`));
    assert.equal((await docker(['image', 'inspect', '-f', '{{.Id}}', tag])).stdout.trim(), id);
  });

  it('loads what docker save writes with the same image ID and tag', async () => {
    if (own) await docker(['import', '-c', 'CMD ["sh"]', await busyboxTar(), 'busybox:latest']);
    const ref = (await docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox:latest'])).stdout.trim();
    const archive = path.join(tmp, 'theirs.tar');
    await docker(['save', '-o', archive, 'busybox:latest']);
    assert.deepEqual(await images.load(createReadStream(archive)), ['Loaded image: busybox:latest']);
    const img = await images.inspect('busybox:latest');
    assert.equal(img.Id, ref);
    const theirs = JSON.parse((await docker(['image', 'inspect', 'busybox:latest'])).stdout)[0] as { Size: number; RootFS: unknown };
    assert.deepEqual(img.RootFS, theirs.RootFS);
    assert.equal(img.Size, theirs.Size);
  });
});
