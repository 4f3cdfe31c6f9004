// SARIF 2.1.0 (OASIS) of a scan, shaped as Trivy's `--format sarif`: one run, a rule per vulnerability
// ID (its title, description, help and a `security-severity` that GitHub code scanning ranks by), a
// result per finding pointing at the package's target.
import type { DetectedVulnerability, ScanReport, ScanResult, Severity } from '../../api/scan.js';

export const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { CRITICAL: 'error', HIGH: 'error', MEDIUM: 'warning', LOW: 'note', UNKNOWN: 'note' };
/** The score GitHub ranks by when the record has no CVSS vector (the middle of each CVSS band, as Trivy). */
const BAND: Record<Severity, string> = { CRITICAL: '9.5', HIGH: '8.0', MEDIUM: '5.5', LOW: '2.0', UNKNOWN: '0.0' };

interface Rule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  defaultConfiguration: { level: string };
  helpUri?: string;
  help: { text: string; markdown: string };
  properties: { precision: string; 'security-severity': string; tags: string[] };
}

function score(v: DetectedVulnerability): string {
  const s = Object.values(v.CVSS ?? {})[0]?.V3Score;
  return s !== undefined ? s.toFixed(1) : BAND[v.Severity];
}

function uriOf(r: ScanResult, v: DetectedVulnerability, artifact: string): string {
  if (r.Class === 'os-pkgs') return artifact;
  return v.PkgPath ?? r.Target;
}

export function renderSarif(report: ScanReport, toolVersion: string): object {
  const rules: Rule[] = [];
  const index = new Map<string, number>();
  const results: object[] = [];
  for (const r of report.Results) {
    for (const v of r.Vulnerabilities ?? []) {
      let i = index.get(v.VulnerabilityID);
      const title = v.Title ?? v.VulnerabilityID;
      if (i === undefined) {
        i = rules.length;
        index.set(v.VulnerabilityID, i);
        const text = `Vulnerability ${v.VulnerabilityID}\nSeverity: ${v.Severity}\nPackage: ${v.PkgName}\nFixed Version: ${v.FixedVersion ?? ''}\nLink: ${v.PrimaryURL ?? ''}\n${v.Description ?? title}`;
        rules.push({
          id: v.VulnerabilityID,
          name: r.Class === 'os-pkgs' ? 'OsPackageVulnerability' : 'LanguageSpecificPackageVulnerability',
          shortDescription: { text: title },
          fullDescription: { text: v.Description ?? title },
          defaultConfiguration: { level: LEVEL[v.Severity] },
          ...(v.PrimaryURL ? { helpUri: v.PrimaryURL } : {}),
          help: {
            text,
            markdown: `**Vulnerability ${v.VulnerabilityID}**\n| Severity | Package | Fixed Version | Link |\n| --- | --- | --- | --- |\n|${v.Severity}|${v.PkgName}|${v.FixedVersion ?? ''}|${v.PrimaryURL ? `[${v.VulnerabilityID}](${v.PrimaryURL})` : ''}|\n\n${v.Description ?? title}`,
          },
          properties: { precision: 'very-high', 'security-severity': score(v), tags: ['vulnerability', 'security', v.Severity] },
        });
      }
      const uri = uriOf(r, v, report.ArtifactName);
      results.push({
        ruleId: v.VulnerabilityID,
        ruleIndex: i,
        level: LEVEL[v.Severity],
        message: { text: `Package: ${v.PkgName}\nInstalled Version: ${v.InstalledVersion}\nVulnerability ${v.VulnerabilityID}\nSeverity: ${v.Severity}\nFixed Version: ${v.FixedVersion ?? ''}\nLink: [${v.VulnerabilityID}](${v.PrimaryURL ?? ''})` },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri, uriBaseId: 'ROOTPATH' }, region: { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 } },
            message: { text: `${uri}: ${v.PkgName}@${v.InstalledVersion}` },
          },
        ],
      });
    }
  }
  return {
    version: '2.1.0',
    $schema: SARIF_SCHEMA,
    runs: [
      {
        tool: { driver: { fullName: 'berth vulnerability scanner', informationUri: 'https://osv.dev/', name: 'berth', rules, version: toolVersion } },
        results,
        columnKind: 'utf16CodeUnits',
        originalUriBaseIds: { ROOTPATH: { uri: 'file:///' } },
        properties: {
          imageName: report.ArtifactName,
          ...(report.Metadata.ImageID ? { imageID: report.Metadata.ImageID } : {}),
          repoDigests: report.Metadata.RepoDigests ?? [],
          repoTags: report.Metadata.RepoTags ?? [],
        },
      },
    ],
  };
}
