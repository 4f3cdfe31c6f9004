// The OCI runtime-spec generator: image config + Docker HostConfig → runc's config.json, shaped like
// what Docker 20.10 writes (moby oci/defaults.go, daemon/oci_linux.go, oci/caps, profiles/seccomp).
import { statSync } from 'node:fs';
import type { HostConfig } from '../../api/types.js';
import { InvalidParameter } from '../../lib/errors.js';
import { tweakCapabilities } from './capabilities.js';
import { convertSeccompProfile, loadSeccompProfileSync, type DockerSeccompProfile, type OciSeccomp } from './seccomp.js';
import type { ResolvedUser } from './user.js';
import { parseSecurityOpts, tmpfsMountOptions, type SecurityOptions } from './validate.js';

export type { ResolvedUser } from './user.js';
export { loadSeccompProfile, type DockerSeccompProfile } from './seccomp.js';
export { parseSecurityOpts, validateHostConfig } from './validate.js';

// ---------------------------------------------------------------- runtime-spec types (the subset we write)

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
}

export interface OciNamespace {
  type: 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';
  path?: string;
}

export interface OciDevice {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciResources {
  devices?: OciDeviceCgroup[];
  memory?: { limit?: number; reservation?: number; swap?: number; disableOOMKiller?: boolean; swappiness?: number };
  cpu?: { shares?: number; quota?: number; period?: number; realtimePeriod?: number; realtimeRuntime?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: { weight?: number };
}

export interface OciLinux {
  sysctl?: Record<string, string>;
  resources?: OciResources;
  cgroupsPath?: string;
  namespaces: OciNamespace[];
  devices?: OciDevice[];
  seccomp?: OciSeccomp;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  linux: OciLinux;
}

// ---------------------------------------------------------------- Docker's defaults

export const OCI_VERSION = '1.0.2-dev';
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';
const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
];
export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Docker 20.10's device cgroup rules: deny all; allow null, zero, full, random, urandom, tty, console;
 *  deny /dev/fuse. runc adds its own defaults (pts, ptmx) on top. */
function defaultDeviceRules(): OciDeviceCgroup[] {
  const allow = (major: number, minor: number): OciDeviceCgroup => ({ allow: true, type: 'c', major, minor, access: 'rwm' });
  return [
    { allow: false, access: 'rwm' },
    allow(1, 5), allow(1, 3), allow(1, 9), allow(1, 8), allow(5, 0), allow(5, 1),
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
  ];
}

function defaultMounts(shmSize: number): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`] },
  ];
}

// ---------------------------------------------------------------- environment

function envKey(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
}

/** moby ReplaceOrAppendEnvValues: overrides replace same-named entries; "KEY" without "=" removes KEY. */
export function replaceOrAppendEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const out = [...defaults];
  for (const o of overrides) {
    const key = envKey(o);
    const i = out.findIndex((e) => envKey(e) === key);
    if (!o.includes('=')) {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = o;
    else out.push(o);
  }
  return out;
}

/** Docker's CreateDaemonEnvironment: PATH, HOSTNAME, TERM=xterm with a tty, then the container's env. */
export function containerEnv(env: readonly string[], hostname: string | undefined, tty: boolean): string[] {
  const base = [DEFAULT_PATH_ENV];
  if (hostname !== undefined) base.push(`HOSTNAME=${hostname}`);
  if (tty) base.push('TERM=xterm');
  return replaceOrAppendEnv(base, env);
}

// ---------------------------------------------------------------- process

function capabilitiesFor(caps: string[], uid: number): OciCapabilities {
  // Docker 20.10 (after CVE-2022-24769): a non-root process starts with no effective/permitted caps.
  return uid === 0 ? { bounding: caps, effective: [...caps], permitted: [...caps] } : { bounding: caps };
}

function rlimits(hc: HostConfig): OciRlimit[] | undefined {
  if (!hc.Ulimits || hc.Ulimits.length === 0) return undefined;
  return hc.Ulimits.map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, hard: u.Hard, soft: u.Soft }));
}

function ociUser(u: ResolvedUser): OciUser {
  return { uid: u.uid, gid: u.gid, additionalGids: [...u.additionalGids] };
}

function buildProcess(input: SpecInput, caps: string[], sec: SecurityOptions): OciProcess {
  const hc = input.hostConfig;
  const args = hc.Init && input.initPath ? [INIT_PATH_IN_CONTAINER, '--', ...input.args] : [...input.args];
  const p: OciProcess = {
    ...(input.tty ? { terminal: true } : {}),
    user: ociUser(input.user),
    args,
    env: containerEnv(input.env, input.hostname, input.tty),
    cwd: input.cwd || '/',
    capabilities: capabilitiesFor(caps, input.user.uid),
  };
  const rl = rlimits(hc);
  if (rl) p.rlimits = rl;
  if (sec.noNewPrivileges) p.noNewPrivileges = true;
  p.oomScoreAdj = 0;
  return p;
}

export interface ExecProcessOptions {
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  tty: boolean;
  privileged: boolean;
  hostConfig: HostConfig;
  consoleSize?: { height: number; width: number };
}

/** process.json for `runc exec --process`: the container's caps, rlimits and no-new-privileges
 *  (every capability when the exec or the container is privileged). */
export function buildExecProcess(opts: ExecProcessOptions): OciProcess {
  const hc = opts.hostConfig;
  const sec = parseSecurityOpts(hc.SecurityOpt);
  const caps = tweakCapabilities(hc.CapAdd, hc.CapDrop, opts.privileged || !!hc.Privileged);
  const p: OciProcess = {
    user: ociUser(opts.user),
    args: [...opts.args],
    env: containerEnv(opts.env, undefined, opts.tty),
    cwd: opts.cwd || '/',
    capabilities: opts.privileged ? { bounding: caps, effective: [...caps], permitted: [...caps] } : capabilitiesFor(caps, opts.user.uid),
    oomScoreAdj: 0,
  };
  if (opts.tty) {
    p.terminal = true;
    if (opts.consoleSize) p.consoleSize = { ...opts.consoleSize };
  }
  const rl = rlimits(hc);
  if (rl) p.rlimits = rl;
  if (sec.noNewPrivileges) p.noNewPrivileges = true;
  return p;
}

// ---------------------------------------------------------------- mounts

function bindFile(source: string, destination: string, readonly: boolean): OciMount {
  return { destination, type: 'bind', source, options: readonly ? ['rbind', 'ro', 'rprivate'] : ['rbind', 'rprivate'] };
}

function pathDepth(p: string): number {
  return p.split('/').filter((s) => s !== '').length;
}

function buildMounts(input: SpecInput): OciMount[] {
  const hc = input.hostConfig;
  const ipc = hc.IpcMode ?? '';
  const user: OciMount[] = [];
  for (const [dest, data] of Object.entries(hc.Tmpfs ?? {})) {
    user.push({ destination: dest, type: 'tmpfs', source: 'tmpfs', options: tmpfsMountOptions(data) });
  }
  user.push(...(input.extraMounts ?? []));
  if (ipc === 'host') user.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
  const ro = !!hc.ReadonlyRootfs;
  // A user's own mount at /etc/hosts (or resolv.conf, hostname) replaces berth's file, as in Docker.
  const userTaken = new Set(user.map((m) => m.destination));
  user.push(
    ...[
      bindFile(input.files.resolvConfPath, '/etc/resolv.conf', ro),
      bindFile(input.files.hostnamePath, '/etc/hostname', ro),
      bindFile(input.files.hostsPath, '/etc/hosts', ro),
    ].filter((m) => !userTaken.has(m.destination)),
  );
  // Docker sorts user mounts by depth so a parent is mounted before what lies inside it (stable sort).
  user.sort((a, b) => pathDepth(a.destination) - pathDepth(b.destination));

  const taken = new Set(user.map((m) => m.destination));
  let base = defaultMounts(hc.ShmSize && hc.ShmSize > 0 ? hc.ShmSize : DEFAULT_SHM_SIZE).filter((m) => !taken.has(m.destination));
  if (ipc === 'none') base = base.filter((m) => m.destination !== '/dev/shm');
  if (hc.Privileged) base = base.map((m) => (m.destination === '/sys' || m.destination === '/sys/fs/cgroup' ? clearReadOnly(m) : m));
  const init: OciMount[] = hc.Init && input.initPath ? [{ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: input.initPath, options: ['bind', 'ro'] }] : [];
  return [...base, ...init, ...user];
}

function clearReadOnly(m: OciMount): OciMount {
  return { ...m, options: (m.options ?? []).filter((o) => o !== 'ro') };
}

// ---------------------------------------------------------------- devices

/** Linux's dev_t encoding (major: bits 8-19 and 32-43; minor: bits 0-7 and 20-31). */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

function deviceFromPath(hostPath: string, containerPath: string, permissions: string): { device: OciDevice; rule: OciDeviceCgroup } {
  let st;
  try {
    st = statSync(hostPath, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message;
    throw new InvalidParameter(`error gathering device information while adding custom device ${JSON.stringify(hostPath)}: ${code}`);
  }
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) throw new InvalidParameter(`error gathering device information while adding custom device ${JSON.stringify(hostPath)}: not a device node`);
  const { major, minor } = splitDev(st.rdev);
  return {
    device: { path: containerPath, type, major, minor, fileMode: Number(st.mode & 0o777n), uid: Number(st.uid), gid: Number(st.gid) },
    rule: { allow: true, type, major, minor, access: permissions || 'rwm' },
  };
}

function buildDevices(hc: HostConfig): { devices: OciDevice[]; rules: OciDeviceCgroup[] } {
  // Privileged: the cgroup allows every device. Host device nodes are not copied into /dev yet.
  if (hc.Privileged) return { devices: [], rules: [{ allow: true, access: 'rwm' }] };
  const devices: OciDevice[] = [];
  const rules = defaultDeviceRules();
  for (const d of hc.Devices ?? []) {
    const { device, rule } = deviceFromPath(d.PathOnHost, d.PathInContainer || d.PathOnHost, d.CgroupPermissions);
    devices.push(device);
    rules.push(rule);
  }
  return { devices, rules };
}

// ---------------------------------------------------------------- resources, namespaces, sysctls

/** linux.resources for create (and, with the device rules left out, for `runc update`). */
export function buildResources(hc: HostConfig): OciResources {
  const memory: NonNullable<OciResources['memory']> = {};
  if (hc.Memory) memory.limit = hc.Memory;
  if (hc.MemoryReservation) memory.reservation = hc.MemoryReservation;
  if (hc.MemorySwap) memory.swap = hc.MemorySwap; // -1: unlimited, runc's meaning too
  memory.disableOOMKiller = !!hc.OomKillDisable;
  const cpu: NonNullable<OciResources['cpu']> = { shares: hc.CpuShares ?? 0 };
  if (hc.NanoCpus) {
    cpu.quota = Math.round((hc.NanoCpus * 100000) / 1e9);
    cpu.period = 100000;
  } else {
    if (hc.CpuQuota) cpu.quota = hc.CpuQuota;
    if (hc.CpuPeriod) cpu.period = hc.CpuPeriod;
  }
  // runc writes them into the container's cgroup as given (dockerd does the same: a runtime the parent
  // cgroup has no budget for fails the start with the kernel's refusal).
  if (hc.CpuRealtimePeriod) cpu.realtimePeriod = hc.CpuRealtimePeriod;
  if (hc.CpuRealtimeRuntime) cpu.realtimeRuntime = hc.CpuRealtimeRuntime;
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  const r: OciResources = { memory, cpu };
  // 0 and -1 mean unlimited: a fresh cgroup already is, so say nothing.
  if (hc.PidsLimit && hc.PidsLimit > 0) r.pids = { limit: hc.PidsLimit };
  r.blockIO = { weight: hc.BlkioWeight ?? 0 };
  return r;
}

function buildNamespaces(input: SpecInput): OciNamespace[] {
  const hc = input.hostConfig;
  const ns: OciNamespace[] = [{ type: 'mount' }];
  if (hc.NetworkMode !== 'host') ns.push(input.netnsPath ? { type: 'network', path: input.netnsPath } : { type: 'network' });
  const paths = input.namespacePaths ?? {};
  if (hc.UTSMode !== 'host') ns.push(paths.uts ? { type: 'uts', path: paths.uts } : { type: 'uts' });
  if (hc.PidMode !== 'host') ns.push(paths.pid ? { type: 'pid', path: paths.pid } : { type: 'pid' });
  if (hc.IpcMode !== 'host') ns.push(paths.ipc ? { type: 'ipc', path: paths.ipc } : { type: 'ipc' });
  // Docker's default on cgroup v2: the container sees its own cgroup as the root of /sys/fs/cgroup and
  // "0::/" in /proc/self/cgroup, never the host's tree.
  if (input.cgroupns) ns.push({ type: 'cgroup' });
  return ns;
}

function buildSysctls(input: SpecInput): Record<string, string> {
  const hc = input.hostConfig;
  const sysctl: Record<string, string> = {};
  if (input.domainname && hc.UTSMode !== 'host') sysctl['kernel.domainname'] = input.domainname;
  Object.assign(sysctl, hc.Sysctls ?? {});
  // Docker 20.10: unprivileged ports and ping inside the container's own network namespace.
  const ownNetns = hc.NetworkMode !== 'host' && !(hc.NetworkMode ?? '').startsWith('container:');
  if (ownNetns) {
    sysctl['net.ipv4.ip_unprivileged_port_start'] ??= '0';
    sysctl['net.ipv4.ping_group_range'] ??= '0 2147483647';
  }
  return sysctl;
}

function buildSeccomp(input: SpecInput, sec: SecurityOptions, caps: string[]): OciSeccomp | undefined {
  if (input.hostConfig.Privileged || sec.seccomp === 'unconfined') return undefined;
  const profile = input.seccompProfile ?? loadSeccompProfileSync(sec.seccomp);
  return convertSeccompProfile(profile, { capabilities: caps });
}

// ---------------------------------------------------------------- the spec

export interface SpecInput {
  id: string;
  /** Absolute path of the container's mounted rootfs. */
  rootfs: string;
  /** Entrypoint + cmd already combined. */
  args: string[];
  /** Image env + container env merged by the caller; PATH, HOSTNAME and TERM are added here. */
  env: string[];
  cwd: string;
  user: ResolvedUser;
  tty: boolean;
  hostname: string;
  domainname?: string;
  hostConfig: HostConfig;
  files: { hostsPath: string; resolvConfPath: string; hostnamePath: string };
  /** Join this network namespace; absent → a new one (only lo). */
  netnsPath?: string;
  /** Namespaces to join for container:<id> pid/ipc/uts modes (resolved by the caller). */
  namespacePaths?: { pid?: string; ipc?: string; uts?: string };
  /** e.g. "/berth/<id>" (runc's cgroupfs driver). */
  cgroupsPath: string;
  /** A private cgroup namespace: Docker's default where the host has cgroup v2 (the caller knows the layout). */
  cgroupns?: boolean;
  /** Volumes, bind mounts, --mount tmpfs (sorted with the other user mounts by depth). */
  extraMounts?: OciMount[];
  /** "shared" or "rslave" when a bind mount propagates so (Docker's RootfsPropagation). */
  rootfsPropagation?: string;
  /** tini or catatonit, bind-mounted at /sbin/docker-init when HostConfig.Init. */
  initPath?: string;
  /** Already loaded; undefined → the SecurityOpt seccomp=… profile, else Docker's default. */
  seccompProfile?: DockerSeccompProfile;
}

export function buildSpec(input: SpecInput): OciSpec {
  const hc = input.hostConfig;
  const sec = parseSecurityOpts(hc.SecurityOpt);
  const caps = tweakCapabilities(hc.CapAdd, hc.CapDrop, !!hc.Privileged);
  const { devices, rules } = buildDevices(hc);
  const resources: OciResources = { devices: rules, ...buildResources(hc) };

  const linux: OciLinux = {
    sysctl: buildSysctls(input),
    resources,
    cgroupsPath: input.cgroupsPath,
    namespaces: buildNamespaces(input),
  };
  if (devices.length > 0) linux.devices = devices;
  const seccomp = buildSeccomp(input, sec, caps);
  if (seccomp) linux.seccomp = seccomp;
  if (!hc.Privileged && !sec.unconfinedSystemPaths) {
    linux.maskedPaths = [...DEFAULT_MASKED_PATHS];
    linux.readonlyPaths = [...DEFAULT_READONLY_PATHS];
  }
  if (input.rootfsPropagation) linux.rootfsPropagation = input.rootfsPropagation;

  // Key order as Docker writes it, so config.json files diff cleanly against dockerd's.
  return {
    ociVersion: OCI_VERSION,
    process: buildProcess(input, caps, sec),
    root: hc.ReadonlyRootfs ? { path: input.rootfs, readonly: true } : { path: input.rootfs },
    // With the host's UTS namespace runc may not set a hostname (nor may we change the host's).
    ...(hc.UTSMode !== 'host' ? { hostname: input.hostname } : {}),
    mounts: buildMounts(input),
    linux,
  };
}
