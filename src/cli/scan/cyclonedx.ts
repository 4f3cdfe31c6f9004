// CycloneDX 1.5 JSON of a scan (the vulnerabilities section, as `trivy image --format cyclonedx`): the
// image as the BOM's subject, a component per vulnerable package (the whole inventory is
// `berth sbom --format cyclonedx-json`), and a vulnerability per ID with its ratings, advisories and
// the components it affects. Built with @cyclonedx/cyclonedx-library, which serialises to the spec.
import * as CDX from '@cyclonedx/cyclonedx-library';
import type { DetectedVulnerability, ScanReport, Severity } from '../../api/scan.js';

const SEVERITY: Record<Severity, CDX.Enums.Vulnerability.Severity> = {
  CRITICAL: CDX.Enums.Vulnerability.Severity.Critical,
  HIGH: CDX.Enums.Vulnerability.Severity.High,
  MEDIUM: CDX.Enums.Vulnerability.Severity.Medium,
  LOW: CDX.Enums.Vulnerability.Severity.Low,
  UNKNOWN: CDX.Enums.Vulnerability.Severity.Unknown,
};

const STATUS = {
  fixed: CDX.Enums.Vulnerability.AffectStatus.Affected,
  affected: CDX.Enums.Vulnerability.AffectStatus.Affected,
  unknown: CDX.Enums.Vulnerability.AffectStatus.Unknown,
} as const;

function ratingOf(v: DetectedVulnerability): CDX.Models.Vulnerability.Rating {
  const cvss = Object.values(v.CVSS ?? {})[0];
  if (cvss?.V3Vector) {
    return new CDX.Models.Vulnerability.Rating({
      source: new CDX.Models.Vulnerability.Source({ name: 'osv' }),
      score: cvss.V3Score,
      severity: SEVERITY[v.Severity],
      method: cvss.V3Vector.startsWith('CVSS:3.0/') ? CDX.Enums.Vulnerability.RatingMethod.CVSSv3 : CDX.Enums.Vulnerability.RatingMethod.CVSSv31,
      vector: cvss.V3Vector,
    });
  }
  return new CDX.Models.Vulnerability.Rating({ source: new CDX.Models.Vulnerability.Source({ name: 'osv' }), severity: SEVERITY[v.Severity] });
}

export function buildCycloneDx(report: ScanReport, toolVersion: string): CDX.Models.Bom {
  const bom = new CDX.Models.Bom();
  bom.serialNumber = `urn:uuid:${crypto.randomUUID()}`;
  bom.metadata.timestamp = new Date(report.CreatedAt);
  bom.metadata.tools.components.add(new CDX.Models.Component(CDX.Enums.ComponentType.Application, 'berth', { version: toolVersion }));
  bom.metadata.component = new CDX.Models.Component(CDX.Enums.ComponentType.Container, report.ArtifactName, { bomRef: report.Metadata.ImageID ?? report.ArtifactName });
  const components = new Map<string, CDX.Models.Component>();
  const vulns = new Map<string, CDX.Models.Vulnerability.Vulnerability>();
  for (const r of report.Results) {
    for (const v of r.Vulnerabilities ?? []) {
      const ref = v.PkgIdentifier?.PURL ?? `${r.Target}/${v.PkgName}@${v.InstalledVersion}`;
      let c = components.get(ref);
      if (!c) {
        c = new CDX.Models.Component(CDX.Enums.ComponentType.Library, v.PkgName, { bomRef: ref, version: v.InstalledVersion, purl: v.PkgIdentifier?.PURL });
        components.set(ref, c);
        bom.components.add(c);
      }
      let vuln = vulns.get(v.VulnerabilityID);
      if (!vuln) {
        vuln = new CDX.Models.Vulnerability.Vulnerability({
          bomRef: v.VulnerabilityID,
          id: v.VulnerabilityID,
          source: new CDX.Models.Vulnerability.Source({ name: 'osv', url: v.PrimaryURL }),
          description: v.Title,
          detail: v.Description,
          published: v.PublishedDate ? validDate(v.PublishedDate) : undefined,
          updated: v.LastModifiedDate ? validDate(v.LastModifiedDate) : undefined,
        });
        vuln.ratings.add(ratingOf(v));
        for (const alias of v.Aliases ?? []) vuln.references.add(new CDX.Models.Vulnerability.Reference(alias, new CDX.Models.Vulnerability.Source({ url: `https://osv.dev/vulnerability/${alias}` })));
        for (const url of v.References ?? []) if (URL.canParse(url)) vuln.advisories.add(new CDX.Models.Vulnerability.Advisory(url));
        if (v.FixedVersion) vuln.recommendation = `Upgrade ${v.PkgName} to ${v.FixedVersion}`;
        vulns.set(v.VulnerabilityID, vuln);
        bom.vulnerabilities.add(vuln);
      }
      const affect = new CDX.Models.Vulnerability.Affect(c.bomRef);
      affect.versions.add(new CDX.Models.Vulnerability.AffectedSingleVersion(v.InstalledVersion, { status: STATUS[v.Status] }));
      vuln.affects.add(affect);
    }
  }
  return bom;
}

function validDate(s: string): Date | undefined {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function renderCycloneDx(report: ScanReport, toolVersion: string): string {
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot5));
  return serializer.serialize(buildCycloneDx(report, toolVersion), { sortLists: true, space: 2 });
}
