// Interpolation of a whole document: every string value (never a key) goes through substitute(), and
// values at the paths where the specification wants a number or a boolean are cast after substitution
// (`replicas: ${N}` becomes a number), as compose-go's interpolation does.
import { ComposeError } from '../types.js';
import { InvalidTemplateError, substitute, type Lookup, type SubstituteOptions } from './template.js';
import { isDict, LIST, lookup as findRule, pattern, pathString, type Dict, type Path, type Pattern } from './tree.js';

type Cast = (value: string, warn?: (message: string) => void) => unknown;

export interface InterpolateOptions extends SubstituteOptions {
  /** Where a YAML 1.1 boolean ("yes", "off") is reported (accepted, as Compose does). */
  warn?: (message: string) => void;
}

export function interpolate(doc: Dict, lookup: Lookup, opts: InterpolateOptions = {}): Dict {
  return walk(doc, [], lookup, opts) as Dict;
}

function walk(value: unknown, path: string[], lookup: Lookup, opts: InterpolateOptions): unknown {
  if (typeof value === 'string') {
    let out: string;
    try {
      out = substitute(value, lookup, opts);
    } catch (err) {
      throw pathError(path, err as Error);
    }
    const cast = findRule(CASTS, path);
    if (!cast) return out;
    try {
      return cast(out, opts.warn);
    } catch (err) {
      throw new ComposeError(`error while interpolating ${pathString(path)}: failed to cast to expected type: ${(err as Error).message}`);
    }
  }
  if (Array.isArray(value)) return value.map((e) => walk(e, [...path, LIST], lookup, opts));
  if (isDict(value)) {
    const out: Dict = {};
    for (const [k, e] of Object.entries(value)) out[k] = walk(e, [...path, k], lookup, opts);
    return out;
  }
  return value;
}

function pathError(path: Path, err: Error): ComposeError {
  if (err instanceof InvalidTemplateError) {
    return new ComposeError(`invalid interpolation format for ${pathString(path)}.\nYou may need to escape any $ with another $.\n${err.template}`);
  }
  return new ComposeError(`error while interpolating ${pathString(path)}: ${err.message}`);
}

const toInt: Cast = (v) => {
  if (!/^[+-]?\d+$/.test(v)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
};
const toInt64: Cast = (v) => {
  if (!/^[+-]?\d+$/.test(v)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
};
const toFloat: Cast = (v) => {
  const n = Number(v);
  if (v.trim() === '' || Number.isNaN(n)) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
  return n;
};

/** YAML 1.1 spellings are accepted with a warning in Compose; only true/false are YAML 1.2. */
export function toBoolean(v: string, warn?: (message: string) => void): boolean {
  switch (v.toLowerCase()) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'y':
    case 'yes':
    case 'on':
      warn?.(`${JSON.stringify(v)} for boolean is not supported by YAML 1.2, please use \`true\``);
      return true;
    case 'n':
    case 'no':
    case 'off':
      warn?.(`${JSON.stringify(v)} for boolean is not supported by YAML 1.2, please use \`false\``);
      return false;
    default:
      throw new Error(`invalid boolean: ${v}`);
  }
}

const svc = (p: string): Pattern => pattern(`services.*.${p}`);
const CASTS: (readonly [Pattern, Cast])[] = [
  [svc('cpu_count'), toInt64],
  [svc('cpu_percent'), toFloat],
  [svc('cpu_period'), toInt64],
  [svc('cpu_quota'), toInt64],
  [svc('cpu_rt_period'), toInt64],
  [svc('cpu_rt_runtime'), toInt64],
  [svc('cpus'), toFloat],
  [svc('cpu_shares'), toInt64],
  [svc('init'), toBoolean],
  [svc('depends_on.*.required'), toBoolean],
  [svc('depends_on.*.restart'), toBoolean],
  [svc('deploy.replicas'), toInt],
  [svc('deploy.update_config.parallelism'), toInt],
  [svc('deploy.update_config.max_failure_ratio'), toFloat],
  [svc('deploy.rollback_config.parallelism'), toInt],
  [svc('deploy.rollback_config.max_failure_ratio'), toFloat],
  [svc('deploy.restart_policy.max_attempts'), toInt],
  [svc('deploy.placement.max_replicas_per_node'), toInt],
  [svc('healthcheck.retries'), toInt],
  [svc('healthcheck.disable'), toBoolean],
  [svc('oom_kill_disable'), toBoolean],
  [svc('oom_score_adj'), toInt64],
  [svc('pids_limit'), toInt64],
  [svc('ports.[].target'), toInt],
  [svc('privileged'), toBoolean],
  [svc('read_only'), toBoolean],
  [svc('scale'), toInt],
  [svc('stdin_open'), toBoolean],
  [svc('tty'), toBoolean],
  [svc('ulimits.*'), toInt],
  [svc('ulimits.*.hard'), toInt],
  [svc('ulimits.*.soft'), toInt],
  [svc('volumes.[].read_only'), toBoolean],
  [svc('volumes.[].volume.nocopy'), toBoolean],
  [pattern('networks.*.external'), toBoolean],
  [pattern('networks.*.internal'), toBoolean],
  [pattern('networks.*.attachable'), toBoolean],
  [pattern('networks.*.enable_ipv4'), toBoolean],
  [pattern('networks.*.enable_ipv6'), toBoolean],
  [pattern('volumes.*.external'), toBoolean],
  [pattern('secrets.*.external'), toBoolean],
  [pattern('configs.*.external'), toBoolean],
];
