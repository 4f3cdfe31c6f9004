// The scan service's two suppliers, adapted to its small interfaces: the package inventory (the SBOM
// service) and the vulnerability database (db.ts, osv.ts, cvss.ts) as a VulnSource.
import type { SbomService } from '../sbom/service.js';
import { cvss3 } from './cvss.js';
import { VulnDb } from './db.js';
import { evaluate, type OsvRecord as DbRecord } from './osv.js';
import type { Inventory } from './scanner.js';
import type { VulnSource } from './source.js';

export function sbomInventory(sbom: Pick<SbomService, 'inventoryOf'>): Inventory {
  return {
    inventoryOf: (s) => sbom.inventoryOf(s.kind === 'image' ? { image: s.name } : s.kind === 'archive' ? { archive: s.path } : { remote: s.ref, auth: s.auth }),
  };
}

export function osvSource(db: VulnDb): VulnSource {
  return {
    lookup: (ecosystem, name) => db.lookup(ecosystem, name),
    // The records come from this database, so they have the shape osv.ts validated on import.
    evaluate: (record, ecosystem, name, version) => evaluate(record as DbRecord, ecosystem, name, version),
    cvss3: (vector) => {
      const r = cvss3(vector);
      if (!r) throw new Error(`not a CVSS v3 vector: ${vector}`);
      return r;
    },
    info: () => ({ records: db.meta.records, updatedAt: db.meta.importedAt }),
  };
}

/** The database under `dir` as each scan finds it: opened again after an import (a new generation), kept
 *  open (its index loaded once) otherwise; undefined when none was imported. */
export function openDatabase(dir: string): () => Promise<VulnSource | undefined> {
  let open: VulnDb | undefined;
  return async () => {
    const db = VulnDb.tryOpen(dir);
    if (!db) return undefined;
    if (open?.genDir !== db.genDir) {
      open?.close();
      open = db;
    }
    return osvSource(open);
  };
}
