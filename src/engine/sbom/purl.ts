// Package URLs (github.com/package-url/purl-spec): pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS.
// Segments are percent-encoded (':' kept, as packageurl-js does); qualifiers sorted by key.
import type { Distro, PackageType } from '../../api/sbom.js';
import type { RawPackage } from './fragments.js';

const enc = (s: string) => encodeURIComponent(s).replace(/%3A/gi, ':');

/** PEP 503 normalised name: lower case, runs of -, _ and . as one -. */
export function pypiName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function build(type: string, namespace: string[] , name: string, version: string, qualifiers: Record<string, string | undefined> = {}): string {
  const ns = namespace.filter(Boolean).map(enc).join('/');
  const q = Object.entries(qualifiers)
    .filter((e): e is [string, string] => !!e[1])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${enc(v)}`)
    .join('&');
  return `pkg:${type}/${ns ? ns + '/' : ''}${enc(name)}${version ? '@' + enc(version) : ''}${q ? '?' + q : ''}`;
}

export function purlOf(type: PackageType, p: RawPackage, distro: Distro | undefined): string {
  const distroQ = distro ? (distro.versionId ? `${distro.id}-${distro.versionId}` : distro.id) : undefined;
  switch (type) {
    case 'deb':
      return build('deb', [distro?.id ?? 'debian'], p.name, p.version, { arch: p.arch, distro: distroQ });
    case 'apk':
      return build('apk', [distro?.id ?? 'alpine'], p.name, p.version, { arch: p.arch, distro: distroQ });
    case 'npm': {
      const m = /^(@[^/]+)\/(.+)$/.exec(p.name);
      return m ? build('npm', [m[1]!], m[2]!, p.version) : build('npm', [], p.name, p.version);
    }
    case 'pypi':
      return build('pypi', [], pypiName(p.name), p.version);
    case 'go': {
      const parts = p.name.split('/');
      return build('golang', parts.slice(0, -1), parts[parts.length - 1]!, p.version);
    }
  }
}
