// Merging compose documents (several -f files, an override onto an included or extended service) with
// the specification's rules, as compose-go's override package does: mappings merged key by key, a
// later scalar wins, sequences appended, and then de-duplicated by each sequence's key (ports by
// ip:published:target/protocol, volumes by target, secrets/configs by target, environment, labels,
// sysctls... by variable name; the later definition wins at the earlier one's place).
// command, entrypoint and healthcheck.test are replaced whole; `!reset` / `!override` (yaml.ts) drop
// what earlier documents said before merging.
import { ComposeError } from '../types.js';
import { parseVolume } from './volumes.js';
import { goString, isDict, lookup, pattern, pathString, type Dict, type Path, type Pattern } from './tree.js';

type Merger = (base: unknown, override: unknown, path: Path) => unknown;

export function mergeDocuments(base: Dict, override: Dict): Dict {
  return mergeYaml(base, override, []) as Dict;
}

/** Merges `override` onto a copy-free `base` at `path` (both are consumed). */
export function mergeYaml(base: unknown, override: unknown, path: Path): unknown {
  const special = lookup(SPECIALS, path);
  if (special) return special(base, override, path);
  if (override === null || override === undefined) return base;
  if (isDict(base)) {
    if (!isDict(override)) throw new ComposeError(`cannot override ${pathString(path)}`);
    return mergeMappings(base, override, path);
  }
  if (Array.isArray(base)) {
    if (!Array.isArray(override)) throw new ComposeError(`cannot override ${pathString(path)}`);
    return [...base, ...override];
  }
  return override;
}

function mergeMappings(base: Dict, override: Dict, path: Path): Dict {
  for (const [k, v] of Object.entries(override)) {
    base[k] = k in base ? mergeYaml(base[k], v, [...path, k]) : v;
  }
  return base;
}

const replace: Merger = (_b, o) => o;

// Logging options merge only when both name the same driver (or one names none).
const mergeLogging: Merger = (b, o, p) => {
  if (!isDict(b) || !isDict(o)) return o ?? b;
  if (!('driver' in o) || !('driver' in b) || o.driver === b.driver) return mergeMappings(b, o, p);
  return o;
};

const toBuild = (v: unknown): Dict => (typeof v === 'string' ? { context: v } : isDict(v) ? v : {});
const mergeBuild: Merger = (b, o, p) => (o === null || o === undefined ? b : mergeMappings(toBuild(b), toBuild(o), p));

const DEPENDENCY = { condition: 'service_started', required: true };
const mergeDependsOn: Merger = (b, o, p) => mergeMappings(toMapping(b, DEPENDENCY), toMapping(o, DEPENDENCY), p);
const mergeNetworks: Merger = (b, o, p) => mergeMappings(toMapping(b), toMapping(o), p);

const mergeToSequence: Merger = (b, o) => [...toSequence(b), ...toSequence(o)];

const mergeExtraHosts: Merger = (b, o) => {
  const base = toSequence(b);
  return [...base, ...toSequence(o).filter((e) => !base.includes(e))];
};

const mergeUlimit: Merger = (_b, o) => o;

const mergeIpamConfig: Merger = (b, o, p) => {
  if (!Array.isArray(b) || !Array.isArray(o)) return o ?? b;
  const out: Dict[] = [];
  const index = (subnet: unknown): number => out.findIndex((c) => c.subnet === subnet);
  for (const original of b) {
    const right = toMapping(original);
    for (const ov of o) {
      const left = toMapping(ov);
      if (left.subnet !== right.subnet && index(left.subnet) < 0) {
        out.push(left);
        continue;
      }
      const merged = mergeMappings(right, left, p);
      const i = index(merged.subnet);
      if (i >= 0) out[i] = merged;
      else out.push(merged);
    }
  }
  return out;
};

/** A list of names (or a mapping) as a mapping; each listed name gets a copy of `defaults`. */
function toMapping(v: unknown, defaults?: Dict): Dict {
  if (isDict(v)) return v;
  const out: Dict = {};
  if (Array.isArray(v)) for (const name of v) out[String(name)] = defaults ? { ...defaults } : null;
  return out;
}

