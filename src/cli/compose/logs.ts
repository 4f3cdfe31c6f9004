// `berth compose logs [OPTIONS] [SERVICE...]`: every container's output with Compose's colored
// "web-1  | " prefixes; -f follows, picking up containers that start later.
import { logPrinter, streamLogs } from '../../compose/logs.js';
import { ComposeError } from '../../compose/types.js';
import type { ParsedFlags } from '../flags.js';
import { apiTimestamp } from '../timestamps.js';
import type { ComposeCommand, ComposeContext, ComposeOptions } from './context.js';
import { checkServices, projectOrName } from './target.js';

/** Compose's SetANSIMode: colors with --ansi always, or auto on a terminal. */
export function useColor(options: ComposeOptions, stdout: { isTTY?: boolean }): boolean {
  return options.ansi === 'always' || (options.ansi === 'auto' && !!stdout.isTTY);
}

async function logs(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const index = f.num('index');
  if (index > 0 && f.args.length !== 1) throw new ComposeError('--index requires one service to be selected');
  const tail = f.str('tail') || 'all';
  if (tail !== 'all' && !/^-?\d+$/.test(tail)) throw new ComposeError(`invalid value for --tail: "${tail}" is not "all" or a number of lines`);
  const target = await projectOrName(ctx);
  checkServices(target, f.args);
  // With a file, only the services it declares (not orphans), unless named.
  const services = f.args.length ? f.args : target.project ? Object.keys(target.project.services) : [];
  const out = logPrinter({
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    color: !f.bool('no-color') && useColor(ctx.options, ctx.stdout),
    prefix: !f.bool('no-log-prefix'),
  });
  await streamLogs(
    ctx.backend(),
    target.name,
    {
      services,
      index,
      follow: f.bool('follow'),
      tail,
      since: f.str('since') ? apiTimestamp(f.str('since')) : undefined,
      until: f.str('until') ? apiTimestamp(f.str('until'), Date.now(), 'until') : undefined,
      timestamps: f.bool('timestamps'),
    },
    out,
  );
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  logs: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'View output from containers',
    flags: [
      { name: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
      { name: 'index', type: 'int', description: 'index of the container if service has multiple replicas' },
      { name: 'no-color', type: 'bool', description: 'Produce monochrome output' },
      { name: 'no-log-prefix', type: 'bool', description: "Don't print prefix in logs" },
      { name: 'since', type: 'string', description: 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
      { name: 'tail', short: 'n', type: 'string', default: 'all', description: 'Number of lines to show from the end of the logs for each container' },
      { name: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
      { name: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
    ],
    run: logs,
  },
};
