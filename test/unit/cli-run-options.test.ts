import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags } from '../../src/cli/flags.js';
import {
  buildCreateRequest,
  CONTAINER_FLAGS,
  OptionError,
  parseDevice,
  parseMount,
  parsePublish,
  parseUlimit,
  RUN_ONLY_FLAGS,
  type MappingEnv,
} from '../../src/cli/run-options.js';
import { startErrorStatus } from '../../src/cli/start.js';
import { withDefaultTag } from '../../src/cli/create.js';

const FILES: Record<string, string> = {
  envf: 'FOO=bar\n# comment\n\nBAZ\nHOME\n',
  lf: 'lk=lv\n',
  'sec.json': '{\n  "defaultAction": "SCMP_ACT_ALLOW"\n}\n',
};
const ENV: MappingEnv = {
  readFile: (p) => {
    const c = FILES[p];
    if (c === undefined) throw new Error(`open ${p}: no such file or directory`);
    return c;
  },
  getenv: (k) => ({ HOME: '/root' })[k],
};

function body(argv: string[]) {
  return buildCreateRequest(parseFlags([...CONTAINER_FLAGS, ...RUN_ONLY_FLAGS], argv, { stopAtFirstArg: true }), ENV);
}

test('defaults match what the docker CLI sends for `create busybox`', () => {
  const { body: b, name } = body(['busybox']);
  assert.equal(name, '');
  assert.equal(b.Image, 'busybox');
  assert.equal(b.AttachStdin, false);
  assert.equal(b.AttachStdout, true);
  assert.equal(b.AttachStderr, true);
  assert.equal(b.Tty, false);
  assert.equal(b.OpenStdin, false);
  assert.equal(b.Cmd, null);
  assert.equal(b.Entrypoint, null);
  assert.deepEqual(b.Labels, {});
  assert.deepEqual(b.Volumes, {});
  const hc = b.HostConfig ?? {};
  assert.equal(hc.NetworkMode, 'default');
  assert.deepEqual(hc.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  assert.deepEqual(hc.LogConfig, { Type: '', Config: {} });
  assert.deepEqual(hc.PortBindings, {});
  assert.equal(hc.AutoRemove, false);
  assert.deepEqual(hc.Dns, []);
  assert.equal(hc.CapAdd, null);
  assert.equal(hc.Init, undefined);
  assert.deepEqual(b.NetworkingConfig, { EndpointsConfig: {} });
});

test('the container command keeps its own flags', () => {
  const { body: b } = body(['--rm', 'busybox', 'ls', '-l', '--rm']);
  assert.deepEqual(b.Cmd, ['ls', '-l', '--rm']);
  assert.equal(b.HostConfig?.AutoRemove, true);
});

test('env: --env-file first, then -e; bare names looked up', () => {
  const { body: b } = body(['-e', 'A=1', '-e', 'HOME', '-e', 'UNSET', '--env-file', 'envf', 'busybox']);
  assert.deepEqual(b.Env, ['FOO=bar', 'HOME=/root', 'A=1', 'HOME=/root', 'UNSET']);
});

test('labels from -l and --label-file', () => {
  const { body: b } = body(['-l', 'a=b', '-l', 'c', '--label-file', 'lf', 'busybox']);
  assert.deepEqual(b.Labels, { lk: 'lv', a: 'b', c: '' });
});

test('a wide set of flags maps as the docker CLI maps it', () => {
  const { body: b, name } = body([
    '--name', 'pxtest', '-w', '/tmp', '-u', '1000:1000', '--entrypoint', '/bin/sh', '--hostname', 'hh',
    '--stop-signal', 'SIGUSR1', '--stop-timeout', '7', '--init', '--privileged', '--read-only',
    '--cap-add', 'NET_ADMIN', '--cap-drop', 'ALL', '--security-opt', 'seccomp=sec.json', '--security-opt', 'no-new-privileges',
    '--group-add', '10', '--tmpfs', '/run:size=1m', '--tmpfs', '/x', '--ulimit', 'nofile=1024:2048', '--ulimit', 'nproc=5',
    '--sysctl', 'net.ipv4.ip_forward=1', '--device', '/dev/null:/dev/xnull:r', '--ipc', 'private', '--pid', 'host', '--uts', 'host',
    '--cpus', '1.5', '--cpu-shares', '512', '--cpu-period', '100000', '--cpu-quota', '50000', '--cpuset-cpus', '0',
    '--pids-limit', '100', '--blkio-weight', '300', '--restart', 'on-failure:3', '--log-driver', 'json-file', '--log-opt', 'max-size=10m',
    '--health-cmd', 'true', '--health-retries', '3', '--network', 'bridge', '-P',
    '-v', '/tmp:/mnt:ro', '-v', 'vol1:/data', '-v', '/anon',
    '--mount', 'type=bind,source=/tmp,target=/b,readonly',
    '--dns', '1.1.1.1', '--dns-search', 'ex.com', '--dns-option', 'ndots:2', '--add-host', 'h:1.2.3.4',
    '-it', '-a', 'stdin', 'busybox', 'echo', 'hi',
  ]);
  assert.equal(name, 'pxtest');
  assert.equal(b.Hostname, 'hh');
  assert.equal(b.User, '1000:1000');
  assert.equal(b.AttachStdin, true);
  assert.equal(b.AttachStdout, false);
  assert.equal(b.AttachStderr, false);
  assert.equal(b.Tty, true);
  assert.equal(b.OpenStdin, true);
  assert.deepEqual(b.Cmd, ['echo', 'hi']);
  assert.deepEqual(b.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 0, Timeout: 0, StartPeriod: 0, Retries: 3 });
  assert.deepEqual(b.Volumes, { '/anon': {} });
  assert.equal(b.WorkingDir, '/tmp');
  assert.deepEqual(b.Entrypoint, ['/bin/sh']);
  assert.equal(b.StopSignal, 'SIGUSR1');
  assert.equal(b.StopTimeout, 7);
  const hc = b.HostConfig ?? {};
  assert.deepEqual(hc.Binds, ['/tmp:/mnt:ro', 'vol1:/data']);
  assert.deepEqual(hc.LogConfig, { Type: 'json-file', Config: { 'max-size': '10m' } });
  assert.equal(hc.NetworkMode, 'bridge');
  assert.deepEqual(hc.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(hc.CapAdd, ['NET_ADMIN']);
  assert.deepEqual(hc.CapDrop, ['ALL']);
  assert.deepEqual(hc.Dns, ['1.1.1.1']);
  assert.deepEqual(hc.DnsOptions, ['ndots:2']);
  assert.deepEqual(hc.DnsSearch, ['ex.com']);
  assert.deepEqual(hc.ExtraHosts, ['h:1.2.3.4']);
  assert.deepEqual(hc.GroupAdd, ['10']);
  assert.equal(hc.IpcMode, 'private');
  assert.equal(hc.PidMode, 'host');
  assert.equal(hc.UTSMode, 'host');
  assert.equal(hc.Privileged, true);
  assert.equal(hc.PublishAllPorts, true);
  assert.equal(hc.ReadonlyRootfs, true);
  assert.deepEqual(hc.SecurityOpt, ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}', 'no-new-privileges']);
  assert.deepEqual(hc.Tmpfs, { '/run': 'size=1m', '/x': '' });
  assert.deepEqual(hc.Sysctls, { 'net.ipv4.ip_forward': '1' });
  assert.equal(hc.Init, true);
  assert.equal(hc.NanoCpus, 1500000000);
  assert.equal(hc.CpuShares, 512);
  assert.equal(hc.CpuPeriod, 100000);
  assert.equal(hc.CpuQuota, 50000);
  assert.equal(hc.CpusetCpus, '0');
  assert.equal(hc.PidsLimit, 100);
  assert.equal(hc.BlkioWeight, 300);
  assert.deepEqual(hc.Ulimits, [
    { Name: 'nofile', Hard: 2048, Soft: 1024 },
    { Name: 'nproc', Hard: 5, Soft: 5 },
  ]);
  assert.deepEqual(hc.Devices, [{ PathOnHost: '/dev/null', PathInContainer: '/dev/xnull', CgroupPermissions: 'r' }]);
  assert.deepEqual(hc.Mounts, [{ Type: 'bind', Source: '/tmp', Target: '/b', ReadOnly: true }]);
});

test('sizes and durations (memory, shm, health timings)', () => {
  const { body: b } = body([
    '-m', '512m', '--memory-swap', '1g', '--memory-reservation', '256m', '--shm-size', '64m', '--oom-kill-disable',
    '--health-cmd', 'true', '--health-interval', '5s', '--health-timeout', '2s', '--health-start-period', '1s',
    '--mount', 'type=tmpfs,target=/tt,tmpfs-size=1000', 'busybox',
  ]);
  const hc = b.HostConfig ?? {};
  assert.equal(hc.Memory, 536870912);
  assert.equal(hc.MemorySwap, 1073741824);
  assert.equal(hc.MemoryReservation, 268435456);
  assert.equal(hc.ShmSize, 67108864);
  assert.equal(hc.OomKillDisable, true);
  assert.deepEqual(b.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Timeout: 2e9, StartPeriod: 1e9, Retries: 0 });
  assert.deepEqual(hc.Mounts, [{ Type: 'tmpfs', Target: '/tt', TmpfsOptions: { SizeBytes: 1000 } }]);
  assert.equal(body(['--memory-swap', '-1', 'busybox']).body.HostConfig?.MemorySwap, -1);
});

