// HostConfig checks dockerd makes before anything is created (daemon/daemon_unix.go
// verifyPlatformContainerResources, verifyContainerSettings), with dockerd's wording, plus the
// --security-opt and --tmpfs option parsers they rely on.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { InvalidParameter } from '../../lib/errors.js';
import type { HostConfig, Ulimit } from '../../api/types.js';
import { normalizeCapabilities } from './capabilities.js';

const MIN_MEMORY = 6 * 1024 * 1024;

// ---------------------------------------------------------------- --security-opt

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** "unconfined", a profile's JSON text, or a path; undefined → the default profile. */
  seccomp?: string;
  apparmor?: string;
  labels: string[];
  /** systempaths=unconfined: no masked or read-only /proc paths. */
  unconfinedSystemPaths: boolean;
}

/** Parse HostConfig.SecurityOpt as dockerd does (daemon/create.go parseSecurityOpt). */
export function parseSecurityOpts(opts: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, labels: [], unconfinedSystemPaths: false };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') {
      out.labels.push('disable');
      continue;
    }
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : undefined;
    if (sep === undefined) throw new InvalidParameter(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const i = opt.indexOf(sep);
    const key = opt.slice(0, i);
    const value = opt.slice(i + 1);
    switch (key) {
      case 'label':
        out.labels.push(value);
        break;
      case 'apparmor':
        out.apparmor = value;
        break;
      case 'seccomp':
        out.seccomp = value;
        break;
      case 'systempaths':
        if (value !== 'unconfined') throw new InvalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.unconfinedSystemPaths = true;
        break;
      case 'no-new-privileges': {
        const b = parseGoBool(value);
        if (b === undefined) throw new InvalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.noNewPrivileges = b;
        break;
      }
      default:
        throw new InvalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return out;
}

/** Go's strconv.ParseBool. */
function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

// ---------------------------------------------------------------- tmpfs options

/** Mount flags and which flag they collide with (moby pkg/mount flags: "exec" undoes "noexec"). */
const FLAG_GROUP: Record<string, string> = {
  ro: 'rdonly', rw: 'rdonly', suid: 'nosuid', nosuid: 'nosuid', dev: 'nodev', nodev: 'nodev',
  exec: 'noexec', noexec: 'noexec', sync: 'sync', async: 'sync', dirsync: 'dirsync', remount: 'remount',
  mand: 'mand', nomand: 'mand', atime: 'noatime', noatime: 'noatime', diratime: 'nodiratime',
  nodiratime: 'nodiratime', bind: 'bind', rbind: 'rbind', relatime: 'relatime', norelatime: 'relatime',
  strictatime: 'strictatime', nostrictatime: 'strictatime',
  private: 'propagation', rprivate: 'propagation', shared: 'propagation', rshared: 'propagation',
  slave: 'propagation', rslave: 'propagation', unbindable: 'propagation', runbindable: 'propagation',
};
const TMPFS_DATA = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

/** moby MergeTmpfsOptions: later options win, flags collide with their opposites. */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const flagsSeen = new Set<string>();
  const dataSeen = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const opt = options[i]!;
    if (opt === 'defaults' || opt === '') continue;
    const group = FLAG_GROUP[opt];
    if (group !== undefined) {
      if (!flagsSeen.has(group)) out.unshift(opt);
      flagsSeen.add(group);
      continue;
    }
    const eq = opt.indexOf('=');
    const key = eq < 0 ? '' : opt.slice(0, eq);
    if (!TMPFS_DATA.has(key)) throw new InvalidParameter(`Invalid tmpfs option ${JSON.stringify(eq < 0 ? [opt] : [key, opt.slice(eq + 1)])}`);
    if (!dataSeen.has(key)) out.unshift(opt);
    dataSeen.add(key);
  }
  return out;
}

/** Docker's options for one HostConfig.Tmpfs entry: noexec,nosuid,nodev,rprivate then the user's. */
export function tmpfsMountOptions(data: string): string[] {
  const user = data === '' ? [] : data.split(',');
  return mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...user]);
}

// ---------------------------------------------------------------- cpusets, ulimits, sysctls

