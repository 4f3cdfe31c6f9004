// `berth scan`'s table, laid out as Trivy prints a report: per target a heading underlined with `=`,
// the `Total:` line with the count per severity, then the findings in columns (docker's tabwriter
// layout, the headers issue 12 names: LIBRARY VULNERABILITY SEVERITY INSTALLED FIXED TITLE).
import { countBySeverity, SEVERITIES, type ScanReport } from '../../api/scan.js';
import { tabwrite } from '../format/table.js';

export function renderTable(report: ScanReport): string {
  const out: string[] = [];
  for (const r of report.Results) {
    const vulns = r.Vulnerabilities ?? [];
    const counts = countBySeverity(vulns);
    out.push('', r.Target, '='.repeat([...r.Target].length), `Total: ${vulns.length} (${SEVERITIES.map((s) => `${s}: ${counts[s]}`).join(', ')})`);
    if (!vulns.length) continue;
    const rows = ['LIBRARY\tVULNERABILITY\tSEVERITY\tINSTALLED\tFIXED\tTITLE'];
    for (const v of vulns) {
      const fixed = v.Status === 'unknown' ? `${v.FixedVersion ?? ''} (status unknown)`.trim() : (v.FixedVersion ?? '');
      rows.push([v.PkgName, v.VulnerabilityID, v.Severity, v.InstalledVersion, fixed, (v.Title ?? '').replace(/\s+/g, ' ')].join('\t'));
    }
    out.push('', tabwrite(rows.join('\n') + '\n').trimEnd());
  }
  return out.join('\n') + '\n';
}
