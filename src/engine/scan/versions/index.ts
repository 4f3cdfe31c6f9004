// Version comparison per OSV ecosystem: one comparator per packaging system, each answering -1/0/1 or
// null when a version does not parse in that system (the caller reports "unknown", never guesses).
import { compareApk } from './apk.js';
import { compareDpkg } from './dpkg.js';
import { compareGo } from './go.js';
import { comparePep440 } from './pep440.js';
import { compareSemver } from './semver.js';

export type VersionScheme = 'dpkg' | 'apk' | 'semver' | 'pep440' | 'go';
export type Comparator = (a: string, b: string) => number | null;

export const COMPARATORS: Record<VersionScheme, Comparator> = {
  dpkg: compareDpkg,
  apk: compareApk,
  semver: compareSemver,
  pep440: comparePep440,
  go: compareGo,
};

/** The version scheme of an OSV ecosystem (`Debian:12` → dpkg, `Alpine:v3.19` → apk, …), or undefined. */
export function schemeOf(ecosystem: string): VersionScheme | undefined {
  const base = ecosystem.split(':', 1)[0];
  switch (base) {
    case 'Debian':
    case 'Ubuntu':
      return 'dpkg';
    case 'Alpine':
      return 'apk';
    case 'npm':
      return 'semver';
    case 'PyPI':
      return 'pep440';
    case 'Go':
      return 'go';
    default:
      return undefined;
  }
}

export { compareApk, compareDpkg, compareGo, comparePep440, compareSemver };
