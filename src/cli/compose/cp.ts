// `berth compose cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-` and `SRC_PATH|- SERVICE:DEST_PATH`: the
// docker CLI's copy (src/cli/commands/files.ts) with a service's container: from the first one (or
// --index), into every one of the service's containers.
import type { ContainerSummary } from '../../api/types.js';
import { canonicalName, serviceContainer } from '../../compose/ps.js';
import { ComposeError } from '../../compose/types.js';
import type { ParsedFlags } from '../flags.js';
import { copyFromContainer, copyToContainer, splitCpArg } from '../copy.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { toProjectName } from './target.js';
import { progressFor } from './options.js';

async function targets(ctx: ComposeContext, service: string, f: ParsedFlags, fromService: boolean): Promise<ContainerSummary[]> {
  const backend = ctx.backend();
  const project = await toProjectName(ctx);
  if (f.num('index') > 0) return [await serviceContainer(backend, project, service, { index: f.num('index'), all: true, oneoff: false })];
  const list = await backend.containers(project, { all: true, services: [service], oneoff: f.bool('all') ? undefined : false });
  if (!list.length) throw new ComposeError(`no container found for service "${service}"`);
  return fromService ? list.slice(0, 1) : list;
}

async function cp(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const [source = '', destination = ''] = f.args;
  if (source === '') throw new ComposeError('source can not be empty');
  if (destination === '') throw new ComposeError('destination can not be empty');
  const src = splitCpArg(source);
  const dst = splitCpArg(destination);
  if (src.container && dst.container) throw new ComposeError('copying between services is not supported');
  if (!src.container && !dst.container) throw new ComposeError('unknown copy direction');
  const base = { followLink: f.bool('follow-link'), copyUIDGID: f.bool('archive'), quiet: true, sourcePath: src.path, destPath: dst.path };
  const list = await targets(ctx, src.container || dst.container, f, !!src.container);
  const progress = progressFor(ctx, 'Copying');
  try {
    for (const c of list) {
      const name = canonicalName(c);
      // Compose's events: the container, what is copied, Copying → Copied.
      const what = src.container ? `copy ${name}:${src.path} to ${dst.path}` : `copy ${src.path} to ${name}:${dst.path}`;
      progress.event({ id: name, status: what, text: 'Copying', state: 'working' });
      // --dry-run: said, not done.
      if (!ctx.options.dryRun) {
        if (src.container) await copyFromContainer(ctx, { ...base, container: c.Id });
        else await copyToContainer(ctx, { ...base, container: c.Id });
      }
      progress.event({ id: name, status: what, text: 'Copied', state: 'done' });
    }
  } finally {
    progress.done();
  }
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  cp: {
    usage: '[OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tberth compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH',
    description: 'Copy files/folders between a service container and the local filesystem',
    flags: [
      { name: 'all', type: 'bool', description: 'Include containers created by the run command' },
      { name: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
      { name: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
      { name: 'index', type: 'int', description: 'Index of the container if service has multiple replicas' },
    ],
    args: { min: 2, max: 2 },
    run: cp,
  },
};
