// `builder prune`'s selection: Docker's filters (until, unused-for, id, type, description, inuse, shared,
// private, label) and its size limits (keep-storage, reserved-space, max-used-space, min-free-space),
// applied to the build cache's entries (cache.ts deletes what is selected).
import { promises as fs } from 'node:fs';
import { InvalidParameter } from '../../lib/errors.js';
import { untilCutoff } from '../../lib/filters.js';
import type { BuildCacheUsage } from '../housekeeping.js';

/** `POST /build/prune`'s options (Docker's query parameters). */
export interface BuildPruneOptions {
  /** Shared entries (their layers are in images) too, not just the dangling ones. */
  all?: boolean;
  filters?: Record<string, string[]>;
  /** keep-storage (API < 1.48): prune, least recently used first, down to this many bytes. */
  keepStorage?: number;
  /** reserved-space: never prune a cache this small or smaller. */
  reservedSpace?: number;
  /** max-used-space: prune down to this many bytes. */
  maxUsedSpace?: number;
  /** min-free-space: prune until the disk has this many bytes free. */
  minFreeSpace?: number;
}

export interface BuildPruneReport {
  CachesDeleted: string[];
  SpaceReclaimed: number;
}

const CACHE_FILTERS = ['until', 'unused-for', 'id', 'parent', 'type', 'description', 'inuse', 'shared', 'private', 'label', 'label!'];

/** The entries the options select; wholeCache when everything goes (--all, no filter, no limit). */
export async function pruneCandidates(entries: BuildCacheUsage[], o: BuildPruneOptions, root: string): Promise<{ candidates: BuildCacheUsage[]; wholeCache: boolean }> {
  const filters = o.filters ?? {};
  for (const [k, v] of Object.entries(filters)) {
    if (!CACHE_FILTERS.includes(k)) throw new InvalidParameter(`invalid filter '${k}'`);
    if (v.length > 1 && !k.startsWith('label')) throw new InvalidParameter(`filters expect only one value: ${k}`);
  }
  if (filters.until && filters['unused-for']) throw new InvalidParameter(`conflicting filters: "until" and "unused-for"`);
  const untilValue = (filters.until ?? filters['unused-for'])?.[0];
  let cutoff = Infinity;
  if (untilValue !== undefined) {
    try {
      cutoff = untilCutoff(untilValue);
    } catch {
      throw new InvalidParameter(`invalid value for 'until' filter: failed to parse value as time or duration: "${untilValue}"`);
    }
  }
  let idPattern: RegExp | undefined;
  if (filters.id?.[0] !== undefined) {
    try {
      idPattern = new RegExp(filters.id[0]);
    } catch {
      throw new InvalidParameter(`invalid filter 'id=${filters.id[0]}': not a regular expression`);
    }
  }
  const is = (k: string, v: unknown) => filters[k]?.[0] === undefined || filters[k]![0] === String(v);
  let candidates = entries.filter(
    (e) =>
      !e.InUse &&
      (o.all || !e.Shared) &&
      Date.parse(e.LastUsedAt ?? e.CreatedAt) <= cutoff &&
      (!idPattern || idPattern.test(e.ID)) &&
      is('type', e.Type) &&
      is('description', e.Description) &&
      is('parent', e.Parent) &&
      is('inuse', e.InUse) &&
      is('shared', e.Shared) &&
      is('private', false) &&
      // Cache entries have no labels: a label filter keeps them all, label! lets them all go.
      !filters.label,
  );
  const limited = [o.keepStorage, o.reservedSpace, o.maxUsedSpace, o.minFreeSpace].some((v) => v !== undefined && v > 0);
  if (limited) candidates = await withinLimits(entries, candidates, o, root);
  const wholeCache = !limited && !Object.keys(filters).length && !!o.all;
  return { candidates, wholeCache };
}

/** With keep-storage, reserved-space, max-used-space or min-free-space: least recently used first, until the limits hold. */
export async function withinLimits(entries: BuildCacheUsage[], candidates: BuildCacheUsage[], o: BuildPruneOptions, root: string): Promise<BuildCacheUsage[]> {
  let total = entries.filter((e) => !e.Shared).reduce((n, e) => n + e.Size, 0);
  const floor = Math.max(o.keepStorage ?? 0, o.reservedSpace ?? 0);
  const ceiling = o.maxUsedSpace ? Math.max(o.maxUsedSpace, floor) : undefined;
  let free = Infinity;
  if (o.minFreeSpace) {
    const st = await fs.statfs(root).catch(() => undefined);
    if (st) free = st.bavail * st.bsize;
  }
  const over = () => (ceiling !== undefined && total > ceiling) || (!!o.minFreeSpace && free < o.minFreeSpace && total > floor) || (ceiling === undefined && !o.minFreeSpace && total > floor);
  const lru = [...candidates].sort((a, b) => (a.LastUsedAt ?? a.CreatedAt).localeCompare(b.LastUsedAt ?? b.CreatedAt) || a.ID.localeCompare(b.ID));
  const out: BuildCacheUsage[] = [];
  for (const e of lru) {
    if (!over()) break;
    const size = e.Shared ? 0 : e.Size;
    out.push(e);
    total -= size;
    if (free !== Infinity) free += size;
  }
  return out;
}
