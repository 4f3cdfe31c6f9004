// Go module versions (golang.org/ref/mod#versions): semantic versions with a `v` prefix, compared as
// semver; pseudo-versions (v0.0.0-20191109021931-daa7c04131f5, vX.Y.(Z+1)-0.TIMESTAMP-REV,
// vX.Y.Z-pre.0.TIMESTAMP-REV) are pre-releases and order by their timestamp through semver's rules;
// `+incompatible` is build metadata and ignored. OSV's Go records write versions without the `v`; both
// spellings are accepted. `(devel)` and other non-versions are unparseable.
import { compareParsedSemver, parseSemver, type SemVer } from './semver.js';

export function parseGo(input: string): SemVer | null {
  if (typeof input !== 'string') return null;
  const s = input.trim();
  if (s.startsWith('=')) return null;
  const sv = parseSemver(s);
  if (!sv) return null;
  if (sv.build.length > 0 && !(sv.build.length === 1 && sv.build[0] === 'incompatible')) return null;
  return sv;
}

const PSEUDO = /^v?[0-9]+\.[0-9]+\.[0-9]+-(?:(?:[0-9A-Za-z-]+\.)*0\.)?([0-9]{14})-([0-9a-f]{12})(?:\+incompatible)?$/;

/** A pseudo-version's commit time (YYYYMMDDhhmmss, UTC) and revision prefix, or null. */
export function pseudoVersion(v: string): { time: string; revision: string } | null {
  const m = PSEUDO.exec(v.trim());
  return m ? { time: m[1]!, revision: m[2]! } : null;
}

/** -1, 0 or 1; null when either side is not a Go module version. */
export function compareGo(a: string, b: string): number | null {
  const pa = parseGo(a);
  const pb = parseGo(b);
  if (!pa || !pb) return null;
  return compareParsedSemver(pa, pb);
}
