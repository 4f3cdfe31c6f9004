// -v and --mount as the docker CLI reads them and as dockerd checks them: the parsers, the plan of a
// container's mount points, and the OCI mounts they become.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags } from '../../src/cli/flags.js';
import { buildCreateRequest, CONTAINER_FLAGS, parseMount, parseVolumeSpec, RUN_ONLY_FLAGS, type MappingEnv } from '../../src/cli/run-options.js';
import {
  ANONYMOUS_LABEL,
  ociMounts,
  parseBind,
  parseVolumesFrom,
  planMounts,
  tmpfsData,
  validateMountConfig,
  validMountMode,
  volumeNameError,
  type MountPointRecord,
  type PlanInput,
} from '../../src/engine/volumes/mounts.js';
import type { HostConfig } from '../../src/api/types.js';
import { buildSpec } from '../../src/engine/runtime/spec.js';

const ENV: MappingEnv = { readFile: () => '', getenv: () => undefined, cwd: () => '/work/dir' };
const body = (argv: string[]) => buildCreateRequest(parseFlags([...CONTAINER_FLAGS, ...RUN_ONLY_FLAGS], argv, { stopAtFirstArg: true }), ENV).body;

test('CLI: -v with a source is a bind (Binds), a lone path an anonymous volume (Volumes); ./ paths made absolute', () => {
  const b = body(['-v', '/data', '-v', 'vol:/v:ro', '-v', '/h:/c', '-v', './rel:/r:ro', '-v', '.:/dot', 'busybox']);
  assert.deepEqual(b.Volumes, { '/data': {} });
  assert.deepEqual(b.HostConfig?.Binds, ['vol:/v:ro', '/h:/c', '/work/dir/rel:/r:ro', '/work/dir:/dot']);
});

test('CLI: -v spec errors as the docker CLI words them', () => {
  assert.throws(() => parseVolumeSpec(':/x'), /^Error: invalid spec: :\/x: empty section between colons$/);
  assert.throws(() => parseVolumeSpec('a:b:c:d'), /invalid spec: a:b:c:d: too many colons/);
  assert.throws(() => parseVolumeSpec(''), /invalid empty volume spec/);
  assert.deepEqual(parseVolumeSpec('/d'), { source: '', target: '/d', options: '' });
  assert.deepEqual(parseVolumeSpec('v:/d:ro,nocopy'), { source: 'v', target: '/d', options: 'ro,nocopy' });
});

test('CLI: --mount keys, aliases, flags without values, CSV quoting', () => {
  assert.deepEqual(parseMount('source=v,target=/d'), { Type: 'volume', Source: 'v', Target: '/d' });
  assert.deepEqual(parseMount('type=bind,src=/a,dst=/b,ro,bind-propagation=rshared'), {
    Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true, BindOptions: { Propagation: 'rshared' },
  });
  assert.deepEqual(parseMount('type=volume,source=v,destination=/d,volume-nocopy,volume-label=a=b,"volume-opt=o=size=1m,uid=1000",volume-opt=type=tmpfs,volume-opt=device=tmpfs'), {
    Type: 'volume', Source: 'v', Target: '/d',
    VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Options: { o: 'size=1m,uid=1000', type: 'tmpfs', device: 'tmpfs' } } },
  });
  assert.deepEqual(parseMount('type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770,readonly=false'), {
    Type: 'tmpfs', Target: '/t', ReadOnly: false, TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1770 },
  });
  assert.deepEqual(parseMount('type=bind,source=./x,target=/x', ENV).Source, '/work/dir/x');
  assert.equal(parseMount('TYPE=BIND,src=/a,target=/b').Type, 'bind');
});

test('CLI: --mount errors', () => {
  const err = (s: string, re: RegExp) => assert.throws(() => parseMount(s), re);
  err('type=bind,foo=bar,target=/x', /^Error: invalid argument "type=bind,foo=bar,target=\/x" for "--mount" flag: unexpected key 'foo' in 'foo=bar'$/);
  err('type=bind,source=/a', /target is required/);
  err('type=bind,src=/tmp,dst=/x,volume-nocopy', /cannot mix 'volume-\*' options with mount type 'bind'/);
  err('type=volume,dst=/x,bind-propagation=shared', /cannot mix 'bind-\*' options with mount type 'volume'/);
  err('type=bind,src=/a,dst=/x,tmpfs-size=1m', /cannot mix 'tmpfs-\*' options with mount type 'bind'/);
  err('type=tmpfs,dst=/x,tmpfs-mode=9', /invalid value for tmpfs-mode: 9/);
  err('type=tmpfs,dst=/x,tmpfs-size=lots', /invalid value for tmpfs-size: lots/);
  err('type=bind,dst=/x,readonly=maybe', /invalid value for readonly: maybe/);
  err('type=bind,dst=/x,bogus', /invalid field 'bogus' must be a key=value pair/);
});

