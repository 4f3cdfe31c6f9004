// `berth compose ls [OPTIONS]`: the compose projects the engine's containers belong to (by label),
// each with its containers' states counted and its config files.
import { CONFIG_FILES, PROJECT } from '../../compose/labels.js';
import { ComposeError } from '../../compose/types.js';
import type { ContainerSummary } from '../../api/types.js';
import { writeOut } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { combinedStatus, FormatError, renderLs, type Stack } from './format.js';

export function stacks(containers: ContainerSummary[]): Stack[] {
  const byProject = new Map<string, ContainerSummary[]>();
  for (const c of containers) {
    const p = c.Labels?.[PROJECT];
    if (p === undefined) continue;
    byProject.set(p, [...(byProject.get(p) ?? []), c]);
  }
  return [...byProject.keys()].sort().map((name) => {
    const list = byProject.get(name) ?? [];
    const files: string[] = [];
    for (const c of list) for (const file of (c.Labels?.[CONFIG_FILES] ?? '').split(',')) if (file && !files.includes(file)) files.push(file);
    return { Name: name, Status: combinedStatus(list.map((c) => c.State)), ConfigFiles: files.join(',') };
  });
}

/** `--filter name=X`: X as given, or as a regular expression over the name. */
function nameFilter(filters: string[]): ((name: string) => boolean) | undefined {
  const names: string[] = [];
  for (const f of filters) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new ComposeError(`bad format of filter (expected name=value)`);
    const key = f.slice(0, eq).trim().toLowerCase();
    if (key !== 'name') throw new ComposeError(`invalid filter '${key}'`);
    names.push(f.slice(eq + 1));
  }
  if (!names.length) return undefined;
  return (name) =>
    names.some((n) => {
      if (n === name) return true;
      try {
        return new RegExp(n).test(name);
      } catch {
        return false;
      }
    });
}

async function ls(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const match = nameFilter(f.list('filter'));
  const list = stacks(await ctx.backend().composeContainers(f.bool('all'))).filter((s) => !match || match(s.Name));
  if (f.bool('quiet')) {
    await writeOut(ctx.stdout, list.map((s) => s.Name + '\n').join(''));
    return 0;
  }
  try {
    await writeOut(ctx.stdout, renderLs(list, f.str('format') || 'table'));
  } catch (err) {
    if (err instanceof FormatError) throw new ComposeError(err.message);
    throw err;
  }
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  ls: {
    usage: '[OPTIONS]',
    description: 'List running compose projects',
    flags: [
      { name: 'all', short: 'a', type: 'bool', description: 'Show all stopped Compose projects' },
      { name: 'filter', type: 'stringArray', valueName: 'filter', description: 'Filter output based on conditions provided' },
      { name: 'format', type: 'string', default: 'table', description: 'Format the output. Values: [table | json]' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only display project names' },
    ],
    args: { max: 0 },
    run: ls,
  },
};
