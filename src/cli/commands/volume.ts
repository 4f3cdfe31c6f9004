// `volume` verbs: create, ls, inspect, rm, prune — the docker CLI's flags, output and messages.
import type { Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneReport } from '../../api/types.js';
import { ApiError } from '../../client/errors.js';
import { humanSize } from '../../lib/units.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { filtersJSON, keyValues } from '../filters.js';
import { renderListing, type Listing } from '../format/table.js';
import { confirm } from '../prompt.js';
import { renderInspect } from '../format/inspect.js';

const enc = encodeURIComponent;


/** The docker CLI's "Error response from daemon: …" for each failed name, exit status 1. */
function daemonErrors(errors: string[]): StatusError {
  return new StatusError(errors.map((e) => `Error response from daemon: ${e}`).join('\n'), 1);
}

async function create(ctx: Context, f: ParsedFlags): Promise<number> {
  const name = f.args[0] ?? '';
  if (f.has('name') && name) throw new StatusError(`conflicting options: cannot specify a volume-name through both --name and as a positional arg`, 1);
  for (const o of f.list('opt')) if (!o.includes('=')) throw new StatusError(`invalid argument "${o}" for "-o, --opt" flag: bad format for option: ${o}`, 125);
  const req: VolumeCreateRequest = {
    Name: name || f.str('name'),
    Driver: f.str('driver') || 'local',
    DriverOpts: keyValues(f.list('opt')),
    Labels: keyValues(f.list('label')),
  };
  const v = await ctx.client().json<Volume>({ method: 'POST', path: '/volumes/create', body: req });
  await writeOut(ctx.stdout, v.Name + '\n');
  return 0;
}

/** sortorder.NaturalLess: digit runs compare as numbers. */
export function naturalLess(a: string, b: string): boolean {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = BigInt(x);
      const ny = BigInt(y);
      if (nx !== ny) return nx < ny;
      return x.length < y.length;
    }
    return x < y;
  }
  return pa.length < pb.length;
}

interface VolumeRow {
  Availability: string;
  Driver: string;
  Group: string;
  Labels: string;
  Links: string;
  Mountpoint: string;
  Name: string;
  Scope: string;
  Size: string;
  Status: string;
  Label(name: string): string;
}

function volumeListing(list: Volume[]): Listing<VolumeRow> {
  return {
    rows: list.map((v) => ({
      Availability: 'N/A',
      Driver: v.Driver,
      Group: 'N/A',
      Labels: Object.entries(v.Labels ?? {})
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, val]) => `${k}=${val}`)
        .join(','),
      Links: v.UsageData ? String(v.UsageData.RefCount) : 'N/A',
      Mountpoint: v.Mountpoint,
      Name: v.Name,
      Scope: v.Scope,
      Size: v.UsageData && v.UsageData.Size >= 0 ? humanSize(v.UsageData.Size, 4) : 'N/A',
      Status: 'N/A',
      Label: (name: string) => v.Labels?.[name] ?? '',
    })),
    headers: {
      Name: 'VOLUME NAME',
      Driver: 'DRIVER',
      Scope: 'SCOPE',
      Mountpoint: 'MOUNTPOINT',
      Labels: 'LABELS',
      Links: 'LINKS',
      Size: 'SIZE',
      Group: 'GROUP',
      Availability: 'AVAILABILITY',
      Status: 'STATUS',
    },
    columns: ['Driver', 'Name'],
  };
}

async function ls(ctx: Context, f: ParsedFlags): Promise<number> {
  const res = await ctx.client().json<VolumeListResponse>({ path: '/volumes', query: { filters: filtersJSON(f.list('filter')) } });
  const list = [...(res.Volumes ?? [])].sort((a, b) => (naturalLess(a.Name, b.Name) ? -1 : naturalLess(b.Name, a.Name) ? 1 : 0));
  for (const w of res.Warnings ?? []) ctx.stderr.write(w + '\n');
  if (f.bool('quiet')) {
    await writeOut(ctx.stdout, list.map((v) => v.Name + '\n').join(''));
    return 0;
  }
  await writeOut(ctx.stdout, renderListing(volumeListing(list), f.str('format')));
  return 0;
}

