// Python packages: installed distributions' metadata (RFC 822 headers): *.dist-info/METADATA (wheels,
// pip) and *.egg-info/PKG-INFO or a *.egg-info file (setuptools, Debian's python3-* packages).
import type { Cataloguer } from './catalogue.js';
import type { Fragment } from './fragments.js';

const META = /(?:^|\/)[^/]+\.dist-info\/METADATA$|(?:^|\/)[^/]+\.egg-info\/PKG-INFO$|(?:^|\/)[^/]+\.egg-info$/;

export function parsePythonMetadata(text: string, where: string): Fragment {
  const head = text.split(/\r?\n\r?\n/, 1)[0]!;
  const fields = new Map<string, string[]>();
  let last: string | undefined;
  for (const line of head.split(/\r?\n/)) {
    if ((line[0] === ' ' || line[0] === '\t') && last) continue; // folded continuation (long License texts)
    const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (!m) continue;
    last = m[1]!.toLowerCase();
    fields.set(last, [...(fields.get(last) ?? []), m[2]!.trim()]);
  }
  const name = fields.get('name')?.[0];
  const version = fields.get('version')?.[0];
  if (!name || !version) return { kind: 'python', packages: [], warnings: [`${where}: no ${name ? 'Version' : 'Name'} header; skipped`] };
  const licenses: string[] = [];
  const expr = fields.get('license-expression')?.[0];
  if (expr) licenses.push(expr);
  else {
    const lic = fields.get('license')?.[0];
    if (lic && lic !== 'UNKNOWN' && lic.length < 100) licenses.push(lic);
    for (const c of fields.get('classifier') ?? []) {
      const m = /^License :: (?:OSI Approved :: )?(.+)$/.exec(c);
      if (m && !licenses.includes(m[1]!)) licenses.push(m[1]!);
    }
  }
  return { kind: 'python', packages: [{ name, version, licenses }] };
}

export const pythonCataloguer: Cataloguer = {
  name: 'python',
  wantsName: (p) => META.test(p),
  async parse(f) {
    return parsePythonMetadata((await f.read()).toString('utf8'), '/' + f.path);
  },
};
