// The reverse of sbom-formats.ts's CycloneDX writer: a CycloneDX JSON document berth wrote (`berth sbom
// --format cyclonedx-json`, `sbom --attach`) read back as an ImageSbom, so a scan can match the packages of a
// signed, attached SBOM instead of fetching the image's layers. It reads what the matcher needs — each
// library component's name, version, purl and berth's properties (package type, location, layer, source
// package, arch), the operating-system component (the distro) and the image's layers — and refuses a
// document that lacks them (one not written by berth), naming what is missing.
import type { Distro, ImageSbom, LayerRef, Package, PackageType } from './sbom.js';

const TYPES: readonly PackageType[] = ['deb', 'apk', 'npm', 'pypi', 'go'];

interface CdxProperty {
  name?: unknown;
  value?: unknown;
}
interface CdxComponent {
  type?: unknown;
  name?: unknown;
  version?: unknown;
  purl?: unknown;
  description?: unknown;
  licenses?: { license?: { id?: unknown; name?: unknown }; expression?: unknown }[];
  properties?: CdxProperty[];
}

function props(c: CdxComponent): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of Array.isArray(c.properties) ? c.properties : []) {
    if (typeof p?.name !== 'string' || typeof p.value !== 'string') continue;
    out.set(p.name, [...(out.get(p.name) ?? []), p.value]);
  }
  return out;
}

function licensesOf(c: CdxComponent): string[] {
  const out: string[] = [];
  for (const l of Array.isArray(c.licenses) ? c.licenses : []) {
    const v = l?.license?.id ?? l?.license?.name ?? l?.expression;
    if (typeof v === 'string') out.push(v);
  }
  return out;
}

/** Parse a CycloneDX JSON document berth wrote; throws an Error naming what is wrong. */
export function sbomFromCycloneDx(text: string): ImageSbom {
  let doc: { bomFormat?: unknown; metadata?: { component?: CdxComponent }; components?: CdxComponent[] };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`the SBOM is not JSON (${(e as Error).message})`);
  }
  if (doc?.bomFormat !== 'CycloneDX') throw new Error('the SBOM is not a CycloneDX document (bomFormat is not "CycloneDX")');
  const image = doc.metadata?.component;
  const ip = image ? props(image) : new Map<string, string[]>();
  const id = ip.get('berth:image:id')?.[0];
  if (!id) throw new Error('the SBOM was not written by berth: metadata.component has no berth:image:id property');
  const [os = '', architecture = ''] = (ip.get('berth:image:platform')?.[0] ?? '').split('/');
  const layers: LayerRef[] = (ip.get('berth:image:diffID') ?? []).map((diffId, index) => ({ index, diffId }));
  let distro: Distro | undefined;
  const packages: Package[] = [];
  const components = Array.isArray(doc.components) ? doc.components : [];
  components.forEach((c, i) => {
    if (c?.type === 'operating-system' && typeof c.name === 'string') {
      distro = { id: c.name, ...(typeof c.version === 'string' ? { versionId: c.version } : {}), ...(typeof c.description === 'string' ? { prettyName: c.description } : {}) };
      return;
    }
    if (c?.type !== 'library') return;
    const p = props(c);
    const one = (k: string) => p.get(k)?.[0];
    const type = one('berth:package:type') as PackageType | undefined;
    const what = `component ${i} (${typeof c.name === 'string' ? c.name : 'no name'})`;
    if (typeof c.name !== 'string' || typeof c.version !== 'string' || typeof c.purl !== 'string') throw new Error(`the SBOM's ${what} lacks a name, version or purl`);
    if (!type || !TYPES.includes(type)) throw new Error(`the SBOM's ${what} has no berth:package:type property (${TYPES.join(', ')})`);
    const index = Number(one('berth:layer:index') ?? NaN);
    const diffId = one('berth:layer:diffID');
    if (!Number.isInteger(index) || index < 0 || !diffId) throw new Error(`the SBOM's ${what} lacks berth:layer:index or berth:layer:diffID`);
    const createdBy = one('berth:layer:createdBy');
    const pkg: Package = {
      name: c.name,
      version: c.version,
      type,
      purl: c.purl,
      licenses: licensesOf(c),
      layer: { index, diffId, ...(createdBy !== undefined ? { createdBy } : {}) },
      location: one('berth:location') ?? '',
    };
    const sourceName = one('berth:package:sourceName');
    const sourceVersion = one('berth:package:sourceVersion');
    const arch = one('berth:package:arch');
    if (sourceName) pkg.sourceName = sourceName;
    if (sourceVersion) pkg.sourceVersion = sourceVersion;
    if (arch) pkg.arch = arch;
    packages.push(pkg);
    // Documents written before berth:image:diffID: the layers the packages name.
    if (!ip.has('berth:image:diffID') && !layers.some((l) => l.index === index)) layers.push({ index, diffId, ...(createdBy !== undefined ? { createdBy } : {}) });
  });
  layers.sort((a, b) => a.index - b.index);
  // A layer's Dockerfile step, where a package of it names one.
  for (const l of layers) if (l.createdBy === undefined) {
    const by = packages.find((p) => p.layer.index === l.index && p.layer.createdBy !== undefined)?.layer.createdBy;
    if (by !== undefined) l.createdBy = by;
  }
  return {
    image: { id, repoTags: [], repoDigests: [], os, architecture },
    ...(distro ? { distro } : {}),
    layers,
    packages,
    warnings: ip.get('berth:warning') ?? [],
  };
}