async function inspect(ctx: Context, f: ParsedFlags): Promise<number> {
  const found: Volume[] = [];
  const errors: string[] = [];
  for (const name of f.args) {
    try {
      found.push(await ctx.client().json<Volume>({ path: `/volumes/${enc(name)}` }));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      errors.push(err.message);
    }
  }
  await writeOut(ctx.stdout, renderInspect(found, f.str('format')));
  if (errors.length) throw daemonErrors(errors);
  return 0;
}

async function rm(ctx: Context, f: ParsedFlags): Promise<number> {
  const errors: string[] = [];
  for (const name of f.args) {
    try {
      await ctx.client().call({ method: 'DELETE', path: `/volumes/${enc(name)}`, query: { force: f.bool('force') || undefined } });
      await writeOut(ctx.stdout, name + '\n');
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      errors.push(err.message);
    }
  }
  if (errors.length) throw daemonErrors(errors);
  return 0;
}

async function prune(ctx: Context, f: ParsedFlags): Promise<number> {
  const filters = f.list('filter');
  const all = f.bool('all');
  if (all && filters.some((kv) => kv.toLowerCase().startsWith('all='))) throw new StatusError('conflicting options: cannot specify both --all and --filter all=1', 1);
  const warning = all
    ? 'WARNING! This will remove all local volumes not used by at least one container.'
    : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
  if (!f.bool('force') && !(await confirm(ctx, warning))) return 0;
  const res = await ctx.client().json<VolumePruneReport>({
    method: 'POST',
    path: '/volumes/prune',
    query: { filters: filtersJSON(all ? [...filters, 'all=true'] : filters) },
  });
  const deleted = res.VolumesDeleted ?? [];
  let out = '';
  if (deleted.length) out += 'Deleted Volumes:\n' + deleted.map((n) => n + '\n').join('') + '\n';
  out += `Total reclaimed space: ${humanSize(deleted.length ? res.SpaceReclaimed : 0, 4)}\n`;
  await writeOut(ctx.stdout, out);
  return 0;
}

export const commands: Record<string, CommandSpec> = {
  'volume create': {
    usage: '[OPTIONS] [VOLUME]',
    description: 'Create a volume',
    flags: [
      { name: 'driver', short: 'd', type: 'string', default: 'local', description: 'Specify volume driver name' },
      { name: 'label', type: 'stringArray', valueName: 'list', description: 'Set metadata for a volume' },
      { name: 'name', type: 'string', hidden: true, description: 'Specify volume name' },
      { name: 'opt', short: 'o', type: 'stringArray', valueName: 'map', description: 'Set driver specific options' },
    ],
    args: { max: 1 },
    run: create,
  },
  'volume ls': {
    usage: '[OPTIONS]',
    description: 'List volumes',
    aliases: ['berth volume list'],
    flags: [
      { name: 'filter', short: 'f', type: 'stringArray', valueName: 'filter', description: 'Provide filter values (e.g. "dangling=true")' },
      { name: 'format', type: 'string', description: 'Format output using a custom template' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only display volume names' },
    ],
    args: { max: 0 },
    run: ls,
  },
  'volume inspect': {
    usage: '[OPTIONS] VOLUME [VOLUME...]',
    description: 'Display detailed information on one or more volumes',
    flags: [{ name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
    args: { min: 1 },
    run: inspect,
  },
  'volume rm': {
    usage: '[OPTIONS] VOLUME [VOLUME...]',
    description: 'Remove one or more volumes. You cannot remove a volume that is in use by a container.',
    aliases: ['berth volume remove'],
    flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force the removal of one or more volumes' }],
    args: { min: 1 },
    run: rm,
  },
  'volume prune': {
    usage: '[OPTIONS]',
    description: 'Remove unused local volumes',
    flags: [
      { name: 'all', short: 'a', type: 'bool', description: 'Remove all unused volumes, not just anonymous ones' },
      { name: 'filter', type: 'stringArray', valueName: 'filter', description: 'Provide filter values (e.g. "label=<label>")' },
      { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
    ],
    args: { max: 0 },
    run: prune,
  },
};
