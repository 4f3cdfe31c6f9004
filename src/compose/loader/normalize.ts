// What compose-go's Normalize adds to the merged document: the implicit `default` network (attached to
// every service that names no network and has no network_mode; declared only when some service uses
// it), build defaults (context ".", dockerfile "Dockerfile"), build args and environment entries
// without a value taken from the environment, the dependencies that links, volumes_from and
// `service:` namespaces imply, cleaned mount targets, and top-level resource names
// (`<project>_<key>` unless `name:` is given or the resource is external).
import path from 'node:path';
import type { Environment } from './environment.js';
import { isDict, type Dict } from './tree.js';

export function normalize(dict: Dict, env: Environment): Dict {
  normalizeNetworks(dict);
  const lookup = (k: string): string | undefined => (Object.hasOwn(env, k) ? env[k] : undefined);
  if (isDict(dict.services)) {
    for (const svc of Object.values(dict.services)) if (isDict(svc)) normalizeService(svc, lookup);
  }
  setNameFromKey(dict);
  return dict;
}

function normalizeService(service: Dict, lookup: (k: string) => string | undefined): void {
  if (service.pull_policy === 'if_not_present') service.pull_policy = 'missing';
  if (isDict(service.build)) {
    const build = service.build;
    if (build.context === null || build.context === undefined) build.context = '.';
    if ((build.dockerfile === null || build.dockerfile === undefined) && (build.dockerfile_inline === null || build.dockerfile_inline === undefined)) build.dockerfile = 'Dockerfile';
    if ('args' in build) build.args = resolve(build.args, lookup, false);
  }
  if ('environment' in service) service.environment = resolve(service.environment, lookup, true);

  const dependsOn: Dict = isDict(service.depends_on) ? service.depends_on : {};
  const implied = (name: string, restart: boolean): void => {
    if (!Object.hasOwn(dependsOn, name)) dependsOn[name] = { condition: 'service_started', restart, required: true };
  };
  if (Array.isArray(service.links)) {
    for (const link of service.links) {
      const parts = String(link).split(':');
      implied(parts.length === 2 ? parts[0]! : String(link), true);
    }
  }
  for (const ns of ['network_mode', 'ipc', 'pid', 'uts', 'cgroup']) {
    const ref = service[ns];
    if (typeof ref === 'string' && ref.startsWith('service:')) implied(ref.slice('service:'.length), true);
  }
  if (Array.isArray(service.volumes)) {
    for (const vol of service.volumes) {
      if (isDict(vol) && typeof vol.target === 'string') vol.target = cleanPath(vol.target);
    }
  }
  if (Array.isArray(service.volumes_from)) {
    for (const from of service.volumes_from) {
      const ref = String(from);
      if (!ref.startsWith('container:')) implied(ref.split(':')[0]!, false);
    }
  }
  if (Object.keys(dependsOn).length > 0) service.depends_on = dependsOn;
}

/** Go's path.Clean. */
function cleanPath(p: string): string {
  if (p === '') return '.';
  const out = path.posix.normalize(p);
  return out.length > 1 && out.endsWith('/') ? out.slice(0, -1) : out;
}

function normalizeNetworks(dict: Dict): void {
  const networks: Dict = isDict(dict.networks) ? dict.networks : {};
  let usesDefault = false;
  if (isDict(dict.services)) {
    for (const svc of Object.values(dict.services)) {
      if (!isDict(svc) || 'provider' in svc || 'network_mode' in svc) continue;
      const nets = svc.networks;
      if (!isDict(nets) || Object.keys(nets).length === 0) {
        svc.networks = { default: null };
        usesDefault = true;
      } else if ('default' in nets) usesDefault = true;
    }
  }
  if (!('default' in networks) && usesDefault) networks.default = null;
  if (Object.keys(networks).length > 0) dict.networks = networks;
}

/** Entries without a value ("KEY" or KEY: null) take it from the environment, else stay (keepEmpty) or go. */
function resolve(value: unknown, lookup: (k: string) => string | undefined, keepEmpty: boolean): unknown {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const e of value) {
      if (typeof e !== 'string') continue;
      if (e.includes('=')) out.push(e);
      else {
        const v = lookup(e);
        if (v !== undefined) out.push(`${e}=${v}`);
        else if (keepEmpty) out.push(e);
      }
    }
    return out;
  }
  if (isDict(value)) {
    const out: Dict = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== null && v !== undefined) out[k] = v;
      else {
        const found = lookup(k);
        if (found !== undefined) out[k] = found;
        else if (keepEmpty) out[k] = null;
      }
    }
    return out;
  }
  return value;
}

function setNameFromKey(dict: Dict): void {
  for (const kind of ['networks', 'volumes', 'configs', 'secrets']) {
    const top = dict[kind];
    if (!isDict(top)) continue;
    for (const [key, r] of Object.entries(top)) {
      const resource: Dict = isDict(r) ? r : {};
      if (resource.name === null || resource.name === undefined) {
        resource.name = isTrue(resource.external) ? key : `${String(dict.name)}_${key}`;
      }
      top[key] = resource;
    }
  }
}

function isTrue(v: unknown): boolean {
  return ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(String(v));
}
