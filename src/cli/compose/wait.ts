// `berth compose wait SERVICE [SERVICE...] [OPTIONS]`: block until the services' running containers
// stop; print each exit and exit with the last one's status. --down-project then takes the project
// down (src/compose/down.ts, as `down --remove-orphans`).
import { down } from '../../compose/down.js';
import { ComposeError } from '../../compose/types.js';
import { writeOut } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { limitOf, withProgress } from './lifecycle.js';
import { projectOrName } from './target.js';

async function wait(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const target = await projectOrName(ctx);
  const name = target.name;
  const backend = ctx.backend();
  const containers = await backend.containers(name, { services: f.args });
  if (!containers.length) throw new ComposeError(`no containers for project "${name}"`);
  let status = 0;
  await Promise.all(
    containers.map(async (c) => {
      const code = await backend.waitContainer(c.Id);
      await writeOut(ctx.stdout, `container ${JSON.stringify(c.Id)} exited with status code ${code}\n`);
      status = code;
    }),
  );
  // Compose takes the project down as `down --remove-orphans` does.
  if (f.bool('down-project')) {
    const opts = { services: [], removeOrphans: true, volumes: false, dryRun: ctx.options.dryRun, limit: limitOf(ctx) };
    await withProgress(ctx, 'Running', (p) => down(backend, target, opts, p));
  }
  return status;
}

export const commands: Record<string, ComposeCommand> = {
  wait: {
    usage: 'SERVICE [SERVICE...] [OPTIONS]',
    description: 'Block until containers of all (or specified) services stop.',
    flags: [{ name: 'down-project', type: 'bool', description: 'Drops project when the first container stops' }],
    args: { min: 1 },
    run: wait,
  },
};
