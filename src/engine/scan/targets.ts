// The target a package is reported under, as Trivy groups an image's findings: the OS packages as
// `NAME (debian 12)`, npm packages from a lock file under that file's path (Type npm), the installed
// node_modules tree as `Node.js` (node-pkg), Python's installed distributions as `Python`
// (python-pkg), and each Go binary under its path (gobinary).
import type { Distro, Package } from '../../api/sbom.js';
import type { ScanResult } from '../../api/scan.js';

export function targetOf(pkg: Package, distro: Distro | undefined, artifactName: string): Omit<ScanResult, 'Vulnerabilities'> {
  const where = pkg.location.replace(/^\/+/, '');
  switch (pkg.type) {
    case 'deb':
    case 'apk': {
      const os = distro ? `${distro.id}${distro.versionId ? ` ${distro.versionId}` : ''}` : pkg.type === 'deb' ? 'debian' : 'alpine';
      return { Target: `${artifactName} (${os})`, Class: 'os-pkgs', Type: distro?.id ?? (pkg.type === 'deb' ? 'debian' : 'alpine') };
    }
    case 'npm':
      return /(^|\/)(package-lock\.json|npm-shrinkwrap\.json)$/.test(where) ? { Target: where, Class: 'lang-pkgs', Type: 'npm' } : { Target: 'Node.js', Class: 'lang-pkgs', Type: 'node-pkg' };
    case 'pypi':
      return { Target: 'Python', Class: 'lang-pkgs', Type: 'python-pkg' };
    case 'go':
      return { Target: where, Class: 'lang-pkgs', Type: 'gobinary' };
  }
}
