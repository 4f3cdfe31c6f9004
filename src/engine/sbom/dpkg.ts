// Debian/Ubuntu packages: dpkg's status database (/var/lib/dpkg/status, and distroless-style
// /var/lib/dpkg/status.d/<pkg>), the file lists (/var/lib/dpkg/info/<pkg>[:arch].list) and licenses
// from machine-readable (DEP-5) copyright files (/usr/share/doc/<pkg>/copyright).
import type { Cataloguer } from './catalogue.js';
import type { Fragment, RawPackage } from './fragments.js';
import { parseDeb822 } from './deb822.js';

const STATUS = 'var/lib/dpkg/status';
const STATUS_D = /^var\/lib\/dpkg\/status\.d\/[^/]+$/;
const LIST = /^var\/lib\/dpkg\/info\/[^/]+\.list$/;
const COPYRIGHT = /^usr\/share\/doc\/[^/]+\/copyright$/;

/** "glibc (2.36-9)" → name and version; "glibc" alone → the binary package's version. */
export function parseSource(source: string | undefined, version: string): { sourceName?: string; sourceVersion?: string } {
  if (!source) return {};
  const m = /^(\S+)(?:\s+\(([^)]+)\))?\s*$/.exec(source.trim());
  if (!m) return { sourceName: source.trim() };
  return { sourceName: m[1], sourceVersion: m[2] ?? version };
}

export function parseDpkgStatus(text: string, where: string): Fragment {
  const { paragraphs, errors } = parseDeb822(text);
  const warnings = errors.map((e) => `${where}: ${e}`);
  const packages: RawPackage[] = [];
  for (const p of paragraphs) {
    const name = p.fields.get('Package');
    const version = p.fields.get('Version');
    if (!name || !version) {
      warnings.push(`${where}: the entry at line ${p.line} has no ${name ? 'Version' : 'Package'} field; skipped`);
      continue;
    }
    // Only installed packages (not ones removed with their config files kept, nor half-installed).
    const status = p.fields.get('Status');
    if (status && !/\binstalled$/.test(status.trim())) continue;
    if (status && /\bnot-installed$/.test(status.trim())) continue;
    const arch = p.fields.get('Architecture');
    packages.push({ name, version, arch, ...parseSource(p.fields.get('Source'), version) });
  }
  return { kind: 'dpkg-status', packages, warnings };
}

/** DEP-5 copyright: the License: fields' short names (first line), in order, once each. Undefined when the file is not machine-readable. */
export function parseCopyright(text: string): string[] | undefined {
  if (!/^Format:\s*\S*copyright-format/m.test(text.slice(0, 2000))) return undefined;
  const out: string[] = [];
  for (const p of parseDeb822(text).paragraphs) {
    const lic = p.fields.get('License');
    const name = lic?.split('\n')[0]!.trim();
    if (name && !out.includes(name)) out.push(name);
  }
  return out;
}

export const dpkgCataloguer: Cataloguer = {
  name: 'dpkg',
  wantsName: (p) => p === STATUS || STATUS_D.test(p) || LIST.test(p) || COPYRIGHT.test(p),
  async parse(f) {
    const text = (await f.read()).toString('utf8');
    if (LIST.test(f.path)) {
      return { kind: 'dpkg-list', files: text.split('\n').filter((l) => l && l !== '/.') };
    }
    if (COPYRIGHT.test(f.path)) {
      const licenses = parseCopyright(text);
      return licenses ? { kind: 'copyright', licenses } : undefined;
    }
    if (STATUS_D.test(f.path) && /\.(md5sums|list)$/.test(f.path)) return undefined;
    return parseDpkgStatus(text, '/' + f.path);
  },
};
