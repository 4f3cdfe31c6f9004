// -f/--filter key=value pairs → the Engine API's filters JSON ({"key":{"value":true}}).
import { StatusError } from './command.js';

export function filtersJSON(pairs: string[]): string | undefined {
  if (!pairs.length) return undefined;
  const out: Record<string, Record<string, boolean>> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new StatusError(`invalid argument "${pair}" for "-f, --filter" flag: bad format of filter (expected name=value)`, 125);
    const key = pair.slice(0, eq).trim().toLowerCase();
    (out[key] ??= {})[pair.slice(eq + 1).trim()] = true;
  }
  return JSON.stringify(out);
}

/** key=value list flags (--label, -o) → an object; a bare key gets "" as docker does. */
export function keyValues(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    out[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? '' : kv.slice(eq + 1);
  }
  return out;
}
