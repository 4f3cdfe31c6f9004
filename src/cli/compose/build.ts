// `berth compose build [SERVICE...]`: build the services that have a `build:` section, one at a time,
// with BuildKit-style progress on stderr (as Compose), tagged `image:` or `<project>-<service>`.
import { buildService } from '../../compose/images.js';
import { ComposeError } from '../../compose/types.js';
import { selectServices } from '../../compose/up.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { buildRenderer, DRY_RUN_FLAG, progressFor, withDryRun } from './options.js';
import { pullServices } from './pull.js';

const FLAGS: FlagSpec[] = [
  { name: 'build-arg', type: 'stringArray', valueName: 'stringArray', description: 'Set build-time variables for services' },
  { name: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
  { name: 'pull', type: 'bool', description: 'Always attempt to pull a newer version of the image' },
  { name: 'quiet', short: 'q', type: 'bool', description: "Don't print anything to STDOUT" },
  { name: 'with-dependencies', type: 'bool', description: 'Also build dependencies (transitively)' },
  { name: 'push', type: 'bool', description: 'Push service images' },
  DRY_RUN_FLAG,
];

async function build(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  // A service named on the command line is enabled even when its profiles are not active, as Compose does.
  const project = await ctx.project(f.args.length ? { services: f.args } : undefined);
  const names = selectServices(project, f.args, !f.bool('with-dependencies')).filter((s) => project.services[s]!.build);
  const args: Record<string, string> = {};
  for (const a of f.list('build-arg')) {
    const eq = a.indexOf('=');
    const val = eq < 0 ? ctx.env[a] : a.slice(eq + 1);
    if (val !== undefined) args[eq < 0 ? a : a.slice(0, eq)] = val;
  }
  const progress = progressFor(ctx, 'Building');
  try {
    for (const name of names) {
      await buildService(ctx.backend(), project, name, { env: ctx.env, dryRun: ctx.options.dryRun, renderBuild: buildRenderer(ctx, f.bool('quiet')) }, progress, { noCache: f.bool('no-cache'), pull: f.bool('pull'), args });
    }
  } finally {
    progress.done();
  }
  if (f.bool('push')) await pullServices(ctx, project, names, 'push');
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  build: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Build or rebuild services',
    flags: FLAGS,
    run: withDryRun((ctx, f) => {
      if (f.bool('quiet') && ctx.options.progress === 'auto') ctx.options.progress = 'quiet';
      if (f.args.some((a) => a === '')) throw new ComposeError('empty service name');
      return build(ctx, f);
    }),
  },
};
