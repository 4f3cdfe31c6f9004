// Semantic Versioning 2.0.0 (semver.org) ordered as npm's node-semver orders it: major.minor.patch
// numerically, a version with a pre-release sorts before the same version without one, pre-release
// identifiers compared one by one (numeric ones numerically and below alphanumeric ones, which compare
// in ASCII order), a longer list of equal identifiers sorts higher, and build metadata is ignored.
// A leading `v` (or `=`) is accepted as node-semver does.

export interface SemVer {
  major: string;
  minor: string;
  patch: string;
  prerelease: string[];
  build: string[];
}

const NUM = '0|[1-9][0-9]*';
const PRE_ID = `(?:${NUM}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const BUILD_ID = '[0-9A-Za-z-]+';
const SEMVER_RE = new RegExp(
  `^[v=]?(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?$`,
);

/** Parse a semantic version; null when it is not one. */
export function parseSemver(input: string): SemVer | null {
  if (typeof input !== 'string') return null;
  const m = SEMVER_RE.exec(input.trim());
  if (!m) return null;
  return {
    major: m[1]!,
    minor: m[2]!,
    patch: m[3]!,
    prerelease: m[4] ? m[4].split('.') : [],
    build: m[5] ? m[5].split('.') : [],
  };
}

/** Compare two non-negative decimal strings without leading zeros (any length). */
export function compareNumeric(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

const DIGITS = /^[0-9]+$/;

export function compareIdentifiers(a: string, b: string): number {
  const an = DIGITS.test(a);
  const bn = DIGITS.test(b);
  if (an && bn) return compareNumeric(a.replace(/^0+(?=.)/, ''), b.replace(/^0+(?=.)/, ''));
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function comparePrerelease(a: string[], b: string[]): number {
  if (a.length === 0 && b.length === 0) return 0;
  if (a.length === 0) return 1;
  if (b.length === 0) return -1;
  for (let i = 0; ; i++) {
    if (i >= a.length && i >= b.length) return 0;
    if (i >= a.length) return -1;
    if (i >= b.length) return 1;
    const c = compareIdentifiers(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
}

export function compareParsedSemver(a: SemVer, b: SemVer): number {
  return (
    compareNumeric(a.major, b.major) ||
    compareNumeric(a.minor, b.minor) ||
    compareNumeric(a.patch, b.patch) ||
    comparePrerelease(a.prerelease, b.prerelease)
  );
}

/** -1, 0 or 1 (build metadata ignored); null when either side is not a semantic version. */
export function compareSemver(a: string, b: string): number | null {
  const pa = parseSemver(a);
  const pb = parseSemver(b);
  if (!pa || !pb) return null;
  return compareParsedSemver(pa, pb);
}
