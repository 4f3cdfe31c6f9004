// Single files bind-mounted into containers, the ways people do it every day (issue 10 item 1): an nginx
// conf over the image's own file, compose's init.sql sent as HostConfig.Binds, /etc/localtime (a host
// symlink), a secret under a read-only root, the daemon's socket, a config into directories the image
// lacks, targets through symlinks (never escaping the rootfs), --volumes-from, restarts, and dockerd's
// errors for a file onto a directory and back. The fault: a bind source removed between create and
// start gives dockerd's error and leaves nothing behind. Through the docker CLI 28 and berth; what each
// answers was checked against dockerd 20.10. Real runc, real mounts, a private berthd.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { PrivateDockerd, TestDaemon, context, mountsUnder } from './harness.js';
import { api } from '../support/api.js';

const IMAGE = 'files-img';
// Each image path a test binds onto: a file (nginx's default.conf), a symlink to a directory, a relative
// symlink climbing far above the root, and an absolute one to /etc.
const DOCKERFILE = [
  'FROM busybox',
  'RUN mkdir -p /etc/nginx/conf.d && echo from-image > /etc/nginx/conf.d/default.conf' +
    ' && ln -s /etc/nginx /nginxlink' +
    ` && ln -s ${'../'.repeat(30)}tmp /escape` +
    ' && ln -s /etc /hostetc',
].join('\n');

const DIR_FILE_HINT = 'Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';

