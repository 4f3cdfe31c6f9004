// Housekeeping verbs: `system df`, `system prune`, `container prune`, `image prune` — the docker CLI's
// prompts, reports and "Total reclaimed space" lines. `system df` adds one berth row, "Container Logs"
// (berth counts container logs as disk usage; see DESIGN.md).
import type { ContainerSummary, ImageSummary } from '../../api/types.js';
import { ApiError } from '../../client/errors.js';
import { humanSize } from '../../lib/units.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { filtersJSON } from '../filters.js';
import { containerRow } from '../format/containers.js';
import { imageRows } from '../format/images.js';
import { normalizeFormat, renderCells, renderListing, truncateID } from '../format/table.js';
import { renderTemplate } from '../format/template.js';
import { timeAgo } from '../format/time.js';
import { confirm } from '../prompt.js';

/** go-units HumanSize: 4 significant digits ("1.984MB"), as docker prints reclaimed space and df sizes. */
const humanSize4 = (n: number) => humanSize(n, 4);

type PruneFn = (ctx: Context, all: boolean, filters: string[]) => Promise<{ reclaimed: number; output: string }>;

async function post<T>(ctx: Context, p: string, query: Record<string, string | boolean | undefined>): Promise<T> {
  return ctx.client().json<T>({ method: 'POST', path: p, query });
}

const pruneContainers: PruneFn = async (ctx, _all, filters) => {
  const r = await post<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>(ctx, '/containers/prune', { filters: filtersJSON(filters) });
  const ids = r.ContainersDeleted ?? [];
  return ids.length ? { reclaimed: r.SpaceReclaimed, output: 'Deleted Containers:\n' + ids.map((i) => i + '\n').join('') } : { reclaimed: 0, output: '' };
};

const pruneNetworks: PruneFn = async (ctx, _all, filters) => {
  const r = await post<{ NetworksDeleted: string[] | null }>(ctx, '/networks/prune', { filters: filtersJSON(filters) });
  const names = r.NetworksDeleted ?? [];
  return { reclaimed: 0, output: names.length ? 'Deleted Networks:\n' + names.map((n) => n + '\n').join('') : '' };
};

const pruneVolumes: PruneFn = async (ctx, _all, filters) => {
  let r: { VolumesDeleted: string[] | null; SpaceReclaimed: number };
  try {
    r = await post(ctx, '/volumes/prune', { filters: filtersJSON(filters) });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { reclaimed: 0, output: '' }; // a daemon without volumes
    throw e;
  }
  const names = r.VolumesDeleted ?? [];
  return names.length ? { reclaimed: r.SpaceReclaimed, output: 'Deleted Volumes:\n' + names.map((n) => n + '\n').join('') } : { reclaimed: 0, output: '' };
};

const pruneImages: PruneFn = async (ctx, all, filters) => {
  const r = await post<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }>(ctx, '/images/prune', {
    filters: filtersJSON([...filters, `dangling=${String(!all)}`]),
  });
  const items = r.ImagesDeleted ?? [];
  if (!items.length) return { reclaimed: 0, output: '' };
  const lines = items.map((i) => (i.Untagged ? `untagged: ${i.Untagged}\n` : `deleted: ${i.Deleted}\n`)).join('');
  return { reclaimed: r.SpaceReclaimed, output: 'Deleted Images:\n' + lines };
};

const pruneBuildCache: PruneFn = async (ctx, all, filters) => {
  let r: { CachesDeleted: string[] | null; SpaceReclaimed: number };
  try {
    r = await post(ctx, '/build/prune', { all: all || undefined, filters: filtersJSON(filters) });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { reclaimed: 0, output: '' }; // a daemon without a builder
    throw e;
  }
  const ids = r.CachesDeleted ?? [];
  return ids.length ? { reclaimed: r.SpaceReclaimed, output: 'Deleted build cache objects:\n' + ids.map((i) => i + '\n').join('') } : { reclaimed: 0, output: '' };
};

