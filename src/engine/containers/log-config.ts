// Logging drivers' options: Docker's json-file and local drivers (and none), validated with dockerd's
// rules and wording before a container is created, and turned into what berth-shim needs at start.
//
// berth stores `local` with the json-file writer (Docker documents local's format as internal to the
// engine) under local's defaults — max-size 20m, max-file 5, compress true — in local's place,
// <container dir>/local-logs/container.log, and, as dockerd, does not show that path in inspect.
// json-file is rotated by default in berth (max-size 10m, max-file 3; DESIGN.md), overridable per
// daemon (berthd --log-opt) and per container (--log-opt).
import path from 'node:path';
import type { LogConfig } from '../../api/types.js';
import { InvalidParameter } from '../../lib/errors.js';
import { fromHumanSize } from '../../lib/units.js';

export type LogDriver = 'json-file' | 'local' | 'none';

/** berth's json-file defaults (Docker's: no rotation; berth differs on purpose, DESIGN.md). */
export const JSON_FILE_DEFAULTS: Readonly<Record<string, string>> = { 'max-size': '10m', 'max-file': '3' };
/** Docker's local driver defaults. */
export const LOCAL_DEFAULTS: Readonly<Record<string, string>> = { 'max-size': '20m', 'max-file': '5', compress: 'true' };

/** Options any driver accepts (dockerd checks them before the driver's own: log-opts mode, max-buffer-size). */
const GENERIC_OPTS = ['mode', 'max-buffer-size'];
const DRIVER_OPTS: Record<Exclude<LogDriver, 'none'>, string[]> = {
  'json-file': ['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'],
  local: ['max-file', 'max-size', 'compress'],
};

export interface ResolvedLog {
  maxSize: number;
  maxFile: number;
  compress: boolean;
}

export function logDriver(lc: LogConfig | undefined): LogDriver {
  return (lc?.Type || 'json-file') as LogDriver;
}

/** Where a container's log lives (json-file: <id>-json.log; local: local-logs/container.log); '' for none. */
export function logFile(containerDir: string, id: string, lc: LogConfig | undefined): string {
  switch (logDriver(lc)) {
    case 'none':
      return '';
    case 'local':
      return path.join(containerDir, 'local-logs', 'container.log');
    default:
      return path.join(containerDir, `${id}-json.log`);
  }
}

/** The LogConfig to record at create: the driver named, and (json-file) the daemon's --log-opt merged
 *  under the container's own, as dockerd merges its daemon-wide log-opts. Throws InvalidParameter. */
export function normalizeLogConfig(lc: LogConfig | undefined, daemonOpts: Record<string, string>): Required<LogConfig> {
  const type = lc?.Type || 'json-file';
  if (!['json-file', 'local', 'none'].includes(type)) throw new InvalidParameter(`logger: no log driver named '${type}' is registered`);
  const own = { ...(lc?.Config ?? {}) };
  const config = type === 'json-file' ? { ...daemonOpts, ...own } : own;
  resolveLogOptions(type as LogDriver, config);
  return { Type: type, Config: config };
}

/** The effective rotation settings of a driver with these options (defaults filled in); undefined for
 *  none. Throws InvalidParameter with dockerd's messages. */
export function resolveLogOptions(type: LogDriver, config: Record<string, string>): ResolvedLog | undefined {
  if (type === 'none') return undefined;
  for (const k of Object.keys(config)) {
    if (GENERIC_OPTS.includes(k) || DRIVER_OPTS[type].includes(k)) continue;
    throw new InvalidParameter(type === 'local' ? `unknown log opt '${k}' for log driver local` : `unknown log opt '${k}' for json-file log driver`);
  }
  if (config.mode !== undefined && !['', 'blocking', 'non-blocking'].includes(config.mode)) {
    throw new InvalidParameter(`logger: logging mode not supported: ${config.mode}`);
  }
  const opts = { ...(type === 'local' ? LOCAL_DEFAULTS : JSON_FILE_DEFAULTS), ...config };
  const maxSize = parseMaxSize(opts['max-size']!, type);
  const maxFile = parseMaxFile(opts['max-file']!, type);
  const compress = opts.compress === undefined ? false : parseCompress(opts.compress);
  if (type === 'local') {
    if (compress && maxFile <= 1) throw new InvalidParameter('compression cannot be enabled when max file count is 1');
  } else if (compress && (maxFile < 2 || maxSize <= 0)) {
    throw new InvalidParameter('compress cannot be true when max-file is less than 2 or max-size is not set');
  }
  return { maxSize, maxFile, compress };
}

function parseMaxSize(v: string, type: LogDriver): number {
  let n: number;
  try {
    n = fromHumanSize(v);
  } catch (e) {
    throw new InvalidParameter(`invalid value for max-size: ${v}: ${(e as Error).message}`);
  }
  if (type === 'local') {
    if (n < 0) throw new InvalidParameter('max size should be a positive number');
    return n; // 0: never rotated
  }
  if (n <= 0) throw new InvalidParameter('max-size must be a positive number');
  return n;
}

function parseMaxFile(v: string, type: LogDriver): number {
  if (!/^[+-]?\d+$/.test(v)) throw new InvalidParameter(`invalid value for max-file: ${v}: strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (type === 'local' && n < 0) throw new InvalidParameter('max file count cannot be less than 0');
  if (n < 1) throw new InvalidParameter('max-file cannot be less than 1');
  return n;
}

/** Go's strconv.ParseBool, with dockerd's wording around its error. */
function parseCompress(v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new InvalidParameter(`error reading compress log option: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}
