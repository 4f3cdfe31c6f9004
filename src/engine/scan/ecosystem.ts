// Which OSV ecosystem, package name and version a catalogued package is matched under. Debian and
// Alpine advisories name the SOURCE package (openssl, not libssl3) in a release's ecosystem
// (`Debian:12`, `Alpine:v3.19`); npm, PyPI and Go name the package itself (PyPI's names normalised as
// PEP 503 says: case and runs of `-_.` do not matter).
import type { Distro, Package } from '../../api/sbom.js';

export interface MatchKey {
  ecosystem: string;
  /** The name to look the package up under. */
  name: string;
  /** The version its advisories are written against (Debian: the source version). */
  version: string;
}

/** PEP 503 normalisation of a Python distribution's name. */
export function normalizePyPI(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** True when a record's package name names this package in this ecosystem. */
export function sameName(ecosystem: string, recordName: string, name: string): boolean {
  return ecosystem === 'PyPI' ? normalizePyPI(recordName) === normalizePyPI(name) : recordName === name;
}

/** The OS ecosystem of a distribution, or a reason why its packages cannot be matched. */
export function osEcosystem(distro: Distro | undefined): { ecosystem: string } | { reason: string } {
  if (!distro) return { reason: 'the image has no /etc/os-release: its OS packages are not matched' };
  const v = distro.versionId ?? '';
  if (distro.id === 'debian') {
    const major = /^(\d+)/.exec(v)?.[1];
    return major ? { ecosystem: `Debian:${major}` } : { reason: `Debian without a release number (VERSION_ID "${v}", testing or sid?): its packages are not matched` };
  }
  if (distro.id === 'alpine') {
    const mm = /^(\d+)\.(\d+)/.exec(v);
    return mm ? { ecosystem: `Alpine:v${mm[1]}.${mm[2]}` } : { reason: `Alpine without a release number (VERSION_ID "${v}"): its packages are not matched` };
  }
  return { reason: `no advisories for the OS "${distro.id}${v ? ` ${v}` : ''}" (berth matches Debian and Alpine): its packages are not matched` };
}

/** How a package is matched, or undefined when its OS has no ecosystem (see osEcosystem). */
export function matchKey(pkg: Package, os: string | undefined): MatchKey | undefined {
  switch (pkg.type) {
    case 'deb':
    case 'apk':
      if (!os) return undefined;
      return { ecosystem: os, name: pkg.sourceName || pkg.name, version: pkg.type === 'deb' ? pkg.sourceVersion || pkg.version : pkg.version };
    case 'npm':
      return { ecosystem: 'npm', name: pkg.name, version: pkg.version };
    case 'pypi':
      return { ecosystem: 'PyPI', name: normalizePyPI(pkg.name), version: pkg.version };
    case 'go':
      return { ecosystem: 'Go', name: pkg.name, version: pkg.version };
  }
}
