// The vulnerability database service of berthd: <root>/vulndb, imported from an uploaded archive,
// reported, pushed to and pulled from registries. Writes (import, pull) run one at a time; readers
// (`open`, used by the scanner) get the active generation and keep it while they read.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { JSONMessage } from '../../api/types.js';
import type { VulnDbMeta, VulnDbStatus } from '../../api/vulndb.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { importPath, VulnDb } from './db.js';
import { pullDb, pushDb } from './artifact.js';

export interface VulnDbServiceOptions {
  root: string;
  insecure?: string[];
}

export class VulnDbService {
  readonly dir: string;
  private writes: Promise<unknown> = Promise.resolve();
  private cached?: { gen: string; db: VulnDb };

  constructor(private readonly o: VulnDbServiceOptions) {
    this.dir = path.join(o.root, 'vulndb');
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.writes.then(fn, fn);
    this.writes = next.catch(() => undefined);
    return next;
  }

  /** The active database (NotFound with a how-to message when none); reopened after an import or pull. */
  open(): VulnDb {
    let gen = '';
    try {
      gen = fs.readFileSync(path.join(this.dir, 'current'), 'utf8').trim();
    } catch {
      /* VulnDb.open reports it */
    }
    if (this.cached && this.cached.gen === gen) return this.cached.db;
    const db = VulnDb.open(this.dir);
    this.cached?.db.close();
    this.cached = { gen, db };
    return db;
  }

  status(): VulnDbStatus {
    return this.open().status();
  }

  /** Import an uploaded zip, tar (optionally gzip-compressed) or JSON body; `source` names it in status. */
  importStream(src: Readable, source: string): Promise<VulnDbMeta> {
    return this.exclusive(async () => {
      await fsp.mkdir(this.dir, { recursive: true });
      const upload = path.join(this.dir, `.upload-${randomBytes(6).toString('hex')}`);
      try {
        await pipeline(src, fs.createWriteStream(upload));
        return await importPath(this.dir, upload, { source });
      } finally {
        await fsp.rm(upload, { force: true });
      }
    });
  }

  /** Import a path on berthd's host (a zip, tar, directory or JSON file). */
  importPath(file: string, source?: string): Promise<VulnDbMeta> {
    return this.exclusive(() => importPath(this.dir, file, { source }));
  }

  push(ref: string, o: { auth: AuthConfig; progress: (m: JSONMessage) => void }): Promise<string> {
    return pushDb(this.dir, ref, { ...o, insecure: this.o.insecure });
  }

  pull(ref: string, o: { auth: AuthConfig; progress: (m: JSONMessage) => void }): Promise<VulnDbMeta> {
    return this.exclusive(() => pullDb(this.dir, ref, { ...o, insecure: this.o.insecure }));
  }
}
