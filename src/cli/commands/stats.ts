// `stats`: live resource usage, computed from the Engine API's stats JSON exactly as the docker CLI does.
import type { ContainerSummary } from '../../api/types.js';
import { bytesSize, humanSize } from '../../lib/units.js';
import { writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { renderListing, truncateID, type Listing } from '../format/table.js';

interface CpuStats {
  cpu_usage: { total_usage: number };
  system_cpu_usage?: number;
  online_cpus?: number;
}

interface StatsJSON {
  id: string;
  name: string;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  blkio_stats: { io_service_bytes_recursive: { op: string; value: number }[] | null };
  pids_stats: { current?: number };
}

export interface StatsRow {
  Container: string;
  ID: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

const HEADERS: Record<string, string> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

function cpuPercent(s: StatsJSON): number {
  const cpu = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const sys = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  return sys > 0 && cpu > 0 ? (cpu / sys) * (s.cpu_stats.online_cpus ?? 1) * 100 : 0;
}

/** Memory without the page cache that can be reclaimed (docker's calculateMemUsageUnixNoCache). */
function memUsage(m: StatsJSON['memory_stats']): number {
  const usage = m.usage ?? 0;
  const inactive = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

export function statsRow(s: StatsJSON, trunc: boolean): StatsRow {
  const mem = memUsage(s.memory_stats);
  const limit = s.memory_stats.limit ?? 0;
  const nets = Object.values(s.networks ?? {});
  const blk = s.blkio_stats.io_service_bytes_recursive ?? [];
  const sumOp = (op: string) => blk.filter((b) => b.op.toLowerCase() === op).reduce((t, b) => t + b.value, 0);
  const id = trunc ? truncateID(s.id) : s.id;
  return {
    Container: id,
    ID: id,
    Name: s.name.replace(/^\//, ''),
    CPUPerc: `${cpuPercent(s).toFixed(2)}%`,
    MemUsage: `${bytesSize(mem)} / ${bytesSize(limit)}`,
    MemPerc: `${(limit ? (mem / limit) * 100 : 0).toFixed(2)}%`,
    NetIO: `${humanSize(nets.reduce((t, n) => t + n.rx_bytes, 0))} / ${humanSize(nets.reduce((t, n) => t + n.tx_bytes, 0))}`,
    BlockIO: `${humanSize(sumOp('read'))} / ${humanSize(sumOp('write'))}`,
    PIDs: String(s.pids_stats.current ?? 0),
  };
}

async function stats(ctx: Context, f: ParsedFlags): Promise<number> {
  const client = ctx.client();
  const trunc = !f.bool('no-trunc');
  const format = f.str('format');
  const targets = async () =>
    f.args.length ? f.args : (await client.json<ContainerSummary[]>({ path: '/containers/json', query: { all: f.bool('all') || undefined } })).map((c) => c.Id);
  const render = async () => {
    const rows = await Promise.all(
      (await targets()).map((id) => client.json<StatsJSON>({ path: `/containers/${encodeURIComponent(id)}/stats`, query: { stream: false } }).then((s) => statsRow(s, trunc))),
    );
    const listing: Listing<StatsRow> = { rows, headers: HEADERS, columns: ['ID', 'Name', 'CPUPerc', 'MemUsage', 'MemPerc', 'NetIO', 'BlockIO', 'PIDs'] };
    return renderListing(listing, format);
  };
  if (f.bool('no-stream')) {
    await writeOut(ctx.stdout, await render());
    return 0;
  }
  for (;;) {
    const text = await render();
    await writeOut(ctx.stdout, (ctx.stdout.isTTY ? '\x1b[2J\x1b[H' : '') + text);
  }
}

export const commands: Record<string, CommandSpec> = {
  stats: {
    usage: '[OPTIONS] [CONTAINER...]',
    description: 'Display a live stream of container(s) resource usage statistics',
    aliases: ['berth container stats', 'berth stats'],
    flags: [
      { name: 'all', short: 'a', type: 'bool', description: 'Show all containers (default shows just running)' },
      { name: 'format', type: 'string', description: 'Format output using a custom template' },
      { name: 'no-stream', type: 'bool', description: 'Disable streaming stats and only pull the first result' },
      { name: 'no-trunc', type: 'bool', description: 'Do not truncate output' },
    ],
    run: stats,
  },
};
