// Container rows for `ps` with docker's formatter fields (docker/cli formatter/container.go).
import type { ContainerSummary } from '../../api/types.js';
import { humanSize } from '../../lib/units.js';
import { ellipsis, truncateID, type Listing } from './table.js';
import { goTimeString, timeAgo } from './time.js';

export interface ContainerRow {
  ID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  RunningFor: string;
  Ports: string;
  State: string;
  Status: string;
  Size: string;
  Names: string;
  Labels: string;
  Mounts: string;
  Networks: string;
  LocalVolumes: string;
  /** `{{.Label "key"}}` */
  Label: (key: string) => string;
}

export const CONTAINER_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  Networks: 'NETWORKS',
  LocalVolumes: 'LOCAL VOLUMES',
  Label: 'LABEL',
};

type Port = ContainerSummary['Ports'][number];

function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function comparePorts(a: Port, b: Port): number {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  if ((a.IP ?? '') !== (b.IP ?? '')) return (a.IP ?? '') < (b.IP ?? '') ? -1 : 1;
  if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

function formGroup(key: string, first: number, last: number): string {
  const slash = key.lastIndexOf('/');
  const ip = slash >= 0 ? key.slice(0, slash) : '';
  const type = slash >= 0 ? key.slice(slash + 1) : key;
  let group = first === last ? String(first) : `${first}-${last}`;
  if (ip) group = `${ip.includes(':') ? `[${ip}]` : ip}:${group}->${group}`;
  return `${group}/${type}`;
}

/** docker's DisplayablePorts: consecutive ports grouped into ranges, mappings listed last. */
export function displayablePorts(ports: Port[]): string {
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const mappings: string[] = [];
  for (const p of [...ports].sort(comparePorts)) {
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== p.PrivatePort) {
        mappings.push(`${joinHostPort(p.IP, p.PublicPort ?? 0)}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
    else if (p.PrivatePort === g.last + 1) g.last = p.PrivatePort;
    else {
      result.push(formGroup(key, g.first, g.last));
      groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
    }
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  return [...result, ...mappings].join(', ');
}

function imageName(c: ContainerSummary, trunc: boolean): string {
  if (!c.Image) return '<no image>';
  if (!trunc) return c.Image;
  if (c.ImageID && truncateID(c.ImageID) === truncateID(c.Image)) return truncateID(c.Image);
  const at = c.Image.indexOf('@');
  return at >= 0 ? c.Image.slice(0, at) : c.Image;
}

interface MountSummary {
  Name?: string;
  Source?: string;
  Driver?: string;
}

export function containerRow(c: ContainerSummary, trunc: boolean, now = Date.now()): ContainerRow {
  const names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
  const mounts = (c.Mounts ?? []) as MountSummary[];
  const labels = c.Labels ?? {};
  let size = '';
  if (c.SizeRw !== undefined || c.SizeRootFs !== undefined) {
    size = humanSize(c.SizeRw ?? 0);
    if ((c.SizeRootFs ?? 0) > 0) size += ` (virtual ${humanSize(c.SizeRootFs ?? 0)})`;
  }
  return {
    ID: trunc ? truncateID(c.Id) : c.Id,
    Image: imageName(c, trunc),
    Command: JSON.stringify(trunc ? ellipsis(c.Command ?? '', 20) : (c.Command ?? '')),
    CreatedAt: goTimeString(new Date(c.Created * 1000)),
    RunningFor: timeAgo(c.Created, now),
    Ports: displayablePorts(c.Ports ?? []),
    State: c.State,
    Status: c.Status,
    Size: size,
    // with truncation, link names (containing a second '/') are hidden, as docker does
    Names: (trunc ? names.filter((n) => !n.includes('/')) : names).join(','),
    Labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(','),
    Mounts: mounts.map((m) => (trunc ? ellipsis(m.Name || m.Source || '', 15) : m.Name || m.Source || '')).join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
    LocalVolumes: String(mounts.filter((m) => m.Driver === 'local').length),
    Label: (key: string) => labels[key] ?? '',
  };
}

export function containerListing(list: ContainerSummary[], trunc: boolean, size: boolean): Listing<ContainerRow> {
  const columns: (keyof ContainerRow & string)[] = ['ID', 'Image', 'Command', 'RunningFor', 'Status', 'Ports', 'Names'];
  if (size) columns.push('Size');
  return { rows: list.map((c) => containerRow(c, trunc)), headers: CONTAINER_HEADERS, columns };
}
