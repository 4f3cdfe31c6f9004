// `berth compose pull [SERVICE...]` (and what `push` shares): the services' images through the engine,
// progress as Compose draws it ("Image busybox Pulling" → "Pulled"). A service with `build:` whose
// image cannot be pulled is skipped (it is built instead), as Compose does.
import { pull, pushService } from '../../compose/images.js';
import { serviceImage } from '../../compose/convert.js';
import { ComposeError, type Project } from '../../compose/types.js';
import { selectServices } from '../../compose/up.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { DRY_RUN_FLAG, progressFor, warner, withDryRun } from './options.js';

const FLAGS: FlagSpec[] = [
  { name: 'ignore-buildable', type: 'bool', description: 'Ignore images that can be built' },
  { name: 'ignore-pull-failures', type: 'bool', description: 'Pull what it can and ignores images with pull failures' },
  { name: 'include-deps', type: 'bool', description: 'Also pull services declared as dependencies' },
  { name: 'policy', type: 'string', description: 'Apply pull policy ("missing"|"always")' },
  { name: 'quiet', short: 'q', type: 'bool', description: 'Pull without printing progress information' },
  DRY_RUN_FLAG,
];

export async function pullServices(ctx: ComposeContext, project: Project, names: string[], verb: 'pull' | 'push', f?: ParsedFlags): Promise<void> {
  const progress = progressFor(ctx, verb === 'pull' ? 'Pulling' : 'Pushing');
  const backend = ctx.backend();
  const failures: string[] = [];
  const warn = warner(ctx, progress);
  try {
    if (verb === 'push') {
      for (const name of names) {
        const svc = project.services[name]!;
        if (!svc.image && !svc.build) continue;
        try {
          await pushService(backend, project, name, { env: ctx.env, dryRun: ctx.options.dryRun }, progress);
        } catch (err) {
          if (f?.bool('ignore-push-failures')) warn((err as Error).message);
          else failures.push((err as Error).message);
        }
      }
    } else {
      const policy = f?.str('policy') ?? '';
      if (policy && !['missing', 'always'].includes(policy)) throw new ComposeError(`invalid --policy option "${policy}": use missing or always`);
      const seen = new Map<string, Promise<void>>();
      await Promise.all(
        names.map(async (name) => {
          const svc = project.services[name]!;
          if (!svc.image) return; // nothing to pull: the image is built
          if (svc.build && f?.bool('ignore-buildable')) return;
          if (svc.pull_policy === 'build') return;
          const ref = serviceImage(project, name, svc);
          if (policy === 'missing' && (await backend.inspectImage(ref))) return;
          if (!seen.has(ref)) seen.set(ref, pull(backend, ref, svc.platform, { env: ctx.env, quietPull: f?.bool('quiet'), dryRun: ctx.options.dryRun }, progress));
          try {
            await seen.get(ref);
          } catch (err) {
            const msg = `service "${name}": ${(err as Error).message}`;
            if (svc.build) warn(`${msg} (it has a build section: 'berth compose build ${name}' makes it)`);
            else if (f?.bool('ignore-pull-failures')) warn(msg);
            else failures.push(msg);
          }
        }),
      );
    }
  } finally {
    progress.done();
  }
  if (failures.length) throw new ComposeError(failures.sort().join('\n'));
}

async function run(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  if (f.bool('quiet') && ctx.options.progress === 'auto') ctx.options.progress = 'quiet';
  // A service named on the command line is enabled even when its profiles are not active, as Compose does.
  const project = await ctx.project(f.args.length ? { services: f.args } : undefined);
  const names = selectServices(project, f.args, !f.bool('include-deps'));
  await pullServices(ctx, project, names, 'pull', f);
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  pull: { usage: '[OPTIONS] [SERVICE...]', description: 'Pull service images', flags: FLAGS, run: withDryRun(run) },
};
