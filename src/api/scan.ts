// Wire types of a vulnerability scan: what `POST /images/{name}/scan` answers. The shape is Trivy's JSON
// report (SchemaVersion 2), so tools that read `trivy image --format json` read berth's too; berth adds a
// few fields (Aliases, Warnings, Database) that Trivy's readers ignore. Shared by the engine
// (src/engine/scan), the daemon's route and the CLI, with the filters both sides apply.

export const SEVERITIES = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Trivy's statuses that berth produces: a fix exists, none does, or the installed version did not parse. */
export type VulnStatus = 'fixed' | 'affected' | 'unknown';

export interface DetectedVulnerability {
  /** The OSV record's ID (CVE-…, GHSA-…, DSA-…). */
  VulnerabilityID: string;
  /** The record's other names (a GHSA's CVE): an ignore file may name any of them. */
  Aliases?: string[];
  PkgName: string;
  /** Language packages: where the package was found in the image (its package.json, METADATA, binary). */
  PkgPath?: string;
  PkgIdentifier?: { PURL: string };
  /** Debian/Alpine: the source package the advisory names. */
  PkgSrcName?: string;
  InstalledVersion: string;
  /** Versions that fix it, comma-separated as Trivy prints them; absent when no fix is known. */
  FixedVersion?: string;
  Status: VulnStatus;
  Layer?: { DiffID: string; CreatedBy?: string };
  SeveritySource?: string;
  PrimaryURL?: string;
  DataSource?: { ID: string; Name: string };
  Title?: string;
  Description?: string;
  Severity: Severity;
  CVSS?: Record<string, { V3Vector?: string; V3Score?: number }>;
  References?: string[];
  PublishedDate?: string;
  LastModifiedDate?: string;
}

/** One target: the OS packages, or one language file / group (`app/package-lock.json`, `Node.js`). */
export interface ScanResult {
  Target: string;
  Class: 'os-pkgs' | 'lang-pkgs';
  Type: string;
  /** Absent when nothing was found, as in Trivy's report. */
  Vulnerabilities?: DetectedVulnerability[];
}

export interface ScanReport {
  SchemaVersion: 2;
  CreatedAt: string;
  ArtifactName: string;
  ArtifactType: 'container_image';
  Metadata: {
    OS?: { Family: string; Name: string };
    ImageID?: string;
    DiffIDs?: string[];
    RepoTags?: string[];
    RepoDigests?: string[];
  };
  Results: ScanResult[];
  /** berth: what could not be matched (an OS without advisories, versions that did not parse, unreadable package databases). */
  Warnings?: string[];
  /** berth: the database the scan used. */
  Database?: { Records: number; UpdatedAt?: string };
  /** berth: for a remote image, whether the packages came from its signed attached SBOM or its layers, and why. */
  PackagesFrom?: string;
}

export function isSeverity(s: string): s is Severity {
  return (SEVERITIES as readonly string[]).includes(s);
}

/** `--severity HIGH,CRITICAL` → the set, or an error naming the bad word. */
export function parseSeverities(list: string): Severity[] {
  const out: Severity[] = [];
  for (const word of list.split(',').map((w) => w.trim().toUpperCase()).filter(Boolean)) {
    if (!isSeverity(word)) throw new Error(`invalid severity "${word}": use a comma-separated list of ${SEVERITIES.join(', ')}`);
    if (!out.includes(word)) out.push(word);
  }
  if (!out.length) throw new Error(`--severity is empty: use a comma-separated list of ${SEVERITIES.join(', ')}`);
  return out;
}

export interface ReportFilter {
  severities?: Severity[];
  ignoreUnfixed?: boolean;
  /** Drop a finding (ignore file); returns true to drop. */
  ignore?: (v: DetectedVulnerability, target: ScanResult) => boolean;
}

/** The report with the filtered findings removed (targets kept, as Trivy keeps clean targets). */
export function filterReport(report: ScanReport, f: ReportFilter): ScanReport {
  const keep = (v: DetectedVulnerability, r: ScanResult): boolean =>
    (!f.severities || f.severities.includes(v.Severity)) && (!f.ignoreUnfixed || !!v.FixedVersion) && !(f.ignore?.(v, r) ?? false);
  return {
    ...report,
    Results: report.Results.map((r) => {
      const vulns = (r.Vulnerabilities ?? []).filter((v) => keep(v, r));
      const { Vulnerabilities: _, ...rest } = r;
      return vulns.length ? { ...rest, Vulnerabilities: vulns } : rest;
    }),
  };
}

/** Findings per severity (all severities present, zero when none). */
export function countBySeverity(vulns: DetectedVulnerability[]): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const v of vulns) counts[v.Severity]++;
  return counts;
}

export function allFindings(report: ScanReport): DetectedVulnerability[] {
  return report.Results.flatMap((r) => r.Vulnerabilities ?? []);
}
