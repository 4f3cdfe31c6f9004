// npm packages: each installed package's node_modules/<name>/package.json (and @scope/<name>), and
// package-lock.json files outside node_modules (lockfileVersion 1: nested `dependencies`; 2 and 3:
// `packages` keyed by install path). A lock entry whose package is installed is listed once, from its package.json.
import path from 'node:path';
import type { Cataloguer } from './catalogue.js';
import type { Fragment, RawPackage } from './fragments.js';

const PACKAGE_JSON = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/.@][^/]*\/package\.json$/;
const LOCK = /(?:^|\/)package-lock\.json$/;

function licensesOf(j: Record<string, unknown>): string[] {
  const one = (l: unknown): string | undefined => (typeof l === 'string' ? l : l && typeof l === 'object' && typeof (l as { type?: unknown }).type === 'string' ? (l as { type: string }).type : undefined);
  const out: string[] = [];
  const l = one(j.license);
  if (l) out.push(l);
  if (Array.isArray(j.licenses)) for (const x of j.licenses) { const s = one(x); if (s && !out.includes(s)) out.push(s); }
  return out;
}

export function parsePackageJson(text: string, where: string): Fragment | undefined {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    return { kind: 'npm', packages: [], warnings: [`${where}: not valid JSON (${(e as Error).message}); skipped`] };
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) return { kind: 'npm', packages: [], warnings: [`${where}: not a JSON object; skipped`] };
  const o = j as Record<string, unknown>;
  if (typeof o.name !== 'string' || typeof o.version !== 'string') return undefined; // a package.json that names no package (test fixtures, sub-folders)
  return { kind: 'npm', packages: [{ name: o.name, version: o.version, licenses: licensesOf(o) }] };
}

export function parsePackageLock(text: string, file: string): Fragment {
  const where = '/' + file;
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
    if (!j || typeof j !== 'object') throw new Error('not an object');
  } catch (e) {
    return { kind: 'npm-lock', packages: [], warnings: [`${where}: not valid JSON (${(e as Error).message}); skipped`] };
  }
  const dir = path.posix.dirname(file) === '.' ? '' : path.posix.dirname(file) + '/';
  const packages: RawPackage[] = [];
  if (j.packages && typeof j.packages === 'object') {
    for (const [key, e] of Object.entries(j.packages as Record<string, Record<string, unknown>>)) {
      if (!key || !e || typeof e !== 'object' || e.link || typeof e.version !== 'string') continue;
      const i = key.lastIndexOf('node_modules/');
      if (i < 0) continue; // workspace folders
      const name = typeof e.name === 'string' ? e.name : key.slice(i + 'node_modules/'.length);
      packages.push({ name, version: e.version, licenses: typeof e.license === 'string' ? [e.license] : [], installedAt: dir + key + '/package.json' });
    }
  } else if (j.dependencies && typeof j.dependencies === 'object') {
    const walk = (deps: Record<string, Record<string, unknown>>, prefix: string) => {
      for (const [name, e] of Object.entries(deps)) {
        if (!e || typeof e !== 'object') continue;
        const at = `${prefix}node_modules/${name}`;
        if (typeof e.version === 'string' && !e.version.startsWith('file:')) packages.push({ name, version: e.version, installedAt: dir + at + '/package.json' });
        if (e.dependencies && typeof e.dependencies === 'object') walk(e.dependencies as Record<string, Record<string, unknown>>, at + '/');
      }
    };
    walk(j.dependencies as Record<string, Record<string, unknown>>, '');
  }
  return { kind: 'npm-lock', packages };
}

export const npmCataloguer: Cataloguer = {
  name: 'npm',
  wantsName: (p) => PACKAGE_JSON.test(p) || (LOCK.test(p) && !p.includes('node_modules/')),
  async parse(f) {
    const text = (await f.read()).toString('utf8');
    return LOCK.test(f.path) ? parsePackageLock(text, f.path) : parsePackageJson(text, '/' + f.path);
  },
};