/** Run one prune and print docker's report: the list (and a blank line), then the total. */
async function single(ctx: Context, f: ParsedFlags, warning: string, fn: PruneFn, all = false): Promise<number> {
  if (!f.bool('force') && !(await confirm(ctx, warning))) return 0;
  const { reclaimed, output } = await fn(ctx, all, f.list('filter'));
  await writeOut(ctx.stdout, (output ? output + '\n' : '') + `Total reclaimed space: ${humanSize4(reclaimed)}\n`);
  return 0;
}

function containerPrune(ctx: Context, f: ParsedFlags): Promise<number> {
  return single(ctx, f, 'WARNING! This will remove all stopped containers.', pruneContainers);
}

function imagePrune(ctx: Context, f: ParsedFlags): Promise<number> {
  const all = f.bool('all');
  const warning = all ? 'WARNING! This will remove all images without at least one container associated to them.' : 'WARNING! This will remove all dangling images.';
  return single(ctx, f, warning, pruneImages, all);
}

/** docker's system prune confirmation (its template, rendered). */
function systemPruneWarning(all: boolean, volumes: boolean, filters: string[]): string {
  const warnings = ['all stopped containers', 'all networks not used by at least one container'];
  if (volumes) warnings.push('all anonymous volumes not used by at least one container');
  warnings.push(all ? 'all images without at least one container associated to them' : 'all dangling images');
  warnings.push(all ? 'all build cache' : 'unused build cache');
  let text = 'WARNING! This will remove:' + warnings.map((w) => `\n  - ${w}`).join('') + '\n';
  const shown = filters.filter((kv) => /^(label|label!|until)=/.test(kv)).sort();
  if (shown.length) text += '\n  Items to be pruned will be filtered with:' + shown.map((s) => `\n  - ${s}`).join('') + '\n';
  return text;
}

async function systemPrune(ctx: Context, f: ParsedFlags): Promise<number> {
  const all = f.bool('all');
  const volumes = f.bool('volumes');
  const filters = f.list('filter');
  if (volumes && filters.some((kv) => kv.startsWith('until='))) throw new StatusError('ERROR: The "until" filter is not supported with "--volumes"', 1);
  if (!f.bool('force') && !(await confirm(ctx, systemPruneWarning(all, volumes, filters)))) return 0;
  const steps: PruneFn[] = [pruneContainers, pruneNetworks, ...(volumes ? [pruneVolumes] : []), pruneImages, pruneBuildCache];
  let total = 0;
  for (const step of steps) {
    const { reclaimed, output } = await step(ctx, all, filters);
    total += reclaimed;
    if (output) await writeOut(ctx.stdout, output + '\n');
  }
  await writeOut(ctx.stdout, `Total reclaimed space: ${humanSize4(total)}\n`);
  return 0;
}

interface Usage {
  LayersSize?: number;
  Images?: ImageSummary[] | null;
  Containers?: (ContainerSummary & { SizeLogs?: number })[] | null;
  Volumes?: { Name: string; UsageData?: { Size: number; RefCount: number } | null }[] | null;
  BuildCache?: { ID: string; Type: string; Size: number; CreatedAt: string; LastUsedAt: string | null; UsageCount: number; InUse: boolean; Shared: boolean }[] | null;
  BuilderSize?: number;
  LogsSize?: number;
}

interface DfRow {
  Type: string;
  TotalCount: string;
  Active: string;
  Size: string;
  Reclaimable: string;
}

const ACTIVE_STATES = ['running', 'paused', 'restarting'];

function withPercent(reclaimable: number, total: number): string {
  return total > 0 ? `${humanSize4(reclaimable)} (${Math.floor((reclaimable * 100) / total)}%)` : humanSize4(reclaimable);
}

