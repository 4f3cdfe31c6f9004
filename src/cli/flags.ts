// A Docker/pflag-style flag parser driven by a per-command flag table.
// Why our own: the docker CLI's semantics come from spf13/pflag — interspersed flags for most commands
// but parsing that stops at the first positional for run/create/exec (so `run busybox ls -l` leaves
// `-l` to the container), combined shorthands with an attached value (`-it`, `-p8080:80`, `-e=X`),
// `--bool=false`, and pflag's exact error texts. commander/yargs differ on each of these points.
import { parseDuration, ramInBytes } from '../lib/units.js';

export type FlagType = 'bool' | 'string' | 'stringArray' | 'int' | 'float' | 'duration' | 'size' | 'swapSize';
export type FlagValue = boolean | string | string[] | number;

export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  default?: FlagValue;
  description: string;
  /** Type name shown in --help ("list", "string", "bytes"...); derived from `type` when absent. */
  valueName?: string;
  hidden?: boolean;
}

/** A usage error: printed with a "See '... --help'." hint, exit status 125 as docker's flag errors. */
export class FlagError extends Error {
  readonly exitCode = 125;
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

export class ParsedFlags {
  readonly values = new Map<string, FlagValue>();
  readonly changed = new Set<string>();
  args: string[] = [];
  help = false;

  bool(name: string): boolean {
    return this.values.get(name) === true;
  }
  str(name: string): string {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : '';
  }
  list(name: string): string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? v : [];
  }
  num(name: string): number {
    const v = this.values.get(name);
    return typeof v === 'number' ? v : 0;
  }
  has(name: string): boolean {
    return this.changed.has(name);
  }
}

export interface ParseOptions {
  /** Stop at the first positional argument (run, create, exec): the rest belongs to the container. */
  stopAtFirstArg?: boolean;
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function flagLabel(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

function convert(spec: FlagSpec, raw: string): FlagValue {
  try {
    return convertValue(spec.type, raw);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FlagError(`invalid argument "${raw}" for "${flagLabel(spec)}" flag: ${reason}`);
  }
}

function convertValue(type: FlagType, raw: string): FlagValue {
  switch (type) {
    case 'bool':
      if (GO_TRUE.has(raw)) return true;
      if (GO_FALSE.has(raw)) return false;
      throw new Error(`strconv.ParseBool: parsing "${raw}": invalid syntax`);
    case 'int':
      if (!/^[+-]?\d+$/.test(raw)) throw new Error(`strconv.ParseInt: parsing "${raw}": invalid syntax`);
      return Number(raw);
    case 'float':
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw))
        throw new Error(`strconv.ParseFloat: parsing "${raw}": invalid syntax`);
      return Number(raw);
    case 'duration':
      return parseDuration(raw);
    case 'size':
      return sizeValue(raw);
    case 'swapSize':
      return raw === '-1' ? -1 : sizeValue(raw);
    default:
      return raw;
  }
}

function sizeValue(raw: string): number {
  try {
    return ramInBytes(raw);
  } catch {
    throw new Error(`invalid size: '${raw}'`);
  }
}

function initialValue(spec: FlagSpec): FlagValue {
  if (spec.default !== undefined) return Array.isArray(spec.default) ? [...spec.default] : spec.default;
  switch (spec.type) {
    case 'bool':
      return false;
    case 'stringArray':
      return [];
    case 'string':
      return '';
    default:
      return 0;
  }
}

class Parser {
  private readonly byName = new Map<string, FlagSpec>();
  private readonly byShort = new Map<string, FlagSpec>();
  readonly out = new ParsedFlags();

  constructor(specs: FlagSpec[]) {
    for (const spec of specs) {
      this.byName.set(spec.name, spec);
      if (spec.short) this.byShort.set(spec.short, spec);
      this.out.values.set(spec.name, initialValue(spec));
    }
  }