/** A mapping as "key=value" entries (sorted, as compose-go does); lists stay as they are. */
export function toSequence(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [v];
  if (!isDict(v)) return [];
  const seq: string[] = [];
  for (const [k, val] of Object.entries(v)) {
    if (val === null || val === undefined) seq.push(k);
    else if (Array.isArray(val)) for (const e of val) seq.push(`${k}=${goString(e)}`);
    else seq.push(`${k}=${goString(val)}`);
  }
  return seq.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const s = (p: string): Pattern => pattern(`services.*.${p}`);
const SPECIALS: (readonly [Pattern, Merger])[] = [
  [pattern('networks.*.ipam.config'), mergeIpamConfig],
  [pattern('networks.*.labels'), mergeToSequence],
  [pattern('volumes.*.labels'), mergeToSequence],
  [s('annotations'), mergeToSequence],
  [s('build'), mergeBuild],
  [s('build.args'), mergeToSequence],
  [s('build.additional_contexts'), mergeToSequence],
  [s('build.extra_hosts'), mergeExtraHosts],
  [s('build.labels'), mergeToSequence],
  [s('command'), replace],
  [s('depends_on'), mergeDependsOn],
  [s('deploy.labels'), mergeToSequence],
  [s('dns'), mergeToSequence],
  [s('dns_opt'), mergeToSequence],
  [s('dns_search'), mergeToSequence],
  [s('entrypoint'), replace],
  [s('env_file'), mergeToSequence],
  [s('label_file'), mergeToSequence],
  [s('environment'), mergeToSequence],
  [s('extra_hosts'), mergeExtraHosts],
  [s('healthcheck.test'), replace],
  [s('labels'), mergeToSequence],
  [s('volumes.*.volume.labels'), mergeToSequence],
  [s('logging'), mergeLogging],
  [s('models'), mergeNetworks],
  [s('networks'), mergeNetworks],
  [s('sysctls'), mergeToSequence],
  [s('tmpfs'), mergeToSequence],
  [s('ulimits.*'), mergeUlimit],
];

// ---- unicity: one entry per key in the sequences that have one ----

type Indexer = (entry: unknown, path: Path) => string;

/** Removes redefinitions in keyed sequences; the later entry takes the earlier one's place. */
export function enforceUnicity(value: unknown, path: string[] = []): unknown {
  if (isDict(value)) {
    for (const k of Object.keys(value)) value[k] = enforceUnicity(value[k], [...path, k]);
    return value;
  }
  if (!Array.isArray(value)) return value;
  const indexer = lookup(UNIQUE, path);
  if (!indexer) return value;
  const out: unknown[] = [];
  const keys = new Map<string, number>();
  value.forEach((entry, i) => {
    const key = indexer(entry, [...path, `[${i}]`]);
    const j = keys.get(key);
    if (j !== undefined) out[j] = entry;
    else {
      keys.set(key, out.length);
      out.push(entry);
    }
  });
  return out;
}

const keyValueIndexer: Indexer = (v, p) => {
  if (typeof v !== 'string') {
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new ComposeError(`${pathString(p)}: unexpected type ${typeName(v)}`);
  }
  const eq = v.indexOf('=');
  return eq < 0 ? v : v.slice(0, eq);
};

const volumeIndexer: Indexer = (v, p) => {
  if (isDict(v)) {
    if (typeof v.target !== 'string') throw new ComposeError(`service volume ${pathString(p)} is missing a mount target`);
    return v.target;
  }
  if (typeof v === 'string') return parseVolume(v).target;
  return '';
};

const deviceIndexer: Indexer = (v, p) => {
  if (isDict(v)) {
    if (typeof v.target !== 'string') throw new ComposeError(`service device ${pathString(p)} is missing a mount target`);
    return v.target;
  }
  if (typeof v === 'string') {
    const parts = v.split(':');
    return parts.length === 1 ? parts[0]! : parts[1]!;
  }
  return '';
};

const exposeIndexer: Indexer = (v, p) => {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  throw new ComposeError(`${pathString(p)}: unsupported expose value ${goString(v)}`);
};

const mountIndexer =
  (defaultPath: string): Indexer =>
  (v, p) => {
    if (typeof v === 'string') return `${defaultPath}/${v}`;
    if (isDict(v)) return typeof v.target === 'string' ? v.target : `${defaultPath}/${goString(v.source)}`;
    throw new ComposeError(`${pathString(p)}: unsupported expose value ${goString(v)}`);
  };

const portIndexer: Indexer = (v, p) => {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  if (isDict(v)) {
    if (!('target' in v)) throw new ComposeError(`service ports ${pathString(p)} is missing a target port`);
    return `${goString(v.host_ip ?? '0.0.0.0')}:${goString(v.published)}:${goString(v.target)}/${goString(v.protocol ?? 'tcp')}`;
  }
  return '';
};

const envFileIndexer: Indexer = (v, p) => {
  if (typeof v === 'string') return v;
  if (isDict(v)) {
    if (typeof v.path !== 'string') throw new ComposeError(`environment path attribute ${pathString(p)} is missing`);
    return v.path;
  }
  return '';
};

function typeName(v: unknown): string {
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (isDict(v)) return 'map[string]interface {}';
  return typeof v;
}

const UNIQUE: (readonly [Pattern, Indexer])[] = [
  [pattern('networks.*.labels'), keyValueIndexer],
  [pattern('networks.*.ipam.options'), keyValueIndexer],
  [s('annotations'), keyValueIndexer],
  [s('build.args'), keyValueIndexer],
  [s('build.additional_contexts'), keyValueIndexer],
  [s('build.platform'), keyValueIndexer],
  [s('build.tags'), keyValueIndexer],
  [s('build.labels'), keyValueIndexer],
  [s('cap_add'), keyValueIndexer],
  [s('cap_drop'), keyValueIndexer],
  [s('configs'), mountIndexer('')],
  [s('deploy.labels'), keyValueIndexer],
  [s('dns'), keyValueIndexer],
  [s('dns_opt'), keyValueIndexer],
  [s('dns_search'), keyValueIndexer],
  [s('environment'), keyValueIndexer],
  [s('env_file'), envFileIndexer],
  [s('expose'), exposeIndexer],
  [s('labels'), keyValueIndexer],
  [s('links'), keyValueIndexer],
  [s('networks.*.aliases'), keyValueIndexer],
  [s('networks.*.link_local_ips'), keyValueIndexer],
  [s('ports'), portIndexer],
  [s('profiles'), keyValueIndexer],
  [s('secrets'), mountIndexer('/run/secrets')],
  [s('sysctls'), keyValueIndexer],
  [s('tmpfs'), keyValueIndexer],
  [s('volumes'), volumeIndexer],
  [s('devices'), deviceIndexer],
];

/** Drops from `doc` what the paths of `!reset` / `!override` tags name (mapping keys only, as compose-go). */
export function applyResets(doc: Dict, resets: readonly (readonly string[])[]): void {
  for (const path of resets) {
    let node: unknown = doc;
    for (let i = 0; i < path.length - 1 && isDict(node); i++) node = node[path[i]!];
    const last = path[path.length - 1];
    if (isDict(node) && last !== undefined) delete node[last];
  }
}
