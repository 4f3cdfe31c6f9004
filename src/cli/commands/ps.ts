// `ps` / `container ls`.
import type { ContainerSummary } from '../../api/types.js';
import { writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { filtersJSON } from '../filters.js';
import { containerListing } from '../format/containers.js';
import { renderListing, truncateID } from '../format/table.js';

async function ps(ctx: Context, f: ParsedFlags): Promise<number> {
  const format = f.str('format');
  const last = f.bool('latest') ? 1 : f.num('last');
  // docker asks for sizes when the template shows them
  const size = f.bool('size') || (format !== '' && format.includes('.Size'));
  const list = await ctx.client().json<ContainerSummary[]>({
    path: '/containers/json',
    query: {
      all: f.bool('all') || undefined,
      limit: last > 0 ? last : undefined,
      size: size || undefined,
      filters: filtersJSON(f.list('filter')),
    },
  });
  const trunc = !f.bool('no-trunc');
  if (f.bool('quiet')) {
    await writeOut(ctx.stdout, list.map((c) => (trunc ? truncateID(c.Id) : c.Id) + '\n').join(''));
    return 0;
  }
  await writeOut(ctx.stdout, renderListing(containerListing(list, trunc, f.bool('size')), format));
  return 0;
}

export const commands: Record<string, CommandSpec> = {
  ps: {
    usage: '[OPTIONS]',
    description: 'List containers',
    aliases: ['berth container ls', 'berth container list', 'berth container ps', 'berth ps'],
    flags: [
      { name: 'all', short: 'a', type: 'bool', description: 'Show all containers (default shows just running)' },
      { name: 'filter', short: 'f', type: 'stringArray', valueName: 'filter', description: 'Filter output based on conditions provided' },
      { name: 'format', type: 'string', description: 'Format output using a custom template' },
      { name: 'last', short: 'n', type: 'int', default: -1, description: 'Show n last created containers (includes all states)' },
      { name: 'latest', short: 'l', type: 'bool', description: 'Show the latest created container (includes all states)' },
      { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only display container IDs' },
      { name: 'size', short: 's', type: 'bool', description: 'Display total file sizes' },
    ],
    args: { max: 0 },
    run: ps,
  },
};
