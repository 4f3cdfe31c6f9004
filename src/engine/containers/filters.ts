// `ps --filter` as dockerd applies it (daemon/list.go): every key must match (AND across keys); the
// values of one key are alternatives (OR), except `label`, whose values must all match.
import { InvalidParameter, NotFound } from '../../lib/errors.js';
import { matchLabel, matchesPattern } from '../../lib/filters.js';
import { ZERO_TIME, type ContainerRecord } from './record.js';

const KNOWN = new Set(['status', 'name', 'label', 'ancestor', 'id', 'exited', 'before', 'since', 'health', 'isolation', 'network', 'volume', 'publish', 'expose', 'is-task']);
const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);
const HEALTH = new Set(['starting', 'healthy', 'unhealthy', 'none']);

/** The filters checked once per list call, with dockerd's messages for bad values. */
export interface ContainerFilter {
  filters: Record<string, string[]>;
  exited: number[];
  /** Ports as "80/tcp" (`publish` and `expose` take ranges: "8000-8080/udp"). */
  publish: Set<string>;
  expose: Set<string>;
  /** undefined without an `is-task` filter. */
  isTask?: boolean;
  before?: ContainerRecord;
  since?: ContainerRecord;
}

export function parseContainerFilters(filters: Record<string, string[]>, lookup: (ref: string) => ContainerRecord | undefined): ContainerFilter {
  for (const key of Object.keys(filters)) if (!KNOWN.has(key)) throw new InvalidParameter(`invalid filter '${key}'`);
  const values = (k: string) => filters[k] ?? [];
  for (const v of values('status')) if (!STATUSES.has(v)) throw new InvalidParameter(`invalid filter 'status=${v}'`);
  for (const v of values('health')) if (!HEALTH.has(v)) throw new InvalidParameter(`Unrecognised filter value for health: ${v}`);
  const exited = values('exited').map((v) => {
    if (!/^[+-]?\d+$/.test(v)) throw new InvalidParameter(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
    return Number(v);
  });
  const container = (k: string): ContainerRecord | undefined => {
    const v = values(k).at(-1);
    if (v === undefined) return undefined;
    const rec = lookup(v);
    if (!rec) throw new NotFound(`No such container: ${v}`);
    return rec;
  };
  return {
    filters,
    exited,
    publish: portSet('publish', values('publish')),
    expose: portSet('expose', values('expose')),
    isTask: isTaskOf(values('is-task')),
    before: container('before'),
    since: container('since'),
  };
}

/** dockerd's GetBoolOrDefault: the first value decides; anything but true/false/1/0 is refused. */
function isTaskOf(vals: string[]): boolean | undefined {
  if (!vals.length) return undefined;
  const v = vals[0]!.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidParameter(`invalid filter 'is-task=[${vals.join(' ')}]'`);
}

/** `port[/proto]` or `start-end[/proto]` (dockerd's portOp), expanded to "port/proto" keys. */
function portSet(key: string, vals: string[]): Set<string> {
  const out = new Set<string>();
  for (const v of vals) {
    if (v.includes(':')) throw new InvalidParameter(`filter for '${key}' should not contain ':': ${v}`);
    const slash = v.indexOf('/');
    const port = slash < 0 ? v : v.slice(0, slash);
    const proto = (slash < 0 ? 'tcp' : v.slice(slash + 1)).toLowerCase() || 'tcp';
    const m = /^(\d+)(?:-(\d+))?$/.exec(port);
    const start = m ? Number(m[1]) : NaN;
    const end = m?.[2] !== undefined ? Number(m[2]) : start;
    if (!m || start > 65535 || end > 65535 || end < start) throw new InvalidParameter(`error while looking up for ${key} ${port}: invalid port range: ${port}`);
    for (let p = start; p <= end; p++) out.add(`${p}/${proto}`);
  }
  return out;
}

export function matchesContainerFilters(rec: ContainerRecord, f: ContainerFilter, imageMatches: (ref: string) => boolean): boolean {
  const vals = (k: string) => f.filters[k] ?? [];
  const has = (k: string) => vals(k).length > 0;
  if (has('name') && !matchesPattern(vals('name'), rec.name)) return false;
  if (has('id') && !matchesPattern(vals('id'), rec.id)) return false;
  if (!vals('label').every((l) => matchLabel(rec.config.Labels ?? {}, l))) return false;
  if (has('isolation') && !matchesPattern(vals('isolation'), (rec.hostConfig as { Isolation?: string }).Isolation || 'default')) return false;
  if (f.before && !(Date.parse(rec.created) < Date.parse(f.before.created))) return false;
  if (f.since && !(Date.parse(rec.created) > Date.parse(f.since.created))) return false;
  // A container that never started has not exited with any code.
  const hasExited = rec.state.status !== 'running' && rec.state.status !== 'paused' && rec.state.startedAt !== ZERO_TIME;
  if (f.exited.length && !(hasExited && f.exited.includes(rec.state.exitCode))) return false;
  if (has('status') && !vals('status').includes(rec.state.status)) return false;
  if (has('ancestor') && !vals('ancestor').some(imageMatches)) return false;
  if (has('health') && !vals('health').includes(rec.state.health?.Status ?? 'none')) return false;
  // berth has no swarm: no container is a task.
  if (f.isTask === true) return false;
  if (has('volume') && !(rec.mounts ?? []).some((m) => vals('volume').some((v) => (m.Name || m.Source) === v || m.Destination === v))) return false;
  if (has('network') && !onNetwork(rec, vals('network'))) return false;
  if (f.publish.size && !Object.keys(rec.hostConfig.PortBindings ?? {}).some((p) => f.publish.has(portKey(p)))) return false;
  if (f.expose.size && !Object.keys(rec.config.ExposedPorts ?? {}).some((p) => f.expose.has(portKey(p)))) return false;
  return true;
}

/** A network by its name or a prefix of its ID, as dockerd matches it. */
function onNetwork(rec: ContainerRecord, vals: string[]): boolean {
  const nets = Object.entries(rec.networks ?? {});
  return vals.some((v) => nets.some(([name, ep]) => name === v || (!!ep.NetworkID && ep.NetworkID.startsWith(v))));
}

/** "80" and "80/TCP" as dockerd's nat.Port keys ("80/tcp"). */
function portKey(p: string): string {
  const [port, proto] = p.split('/');
  return `${Number(port)}/${(proto || 'tcp').toLowerCase()}`;
}
