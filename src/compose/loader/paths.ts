// Relative paths made absolute against the directory they were written for (the project directory,
// an included project's directory, an extended file's directory), as compose-go's paths package does:
// build contexts (not URLs), env_file, extends.file, bind mount sources, secret/config files,
// develop.watch paths, include paths, a local volume's bind device; "~" is the user's home.
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ComposeError } from '../types.js';
import { isDict, lookup, pattern, type Dict, type Path, type Pattern } from './tree.js';

export function resolveRelativePaths(doc: Dict, base: string, home: string = os.homedir()): void {
  const r = new PathResolver(base, home);
  r.walk(doc, []);
}

export function expandUser(p: string, home: string): string {
  return p.startsWith('~') ? join(home, p.slice(1)) : p;
}

/** Go's filepath.Join: joined and cleaned (no trailing separator). */
function join(base: string, p: string): string {
  const out = path.join(base, p);
  return out.length > 1 && out.endsWith('/') ? out.slice(0, -1) : out;
}

const REMOTE_CONTEXT = ['https://', 'http://', 'git://', 'ssh://', 'github.com/', 'git@'];

type Rule = (r: PathResolver, value: unknown) => unknown;

const isRemoteContext = (v: string): boolean => v.includes('://') || v.startsWith('service:') || REMOTE_CONTEXT.some((p) => v.startsWith(p));

// One table for the module (built once: resolution runs on every load).
const RULES: (readonly [Pattern, Rule])[] = [
  [pattern('services.*.build.context'), (r, v) => (typeof v !== 'string' || isRemoteContext(v) ? v : r.abs(v))],
  [pattern('services.*.build.additional_contexts.*'), (r, v) => (typeof v !== 'string' || isRemoteContext(v) ? v : r.abs(v))],
  [pattern('services.*.build.ssh.*'), (r, v) => r.maybeUnix(v)],
  [pattern('services.*.env_file.*.path'), (r, v) => r.abs(v)],
  [pattern('services.*.label_file.*'), (r, v) => r.abs(v)],
  [pattern('services.*.extends.file'), (r, v) => r.abs(v)],
  [pattern('services.*.develop.watch.*.path'), (r, v) => r.symlink(r.abs(v))],
  [pattern('services.*.volumes.*'), (r, v) => r.volumeMount(v)],
  [pattern('configs.*.file'), (r, v) => r.maybeUnix(v)],
  [pattern('secrets.*.file'), (r, v) => r.maybeUnix(v)],
  [pattern('include.*.path'), (r, v) => r.abs(v)],
  [pattern('include.*.project_directory'), (r, v) => r.abs(v)],
  [pattern('include.*.env_file'), (r, v) => r.abs(v)],
  [pattern('volumes.*'), (r, v) => r.volumeDriverOpts(v)],
];

class PathResolver {
  constructor(
    private readonly base: string,
    private readonly home: string,
  ) {}

  walk(value: unknown, p: Path): unknown {
    const rule = lookup(RULES, p);
    if (rule) return rule(this, value);
    if (isDict(value)) for (const k of Object.keys(value)) value[k] = this.walk(value[k], [...p, k]);
    else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) value[i] = this.walk(value[i], [...p, '[]']);
    return value;
  }

  abs(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((e) => this.abs(e));
    if (typeof v !== 'string') return v;
    const p = expandUser(v, this.home);
    if (path.isAbsolute(p) || p === '') return p;
    return join(this.base, p);
  }

  maybeUnix(v: unknown): unknown {
    if (typeof v !== 'string') return v;
    const p = expandUser(v, this.home);
    if (path.posix.isAbsolute(p) || /^[a-zA-Z]:[\\/]/.test(p) || p.startsWith('\\\\')) return p;
    return join(this.base, p);
  }

  symlink(v: unknown): unknown {
    if (typeof v !== 'string') return v;
    try {
      return realpathSync(v);
    } catch {
      return v;
    }
  }

  volumeMount(v: unknown): unknown {
    if (!isDict(v) || v.type !== 'bind') return v;
    if (!('source' in v)) throw new ComposeError('invalid mount config for type "bind": field Source must not be empty');
    v.source = this.maybeUnix(v.source);
    return v;
  }

  volumeDriverOpts(v: unknown): unknown {
    if (!isDict(v) || v.driver !== 'local' || !isDict(v.driver_opts)) return v;
    const opts = v.driver_opts;
    if (opts.o === 'bind' && 'device' in opts) opts.device = this.maybeUnix(opts.device);
    return v;
  }
}
