// HostConfig: resources (the service's keys, overridden by deploy.resources as Compose v2 does), the
// restart policy, logging, security and namespaces — getDeployResources/getRestartPolicy's mapping.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DeviceMapping, HostConfig, RestartPolicy, Ulimit } from '../../api/types.js';
import type { Resources } from '../types.js';
import { compact, invalid, nonEmpty, resolveServiceMode, unsupported, type ContainerOptions, type ServiceRef } from './common.js';

type ResourceFields = Pick<
  HostConfig,
  'Memory' | 'MemorySwap' | 'MemoryReservation' | 'NanoCpus' | 'CpuShares' | 'CpuQuota' | 'CpuPeriod' | 'CpusetCpus' | 'PidsLimit' | 'OomKillDisable' | 'Ulimits' | 'Devices'
>;

export function resources(ref: ServiceRef): ResourceFields {
  const s = ref.service;
  const limits = s.deploy?.resources?.limits;
  const reservations = s.deploy?.resources?.reservations;
  refuseDeviceRequests(ref, 'limits', limits);
  refuseDeviceRequests(ref, 'reservations', reservations);
  const limitCpus = limits?.cpus !== undefined ? Number(limits.cpus) : undefined;
  if (limitCpus !== undefined && !Number.isFinite(limitCpus)) throw invalid(ref.name, 'deploy.resources.limits.cpus', `invalid number ${JSON.stringify(limits?.cpus)}`);
  const cpus = limitCpus || s.cpus;
  return compact({
    Memory: limits?.memory || s.mem_limit || undefined,
    MemorySwap: s.memswap_limit || undefined,
    // Reserved CPUs are a Swarm scheduling hint (Compose ignores them too); memory maps to the soft limit.
    MemoryReservation: reservations?.memory || s.mem_reservation || undefined,
    NanoCpus: cpus ? Math.round(cpus * 1e9) : undefined,
    CpuShares: s.cpu_shares || undefined,
    CpuQuota: s.cpu_quota || undefined,
    CpuPeriod: s.cpu_period || undefined,
    CpusetCpus: s.cpuset || undefined,
    PidsLimit: (limits?.pids ?? 0) > 0 ? limits!.pids : s.pids_limit || undefined,
    OomKillDisable: s.oom_kill_disable || undefined,
    Ulimits: ulimits(ref),
    Devices: devices(ref),
  });
}

function refuseDeviceRequests(ref: ServiceRef, which: string, r: Resources | undefined): void {
  if (r?.devices?.length) throw unsupported(ref.name, `deploy.resources.${which}.devices`, 'berth has no device requests (GPUs)');
}

/** `ulimits` by name (sorted: a stable request), `single` as both soft and hard. */
function ulimits(ref: ServiceRef): Ulimit[] | undefined {
  const entries = Object.entries(ref.service.ulimits ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return nonEmpty(entries.map(([Name, u]) => ({ Name, Soft: u.soft ?? u.single ?? 0, Hard: u.hard ?? u.single ?? 0 })));
}

/** `devices` as device mappings; a CDI device name (vendor.com/class=name) needs CDI, which berth lacks. */
function devices(ref: ServiceRef): DeviceMapping[] | undefined {
  return nonEmpty((ref.service.devices ?? []).map((d) => {
    if (d.source === d.target && /^[^/]+\/[^=]+=.+$/.test(d.source)) throw unsupported(ref.name, `CDI device ${d.source}`);
    return { PathOnHost: d.source, PathInContainer: d.target, CgroupPermissions: d.permissions || 'rwm' };
  }));
}

/** `restart`, overridden by deploy.restart_policy when both are given (as Compose v2's getRestartPolicy). */
export function restartPolicy(ref: ServiceRef): RestartPolicy | undefined {
  const deploy = ref.service.deploy?.restart_policy;
  if (deploy) return { Name: restartName(ref, deploy.condition ?? 'any'), MaximumRetryCount: deploy.max_attempts ?? 0 };
  const restart = ref.service.restart;
  if (!restart) return undefined;
  const [name = '', count] = restart.split(':');
  const n = count === undefined ? 0 : Number(count);
  if (!Number.isInteger(n) || n < 0) throw invalid(ref.name, 'restart', `invalid restart policy ${JSON.stringify(restart)}`);
  return { Name: restartName(ref, name), MaximumRetryCount: n };
}

function restartName(ref: ServiceRef, condition: string): RestartPolicy['Name'] {
  switch (condition) {
    case 'no':
    case 'none':
      return 'no';
    case 'always':
    case 'any':
      return 'always';
    case 'on-failure':
    case 'unless-stopped':
      return condition;
    default:
      throw invalid(ref.name, 'restart', `invalid restart policy ${JSON.stringify(condition)}`);
  }
}

/** security_opt as the docker CLI sends it: a seccomp profile named by path is sent as its JSON. */
export function securityOpts(ref: ServiceRef): string[] | undefined {
  return nonEmpty((ref.service.security_opt ?? []).map((opt) => {
    const m = /^seccomp[=:](.*)$/.exec(opt);
    if (!m || m[1] === 'unconfined' || m[1] === 'builtin') return opt;
    const file = path.resolve(ref.project.workingDir, m[1]!);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw invalid(ref.name, 'security_opt', `opening seccomp profile (${m[1]}) failed: ${(err as Error).message}`);
    }
    try {
      return `seccomp=${JSON.stringify(JSON.parse(text))}`;
    } catch (err) {
      throw invalid(ref.name, 'security_opt', `compacting json for seccomp profile (${m[1]}) failed: ${(err as Error).message}`);
    }
  }));
}

/** extra_hosts { host: [ip, …] } → "host:ip" lines (Compose's HostsList.AsList(":")). */
export function extraHosts(ref: ServiceRef): string[] | undefined {
  return nonEmpty(Object.entries(ref.service.extra_hosts ?? {}).flatMap(([host, ips]) => ips.map((ip) => `${host}:${ip}`)));
}

/** pid/ipc (service:x → container:<x's container>), uts. */
export function namespaces(ref: ServiceRef, opts: ContainerOptions): Pick<HostConfig, 'PidMode' | 'IpcMode' | 'UTSMode'> {
  return compact({
    PidMode: resolveServiceMode(ref, opts, 'pid', ref.service.pid),
    IpcMode: resolveServiceMode(ref, opts, 'ipc', ref.service.ipc),
    UTSMode: ref.service.uts,
  });
}