  set(spec: FlagSpec, raw: string): void {
    const value = convert(spec, raw);
    if (spec.type === 'stringArray') {
      // The first explicit value replaces the default, as pflag's stringArray does.
      const prev = this.out.changed.has(spec.name) ? this.out.list(spec.name) : [];
      this.out.values.set(spec.name, [...prev, raw]);
    } else {
      this.out.values.set(spec.name, value);
    }
    this.out.changed.add(spec.name);
  }

  /** `--name[=value]`; returns how many extra argv entries were consumed. */
  long(arg: string, next: string | undefined): number {
    const body = arg.slice(2);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'help') {
      this.out.help = true;
      return 0;
    }
    const spec = this.byName.get(name);
    if (!spec) throw new FlagError(`unknown flag: --${name}`);
    if (eq >= 0) {
      this.set(spec, body.slice(eq + 1));
      return 0;
    }
    if (spec.type === 'bool') {
      this.set(spec, 'true');
      return 0;
    }
    if (next === undefined) throw new FlagError(`flag needs an argument: --${name}`);
    this.set(spec, next);
    return 1;
  }

  /** `-abc`, `-p8080:80`, `-e=X`, `-e X`; returns how many extra argv entries were consumed. */
  shorts(arg: string, next: string | undefined): number {
    const group = arg.slice(1);
    for (let i = 0; i < group.length; i++) {
      const c = group[i] ?? '';
      if (c === 'h' && !this.byShort.has('h')) {
        this.out.help = true;
        continue;
      }
      const spec = this.byShort.get(c);
      if (!spec) throw new FlagError(`unknown shorthand flag: '${c}' in -${group}`);
      const rest = group.slice(i + 1);
      if (spec.type === 'bool') {
        if (rest.startsWith('=')) {
          this.set(spec, rest.slice(1));
          return 0;
        }
        this.set(spec, 'true');
        continue;
      }
      if (rest.length) {
        this.set(spec, rest.startsWith('=') ? rest.slice(1) : rest);
        return 0;
      }
      if (next === undefined) throw new FlagError(`flag needs an argument: '${c}' in -${group}`);
      this.set(spec, next);
      return 1;
    }
    return 0;
  }
}

/** Parse argv against a flag table. Throws FlagError with pflag's wording. */
export function parseFlags(specs: FlagSpec[], argv: string[], opts: ParseOptions = {}): ParsedFlags {
  const p = new Parser(specs);
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) i += p.long(arg, argv[i + 1]);
    else if (arg.startsWith('-') && arg.length > 1) i += p.shorts(arg, argv[i + 1]);
    else if (opts.stopAtFirstArg) {
      args.push(...argv.slice(i));
      break;
    } else args.push(arg);
  }
  p.out.args = args;
  return p.out;
}

function typeName(spec: FlagSpec): string {
  if (spec.valueName !== undefined) return spec.valueName;
  const names: Record<FlagType, string> = {
    bool: '',
    string: 'string',
    stringArray: 'list',
    int: 'int',
    float: 'decimal',
    duration: 'duration',
    size: 'bytes',
    swapSize: 'bytes',
  };
  return names[spec.type];
}

function defaultNote(spec: FlagSpec): string {
  const d = spec.default;
  if (d === undefined || d === false || d === '' || d === 0 || (Array.isArray(d) && d.length === 0)) return '';
  if (typeof d === 'string') return ` (default "${d}")`;
  if (Array.isArray(d)) return ` (default [${d.join(',')}])`;
  return ` (default ${String(d)})`;
}

/** The Options block of --help, laid out like cobra's. */
export function formatFlagHelp(specs: FlagSpec[]): string {
  const rows = specs
    .filter((s) => !s.hidden)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => {
      const left = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${typeName(s) ? ' ' + typeName(s) : ''}`;
      return [left, `${s.description}${defaultNote(s)}`] as const;
    });
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}   ${r}`).join('\n');
}