test('--entrypoint= resets, --no-healthcheck disables', () => {
  const { body: b } = body(['--entrypoint=', '--no-healthcheck', '-i', 'busybox']);
  assert.deepEqual(b.Entrypoint, ['']);
  assert.deepEqual(b.Healthcheck, { Test: ['NONE'] });
  assert.equal(b.AttachStdin, true);
});

test('--network-alias puts an endpoint config under the network', () => {
  const { body: b } = body(['--network', 'mynet', '--network-alias', 'web', 'busybox']);
  assert.deepEqual(b.NetworkingConfig, { EndpointsConfig: { mynet: { Aliases: ['web'] } } });
});

test('publish specs', () => {
  const p = parsePublish(['8080:80', '127.0.0.1:9000-9001:90-91/udp', '5000', '[::1]:53:53/udp', '7000-7001:70']);
  assert.deepEqual(p.bindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8080' }],
    '90/udp': [{ HostIp: '127.0.0.1', HostPort: '9000' }],
    '91/udp': [{ HostIp: '127.0.0.1', HostPort: '9001' }],
    '5000/tcp': [{ HostIp: '', HostPort: '' }],
    '53/udp': [{ HostIp: '::1', HostPort: '53' }],
    '70/tcp': [{ HostIp: '', HostPort: '7000-7001' }],
  });
  assert.deepEqual(Object.keys(p.exposed).sort(), ['5000/tcp', '53/udp', '70/tcp', '80/tcp', '90/udp', '91/udp']);
  assert.throws(() => parsePublish(['1-3:80-81']), OptionError);
});

