// `berth compose top [SERVICES...]`: the processes of the project's running containers, per container.
import { canonicalName } from '../../compose/ps.js';
import { writeOut } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { renderTop } from './format.js';
import { toProjectName } from './target.js';

async function top(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const backend = ctx.backend();
  const containers = await backend.containers(await toProjectName(ctx), { services: f.args });
  const list = await Promise.all(
    containers.map(async (c) => {
      const t = await backend.top(c.Id);
      return { Name: canonicalName(c), Titles: t.Titles, Processes: t.Processes };
    }),
  );
  await writeOut(ctx.stdout, renderTop(list));
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  top: {
    usage: '[SERVICES...]',
    description: 'Display the running processes',
    flags: [],
    run: top,
  },
};
