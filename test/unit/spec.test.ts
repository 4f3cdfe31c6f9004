import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostConfig } from '../../src/api/types.js';
import { buildExecProcess, buildSpec, containerEnv, splitDev, type OciSpec, type SpecInput } from '../../src/engine/runtime/spec.js';
import { capabilityMask, DEFAULT_CAPABILITIES, allCapabilities, tweakCapabilities } from '../../src/engine/runtime/capabilities.js';
import { convertSeccompProfile, loadSeccompProfile, type DockerSeccompProfile } from '../../src/engine/runtime/seccomp.js';
import { adaptHostConfig, hostHardLimits, mergeTmpfsOptions, parseCpuset, parseSecurityOpts, validateHostConfig, validateUlimits } from '../../src/engine/runtime/validate.js';
import { InvalidParameter } from '../../src/lib/errors.js';

const tinyProfile: DockerSeccompProfile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] };

function input(hostConfig: HostConfig = {}, extra: Partial<SpecInput> = {}): SpecInput {
  return {
    id: 'c1',
    rootfs: '/r',
    args: ['sh', '-c', 'true'],
    env: [],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [0] },
    tty: false,
    hostname: 'h1',
    hostConfig,
    files: { hostsPath: '/s/hosts', resolvConfPath: '/s/resolv.conf', hostnamePath: '/s/hostname' },
    cgroupsPath: '/berth/c1',
    seccompProfile: tinyProfile,
    ...extra,
  };
}

const spec = (hc: HostConfig = {}, extra: Partial<SpecInput> = {}): OciSpec => buildSpec(input(hc, extra));
const mount = (s: OciSpec, dest: string) => s.mounts.find((m) => m.destination === dest);
const invalid = (msg: string | RegExp) => (e: unknown) => e instanceof InvalidParameter && (typeof msg === 'string' ? e.message === msg : msg.test(e.message));

test('defaults: version, root, hostname, cgroups path, namespaces without cgroup ns', () => {
  const s = spec();
  assert.equal(s.ociVersion, '1.0.2-dev');
  assert.deepEqual(s.root, { path: '/r' });
  assert.equal(s.hostname, 'h1');
  assert.equal(s.linux.cgroupsPath, '/berth/c1');
  assert.deepEqual(s.linux.namespaces.map((n) => n.type), ['mount', 'network', 'uts', 'pid', 'ipc']);
  assert.equal(s.process.oomScoreAdj, 0);
  assert.equal(s.process.terminal, undefined);
  assert.equal(s.process.rlimits, undefined);
  assert.equal(s.process.noNewPrivileges, undefined);
});

test('a private cgroup namespace when the caller asks (cgroup v2 hosts), as Docker does there', () => {
  assert.deepEqual(spec({}, { cgroupns: true }).linux.namespaces.map((n) => n.type), ['mount', 'network', 'uts', 'pid', 'ipc', 'cgroup']);
  assert.ok(!spec({}, { cgroupns: false }).linux.namespaces.some((n) => n.type === 'cgroup'));
});

test('host namespaces are left out; a netns path is joined', () => {
  const s = spec({ PidMode: 'host', IpcMode: 'host', UTSMode: 'host', NetworkMode: 'host' });
  assert.deepEqual(s.linux.namespaces.map((n) => n.type), ['mount']);
  assert.equal(s.hostname, undefined);
  assert.equal(s.linux.sysctl?.['net.ipv4.ping_group_range'], undefined);
  const j = spec({ NetworkMode: 'bridge' }, { netnsPath: '/run/netns/x' });
  assert.deepEqual(j.linux.namespaces.find((n) => n.type === 'network'), { type: 'network', path: '/run/netns/x' });
  assert.ok(spec({ NetworkMode: 'none' }).linux.namespaces.some((n) => n.type === 'network' && !n.path));
});