test('ulimit, device and mount parsing', () => {
  assert.deepEqual(parseUlimit('nofile=10:20'), { Name: 'nofile', Soft: 10, Hard: 20 });
  assert.throws(() => parseUlimit('nofile'), /invalid ulimit argument/);
  assert.deepEqual(parseDevice('/dev/sda'), { PathOnHost: '/dev/sda', PathInContainer: '/dev/sda', CgroupPermissions: 'rwm' });
  assert.deepEqual(parseDevice('/dev/sda:r'), { PathOnHost: '/dev/sda', PathInContainer: '/dev/sda', CgroupPermissions: 'r' });
  assert.deepEqual(parseMount('source=v,target=/d'), { Type: 'volume', Source: 'v', Target: '/d' });
  assert.throws(() => parseMount('type=bind,source=/a'), /target is required/);
});

test('option errors', () => {
  assert.throws(() => body(['--restart', 'sometimes', 'busybox']), /invalid restart policy/);
  assert.throws(() => body(['--restart', 'on-failure:x', 'busybox']), /maximum retry count must be an integer/);
  assert.throws(() => body(['-a', 'stdcat', 'busybox']), /valid streams are STDIN, STDOUT and STDERR/);
  assert.throws(() => body(['--pull', 'sometimes', 'busybox']), /invalid pull option/);
  assert.throws(() => body(['--security-opt', 'seccomp=missing.json', 'busybox']), /opening seccomp profile \(missing.json\) failed/);
  assert.throws(() => body(['--no-healthcheck', '--health-cmd', 'x', 'busybox']), /conflicts with --health-\* options/);
});

test('start errors map to docker exit codes', () => {
  assert.equal(startErrorStatus('Error response from daemon: exec: "nosuch": executable file not found in $PATH: unknown'), 127);
  assert.equal(startErrorStatus('exec: "/etc": permission denied: unknown'), 126);
  assert.equal(startErrorStatus('cgroup trouble'), 125);
});

test('image names gain :latest for the not-found message', () => {
  assert.equal(withDefaultTag('busybox'), 'busybox:latest');
  assert.equal(withDefaultTag('localhost:5000/a/b'), 'localhost:5000/a/b:latest');
  assert.equal(withDefaultTag('busybox:1.36'), 'busybox:1.36');
  assert.equal(withDefaultTag('busybox@sha256:abc'), 'busybox@sha256:abc');
});
