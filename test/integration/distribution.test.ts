// Moving images through registries: push and pull against Debian's docker-registry (distribution 2.8),
// digests that survive the round trip and a trip through dockerd, login with a Bearer token flow, and the
// faults — a corrupted blob, a dropped connection, unknown names, refused credentials — against a small
// misbehaving registry. All registries listen on 127.0.0.1.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PrivateDockerd, TestDaemon } from './harness.js';
import { FakeRegistry, fakeImage } from './fake-registry.js';
import { startDistribution } from '../support/distribution.js';

async function contentBlobs(d: TestDaemon): Promise<string[]> {
  return (await fs.readdir(path.join(d.root, 'content', 'sha256'))).sort();
}

describe('distribution: pull, push, login', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  describe('against distribution 2.8', () => {
    let reg: { port: number; stop(): Promise<void> };
    before(async () => (reg = await startDistribution({ deletes: true })));
    after(async () => reg.stop());

    it('pushes, pulls back by tag and by digest, with the same digest, and runs it', async () => {
      const name = `127.0.0.1:${reg.port}/team/busybox`;
      assert.equal((await d.berth(['tag', 'busybox', `${name}:v1`])).code, 0);
      const push = await d.berth(['push', `${name}:v1`]);
      assert.equal(push.code, 0, push.stderr);
      assert.match(push.stdout, new RegExp(`The push refers to repository \\[${name.replace(/\./g, '\\.')}\\]`));
      const digest = /v1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(push.stdout)?.[1];
      assert.ok(digest, push.stdout);
      const again = await d.berth(['push', `${name}:v1`]);
      assert.match(again.stdout, /Layer already exists/);
      assert.match(again.stdout, new RegExp(`digest: ${digest}`), 'a second push gives the same digest');
      await d.berth(['rmi', `${name}:v1`, 'busybox']);
      const pull = await d.berth(['pull', `${name}:v1`]);
      assert.equal(pull.code, 0, pull.stderr);
      assert.match(pull.stdout, /Pull complete/);
      assert.match(pull.stdout, new RegExp(`Digest: ${digest}\\nStatus: Downloaded newer image for ${name.replace(/\./g, '\\.')}:v1\\n${name.replace(/\./g, '\\.')}:v1\\n$`));
      const repoDigests = await d.berth(['image', 'inspect', '-f', '{{json .RepoDigests}}', `${name}:v1`]);
      assert.equal(repoDigests.stdout.trim(), JSON.stringify([`${name}@${digest}`]));
      const run = await d.berth(['run', '--rm', `${name}:v1`, 'echo', 'pulled']);
      assert.equal(run.stdout, 'pulled\n');
      const byDigest = await d.berth(['pull', `${name}@${digest}`]);
      assert.equal(byDigest.code, 0, byDigest.stderr);
      assert.match(byDigest.stdout, /Status: Image is up to date/);
      await d.berth(['tag', `${name}:v1`, 'busybox']);
    });

    it('pushes a built image (its layers made again from their directories) and pulls it back', async () => {
      const name = `127.0.0.1:${reg.port}/built/img:v1`;
      const built = await d.berth(['build', '-q', '-t', name, '-'], { input: 'FROM busybox\nRUN echo built here > /built\n' });
      assert.equal(built.code, 0, built.stderr);
      const lazy = (await fs.readdir(path.join(d.root, 'content', 'lazy'))).length;
      assert.ok(lazy > 0, 'the RUN layer is a lazy blob until read');
      const push = await d.berth(['push', name]);
      assert.equal(push.code, 0, push.stderr + push.stdout);
      assert.equal((await fs.readdir(path.join(d.root, 'content', 'lazy'))).length, lazy - 1, 'pushing stored it');
      assert.equal((await d.berth(['rmi', name])).code, 0);
      const pull = await d.berth(['pull', name]);
      assert.equal(pull.code, 0, pull.stderr);
      assert.equal((await d.berth(['image', 'inspect', '-f', '{{.Id}}', name])).stdout, built.stdout, 'the same image ID');
      assert.equal((await d.berth(['run', '--rm', name, 'cat', '/built'])).stdout, 'built here\n');
      assert.equal((await d.berth(['rmi', name])).code, 0);
    });

    it('mounts a layer from another repository and pulls every tag with -a', async () => {
      const a = `127.0.0.1:${reg.port}/team/busybox`;
      const b = `127.0.0.1:${reg.port}/other/bb`;
      await d.berth(['tag', `${a}:v1`, `${b}:x`]);
      await d.berth(['tag', `${a}:v1`, `${b}:y`]);
      const push = await d.berth(['push', '-a', b]);
      assert.equal(push.code, 0, push.stderr);
      assert.match(push.stdout, /Mounted from team\/busybox/);
      await d.berth(['rmi', `${b}:x`, `${b}:y`]);
      const pull = await d.berth(['pull', '-a', b]);
      assert.equal(pull.code, 0, pull.stderr);
      const tags = await d.berth(['images', '--format', '{{.Tag}}', b]);
      // Docker lists a repository's digest-only reference as <none> too.
      assert.deepEqual(tags.stdout.split('\n').filter((t) => t && t !== '<none>').sort(), ['x', 'y']);
    });

    it('says so when a repository or tag does not exist, and stores nothing', async () => {
      const blobs = await contentBlobs(d);
      const r = await d.berth(['pull', `127.0.0.1:${reg.port}/team/busybox:nope`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /manifest for 127\.0\.0\.1:\d+\/team\/busybox:nope not found: manifest unknown/);
      const repo = await d.berth(['pull', `127.0.0.1:${reg.port}/no/such`]);
      assert.equal(repo.code, 1);
      assert.match(repo.stderr, /Error response from daemon: .*(not found|repository does not exist)/);
      const bad = await d.berth(['pull', 'BusyBox']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /invalid reference format/);
      assert.deepEqual(await contentBlobs(d), blobs);
    });

    it('run pulls a missing image, and --pull never does not', async () => {
      const name = `127.0.0.1:${reg.port}/team/busybox:v1`;
      await d.berth(['rmi', name]);
      const never = await d.berth(['run', '--rm', '--pull', 'never', name, 'true']);
      assert.equal(never.code, 125);
      assert.match(never.stderr, /No such image/);
      const r = await d.berth(['run', '--rm', name, 'echo', 'auto']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'auto\n');
      assert.match(r.stderr, new RegExp(`Unable to find image '${name.replace(/\./g, '\\.')}' locally\\n(.*\\n)*Status: Downloaded newer image`));
    });

    it('keeps digests through dockerd: berth → registry → dockerd, and dockerd → registry → berth', async () => {
      const ref = await PrivateDockerd.start();
      try {
        const name = `127.0.0.1:${reg.port}/team/busybox:v1`;
        const pushed = /digest: (sha256:[0-9a-f]{64})/.exec((await d.berth(['push', name])).stdout)?.[1];
        const dp = await ref.docker(['pull', name]);
        assert.equal(dp.code, 0, dp.stderr);
        const seen = await ref.docker(['image', 'inspect', '-f', '{{index .RepoDigests 0}}', name]);
        assert.equal(seen.stdout.trim(), `127.0.0.1:${reg.port}/team/busybox@${pushed}`);
        const fromDocker = `127.0.0.1:${reg.port}/from/docker:1`;
        await ref.docker(['tag', name, fromDocker]);
        const dpush = await ref.docker(['push', fromDocker]);
        assert.equal(dpush.code, 0, dpush.stderr);
        const ddigest = /digest: (sha256:[0-9a-f]{64})/.exec(dpush.stdout)?.[1];
        const bp = await d.berth(['pull', fromDocker]);
        assert.equal(bp.code, 0, bp.stderr);
        assert.match(bp.stdout, new RegExp(`Digest: ${ddigest}`));
        const again = await d.berth(['push', fromDocker]);
        assert.match(again.stdout, new RegExp(`digest: ${ddigest}`), 'berth pushes dockerd\'s image back with the same digest');
        assert.equal((await d.berth(['run', '--rm', fromDocker, 'echo', 'ok'])).stdout, 'ok\n');
      } finally {
        await ref.stop();
      }
    });
  });

  describe('faults, against a misbehaving registry', () => {
    it('refuses a blob whose digest does not match and keeps nothing', async () => {
      const img = await fakeImage('bad/img', 'v1');
      const reg = new FakeRegistry(img, { corruptLayer: true });
      await reg.start();
      try {
        const blobs = await contentBlobs(d);
        const layersBefore = await fs.readdir(path.join(d.root, 'layers'));
        const r = await d.berth(['pull', `127.0.0.1:${reg.port}/bad/img:v1`]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /digest mismatch: expected sha256:[0-9a-f]{64}/);
        assert.deepEqual(await contentBlobs(d), blobs, 'no blob of the failed pull is kept');
        assert.deepEqual(await fs.readdir(path.join(d.root, 'layers')), layersBefore, 'no layer is kept');
        assert.equal((await d.berth(['images', '-q', `127.0.0.1:${reg.port}/bad/img`])).stdout, '');
        assert.deepEqual(await fs.readdir(path.join(d.root, 'content', 'ingest')), [], 'no temporary data left');
      } finally {
        await reg.stop();
      }
    });

    it('resumes a download when the connection drops midway', async () => {
      const img = await fakeImage('flaky/img', 'v1');
      const reg = new FakeRegistry(img, { dropLayerOnce: true });
      await reg.start();
      try {
        const r = await d.berth(['pull', `127.0.0.1:${reg.port}/flaky/img:v1`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(reg.rangeGets, 1, 'the rest came with a Range request');
        const ins = await d.berth(['image', 'inspect', '-f', '{{.Id}}', `127.0.0.1:${reg.port}/flaky/img:v1`]);
        assert.equal(ins.stdout.trim(), img.configDigest, 'the image is stored whole and verified');
      } finally {
        await reg.stop();
      }
    });

    it('pulls a tar+zstd layer', async () => {
      const img = await fakeImage('zstd/img', 'v1', 'zstd');
      const reg = new FakeRegistry(img);
      await reg.start();
      try {
        const r = await d.berth(['pull', `127.0.0.1:${reg.port}/zstd/img:v1`]);
        assert.equal(r.code, 0, r.stderr);
        const layers = await d.berth(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', `127.0.0.1:${reg.port}/zstd/img:v1`]);
        assert.equal(layers.stdout.trim(), '1');
      } finally {
        await reg.stop();
      }
    });

    it('picks the platform from an index, and says which platforms there are when none fits', async () => {
      const img = await fakeImage('multi/img', 'v1');
      const reg = new FakeRegistry(img, { index: true });
      await reg.start();
      try {
        const r = await d.berth(['pull', `127.0.0.1:${reg.port}/multi/img:v1`]);
        assert.equal(r.code, 0, r.stderr);
        const id = await d.berth(['image', 'inspect', '-f', '{{.Id}} {{.Architecture}}', `127.0.0.1:${reg.port}/multi/img:v1`]);
        assert.equal(id.stdout.trim(), `${img.configDigest} amd64`, 'the linux/amd64 entry was chosen');
        const none = await d.berth(['pull', '--platform', 'linux/s390x', `127.0.0.1:${reg.port}/multi/img:v1`]);
        assert.equal(none.code, 1);
        assert.match(none.stderr, /no matching manifest for linux\/s390x in the manifest list entries .*\(it has linux\/arm64\/v8, linux\/amd64\)/);
      } finally {
        await reg.stop();
      }
    });

    it('logs in through a Bearer token flow, refuses wrong credentials, and logs out', async () => {
      const img = await fakeImage('private/img', 'v1');
      const reg = new FakeRegistry(img, { auth: { user: 'alice', pass: 's3cret' } });
      await reg.start();
      const host = `127.0.0.1:${reg.port}`;
      try {
        const anon = await d.berth(['pull', `${host}/private/img:v1`]);
        assert.equal(anon.code, 1);
        assert.match(anon.stderr, /pull access denied for .*private\/img, repository does not exist or may require 'docker login'/);
        const wrong = await d.berth(['login', '-u', 'alice', '--password-stdin', host], { input: 'nope\n' });
        assert.equal(wrong.code, 1);
        assert.match(wrong.stderr, /unauthorized/);
        const ok = await d.berth(['login', '-u', 'alice', '--password-stdin', host], { input: 's3cret\n' });
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(ok.stdout, 'Login Succeeded\n');
        const cfg = JSON.parse(await fs.readFile(path.join(d.dir, 'docker-config', 'config.json'), 'utf8'));
        assert.equal(cfg.auths[host].auth, Buffer.from('alice:s3cret').toString('base64'));
        const pull = await d.berth(['pull', `${host}/private/img:v1`]);
        assert.equal(pull.code, 0, pull.stderr);
        const out = await d.berth(['logout', host]);
        assert.equal(out.stdout, `Removing login credentials for ${host}\n`);
        const twice = await d.berth(['logout', host]);
        assert.equal(twice.stdout, `Not logged in to ${host}\n`);
      } finally {
        await reg.stop();
      }
    });

    it('uses a docker-credential helper named by credsStore', async () => {
      const img = await fakeImage('helper/img', 'v1');
      const reg = new FakeRegistry(img, { auth: { user: 'bob', pass: 'pw' } });
      await reg.start();
      const bin = path.join(d.dir, 'bin');
      await fs.mkdir(bin, { recursive: true });
      // A helper that knows one credential, as docker-credential-pass or -secretservice would answer.
      await fs.writeFile(path.join(bin, 'docker-credential-fake'), `#!/bin/sh\n[ "$1" = get ] || exit 1\nserver=$(cat)\necho '{"ServerURL":"'$server'","Username":"bob","Secret":"pw"}'\n`, { mode: 0o755 });
      const cfgDir = path.join(d.dir, 'helper-config');
      await fs.mkdir(cfgDir, { recursive: true });
      await fs.writeFile(path.join(cfgDir, 'config.json'), JSON.stringify({ credsStore: 'fake' }));
      try {
        const r = await d.berth(['pull', `127.0.0.1:${reg.port}/helper/img:v1`], { env: { DOCKER_CONFIG: cfgDir, PATH: `${bin}:${process.env.PATH}` } });
        assert.equal(r.code, 0, r.stdout + r.stderr);
      } finally {
        await reg.stop();
      }
    });
  });
});