test('env: PATH default, HOSTNAME, TERM with a tty, overrides and removals', () => {
  assert.deepEqual(spec().process.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h1']);
  assert.deepEqual(spec({}, { tty: true, env: ['PATH=/bin', 'A=1'] }).process.env, ['PATH=/bin', 'HOSTNAME=h1', 'TERM=xterm', 'A=1']);
  assert.equal(spec({}, { tty: true }).process.terminal, true);
  assert.deepEqual(containerEnv(['TERM=dumb', 'HOSTNAME'], 'x', true), ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=dumb']);
});

test('user and cwd', () => {
  const s = spec({}, { user: { uid: 1000, gid: 1000, additionalGids: [1000, 10] }, cwd: '/app' });
  assert.deepEqual(s.process.user, { uid: 1000, gid: 1000, additionalGids: [1000, 10] });
  assert.equal(s.process.cwd, '/app');
  assert.equal(spec({}, { cwd: '' }).process.cwd, '/');
});

test('capabilities: Docker default 14 for root; only bounding for other users', () => {
  const caps = spec().process.capabilities!;
  assert.deepEqual(caps.bounding, [...DEFAULT_CAPABILITIES]);
  assert.deepEqual(caps.effective, [...DEFAULT_CAPABILITIES]);
  assert.deepEqual(caps.permitted, [...DEFAULT_CAPABILITIES]);
  assert.equal(caps.inheritable, undefined);
  assert.equal(capabilityMask(DEFAULT_CAPABILITIES), '00000000a80425fb');
  const user = spec({}, { user: { uid: 1, gid: 1, additionalGids: [1] } }).process.capabilities!;
  assert.deepEqual(user, { bounding: [...DEFAULT_CAPABILITIES] });
});

test('cap-add / cap-drop: prefixes, case, ALL', () => {
  assert.deepEqual(tweakCapabilities(['sys_admin'], ['CAP_CHOWN', 'net_raw'], false), [...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN' && c !== 'CAP_NET_RAW'), 'CAP_SYS_ADMIN']);
  assert.deepEqual(tweakCapabilities(['NET_ADMIN'], ['ALL'], false), ['CAP_NET_ADMIN']);
  assert.deepEqual(tweakCapabilities([], ['all'], false), []);
  const all = tweakCapabilities(['ALL'], ['MKNOD'], false);
  assert.ok(!all.includes('CAP_MKNOD') && all.includes('CAP_SYS_ADMIN'));
  assert.deepEqual(tweakCapabilities([], [], true), allCapabilities());
  assert.throws(() => tweakCapabilities(['FOO'], [], false), invalid('unknown capability: "CAP_FOO"'));
});

test('privileged: all caps, no seccomp, no masked paths, rw /sys and cgroups, all devices', () => {
  const s = spec({ Privileged: true });
  assert.deepEqual(s.process.capabilities!.bounding, allCapabilities());
  assert.equal(s.linux.seccomp, undefined);
  assert.equal(s.linux.maskedPaths, undefined);
  assert.equal(s.linux.readonlyPaths, undefined);
  assert.ok(!mount(s, '/sys')!.options!.includes('ro'));
  assert.ok(!mount(s, '/sys/fs/cgroup')!.options!.includes('ro'));
  assert.deepEqual(s.linux.resources!.devices, [{ allow: true, access: 'rwm' }]);
});

test('default mounts as Docker writes them, then the etc files', () => {
  const s = spec();
  assert.deepEqual(s.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm', '/etc/resolv.conf', '/etc/hostname', '/etc/hosts']);
  assert.deepEqual(mount(s, '/dev'), { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] });
  assert.deepEqual(mount(s, '/dev/pts')!.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
  assert.deepEqual(mount(s, '/sys')!.options, ['nosuid', 'noexec', 'nodev', 'ro']);
  assert.deepEqual(mount(s, '/dev/shm')!.options, ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864']);
  assert.deepEqual(mount(s, '/etc/hosts'), { destination: '/etc/hosts', type: 'bind', source: '/s/hosts', options: ['rbind', 'rprivate'] });
  assert.deepEqual(mount(spec({ ShmSize: 1048576 }), '/dev/shm')!.options!.at(-1), 'size=1048576');
  assert.equal(mount(spec({ IpcMode: 'none' }), '/dev/shm'), undefined);
  assert.equal(mount(spec({ IpcMode: 'host' }), '/dev/shm')!.type, 'bind');
});

test('read-only rootfs, tmpfs with Docker defaults, extra mounts sorted by depth', () => {
  const s = spec({ ReadonlyRootfs: true, Tmpfs: { '/run': '', '/tmp': 'size=1m,exec' } }, { extraMounts: [{ destination: '/data/x', type: 'bind', source: '/v', options: ['rbind'] }] });
  assert.equal(s.root.readonly, true);
  assert.deepEqual(mount(s, '/etc/resolv.conf')!.options, ['rbind', 'ro', 'rprivate']);
  assert.deepEqual(mount(s, '/run'), { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'rprivate'] });
  assert.deepEqual(mount(s, '/tmp')!.options, ['nosuid', 'nodev', 'rprivate', 'size=1m', 'exec']);
  const dests = s.mounts.map((m) => m.destination);
  assert.ok(dests.indexOf('/tmp') < dests.indexOf('/data/x'));
});

test('init: tini bound at /sbin/docker-init and run with "--"', () => {
  const s = spec({ Init: true }, { initPath: '/usr/bin/tini' });
  assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sh', '-c', 'true']);
  assert.deepEqual(mount(s, '/sbin/docker-init'), { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/tini', options: ['bind', 'ro'] });
  assert.deepEqual(spec({ Init: false }, { initPath: '/usr/bin/tini' }).process.args, ['sh', '-c', 'true']);
});

test('masked and read-only paths: Docker lists; systempaths=unconfined drops them', () => {
  const s = spec();
  assert.ok(s.linux.maskedPaths!.includes('/proc/kcore'));
  assert.equal(s.linux.maskedPaths!.length, 10);
  assert.deepEqual(s.linux.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  assert.equal(spec({ SecurityOpt: ['systempaths=unconfined'] }).linux.maskedPaths, undefined);
});

test('devices: default cgroup rules, and a host device by path', () => {
  const rules = spec().linux.resources!.devices!;
  assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
  assert.equal(rules.length, 8);
  const s = spec({ Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }] });
  assert.deepEqual(s.linux.devices, [{ path: '/dev/mynull', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]);
  assert.deepEqual(s.linux.resources!.devices!.at(-1), { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' });
  assert.throws(() => spec({ Devices: [{ PathOnHost: '/dev/nope', PathInContainer: '', CgroupPermissions: 'rwm' }] }), /error gathering device information while adding custom device "\/dev\/nope"/);
  assert.deepEqual(splitDev(BigInt(259 * 256 + 7)), { major: 259, minor: 7 });
  assert.deepEqual(splitDev((0x123n << 20n) | (8n << 8n) | 0x45n), { major: 8, minor: 0x12345 });
});

test('resources', () => {
  const r = spec({ Memory: 64 << 20, MemorySwap: -1, MemoryReservation: 32 << 20, OomKillDisable: true, NanoCpus: 5e8, CpuShares: 512, CpusetCpus: '0', PidsLimit: 50, BlkioWeight: 300 }).linux.resources!;
  assert.deepEqual(r.memory, { limit: 64 << 20, reservation: 32 << 20, swap: -1, disableOOMKiller: true });
  assert.deepEqual(r.cpu, { shares: 512, quota: 50000, period: 100000, cpus: '0' });
  assert.deepEqual(r.pids, { limit: 50 });
  assert.deepEqual(r.blockIO, { weight: 300 });
  const q = spec({ CpuPeriod: 50000, CpuQuota: 25000, PidsLimit: -1 }).linux.resources!;
  assert.deepEqual(q.cpu, { shares: 0, quota: 25000, period: 50000 });
  assert.equal(q.pids, undefined);
  assert.equal(spec({ PidsLimit: 0 }).linux.resources!.pids, undefined);
});

test('sysctls, domainname, rlimits, no-new-privileges', () => {
  const s = spec({ Sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv4.ping_group_range': '0 0' }, Ulimits: [{ Name: 'nofile', Soft: 100, Hard: 200 }], SecurityOpt: ['no-new-privileges:true'] }, { domainname: 'example.com' });
  assert.deepEqual(s.linux.sysctl, { 'kernel.domainname': 'example.com', 'net.ipv4.ip_forward': '1', 'net.ipv4.ping_group_range': '0 0', 'net.ipv4.ip_unprivileged_port_start': '0' });
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 200, soft: 100 }]);
  assert.equal(s.process.noNewPrivileges, true);
  assert.equal(spec({ SecurityOpt: ['no-new-privileges'] }).process.noNewPrivileges, true);
  assert.equal(spec({ SecurityOpt: ['no-new-privileges=false'] }).process.noNewPrivileges, undefined);
});

test('security-opt parser', () => {
  assert.deepEqual(parseSecurityOpts(['seccomp=unconfined', 'apparmor:x', 'label=disable']), { noNewPrivileges: false, seccomp: 'unconfined', apparmor: 'x', labels: ['disable'], unconfinedSystemPaths: false });
  assert.equal(parseSecurityOpts(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']).seccomp, '{"defaultAction":"SCMP_ACT_ALLOW"}');
  assert.throws(() => parseSecurityOpts(['bogus']), invalid('invalid --security-opt 1: "bogus"'));
  assert.throws(() => parseSecurityOpts(['foo=bar']), invalid('invalid --security-opt 2: "foo=bar"'));
  assert.throws(() => parseSecurityOpts(['no-new-privileges=maybe']), invalid('invalid --security-opt 2: "no-new-privileges=maybe"'));
});

test('seccomp: unconfined, inline JSON, default profile from disk', async () => {
  assert.equal(spec({ SecurityOpt: ['seccomp=unconfined'] }).linux.seccomp, undefined);
  const inline = spec({ SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_LOG"}'] }, { seccompProfile: undefined });
  assert.deepEqual(inline.linux.seccomp, { defaultAction: 'SCMP_ACT_LOG', syscalls: [] });
  const def = spec({}, { seccompProfile: undefined }).linux.seccomp!;
  assert.equal(def.defaultAction, 'SCMP_ACT_ERRNO');
  if (process.arch === 'x64') assert.deepEqual(def.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.equal(await loadSeccompProfile(), await loadSeccompProfile(), 'the default profile is cached');
  await assert.rejects(loadSeccompProfile('/nonexistent/profile.json'), invalid('opening seccomp profile (/nonexistent/profile.json) failed: no such file or directory'));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-seccomp-'));
  try {
    await fs.writeFile(path.join(dir, 'p.json'), JSON.stringify(tinyProfile));
    assert.deepEqual(await loadSeccompProfile(path.join(dir, 'p.json')), tinyProfile);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('seccomp conversion: includes/excludes by caps, arch, kernel; args and errnoRet kept', () => {
  const profile: DockerSeccompProfile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: [
      { names: ['read'], action: 'SCMP_ACT_ALLOW', args: [], comment: 'x', includes: {}, excludes: {} },
      { name: 'chroot', action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_CHROOT'] } },
      { names: ['chroot'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_CHROOT'] } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
      { names: ['arm_only'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
      { names: ['new_thing'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '99.0' } },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
    ],
  };
  const o = convertSeccompProfile(profile, { capabilities: ['CAP_SYS_CHROOT'], goArch: 'amd64', kernelRelease: '5.10.0-21-amd64' });
  assert.equal(o.defaultErrnoRet, 38);
  assert.deepEqual(o.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(o.syscalls, [
    { names: ['read'], action: 'SCMP_ACT_ALLOW' },
    { names: ['chroot'], action: 'SCMP_ACT_ALLOW' },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW' },
    { names: ['ptrace'], action: 'SCMP_ACT_ALLOW' },
    { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
  ]);
  const noCap = convertSeccompProfile(profile, { capabilities: [], goArch: 'arm64', kernelRelease: '4.4.0' });
  assert.deepEqual(noCap.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.deepEqual(noCap.syscalls!.map((c) => c.names[0]), ['read', 'chroot', 'arm_only', 'personality']);
  assert.equal(noCap.syscalls![1]!.errnoRet, 1);
  // The container's capabilities decide: CAP_SYS_ADMIN added → its syscalls allowed.
  const real = spec({ CapAdd: ['SYS_ADMIN'] }, { seccompProfile: undefined }).linux.seccomp!;
  assert.ok(real.syscalls!.some((c) => c.names.includes('bpf') && c.action === 'SCMP_ACT_ALLOW'));
  assert.ok(!spec({}, { seccompProfile: undefined }).linux.seccomp!.syscalls!.some((c) => c.names.includes('bpf') && c.action === 'SCMP_ACT_ALLOW'));
});

test('exec process: container caps and nnp; all caps when privileged', () => {
  const base = { args: ['ls'], env: ['A=1'], cwd: '', user: { uid: 0, gid: 0, additionalGids: [0] }, tty: true, privileged: false, hostConfig: { CapDrop: ['ALL'], CapAdd: ['KILL'], SecurityOpt: ['no-new-privileges'], Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }] }, consoleSize: { height: 24, width: 80 } };
  const p = buildExecProcess(base);
  assert.deepEqual(p.capabilities, { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] });
  assert.equal(p.noNewPrivileges, true);
  assert.equal(p.terminal, true);
  assert.deepEqual(p.consoleSize, { height: 24, width: 80 });
  assert.equal(p.cwd, '/');
  assert.deepEqual(p.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm', 'A=1']);
  assert.deepEqual(p.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 20, soft: 10 }]);
  const priv = buildExecProcess({ ...base, privileged: true, user: { uid: 1000, gid: 1000, additionalGids: [1000] } });
  assert.deepEqual(priv.capabilities!.effective, allCapabilities());
});

// ---------------------------------------------------------------- validation

test('validateHostConfig accepts an empty and a typical config', () => {
  validateHostConfig({});
  validateHostConfig({ Memory: 64 << 20, MemorySwap: -1, NanoCpus: 1e9, CapAdd: ['net_admin'], RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 }, Sysctls: { 'net.core.somaxconn': '1024', 'kernel.shmmax': '1' }, Ulimits: [{ Name: 'nofile', Soft: 100, Hard: 200 }], CpusetCpus: '0', Tmpfs: { '/t': 'size=1m' } }, 2);
});

test('validateHostConfig errors use dockerd wording', () => {
  const cases: [HostConfig, string | RegExp][] = [
    [{ CapAdd: ['CAP_FOO'] }, 'unknown capability: "CAP_FOO"'],
    [{ CapDrop: ['bar'] }, 'unknown capability: "CAP_BAR"'],
    [{ Memory: 1 << 20 }, 'Minimum memory limit allowed is 6MB'],
    [{ Memory: 64 << 20, MemorySwap: 32 << 20 }, 'Minimum memoryswap limit should be larger than memory limit, see usage'],
    [{ MemorySwap: 32 << 20 }, 'You should always set the Memory limit when using Memoryswap limit, see usage'],
    [{ MemoryReservation: 1 }, 'Minimum memory reservation allowed is 6MB'],
    [{ NanoCpus: 1e9, CpuPeriod: 100000 }, 'Conflicting options: Nano CPUs and CPU Period cannot both be set'],
    [{ NanoCpus: 1e9, CpuQuota: 100000 }, 'Conflicting options: Nano CPUs and CPU Quota cannot both be set'],
    [{ NanoCpus: 3e9 }, 'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'],
    [{ CpusetCpus: '0-' }, 'Invalid value 0- for cpuset cpus: invalid format: 0-'],
    [{ CpusetCpus: 'a' }, /^Invalid value a for cpuset cpus/],
    [{ CpusetCpus: '5' }, 'Requested CPUs are not available - requested 5, available: 0-1'],
    [{ Sysctls: { 'vm.swappiness': '10' } }, /^sysctl 'vm.swappiness' is not allowed/],
    [{ NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } }, /^sysctl 'net.ipv4.ip_forward' is not allowed/],
    [{ RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } }, "maximum retry count cannot be used with restart policy 'always'"],
    [{ RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 1 } }, "maximum retry count cannot be used with restart policy 'unless-stopped'"],
    [{ RestartPolicy: { Name: 'x' as 'no' } }, "invalid restart policy 'x'"],
    [{ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } }, 'maximum retry count cannot be negative'],
    [{ AutoRemove: true, RestartPolicy: { Name: 'always' } }, "can't create 'AutoRemove' container with restart policy"],
    [{ Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }, 'invalid ulimit type: bogus'],
    [{ Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 5 }] }, 'ulimit soft limit must be less than or equal to hard limit: 10 > 5'],
    [{ Tmpfs: { '/t': 'bogus=1' } }, 'Invalid tmpfs option ["bogus","1"]'],
    [{ BlkioWeight: 5 }, 'Range of blkio weight is from 10 to 1000'],
    [{ IpcMode: 'weird' }, 'invalid IPC mode: weird'],
    [{ SecurityOpt: ['nope'] }, 'invalid --security-opt 1: "nope"'],
  ];
  for (const [hc, msg] of cases) assert.throws(() => validateHostConfig(hc, 2), invalid(msg), JSON.stringify(hc));
});

test('ulimits above the host hard limit are refused', () => {
  const limits = hostHardLimits('Limit   Soft Limit  Hard Limit  Units\nMax open files            20000                20000                files     \nMax core file size        0                    unlimited            bytes     \n');
  assert.equal(limits.get('nofile'), 20000);
  assert.equal(limits.get('core'), Infinity);
  assert.throws(() => validateUlimits([{ Name: 'nofile', Soft: 1024, Hard: 1048576 }], limits), invalid("ulimit nofile: hard limit 1048576 is above the host's hard limit 20000 (the daemon cannot raise it)"));
  validateUlimits([{ Name: 'nofile', Soft: 1024, Hard: 20000 }, { Name: 'core', Soft: -1, Hard: -1 }], limits);
});

test('helpers: cpuset lists, tmpfs option merging, create-time defaults', () => {
  assert.deepEqual(parseCpuset('0-2,5,1'), [0, 1, 2, 5]);
  assert.deepEqual(mergeTmpfsOptions(['noexec', 'nosuid', 'size=1m', 'exec', 'size=2m', 'rprivate', 'shared']), ['nosuid', 'exec', 'size=2m', 'shared']);
  assert.deepEqual(adaptHostConfig({ Memory: 10 << 20 }), { Memory: 10 << 20, MemorySwap: 20 << 20, ShmSize: 64 << 20, Runtime: 'runc' });
});
