// `berth compose wait SERVICE [SERVICE...] [OPTIONS]`: block until the services' running containers
// stop; print each exit and exit with the last one's status. --down-project then takes the project
// down (containers and networks, as `down --remove-orphans`).
import { canonicalName } from '../../compose/ps.js';
import type { ComposeBackend } from '../../compose/backend.js';
import { ComposeError } from '../../compose/types.js';
import { writeOut } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { projectOrName } from './target.js';

async function wait(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const { name } = await projectOrName(ctx);
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
  if (f.bool('down-project')) await takeDown(ctx, backend, name);
  return status;
}

/** The project's containers (one-offs too) and networks removed, each reported as `down` does. */
async function takeDown(ctx: ComposeContext, backend: ComposeBackend, project: string): Promise<void> {
  for (const c of await backend.containers(project, { all: true })) {
    await backend.removeContainer(c.Id, { force: true });
    ctx.stderr.write(` Container ${canonicalName(c)}  Removed\n`);
  }
  for (const n of await backend.networks(project)) {
    await backend.removeNetwork(n.Id);
    ctx.stderr.write(` Network ${n.Name}  Removed\n`);
  }
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
