// Alpine packages: apk's installed database (/lib/apk/db/installed): one `K:value` per line, a blank
// line between packages. P name, V version, A arch, L license, o origin (the source package),
// F a directory and R a file in it.
import type { Cataloguer } from './catalogue.js';
import type { Fragment, RawPackage } from './fragments.js';

const DB = 'lib/apk/db/installed';

export function parseApkInstalled(text: string, where: string): Fragment {
  const packages: RawPackage[] = [];
  const warnings: string[] = [];
  let cur: (Partial<RawPackage> & { line: number; dir?: string; files: string[] }) | undefined;
  const flush = () => {
    if (!cur) return;
    if (cur.name && cur.version) {
      const { line: _l, dir: _d, ...p } = cur;
      packages.push({ ...(p as RawPackage), sourceVersion: p.sourceName ? p.version : undefined });
    } else warnings.push(`${where}: the entry at line ${cur.line} has no ${cur.name ? 'V' : 'P'} field; skipped`);
    cur = undefined;
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line[1] !== ':') {
      warnings.push(`${where}: line ${i + 1} is not a "K:value" line`);
      continue;
    }
    cur ??= { line: i + 1, files: [], licenses: [] };
    const v = line.slice(2);
    switch (line[0]) {
      case 'P': cur.name = v; break;
      case 'V': cur.version = v; break;
      case 'A': cur.arch = v; break;
      case 'L': cur.licenses = v ? [v] : []; break;
      case 'o': cur.sourceName = v; break;
      case 'F': cur.dir = v; break;
      case 'R': cur.files.push('/' + (cur.dir ? cur.dir + '/' : '') + v); break;
    }
  }
  flush();
  return { kind: 'apk', packages, warnings };
}

export const apkCataloguer: Cataloguer = {
  name: 'apk',
  wantsName: (p) => p === DB,
  async parse(f) {
    return parseApkInstalled((await f.read()).toString('utf8'), '/' + f.path);
  },
};
