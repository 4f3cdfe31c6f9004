// What the matcher needs from the vulnerability database (src/engine/scan/db.ts, osv.ts, cvss.ts): the
// records naming a package, the evaluation of one record against an installed version, and the CVSS
// v3 calculator. A small interface so the matcher and its tests do not depend on how the database is
// stored.

/** The parts of an OSV record (https://ossf.github.io/osv-schema/) the matcher reads. */
export interface OsvRecord {
  id: string;
  aliases?: string[];
  summary?: string;
  details?: string;
  published?: string;
  modified?: string;
  withdrawn?: string;
  severity?: OsvSeverity[];
  affected?: OsvAffected[];
  references?: { type?: string; url: string }[];
  database_specific?: Record<string, unknown>;
}

export interface OsvSeverity {
  type: string;
  score: string;
}

export interface OsvAffected {
  package?: { ecosystem: string; name: string; purl?: string };
  severity?: OsvSeverity[];
  ranges?: { type: string; events: { introduced?: string; fixed?: string; last_affected?: string; limit?: string }[] }[];
  versions?: string[];
  ecosystem_specific?: Record<string, unknown>;
  database_specific?: Record<string, unknown>;
}

/** One record against one installed version: affected (with the fixing versions), not, or cannot tell
 *  (the version does not parse in its ecosystem). */
export interface Evaluation {
  status: 'affected' | 'not-affected' | 'unknown';
  fixed?: string[];
}

export interface VulnSource {
  /** Records with an `affected` entry for this package in this ecosystem (name as the record spells it). */
  lookup(ecosystem: string, name: string): OsvRecord[] | Promise<OsvRecord[]>;
  evaluate(record: OsvRecord, ecosystem: string, name: string, version: string): Evaluation;
  /** CVSS v3.x base score and rating of a vector; throws on a malformed vector. */
  cvss3(vector: string): { score: number; severity: string };
  /** How many records the database holds and when it was imported, for the report. */
  info?(): { records: number; updatedAt?: string };
}
