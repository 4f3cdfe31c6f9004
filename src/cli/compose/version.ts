// `berth compose version`: the Compose version berth compose behaves as, marked as berth's the way
// Docker Desktop marks its builds ("v2.29.7-desktop.1"): "v2.29.7-berth". Scripts that compare
// versions see 2.29.7's features; the suffix says whose compose it is.
import { COMPOSE_VERSION } from '../../compose/labels.js';
import { ComposeError } from '../../compose/types.js';
import { writeOut } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';

export const BERTH_COMPOSE_VERSION = `v${COMPOSE_VERSION}-berth`;

async function version(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  if (f.bool('short')) {
    await writeOut(ctx.stdout, BERTH_COMPOSE_VERSION.replace(/^v/, '') + '\n');
    return 0;
  }
  const format = f.str('format');
  if (format === 'json') await writeOut(ctx.stdout, `{"version":${JSON.stringify(BERTH_COMPOSE_VERSION)}}\n`);
  else if (format === '' || format === 'pretty') await writeOut(ctx.stdout, `Docker Compose version ${BERTH_COMPOSE_VERSION}\n`);
  else throw new ComposeError(`unsupported --format "${format}": use pretty or json`);
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  version: {
    usage: '[OPTIONS]',
    description: 'Show the Docker Compose version information',
    flags: [
      { name: 'format', short: 'f', type: 'string', description: 'Format the output. Values: [pretty | json]. (Default: pretty)' },
      { name: 'short', type: 'bool', description: "Shows only Compose's version number" },
    ],
    args: { max: 0 },
    run: version,
  },
};
