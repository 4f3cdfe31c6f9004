// Relative paths made absolute against the directory they were written for (the project directory,
// an included project's directory, an extended file's directory), as compose-go's paths package does:
// build contexts (not URLs), env_file, extends.file, bind mount sources, secret/config files,
// develop.watch paths, include paths, a local volume's bind device; "~" is the user's home.
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ComposeError } from '../types.js';
import { isDict, lookup, pattern, type Dict, type Path, type Pattern } from './tree.js';

type Resolver = (value: unknown) => unknown;

export function resolveRelativePaths(doc: Dict, base: string, home: string = os.homedir()): void {
  const r = new PathResolver(base, home);
  r.walk(doc, []);
}

export function expandUser(p: string, home: string): string {
  return p.startsWith('~') ? path.join(home, p.slice(1)) : p;
}

const REMOTE_CONTEXT = ['https://', 'http://', 'git://', 'ssh://', 'github.com/', 'git@'];

class PathResolver {
  private readonly rules: (readonly [Pattern, Resolver])[];

  constructor(
    private readonly base: string,
    private readonly home: string,
  ) {
    const abs: Resolver = (v) => this.abs(v);
    const unix: Resolver = (v) => this.maybeUnix(v);
    const context: Resolver = (v) => {
      if (typeof v !== 'string' || v.includes('://') || v.startsWith('service:') || REMOTE_CONTEXT.some((p) => v.startsWith(p))) return v;
      return this.abs(v);
    };
    this.rules = [
      [pattern('services.*.build.context'), context],
      [pattern('services.*.build.additional_contexts.*'), context],
      [pattern('services.*.build.ssh.*'), unix],
      [pattern('services.*.env_file.*.path'), abs],
      [pattern('services.*.label_file.*'), abs],
      [pattern('services.*.extends.file'), abs],
      [pattern('services.*.develop.watch.*.path'), (v) => this.symlink(this.abs(v))],
      [pattern('services.*.volumes.*'), (v) => this.volumeMount(v)],
      [pattern('configs.*.file'), unix],
      [pattern('secrets.*.file'), unix],
      [pattern('include.*.path'), abs],
      [pattern('include.*.project_directory'), abs],
      [pattern('include.*.env_file'), abs],
      [pattern('volumes.*'), (v) => this.volumeDriverOpts(v)],
    ];
  }

  walk(value: unknown, p: Path): unknown {
    const rule = lookup(this.rules, p);
    if (rule) return rule(value);
    if (isDict(value)) for (const k of Object.keys(value)) value[k] = this.walk(value[k], [...p, k]);
    else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) value[i] = this.walk(value[i], [...p, '[]']);
    return value;
  }

  private abs(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((e) => this.abs(e));
    if (typeof v !== 'string') return v;
    const p = expandUser(v, this.home);
    if (path.isAbsolute(p) || p === '') return p;
    return path.join(this.base, p);
  }

  private maybeUnix(v: unknown): unknown {
    if (typeof v !== 'string') return v;
    const p = expandUser(v, this.home);
    if (path.posix.isAbsolute(p) || /^[a-zA-Z]:[\\/]/.test(p) || p.startsWith('\\\\')) return p;
    return path.join(this.base, p);
  }

  private symlink(v: unknown): unknown {
    if (typeof v !== 'string') return v;
    try {
      return realpathSync(v);
    } catch {
      return v;
    }
  }

  private volumeMount(v: unknown): unknown {
    if (!isDict(v) || v.type !== 'bind') return v;
    if (!('source' in v)) throw new ComposeError('invalid mount config for type "bind": field Source must not be empty');
    v.source = this.maybeUnix(v.source);
    return v;
  }

  private volumeDriverOpts(v: unknown): unknown {
    if (!isDict(v) || v.driver !== 'local' || !isDict(v.driver_opts)) return v;
    const opts = v.driver_opts;
    if (opts.o === 'bind' && 'device' in opts) opts.device = this.maybeUnix(opts.device);
    return v;
  }
}
