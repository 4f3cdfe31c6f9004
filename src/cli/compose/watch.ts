// `berth compose watch [SERVICE...]`: bring the services up (unless --no-up), then follow their
// `develop.watch` rules until interrupted (src/compose/watch.ts). Lines are printed as Compose's log
// consumer prints its watch logger's: " ⦿ Watch enabled", " ⦿ Syncing service "web" after 1 changes
// were detected".
import type { FlagSpec, ParsedFlags } from '../flags.js';
import { Watch, watchRules } from '../../compose/watch.js';
import { ComposeError, type Project } from '../../compose/types.js';
import type { ComposeCommand, ComposeContext } from './context.js';

const FLAGS: FlagSpec[] = [
  { name: 'no-up', type: 'bool', description: 'Do not build & start services before watching' },
  { name: 'prune', type: 'bool', default: true, description: 'Prune dangling images on rebuild' },
  { name: 'quiet', type: 'bool', description: 'hide build output' },
];

/** Print a watch line as Compose does (green "⦿" prefix on a colour terminal). */
export function watchLogger(ctx: ComposeContext): (line: string) => void {
  const color = ctx.options.ansi === 'always' || (ctx.options.ansi === 'auto' && !!ctx.stdout.isTTY && !ctx.env.NO_COLOR);
  return (line) => ctx.stdout.write(color ? `\x1b[92m ⦿ \x1b[0m${line}\n` : ` ⦿ ${line}\n`);
}

/**
 * Watch the project's services until SIGINT/SIGTERM; `up --watch` calls this too once its containers
 * run. Resolves when the watch has stopped.
 */
export async function runWatch(ctx: ComposeContext, project: Project, services: string[]): Promise<void> {
  const log = watchLogger(ctx);
  const rules = await watchRules(project, services, (m) => ctx.stderr.write(`WARN[0000] ${m}\n`));
  const watch = new Watch({ backend: ctx.backend(), project, rules, log });
  const stop = (): void => watch.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await watch.start();
    await watch.done;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    watch.stop();
  }
}

async function watch(ctx: ComposeContext, flags: ParsedFlags): Promise<number> {
  const project = await ctx.project();
  const services = flags.args;
  if (!flags.bool('no-up')) await ensureRunning(ctx, project, services);
  await runWatch(ctx, project, services);
  return 0;
}

/**
 * Without --no-up, Compose brings the services up first. Until `up` can be called from here, the
 * watched services must already run: say so rather than watching nothing.
 */
async function ensureRunning(ctx: ComposeContext, project: Project, services: string[]): Promise<void> {
  const names = services.length ? services : Object.keys(project.services).filter((s) => project.services[s]?.develop?.watch?.length);
  const running = await ctx.backend().containers(project.name, { services: names, oneoff: false });
  const missing = names.filter((s) => !running.some((c) => c.Labels['com.docker.compose.service'] === s));
  if (missing.length) {
    throw new ComposeError(`service(s) ${missing.join(', ')} have no running container: run \`berth compose up -d\` first, or watch with --no-up`);
  }
}

export const commands: Record<string, ComposeCommand> = {
  watch: {
    usage: '[SERVICE...]',
    description: 'Watch build context for service and rebuild/refresh containers when files are updated',
    flags: FLAGS,
    run: watch,
  },
};