/** docker's disk usage summary rows (formatter/disk_usage.go), then berth's container logs. */
function dfRows(u: Usage): DfRow[] {
  const images = u.Images ?? [];
  const containers = u.Containers ?? [];
  const volumes = u.Volumes ?? [];
  const cache = u.BuildCache ?? [];
  const layers = u.LayersSize ?? 0;
  const usedImages = images.filter((i) => i.Containers > 0);
  const inUse = usedImages.reduce((n, i) => n + (i.Size === -1 || i.SharedSize === -1 ? 0 : i.Size - i.SharedSize), 0);
  const active = containers.filter((c) => ACTIVE_STATES.includes(c.State));
  const rw = containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const rwIdle = containers.filter((c) => !ACTIVE_STATES.includes(c.State)).reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const vSizes = volumes.map((v) => v.UsageData?.Size ?? -1).filter((s) => s !== -1);
  const vTotal = vSizes.reduce((n, s) => n + s, 0);
  const vIdle = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0 && (v.UsageData?.Size ?? -1) !== -1).reduce((n, v) => n + v.UsageData!.Size, 0);
  const cacheSize = cacheTotal(cache);
  const cacheBusy = cache.filter((b) => b.InUse && !b.Shared).reduce((n, b) => n + b.Size, 0);
  const logs = containers.reduce((n, c) => n + (c.SizeLogs ?? 0), 0);
  const logsIdle = containers.filter((c) => !ACTIVE_STATES.includes(c.State)).reduce((n, c) => n + (c.SizeLogs ?? 0), 0);
  const rows: DfRow[] = [
    { Type: 'Images', TotalCount: String(images.length), Active: String(usedImages.length), Size: humanSize4(layers), Reclaimable: withPercent(layers - inUse, layers) },
    { Type: 'Containers', TotalCount: String(containers.length), Active: String(active.length), Size: humanSize4(rw), Reclaimable: withPercent(rwIdle, rw) },
    {
      Type: 'Local Volumes',
      TotalCount: String(volumes.length),
      Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length),
      Size: humanSize4(vTotal),
      Reclaimable: withPercent(vIdle, vTotal),
    },
    { Type: 'Build Cache', TotalCount: String(cache.length), Active: String(cache.filter((b) => b.InUse).length), Size: humanSize4(cacheSize), Reclaimable: humanSize4(cacheSize - cacheBusy) },
  ];
  // Only when the daemon reports logs (berthd does; dockerd does not).
  if (u.LogsSize !== undefined) {
    rows.push({ Type: 'Container Logs', TotalCount: String(containers.length), Active: String(active.length), Size: humanSize4(logs), Reclaimable: withPercent(logsIdle, logs) });
  }
  return rows;
}

type CacheEntry = NonNullable<Usage['BuildCache']>[number];

/** The build cache's size as the docker CLI counts it: entries shared with images are counted there. */
function cacheTotal(cache: CacheEntry[]): number {
  return cache.filter((b) => !b.Shared).reduce((n, b) => n + b.Size, 0);
}

