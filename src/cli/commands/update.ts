// `update`: change a container's resource limits and restart policy (POST /containers/{id}/update).
import type { HostConfig } from '../../api/types.js';
import type { CommandSpec, Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { CONTAINER_FLAGS, restartPolicy } from '../run-options.js';
import { eachContainer } from '../each-container.js';

const NAMES = ['blkio-weight', 'cpu-period', 'cpu-quota', 'cpu-rt-period', 'cpu-rt-runtime', 'cpu-shares', 'cpus', 'cpuset-cpus', 'memory', 'memory-reservation', 'memory-swap', 'pids-limit', 'restart'];

function updateBody(f: ParsedFlags): HostConfig {
  const body: HostConfig = {};
  if (f.has('memory')) body.Memory = f.num('memory');
  if (f.has('memory-swap')) body.MemorySwap = f.num('memory-swap');
  if (f.has('memory-reservation')) body.MemoryReservation = f.num('memory-reservation');
  if (f.has('cpus')) body.NanoCpus = Math.round(f.num('cpus') * 1e9);
  if (f.has('cpu-shares')) body.CpuShares = f.num('cpu-shares');
  if (f.has('cpu-period')) body.CpuPeriod = f.num('cpu-period');
  if (f.has('cpu-quota')) body.CpuQuota = f.num('cpu-quota');
  if (f.has('cpu-rt-period')) body.CpuRealtimePeriod = f.num('cpu-rt-period');
  if (f.has('cpu-rt-runtime')) body.CpuRealtimeRuntime = f.num('cpu-rt-runtime');
  if (f.has('cpuset-cpus')) body.CpusetCpus = f.str('cpuset-cpus');
  if (f.has('pids-limit')) body.PidsLimit = f.num('pids-limit');
  if (f.has('blkio-weight')) body.BlkioWeight = f.num('blkio-weight');
  if (f.has('restart')) body.RestartPolicy = restartPolicy(f.str('restart'));
  return body;
}

async function update(ctx: Context, f: ParsedFlags): Promise<number> {
  const body = updateBody(f);
  const client = ctx.client();
  const warnings: string[] = [];
  const code = await eachContainer(ctx, f.args, async (name) => {
    const r = await client.json<{ Warnings?: string[] | null }>({ method: 'POST', path: `/containers/${encodeURIComponent(name)}/update`, body });
    warnings.push(...(r.Warnings ?? []));
  });
  // As the docker CLI: the daemon's warnings on stdout, after the names.
  if (warnings.length) ctx.stdout.write(`${warnings.join('\n')}\n`);
  return code;
}

export const commands: Record<string, CommandSpec> = {
  update: {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Update configuration of one or more containers',
    aliases: ['berth container update', 'berth update'],
    args: { min: 1 },
    flags: CONTAINER_FLAGS.filter((fl) => NAMES.includes(fl.name)).map((fl) => (fl.name === 'restart' ? { ...fl, default: undefined } : fl)),
    run: update,
  },
};
