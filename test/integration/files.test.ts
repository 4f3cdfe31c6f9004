// Files in and out of containers: cp both ways (stopped and running, from stdin, the archive API's path
// stat), symlinks kept inside the container's root, export, diff, commit (and the real docker CLI's cp,
// diff, export and commit against berthd), and the bad inputs, which must leave nothing behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { DOCKER_CLI, REPO, TestDaemon, mountsUnder, runCmd, tarOf } from './harness.js';
import { waitFor } from './waits.js';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function api(d: TestDaemon, method: string, p: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method, path: p }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function pathStat(r: Raw): { name: string; size: number; mode: number; mtime: string; linkTarget: string } {
  return JSON.parse(Buffer.from(String(r.headers['x-docker-container-path-stat']), 'base64').toString()) as never;
}

/** A local tree with the things a copy must keep: modes, owners, symlinks (relative and absolute), a hard link. */
async function makeTree(dir: string): Promise<void> {
  await fs.mkdir(path.join(dir, 'tree', 'sub'), { recursive: true });
  const t = (p: string) => path.join(dir, 'tree', p);
  await fs.writeFile(t('a.txt'), 'alpha\n');
  await fs.chmod(t('a.txt'), 0o640);
  await fs.chown(t('a.txt'), 1234, 2345);
  await fs.writeFile(t('run.sh'), '#!/bin/sh\necho run\n');
  await fs.chmod(t('run.sh'), 0o4755);
  await fs.writeFile(t('sub/deep.txt'), 'deep\n');
  await fs.chmod(t('sub'), 0o700);
  await fs.chown(t('sub'), 1000, 1000);
  await fs.symlink('a.txt', t('rel-link'));
  await fs.symlink('/etc/passwd', t('abs-link'));
  await fs.link(t('a.txt'), t('hard.txt'));
}

/** "mode uid gid" of each entry, and symlink targets, as `stat` inside the container prints them. */
const STAT_SCRIPT = 'cd "$1" && for f in a.txt run.sh sub sub/deep.txt rel-link abs-link hard.txt; do stat -c "%n %a %u %g %h" "$f"; done; readlink rel-link; readlink abs-link; cat a.txt sub/deep.txt';
const TREE_EXPECTED = [
  'a.txt 640 1234 2345 2',
  'run.sh 4755 0 0 1',
  'sub 700 1000 1000 2',
  'sub/deep.txt 644 0 0 1',
  'rel-link 777 0 0 1',
  'abs-link 777 0 0 1',
  'hard.txt 640 1234 2345 2',
  'a.txt',
  '/etc/passwd',
  'alpha',
  'deep',
  '',
].join('\n');

async function localTreeStat(dir: string, keepOwners: boolean): Promise<void> {
  const st = async (p: string) => fs.lstat(path.join(dir, p));
  assert.equal((await st('a.txt')).mode & 0o7777, 0o640);
  assert.equal((await st('run.sh')).mode & 0o7777, 0o4755);
  assert.equal((await st('sub')).mode & 0o7777, 0o700);
  assert.equal(await fs.readlink(path.join(dir, 'rel-link')), 'a.txt');
  assert.equal(await fs.readlink(path.join(dir, 'abs-link')), '/etc/passwd');
  assert.equal((await st('hard.txt')).ino, (await st('a.txt')).ino, 'the hard link stays one file');
  assert.equal(await fs.readFile(path.join(dir, 'sub/deep.txt'), 'utf8'), 'deep\n');
  const a = await st('a.txt');
  if (keepOwners) assert.deepEqual([a.uid, a.gid, (await st('sub')).uid], [1234, 2345, 1000]);
  else assert.deepEqual([a.uid, a.gid], [0, 0], 'without -a files belong to the user running cp');
}

