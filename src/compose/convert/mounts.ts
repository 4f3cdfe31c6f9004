// A service's filesystem: `volumes` (volume, bind — a single file too —, tmpfs) as HostConfig.Mounts,
// `tmpfs` as HostConfig.Tmpfs, `volumes_from` with `service:` references resolved. Compose v2 sends
// simple binds as Binds strings and the rest as Mounts; berth sends every one as a Mount where the
// engine can create a missing bind source from a Mount (BindOptions.CreateMountpoint, API 1.42): the
// same engine behaviour, one shape to compare in recreate.ts, and `create_host_path` said explicitly.
// An older engine gets such binds as Binds strings, the one form that creates the source there.
import path from 'node:path';
import type { HostConfig, Mount } from '../../api/types.js';
import type { ServiceVolume } from '../types.js';
import { apiAtLeast, compact, invalid, serviceContainerRef, unsupported, type ContainerOptions, type ServiceRef } from './common.js';

export function serviceMounts(ref: ServiceRef, opts: ContainerOptions): { mounts: Mount[]; binds: string[] } {
  const mounts: Mount[] = [];
  const binds: string[] = [];
  (ref.service.volumes ?? []).forEach((v, i) => {
    const m = volumeMount(ref, v, `volumes[${i}]`);
    if (m.BindOptions?.CreateMountpoint && !apiAtLeast(opts, '1.42')) binds.push(bindString(m));
    else mounts.push(m);
  });
  return { mounts, binds };
}

/** "source:target:rw[,propagation]" — the Binds form of a bind Mount. */
function bindString(m: Mount): string {
  return `${m.Source}:${m.Target}:${[m.ReadOnly ? 'ro' : 'rw', m.BindOptions?.Propagation].filter(Boolean).join(',')}`;
}

function volumeMount(ref: ServiceRef, v: ServiceVolume, key: string): Mount {
  if (v.type !== 'volume' && v.type !== 'bind' && v.type !== 'tmpfs') throw unsupported(ref.name, `volumes of type ${v.type}`);
  if (!v.target?.startsWith('/')) throw invalid(ref.name, key, `the target ${JSON.stringify(v.target ?? '')} must be an absolute path`);
  if (v.bind?.selinux) throw unsupported(ref.name, `${key}.bind.selinux`, 'berth has no SELinux labels to apply');
  if (v.volume?.subpath) throw unsupported(ref.name, `${key}.volume.subpath`);
  const base = { Target: v.target, ReadOnly: v.read_only || undefined, Consistency: v.consistency };
  switch (v.type) {
    case 'bind': {
      if (!v.source) throw invalid(ref.name, key, 'a bind mount needs a source');
      const bind = compact({ Propagation: v.bind?.propagation, CreateMountpoint: v.bind?.create_host_path || undefined });
      return compact({ Type: 'bind', Source: path.resolve(ref.project.workingDir, v.source), ...base, BindOptions: Object.keys(bind).length ? bind : undefined });
    }
    case 'volume': {
      // A declared volume by its engine name (`<project>_<key>`, or `name:`); no source: anonymous.
      const source = v.source ? (ref.project.volumes[v.source]?.name ?? v.source) : undefined;
      return compact({ Type: 'volume', Source: source, ...base, VolumeOptions: v.volume?.nocopy ? { NoCopy: true } : undefined });
    }
    case 'tmpfs': {
      const tmpfs = compact({ SizeBytes: v.tmpfs?.size || undefined, Mode: v.tmpfs?.mode || undefined });
      return compact({ Type: 'tmpfs', ...base, TmpfsOptions: Object.keys(tmpfs).length ? tmpfs : undefined });
    }
  }
}

/** `tmpfs: [/run, /tmp:size=64m]` → HostConfig.Tmpfs { "/run": "", "/tmp": "size=64m" }. */
export function tmpfsMap(ref: ServiceRef): HostConfig['Tmpfs'] {
  const list = ref.service.tmpfs ?? [];
  if (!list.length) return undefined;
  return Object.fromEntries(list.map((t) => {
    const colon = t.indexOf(':');
    return colon < 0 ? [t, ''] : [t.slice(0, colon), t.slice(colon + 1)];
  }));
}

/**
 * `volumes_from`: `service[:ro|:rw]` → that service's container, `container:name[:ro|:rw]` → name;
 * the access mode is kept (Compose drops it when it resolves the reference).
 */
export function volumesFrom(ref: ServiceRef, opts: ContainerOptions): string[] | undefined {
  const list = ref.service.volumes_from ?? [];
  if (!list.length) return undefined;
  return list.map((spec) => {
    const parts = spec.split(':');
    if (parts[0] === 'container') return parts.slice(1).join(':');
    const [service = '', mode] = parts;
    const container = serviceContainerRef(ref, opts, service, 'volumes_from');
    return mode ? `${container}:${mode}` : container;
  });
}
