// `berth compose create [SERVICE...]`: images and containers, nothing started (Compose's create).
import { up } from '../../compose/up.js';
import { ComposeError } from '../../compose/types.js';
import type { ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { CREATE_FLAGS, createOptions, progressFor, warner, withDryRun } from './options.js';

async function create(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  // A service named on the command line is enabled even when its profiles are not active, as Compose does.
  const project = await ctx.project(f.args.length ? { services: f.args } : undefined);
  const progress = progressFor(ctx);
  try {
    await up(ctx.backend(), project, { ...createOptions(ctx, f, project), services: f.args, noStart: true }, progress, warner(ctx, progress));
  } finally {
    progress.done();
  }
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  create: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Creates containers for a service',
    flags: CREATE_FLAGS,
    run: withDryRun((ctx, f) => {
      if (f.bool('build') && f.bool('no-build')) throw new ComposeError('--build and --no-build are incompatible');
      return create(ctx, f);
    }),
  },
};
