// Wire types of berth's vulnerability database: what `GET /scan/db` and `POST /scan/db/import` answer,
// shared by the engine (src/engine/scan/db.ts), the daemon's routes and the CLI (`berth scan db`).

/** Why a record of an import was left out. */
export type SkipReason = 'unknown-ecosystem' | 'malformed' | 'no-affected' | 'invalid-json' | 'duplicate';

export interface VulnDbMeta {
  format: number;
  /** What was imported (file or directory name), or the reference it was pulled from. */
  source: string;
  importedAt: string;
  /** Set when the database came from `berth scan db pull`. */
  pulledAt?: string;
  records: number;
  /** Records per ecosystem (`Debian:12`, `npm`, …); a record naming two ecosystems counts in both. */
  ecosystems: Record<string, number>;
  /** Package keys in the index. */
  packages: number;
  skipped: Partial<Record<SkipReason, number>>;
  /** A few of the skipped records with their reason, to tell a user what was wrong. */
  skippedExamples: string[];
  /** JSON files read by the import. */
  files: number;
}

export interface VulnDbStatus extends VulnDbMeta {
  path: string;
  ageSeconds: number;
  sizeBytes: number;
}

/** The OCI artifact a database is pushed as. */
export const VULNDB_MEDIA = {
  artifact: 'application/vnd.berth.vulndb.v1',
  meta: 'application/vnd.berth.vulndb.meta.v1+json',
  index: 'application/vnd.berth.vulndb.index.v1',
  records: 'application/vnd.berth.vulndb.records.v1+jsonl+gzip',
  emptyConfig: 'application/vnd.oci.empty.v1+json',
} as const;
