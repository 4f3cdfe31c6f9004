// The inventory (ImageSbom, sbom.ts) as standard documents: CycloneDX 1.5 JSON — built with
// @cyclonedx/cyclonedx-library and checked by its JSON schema validator — and SPDX 2.3 JSON. Shared by
// the CLI (`berth sbom --format`), the engine (`sbom --attach`) and the scanner (CycloneDX components
// with a vulnerabilities section): `cyclonedxBom` returns the library's model so callers can add to it.
import { randomUUID } from 'node:crypto';
import { Enums, Models, Serialize, SPDX, Spec, Validation } from '@cyclonedx/cyclonedx-library';
import type { ImageSbom, Package } from './sbom.js';
import { ENGINE_VERSION } from './version.js';

export const CYCLONEDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json';
export const SPDX_MEDIA_TYPE = 'application/spdx+json';

/** The image as it is named: its first tag, else its first digest reference, else its ID. */
export function imageName(s: ImageSbom): string {
  return s.image.repoTags[0] ?? s.image.repoDigests[0] ?? s.image.id;
}

/** A unique reference per package: its purl, with its location when the same purl occurs twice. */
export function packageRefs(packages: Package[]): string[] {
  const count = new Map<string, number>();
  for (const p of packages) count.set(p.purl, (count.get(p.purl) ?? 0) + 1);
  const seen = new Set<string>();
  return packages.map((p) => {
    let ref = count.get(p.purl)! > 1 ? `${p.purl}#${p.location}` : p.purl;
    for (let i = 2; seen.has(ref); i++) ref = `${p.purl}#${p.location}#${i}`;
    seen.add(ref);
    return ref;
  });
}

/** Debian's DEP-5 short names (and a few other common spellings) as SPDX identifiers. */
const DEBIAN_SPDX: Record<string, string> = {
  Expat: 'MIT',
  'BSD-2-clause': 'BSD-2-Clause',
  'BSD-3-clause': 'BSD-3-Clause',
  'BSD-4-clause': 'BSD-4-Clause',
  Artistic: 'Artistic-1.0',
  'Artistic-2': 'Artistic-2.0',
  'Apache-2': 'Apache-2.0',
  'MPL-1.1': 'MPL-1.1',
  'MPL-2': 'MPL-2.0',
  zlib: 'Zlib',
  'CC0': 'CC0-1.0',
};

/** An SPDX identifier for a license name, when there is one: SPDX's own ids, Debian's GPL-2+ style
 *  (`+` → -or-later, bare version → -only) and the short names above. */
export function spdxIdOf(name: string): string | undefined {
  const n = name.trim();
  const gnu = /^(A?GPL|LGPL|GFDL)-(\d(?:\.\d)?)(\+)?$/.exec(n);
  if (gnu) {
    const v = gnu[2]!.includes('.') ? gnu[2]! : `${gnu[2]}.0`;
    const id = `${gnu[1]}-${v}-${gnu[3] ? 'or-later' : 'only'}`;
    if (SPDX.isSupportedSpdxId(id)) return id;
  }
  if (DEBIAN_SPDX[n]) return DEBIAN_SPDX[n];
  const id = SPDX.fixupSpdxId(n);
  return id && SPDX.isSupportedSpdxId(id) ? id : undefined;
}

function cdxLicenses(licenses: string[]): Models.LicenseRepository {
  const repo = new Models.LicenseRepository();
  if (licenses.length === 1 && /\s(AND|OR|WITH)\s/.test(licenses[0]!)) {
    repo.add(new Models.LicenseExpression(licenses[0]!.replace(/^\((.*)\)$/, '$1')));
    return repo;
  }
  for (const l of licenses) {
    const id = spdxIdOf(l);
    repo.add(id ? new Models.SpdxLicense(id) : new Models.NamedLicense(l));
  }
  return repo;
}

/** The CycloneDX model of an inventory: the image as metadata.component (a container), one library
 *  (or operating-system) component per package, berth's facts (layer, location, source) as properties. */
