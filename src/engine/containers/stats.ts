// Container resource usage in the Engine API's stats shape, read from the container's cgroup
// (v1 controllers under /sys/fs/cgroup/<controller>/berth/<id>, or the unified v2 tree) and its
// network namespace (/proc/<pid>/net/dev). docker stats computes CPU % from cpu_stats vs precpu_stats.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { cgroupLayout } from '../cgroups.js';
import type { ContainerStore } from './store.js';

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface StatsJSON {
  name: string;
  id: string;
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: { io_service_bytes_recursive: { major: number; minor: number; op: string; value: number }[] | null };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, Record<string, number>>;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const NS_PER_TICK = 1e9 / 100; // USER_HZ is 100 on Linux

async function read(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

const num = (s: string | undefined) => (s === undefined ? undefined : Number(s.trim()));

function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** Host CPU time in nanoseconds, from the first line of /proc/stat (what dockerd reports). */
async function systemCpuUsage(): Promise<number> {
  const line = (await read('/proc/stat'))?.split('\n')[0] ?? '';
  return line.split(/\s+/).slice(1, 8).reduce((s, v) => s + Number(v || 0), 0) * NS_PER_TICK;
}

function emptyCpu(): CpuStats {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

async function cpuV1(id: string): Promise<CpuStats> {
  const base = `/sys/fs/cgroup/cpuacct/berth/${id}`;
  const percpu = (await read(`${base}/cpuacct.usage_percpu`))?.trim().split(/\s+/).map(Number);
  const acct = keyValues(await read(`${base}/cpuacct.stat`));
  const thr = keyValues(await read(`/sys/fs/cgroup/cpu/berth/${id}/cpu.stat`));
  return {
    cpu_usage: { total_usage: num(await read(`${base}/cpuacct.usage`)) ?? 0, percpu_usage: percpu, usage_in_kernelmode: (acct.system ?? 0) * NS_PER_TICK, usage_in_usermode: (acct.user ?? 0) * NS_PER_TICK },
    system_cpu_usage: await systemCpuUsage(),
    online_cpus: os.cpus().length,
    throttling_data: { periods: thr.nr_periods ?? 0, throttled_periods: thr.nr_throttled ?? 0, throttled_time: thr.throttled_time ?? 0 },
  };
}

async function cpuV2(id: string): Promise<CpuStats> {
  const s = keyValues(await read(`/sys/fs/cgroup/berth/${id}/cpu.stat`));
  return {
    cpu_usage: { total_usage: (s.usage_usec ?? 0) * 1000, usage_in_kernelmode: (s.system_usec ?? 0) * 1000, usage_in_usermode: (s.user_usec ?? 0) * 1000 },
    system_cpu_usage: await systemCpuUsage(),
    online_cpus: os.cpus().length,
    throttling_data: { periods: s.nr_periods ?? 0, throttled_periods: s.nr_throttled ?? 0, throttled_time: (s.throttled_usec ?? 0) * 1000 },
  };
}

/** An unlimited cgroup reports a huge number; dockerd shows the host's memory instead. */
const capLimit = (limit: number | undefined) => (limit === undefined || !Number.isFinite(limit) || limit > os.totalmem() ? os.totalmem() : limit);

async function memory(id: string, v2: boolean): Promise<StatsJSON['memory_stats']> {
  if (v2) {
    const base = `/sys/fs/cgroup/berth/${id}`;
    const max = (await read(`${base}/memory.max`))?.trim();
    return { usage: num(await read(`${base}/memory.current`)), limit: capLimit(max === 'max' ? undefined : Number(max)), stats: keyValues(await read(`${base}/memory.stat`)) };
  }
  const base = `/sys/fs/cgroup/memory/berth/${id}`;
  return {
    usage: num(await read(`${base}/memory.usage_in_bytes`)),
    max_usage: num(await read(`${base}/memory.max_usage_in_bytes`)),
    limit: capLimit(num(await read(`${base}/memory.limit_in_bytes`))),
    stats: keyValues(await read(`${base}/memory.stat`)),
  };
}

async function pids(id: string, v2: boolean): Promise<StatsJSON['pids_stats']> {
  const base = v2 ? `/sys/fs/cgroup/berth/${id}` : `/sys/fs/cgroup/pids/berth/${id}`;
  const max = (await read(`${base}/pids.max`))?.trim();
  return { current: num(await read(`${base}/pids.current`)), ...(max && max !== 'max' ? { limit: Number(max) } : {}) };
}

async function blkio(id: string, v2: boolean): Promise<StatsJSON['blkio_stats']> {
  const rows: { major: number; minor: number; op: string; value: number }[] = [];
  if (v2) {
    for (const line of ((await read(`/sys/fs/cgroup/berth/${id}/io.stat`)) ?? '').split('\n')) {
      const [dev, ...kv] = line.trim().split(/\s+/);
      const [major, minor] = (dev ?? '').split(':').map(Number);
      const f = Object.fromEntries(kv.map((x) => x.split('=')));
      if (dev) rows.push({ major: major!, minor: minor!, op: 'read', value: Number(f.rbytes ?? 0) }, { major: major!, minor: minor!, op: 'write', value: Number(f.wbytes ?? 0) });
    }
    return { io_service_bytes_recursive: rows };
  }
  for (const line of ((await read(`/sys/fs/cgroup/blkio/berth/${id}/blkio.throttle.io_service_bytes`)) ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim());
    if (m) rows.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return { io_service_bytes_recursive: rows };
}

/** Interfaces of the container's network namespace, as dockerd reports them (lo left out). */
async function networks(pid: number): Promise<StatsJSON['networks']> {
  const text = await read(`/proc/${pid}/net/dev`);
  if (!text) return undefined;
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!rest || name!.trim() === 'lo') continue;
    const v = rest.trim().split(/\s+/).map(Number);
    out[name!.trim()] = { rx_bytes: v[0]!, rx_packets: v[1]!, rx_errors: v[2]!, rx_dropped: v[3]!, tx_bytes: v[8]!, tx_packets: v[9]!, tx_errors: v[10]!, tx_dropped: v[11]! };
  }
  return out;
}

/** One sample; `prev` supplies precpu_stats and preread. A stopped container (pid 0) reads as zeros. */
export async function sampleStats(id: string, name: string, pid: number, prev?: StatsJSON): Promise<StatsJSON> {
  const v2 = (await cgroupLayout()) === 'v2';
  const running = pid > 0;
  return {
    name,
    id,
    read: running ? new Date().toISOString() : ZERO_TIME,
    preread: prev?.read ?? ZERO_TIME,
    pids_stats: running ? await pids(id, v2) : {},
    blkio_stats: running ? await blkio(id, v2) : { io_service_bytes_recursive: null },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: running ? await (v2 ? cpuV2(id) : cpuV1(id)) : emptyCpu(),
    precpu_stats: prev?.cpu_stats ?? emptyCpu(),
    memory_stats: running ? await memory(id, v2) : {},
    ...(running ? { networks: await networks(pid) } : {}),
  };
}

/** What stats needs from the containers service: its records. */
export interface StatsSource {
  readonly store: ContainerStore;
}

/** One resource-usage sample in the Engine API's stats shape (zeros once the container stopped). */
export async function containerStats(src: StatsSource, ref: string, prev?: StatsJSON): Promise<StatsJSON> {
  const rec = src.store.get(ref);
  const pid = rec.state.status === 'running' || rec.state.status === 'paused' ? rec.state.pid : 0;
  return sampleStats(rec.id, rec.name, pid, prev);
}

/**
 * GET /containers/{id}/stats: one sample (stream=false; its precpu from a sample just before, unless
 * one-shot) or one a second while the container exists and the client listens. An unknown container
 * fails now, before any reply.
 */
export function statsStream(src: StatsSource, ref: string, opts: { stream: boolean; oneShot: boolean }, signal: AbortSignal): AsyncGenerator<StatsJSON> {
  const id = src.store.get(ref).id;
  return (async function* () {
    let prev = opts.stream || opts.oneShot ? undefined : await containerStats(src, id);
    if (prev) await new Promise((r) => setTimeout(r, 500));
    do {
      prev = await containerStats(src, id, prev);
      yield prev;
      if (!opts.stream) break;
      await new Promise((r) => setTimeout(r, 1000));
    } while (!signal.aborted && src.store.tryGet(id));
  })();
}
