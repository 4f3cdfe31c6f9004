// `berth compose ps [OPTIONS] [SERVICE...]`: the project's containers, as Compose v2 lists them.
import { CONTAINER_STATES, psContainers } from '../../compose/ps.js';
import { ComposeError } from '../../compose/types.js';
import { writeOut } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { renderPs } from './format.js';
import { checkServices, projectOrName } from './target.js';

/** --status values plus `--filter status=X` (the only filter Compose knows). */
function statuses(f: ParsedFlags): string[] {
  const out = [...f.list('status')];
  const filter = f.str('filter');
  if (filter) {
    const eq = filter.indexOf('=');
    if (eq < 0) throw new ComposeError('arguments to --filter should be in form KEY=VAL');
    const key = filter.slice(0, eq);
    if (key !== 'status') throw new ComposeError(`unknown filter ${key}`);
    out.push(filter.slice(eq + 1));
  }
  for (const s of out) {
    if (!CONTAINER_STATES.includes(s)) throw new ComposeError(`invalid status "${s}": use one of ${CONTAINER_STATES.join(', ')}`);
  }
  return out;
}

async function ps(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const status = statuses(f);
  const target = await projectOrName(ctx);
  let services = f.args;
  checkServices(target, services);
  // --orphans=false: only the services the file declares.
  if (!services.length && target.project && !f.bool('orphans')) services = Object.keys(target.project.services);
  const list = await psContainers(ctx.backend(), target.name, { all: f.bool('all'), services, status });
  if (f.bool('quiet')) {
    await writeOut(ctx.stdout, list.map((c) => c.ID + '\n').join(''));
    return 0;
  }
  if (f.bool('services')) {
    const names = [...new Set(list.map((c) => c.Service))];
    await writeOut(ctx.stdout, names.join('\n') + '\n');
    return 0;
  }
  await writeOut(ctx.stdout, renderPs(list, f.str('format'), !f.bool('no-trunc')));
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  ps: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'List containers',
    flags: [
      { name: 'all', short: 'a', type: 'bool', description: 'Show all stopped containers (including those created by the run command)' },
      { name: 'filter', type: 'string', description: 'Filter services by a property (supported filters: status)' },
      { name: 'format', type: 'string', default: 'table', description: "Format output: 'table' (default), 'table TEMPLATE', 'json' or a Go TEMPLATE" },
      { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
      { name: 'orphans', type: 'bool', default: true, description: 'Include orphaned services (not declared by project)' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
      { name: 'services', type: 'bool', description: 'Display services' },
      { name: 'status', type: 'stringArray', valueName: 'stringArray', description: 'Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]' },
    ],
    run: ps,
  },
};
