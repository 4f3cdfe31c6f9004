// Merge the layers' facts into the image's inventory, bottom layer first: a file in an upper layer
// replaces the one below, a whiteout removes it (and everything under a deleted or opaque directory).
// A package is attributed to the lowest layer from which the same package (name and version) has been
// present at the same place without interruption: the layer that introduced it.
import type { Distro, LayerRef, Package, PackageType } from '../../api/sbom.js';
import { PACKAGE_TYPE, type Fragment, type LayerFacts } from './fragments.js';
import { purlOf } from './purl.js';

interface Visible {
  frag: Fragment;
  /** package key → index of the layer that introduced it */
  intro: Map<string, number>;
}

const key = (p: { name: string; version: string }) => `${p.name}\0${p.version}`;
const TYPE_ORDER: PackageType[] = ['deb', 'apk', 'go', 'npm', 'pypi'];

export interface Inventory {
  distro?: Distro;
  packages: Package[];
  warnings: string[];
}

export function assemble(layers: { ref: LayerRef; facts: LayerFacts }[]): Inventory {
  const visible = new Map<string, Visible>();
  const removeUnder = (dir: string, self: boolean) => {
    for (const p of [...visible.keys()]) if ((self && p === dir) || dir === '' || p.startsWith(dir + '/')) visible.delete(p);
  };
  layers.forEach(({ facts }, i) => {
    for (const d of facts.opaque) removeUnder(d, false);
    for (const p of facts.deleted) removeUnder(p, true);
    for (const [p, frag] of Object.entries(facts.fragments)) {
      const prev = visible.get(p);
      const intro = new Map<string, number>();
      for (const pkg of frag.packages ?? []) intro.set(key(pkg), prev?.intro.get(key(pkg)) ?? i);
      visible.set(p, { frag, intro });
    }
  });

  const distro = visible.get('etc/os-release')?.frag.distro ?? visible.get('usr/lib/os-release')?.frag.distro;
  const packages: Package[] = [];
  const warnings: string[] = [];
  for (const [p, { frag, intro }] of visible) {
    warnings.push(...(frag.warnings ?? []));
    const type = PACKAGE_TYPE[frag.kind];
    if (!type || !frag.packages) continue;
    for (const raw of frag.packages) {
      if (frag.kind === 'npm-lock' && raw.installedAt && visible.get(raw.installedAt)?.frag.packages?.length) continue;
      let files = raw.files;
      let licenses = raw.licenses ?? [];
      if (frag.kind === 'dpkg-status') {
        const info = 'var/lib/dpkg/info/';
        files = (visible.get(`${info}${raw.name}.list`) ?? visible.get(`${info}${raw.name}:${raw.arch}.list`))?.frag.files;
        licenses = visible.get(`usr/share/doc/${raw.name}/copyright`)?.frag.licenses ?? [];
      }
      const layerIndex = intro.get(key(raw)) ?? layers.length - 1;
      const { installedAt: _i, files: _f, licenses: _l, ...rest } = raw;
      packages.push({
        ...rest,
        type,
        purl: purlOf(type, raw, distro),
        licenses,
        layer: layers[layerIndex]!.ref,
        location: '/' + p,
        ...(files?.length ? { files } : {}),
      });
    }
  }
  packages.sort(
    (a, b) => TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type) || cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.location, b.location),
  );
  return { distro, packages, warnings };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
