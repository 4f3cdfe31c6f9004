// Which cgroup layout the host has, detected once at start: v2 (unified), v1, or hybrid
// (v1 controllers with a v2 mount beside them — this project's CI machine). runc handles both;
// berth reads the layout for stats, OOM detection and `info`.
import { promises as fs } from 'node:fs';

export type CgroupLayout = 'v1' | 'v2';

let cached: CgroupLayout | undefined;

export async function cgroupLayout(): Promise<CgroupLayout> {
  if (cached) return cached;
  try {
    await fs.access('/sys/fs/cgroup/cgroup.controllers');
    cached = 'v2';
  } catch {
    cached = 'v1';
  }
  return cached;
}

let controllers: Set<string> | undefined;

/**
 * The resource controllers a container's cgroup can use: on v2 those the root offers (runc enables them
 * down to /berth/<id>); on v1 those mounted under /sys/fs/cgroup. A hybrid host's v2 tree usually offers
 * none of memory, pids, cpu or cpuset: they stay bound to v1. On v1, "cpu.rt" too when the cpu controller
 * has the real-time scheduler (CONFIG_RT_GROUP_SCHED): dockerd's sysinfo.CPURealtime (never on v2).
 */
export async function cgroupControllers(): Promise<Set<string>> {
  if (controllers) return controllers;
  if ((await cgroupLayout()) === 'v2') {
    const text = await fs.readFile('/sys/fs/cgroup/cgroup.controllers', 'utf8').catch(() => '');
    controllers = new Set(text.split(/\s+/).filter(Boolean));
  } else {
    const found = await Promise.all(
      [['memory', 'memory'], ['pids', 'pids'], ['cpu', 'cpu'], ['cpuset', 'cpuset'], ['cpu.rt', 'cpu/cpu.rt_period_us']].map(async ([c, p]) => ((await fs.access(`/sys/fs/cgroup/${p}`).then(() => true, () => false)) ? [c!] : [])),
    );
    controllers = new Set(found.flat());
  }
  return controllers;
}

/** The limit fields of a create or update body (HostConfig's resources), as far as this check needs them. */
export interface LimitFields {
  Memory?: number;
  MemoryReservation?: number;
  MemorySwap?: number;
  PidsLimit?: number | null;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  NanoCpus?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
}

/**
 * dockerd's verifyPlatformContainerResources for a host without some controller: the limit is dropped
 * with dockerd's warning (the container runs unlimited), except --cpus, which is refused. Changes `hc`.
 */
export function discardUnsupportedLimits(hc: LimitFields, available: Set<string>): { warnings: string[]; error?: string } {
  const warnings: string[] = [];
  const memory = available.has('memory');
  if (hc.Memory && hc.Memory > 0 && !memory) {
    warnings.push('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    hc.Memory = 0;
    hc.MemorySwap = 0;
  }
  if (hc.MemoryReservation && hc.MemoryReservation > 0 && !memory) {
    warnings.push('Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.');
    hc.MemoryReservation = 0;
  }
  if (hc.MemorySwap && !memory) hc.MemorySwap = 0;
  if (hc.PidsLimit && !available.has('pids')) {
    warnings.push('Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.');
    hc.PidsLimit = 0;
  }
  const cpu = available.has('cpu');
  if (hc.NanoCpus && hc.NanoCpus > 0 && !cpu) return { warnings, error: 'NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted' };
  if (hc.CpuShares && hc.CpuShares > 0 && !cpu) {
    warnings.push('Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.');
    hc.CpuShares = 0;
  }
  if (hc.CpuPeriod && hc.CpuPeriod > 0 && !cpu) {
    warnings.push('Your kernel does not support CPU cfs period or the cgroup is not mounted. Period discarded.');
    hc.CpuPeriod = 0;
  }
  if (hc.CpuQuota && hc.CpuQuota > 0 && !cpu) {
    warnings.push('Your kernel does not support CPU cfs quota or the cgroup is not mounted. Quota discarded.');
    hc.CpuQuota = 0;
  }
  // dockerd refuses these rather than dropping them, support first (runconfig's validateResources).
  const [rtPeriod, rtRuntime] = [hc.CpuRealtimePeriod ?? 0, hc.CpuRealtimeRuntime ?? 0];
  if ((rtPeriod || rtRuntime) && !available.has('cpu.rt')) return { warnings, error: 'Your kernel does not support CPU real-time scheduler' };
  if (rtPeriod && rtRuntime && rtRuntime > rtPeriod) return { warnings, error: 'cpu real-time runtime cannot be higher than cpu real-time period' };
  if ((hc.CpusetCpus || hc.CpusetMems) && !available.has('cpuset')) {
    warnings.push('Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.');
    hc.CpusetCpus = '';
    hc.CpusetMems = '';
  }
  return { warnings };
}
