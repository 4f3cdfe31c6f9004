// A record's severity, as Trivy would show it: a CVSS v3 vector scored (the record's, else the
// affected entry's), else a rating the database states (`database_specific.severity`: GitHub's
// CRITICAL/HIGH/MODERATE/LOW; Debian's urgency; `ecosystem_specific.severity`), else UNKNOWN.
import type { Severity } from '../../api/scan.js';
import type { OsvAffected, OsvRecord, VulnSource } from './source.js';

export interface SeverityInfo {
  severity: Severity;
  /** Where it came from: `cvss_v3`, `database_specific`, `ecosystem_specific`, or absent for UNKNOWN. */
  source?: string;
  vector?: string;
  score?: number;
}

const WORDS: Record<string, Severity> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  important: 'HIGH',
  moderate: 'MEDIUM',
  medium: 'MEDIUM',
  low: 'LOW',
  negligible: 'LOW',
  unimportant: 'LOW',
};

/** A stated rating word → a severity (undefined for none or a word we do not know). */
export function ratingWord(v: unknown): Severity | undefined {
  return typeof v === 'string' ? WORDS[v.trim().toLowerCase()] : undefined;
}

/** CVSS 3.x's rating (None/Low/Medium/High/Critical) → Trivy's scale; a 0.0 score has none (UNKNOWN). */
function fromCvssRating(r: string): Severity {
  return ratingWord(r) ?? 'UNKNOWN';
}

export function severityOf(record: OsvRecord, affected: OsvAffected | undefined, cvss3: VulnSource['cvss3']): SeverityInfo {
  for (const list of [record.severity, affected?.severity]) {
    for (const s of list ?? []) {
      if (s.type !== 'CVSS_V3' || typeof s.score !== 'string') continue;
      try {
        const { score, severity } = cvss3(s.score);
        return { severity: fromCvssRating(severity), source: 'cvss_v3', vector: s.score, score };
      } catch {
        // a malformed vector: try the next source
      }
    }
  }
  const stated: [unknown, string][] = [
    [affected?.database_specific?.severity, 'database_specific'],
    [affected?.ecosystem_specific?.severity, 'ecosystem_specific'],
    [affected?.database_specific?.urgency, 'database_specific'],
    [record.database_specific?.severity, 'database_specific'],
  ];
  for (const [v, source] of stated) {
    const sev = ratingWord(v);
    if (sev) return { severity: sev, source };
  }
  return { severity: 'UNKNOWN' };
}
