// Compose v2's listings (v2.29 cmd/formatter and cmd/compose): the ps container context (table, json,
// templates), `ls` projects, `images` and `top` tables. Pure functions of what the engine said, so they
// are unit-tested without a daemon.
import { humanSize } from '../../lib/units.js';
import type { ServiceContainer } from '../../compose/ps.js';
import { displayablePorts } from '../format/containers.js';
import { ellipsis, renderListing, tabwrite, truncateID, type Listing } from '../format/table.js';
import { goTimeString, timeAgo } from '../format/time.js';

/** The fields of Compose's ContainerContext, in the (alphabetical) order its JSON has them. */
export interface PsRow {
  Command: string;
  CreatedAt: string;
  ExitCode: number;
  Health: string;
  ID: string;
  Image: string;
  Labels: string;
  LocalVolumes: string;
  Mounts: string;
  Name: string;
  Names: string;
  Networks: string;
  Ports: string;
  Project: string;
  Publishers: ServiceContainer['Publishers'];
  RunningFor: string;
  Service: string;
  Size: string;
  State: string;
  Status: string;
}

const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Name: 'NAME',
  Names: 'NAMES',
  Project: 'PROJECT',
  Service: 'SERVICE',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Health: 'HEALTH',
  ExitCode: 'EXIT CODE',
  Publishers: 'PUBLISHERS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Label: 'LABEL',
};

const PS_COLUMNS: (keyof PsRow)[] = ['Name', 'Image', 'Command', 'Service', 'RunningFor', 'Status', 'Ports'];

/** Go's strconv.Quote for the printable text a command is. */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u([0-9a-f]{4})/g, (_m, hex: string) => `\\x${hex.slice(2)}`);
}

export function psRow(c: ServiceContainer, trunc: boolean, now = Date.now()): PsRow & { Label: (key: string) => string } {
  const size = humanSize(c.SizeRw ?? 0);
  const names = c.Names.map((n) => n.replace(/^\//, ''));
  const own = trunc ? (names.find((n) => !n.includes('/')) ?? '') : '';
  const row: PsRow = {
    Command: goQuote(trunc ? ellipsis(c.Command, 20) : c.Command),
    CreatedAt: goTimeString(new Date(c.Created * 1000)),
    ExitCode: c.ExitCode,
    Health: c.Health,
    ID: trunc ? truncateID(c.ID) : c.ID,
    Image: c.Image,
    Labels: Object.entries(c.Labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    LocalVolumes: String(c.LocalVolumes),
    Mounts: c.Mounts.map((m) => (trunc ? ellipsis(m, 15) : m)).join(','),
    Name: c.Name,
    Names: own || names.join(','),
    Networks: c.Networks.join(','),
    Ports: displayablePorts(
      c.Publishers.map((p) => ({ IP: p.URL || undefined, PrivatePort: p.TargetPort, PublicPort: p.PublishedPort, Type: p.Protocol })),
    ),
    Project: c.Project,
    Publishers: c.Publishers,
    RunningFor: timeAgo(c.Created, now),
    Service: c.Service,
    Size: (c.SizeRootFs ?? 0) > 0 ? `${size} (virtual ${humanSize(c.SizeRootFs ?? 0)})` : size,
    State: c.State,
    Status: c.Status,
  };
  // A method in Compose's context: usable in templates, absent from the JSON.
  return Object.defineProperty({ ...row }, 'Label', { value: (key: string) => c.Labels[key] ?? '', enumerable: false }) as PsRow & {
    Label: (key: string) => string;
  };
}

/** `ps` output for --format "" | table | json | TEMPLATE. */
export function renderPs(list: ServiceContainer[], format: string, trunc: boolean, now = Date.now()): string {
  const listing: Listing<PsRow> = { rows: list.map((c) => psRow(c, trunc, now)), headers: PS_HEADERS, columns: PS_COLUMNS };
  if (format === 'json') return listing.rows.map((r) => JSON.stringify(r) + '\n').join('');
  return renderListing(listing, format === 'table' ? '' : format);
}

// ---- ls ----

export interface Stack {
  Name: string;
  Status: string;
  ConfigFiles: string;
}

/** "running(2), exited(1)": a count per state, states in alphabetical order. */
export function combinedStatus(states: string[]): string {
  const counts = new Map<string, number>();
  for (const s of states) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts.keys()]
    .sort()
    .map((s) => `${s}(${counts.get(s)})`)
    .join(', ');
}

/** Compose's formatter.Print: a table (min width 20, padding 3) or a JSON array on one line. */
export function printSection<T>(items: T[], format: string, headers: string[], row: (item: T) => string[]): string {
  switch (format.toLowerCase()) {
    case '':
    case 'table':
    case 'pretty':
      return tabwrite([headers, ...items.map(row)].map((r) => r.join('\t')).join('\n') + '\n', 20, 3);
    case 'json':
      return JSON.stringify(items) + '\n';
    default:
      throw new FormatError(`format value "${format}" could not be parsed: parsing failed`);
  }
}

export class FormatError extends Error {}

export function renderLs(stacks: Stack[], format: string): string {
  return printSection(stacks, format, ['NAME', 'STATUS', 'CONFIG FILES'], (s) => [s.Name, s.Status, s.ConfigFiles]);
}

// ---- images ----

export interface ContainerImage {
  ID: string;
  ContainerName: string;
  Repository: string;
  Tag: string;
  Size: number;
}

export function renderImages(images: ContainerImage[], format: string): string {
  const sorted = [...images].sort((a, b) => (a.ContainerName < b.ContainerName ? -1 : a.ContainerName > b.ContainerName ? 1 : 0));
  return printSection(sorted, format, ['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'], (i) => [
    i.ContainerName,
    i.Repository || '<none>',
    i.Tag || '<none>',
    truncateID(i.ID),
    humanSize(i.Size),
  ]);
}

/** `images -q`: each image ID once, without its algorithm. */
export function imageIDs(images: ContainerImage[]): string {
  const ids = [...new Set(images.map((i) => (i.ID.includes(':') ? i.ID.slice(i.ID.indexOf(':') + 1) : i.ID)))];
  return ids.map((id) => id + '\n').join('');
}

// ---- top ----

export interface ContainerTop {
  Name: string;
  Titles: string[];
  Processes: string[][];
}

/** v2.29's top: per container its name, then its processes' table (min width 5, padding 3), a blank line. */
export function renderTop(list: ContainerTop[]): string {
  return [...list]
    .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0))
    .map((c) => {
      const lines = [c.Titles.join('\t'), ...c.Processes.map((p) => p.map((cell) => cell + '\t').join('')), ''];
      return `${c.Name}\n` + tabwrite(lines.join('\n') + '\n', 5, 3);
    })
    .join('');
}
