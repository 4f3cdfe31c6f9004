// The canonical ("long") syntax, as compose-go's transform package makes it after each file is merged:
// short forms become mappings (ports, volumes, build, depends_on, env_file, extends, secrets/configs
// references, devices, networks lists...), and the defaults the specification implies are filled in
// once all files are merged (ports' protocol and mode, secrets' target, build context, bind
// create_host_path).
import path from 'node:path';
import { ComposeError } from '../types.js';
import { parsePort } from './ports.js';
import { parseVolume } from './volumes.js';
import { goString, isDict, lookup, pattern, pathString, type Dict, type Path, type Pattern } from './tree.js';

type Transform = (data: unknown, path: Path, lenient: boolean) => unknown;

/** `lenient`: short syntax that does not parse is left as written (--no-interpolate keeps ${VAR}). */
export function canonical(doc: Dict, lenient: boolean): Dict {
  return transform(doc, [], lenient) as Dict;
}

function transform(data: unknown, p: Path, lenient: boolean): unknown {
  const rule = lookup(TRANSFORMS, p);
  if (rule) return rule(data, p, lenient);
  return recurse(data, p, lenient);
}

function recurse(data: unknown, p: Path, lenient: boolean): unknown {
  if (isDict(data)) {
    for (const k of Object.keys(data)) data[k] = transform(data[k], [...p, k], lenient);
  } else if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) data[i] = transform(data[i], [...p, '[]'], lenient);
  }
  return data;
}

const invalid = (p: Path, v: unknown, what: string): ComposeError => new ComposeError(`${pathString(p)}: invalid type ${goType(v)} for ${what}`);

