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

/** How long a replaced generation stays open for the scans that were reading it. */
const RETIRE_MS = 60_000;

export interface VulnDbServiceOptions {
  root: string;
  insecure?: string[];
}

export class VulnDbService {
  readonly dir: string;
  private writes: Promise<unknown> = Promise.resolve();
  private cached?: VulnDb;

  constructor(private readonly o: VulnDbServiceOptions) {
    this.dir = path.join(o.root, 'vulndb');
    // What an import or pull interrupted by a crash left: uploads and unfinished generations.
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(this.dir);
    } catch {
      /* no database yet */
    }
    for (const e of entries) {
      if (e.startsWith('.upload-') || e.startsWith('.tmp-gen-') || e.startsWith('current.')) fs.rmSync(path.join(this.dir, e), { recursive: true, force: true });
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.writes.then(fn, fn);
    this.writes = next.catch(() => undefined);
    return next;
  }

  /** The active database, kept open (index loaded once) until an import or pull installs another
   * generation; then the old one is closed a while later, so scans still reading it finish undisturbed.
   * Callers must not close it. NotFound, with a how-to message, when there is none. */
  open(): VulnDb {
    let gen = '';
    try {
      gen = fs.readFileSync(path.join(this.dir, 'current'), 'utf8').trim();
    } catch {
      /* VulnDb.open reports it */
    }
    if (this.cached && path.basename(this.cached.genDir) === gen) return this.cached;
    const db = VulnDb.open(this.dir);
    const old = this.cached;
    if (old) setTimeout(() => old.close(), RETIRE_MS).unref();
    this.cached = db;
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
