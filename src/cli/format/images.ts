// Image rows for `images` and `history` with docker's formatter fields (formatter/image.go, history.go).
import type { HistoryItem, ImageSummary } from '../../api/types.js';
import { humanSize } from '../../lib/units.js';
import { ellipsis, truncateID, type Listing } from './table.js';
import { goTimeString, timeAgo } from './time.js';

export interface ImageRow {
  ID: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
  Containers: string;
  VirtualSize: string;
  SharedSize: string;
  UniqueSize: string;
}

export const IMAGE_HEADERS: Record<string, string> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'VIRTUAL SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
};

/** reference.FamiliarName: docker.io/library/busybox → busybox */
export function familiarName(name: string): string {
  return name.replace(/^docker\.io\//, '').replace(/^library\/(?=[^/]+$)/, '');
}

function splitTag(ref: string): [string, string] | undefined {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) return undefined;
  return [familiarName(ref.slice(0, colon)), ref.slice(colon + 1)];
}

interface RowOptions {
  trunc: boolean;
  digests: boolean;
  now?: number;
}

function makeRow(img: ImageSummary, repo: string, tag: string, digest: string, o: RowOptions): ImageRow {
  const size = humanSize(img.Size);
  // docker's formatter: SIZE with 3 significant digits, the others with go-units' HumanSize (4).
  const shared = img.SharedSize >= 0 ? humanSize(img.SharedSize, 4) : 'N/A';
  return {
    ID: o.trunc ? truncateID(img.Id) : img.Id,
    Repository: repo,
    Tag: tag,
    Digest: digest,
    CreatedSince: timeAgo(img.Created, o.now),
    CreatedAt: goTimeString(new Date(img.Created * 1000)),
    Size: size,
    Containers: img.Containers >= 0 ? String(img.Containers) : 'N/A',
    VirtualSize: humanSize(img.Size, 4),
    SharedSize: shared,
    UniqueSize: img.SharedSize >= 0 ? humanSize(img.Size - img.SharedSize, 4) : 'N/A',
  };
}

/** One row per repository:tag (and per digest with --digests), as docker's imageFormat. */
export function imageRows(img: ImageSummary, o: RowOptions): ImageRow[] {
  const tags = new Map<string, string[]>();
  const digests = new Map<string, string[]>();
  for (const ref of img.RepoTags ?? []) {
    const rt = splitTag(ref);
    if (rt && ref !== '<none>:<none>') tags.set(rt[0], [...(tags.get(rt[0]) ?? []), rt[1]]);
  }
  for (const ref of img.RepoDigests ?? []) {
    const at = ref.indexOf('@');
    if (at < 0 || ref === '<none>@<none>') continue;
    const repo = familiarName(ref.slice(0, at));
    digests.set(repo, [...(digests.get(repo) ?? []), ref.slice(at + 1)]);
  }
  const rows: ImageRow[] = [];
  for (const [repo, repoTags] of tags) {
    const ds = o.digests ? (digests.get(repo) ?? []) : [];
    digests.delete(repo);
    for (const tag of repoTags) {
      if (!ds.length) rows.push(makeRow(img, repo, tag, '<none>', o));
      for (const d of ds) rows.push(makeRow(img, repo, tag, d, o));
    }
  }
  for (const [repo, ds] of digests) {
    if (o.digests) for (const d of ds) rows.push(makeRow(img, repo, '<none>', d, o));
    else rows.push(makeRow(img, repo, '<none>', '<none>', o));
  }
  if (!tags.size && !digests.size && !rows.length) rows.push(makeRow(img, '<none>', '<none>', '<none>', o));
  return rows;
}

export function imageListing(list: ImageSummary[], o: RowOptions): Listing<ImageRow> {
  const columns: (keyof ImageRow & string)[] = o.digests
    ? ['Repository', 'Tag', 'Digest', 'ID', 'CreatedSince', 'Size']
    : ['Repository', 'Tag', 'ID', 'CreatedSince', 'Size'];
  return { rows: list.flatMap((img) => imageRows(img, o)), headers: IMAGE_HEADERS, columns };
}

export interface HistoryRow {
  ID: string;
  CreatedSince: string;
  CreatedAt: string;
  CreatedBy: string;
  Size: string;
  Comment: string;
}

export const HISTORY_HEADERS: Record<string, string> = {
  ID: 'IMAGE',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  CreatedBy: 'CREATED BY',
  Size: 'SIZE',
  Comment: 'COMMENT',
};

export function historyListing(items: HistoryItem[], o: { trunc: boolean; human: boolean; now?: number }): Listing<HistoryRow> {
  const rows = items.map((h): HistoryRow => {
    const createdBy = h.CreatedBy.replace(/\t/g, ' ');
    const created = new Date(h.Created * 1000);
    return {
      ID: h.Id === '<missing>' ? h.Id : o.trunc ? truncateID(h.Id) : h.Id,
      CreatedSince: o.human ? timeAgo(h.Created, o.now) : created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      CreatedAt: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      CreatedBy: o.trunc ? ellipsis(createdBy, 45) : createdBy,
      Size: o.human ? humanSize(h.Size) : String(h.Size),
      Comment: h.Comment,
    };
  });
  return { rows, headers: HISTORY_HEADERS, columns: ['ID', 'CreatedSince', 'CreatedBy', 'Size', 'Comment'] };
}