test('daemon: -v (Binds) parsed as dockerd does, with its errors', () => {
  const name = () => 'a'.repeat(64);
  assert.deepEqual(parseBind('/h:/c', '', name), { Type: 'bind', Source: '/h', Destination: '/c', Mode: '', RW: true, Propagation: 'rprivate', createSource: true });
  assert.deepEqual(parseBind('/h/:/c/:ro,rshared', '', name), { Type: 'bind', Source: '/h', Destination: '/c', Mode: 'ro,rshared', RW: false, Propagation: 'rshared', createSource: true });
  assert.deepEqual(parseBind('v:/d:nocopy', '', name), { Type: 'volume', Name: 'v', Source: '', Destination: '/d', Driver: 'local', Mode: 'nocopy', RW: true, Propagation: '', anonymous: false, copyData: false });
  assert.deepEqual(parseBind('/anon', '', name), { Type: 'volume', Name: name(), Source: '', Destination: '/anon', Driver: 'local', Mode: '', RW: true, Propagation: '', anonymous: true, copyData: true });
  const err = (s: string, re: RegExp) => assert.throws(() => parseBind(s), re);
  err('/tmp:rel', /^InvalidParameter: invalid volume specification: '\/tmp:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute$/);
  err('/x:ro', /^InvalidParameter: invalid volume specification: '\/x:ro'$/);
  err('a:/x:ro:z', /invalid volume specification: 'a:\/x:ro:z'$/);
  err('a:/x:bogus', /^InvalidParameter: invalid mode: bogus$/);
  err('/tmp:/x:rw,ro', /invalid mode: rw,ro/);
  err('/tmp:/', /invalid mount config for type "bind": invalid specification: destination can't be '\/'/);
  err('/data:/x:ro,nocopy', /invalid mount config for type "bind": field VolumeOptions must not be specified/);
  err(':/x', /invalid volume specification: ':\/x'/);
  assert.equal(validMountMode('ro,z,rshared,nocopy,cached'), true);
  assert.equal(validMountMode('ro,rw'), false);
});

test('daemon: --mount (Mounts) validated as dockerd does', () => {
  const ok = () => true;
  const no = () => false;
  const err = (m: Parameters<typeof validateMountConfig>[0], re: RegExp, exists = ok) => assert.throws(() => validateMountConfig(m, exists), re);
  err({ Type: 'bind', Source: '/x', Target: '/y' }, /^InvalidParameter: invalid mount config for type "bind": bind source path does not exist: \/x$/, no);
  err({ Type: 'bind', Target: '/y' }, /field Source must not be empty/);
  err({ Type: 'bind', Source: 'rel', Target: '/y' }, /invalid mount path: 'rel' mount path must be absolute/);
  err({ Type: 'bind', Source: '/x', Target: '/y', BindOptions: { Propagation: 'foo' } }, /invalid propagation mode: foo/);
  err({ Type: 'tmpfs', Source: 'foo', Target: '/y' }, /invalid mount config for type "tmpfs": field Source must not be specified/);
  err({ Type: 'volume', Target: 'rel' }, /invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute/);
  err({ Type: 'volume', Target: '/x', ReadOnly: true }, /must not set ReadOnly mode when using anonymous volumes/);
  err({ Type: 'foo', Target: '/x' }, /invalid mount config for type "foo": mount type unknown/);
  err({ Type: 'volume', Target: '' }, /field Target must not be empty/);
  validateMountConfig({ Type: 'bind', Source: '/x', Target: '/y' }, ok);
  validateMountConfig({ Type: 'bind', Source: '/x', Target: '/y' });
  assert.equal(tmpfsData({ SizeBytes: 1048576, Mode: 0o1777 }, true), 'ro,mode=1777,size=1m');
  assert.equal(tmpfsData({ SizeBytes: 1000 }, false), 'size=1000');
  assert.equal(tmpfsData({ SizeBytes: 3 * 2 ** 30 }, false), 'size=3g');
});

test('daemon: --volumes-from specs', () => {
  assert.deepEqual(parseVolumesFrom('c1'), { container: 'c1', mode: 'rw' });
  assert.deepEqual(parseVolumesFrom('c1:ro'), { container: 'c1', mode: 'ro' });
  assert.throws(() => parseVolumesFrom('c1:nocopy'), /^InvalidParameter: invalid mode: nocopy$/);
  assert.throws(() => parseVolumesFrom('c1:rshared'), /invalid mode: rshared/);
  assert.throws(() => parseVolumesFrom(''), /volumes-from specification cannot be an empty string/);
});

test('volume names as the local driver checks them', () => {
  assert.equal(volumeNameError('data_1.x-y'), undefined);
  assert.match(volumeNameError('foo@bar')!, /^"foo@bar" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed\. If you intended to pass a host directory, use absolute path$/);
  assert.match(volumeNameError('x')!, /volume name is too short/);
  assert.ok(volumeNameError('.hidden'));
});

function plan(hc: HostConfig, extra: Partial<PlanInput> = {}) {
  let n = 0;
  return planMounts({
    hostConfig: hc,
    containerMounts: () => {
      throw new Error('No such container: x');
    },
    exists: () => true,
    randomName: () => `anon${++n}`,
    dataPath: (name) => `/var/lib/berth/volumes/${name}/_data`,
    ...extra,
  });
}

test('plan: binds, mounts, image volumes; sources, modes, labels', () => {
  const p = plan(
    {
      Binds: ['named:/n', '/host:/h:ro', '/anonbind'],
      Mounts: [
        { Type: 'volume', Target: '/m', VolumeOptions: { Labels: { l: 'v' }, DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs' } } } },
        { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1024 } },
      ],
    },
    { volumes: { '/img': {}, '/n': {} } },
  );
  const byDest = Object.fromEntries(p.mounts.map((m) => [m.Destination, m]));
  assert.deepEqual(Object.keys(byDest), ['/n', '/h', '/anonbind', '/m', '/t', '/img']);
  assert.equal(byDest['/n']!.Mode, 'z');
  assert.equal(byDest['/n']!.Source, '/var/lib/berth/volumes/named/_data');
  assert.equal(byDest['/h']!.RW, false);
  assert.equal(byDest['/m']!.Name, 'anon2');
  assert.equal(byDest['/t']!.tmpfsData, 'size=1k');
  assert.equal(byDest['/img']!.Source, '', "an image VOLUME's Source stays empty, as in dockerd");
  assert.equal(byDest['/img']!.anonymous, true);
  const reqs = Object.fromEntries(p.volumes.map((v) => [v.name, v]));
  assert.deepEqual(reqs.named, { name: 'named', driver: 'local', anonymous: false });
  assert.deepEqual(reqs.anon2, { name: 'anon2', driver: 'local', anonymous: true, options: { type: 'tmpfs', device: 'tmpfs' }, labels: { l: 'v', [ANONYMOUS_LABEL]: '' } });
  assert.deepEqual(reqs.anon3!.labels, { [ANONYMOUS_LABEL]: '' });
});

test('plan: duplicate mount points and missing bind sources', () => {
  assert.throws(() => plan({ Binds: ['v1:/x', 'v2:/x'] }), /^InvalidParameter: Duplicate mount point: \/x$/);
  assert.throws(() => plan({ Binds: ['/tmp:/x'], Tmpfs: { '/x': '' } }), /Duplicate mount point: \/x/);
  assert.throws(() => plan({ Binds: ['v1:/x'], Mounts: [{ Type: 'volume', Source: 'v2', Target: '/x/' }] }), /Duplicate mount point: \/x\//);
  assert.throws(() => plan({ Mounts: [{ Type: 'bind', Source: '/nope', Target: '/x' }] }, { exists: () => false }), /bind source path does not exist: \/nope/);
  // -v never checks its source: it is created at start.
  assert.equal(plan({ Binds: ['/nope:/x'] }, { exists: () => false }).mounts[0]!.createSource, true);
});

test('plan: --volumes-from copies mount points (ro downgrades, never copies data again); -v wins', () => {
  const other: MountPointRecord[] = [
    { Type: 'volume', Name: 'shared', Source: '/v/shared/_data', Destination: '/s', Driver: 'local', Mode: 'z', RW: true, Propagation: '', anonymous: false, copyData: true },
    { Type: 'bind', Source: '/h', Destination: '/b', Mode: '', RW: true, Propagation: 'rprivate', createSource: true },
  ];
  const p = plan({ VolumesFrom: ['src:ro'], Binds: ['mine:/b'] }, { containerMounts: () => other });
  const s = p.mounts.find((m) => m.Destination === '/s')!;
  assert.equal(s.RW, false);
  assert.equal(s.Mode, '');
  assert.equal(s.copyData, false);
  assert.equal(p.mounts.find((m) => m.Destination === '/b')!.Name, 'mine');
  assert.deepEqual(p.volumes.find((v) => v.name === 'shared'), { name: 'shared', driver: 'local', anonymous: false, mustExist: true });
  assert.throws(() => plan({ VolumesFrom: ['nosuch'] }), /No such container/);
});

test('OCI mounts: rbind with propagation, ro, tmpfs defaults, rootfs propagation for shared binds', () => {
  const points: MountPointRecord[] = [
    { Type: 'volume', Name: 'v', Source: '', Destination: '/data', Driver: 'local', Mode: '', RW: true, Propagation: '' },
    { Type: 'bind', Source: '/h', Destination: '/h', Mode: 'ro', RW: false, Propagation: 'rshared' },
    { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '', tmpfsData: 'size=1k' },
    { Type: 'volume', Name: 'r', Source: '', Destination: 'rel', Driver: 'local', Mode: '', RW: true, Propagation: '' },
  ];
  const { mounts, rootfsPropagation } = ociMounts(points, (m) => (m.Type === 'volume' ? `/vol/${m.Name}` : m.Source));
  assert.deepEqual(mounts, [
    { destination: '/data', type: 'bind', source: '/vol/v', options: ['rbind', 'rprivate'] },
    { destination: '/h', type: 'bind', source: '/h', options: ['rbind', 'ro', 'rshared'] },
    { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'rprivate', 'size=1k'] },
    { destination: '/rel', type: 'bind', source: '/vol/r', options: ['rbind', 'rprivate'] },
  ]);
  assert.equal(rootfsPropagation, 'shared');
});

test('spec: volume mounts sorted by depth among the others; a user mount at /etc/hosts replaces berth\'s; rootfs propagation', () => {
  const { mounts, rootfsPropagation } = ociMounts(
    [
      { Type: 'bind', Source: '/h', Destination: '/a/b', Mode: '', RW: true, Propagation: 'rslave' },
      { Type: 'volume', Name: 'v', Source: '', Destination: '/a', Driver: 'local', Mode: '', RW: true, Propagation: '' },
      { Type: 'bind', Source: '/myhosts', Destination: '/etc/hosts', Mode: 'ro', RW: false, Propagation: 'rprivate' },
    ],
    (m) => (m.Type === 'volume' ? '/vol' : m.Source),
  );
  const s = buildSpec({
    id: 'c1', rootfs: '/r', args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, tty: false, hostname: 'h',
    hostConfig: { ReadonlyRootfs: true }, files: { hostsPath: '/s/hosts', resolvConfPath: '/s/resolv.conf', hostnamePath: '/s/hostname' },
    cgroupsPath: '/berth/c1', extraMounts: mounts, rootfsPropagation,
    seccompProfile: { defaultAction: 'SCMP_ACT_ALLOW' },
  });
  const dests = s.mounts.map((m) => m.destination);
  assert.ok(dests.indexOf('/a') < dests.indexOf('/a/b'));
  assert.deepEqual(s.mounts.filter((m) => m.destination === '/etc/hosts'), [{ destination: '/etc/hosts', type: 'bind', source: '/myhosts', options: ['rbind', 'ro', 'rprivate'] }]);
  assert.deepEqual(s.mounts.find((m) => m.destination === '/a'), { destination: '/a', type: 'bind', source: '/vol', options: ['rbind', 'rprivate'] });
  assert.equal(s.linux.rootfsPropagation, 'rslave');
  assert.equal(s.root.readonly, true);
});
