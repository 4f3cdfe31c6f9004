// `ps --filter` as dockerd applies it (daemon/list.go).
import { InvalidParameter } from '../../lib/errors.js';
import type { ContainerRecord } from './record.js';

const KNOWN = new Set(['status', 'name', 'label', 'ancestor', 'id', 'exited', 'before', 'since', 'health', 'isolation', 'network', 'volume', 'publish', 'expose', 'is-task']);
const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

export function matchesContainerFilters(
  rec: ContainerRecord,
  filters: Record<string, string[]>,
  lookup: (ref: string) => ContainerRecord | undefined,
  imageMatches: (ref: string) => boolean,
): boolean {
  for (const [key, values] of Object.entries(filters)) {
    if (!KNOWN.has(key)) throw new InvalidParameter(`invalid filter '${key}'`);
    if (!values.length) continue;
    if (!values.some((v) => matchOne(rec, key, v, lookup, imageMatches))) return false;
  }
  return true;
}

function matchOne(
  rec: ContainerRecord,
  key: string,
  v: string,
  lookup: (ref: string) => ContainerRecord | undefined,
  imageMatches: (ref: string) => boolean,
): boolean {
  switch (key) {
    case 'status':
      if (!STATUSES.has(v)) throw new InvalidParameter(`invalid filter 'status=${v}'`);
      return rec.state.status === v;
    case 'name':
      // Docker matches names as regular expressions against "/name".
      return new RegExp(v).test(rec.name);
    case 'id':
      return rec.id.startsWith(v);
    case 'label': {
      const [k, val] = v.split(/=(.*)/s, 2);
      const labels = rec.config.Labels ?? {};
      return val === undefined ? k! in labels : labels[k!] === val;
    }
    case 'exited':
      return rec.state.status === 'exited' && rec.state.exitCode === Number(v);
    case 'ancestor':
      return imageMatches(v);
    case 'before': {
      const other = lookup(v);
      if (!other) throw new InvalidParameter(`No such container: ${v}`);
      return Date.parse(rec.created) < Date.parse(other.created);
    }
    case 'since': {
      const other = lookup(v);
      if (!other) throw new InvalidParameter(`No such container: ${v}`);
      return Date.parse(rec.created) > Date.parse(other.created);
    }
    case 'volume':
      // A volume's name (a bind's host path) or a mount's destination, as dockerd matches it.
      return (rec.mounts ?? []).some((m) => (m.Name || m.Source) === v || m.Destination === v);
    case 'health': {
      const h = (rec.state as { health?: { Status: string } }).health;
      return (h?.Status ?? 'none') === v;
    }
    default:
      return false;
  }
}
