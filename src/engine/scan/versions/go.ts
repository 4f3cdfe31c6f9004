// Go module versions (golang.org/ref/mod#versions): semantic versions with a `v` prefix, compared as
// semver; pseudo-versions (v0.0.0-20191109021931-daa7c04131f5, vX.Y.(Z+1)-0.TIMESTAMP-REV,
// vX.Y.Z-pre.0.TIMESTAMP-REV) are pre-releases and order by their timestamp through semver's rules;
// `+incompatible` is build metadata and ignored. OSV's Go records write versions without the `v`; both
// spellings are accepted, and toolchain versions (go1.21.5) for the `stdlib` module. `(devel)` and other
// non-versions are unparseable.
import { compareParsedSemver, parseSemver, type SemVer } from './semver.js';

/** A Go toolchain version as `go version` and binaries' build info write it (go1.21.5, go1.21,
 * go1.22rc1, go1.20beta2) in the semver form OSV's `stdlib` records use (1.21.5, 1.21.0, 1.22.0-rc.1). */
export function goToolchainSemver(v: string): string | null {
  const m = /^go([0-9]+)\.([0-9]+)(?:\.([0-9]+))?(?:(rc|beta|alpha)([0-9]+))?$/.exec(v.trim());
  if (!m) return null;
  return `${m[1]}.${m[2]}.${m[3] ?? '0'}${m[4] ? `-${m[4]}.${m[5]}` : ''}`;
}

export function parseGo(input: string): SemVer | null {
  if (typeof input !== 'string') return null;
  let s = input.trim();
  if (s.startsWith('go')) s = goToolchainSemver(s) ?? s;
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