/** "0-2,4" → [0,1,2,4]; Docker's parsers.ParseUintList. */
export function parseCpuset(list: string): number[] {
  const out = new Set<number>();
  if (list === '') return [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new InvalidParameter(`Invalid value ${list} for cpuset cpus: invalid format: ${list}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new InvalidParameter(`Invalid value ${list} for cpuset cpus: invalid format: ${list}`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** ulimit name → its row in /proc/self/limits. */
export const ULIMIT_ROWS: Record<string, string> = {
  cpu: 'Max cpu time', fsize: 'Max file size', data: 'Max data size', stack: 'Max stack size',
  core: 'Max core file size', rss: 'Max resident set', nproc: 'Max processes', nofile: 'Max open files',
  memlock: 'Max locked memory', as: 'Max address space', locks: 'Max file locks',
  sigpending: 'Max pending signals', msgqueue: 'Max msgqueue size', nice: 'Max nice priority',
  rtprio: 'Max realtime priority', rttime: 'Max realtime timeout',
};

/** The daemon's own hard limits (Infinity for "unlimited"); without CAP_SYS_RESOURCE runc cannot exceed them. */
export function hostHardLimits(text?: string): Map<string, number> {
  const limits = new Map<string, number>();
  let src = text;
  if (src === undefined) {
    try {
      src = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return limits;
    }
  }
  for (const [name, row] of Object.entries(ULIMIT_ROWS)) {
    const line = src.split('\n').find((l) => l.startsWith(row));
    if (!line) continue;
    const cols = line.slice(row.length).trim().split(/\s+/);
    const hard = cols[1];
    if (hard !== undefined) limits.set(name, hard === 'unlimited' ? Infinity : Number(hard));
  }
  return limits;
}

function ulimitValue(n: number): number {
  return n < 0 ? Infinity : n;
}

export function validateUlimits(ulimits: readonly Ulimit[], hostLimits = hostHardLimits()): void {
  for (const u of ulimits) {
    if (!(u.Name in ULIMIT_ROWS)) throw new InvalidParameter(`invalid ulimit type: ${u.Name}`);
    if (ulimitValue(u.Soft) > ulimitValue(u.Hard)) {
      throw new InvalidParameter(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
    }
    const host = hostLimits.get(u.Name);
    if (host !== undefined && ulimitValue(u.Hard) > host) {
      throw new InvalidParameter(`ulimit ${u.Name}: hard limit ${u.Hard} is above the host's hard limit ${host} (the daemon cannot raise it)`);
    }
  }
}

const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);
const UTS_SYSCTLS = new Set(['kernel.domainname', 'kernel.hostname']);

/** Only namespaced sysctls may be set, and only when the container has that namespace (runc's rule). */
export function validateSysctl(name: string, hc: HostConfig): void {
  if (IPC_SYSCTLS.has(name) || name.startsWith('fs.mqueue.')) {
    if (hc.IpcMode === 'host') throw new InvalidParameter(`sysctl '${name}' is not allowed with the host IPC namespace`);
    return;
  }
  if (name.startsWith('net.')) {
    if (hc.NetworkMode === 'host') throw new InvalidParameter(`sysctl '${name}' is not allowed in the host network namespace`);
    return;
  }
  if (UTS_SYSCTLS.has(name)) {
    if (hc.UTSMode === 'host') throw new InvalidParameter(`sysctl '${name}' is not allowed with the host UTS namespace`);
    return;
  }
  throw new InvalidParameter(`sysctl '${name}' is not allowed: it is not namespaced (only kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* and net.* can be set in a container)`);
}

// ---------------------------------------------------------------- the whole HostConfig

