// The distribution, from /etc/os-release or /usr/lib/os-release (ID, VERSION_ID, PRETTY_NAME).
import type { Distro } from '../../api/sbom.js';
import type { Cataloguer } from './catalogue.js';

export function parseOsRelease(text: string): Distro | undefined {
  const v: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let val = m[2]!;
    if (/^".*"$|^'.*'$/.test(val)) val = val.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    v[m[1]!] = val;
  }
  if (!v.ID) return undefined;
  return { id: v.ID, versionId: v.VERSION_ID, prettyName: v.PRETTY_NAME };
}

export const osReleaseCataloguer: Cataloguer = {
  name: 'os-release',
  wantsName: (p) => p === 'etc/os-release' || p === 'usr/lib/os-release',
  async parse(f) {
    const distro = parseOsRelease((await f.read()).toString('utf8'));
    return distro ? { kind: 'os-release', distro } : { kind: 'os-release', warnings: [`/${f.path}: no ID= line`] };
  },
};
