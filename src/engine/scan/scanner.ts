// The scan service: an image's inventory (local image, `docker save` archive, or remote reference —
// layers fetched, nothing stored as an image) matched against the imported vulnerability database.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { ImageSbom } from '../../api/sbom.js';
import type { ScanReport } from '../../api/scan.js';
import type { AuthConfig } from '../../distribution/auth.js';
import type { TrustedKey } from '../../distribution/cosign.js';
import { parseNormalizedNamed } from '../../image-spec/reference.js';
import { InvalidParameter, NotFound, Unavailable } from '../../lib/errors.js';
import { matchSbom } from './match.js';
import type { VulnSource } from './source.js';

/** Where the packages come from. */
export type InventorySource =
  | { kind: 'image'; name: string }
  | { kind: 'archive'; path: string; name: string }
  | { kind: 'remote'; ref: string; auth?: AuthConfig; keys?: TrustedKey[] };

/** What the scan needs from the package inventory (src/engine/sbom). */
export interface Inventory {
  inventoryOf(source: InventorySource): Promise<ImageSbom>;
}

/** `local` looks in berth's image store, `remote` fetches the reference's layers from its registry. */
export type ImageSrc = 'local' | 'remote';

export interface ScanRequest {
  /** The image name or remote reference; for an archive, the name to report it under. */
  image: string;
  /** Where to look, in order (Trivy's --image-src). */
  src?: ImageSrc[];
  auth?: AuthConfig;
  /** Keys the client trusts: a remote image's attached SBOM signed by one of them is used instead of its layers (attested.ts). */
  keys?: TrustedKey[];
  /** A `docker save` archive to scan instead of a stored image. */
  archive?: Readable;
}

export const NO_DATABASE =
  'no vulnerability database has been imported: run `berth scan db import FILE|DIR` (OSV records, e.g. osv.dev\'s per-ecosystem all.zip) or `berth scan db pull REF` first';

/** True when a reference names its registry (`127.0.0.1:5000/app`, `ghcr.io/x/y`, `localhost/app`). */
export function namesRegistry(ref: string): boolean {
  const first = ref.split('/')[0] ?? '';
  return ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
}

export class ScanService {
  constructor(
    private readonly deps: {
      inventory: Inventory;
      /** The database, or undefined when none was imported. */
      database: () => Promise<VulnSource | undefined>;
      /** A directory for an uploaded archive while it is read. */
      tmpDir: string;
    },
  ) {}

  async scan(req: ScanRequest): Promise<ScanReport> {
    const db = await this.deps.database();
    if (!db) {
      req.archive?.resume();
      throw new Unavailable(NO_DATABASE);
    }
    const sbom = req.archive ? await this.fromArchive(req.archive, req.image) : await this.fromImage(req);
    const report = await matchSbom(sbom, db, { artifactName: req.image });
    return sbom.origin ? { ...report, PackagesFrom: sbom.origin } : report;
  }

  private async fromImage(req: ScanRequest): Promise<ImageSbom> {
    const src = req.src?.length ? req.src : (['local', 'remote'] as ImageSrc[]);
    if (!req.image) throw new InvalidParameter('no image named to scan');
    let notFound: unknown;
    for (const s of src) {
      if (s === 'local') {
        try {
          return await this.deps.inventory.inventoryOf({ kind: 'image', name: req.image });
        } catch (e) {
          if (!(e instanceof NotFound)) throw e;
          notFound = e;
        }
      } else {
        // Remote after a local miss only for a reference that names its registry, so a mistyped
        // local name does not go to Docker Hub; `--image-src remote` (or --remote) asks for any.
        if (notFound && !namesRegistry(req.image)) continue;
        parseNormalizedNamed(req.image);
        try {
          return await this.deps.inventory.inventoryOf({ kind: 'remote', ref: req.image, auth: req.auth, keys: req.keys });
        } catch (e) {
          // Say what was tried: the registry's answer alone does not name the image or why it was asked.
          if (e instanceof Error) e.message = `cannot scan ${req.image} from its registry${notFound ? ' (it is not stored locally)' : ''}: ${e.message}`;
          throw e;
        }
      }
    }
    throw new NotFound(`No such image: ${req.image}${src.includes('remote') ? ' (not stored locally; name its registry, as in 127.0.0.1:5000/app:1, or use --remote, to scan it from a registry)' : ''}`);
  }

  private async fromArchive(archive: Readable, name: string): Promise<ImageSbom> {
    await fs.mkdir(this.deps.tmpDir, { recursive: true });
    const dir = await fs.mkdtemp(path.join(this.deps.tmpDir, 'scan-'));
    try {
      const file = path.join(dir, 'image.tar');
      await pipeline(archive, (await fs.open(file, 'w')).createWriteStream());
      try {
        return await this.deps.inventory.inventoryOf({ kind: 'archive', path: file, name });
      } catch (e) {
        // Name the user's archive, not the daemon's copy of it.
        if (e instanceof Error && e.message.includes(file)) e.message = e.message.split(file).join(name);
        throw e;
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}