describe('files in and out', () => {
  let d: TestDaemon;
  let tmp: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'bfiles-'));
    await makeTree(tmp);
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
    await d.cleanup();
  });

  it('cp round-trips a tree with modes, owners and symlinks through a stopped container', async () => {
    assert.equal((await d.berth(['create', '--name', 'stopped', 'busybox', 'sh', '-c', STAT_SCRIPT, 'sh', '/copied'])).code, 0);
    const put = await d.berth(['cp', path.join(tmp, 'tree'), 'stopped:/copied']);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stderr, '', 'no progress line without a terminal');
    assert.equal(mountsUnder(d.root).length, 0, 'the borrowed rootfs is unmounted again');
    const out = path.join(tmp, 'out-stopped');
    const get = await d.berth(['cp', '-a', 'stopped:/copied', out]);
    assert.equal(get.code, 0, get.stderr);
    await localTreeStat(out, true);
    const plain = path.join(tmp, 'out-plain');
    assert.equal((await d.berth(['cp', 'stopped:/copied', plain])).code, 0);
    await localTreeStat(plain, false);
    // What the container itself sees once started.
    const run = await d.berth(['start', '-a', 'stopped']);
    assert.equal(run.stdout, TREE_EXPECTED, run.stderr);
    assert.equal(mountsUnder(d.root).length, 0);
  });

  it('a start or a removal during a copy from a stopped container is safe', async () => {
    const script = 'test -f /big || head -c 60000000 /dev/zero > /big; sleep 600';
    assert.equal((await d.berth(['run', '-d', '--name', 'busy', 'busybox', 'sh', '-c', script])).code, 0);
    await waitFor(async () => (await d.berth(['exec', 'busy', 'sh', '-c', 'test "$(stat -c %s /big)" = 60000000'])).code === 0, 'the 60 MB file to be written');
    assert.equal((await d.berth(['stop', '-t', '0', 'busy'])).code, 0);
    // A copy that holds the stopped container's rootfs: its output is not read until we say so.
    const copy = heldCopy(d, 'busy:/big');
    await waitFor(async () => mountsUnder(d.root).length === 1, 'the copy to borrow the stopped container’s rootfs');
    assert.equal((await d.berth(['start', 'busy'])).code, 0, 'a start does not wait for the copy');
    const out = await copy.finish();
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.bytes >= 60000000, true);
    assert.equal((await d.berth(['exec', 'busy', 'stat', '-c', '%s', '/big'])).stdout, '60000000\n', 'it runs on the same rootfs');
    assert.equal(mountsUnder(d.root).length, 1, 'one mount, the running container’s');
    assert.equal((await d.berth(['stop', '-t', '0', 'busy'])).code, 0);
    assert.equal(mountsUnder(d.root).length, 0, 'the stop unmounted it once the copy had let go');
    const id = (await d.berth(['inspect', '-f', '{{.Id}}', 'busy'])).stdout.trim();
    const again = heldCopy(d, 'busy:/big');
    await waitFor(async () => mountsUnder(d.root).length === 1, 'the second copy to borrow the rootfs');
    const removal = d.berth(['rm', 'busy']);
    const copied = await again.finish();
    assert.equal((await removal).code, 0);
    assert.equal(copied.code, 0, 'the removal waited for the copy');
    assert.equal(copied.bytes >= 60000000, true, 'the whole file came out');
    assert.equal(existsSync(path.join(d.root, 'snapshots', id)), false);
    assert.equal(mountsUnder(d.root).length, 0);
  });

  it('cp works on a running container, both ways, with Docker’s path rules', async () => {
    assert.equal((await d.berth(['run', '-d', '--name', 'live', 'busybox', 'sleep', '600'])).code, 0);
    assert.equal((await d.berth(['cp', path.join(tmp, 'tree'), 'live:/tmp/'])).code, 0, 'a directory into an existing directory');
    assert.equal((await d.berth(['exec', 'live', 'sh', '-c', STAT_SCRIPT, 'sh', '/tmp/tree'])).stdout, TREE_EXPECTED);
    // "dir/." copies the contents; a file onto a new name; a file into a directory.
    assert.equal((await d.berth(['cp', path.join(tmp, 'tree') + '/.', 'live:/srv'])).code, 0);
    assert.equal((await d.berth(['exec', 'live', 'cat', '/srv/a.txt'])).stdout, 'alpha\n');
    assert.equal((await d.berth(['cp', path.join(tmp, 'tree', 'a.txt'), 'live:/etc/renamed.txt'])).code, 0);
    assert.equal((await d.berth(['cp', path.join(tmp, 'tree', 'a.txt'), 'live:/etc'])).code, 0);
    assert.equal((await d.berth(['exec', 'live', 'cat', '/etc/renamed.txt', '/etc/a.txt'])).stdout, 'alpha\nalpha\n');
    const out = path.join(tmp, 'out-live');
    assert.equal((await d.berth(['cp', '-a', 'live:/tmp/tree', out])).code, 0);
    await localTreeStat(out, true);
    // The container's contents of a directory into an existing local one; -L follows a link.
    await fs.mkdir(path.join(tmp, 'into'));
    assert.equal((await d.berth(['cp', 'live:/tmp/tree/.', path.join(tmp, 'into')])).code, 0);
    assert.equal(await fs.readFile(path.join(tmp, 'into', 'sub', 'deep.txt'), 'utf8'), 'deep\n');
    assert.equal((await d.berth(['cp', '-L', 'live:/tmp/tree/rel-link', path.join(tmp, 'followed')])).code, 0);
    assert.equal(await fs.readFile(path.join(tmp, 'followed'), 'utf8'), 'alpha\n');
    assert.equal((await fs.lstat(path.join(tmp, 'followed'))).isFile(), true);
    // The container's own /etc/hosts, as the container sees it (not the empty mount point).
    const hosts = await d.berth(['cp', 'live:/etc/hosts', '-']);
    assert.match(hosts.stdout, /127\.0\.0\.1\tlocalhost/);
  });

  it('cp from stdin extracts a tar into a directory; stdout gets a tar', async () => {
    const tar = await tarOf([
      ['in/', null],
      ['in/one.txt', 'one\n'],
    ]);
    const r = await d.berth(['cp', '-', 'live:/var'], { input: tar });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await d.berth(['exec', 'live', 'cat', '/var/in/one.txt'])).stdout, 'one\n');
    const notDir = await d.berth(['cp', '-', 'live:/etc/passwd'], { input: tar });
    assert.equal(notDir.code, 1);
    assert.equal(notDir.stderr, 'destination "live:/etc/passwd" must be a directory\n');
    const list = await runCmd(['sh', '-c', `${process.execPath} ${path.join(REPO, 'dist/src/cli/main.js')} -H ${d.host} cp live:/var/in - | tar -tv --numeric-owner`]);
    assert.match(list.stdout, /^drwxr-xr-x 0\/0 .* in\/\n-rw-r--r-- 0\/0 +4 .* in\/one\.txt\n$/);
  });

  it('HEAD .../archive answers with the path stat header; GET with a tar of the path', async () => {
    const link = await api(d, 'HEAD', '/v1.44/containers/live/archive?path=/tmp/tree/abs-link');
    assert.equal(link.status, 200);
    assert.deepEqual({ ...pathStat(link), mtime: '' }, { name: 'abs-link', size: 11, mode: 2 ** 27 + 0o777, mtime: '', linkTarget: '/etc/passwd' });
    assert.match(pathStat(link).mtime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const dir = pathStat(await api(d, 'HEAD', '/containers/live/archive?path=/tmp/tree/sub/'));
    assert.equal(dir.name, 'sub');
    assert.equal(dir.mode, 2 ** 31 + 0o700);
    const dot = pathStat(await api(d, 'HEAD', '/containers/live/archive?path=/tmp/tree/.'));
    assert.equal(dot.name, '.');
    const missing = await api(d, 'GET', '/containers/live/archive?path=/nope');
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body.toString()).message, 'Could not find the file /nope in container live');
    const get = await api(d, 'GET', '/containers/live/archive?path=/tmp/tree/sub');
    assert.equal(get.headers['content-type'], 'application/x-tar');
    assert.equal(pathStat(get).name, 'sub');
    const names = (await runCmd(['tar', '-t'], { input: get.body })).stdout;
    assert.equal(names, 'sub/\nsub/deep.txt\n');
    const events = await d.berth(['events', '--since', '60s', '--until', '0s', '--filter', 'container=live', '--format', '{{.Action}}']);
    assert.match(events.stdout, /^extract-to-dir$/m);
    assert.match(events.stdout, /^archive-path$/m);
  });

  it('resolves symlinks inside the container: nothing leads out of its root', async () => {
    const marker = `berth-escape-${process.pid}`;
    await fs.writeFile(path.join('/tmp', marker), 'HOST\n');
    try {
      assert.equal((await d.berth(['exec', 'live', 'sh', '-c', `ln -s / /escape && ln -s ../../../../../../tmp /up && echo CONTAINER > /tmp/${marker}`])).code, 0);
      for (const via of ['/escape/tmp', '/up']) {
        const r = await d.berth(['cp', `live:${via}/${marker}`, '-']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal((await runCmd(['tar', '-xO'], { input: r.stdout })).stdout, 'CONTAINER\n', `${via} reads the container's file`);
      }
      const hello = path.join(tmp, `${marker}-in`);
      await fs.writeFile(hello, 'written\n');
      assert.equal((await d.berth(['cp', hello, 'live:/escape/tmp/'])).code, 0);
      assert.equal((await d.berth(['cp', hello, 'live:/up/'])).code, 0);
      assert.equal(existsSync(path.join('/tmp', `${marker}-in`)), false, 'nothing was written on the host');
      assert.equal((await d.berth(['exec', 'live', 'cat', `/tmp/${marker}-in`])).stdout, 'written\n');
      // An archive naming a path above the destination is refused.
      const evil = await tarOf([['../../outside.txt', 'x']]);
      const r = await d.berth(['cp', '-', 'live:/tmp'], { input: evil });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is outside of "\/tmp"/);
    } finally {
      await fs.rm(path.join('/tmp', marker), { force: true });
    }
  });

  it('export writes the whole filesystem as a tar', async () => {
    const file = path.join(tmp, 'export.tar');
    const r = await d.berth(['export', '-o', file, 'live']);
    assert.equal(r.code, 0, r.stderr);
    const names = (await runCmd(['tar', '-tf', file])).stdout.split('\n');
    for (const n of ['bin/', 'bin/sh', 'etc/passwd', 'tmp/tree/a.txt', 'tmp/tree/sub/deep.txt', 'proc/', 'var/in/one.txt']) assert.ok(names.includes(n), n);
    assert.ok(!names.some((n) => n.startsWith('proc/.')), 'nothing of the copy helper');
    assert.ok(!names.some((n) => n.startsWith('/') || n.startsWith('./')), 'names relative, as docker export writes them');
    const refuse = await d.berth(['export', 'nope'], { input: '' });
    assert.equal(refuse.code, 1);
    assert.equal(refuse.stderr, 'Error response from daemon: No such container: nope\n');
    assert.equal(existsSync(path.join(tmp, 'nope.tar')), false);
  });

  it('diff lists A/C/D as docker does', async () => {
    const script = 'mkdir -p /data/sub && echo hi > /data/sub/f && rm /etc/group && touch /etc/new && rm -rf /home && mkdir /home && touch /home/n';
    assert.equal((await d.berth(['run', '--name', 'changed', 'busybox', 'sh', '-c', script])).code, 0);
    const r = await d.berth(['diff', 'changed']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ['A /data', 'A /data/sub', 'A /data/sub/f', 'C /etc', 'A /etc/new', 'D /etc/group', 'C /home', 'A /home/n', 'D /home/app', ''].join('\n'));
    assert.equal((await d.berth(['diff', 'stopped'])).stdout, 'A /copied\nA /copied/a.txt\nA /copied/abs-link\nA /copied/hard.txt\nA /copied/rel-link\nA /copied/run.sh\nA /copied/sub\nA /copied/sub/deep.txt\n', 'the mount points of a run are not changes');
    const fresh = await d.berth(['create', 'busybox']);
    assert.equal((await d.berth(['diff', fresh.stdout.trim()])).stdout, '');
    assert.equal((await api(d, 'GET', `/containers/${fresh.stdout.trim()}/changes`)).body.toString(), 'null\n');
  });

  it('commit makes a runnable image with the changes, deletions included', async () => {
    const r = await d.berth(['commit', '-a', 'Ann <ann@example.com>', '-m', 'the change', '-c', 'ENV STAGE=committed', '-c', 'CMD ["cat", "/data/sub/f"]', 'changed', 'snap:v1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal((await d.berth(['run', '--rm', 'snap:v1'])).stdout, 'hi\n');
    const ls = await d.berth(['run', '--rm', 'snap:v1', 'sh', '-c', 'ls /etc /home; echo $STAGE']);
    assert.doesNotMatch(ls.stdout, /\bgroup\b/, 'a deletion stays deleted');
    assert.doesNotMatch(ls.stdout, /\bapp\b/, 'an opaque directory hides what was below');
    assert.match(ls.stdout, /\bnew\b[\s\S]*\bn\n[\s\S]*committed\n$/);
    const base = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
    const cid = (await d.berth(['inspect', '-f', '{{.Id}}', 'changed'])).stdout.trim();
    const insp = await d.berth(['image', 'inspect', '-f', '{{.Author}}|{{.Comment}}|{{.Parent}}|{{.Container}}|{{len .RootFS.Layers}}', 'snap:v1']);
    assert.equal(insp.stdout, `Ann <ann@example.com>|the change|${base}|${cid}|2\n`);
    const hist = await d.berth(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}|{{.Size}}', 'snap:v1']);
    assert.match(hist.stdout.split('\n')[0]!, /^sh -c mkdir -p \/data\/sub .*\|the change\|\d+B$/);
    const ev = await d.berth(['events', '--since', '60s', '--until', '0s', '--filter', 'event=commit', '--format', '{{.Actor.Attributes.imageRef}} {{.Actor.Attributes.comment}}']);
    assert.equal(ev.stdout, 'snap:v1 the change\n');
    // Nothing changed: no new layer (Docker's empty layer), an empty_layer history entry.
    const same = await d.berth(['commit', (await d.berth(['create', 'busybox'])).stdout.trim(), 'snap:empty']);
    assert.equal(same.code, 0, same.stderr);
    assert.equal((await d.berth(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', 'snap:empty'])).stdout, '1\n');
  });

  it('commit pauses a running container unless told not to', async () => {
    assert.equal((await d.berth(['exec', 'live', 'sh', '-c', 'echo live > /live.txt'])).code, 0);
    const since = String(Date.now() / 1000);
    assert.equal((await d.berth(['commit', 'live', 'snap:live'])).code, 0);
    assert.equal((await d.berth(['commit', '--pause=false', 'live', 'snap:live2'])).code, 0);
    const ev = await d.berth(['events', '--since', since, '--until', '0s', '--filter', 'container=live', '--filter', 'event=pause', '--filter', 'event=unpause', '--filter', 'event=commit', '--format', '{{.Action}}']);
    assert.equal(ev.stdout, 'pause\nunpause\ncommit\ncommit\n');
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', 'live'])).stdout, 'running\n');
    assert.equal((await d.berth(['run', '--rm', 'snap:live2', 'cat', '/live.txt'])).stdout, 'live\n');
  });

  it('refuses bad input with clear errors and leaves nothing behind', async () => {
    const blobs = async () => (await fs.readdir(path.join(d.root, 'content', 'sha256'))).sort();
    const layers = async () => (await fs.readdir(path.join(d.root, 'layers'))).sort();
    const images = async () => (await d.berth(['images', '-aq', '--no-trunc'])).stdout;
    const before = { blobs: await blobs(), layers: await layers(), images: await images() };
    const missing = await d.berth(['cp', 'live:/nope/x', path.join(tmp, 'never')]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error response from daemon: Could not find the file /nope/x in container live\n');
    assert.equal(existsSync(path.join(tmp, 'never')), false);
    const notDir = await d.berth(['cp', path.join(tmp, 'tree', 'a.txt'), 'live:/etc/passwd/x']);
    assert.equal(notDir.code, 1);
    assert.equal(notDir.stderr, 'Error response from daemon: extraction point is not a directory\n');
    const dirOnFile = await d.berth(['cp', path.join(tmp, 'tree'), 'live:/etc/passwd']);
    assert.equal(dirOnFile.stderr, 'cannot copy directory\n');
    const noParent = await d.berth(['cp', path.join(tmp, 'tree', 'a.txt'), 'live:/nope/dir/']);
    assert.equal(noParent.stderr, 'no such directory\n');
    const localMissing = await d.berth(['cp', path.join(tmp, 'nothing-here'), 'live:/tmp']);
    assert.equal(localMissing.code, 1);
    assert.equal(localMissing.stderr, `lstat ${path.join(tmp, 'nothing-here')}: no such file or directory\n`);
    assert.equal((await d.berth(['cp', 'a', 'b'])).stderr, 'must specify at least one container source\n');
    assert.equal((await d.berth(['cp', 'live:/a', 'live:/b'])).stderr, 'copying between containers is not supported\n');
    const noContainer = await d.berth(['cp', path.join(tmp, 'tree'), 'nope:/tmp']);
    assert.equal(noContainer.stderr, 'Error response from daemon: No such container: nope\n');
    const badChange = await d.berth(['commit', '-c', 'RUN echo hi', 'changed', 'snap:bad']);
    assert.equal(badChange.code, 1);
    assert.equal(badChange.stderr, 'Error response from daemon: run is not a valid change command\n');
    const noSuch = await d.berth(['commit', 'nope']);
    assert.equal(noSuch.code, 1);
    assert.equal(noSuch.stderr, 'Error response from daemon: No such container: nope\n');
    const badRef = await d.berth(['commit', 'changed', 'BAD:REF']);
    assert.equal(badRef.code, 1);
    assert.equal(badRef.stderr, 'invalid reference format: repository name (library/BAD) must be lowercase\n');
    assert.equal((await api(d, 'POST', '/commit?container=changed&repo=BAD')).status, 400);
    assert.deepEqual({ blobs: await blobs(), layers: await layers(), images: await images() }, before, 'no blob, layer or image was left behind');
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', 'live'])).stdout, 'running\n');
  });
});

describe('docker CLI: cp, diff, export, commit against berthd', () => {
  let d: TestDaemon;
  let tmp: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'bfiles-dk-'));
    await makeTree(tmp);
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
    await d.cleanup();
  });

  it('docker cp both ways, on a running and a stopped container', async () => {
    assert.equal((await d.docker(['run', '-d', '--name', 'dk', 'busybox', 'sleep', '600'])).code, 0);
    const put = await d.docker(['cp', path.join(tmp, 'tree'), 'dk:/tmp/']);
    assert.equal(put.code, 0, put.stderr);
    assert.equal((await d.berth(['exec', 'dk', 'sh', '-c', STAT_SCRIPT, 'sh', '/tmp/tree'])).stdout, TREE_EXPECTED);
    const out = path.join(tmp, 'dk-out');
    const get = await d.docker(['cp', 'dk:/tmp/tree', out]);
    assert.equal(get.code, 0, get.stderr);
    await localTreeStat(out, false);
    assert.equal((await d.docker(['stop', '-t', '0', 'dk'])).code, 0);
    assert.equal((await d.docker(['cp', path.join(tmp, 'tree', 'a.txt'), 'dk:/a-copy.txt'])).code, 0);
    const back = await d.docker(['cp', 'dk:/a-copy.txt', '-']);
    assert.equal((await runCmd(['tar', '-xO'], { input: back.stdout })).stdout, 'alpha\n');
    const missing = await d.docker(['cp', 'dk:/nope', path.join(tmp, 'x')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Could not find the file \/nope in container dk/);
    assert.equal(mountsUnder(d.root).length, 0);
  });

  it('docker diff, export and commit', async () => {
    assert.equal((await d.docker(['run', '--name', 'dc', 'busybox', 'sh', '-c', 'echo x > /x && rm /etc/group'])).code, 0);
    assert.equal((await d.docker(['diff', 'dc'])).stdout, 'C /etc\nD /etc/group\nA /x\n');
    const exp = await runCmd(['sh', '-c', `DOCKER_HOST=${d.host} ${DOCKER_CLI} export dc | tar -t | grep -x x`]);
    assert.equal(exp.stdout, 'x\n');
    const c = await d.docker(['commit', '-c', 'CMD ["cat", "/x"]', '-m', 'via docker', 'dc', 'dk:committed']);
    assert.equal(c.code, 0, c.stderr);
    assert.equal((await d.docker(['run', '--rm', 'dk:committed'])).stdout, 'x\n');
    assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Comment}}', 'dk:committed'])).stdout, 'via docker\n');
  });
});

/**
 * `berth cp <src> -` whose output is left unread until finish(): the pipe fills, the copy blocks, and the
 * container's rootfs stays borrowed meanwhile. finish() reads it all and waits for the exit.
 */
function heldCopy(d: TestDaemon, src: string): { finish(): Promise<{ code: number; bytes: number; stderr: string }> } {
  const child = spawn(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), '-H', d.host, 'cp', src, '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? 1)));
  return {
    async finish() {
      let bytes = 0;
      child.stdout.on('data', (c: Buffer) => (bytes += c.length));
      const code = await exited;
      return { code, bytes, stderr };
    },
  };
}
