// Which project a command that also works without a compose file acts on (Compose's projectOrName):
// with -p and no -f, the name alone (labels only, the file is never read); otherwise the project from
// the files, falling back to COMPOSE_PROJECT_NAME when there is no file to load.
import type { Project } from '../../compose/types.js';
import { ComposeError } from '../../compose/types.js';
import type { ComposeContext } from './context.js';

export interface Target {
  name: string;
  /** The loaded project, when there is a file (to check service names against). */
  project?: Project;
}

export async function projectOrName(ctx: ComposeContext): Promise<Target> {
  if (ctx.options.projectName && !ctx.options.files.length) return { name: ctx.options.projectName.toLowerCase() };
  try {
    const project = await ctx.project();
    return { name: project.name, project };
  } catch (err) {
    const fromEnv = ctx.env.COMPOSE_PROJECT_NAME;
    if (fromEnv) return { name: fromEnv.toLowerCase() };
    throw err;
  }
}

/** Compose's "no such service: x" for a name the project does not declare. */
export function checkServices(target: Target, services: string[]): void {
  if (!target.project) return;
  const known = new Set([...Object.keys(target.project.services), ...Object.keys(target.project.disabledServices)]);
  for (const s of services) if (!known.has(s)) throw new ComposeError(`no such service: ${s}`);
}

/** Compose's toProjectName: -p, else COMPOSE_PROJECT_NAME, else the files' project (exec, top, port, cp, images). */
export async function toProjectName(ctx: ComposeContext): Promise<string> {
  if (ctx.options.projectName) return ctx.options.projectName.toLowerCase();
  if (ctx.env.COMPOSE_PROJECT_NAME) return ctx.env.COMPOSE_PROJECT_NAME.toLowerCase();
  return ctx.projectName();
}
