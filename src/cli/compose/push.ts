// `berth compose push [SERVICE...]`: push the services' images (`image:` and build.tags) through the engine.
import { selectServices } from '../../compose/up.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { pullServices } from './pull.js';
import { DRY_RUN_FLAG, withDryRun } from './options.js';

const FLAGS: FlagSpec[] = [
  { name: 'ignore-push-failures', type: 'bool', description: 'Push what it can and ignores images with push failures' },
  { name: 'include-deps', type: 'bool', description: 'Also push images of services declared as dependencies' },
  { name: 'quiet', short: 'q', type: 'bool', description: 'Push without printing progress information' },
  DRY_RUN_FLAG,
];

async function run(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  if (f.bool('quiet') && ctx.options.progress === 'auto') ctx.options.progress = 'quiet';
  // A service named on the command line is enabled even when its profiles are not active, as Compose does.
  const project = await ctx.project(f.args.length ? { services: f.args } : undefined);
  // Only services with an image name of their own (or a build) can be pushed.
  const names = selectServices(project, f.args, !f.bool('include-deps')).filter((s) => project.services[s]!.image);
  await pullServices(ctx, project, names, 'push', f);
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  push: { usage: '[OPTIONS] [SERVICE...]', description: 'Push service images', flags: FLAGS, run: withDryRun(run) },
};
