import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveUser } from '../../src/engine/runtime/user.js';
import { secureJoin } from '../../src/lib/securejoin.js';
import { InvalidParameter } from '../../src/lib/errors.js';

let root: string;
let bare: string;
let outside: string;

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-user-'));
  bare = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-user-bare-'));
  outside = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-user-outside-'));
  await fs.mkdir(path.join(root, 'etc'));
  await fs.mkdir(path.join(root, 'data'));
  await fs.writeFile(
    path.join(root, 'data/passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n# comment\nweb:x:33:33::/var/www:/bin/false\n',
  );
  // /etc/passwd is an absolute symlink: it must resolve inside the rootfs, not on the host.
  await fs.symlink('/data/passwd', path.join(root, 'etc/passwd'));
  await fs.writeFile(path.join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\nwheel:x:10:app,web\naudio:x:29:app\nstaff:x:50:\n');
  await fs.writeFile(path.join(outside, 'secret'), 'host\n');
  await fs.symlink(`../../../../../../..${outside}/secret`, path.join(root, 'escape'));
});

after(async () => {
  for (const d of [root, bare, outside]) await fs.rm(d, { recursive: true, force: true });
});

test('empty user is root with its primary group', async () => {
  assert.deepEqual(await resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [0], home: '/root' });
  assert.deepEqual(await resolveUser(root, undefined), { uid: 0, gid: 0, additionalGids: [0], home: '/root' });
});

test('a name resolves through passwd, with the groups it is a member of', async () => {
  assert.deepEqual(await resolveUser(root, 'app'), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29], home: '/home/app' });
});

test('a numeric uid found in passwd takes its gid; one that is not keeps gid 0', async () => {
  assert.deepEqual(await resolveUser(root, '33'), { uid: 33, gid: 33, additionalGids: [33, 10], home: '/var/www' });
  assert.deepEqual(await resolveUser(root, '4242'), { uid: 4242, gid: 0, additionalGids: [0], home: '/' });
});

test('uid:gid and name:group; an explicit group drops membership groups', async () => {
  assert.deepEqual((await resolveUser(root, '1000:1000')).additionalGids, [1000]);
  const u = await resolveUser(root, 'app:staff');
  assert.equal(u.uid, 1000);
  assert.equal(u.gid, 50);
  assert.deepEqual(u.additionalGids, [50]);
  assert.equal((await resolveUser(root, 'app:777')).gid, 777);
});

test('group-add accepts names and numbers', async () => {
  const u = await resolveUser(root, '1000:1000', ['wheel', '4000', 'staff']);
  assert.deepEqual(u.additionalGids, [1000, 10, 4000, 50]);
});

test('unknown names fail like Docker', async () => {
  await assert.rejects(resolveUser(root, 'nobody'), (e: unknown) => e instanceof InvalidParameter && e.message === 'unable to find user nobody: no matching entries in passwd file');
  await assert.rejects(resolveUser(root, 'app:nogroup'), (e: unknown) => e instanceof InvalidParameter && e.message === 'unable to find group nogroup: no matching entries in group file');
  await assert.rejects(resolveUser(root, 'app', ['nope']), /Unable to find group nope/);
});

test('numeric ids work without passwd or group files', async () => {
  assert.deepEqual(await resolveUser(bare, '1000:1000', ['5']), { uid: 1000, gid: 1000, additionalGids: [1000, 5], home: '/' });
  assert.deepEqual(await resolveUser(bare, ''), { uid: 0, gid: 0, additionalGids: [0], home: '/' });
  await assert.rejects(resolveUser(bare, 'app'), /unable to find user app/);
});

test('symlinks never lead out of the rootfs', async () => {
  assert.equal(await secureJoin(root, '/etc/passwd'), path.join(root, 'data/passwd'));
  assert.equal(await secureJoin(root, '/escape'), path.join(root, outside, 'secret'));
  assert.equal(await secureJoin(root, '/../../etc/group'), path.join(root, 'etc/group'));
});
