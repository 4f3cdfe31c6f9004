// `logs`: GET /containers/{id}/logs, demultiplexed unless the container has a TTY.
import type { ContainerInspect } from '../../api/types.js';
import { copyStream, demuxStream } from '../../lib/stdcopy.js';
import { StatusError, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { parseDuration } from '../../lib/units.js';

/** docker's timetypes.GetTimestamp: a duration ago, an RFC 3339 date or a unix timestamp → "sec.nanos". */
export function apiTimestamp(value: string, now = Date.now(), what = 'since'): string {
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  // A timestamp keeps its nanoseconds, as the docker CLI sends them: logs -t output pasted into
  // --since/--until must select exactly the lines at and around it.
  const frac = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{1,9})/.exec(value)?.[1];
  if (frac !== undefined) {
    const whole = Date.parse(value.replace(`.${frac}`, ''));
    if (!Number.isNaN(whole)) return `${Math.floor(whole / 1000)}.${frac.padEnd(9, '0')}`;
  }
  let ms: number;
  try {
    ms = now - parseDuration(value);
  } catch {
    ms = Date.parse(value);
    if (Number.isNaN(ms)) throw new StatusError(`invalid value for "${what}": failed to parse value as time or duration: "${value}"`, 1);
  }
  const seconds = Math.floor(ms / 1000);
  return `${seconds}.${String((ms - seconds * 1000) * 1e6).padStart(9, '0')}`;
}

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
