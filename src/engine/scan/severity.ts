// A record's severity, as Trivy would show it: its CVSS v3 vectors scored (the record's and the affected
// entry's; the highest wins), else a rating the database states (`database_specific.severity`: GitHub's
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
  // The highest-scoring well-formed CVSS v3 vector, the record's or the affected entry's.
  let best: SeverityInfo | undefined;
  for (const s of [...(record.severity ?? []), ...(affected?.severity ?? [])]) {
    if (s.type !== 'CVSS_V3' || typeof s.score !== 'string') continue;
    try {
      const { score, severity } = cvss3(s.score);
      if (!best || score > best.score!) best = { severity: fromCvssRating(severity), source: 'cvss_v3', vector: s.score, score };
    } catch {
      // a malformed vector: try the next source
    }
  }
  if (best) return best;
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
