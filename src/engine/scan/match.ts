// Matching: the packages of an image's inventory (ImageSbom) against the vulnerability database → a
// report in Trivy's JSON shape, grouped by target (the OS packages, then one target per language file).
// Withdrawn records are skipped. A version that does not parse in its ecosystem is never matched
// silently either way: each record naming the package is listed with Status "unknown", and a warning
// names the package.
import type { ImageSbom, Package } from '../../api/sbom.js';
import type { DetectedVulnerability, ScanReport, ScanResult } from '../../api/scan.js';
import { matchKey, osEcosystem, sameName, type MatchKey } from './ecosystem.js';
import { severityOf } from './severity.js';
import type { OsvAffected, OsvRecord, VulnSource } from './source.js';
import { targetOf } from './targets.js';

export interface MatchOptions {
  /** The name the user scanned (`app:1`, `127.0.0.1:5000/app:1`, `app.tar`). */
  artifactName: string;
  now?: Date;
}

/** The findings of one package: one per (non-withdrawn) record that affects it or cannot be decided. */
export async function matchPackage(pkg: Package, key: MatchKey, source: VulnSource): Promise<{ vulns: DetectedVulnerability[]; unparsed: boolean }> {
  const records = await source.lookup(key.ecosystem, key.name);
  const vulns: DetectedVulnerability[] = [];
  const seen = new Set<string>();
  let unparsed = false;
  for (const record of records) {
    if (record.withdrawn || seen.has(record.id)) continue;
    const affected = (record.affected ?? []).filter((a) => a.package?.ecosystem === key.ecosystem && sameName(key.ecosystem, a.package.name, key.name));
    if (!affected.length) continue;
    const ev = source.evaluate(record, key.ecosystem, affected[0]!.package!.name, key.version);
    if (ev.status === 'not-affected') continue;
    if (ev.status === 'unknown') unparsed = true;
    seen.add(record.id);
    vulns.push(finding(pkg, record, affected, ev.status === 'unknown' ? 'unknown' : ev.fixed?.length ? 'fixed' : 'affected', ev.fixed ?? [], source));
  }
  return { vulns, unparsed };
}

function finding(pkg: Package, record: OsvRecord, affected: OsvAffected[], status: DetectedVulnerability['Status'], fixed: string[], source: VulnSource): DetectedVulnerability {
  const sev = severityOf(record, affected[0], (v) => source.cvss3(v));
  const title = record.summary?.trim() || firstSentence(record.details);
  // Trivy's field order, absent fields left out.
  const v: DetectedVulnerability = {
    VulnerabilityID: record.id,
    Aliases: record.aliases?.length ? [...record.aliases] : undefined,
    PkgName: pkg.name,
    PkgPath: pkg.type === 'deb' || pkg.type === 'apk' ? undefined : pkg.location.replace(/^\//, ''),
    PkgSrcName: pkg.sourceName && pkg.sourceName !== pkg.name ? pkg.sourceName : undefined,
    PkgIdentifier: { PURL: pkg.purl },
    InstalledVersion: pkg.version,
    FixedVersion: fixed.length ? [...new Set(fixed)].join(', ') : undefined,
    Status: status,
    Layer: { DiffID: pkg.layer.diffId, ...(pkg.layer.createdBy ? { CreatedBy: pkg.layer.createdBy } : {}) },
    SeveritySource: sev.source,
    PrimaryURL: `https://osv.dev/vulnerability/${record.id}`,
    Title: title,
    Description: record.details || undefined,
    Severity: sev.severity,
    CVSS: sev.vector ? { osv: { V3Vector: sev.vector, V3Score: sev.score } } : undefined,
    References: record.references?.length ? record.references.map((r) => r.url) : undefined,
    PublishedDate: record.published,
    LastModifiedDate: record.modified,
  };
  for (const k of Object.keys(v) as (keyof DetectedVulnerability)[]) if (v[k] === undefined) delete v[k];
  return v;
}

function firstSentence(details: string | undefined): string | undefined {
  const line = details?.trim().split('\n')[0]?.trim();
  if (!line) return undefined;
  return line.length > 100 ? `${line.slice(0, 97)}...` : line;
}

const bySeverityThenId = (a: DetectedVulnerability, b: DetectedVulnerability): number =>
  a.PkgName.localeCompare(b.PkgName) || a.VulnerabilityID.localeCompare(b.VulnerabilityID) || (a.PkgPath ?? '').localeCompare(b.PkgPath ?? '');

/** The whole scan of one inventory. */
export async function matchSbom(sbom: ImageSbom, source: VulnSource, opts: MatchOptions): Promise<ScanReport> {
  const warnings = [...sbom.warnings];
  const os = osEcosystem(sbom.distro);
  const osEco = 'ecosystem' in os ? os.ecosystem : undefined;
  const hasOsPkgs = sbom.packages.some((p) => p.type === 'deb' || p.type === 'apk');
  if (!osEco && hasOsPkgs && 'reason' in os) warnings.push(os.reason);
  const results = new Map<string, ScanResult>();
  const unparsed: string[] = [];
  for (const pkg of sbom.packages) {
    const target = targetOf(pkg, sbom.distro, opts.artifactName);
    let result = results.get(target.Target);
    if (!result) results.set(target.Target, (result = { ...target }));
    const key = matchKey(pkg, osEco);
    if (!key) continue;
    const { vulns, unparsed: bad } = await matchPackage(pkg, key, source);
    if (bad) unparsed.push(`${pkg.name} ${pkg.version} (${key.ecosystem})`);
    if (vulns.length) (result.Vulnerabilities ??= []).push(...vulns);
  }
  if (unparsed.length) {
    warnings.push(`versions that do not parse in their ecosystem, so their records are listed with status "unknown" (neither matched nor ruled out): ${unparsed.join(', ')}`);
  }
  const ordered = [...results.values()].sort((a, b) => (a.Class === b.Class ? a.Target.localeCompare(b.Target) : a.Class === 'os-pkgs' ? -1 : 1));
  for (const r of ordered) r.Vulnerabilities?.sort(bySeverityThenId);
  const info = source.info?.();
  const report: ScanReport = {
    SchemaVersion: 2,
    CreatedAt: (opts.now ?? new Date()).toISOString(),
    ArtifactName: opts.artifactName,
    ArtifactType: 'container_image',
    Metadata: {
      ...(sbom.distro ? { OS: { Family: sbom.distro.id, Name: sbom.distro.versionId ?? '' } } : {}),
      ImageID: sbom.image.id,
      DiffIDs: sbom.layers.map((l) => l.diffId),
      RepoTags: sbom.image.repoTags,
      RepoDigests: sbom.image.repoDigests,
    },
    Results: ordered,
  };
  if (warnings.length) report.Warnings = warnings;
  if (info) report.Database = { Records: info.records, ...(info.updatedAt ? { UpdatedAt: info.updatedAt } : {}) };
  return report;
}