function validateMemory(hc: HostConfig): void {
  const mem = hc.Memory ?? 0;
  const swap = hc.MemorySwap ?? 0;
  const reservation = hc.MemoryReservation ?? 0;
  if (mem !== 0 && mem < MIN_MEMORY) throw new InvalidParameter('Minimum memory limit allowed is 6MB');
  if (mem > 0 && swap > 0 && swap < mem) {
    throw new InvalidParameter('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (mem === 0 && swap > 0) throw new InvalidParameter('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (reservation !== 0 && reservation < MIN_MEMORY) throw new InvalidParameter('Minimum memory reservation allowed is 6MB');
  if (mem > 0 && reservation > 0 && mem < reservation) {
    throw new InvalidParameter('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
}

function validateCpu(hc: HostConfig, ncpu: number): void {
  if ((hc.CpuShares ?? 0) < 0) throw new InvalidParameter(`invalid CPU shares (${hc.CpuShares}): value must be a positive integer`);
  const nano = hc.NanoCpus ?? 0;
  if (nano > 0 && (hc.CpuPeriod ?? 0) > 0) throw new InvalidParameter('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && (hc.CpuQuota ?? 0) > 0) throw new InvalidParameter('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano < 0 || nano > ncpu * 1e9) {
    throw new InvalidParameter(`Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  }
  const period = hc.CpuPeriod ?? 0;
  if (period !== 0 && (period < 1000 || period > 1000000)) {
    throw new InvalidParameter('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  const quota = hc.CpuQuota ?? 0;
  if (quota > 0 && quota < 1000) throw new InvalidParameter('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if (hc.CpusetCpus) {
    const wanted = parseCpuset(hc.CpusetCpus);
    const missing = wanted.filter((c) => c >= ncpu);
    if (missing.length > 0) {
      throw new InvalidParameter(`Requested CPUs are not available - requested ${hc.CpusetCpus}, available: ${ncpu === 1 ? '0' : `0-${ncpu - 1}`}`);
    }
  }
}

function validateRestartPolicy(hc: HostConfig): void {
  const p = hc.RestartPolicy;
  const name = p?.Name ?? '';
  const count = p?.MaximumRetryCount ?? 0;
  switch (name) {
    case 'always':
    case 'unless-stopped':
    case 'no':
      if (count !== 0) throw new InvalidParameter(`maximum retry count cannot be used with restart policy '${name}'`);
      break;
    case 'on-failure':
      if (count < 0) throw new InvalidParameter('maximum retry count cannot be negative');
      break;
    case '':
      break;
    default:
      throw new InvalidParameter(`invalid restart policy '${name as string}'`);
  }
  if (hc.AutoRemove && name !== '' && name !== 'no') {
    throw new InvalidParameter("can't create 'AutoRemove' container with restart policy");
  }
}

function validateModes(hc: HostConfig): void {
  const ipc = hc.IpcMode ?? '';
  if (!['', 'none', 'private', 'shareable', 'host'].includes(ipc) && !ipc.startsWith('container:')) {
    throw new InvalidParameter(`invalid IPC mode: ${ipc}`);
  }
  const pid = hc.PidMode ?? '';
  if (!['', 'host'].includes(pid) && !pid.startsWith('container:')) throw new InvalidParameter(`invalid PID mode: ${pid}`);
  const uts = hc.UTSMode ?? '';
  if (!['', 'host'].includes(uts)) throw new InvalidParameter(`invalid UTS mode: ${uts}`);
}

function validateDevicesAndMounts(hc: HostConfig): void {
  for (const d of hc.Devices ?? []) {
    if (!/^[rwm]*$/.test(d.CgroupPermissions ?? '')) throw new InvalidParameter(`invalid device cgroup permissions: ${d.CgroupPermissions}`);
    if (d.PathInContainer && !d.PathInContainer.startsWith('/')) throw new InvalidParameter(`${d.PathInContainer} is not an absolute path`);
  }
  for (const [dest, data] of Object.entries(hc.Tmpfs ?? {})) {
    if (!dest.startsWith('/')) throw new InvalidParameter(`invalid mount config for type "tmpfs": invalid mount path: '${dest}' mount path must be absolute`);
    tmpfsMountOptions(data);
  }
  if ((hc.ShmSize ?? 0) < 0) throw new InvalidParameter('SHM size can not be less than 0');
  const bw = hc.BlkioWeight ?? 0;
  if (bw > 0 && (bw < 10 || bw > 1000)) throw new InvalidParameter('Range of blkio weight is from 10 to 1000');
}

/** Throw InvalidParameter for anything dockerd would refuse, before anything is created. */
export function validateHostConfig(hc: HostConfig, ncpu = os.cpus().length): void {
  normalizeCapabilities(hc.CapAdd);
  normalizeCapabilities(hc.CapDrop);
  validateMemory(hc);
  validateCpu(hc, ncpu);
  validateUlimits(hc.Ulimits ?? []);
  for (const name of Object.keys(hc.Sysctls ?? {})) validateSysctl(name, hc);
  validateRestartPolicy(hc);
  validateModes(hc);
  validateDevicesAndMounts(hc);
  parseSecurityOpts(hc.SecurityOpt);
  if (hc.Runtime && hc.Runtime !== DEFAULT_RUNTIME) throw new InvalidParameter(`Unknown runtime specified ${hc.Runtime}`);
}

/** dockerd's name for its default runtime, which berthd runs with whatever --runtime binary it was given. */
const DEFAULT_RUNTIME = 'runc';

/** dockerd's create-time defaults (adaptContainerSettings): swap twice the memory, 64 MiB of /dev/shm. */
export function adaptHostConfig(hc: HostConfig): HostConfig {
  const out: HostConfig = { ...hc };
  if ((out.Memory ?? 0) > 0 && (out.MemorySwap ?? 0) === 0) out.MemorySwap = out.Memory! * 2;
  if ((out.ShmSize ?? 0) === 0) out.ShmSize = 64 * 1024 * 1024;
  out.Runtime ||= DEFAULT_RUNTIME;
  return out;
}
