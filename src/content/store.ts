// The content store: blobs addressed by their sha256 digest (layers as distributed, configs,
// manifests). A blob streams into ingest/ while its digest is computed and is renamed into place
// only once digest and size are verified, so the store never holds a wrong or partial blob.
// A layer a build made is kept only as its files (the layer store's directory) with a record in lazy/:
// its tar is made again, and verified, the first time something reads the blob (save, push), so builds
// never write each layer twice.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameter, NotFound } from '../lib/errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../lib/fsutil.js';

export interface BlobInfo {
  digest: string;
  size: number;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** A blob kept as the files it was made from: the layer (by chain ID) whose tar it is, and its size. */
export interface LazyBlob {
  size: number;
  chainId: string;
}

/** Where lazy blobs come from (the images service wires the layer store in). */
export interface LazySource {
  exists(b: LazyBlob): Promise<boolean>;
  open(b: LazyBlob): Promise<Readable>;
}

export class ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;
  readonly lazyDir: string;
  /** Unset: no blob is lazy (the registry server's store). */
  lazySource?: LazySource;
  private readonly materializing = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.blobsDir = path.join(root, 'content', 'sha256');
    this.ingestDir = path.join(root, 'content', 'ingest');
    this.lazyDir = path.join(root, 'content', 'lazy');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.blobsDir, { recursive: true });
    await fs.mkdir(this.lazyDir, { recursive: true });
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
      const lazy = await this.lazy(digest);
      return !!lazy && !!(await this.lazySource?.exists(lazy));
    }
  }

  async size(digest: string): Promise<number> {
    try {
      return (await fs.stat(this.path(digest))).size;
    } catch {
      const lazy = await this.lazy(digest);
      if (lazy) return lazy.size;
      throw new NotFound(`blob ${digest} not found`);
    }
  }

  /** Last write time in ms (a blob is written once; GC spares fresh ones). */
  async mtime(digest: string): Promise<number> {
    const st = await fs.stat(this.path(digest)).catch(() => fs.stat(this.lazyPath(digest)).catch(() => ({ mtimeMs: 0 })));
    return st.mtimeMs;
  }

  reader(digest: string): Readable {
    const file = this.path(digest);
    if (existsSync(file) || !this.lazySource) return createReadStream(file);
    // A lazy blob: its tar is made (and verified) first, then read like any other.
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    void this.materialize(digest).then(
      () => createReadStream(file).on('error', (e) => out.destroy(e)).pipe(out),
      (e: Error) => out.destroy(e),
    );
    return out;
  }

  /** Keep a layer's blob as its files (see the header); nothing to do when the blob is already stored. */
  async putLazy(digest: string, blob: LazyBlob): Promise<void> {
    if (existsSync(this.path(digest))) return;
    await writeJsonAtomic(this.lazyPath(digest), blob);
  }

  private lazyPath(digest: string): string {
    return path.join(this.lazyDir, this.path(digest).slice(this.blobsDir.length + 1) + '.json');
  }

  private lazy(digest: string): Promise<LazyBlob | undefined> {
    return readJsonIfExists<LazyBlob>(this.lazyPath(digest)).catch(() => undefined);
  }

  /** Turn a lazy blob into a stored one (once, however many read it at the same time). */
  private materialize(digest: string): Promise<void> {
    let p = this.materializing.get(digest);
    if (!p) {
      p = (async () => {
        const lazy = await this.lazy(digest);
        if (!lazy || !(await this.lazySource!.exists(lazy))) throw new NotFound(`blob ${digest} not found`);
        await this.put(await this.lazySource!.open(lazy), { digest, size: lazy.size });
        await fs.rm(this.lazyPath(digest), { force: true });
      })().finally(() => this.materializing.delete(digest));
      this.materializing.set(digest, p);
    }
    return p;
  }

  async readText(digest: string): Promise<string> {
    try {
      return await fs.readFile(this.path(digest), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(`blob ${digest} not found`);
      throw e;
    }
  }

  async readJson<T>(digest: string): Promise<T> {
    const text = await this.readText(digest);
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new InvalidParameter(`blob ${digest} is not valid JSON: ${(e as Error).message}`);
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
    await fs.rm(this.lazyPath(digest), { force: true });
  }

  /** Every blob, stored or lazy. */
  async *walk(): AsyncIterable<BlobInfo> {
    for (const name of await fs.readdir(this.blobsDir)) {
      const st = await fs.stat(path.join(this.blobsDir, name)).catch(() => undefined);
      if (st) yield { digest: 'sha256:' + name, size: st.size };
    }
    for (const name of await fs.readdir(this.lazyDir).catch((): string[] => [])) {
      const digest = 'sha256:' + name.replace(/\.json$/, '');
      const lazy = DIGEST_RE.test(digest) ? await this.lazy(digest) : undefined;
      if (lazy) yield { digest, size: lazy.size };
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
