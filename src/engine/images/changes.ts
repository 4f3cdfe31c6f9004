// `docker import -c` / `commit -c`: Dockerfile instructions applied to an image config.
import type { ImageRuntimeConfig } from '../../api/types.js';
import { InvalidParameter } from '../../lib/errors.js';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

/** JSON form (`["a","b"]`) or shell form (→ ["/bin/sh","-c", text]). */
function execForm(text: string): string[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    } catch {
      // not JSON: Docker falls back to the shell form
    }
  }
  return ['/bin/sh', '-c', t];
}

function unquote(s: string): string {
  if (s.length >= 2 && ((s[0] === '"' && s.endsWith('"')) || (s[0] === "'" && s.endsWith("'")))) return s.slice(1, -1).replace(/\\(.)/g, '$1');
  return s.replace(/\\(.)/g, '$1');
}

/** `k=v k2="v 2"` pairs, or the legacy `k v` form. */
function keyValues(text: string, instr: string): [string, string][] {
  const t = text.trim();
  const firstWord = /^\S+/.exec(t)?.[0] ?? '';
  if (!firstWord.includes('=')) {
    const m = /^(\S+)\s+(.*)$/s.exec(t);
    if (!m) throw new InvalidParameter(`${instr} requires at least one argument`);
    return [[m[1]!, m[2]!]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|(?:[^\s\\]|\\.)*)/g;
  for (const m of t.matchAll(re)) out.push([m[1]!, unquote(m[2]!)]);
  return out;
}

export function applyChanges(cfg: ImageRuntimeConfig, changes: string[]): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = { ...cfg };
  for (const change of changes) {
    const m = /^\s*(\S+)\s*(.*)$/s.exec(change);
    if (!m) continue;
    const instr = m[1]!.toUpperCase();
    const arg = m[2]!;
    if (!ALLOWED.has(instr)) throw new InvalidParameter(`${m[1]} is not a valid change command`);
    applyOne(out, instr, arg);
  }
  return out;
}

function applyOne(out: ImageRuntimeConfig, instr: string, arg: string): void {
  switch (instr) {
    case 'CMD':
      out.Cmd = execForm(arg);
      break;
    case 'ENTRYPOINT':
      out.Entrypoint = execForm(arg);
      break;
    case 'ENV': {
      const env = [...(out.Env ?? [])];
      for (const [k, v] of keyValues(arg, 'ENV')) {
        const i = env.findIndex((e) => e.split('=', 1)[0] === k);
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      out.Env = env;
      break;
    }
    case 'LABEL':
      out.Labels = { ...(out.Labels ?? {}), ...Object.fromEntries(keyValues(arg, 'LABEL')) };
      break;
    case 'EXPOSE':
      out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
      for (const p of arg.trim().split(/\s+/).filter(Boolean)) out.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
      break;
    case 'VOLUME': {
      const t = arg.trim();
      const list = t.startsWith('[') ? (JSON.parse(t) as string[]) : t.split(/\s+/);
      out.Volumes = { ...(out.Volumes ?? {}) };
      for (const v of list.filter(Boolean)) out.Volumes[v] = {};
      break;
    }
    case 'ONBUILD':
      out.OnBuild = [...(out.OnBuild ?? []), arg.trim()];
      break;
    case 'STOPSIGNAL':
      out.StopSignal = arg.trim();
      break;
    case 'USER':
      out.User = arg.trim();
      break;
    case 'WORKDIR':
      out.WorkingDir = arg.trim();
      break;
  }
}
