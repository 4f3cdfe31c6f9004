// The content store: blobs addressed by their sha256 digest (layers as distributed, configs,
// manifests). A blob streams into ingest/ while its digest is computed and is renamed into place
// only once digest and size are verified, so the store never holds a wrong or partial blob.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameter, NotFound } from '../../lib/errors.js';

export interface BlobInfo {
  digest: string;
  size: number;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export class ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;

  constructor(root: string) {
    this.blobsDir = path.join(root, 'content', 'sha256');
    this.ingestDir = path.join(root, 'content', 'ingest');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.blobsDir, { recursive: true });
    // Partial downloads from before a crash are never valid: drop them.
    await fs.rm(this.ingestDir, { recursive: true, force: true });
    await fs.mkdir(this.ingestDir, { recursive: true });
  }

  path(digest: string): string {
    if (!DIGEST_RE.test(digest)) throw new InvalidParameter(`invalid digest: ${digest}`);
    return path.join(this.blobsDir, digest.slice('sha256:'.length));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await fs.access(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  async size(digest: string): Promise<number> {
    try {
      return (await fs.stat(this.path(digest))).size;
    } catch {
      throw new NotFound(`blob ${digest} not found`);
    }
  }

  /** Last write time in ms (a blob is written once; GC spares fresh ones). */
  async mtime(digest: string): Promise<number> {
    return (await fs.stat(this.path(digest)).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
  }

  reader(digest: string): Readable {
    return createReadStream(this.path(digest));
  }

  async readJson<T>(digest: string): Promise<T> {
    try {
      return JSON.parse(await fs.readFile(this.path(digest), 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(`blob ${digest} not found`);
      throw e;
    }
  }

  /** Stream a blob in; verified against `expected` before it becomes visible. */
  async put(src: Readable, expected: { digest?: string; size?: number } = {}): Promise<BlobInfo> {
    const tmp = path.join(this.ingestDir, randomBytes(8).toString('hex'));
    const hash = createHash('sha256');
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      // Opened before streaming: a lazily opened stream could create the file after a failed
      // put has already removed it.
      const file = (await fs.open(tmp, 'w')).createWriteStream();
      await pipeline(src, counter, file);
      const digest = 'sha256:' + hash.digest('hex');
      if (expected.digest && expected.digest !== digest) {
        throw new InvalidParameter(`blob digest mismatch: expected ${expected.digest}, got ${digest} (${size} bytes); the blob was not stored`);
      }
      if (expected.size !== undefined && expected.size !== size) {
        throw new InvalidParameter(`blob size mismatch for ${digest}: expected ${expected.size} bytes, got ${size}; the blob was not stored`);
      }
      // The blob must be durable before it gets its name: a record naming it may follow at once.
      await syncFile(tmp);
      await fs.rename(tmp, this.path(digest));
      return { digest, size };
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  putBytes(data: Buffer | string, expectedDigest?: string): Promise<BlobInfo> {
    return this.put(Readable.from([Buffer.from(data)]), { digest: expectedDigest });
  }

  async delete(digest: string): Promise<void> {
    await fs.rm(this.path(digest), { force: true });
  }

  async *walk(): AsyncIterable<BlobInfo> {
    for (const name of await fs.readdir(this.blobsDir)) {
      const st = await fs.stat(path.join(this.blobsDir, name)).catch(() => undefined);
      if (st) yield { digest: 'sha256:' + name, size: st.size };
    }
  }
}

async function syncFile(file: string): Promise<void> {
  const fh = await fs.open(file, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}
