// `berth compose watch [SERVICE...]`: bring the services up (unless --no-up), then follow their
// `develop.watch` rules until interrupted (src/compose/watch.ts). Lines are printed as Compose's log
// consumer prints its watch logger's: " ⦿ Watch enabled", " ⦿ Syncing service "web" after 1 changes
// were detected".
import type { FlagSpec, ParsedFlags } from '../flags.js';
import { up } from '../../compose/up.js';
import { Watch, watchRules, type WatchRule } from '../../compose/watch.js';
import type { Project } from '../../compose/types.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { buildRenderer, createOptions, progressFor, warner } from './options.js';

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

/** The watch rules of the services, checked before anything is created (Compose refuses first). */
export function checkWatch(ctx: ComposeContext, project: Project, services: string[]): Promise<WatchRule[]> {
  return watchRules(project, services, (m) => ctx.stderr.write(`WARN[0000] ${m}\n`));
}

/**
 * Follow the rules until stop() (or SIGINT/SIGTERM when `handleSignals`); `up --watch` starts it once
 * its containers run. `rebuild` builds the services' images and recreates their containers through
 * `up`, as Compose's watch does.
 */
export async function startWatch(ctx: ComposeContext, project: Project, rules: WatchRule[], f: ParsedFlags, handleSignals = false): Promise<Watch> {
  const rebuild = async (services: string[]): Promise<void> => {
    const progress = progressFor(ctx);
    try {
      const opts = { ...createOptions(ctx, f, project), renderBuild: buildRenderer(ctx, f.bool('quiet')) };
      await up(ctx.backend(), project, { ...opts, services, build: true, noDeps: true, recreate: 'force', recreateDependencies: 'never' }, progress, warner(ctx, progress));
      if (f.bool('prune')) await ctx.backend().removeDanglingProjectImages(project.name);
    } finally {
      progress.done();
    }
  };
  const watch = new Watch({ backend: ctx.backend(), project, rules, log: watchLogger(ctx), rebuild });
  if (handleSignals) {
    const stop = (): void => watch.stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void watch.done.finally(() => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }).catch(() => undefined);
  }
  await watch.start();
  return watch;
}

async function watch(ctx: ComposeContext, flags: ParsedFlags): Promise<number> {
  const project = await ctx.project();
  const services = flags.args;
  const rules = await checkWatch(ctx, project, services);
  if (!flags.bool('no-up')) {
    // As Compose: the services are brought up first (built when their images are missing), not attached.
    const progress = progressFor(ctx);
    try {
      const opts = { ...createOptions(ctx, flags, project), renderBuild: buildRenderer(ctx, flags.bool('quiet')) };
      await up(ctx.backend(), project, { ...opts, services, recreateDependencies: 'never' }, progress, warner(ctx, progress));
    } finally {
      progress.done();
    }
  }
  const w = await startWatch(ctx, project, rules, flags, true);
  try {
    await w.done;
  } finally {
    w.stop();
  }
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  watch: {
    usage: '[SERVICE...]',
    description: 'Watch build context for service and rebuild/refresh containers when files are updated',
    flags: FLAGS,
    run: watch,
  },
};