function goType(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (isDict(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

const stringOrList: Transform = (d) => (typeof d === 'string' ? [d] : d);

const fileMount: Transform = (d, p) => {
  if (isDict(d)) return d;
  if (typeof d === 'string') return { source: d };
  throw new ComposeError(`${pathString(p)}: unsupported type ${goType(d)}`);
};

const stringOrX: Transform = (d) => (typeof d === 'string' ? d : goString(d));

const keyValue: Transform = (d, p, lenient) => {
  if (isDict(d)) return d;
  if (!Array.isArray(d)) throw new ComposeError(`${pathString(p)}: invalid type ${goType(d)}`);
  const out: Dict = {};
  for (const e of d) {
    const text = String(e);
    const eq = text.indexOf('=');
    if (eq < 0) {
      if (lenient) return d;
      throw new ComposeError(`${pathString(p)}: invalid value ${text}, expected key=value`);
    }
    out[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return out;
};

const dependsOn: Transform = (d, p) => {
  if (Array.isArray(d)) {
    const out: Dict = {};
    for (const name of d) out[String(name)] = { condition: 'service_started', required: true };
    return out;
  }
  if (!isDict(d)) throw invalid(p, d, 'depend_on');
  for (const [name, dep] of Object.entries(d)) {
    if (!isDict(dep)) throw new ComposeError(`${pathString(p)}.${name}: unsupported value ${goString(dep)}`);
    dep.condition ??= 'service_started';
    dep.required ??= true;
  }
  return d;
};

const envFileEntry = (e: unknown): unknown => {
  if (typeof e === 'string') return { path: e, required: true };
  if (isDict(e)) {
    e.required ??= true;
    return e;
  }
  return null;
};
const envFile: Transform = (d, p) => {
  if (typeof d === 'string') return [envFileEntry(d)];
  if (Array.isArray(d)) return d.map(envFileEntry);
  throw invalid(p, d, 'env_file');
};

const extendsRef: Transform = (d, p, lenient) => {
  if (typeof d === 'string') return { service: d };
  if (isDict(d)) return recurse(d, p, lenient);
  throw invalid(p, d, 'extends');
};

const gpus: Transform = (d, p, lenient) => {
  if (Array.isArray(d)) return recurse(d, p, lenient);
  if (typeof d === 'string') return [{ count: 'all' }];
  throw invalid(p, d, 'gpus');
};

const sliceToMap: Transform = (d) => {
  if (!Array.isArray(d)) return d;
  const out: Dict = {};
  for (const name of d) out[String(name)] = null;
  return out;
};

const volumeMount: Transform = (d, p, lenient) => {
  if (isDict(d)) return d;
  if (typeof d !== 'string') throw invalid(p, d, 'service volume mount');
  try {
    const v = parseVolume(d);
    if (v.target) v.target = path.posix.normalize(v.target).replace(/(.)\/$/, '$1');
    return v;
  } catch (err) {
    if (lenient) return d;
    throw err;
  }
};

const deviceMapping: Transform = (d, p, lenient) => {
  if (isDict(d)) return d;
  if (typeof d !== 'string') throw invalid(p, d, 'service volume mount');
  const arr = d.split(':');
  if (arr.length > 3 && !lenient) throw new ComposeError(`confusing device mapping, please use long syntax: ${d}`);
  const source = arr[0] ?? '';
  const target = (arr.length >= 2 && arr.length <= 3 ? arr[1] : '') || source;
  const permissions = arr.length === 3 ? arr[2]! : 'rwm';
  return { source, target, permissions };
};

const ports: Transform = (d, p, lenient) => {
  if (!Array.isArray(d)) throw invalid(p, d, 'port');
  const out: unknown[] = [];
  for (const entry of d) {
    if (typeof entry === 'number' || typeof entry === 'string') {
      try {
        out.push(...parsePort(String(entry)));
      } catch (err) {
        if (lenient && typeof entry === 'string') return d;
        throw err;
      }
    } else if (isDict(entry)) out.push(entry);
    else throw invalid(p, entry, 'port');
  }
  return out;
};

const build: Transform = (d, p, lenient) => {
  if (isDict(d)) return recurse(d, p, lenient);
  if (typeof d === 'string') return { context: d };
  throw invalid(p, d, 'build');
};

const ssh: Transform = (d, p) => {
  if (isDict(d)) return d;
  if (!Array.isArray(d)) throw invalid(p, d, 'ssh');
  const out: Dict = {};
  for (const e of d) {
    if (typeof e !== 'string') throw new ComposeError(`invalid ssh key type ${goType(e)}`);
    const eq = e.indexOf('=');
    if (eq < 0) {
      if (e !== 'default') throw new ComposeError(`invalid ssh key ${JSON.stringify(e)}`);
      out[e] = null;
    } else out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
};

const ulimits: Transform = (d, p) => {
  if (isDict(d) || typeof d === 'number') return d;
  throw invalid(p, d, 'external');
};

// external: {name: x} is the deprecated spelling of `name: x` + `external: true`.
function maybeExternal(warn: (m: string) => void): Transform {
  return (d, p, lenient) => {
    if (d === null || d === undefined) return null;
    if (!isDict(d)) return d;
    recurse(d, p, lenient);
    const ext = d.external;
    if (isDict(ext)) {
      d.external = true;
      if ('name' in ext) {
        warn(`${pathString(p)}: external.name is deprecated. Please set name and external: true`);
        if ('name' in d && d.name !== ext.name) throw new ComposeError(`${pathString(p)}: name and external.name conflict; only use name`);
        d.name ??= ext.name;
      }
    }
    return d;
  };
}

const include: Transform = (d, p) => {
  if (isDict(d)) return d;
  if (typeof d === 'string') return { path: d };
  throw invalid(p, d, 'external');
};

let warnExternal: (m: string) => void = () => {};
/** Where canonical() reports deprecations (the loader's warn). */
export function setCanonicalWarn(warn: (m: string) => void): void {
  warnExternal = warn;
}
const external = maybeExternal((m) => warnExternal(m));

const s = (t: string): Pattern => pattern(`services.*.${t}`);
const TRANSFORMS: (readonly [Pattern, Transform])[] = [
  [s('build.secrets.*'), fileMount],
  [s('build.provenance'), stringOrX],
  [s('build.sbom'), stringOrX],
  [s('build.additional_contexts'), keyValue],
  [s('build.ssh'), ssh],
  [s('build.ulimits.*'), ulimits],
  [s('build'), build],
  [s('depends_on'), dependsOn],
  [s('env_file'), envFile],
  [s('label_file'), stringOrList],
  [s('extends'), extendsRef],
  [s('gpus'), gpus],
  [s('networks'), sliceToMap],
  [s('models'), sliceToMap],
  [s('volumes.*'), volumeMount],
  [s('dns'), stringOrList],
  [s('devices.*'), deviceMapping],
  [s('secrets.*'), fileMount],
  [s('configs.*'), fileMount],
  [s('ports'), ports],
  [s('ulimits.*'), ulimits],
  [s('develop.watch.*.ignore'), stringOrList],
  [s('develop.watch.*.include'), stringOrList],
  [pattern('volumes.*'), external],
  [pattern('networks.*'), external],
  [pattern('secrets.*'), external],
  [pattern('configs.*'), external],
  [pattern('include.*'), include],
];

// ---- defaults, once every file is merged ----

type Default = (data: unknown) => unknown;

export function setDefaults(doc: Dict): Dict {
  return withDefaults(doc, []) as Dict;
}

function withDefaults(data: unknown, p: Path): unknown {
  const rule = lookup(DEFAULTS, p);
  if (rule) return rule(data);
  if (isDict(data)) for (const k of Object.keys(data)) data[k] = withDefaults(data[k], [...p, k]);
  else if (Array.isArray(data)) for (let i = 0; i < data.length; i++) data[i] = withDefaults(data[i], [...p, '[]']);
  return data;
}

const deviceRequest: Default = (d) => {
  if (isDict(d) && !('count' in d) && !('device_ids' in d)) d.count = 'all';
  return d;
};

const DEFAULTS: (readonly [Pattern, Default])[] = [
  [
    s('build'),
    (d) => {
      if (isDict(d)) d.context ??= '.';
      return d;
    },
  ],
  [
    s('secrets.*'),
    (d) => {
      if (isDict(d) && !('target' in d)) d.target = `/run/secrets/${goString(d.source)}`;
      return d;
    },
  ],
  [
    s('ports.*'),
    (d) => {
      if (isDict(d)) {
        d.protocol ??= 'tcp';
        d.mode ??= 'ingress';
      }
      return d;
    },
  ],
  [s('deploy.resources.reservations.devices.*'), deviceRequest],
  [s('gpus.*'), deviceRequest],
  [
    s('volumes.*.bind'),
    (d) => {
      if (isDict(d) && !('create_host_path' in d)) d.create_host_path = true;
      return d;
    },
  ],
];

/** compose-go drops an empty `dns` entry (an unset variable) rather than giving the engine "". */
export function omitEmpty(doc: Dict): Dict {
  const services = doc.services;
  if (!isDict(services)) return doc;
  for (const svc of Object.values(services)) {
    if (!isDict(svc)) continue;
    if (svc.dns === null || svc.dns === '') delete svc.dns;
    else if (Array.isArray(svc.dns)) svc.dns = svc.dns.filter((e) => e !== null && e !== '');
  }
  return doc;
}
