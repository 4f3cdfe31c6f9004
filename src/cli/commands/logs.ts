// `logs`: GET /containers/{id}/logs, demultiplexed unless the container has a TTY.
import type { ContainerInspect } from '../../api/types.js';
import { copyStream, demuxStream } from '../../lib/stdcopy.js';
import type { CommandSpec, Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { apiTimestamp } from '../timestamps.js';

async function logs(ctx: Context, f: ParsedFlags): Promise<number> {
  const name = encodeURIComponent(f.args[0] ?? '');
  const client = ctx.client();
  const c = await client.json<ContainerInspect>({ path: `/containers/${name}/json` });
  const res = await client.request({
    path: `/containers/${name}/logs`,
    query: {
      stdout: true,
      stderr: true,
      since: f.str('since') ? apiTimestamp(f.str('since')) : undefined,
      until: f.str('until') ? apiTimestamp(f.str('until'), Date.now(), 'until') : undefined,
      timestamps: f.bool('timestamps') || undefined,
      follow: f.bool('follow') || undefined,
      tail: f.str('tail'),
      details: f.bool('details') || undefined,
    },
  });
  if (c.Config.Tty) await copyStream(res, ctx.stdout);
  else await demuxStream(res, ctx.stdout, ctx.stderr);
  return 0;
}

export const commands: Record<string, CommandSpec> = {
  logs: {
    usage: '[OPTIONS] CONTAINER',
    description: 'Fetch the logs of a container',
    flags: [
      { name: 'details', type: 'bool', description: 'Show extra details provided to logs' },
      { name: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
      { name: 'since', type: 'string', description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
      { name: 'tail', short: 'n', type: 'string', default: 'all', description: 'Number of lines to show from the end of the logs' },
      { name: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
      { name: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    ],
    args: { min: 1, max: 1 },
    run: logs,
  },
};