export function cyclonedxBom(s: ImageSbom, o: { timestamp?: Date; serialNumber?: string } = {}): { bom: Models.Bom; refs: string[] } {
  const bom = new Models.Bom({ serialNumber: o.serialNumber ?? `urn:uuid:${randomUUID()}` });
  bom.metadata.timestamp = o.timestamp ?? new Date();
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, 'berth', { version: ENGINE_VERSION, group: 'berth' }));
  const image = new Models.Component(Enums.ComponentType.Container, imageName(s), { bomRef: s.image.id, version: s.image.id });
  image.properties.add(new Models.Property('berth:image:id', s.image.id));
  image.properties.add(new Models.Property('berth:image:platform', `${s.image.os}/${s.image.architecture}`));
  // What a scan of the attached SBOM reports as the image's layers and warnings (sbom-from-cyclonedx.ts).
  for (const l of s.layers) image.properties.add(new Models.Property('berth:image:diffID', l.diffId));
  for (const w of s.warnings) image.properties.add(new Models.Property('berth:warning', w));
  bom.metadata.component = image;
  if (s.distro) {
    const os = new Models.Component(Enums.ComponentType.OperatingSystem, s.distro.id, { bomRef: `os:${s.distro.id}`, version: s.distro.versionId, description: s.distro.prettyName });
    bom.components.add(os);
  }
  const refs = packageRefs(s.packages);
  s.packages.forEach((p, i) => {
    const c = new Models.Component(Enums.ComponentType.Library, p.name, { bomRef: refs[i], version: p.version, purl: p.purl, licenses: cdxLicenses(p.licenses) });
    c.properties.add(new Models.Property('berth:package:type', p.type));
    c.properties.add(new Models.Property('berth:location', p.location));
    c.properties.add(new Models.Property('berth:layer:diffID', p.layer.diffId));
    c.properties.add(new Models.Property('berth:layer:index', String(p.layer.index)));
    if (p.layer.createdBy) c.properties.add(new Models.Property('berth:layer:createdBy', p.layer.createdBy));
    if (p.arch) c.properties.add(new Models.Property('berth:package:arch', p.arch));
    if (p.sourceName) c.properties.add(new Models.Property('berth:package:sourceName', p.sourceName));
    if (p.sourceVersion) c.properties.add(new Models.Property('berth:package:sourceVersion', p.sourceVersion));
    bom.components.add(c);
    image.dependencies.add(c.bomRef);
  });
  return { bom, refs };
}

/** CycloneDX 1.5 JSON text of a model (from `cyclonedxBom`, possibly extended). */
export function serializeCycloneDx(bom: Models.Bom): string {
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot5));
  return serializer.serialize(bom, { sortLists: false, space: 2 }) + '\n';
}

export function toCycloneDxJson(s: ImageSbom, o: { timestamp?: Date; serialNumber?: string } = {}): string {
  return serializeCycloneDx(cyclonedxBom(s, o).bom);
}

/** Throws with the schema's complaint when `json` is not valid CycloneDX 1.5 (strict: no unknown properties). */
export async function validateCycloneDx(json: string): Promise<void> {
  const err = await new Validation.JsonStrictValidator(Spec.Version.v1dot5).validate(json);
  if (err !== null) throw new Error(`invalid CycloneDX 1.5 document: ${JSON.stringify(err).slice(0, 2000)}`);
}

// ---- SPDX 2.3 ----

const spdxId = (s: string) => s.replace(/[^A-Za-z0-9.-]/g, '-');

/** An SPDX license expression for a package's licenses; non-SPDX names become LicenseRef-… (listed in `refs`). */
function spdxLicense(licenses: string[], refs: Map<string, string>): string {
  if (!licenses.length) return 'NOASSERTION';
  const parts = licenses.map((l) => {
    const id = spdxIdOf(l);
    if (id) return id;
    const ref = 'LicenseRef-' + spdxId(l);
    refs.set(ref, l);
    return ref;
  });
  return parts.length === 1 ? parts[0]! : parts.join(' AND ');
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: Record<string, unknown>[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
  hasExtractedLicensingInfos?: { licenseId: string; extractedText: string; name: string }[];
}

export function toSpdx(s: ImageSbom, o: { created?: Date; namespace?: string } = {}): SpdxDocument {
  const name = imageName(s);
  const refs = new Map<string, string>();
  const imageId = 'SPDXRef-Image';
  const packages: Record<string, unknown>[] = [
    {
      SPDXID: imageId,
      name,
      versionInfo: s.image.id,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: 'CONTAINER',
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
    },
  ];
  const relationships: SpdxDocument['relationships'] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId }];
  s.packages.forEach((p, i) => {
    const id = `SPDXRef-Package-${p.type}-${spdxId(p.name)}-${i}`;
    packages.push({
      SPDXID: id,
      name: p.name,
      versionInfo: p.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: 'LIBRARY',
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: spdxLicense(p.licenses, refs),
      copyrightText: 'NOASSERTION',
      sourceInfo: `found by berth in layer ${p.layer.index} (${p.layer.diffId}) at ${p.location}`,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl }],
      ...(p.sourceName ? { comment: `source package ${p.sourceName}${p.sourceVersion ? ' ' + p.sourceVersion : ''}` } : {}),
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  });
  const created = (o.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name,
    documentNamespace: o.namespace ?? `https://berth.invalid/spdx/${encodeURIComponent(name)}-${randomUUID()}`,
    creationInfo: { created, creators: [`Tool: berth-${ENGINE_VERSION}`] },
    packages,
    relationships,
    ...(refs.size ? { hasExtractedLicensingInfos: [...refs].map(([licenseId, text]) => ({ licenseId, extractedText: text, name: text })) } : {}),
  };
}

export function toSpdxJson(s: ImageSbom, o: { created?: Date; namespace?: string } = {}): string {
  return JSON.stringify(toSpdx(s, o), null, 2) + '\n';
}
