// `berth compose scale [--no-deps] SERVICE=REPLICAS...`: Compose v2's shortcut for `up -d --scale`, limited
// to the named services (and, unless --no-deps, what they depend on); nothing else is recreated.
import { up } from '../../compose/up.js';
import type { ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { createOptions, progressFor, scaleFlags, warner, withDryRun } from './options.js';

async function scale(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const names = f.args.map((a) => a.slice(0, Math.max(0, a.indexOf('='))) || a);
  const project = await ctx.project({ services: names });
  const replicas = scaleFlags(f.args, project);
  const progress = progressFor(ctx);
  try {
    const opts = { ...createOptions(ctx, f, project), services: names, scale: replicas, noDeps: f.bool('no-deps'), recreate: 'never' as const, recreateDependencies: 'never' as const };
    await up(ctx.backend(), project, opts, progress, warner(ctx, progress));
  } finally {
    progress.done();
  }
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  scale: {
    usage: '[SERVICE=REPLICAS...]',
    description: 'Scale services ',
    flags: [{ name: 'no-deps', type: 'bool', description: "Don't start linked services" }],
    args: { min: 1 },
    run: withDryRun(scale),
  },
};