/** docker's order: never used first, then least recently used, then by ID. */
function sortedCache(cache: CacheEntry[]): CacheEntry[] {
  const t = (b: CacheEntry) => (b.LastUsedAt ? Date.parse(b.LastUsedAt) : -Infinity);
  return [...cache].sort((a, b) => t(a) - t(b) || (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
}

const DF_HEADERS = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };

function dfVerbose(u: Usage, now = Date.now()): string {
  const images = (u.Images ?? []).map((img) => {
    const r = imageRows(img, { trunc: true, digests: false })[0]!;
    return [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size, r.SharedSize, r.UniqueSize, r.Containers];
  });
  const containers = (u.Containers ?? []).map((c) => {
    const r = containerRow({ ...c, SizeRootFs: 0 }, true, now);
    return [r.ID, r.Image, r.Command, r.LocalVolumes, r.Size, r.RunningFor, r.Status, r.Names];
  });
  const volumes = (u.Volumes ?? []).map((v) => [v.Name, String(v.UsageData?.RefCount ?? 0), (v.UsageData?.Size ?? -1) === -1 ? 'N/A' : humanSize4(v.UsageData!.Size)]);
  const cache = sortedCache(u.BuildCache ?? []).map((b) => [
    truncateID(b.ID) + (b.InUse ? '*' : ''),
    b.Type,
    humanSize(b.Size, 3),
    timeAgo(Date.parse(b.CreatedAt) / 1000, now),
    b.LastUsedAt ? timeAgo(Date.parse(b.LastUsedAt) / 1000, now) : '',
    String(b.UsageCount),
    String(b.Shared),
  ]);
  const cacheSize = cacheTotal(u.BuildCache ?? []);
  let out = 'Images space usage:\n\n';
  out += renderCells(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'], images);
  out += '\nContainers space usage:\n\n';
  out += renderCells(['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'], containers);
  out += '\nLocal Volumes space usage:\n\n';
  out += renderCells(['VOLUME NAME', 'LINKS', 'SIZE'], volumes);
  out += `\nBuild cache usage: ${humanSize4(cacheSize)}\n\n`;
  out += renderCells(['CACHE ID', 'CACHE TYPE', 'SIZE', 'CREATED', 'LAST USED', 'USAGE', 'SHARED'], cache);
  if (u.LogsSize !== undefined) {
    out += '\nContainer logs space usage:\n\n';
    out += renderCells(
      ['CONTAINER ID', 'SIZE', 'NAMES'],
      (u.Containers ?? []).map((c) => [truncateID(c.Id), humanSize4(c.SizeLogs ?? 0), (c.Names ?? []).map((n) => n.replace(/^\//, '')).join(',')]),
    );
  }
  return out;
}

async function systemDf(ctx: Context, f: ParsedFlags): Promise<number> {
  const u = await ctx.client().json<Usage>({ path: '/system/df' });
  const format = f.str('format');
  if (f.bool('verbose')) {
    if (!format || normalizeFormat(format).table) {
      await writeOut(ctx.stdout, dfVerbose(u));
      return 0;
    }
    await writeOut(ctx.stdout, format === 'json' ? JSON.stringify(u) + '\n' : renderTemplate(normalizeFormat(format).body, u) + '\n');
    return 0;
  }
  await writeOut(ctx.stdout, renderListing({ rows: dfRows(u), headers: DF_HEADERS, columns: ['Type', 'TotalCount', 'Active', 'Size', 'Reclaimable'] }, format));
  return 0;
}

const FILTER = { name: 'filter', type: 'stringArray', valueName: 'filter', description: 'Provide filter values (e.g. "until=<timestamp>")' } as const;
const FORCE = { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' } as const;

export const commands: Record<string, CommandSpec> = {
  'container prune': {
    usage: '[OPTIONS]',
    description: 'Remove all stopped containers',
    flags: [FILTER, FORCE],
    args: { max: 0 },
    run: containerPrune,
  },
  'image prune': {
    usage: '[OPTIONS]',
    description: 'Remove unused images',
    flags: [{ name: 'all', short: 'a', type: 'bool', description: 'Remove all unused images, not just dangling ones' }, FILTER, FORCE],
    args: { max: 0 },
    run: imagePrune,
  },
  'system prune': {
    usage: '[OPTIONS]',
    description: 'Remove unused data',
    flags: [
      { name: 'all', short: 'a', type: 'bool', description: 'Remove all unused images not just dangling ones' },
      { ...FILTER, description: 'Provide filter values (e.g. "label=<key>=<value>")' },
      FORCE,
      { name: 'volumes', type: 'bool', description: 'Prune anonymous volumes' },
    ],
    args: { max: 0 },
    run: systemPrune,
  },
  'system df': {
    usage: '[OPTIONS]',
    description: 'Show berth disk usage',
    flags: [
      { name: 'format', type: 'string', description: 'Format output using a custom template' },
      { name: 'verbose', short: 'v', type: 'bool', description: 'Show detailed information on space usage' },
    ],
    args: { max: 0 },
    run: systemDf,
  },
};
