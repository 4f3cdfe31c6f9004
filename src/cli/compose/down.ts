// `berth compose down [OPTIONS] [SERVICES]`: Docker Compose v2's flags and output over src/compose/down.ts.
import type { ParsedFlags } from '../flags.js';
import { down, type DownOptions } from '../../compose/down.js';
import { ComposeError } from '../../compose/types.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { composeTarget, limitOf, removeOrphans, timeoutFlag, withProgress } from './lifecycle.js';

async function run(ctx: ComposeContext, flags: ParsedFlags): Promise<number> {
  const rmi = flags.str('rmi');
  if (rmi && rmi !== 'local' && rmi !== 'all') throw new ComposeError(`invalid value for --rmi: "${rmi}"`);
  const target = await composeTarget(ctx);
  const opts: DownOptions = {
    services: flags.args,
    removeOrphans: removeOrphans(ctx, flags),
    timeout: timeoutFlag(flags),
    volumes: flags.bool('volumes') || flags.bool('volume'),
    images: rmi === 'local' || rmi === 'all' ? rmi : undefined,
    dryRun: ctx.options.dryRun,
    limit: limitOf(ctx),
  };
  const result = await withProgress(ctx, 'Running', (p) => down(ctx.backend(), target, opts, p));
  if (flags.bool('volume')) ctx.stderr.write('WARN[0000] --volume is deprecated, please use --volumes\n');
  if (!result.found) ctx.stderr.write(`WARN[0000] Warning: No resource found to remove for project "${target.name}".\n`);
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  down: {
    usage: '[OPTIONS] [SERVICES]',
    description: 'Stop and remove containers, networks',
    flags: [
      { name: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
      { name: 'rmi', type: 'string', description: 'Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")' },
      { name: 'timeout', short: 't', type: 'int', default: 0, description: 'Specify a shutdown timeout in seconds' },
      { name: 'volumes', short: 'v', type: 'bool', description: 'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers' },
      { name: 'volume', type: 'bool', hidden: true, description: 'Deprecated: use --volumes' },
    ],
    run,
  },
};