describe('bind-mounting single files', () => {
  let d: TestDaemon;
  let host: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    const ctx = await context({ Dockerfile: DOCKERFILE });
    const b = await d.berth(['build', '-q', '-t', IMAGE, ctx]);
    await fs.rm(ctx, { recursive: true, force: true });
    assert.equal(b.code, 0, b.stderr);
    host = path.join(d.dir, 'host');
    await fs.mkdir(path.join(host, 'confdir'), { recursive: true });
    await fs.writeFile(path.join(host, 'nginx.conf'), 'server { listen 80; }\n');
    await fs.writeFile(path.join(host, 'init.sql'), 'CREATE TABLE t (id int);\n');
    await fs.writeFile(path.join(host, 'db_password'), 's3cret\n', { mode: 0o600 });
    await fs.writeFile(path.join(host, 'app.yml'), 'level: debug\n');
    await fs.writeFile(path.join(host, 'hosts'), '10.9.8.7 db.internal\n');
  });
  after(async () => d.cleanup());

  const ok = (r: { code: number; stdout: string; stderr: string }) => {
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const h = (name: string) => path.join(host, name);

  it('-v nginx.conf:/etc/nginx/conf.d/default.conf:ro replaces the image\'s file, read-only (docker CLI and berth)', async () => {
    const spec = `${h('nginx.conf')}:/etc/nginx/conf.d/default.conf:ro`;
    assert.equal(ok(await d.docker(['run', '--rm', '-v', spec, IMAGE, 'cat', '/etc/nginx/conf.d/default.conf'])), 'server { listen 80; }\n');
    const w = await d.berth(['run', '--rm', '-v', spec, IMAGE, 'sh', '-c', 'echo x > /etc/nginx/conf.d/default.conf']);
    assert.equal(w.code, 1);
    assert.match(w.stderr, /Read-only file system/);
    // The host file is a file still, untouched.
    assert.equal(await fs.readFile(h('nginx.conf'), 'utf8'), 'server { listen 80; }\n');
  });

  it('compose\'s ./db/init.sql:/docker-entrypoint-initdb.d/init.sql:ro sent as HostConfig.Binds; parent directories made in the rootfs', async () => {
    const r = await api(d.socket, 'POST', '/v1.41/containers/create?name=db', {
      Image: IMAGE,
      Cmd: ['sh', '-c', 'ls -ld /docker-entrypoint-initdb.d | cut -c1; cat /docker-entrypoint-initdb.d/init.sql'],
      HostConfig: { Binds: [`${h('init.sql')}:/docker-entrypoint-initdb.d/init.sql:ro`] },
    });
    assert.equal(r.status, 201, r.body);
    assert.equal(ok(await d.docker(['start', '-a', 'db'])), 'd\nCREATE TABLE t (id int);\n');
    // compose's restart: the mount point the first start made is there already.
    assert.equal(ok(await d.docker(['start', '-a', 'db'])), 'd\nCREATE TABLE t (id int);\n');
    ok(await d.docker(['rm', 'db']));
  });

  it('-v /etc/localtime:/etc/localtime:ro: the host\'s symlink is followed, a regular file inside', async () => {
    const out = ok(await d.docker(['run', '--rm', '-v', '/etc/localtime:/etc/localtime:ro', IMAGE, 'sh', '-c', 'ls -l /etc/localtime | cut -c1; md5sum < /etc/localtime']));
    const md5 = createHash('md5').update(await fs.readFile('/etc/localtime')).digest('hex');
    assert.equal(out, `-\n${md5}  -\n`);
  });

  it('a secret file with --mount type=bind,readonly under --read-only, at /run/secrets which the image lacks', async () => {
    const r = await d.docker(['run', '--rm', '--read-only', '--mount', `type=bind,source=${h('db_password')},target=/run/secrets/db_password,readonly`, IMAGE, 'sh', '-c', 'cat /run/secrets/db_password; touch /x || echo root-ro; echo y > /run/secrets/db_password || echo secret-ro']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 's3cret\nroot-ro\nsecret-ro\n');
    assert.match(r.stderr, /touch: \/x: Read-only file system/);
  });

  it('the daemon\'s own socket: -v SOCKET:/var/run/docker.sock is a socket inside', async () => {
    const out = ok(await d.berth(['run', '--rm', '-v', `${d.socket}:/var/run/docker.sock`, IMAGE, 'sh', '-c', 'test -S /var/run/docker.sock && echo socket']));
    assert.equal(out, 'socket\n');
  });

  it('a config into a directory the image does not have; writes through a rw file bind reach the host', async () => {
    const out = ok(await d.docker(['run', '--rm', '-v', `${h('app.yml')}:/opt/app/config/app.yml`, IMAGE, 'sh', '-c', 'ls /opt/app/config; echo "port: 8080" >> /opt/app/config/app.yml']));
    assert.equal(out, 'app.yml\n');
    assert.equal(await fs.readFile(h('app.yml'), 'utf8'), 'level: debug\nport: 8080\n');
    // Nothing was made on the host beside the file.
    assert.deepEqual((await fs.readdir(host)).sort(), ['app.yml', 'confdir', 'db_password', 'hosts', 'init.sql', 'nginx.conf']);
  });

  it('a user\'s /etc/hosts file replaces berth\'s', async () => {
    assert.equal(ok(await d.docker(['run', '--rm', '-v', `${h('hosts')}:/etc/hosts:ro`, IMAGE, 'cat', '/etc/hosts'])), '10.9.8.7 db.internal\n');
  });

  it('targets through symlinks are resolved inside the container\'s root, never on the host', async () => {
    // /nginxlink -> /etc/nginx: the file lands on the image's default.conf.
    assert.equal(ok(await d.docker(['run', '--rm', '-v', `${h('nginx.conf')}:/nginxlink/conf.d/default.conf:ro`, IMAGE, 'cat', '/etc/nginx/conf.d/default.conf'])), 'server { listen 80; }\n');
    // /escape -> ../../(x30)/tmp and /hostetc -> /etc: the container's /tmp and /etc, not the host's.
    const name = `berth-escape-${path.basename(d.dir)}`;
    const r = await d.berth(['run', '--rm', '-v', `${h('init.sql')}:/escape/${name}:ro`, '-v', `${h('hosts')}:/hostetc/${name}:ro`, IMAGE, 'sh', '-c', `cat /tmp/${name} /etc/${name}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'CREATE TABLE t (id int);\n10.9.8.7 db.internal\n');
    assert.equal(existsSync(`/tmp/${name}`), false);
    assert.equal(existsSync(`/etc/${name}`), false);
    // The working directory is made inside the root too.
    assert.equal(ok(await d.berth(['run', '--rm', '-w', `/hostetc/${name}-wd`, IMAGE, 'pwd'])), `/etc/${name}-wd\n`);
    assert.equal(existsSync(`/etc/${name}-wd`), false);
  });

  it('--volumes-from carries a file bind (and its :ro)', async () => {
    ok(await d.docker(['create', '--name', 'conf-holder', '-v', `${h('nginx.conf')}:/etc/app.conf:ro`, IMAGE, 'true']));
    const r = await d.docker(['run', '--rm', '--volumes-from', 'conf-holder', IMAGE, 'sh', '-c', 'cat /etc/app.conf; echo x >> /etc/app.conf']);
    assert.equal(r.stdout, 'server { listen 80; }\n');
    assert.match(r.stderr, /Read-only file system/);
    ok(await d.docker(['rm', 'conf-holder']));
  });

  it('docker cp reads a file bind, running or stopped', async () => {
    const src = h('cp.conf');
    await fs.writeFile(src, 'cp-me\n');
    ok(await d.docker(['run', '-d', '--name', 'cpfile', '-v', `${src}:/etc/nginx/conf.d/default.conf`, IMAGE, 'sleep', '1000']));
    const out = path.join(d.dir, 'cp-out');
    ok(await d.docker(['cp', 'cpfile:/etc/nginx/conf.d/default.conf', out]));
    assert.equal(await fs.readFile(out, 'utf8'), 'cp-me\n');
    ok(await d.docker(['stop', '-t', '0', 'cpfile']));
    await fs.rm(out);
    ok(await d.docker(['cp', 'cpfile:/etc/nginx/conf.d/default.conf', out]));
    assert.equal(await fs.readFile(out, 'utf8'), 'cp-me\n');
    ok(await d.docker(['rm', 'cpfile']));
    await fs.rm(out);
    await fs.rm(src);
  });

  it('tmpfs and volumes at paths the image lacks, under --read-only', async () => {
    ok(await d.docker(['volume', 'create', 'filesvol']));
    const out = ok(await d.docker(['run', '--rm', '--read-only', '--tmpfs', '/new/deep/tmp', '--mount', 'type=tmpfs,target=/other/tmp', '-v', 'filesvol:/srv/data/vol', IMAGE, 'sh', '-c', 'touch /new/deep/tmp/a /other/tmp/b /srv/data/vol/c && echo ok']));
    assert.equal(out, 'ok\n');
    ok(await d.docker(['volume', 'rm', 'filesvol']));
  });

  it('a missing -v source is made a directory on the host, as dockerd does', async () => {
    const src = h('made-by-v');
    assert.equal(ok(await d.berth(['run', '--rm', '-v', `${src}:/etc/made`, IMAGE, 'sh', '-c', 'ls -ld /etc/made | cut -c1'])), 'd\n');
    assert.equal((await fs.stat(src)).isDirectory(), true);
    await fs.rmdir(src);
  });

  it('--mount with BindOptions.CreateMountpoint (API 1.42): a missing source is made a directory at start', async () => {
    const src = h('made-by-mount');
    const r = await api(d.socket, 'POST', '/v1.42/containers/create?name=createmp', {
      Image: IMAGE,
      Cmd: ['sh', '-c', 'ls -ld /etc/made | cut -c1'],
      HostConfig: { Mounts: [{ Type: 'bind', Source: src, Target: '/etc/made', BindOptions: { CreateMountpoint: true } }] },
    });
    assert.equal(r.status, 201, r.body);
    assert.equal(ok(await d.docker(['start', '-a', 'createmp'])), 'd\n');
    assert.equal((await fs.stat(src)).isDirectory(), true);
    ok(await d.docker(['rm', 'createmp']));
    await fs.rmdir(src);
  });

  it('a file onto an image directory and a directory onto an image file: dockerd\'s error, exit 125, nothing left', async () => {
    const before = mountsUnder(d.dir).length;
    for (const [src, dest] of [
      [h('nginx.conf'), '/etc'],
      [h('confdir'), '/etc/nginx/conf.d/default.conf'],
    ] as const) {
      const r = await d.docker(['run', '--name', 'wrongtype', '-v', `${src}:${dest}`, IMAGE, 'true']);
      assert.equal(r.code, 125, r.stderr);
      assert.ok(r.stderr.includes(`error mounting "${src}" to rootfs at "${dest}"`), r.stderr);
      assert.ok(r.stderr.includes(`not a directory: ${DIR_FILE_HINT}`) || r.stderr.includes(`not a directory: unknown: ${DIR_FILE_HINT}`), r.stderr);
      const state = ok(await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'wrongtype']));
      assert.match(state, /^(created|exited) 127\n$/);
      assert.equal(mountsUnder(d.dir).length, before);
      ok(await d.docker(['rm', 'wrongtype']));
    }
  });

  it('a volume onto an image file is refused at create (nothing created); a tmpfs there fails with dockerd\'s hint', async () => {
    const v = await d.docker(['run', '--name', 'volfile', '-v', 'volfile:/etc/nginx/conf.d/default.conf', IMAGE, 'true']);
    assert.equal(v.code, 125);
    assert.match(v.stderr, /^docker: Error response from daemon: source \/\S+\/etc\/nginx\/conf.d\/default.conf is not directory\n/);
    assert.equal((await d.docker(['inspect', 'volfile'])).code, 1);
    assert.equal((await d.docker(['volume', 'ls', '-q', '--filter', 'name=volfile'])).stdout, '');
    const t = await d.docker(['run', '--rm', '--tmpfs', '/etc/nginx/conf.d/default.conf', IMAGE, 'true']);
    assert.equal(t.code, 125);
    assert.ok(t.stderr.includes('error mounting "tmpfs" to rootfs at "/etc/nginx/conf.d/default.conf"'), t.stderr);
    assert.ok(t.stderr.includes(DIR_FILE_HINT), t.stderr);
  });

  it('side by side with dockerd 20.10: the same output and exit code for each way of binding a file', async () => {
    const ref = await PrivateDockerd.start();
    const archive = path.join(d.dir, 'files-img.tar');
    try {
      ok(await d.berth(['save', '-o', archive, IMAGE]));
      const loaded = await ref.docker(['load', '-i', archive]);
      assert.equal(loaded.code, 0, loaded.stderr);
      const cases = [
        ['-v', `${h('nginx.conf')}:/etc/nginx/conf.d/default.conf:ro`, IMAGE, 'sh', '-c', 'cat /etc/nginx/conf.d/default.conf; echo x > /etc/nginx/conf.d/default.conf'],
        ['-v', `${h('init.sql')}:/docker-entrypoint-initdb.d/init.sql:ro`, IMAGE, 'ls', '-la', '/docker-entrypoint-initdb.d/init.sql'],
        ['-v', '/etc/localtime:/etc/localtime:ro', IMAGE, 'date', '+%Z'],
        ['--read-only', '--mount', `type=bind,source=${h('db_password')},target=/run/secrets/db_password,readonly`, IMAGE, 'sh', '-c', 'cat /run/secrets/db_password; touch /run/x'],
        ['-v', `${h('nginx.conf')}:/nginxlink/conf.d/default.conf`, IMAGE, 'cat', '/etc/nginx/conf.d/default.conf'],
        ['-v', `${h('nginx.conf')}:/etc`, IMAGE, 'true'],
        ['-v', `${h('confdir')}:/etc/nginx/conf.d/default.conf`, IMAGE, 'true'],
        ['--tmpfs', '/etc/nginx/conf.d/default.conf', IMAGE, 'true'],
        ['-v', 'sidevol:/etc/nginx/conf.d/default.conf', IMAGE, 'true'],
        ['--mount', `type=bind,source=${h('absent')},target=/etc/absent`, IMAGE, 'true'],
      ];
      for (const args of cases) {
        const run = ['run', '--rm', '--network', 'none', ...args];
        const [a, b] = [await d.docker(run), await ref.docker(run)];
        const hint = (r: { stderr: string }) => [/Are you trying to mount a directory onto a file/.test(r.stderr), /is not directory/.test(r.stderr), /bind source path does not exist/.test(r.stderr), /Read-only file system/.test(r.stderr)];
        assert.deepEqual([a.code, a.stdout, hint(a)], [b.code, b.stdout, hint(b)], `${args.join(' ')}\nberth: ${a.stderr}\ndockerd: ${b.stderr}`);
      }
    } finally {
      await ref.stop();
      await fs.rm(archive, { force: true });
      await d.docker(['volume', 'rm', 'sidevol']);
    }
  });

  it('fault: a --mount file source removed between create and start: dockerd\'s 400, the container stays created, nothing mounted or made', async () => {
    const src = h('vanishing.conf');
    await fs.writeFile(src, 'here\n');
    ok(await d.docker(['create', '--name', 'vanish', '--mount', `type=bind,source=${src},target=/etc/vanish.conf`, IMAGE, 'cat', '/etc/vanish.conf']));
    await fs.rm(src);
    const before = mountsUnder(d.dir).length;
    const r = await d.docker(['start', 'vanish']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ${src}\nError: failed to start containers: vanish\n`);
    const viaApi = await api(d.socket, 'POST', '/containers/vanish/start', {});
    assert.equal(viaApi.status, 400);
    assert.equal(existsSync(src), false);
    assert.equal(mountsUnder(d.dir).length, before);
    assert.equal(ok(await d.berth(['inspect', '-f', '{{.State.Status}} {{.State.Error}}', 'vanish'])), 'created \n');
    // Put back, it starts.
    await fs.writeFile(src, 'back\n');
    assert.equal(ok(await d.docker(['start', '-a', 'vanish'])), 'back\n');
    ok(await d.docker(['rm', 'vanish']));
  });

  it('fault: a -v file source removed after a first run: a directory is made for it and mounting it onto the file fails with dockerd\'s hint; nothing left mounted', async () => {
    const src = h('vanishing-v.conf');
    await fs.writeFile(src, 'v\n');
    assert.equal(ok(await d.docker(['run', '--name', 'vanish-v', '-v', `${src}:/etc/vanish.conf`, IMAGE, 'cat', '/etc/vanish.conf'])), 'v\n');
    await fs.rm(src);
    const before = mountsUnder(d.dir).length;
    const r = await d.docker(['start', '-a', 'vanish-v']);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`error mounting "${src}" to rootfs at "/etc/vanish.conf"`), r.stderr);
    assert.ok(r.stderr.includes(DIR_FILE_HINT), r.stderr);
    assert.equal((await fs.stat(src)).isDirectory(), true);
    assert.equal(mountsUnder(d.dir).length, before);
    assert.equal(ok(await d.berth(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'vanish-v'])), 'exited 127\n');
    ok(await d.docker(['rm', 'vanish-v']));
    await fs.rmdir(src);
  });
});
