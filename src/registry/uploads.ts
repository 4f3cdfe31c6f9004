// Blob uploads in progress: one folder per upload under ROOT/uploads/<uuid> (its data and who it is for),
// appended to by PATCH (and the last PUT) one request at a time, hashed as the bytes arrive so finishing
// a large upload does not read it again. A failed or short chunk is cut off again, so the upload is
// always what the client was told it is. Uploads nobody touched for the TTL are removed.
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../lib/fsutil.js';
import { regError, RegistryError } from './errors.js';

export interface Upload {
  uuid: string;
  repo: string;
  dir: string;
  data: string;
  size: number;
  startedAt: number;
  lastActive: number;
  /** Hash of data[0, size) while it is known in memory (lost across a restart: then re-read). */
  hash?: Hash;
  busy: number;
  lock: Promise<unknown>;
  done: boolean;
}

export interface UploadsOptions {
  ttlMs: number;
  maxUploads: number;
}

export class Uploads {
  readonly dir: string;
  private readonly uploads = new Map<string, Upload>();
  private timer?: NodeJS.Timeout;

  constructor(
    root: string,
    private readonly opts: UploadsOptions,
  ) {
    this.dir = path.join(root, 'uploads');
  }

  /** Pick up uploads left by an earlier run (their hashes are recomputed when they finish). */
  async init(readOnly = false): Promise<void> {
    if (readOnly) return; // no uploads in read-only mode, and other servers' uploads are theirs
    await fs.mkdir(this.dir, { recursive: true });
    for (const uuid of await fs.readdir(this.dir)) {
      const dir = path.join(this.dir, uuid);
      try {
        const info = JSON.parse(await fs.readFile(path.join(dir, 'info.json'), 'utf8')) as { repo: string; startedAt: number };
        const st = await fs.stat(path.join(dir, 'data'));
        this.uploads.set(uuid, { uuid, repo: info.repo, dir, data: path.join(dir, 'data'), size: st.size, startedAt: info.startedAt, lastActive: st.mtimeMs, busy: 0, lock: Promise.resolve(), done: false });
      } catch {
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
    await this.sweep();
    const every = Math.max(1000, Math.min(this.opts.ttlMs / 4, 10 * 60_000));
    this.timer = setInterval(() => void this.sweep().catch(() => undefined), every);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get count(): number {
    return this.uploads.size;
  }

  async create(repo: string): Promise<Upload> {
    if (this.uploads.size >= this.opts.maxUploads) throw regError('TOOMANYREQUESTS', `too many uploads in progress (${this.opts.maxUploads})`);
    const uuid = randomUUID();
    const dir = path.join(this.dir, uuid);
    await fs.mkdir(dir);
    const now = Date.now();
    await writeFileAtomic(path.join(dir, 'info.json'), JSON.stringify({ repo, startedAt: now }));
    await fs.writeFile(path.join(dir, 'data'), '');
    const u: Upload = { uuid, repo, dir, data: path.join(dir, 'data'), size: 0, startedAt: now, lastActive: now, hash: createHash('sha256'), busy: 0, lock: Promise.resolve(), done: false };
    this.uploads.set(uuid, u);
    return u;
  }

  /** The upload `uuid` of repository `repo`, or BLOB_UPLOAD_UNKNOWN. */
  get(repo: string, uuid: string): Upload {
    const u = this.uploads.get(uuid);
    if (!u || u.repo !== repo || u.done || this.expired(u)) throw regError('BLOB_UPLOAD_UNKNOWN', undefined, { uuid });
    return u;
  }

  private expired(u: Upload): boolean {
    return u.busy === 0 && Date.now() - u.lastActive > this.opts.ttlMs;
  }

  /** Run fn with the upload to itself (requests on one upload are taken in order). */
  async exclusive<T>(u: Upload, fn: () => Promise<T>): Promise<T> {
    u.busy++;
    const run = u.lock.then(() => {
      if (u.done) throw regError('BLOB_UPLOAD_UNKNOWN', undefined, { uuid: u.uuid });
      return fn();
    });
    u.lock = run.catch(() => undefined);
    try {
      return await run;
    } finally {
      u.busy--;
      u.lastActive = Date.now();
    }
  }

  /**
   * Append a request body. `start` (from Content-Range) must be the current size, else RANGE_INVALID
   * (416); `length` (Content-Range or Content-Length) must be what arrives, else SIZE_INVALID; `limit`
   * caps the upload's total size (quota) with DENIED. On any failure the chunk is cut off again.
   */
  async append(u: Upload, body: Readable, opts: { start?: number; length?: number; limit?: number; limitError?: () => RegistryError } = {}): Promise<void> {
    if (opts.start !== undefined && opts.start !== u.size) {
      throw regError('RANGE_INVALID', `content range starts at ${opts.start}, the upload has ${u.size} bytes`, { size: u.size }).withHeaders({ Range: rangeHeader(u.size), 'Docker-Upload-UUID': u.uuid });
    }
    const before = u.size;
    const saved = u.hash?.copy();
    const hash = u.hash;
    let received = 0;
    const limit = opts.limit;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        if (limit !== undefined && before + received > limit) {
          cb(opts.limitError?.() ?? regError('DENIED', 'upload too large'));
          return;
        }
        hash?.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, counter, createWriteStream(u.data, { flags: 'a', highWaterMark: 1 << 20 }));
      if (opts.length !== undefined && received !== opts.length) {
        throw regError('SIZE_INVALID', `chunk of ${received} bytes does not match the declared ${opts.length}`, { received, declared: opts.length });
      }
      u.size = before + received;
    } catch (e) {
      await fs.truncate(u.data, before).catch(() => undefined);
      u.size = before;
      u.hash = saved;
      throw e;
    }
  }

  /** The digest of everything uploaded, from the running hash or by reading the data again. */
  async digest(u: Upload): Promise<string> {
    if (u.hash) return 'sha256:' + u.hash.copy().digest('hex');
    const h = createHash('sha256');
    for await (const c of createReadStream(u.data, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) h.update(c);
    return 'sha256:' + h.digest('hex');
  }

  /** Make the data durable before it is renamed into the store. */
  async sync(u: Upload): Promise<void> {
    const fh = await fs.open(u.data, 'r+');
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /** Forget an upload and remove whatever is left of it. */
  async remove(u: Upload): Promise<void> {
    u.done = true;
    this.uploads.delete(u.uuid);
    await fs.rm(u.dir, { recursive: true, force: true });
  }

  /** Remove uploads idle for longer than the TTL. */
  async sweep(): Promise<number> {
    let n = 0;
    for (const u of [...this.uploads.values()]) {
      if (!this.expired(u)) continue;
      await this.remove(u);
      n++;
    }
    return n;
  }
}

/** The Range header of an upload of `size` bytes: "0-<last byte>", "0-0" when empty (distribution's form). */
export function rangeHeader(size: number): string {
  return `0-${size > 0 ? size - 1 : 0}`;
}
