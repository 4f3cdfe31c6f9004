// Volumes and bind mounts as a user sees them: named volumes outliving containers, :ro, binds both ways,
// the image's content copied into new volumes, anonymous volumes and rm -v, --volumes-from, in-use
// refusals, prune, driver-mounted (tmpfs, bind) volumes across a daemon restart, the bad inputs (nothing
// left behind), and the real docker CLI. Real runc, real mounts, a private berthd.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestDaemon, mountsUnder } from './harness.js';


describe('volumes', () => {
  let d: TestDaemon;
  let hostDir: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    hostDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bvol-'));
  });
  after(async () => {
    await d.cleanup();
    await fs.rm(hostDir, { recursive: true, force: true });
  });

  const volumes = async () => (await d.berth(['volume', 'ls', '-q'])).stdout.split('\n').filter(Boolean).sort();
  const ok = (r: { code: number; stderr: string }) => assert.equal(r.code, 0, r.stderr);

  it('keeps a named volume\'s data across containers; create, ls, inspect, rm; events', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    assert.equal((await d.berth(['volume', 'create', '--label', 'tier=db', '--label', 'plain', 'data1'])).stdout, 'data1\n');
    ok(await d.berth(['run', '--name', 'w1', '-v', 'data1:/data', 'busybox', 'sh', '-c', 'echo persisted > /data/f']));
    ok(await d.berth(['rm', 'w1']));
    const r = await d.berth(['run', '--rm', '-v', 'data1:/data', 'busybox', 'cat', '/data/f']);
    assert.equal(r.stdout, 'persisted\n', r.stderr);
    // Created implicitly by -v as well.
    ok(await d.berth(['run', '--rm', '-v', 'data2:/d', 'busybox', 'true']));
    const ls = await d.berth(['volume', 'ls']);
    assert.match(ls.stdout, /^DRIVER\s+VOLUME NAME\nlocal\s+data1\nlocal\s+data2\n$/);
    assert.equal((await d.berth(['volume', 'ls', '-q', '--filter', 'label=tier=db'])).stdout, 'data1\n');
    assert.equal((await d.berth(['volume', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}} {{.Label "tier"}}', '-f', 'name=data1'])).stdout, 'data1 local local plain=,tier=db db\n');
    const v = JSON.parse((await d.berth(['volume', 'inspect', 'data1'])).stdout)[0];
    assert.deepEqual(Object.keys(v), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    assert.equal(v.Mountpoint, path.join(d.root, 'volumes/data1/_data'));
    assert.deepEqual(v.Labels, { tier: 'db', plain: '' });
    assert.equal(v.Options, null);
    assert.equal(v.Scope, 'local');
    assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(await fs.readFile(path.join(v.Mountpoint, 'f'), 'utf8'), 'persisted\n');
    const missing = await d.berth(['volume', 'inspect', 'nosuch']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error response from daemon: get nosuch: no such volume\n');
    assert.equal((await d.berth(['volume', 'rm', 'data1', 'data2'])).stdout, 'data1\ndata2\n');
    assert.equal((await d.berth(['volume', 'rm', 'data1'])).stderr, 'Error response from daemon: get data1: no such volume\n');
    ok(await d.berth(['volume', 'rm', '-f', 'data1']));
    assert.equal(existsSync(path.join(d.root, 'volumes/data1')), false);
    const ev = await d.berth(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'volume=data1', '--format', '{{.Action}}']);
    assert.equal(ev.stdout, 'create\nmount\nunmount\nmount\nunmount\ndestroy\n');
    const mountEv = await d.berth(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'volume=data1', '--filter', 'event=mount', '--format', '{{json .Actor.Attributes}}']);
    const attrs = JSON.parse(mountEv.stdout.split('\n')[0]!);
    assert.deepEqual(Object.keys(attrs).sort(), ['container', 'destination', 'driver', 'propagation', 'read/write']);
    assert.equal(attrs.destination, '/data');
  });

  it('refuses writes through :ro (-v and --mount readonly)', async () => {
    ok(await d.berth(['volume', 'create', 'rov']));
    const w = await d.berth(['run', '--rm', '-v', 'rov:/data:ro', 'busybox', 'sh', '-c', 'echo x > /data/x']);
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /Read-only file system/);
    const m = await d.berth(['run', '--rm', '--mount', 'source=rov,target=/data,readonly', 'busybox', 'touch', '/data/y']);
    assert.match(m.stderr, /Read-only file system/);
    const b = await d.berth(['run', '--rm', '-v', `${hostDir}:/h:ro`, 'busybox', 'touch', '/h/z']);
    assert.match(b.stderr, /Read-only file system/);
    assert.deepEqual(await fs.readdir(path.join(d.root, 'volumes/rov/_data')), []);
    ok(await d.berth(['volume', 'rm', 'rov']));
  });

  it('bind mounts both ways; -v creates a missing host directory, --mount refuses it', async () => {
    await fs.writeFile(path.join(hostDir, 'in.txt'), 'from host\n');
    const r = await d.berth(['run', '--rm', '-v', `${hostDir}:/h`, 'busybox', 'sh', '-c', 'cat /h/in.txt; echo from container > /h/out.txt']);
    assert.equal(r.stdout, 'from host\n', r.stderr);
    assert.equal(await fs.readFile(path.join(hostDir, 'out.txt'), 'utf8'), 'from container\n');
    const m = await d.berth(['run', '--rm', '--mount', `type=bind,source=${hostDir},target=/m`, 'busybox', 'cat', '/m/out.txt']);
    assert.equal(m.stdout, 'from container\n', m.stderr);
    const created = path.join(hostDir, 'new/sub');
    ok(await d.berth(['run', '--rm', '-v', `${created}:/n`, 'busybox', 'touch', '/n/made']));
    assert.ok((await fs.stat(created)).isDirectory());
    assert.equal(((await fs.stat(created)).mode & 0o777).toString(8), '755');
    const missing = path.join(hostDir, 'absent');
    const e = await d.berth(['run', '--rm', '--mount', `type=bind,source=${missing},target=/x`, 'busybox', 'true']);
    assert.equal(e.code, 125);
    assert.match(e.stderr, new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${missing}`));
    assert.equal(existsSync(missing), false);
    // Nested: a bind inside a volume's mount point, mounted after its parent.
    ok(await d.berth(['volume', 'create', 'outer']));
    const nested = await d.berth(['run', '--rm', '-v', `${hostDir}:/o/inner`, '-v', 'outer:/o', 'busybox', 'cat', '/o/inner/in.txt']);
    assert.equal(nested.stdout, 'from host\n', nested.stderr);
    ok(await d.berth(['volume', 'rm', 'outer']));
  });

  it("copies the image's content into a new volume (modes, owners, symlinks), not with nocopy", async () => {
    const ctx = await fs.mkdtemp(path.join(os.tmpdir(), 'bvctx-'));
    await fs.writeFile(
      path.join(ctx, 'Dockerfile'),
      'FROM busybox\nRUN mkdir -p /data/sub && echo hi > /data/sub/f && chown -R 1000:1000 /data && chmod 750 /data && ln -s sub/f /data/link\nVOLUME /data\n',
    );
    ok(await d.berth(['build', '-q', '-t', 'withvol', ctx]));
    await fs.rm(ctx, { recursive: true, force: true });
    const r = await d.berth(['run', '--rm', '-v', 'cu:/data', 'withvol', 'sh', '-c', 'stat -c "%a %u:%g %N" /data /data/sub /data/link; cat /data/link']);
    assert.equal(r.stdout, "750 1000:1000 /data\n755 1000:1000 /data/sub\n777 0:0 '/data/link' -> 'sub/f'\nhi\n", r.stderr);
    const data = path.join(d.root, 'volumes/cu/_data');
    const st = await fs.stat(data);
    assert.equal(`${(st.mode & 0o777).toString(8)} ${st.uid}`, '750 1000');
    assert.equal(await fs.readlink(path.join(data, 'link')), 'sub/f');
    // A volume with content keeps it: the next image's content is not copied over it.
    await fs.writeFile(path.join(data, 'sub/f'), 'changed\n');
    assert.equal((await d.berth(['run', '--rm', '-v', 'cu:/data', 'withvol', 'cat', '/data/sub/f'])).stdout, 'changed\n');
    const nc = await d.berth(['run', '--rm', '-v', 'nc:/data:nocopy', 'withvol', 'ls', '-A', '/data']);
    assert.equal(nc.stdout, '', nc.stderr);
    const ncm = await d.berth(['run', '--rm', '--mount', 'source=ncm,target=/data,volume-nocopy', 'withvol', 'ls', '-A', '/data']);
    assert.equal(ncm.stdout, '', ncm.stderr);
    // The image's VOLUME becomes an anonymous volume with the content; --rm removes it.
    const before = await volumes();
    const anon = await d.berth(['run', '--rm', 'withvol', 'sh', '-c', 'cat /data/sub/f; grep -c " /data " /proc/mounts']);
    assert.equal(anon.stdout, 'hi\n1\n', anon.stderr);
    assert.deepEqual(await volumes(), before);
    ok(await d.berth(['volume', 'rm', 'cu', 'nc', 'ncm']));
  });

  it('makes anonymous volumes for -v /path: rm -v removes them, rm alone keeps them', async () => {
    const id = (await d.berth(['create', '-v', '/anon', 'busybox', 'sh', '-c', 'echo a > /anon/f'])).stdout.trim();
    const [mount] = JSON.parse((await d.berth(['inspect', '-f', '{{json .Mounts}}', id])).stdout);
    assert.equal(mount.Type, 'volume');
    assert.match(mount.Name, /^[0-9a-f]{64}$/);
    assert.equal(mount.Source, path.join(d.root, 'volumes', mount.Name, '_data'));
    assert.deepEqual({ ...mount, Name: '', Source: '' }, { Type: 'volume', Name: '', Source: '', Destination: '/anon', Driver: 'local', Mode: '', RW: true, Propagation: '' });
    assert.equal((await d.berth(['inspect', '-f', '{{json .Config.Volumes}}', id])).stdout, '{"/anon":{}}\n');
    const labels = JSON.parse((await d.berth(['volume', 'inspect', '-f', '{{json .Labels}}', mount.Name])).stdout);
    assert.deepEqual(labels, { 'com.docker.volume.anonymous': '' });
    ok(await d.berth(['start', '-a', id]));
    ok(await d.berth(['rm', '-v', id]));
    assert.equal((await volumes()).includes(mount.Name), false, 'rm -v removed the anonymous volume');

    const id2 = (await d.berth(['create', '-v', '/anon', '-v', 'keepme:/named', 'busybox', 'true'])).stdout.trim();
    const name2 = (await d.berth(['inspect', '-f', '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}', id2])).stdout.trim();
    ok(await d.berth(['rm', id2]));
    assert.ok((await volumes()).includes(name2), 'rm without -v keeps it');
    const id3 = (await d.berth(['create', '-v', 'keepme:/named', 'busybox', 'true'])).stdout.trim();
    ok(await d.berth(['rm', '-v', id3]));
    assert.ok((await volumes()).includes('keepme'), 'rm -v keeps named volumes');
    ok(await d.berth(['volume', 'rm', name2, 'keepme']));
  });

  it('shares volumes with --volumes-from (and :ro); shows mounts in inspect and ps', async () => {
    ok(await d.berth(['run', '--name', 'store', '-v', '/shared', '-v', 'vf:/named', '-v', `${hostDir}:/hb`, 'busybox', 'sh', '-c', 'echo s > /shared/f; echo n > /named/f']));
    const r = await d.berth(['run', '--rm', '--volumes-from', 'store', 'busybox', 'sh', '-c', 'cat /shared/f /named/f /hb/in.txt; echo w > /shared/w']);
    assert.equal(r.stdout, 's\nn\nfrom host\n', r.stderr);
    const ro = await d.berth(['run', '--rm', '--volumes-from', 'store:ro', 'busybox', 'sh', '-c', 'cat /shared/w; touch /named/x']);
    assert.equal(ro.stdout, 'w\n');
    assert.match(ro.stderr, /Read-only file system/);
    const hc = JSON.parse((await d.berth(['inspect', '-f', '{{json .HostConfig.Binds}}', 'store'])).stdout);
    assert.deepEqual(hc, ['vf:/named', `${hostDir}:/hb`]);
    const mounts = JSON.parse((await d.berth(['inspect', '-f', '{{json .Mounts}}', 'store'])).stdout) as { Destination: string; Mode: string; Type: string }[];
    assert.deepEqual(mounts.map((m) => `${m.Type} ${m.Destination} ${m.Mode}`).sort(), ['bind /hb ', 'volume /named z', 'volume /shared ']);
    const ps = await d.berth(['ps', '-a', '--filter', 'volume=vf', '--format', '{{.Names}} {{.Mounts}}']);
    assert.match(ps.stdout, /^store (.+,)?vf(,.+)?\n$/);
    assert.equal((await d.berth(['ps', '-a', '-q', '--filter', 'volume=/shared'])).stdout.trim().length, 12);
    ok(await d.berth(['rm', '-v', 'store']));
    ok(await d.berth(['volume', 'rm', 'vf']));
  });

  it('refuses to remove a volume in use, by running and stopped containers alike', async () => {
    const id = (await d.berth(['run', '-d', '-v', 'busy:/b', 'busybox', 'sleep', '300'])).stdout.trim();
    const rm = await d.berth(['volume', 'rm', 'busy']);
    assert.equal(rm.code, 1);
    assert.equal(rm.stderr, `Error response from daemon: remove busy: volume is in use - [${id}]\n`);
    const forced = await d.berth(['volume', 'rm', '-f', 'busy']);
    assert.match(forced.stderr, /volume is in use/);
    assert.equal((await d.berth(['volume', 'ls', '-q', '--filter', 'dangling=true'])).stdout.includes('busy'), false);
    ok(await d.berth(['stop', '-t', '1', id]));
    assert.match((await d.berth(['volume', 'rm', 'busy'])).stderr, /volume is in use/);
    ok(await d.berth(['rm', id]));
    assert.equal((await d.berth(['volume', 'ls', '-q', '--filter', 'dangling=true'])).stdout, 'busy\n');
    ok(await d.berth(['volume', 'rm', 'busy']));
  });

  it('prunes unused volumes (anonymous ones unless --all) and reports the space reclaimed', async () => {
    ok(await d.berth(['run', '--name', 'anonuser', '-v', '/a', 'busybox', 'true']));
    ok(await d.berth(['run', '--rm', '-v', 'pn1:/p', 'busybox', 'sh', '-c', 'printf 12345 > /p/f']));
    ok(await d.berth(['run', '--rm', '--label', 'x=y', '--mount', 'source=pn2,target=/p,volume-label=keep=1', 'busybox', 'true']));
    ok(await d.berth(['volume', 'create', 'used']));
    const holder = (await d.berth(['create', '-v', 'used:/u', 'busybox', 'true'])).stdout.trim();
    const anonName = (await d.berth(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'anonuser'])).stdout.trim();
    ok(await d.berth(['rm', 'anonuser']));
    // Without --all only anonymous ones.
    const p1 = await d.berth(['volume', 'prune', '-f']);
    assert.equal(p1.stdout, `Deleted Volumes:\n${anonName}\n\nTotal reclaimed space: 0B\n`);
    // The label filter, then everything unused.
    const p2 = await d.berth(['volume', 'prune', '-af', '--filter', 'label=keep=1']);
    assert.equal(p2.stdout, 'Deleted Volumes:\npn2\n\nTotal reclaimed space: 0B\n');
    const p3 = await d.berth(['volume', 'prune', '--all'], { input: 'y\n' });
    assert.match(p3.stdout, /^WARNING! This will remove all local volumes not used by at least one container\.\nAre you sure you want to continue\? \[y\/N\] \n?Deleted Volumes:\npn1\n\nTotal reclaimed space: 5B\n$/);
    assert.equal((await d.berth(['volume', 'prune', '-f'])).stdout, 'Total reclaimed space: 0B\n');
    assert.deepEqual(await volumes(), ['used']);
    // The Engine API before 1.42 pruned every unused volume.
    ok(await d.berth(['rm', holder]));
    const old = await d.docker(['volume', 'prune', '-f'], { env: { DOCKER_API_VERSION: '1.41' } });
    assert.equal(old.code, 0, old.stderr);
    assert.match(old.stdout, /Deleted Volumes:\nused\n/);
  });

  it('mounts a tmpfs volume while it is used, across a daemon restart, and unmounts it after', async () => {
    ok(await d.berth(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m,mode=1770', 'tv']));
    const opts = JSON.parse((await d.berth(['volume', 'inspect', '-f', '{{json .Options}}', 'tv'])).stdout);
    assert.deepEqual(opts, { type: 'tmpfs', device: 'tmpfs', o: 'size=2m,mode=1770' });
    const data = path.join(d.root, 'volumes/tv/_data');
    assert.equal(mountsUnder(d.root).includes(data), false, 'mounted on first use only');
    const id = (await d.berth(['run', '-d', '-v', 'tv:/t', 'busybox', 'sh', '-c', 'df -k /t | tail -1; sleep 300'])).stdout.trim();
    assert.ok(mountsUnder(d.root).includes(data));
    ok(await d.berth(['exec', id, 'sh', '-c', 'echo kept > /t/k']));
    assert.match((await d.berth(['logs', id])).stdout, /^tmpfs\s+2048\s/);
    await d.stopProcess();
    await d.startProcess();
    assert.equal((await d.berth(['exec', id, 'cat', '/t/k'])).stdout, 'kept\n');
    ok(await d.berth(['rm', '-f', id]));
    assert.equal(mountsUnder(d.root).includes(data), false, 'unmounted when no longer used');
    assert.deepEqual(await fs.readdir(data), [], "the tmpfs's files were never on disk");
    // A bind-type volume (-o type=none,o=bind,device=DIR) and a driver mount that fails.
    await fs.writeFile(path.join(hostDir, 'dev.txt'), 'device\n');
    ok(await d.berth(['volume', 'create', '-o', 'type=none', '-o', `device=${hostDir}`, '-o', 'o=bind', 'bindvol']));
    const b = await d.berth(['run', '--rm', '-v', 'bindvol:/b', 'busybox', 'cat', '/b/dev.txt']);
    assert.equal(b.stdout, 'device\n', b.stderr);
    ok(await d.berth(['volume', 'create', '-o', 'type=none', '-o', `device=${hostDir}/nodev`, '-o', 'o=bind', 'badvol']));
    const bad = await d.berth(['run', '--rm', '-v', 'badvol:/b', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /error while mounting volume '.*\/volumes\/badvol\/_data': failed to mount local volume: /);
    ok(await d.berth(['volume', 'rm', 'tv', 'bindvol', 'badvol']));
    assert.equal(await fs.readFile(path.join(hostDir, 'dev.txt'), 'utf8'), 'device\n', "removing a bind-type volume leaves the host's files");
    const noDevice = await d.berth(['volume', 'create', '-o', 'type=tmpfs', 'nodev']);
    assert.equal(noDevice.stderr, 'Error response from daemon: create nodev: missing required option: "device"\n');
    assert.match((await d.berth(['volume', 'create', '-o', 'foo=bar', 'x1'])).stderr, /create x1: invalid option: "foo"/);
    assert.match((await d.berth(['volume', 'create', '-d', 'nfsish', 'x1'])).stderr, /create x1: error looking up volume plugin nfsish: plugin "nfsish" not found/);
  });

  it('keeps a read-only root writable at its volumes; --mount tmpfs with size and mode', async () => {
    const r = await d.berth(['run', '--rm', '--read-only', '-v', 'rw1:/data', '--mount', 'type=tmpfs,target=/scratch,tmpfs-size=1m,tmpfs-mode=1777', 'busybox', 'sh', '-c', 'echo ok > /data/f && cat /data/f && stat -c %a /scratch && df -k /scratch | tail -1; touch /nope']);
    assert.match(r.stdout, /^ok\n1777\ntmpfs\s+1024\s/);
    assert.match(r.stderr, /Read-only file system/);
    ok(await d.berth(['volume', 'rm', 'rw1']));
  });

  it('refuses bad input with dockerd\'s messages, creating nothing', async () => {
    const before = await volumes();
    const containers = (await d.berth(['ps', '-aq'])).stdout;
    const cases: [string[], RegExp][] = [
      [['-v', '/tmp:rel'], /invalid volume specification: '\/tmp:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute/],
      [['-v', 'bad@name:/x'], /create bad@name: "bad@name" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/],
      [['--mount', 'type=bind,foo=bar,target=/x'], /invalid argument "type=bind,foo=bar,target=\/x" for "--mount" flag: unexpected key 'foo' in 'foo=bar'/],
      [['--mount', 'type=tmpfs,source=x,target=/x'], /invalid mount config for type "tmpfs": field Source must not be specified/],
      [['--mount', 'type=volume,source=fresh1,target=rel'], /invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute/],
      [['-v', 'fresh2:/x', '-v', 'fresh3:/x'], /Duplicate mount point: \/x/],
      [['-v', 'fresh4:/y', '--mount', 'source=fresh5,target=/y'], /Duplicate mount point: \/y/],
      [['--tmpfs', '/z', '-v', 'fresh6:/z'], /Duplicate mount point: \/z/],
      [['-v', 'fresh7:/a', '-v', 'b:/x:bogus'], /invalid mode: bogus/],
      [['-v', 'fresh8:/a', '--volumes-from', 'nosuch'], /No such container: nosuch/],
      [['-v', 'fresh9:/a', '--mount', 'type=volume,source=fresh10,target=/b,volume-opt=type=tmpfs'], /create fresh10: missing required option: "device"/],
      [['-v', ':/x'], /invalid spec: :\/x: empty section between colons/],
    ];
    for (const [args, re] of cases) {
      const r = await d.berth(['run', '--rm', ...args, 'busybox', 'true']);
      assert.equal(r.code, 125, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
    }
    assert.deepEqual(await volumes(), before, 'no volume left behind');
    assert.equal((await d.berth(['ps', '-aq'])).stdout, containers, 'no container left behind');
    const bad = await d.berth(['volume', 'create', 'a@b']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'Error response from daemon: create a@b: "a@b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path\n');
    assert.match((await d.berth(['volume', 'ls', '-f', 'bogus=1'])).stderr, /invalid filter 'bogus'/);
    assert.match((await d.berth(['volume', 'ls', '-f', 'dangling=maybe'])).stderr, /invalid filter 'dangling=\[maybe\]'/);
  });

  it('serves the docker CLI: volume create/ls/inspect/rm, run -v, run --mount, system df', async () => {
    assert.equal((await d.docker(['volume', 'create', '--label', 'via=docker', 'dk'])).stdout, 'dk\n');
    assert.match((await d.docker(['volume', 'ls'])).stdout, /^DRIVER\s+VOLUME NAME\n(local\s+\S+\n)*local\s+dk\n/);
    assert.equal((await d.docker(['volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Labels.via}} {{.Scope}}', 'dk'])).stdout, 'dk local docker local\n');
    const w = await d.docker(['run', '--rm', '-v', 'dk:/d', 'busybox', 'sh', '-c', 'echo via docker > /d/f']);
    assert.equal(w.code, 0, w.stderr);
    const r = await d.docker(['run', '--rm', '--mount', 'type=volume,source=dk,target=/d,readonly', 'busybox', 'sh', '-c', 'cat /d/f; touch /d/x']);
    assert.equal(r.stdout, 'via docker\n');
    assert.match(r.stderr, /Read-only file system/);
    const b = await d.docker(['run', '--rm', '--mount', `type=bind,source=${hostDir},target=/h`, '-v', `${hostDir}:/v:ro`, 'busybox', 'cat', '/h/in.txt', '/v/in.txt']);
    assert.equal(b.stdout, 'from host\nfrom host\n', b.stderr);
    const e = await d.docker(['run', '--rm', '--mount', `type=bind,source=${hostDir}/absent,target=/h`, 'busybox', 'true']);
    assert.equal(e.code, 125);
    assert.match(e.stderr, /invalid mount config for type "bind": bind source path does not exist: .*\/absent/);
    const df = await d.docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Size}}']);
    assert.match(df.stdout, /^Local Volumes \d+ \d/m);
    const inUse = (await d.docker(['create', '-v', 'dk:/d', 'busybox'])).stdout.trim();
    const rm = await d.docker(['volume', 'rm', 'dk']);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, new RegExp(`remove dk: volume is in use - \\[${inUse}\\]`));
    assert.equal((await d.docker(['rm', inUse])).code, 0);
    assert.equal((await d.docker(['volume', 'rm', 'dk'])).stdout, 'dk\n');
    assert.equal((await d.docker(['volume', 'inspect', 'dk'])).code, 1);
  });
});
