// Filter rules shared by list and prune endpoints (Docker's `label`, `label!` and `until` filters).
import { InvalidParameter } from './errors.js';

/** "key" matches when the label exists, "key=value" when it has that value. */
export function matchLabel(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  return eq < 0 ? filter in labels : labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** Every `label` filter matches and no `label!` filter does. */
export function labelsMatch(labels: Record<string, string>, f: Record<string, string[]>): boolean {
  return (f.label ?? []).every((l) => matchLabel(labels, l)) && !(f['label!'] ?? []).some((l) => matchLabel(labels, l));
}

/** dockerd's Args.Match: a value matches when equal to the field or, as a regular expression, found in it;
 *  a value that is not a valid regular expression matches only itself. */
export function matchesPattern(values: string[], field: string): boolean {
  return values.some((v) => {
    if (v === field) return true;
    try {
      return new RegExp(v).test(field);
    } catch {
      return false;
    }
  });
}

/** An `until` filter as a cut-off in ms: an RFC 3339 time, Unix seconds, or a Go duration before now (10m, 24h). */
export function untilCutoff(v: string, now = Date.now()): number {
  const d = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(v);
  if (d) {
    const unit = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[d[2] as 'ns'];
    return now - Number(d[1]) * unit;
  }
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidParameter(`invalid filter 'until=${v}': use a timestamp or a duration such as 24h`);
  return t;
}
