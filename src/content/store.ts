// The file content store (the ContentStore of content-store.ts): blobs addressed by their sha256 digest
// (layers as distributed, configs, manifests) kept as ROOT/content/sha256/<hex>. A writer streams into
// ingest/ while its digest is computed and renames into place only once digest and size are verified, so
// the store never holds a wrong or partial blob; ingest/ is emptied on init (what a crash left there).
// A layer a build made is kept only as its files (the layer store's directory) with a record in lazy/:
// its tar is made again, and verified, the first time something reads the blob (save, push), so builds
// never write each layer twice. No path is handed out: callers read through reader/readerAt.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { InvalidParameter, NotFound, SystemError } from '../lib/errors.js';
import { fsyncDir, readJsonIfExists, writeJsonAtomic } from '../lib/fsutil.js';
import { traceStart } from '../lib/trace.js';
import { checkDigest, DIGEST_RE, has, putBytes, putStream, readJson, readText, type ContentInfo, type ContentStore as ContentStoreInterface, type ContentWriter, type Expected, type ReaderAt } from './content-store.js';

export interface BlobInfo {
  digest: string;
  size: number;
}

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

/** Read size of blob streams (the registry server reads in chunks of the same size). */
const CHUNK = 256 * 1024;

const isEnoent = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'ENOENT';
const notFound = (digest: string): NotFound => new NotFound(`blob ${digest} not found`);

export class FileContentStore implements ContentStoreInterface {
  private readonly blobsDir: string;
  private readonly ingestDir: string;
  private readonly lazyDir: string;
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
    // Partial writes from before a crash are never valid: drop them.
    await fs.rm(this.ingestDir, { recursive: true, force: true });
    await fs.mkdir(this.ingestDir, { recursive: true });
  }

  /** Whether the root holds a content store at all (a read-only opener checks instead of making one). */
  hasLayout(): Promise<boolean> {
    return fs.stat(this.blobsDir).then((s) => s.isDirectory(), () => false);
  }

  private blobFile(digest: string): string {
    return path.join(this.blobsDir, checkDigest(digest).slice('sha256:'.length));
  }

  private lazyPath(digest: string): string {
    return path.join(this.lazyDir, checkDigest(digest).slice('sha256:'.length) + '.json');
  }

  // ---- the ContentStore interface ----

  async info(digest: string): Promise<ContentInfo> {
    try {
      const st = await fs.stat(this.blobFile(digest));
      return { digest, size: st.size, createdAt: st.mtimeMs };
    } catch (e) {
      if (!isEnoent(e)) throw e;
    }
    const lazy = await this.lazy(digest);
    if (!lazy || !(await this.lazySource?.exists(lazy))) throw notFound(digest);
    const st = await fs.stat(this.lazyPath(digest)).catch(() => ({ mtimeMs: 0 }));
    return { digest, size: lazy.size, createdAt: st.mtimeMs };
  }

  reader(digest: string, opts: { start?: number } = {}): Readable {
    return new BlobReader(() => this.open(digest), digest, opts.start ?? 0);
  }

  async readerAt(digest: string): Promise<ReaderAt> {
    const fh = await this.open(digest);
    return {
      size: async () => (await fh.stat()).size,
      read: async (buf, offset, length, position) => (await fh.read(buf, offset, length, position)).bytesRead,
      close: () => fh.close(),
    };
  }

  async writer(): Promise<ContentWriter> {
    const tmp = path.join(this.ingestDir, randomBytes(8).toString('hex'));
    // Opened before anything streams: a lazily opened file could appear after a failed write removed it.
    const fh = await fs.open(tmp, 'w');
    return new FileWriter(fh, tmp, (digest) => this.blobFile(digest));
  }

  async delete(digest: string): Promise<void> {
    await fs.rm(this.blobFile(digest), { force: true });
    await fs.rm(this.lazyPath(digest), { force: true });
  }

  /** Every blob, stored or lazy. */
  async *walk(): AsyncIterable<ContentInfo> {
    for (const name of await fs.readdir(this.blobsDir)) {
      const st = await fs.stat(path.join(this.blobsDir, name)).catch(() => undefined);
      if (st) yield { digest: 'sha256:' + name, size: st.size, createdAt: st.mtimeMs };
    }
    for (const name of await fs.readdir(this.lazyDir).catch((): string[] => [])) {
      const digest = 'sha256:' + name.replace(/\.json$/, '');
      const lazy = DIGEST_RE.test(digest) ? await this.lazy(digest) : undefined;
      const st = lazy && (await fs.stat(path.join(this.lazyDir, name)).catch(() => undefined));
      if (lazy) yield { digest, size: lazy.size, createdAt: st ? st.mtimeMs : 0 };
    }
  }

  // ---- conveniences (functions of content-store.ts, kept as methods for the callers) ----

  has(digest: string): Promise<boolean> {
    return has(this, digest);
  }

  async size(digest: string): Promise<number> {
    return (await this.info(digest)).size;
  }

  /** Last write time in ms, 0 when unknown (GC spares fresh blobs). */
  async mtime(digest: string): Promise<number> {
    const st = await fs.stat(this.blobFile(digest)).catch(() => fs.stat(this.lazyPath(digest)).catch(() => ({ mtimeMs: 0 })));
    return st.mtimeMs;
  }

  readText(digest: string): Promise<string> {
    return readText(this, digest);
  }

  readJson<T>(digest: string): Promise<T> {
    return readJson<T>(this, digest);
  }

  /** Stream a blob in; verified against `expected` before it becomes visible. */
  async put(src: Readable, expected: Expected = {}): Promise<BlobInfo> {
    const { digest, size } = await putStream(this, src, expected);
    return { digest, size };
  }

  async putBytes(data: Buffer | string, expectedDigest?: string): Promise<BlobInfo> {
    const { digest, size } = await putBytes(this, data, expectedDigest);
    return { digest, size };
  }

  // ---- implementation features, not in the interface ----

  /**
   * Take in a file the caller has already verified as it arrived (the registry's chunked uploads hash
   * every PATCH): renamed into place, not copied and hashed again. It must be on the store's file system.
   * A path goes in here; none comes out.
   */
  async adoptVerifiedFile(file: string, expected: { digest: string; size: number }): Promise<void> {
    const target = this.blobFile(expected.digest);
    const st = await fs.stat(file);
    if (st.size !== expected.size) throw new SystemError(`upload ${file} holds ${st.size} bytes, not ${expected.size}`);
    const have = await fs.stat(target).then((s) => s.size === expected.size, () => false);
    if (have) await fs.rm(file, { force: true });
    else {
      await fs.rename(file, target);
      await fsyncDir(this.blobsDir);
    }
  }

  /** Keep a layer's blob as its files (see the header); nothing to do when the blob is already stored. */
  async putLazy(digest: string, blob: LazyBlob): Promise<void> {
    if (await fs.access(this.blobFile(digest)).then(() => true, () => false)) return;
    await writeJsonAtomic(this.lazyPath(digest), blob);
  }

  private lazy(digest: string): Promise<LazyBlob | undefined> {
    return readJsonIfExists<LazyBlob>(this.lazyPath(digest)).catch(() => undefined);
  }

  /** Open a stored blob; a lazy one is made (and verified) first. */
  private async open(digest: string): Promise<fs.FileHandle> {
    const file = this.blobFile(digest);
    try {
      return await fs.open(file, 'r');
    } catch (e) {
      if (!isEnoent(e)) throw e;
      if (!this.lazySource) throw notFound(digest);
    }
    await this.materialize(digest);
    return fs.open(file, 'r').catch((e: unknown) => {
      throw isEnoent(e) ? notFound(digest) : e;
    });
  }

  /** Turn a lazy blob into a stored one (once, however many read it at the same time). */
  private materialize(digest: string): Promise<void> {
    let p = this.materializing.get(digest);
    if (!p) {
      p = (async () => {
        const lazy = await this.lazy(digest);
        if (!lazy || !(await this.lazySource!.exists(lazy))) throw notFound(digest);
        await putStream(this, await this.lazySource!.open(lazy), { digest, size: lazy.size });
        await fs.rm(this.lazyPath(digest), { force: true });
      })().finally(() => this.materializing.delete(digest));
      this.materializing.set(digest, p);
    }
    return p;
  }
}

/**
 * A blob's bytes from `start`. A read of the whole blob is hashed on the way and fails at the end when
 * the bytes do not match the digest (a blob damaged on disk is never served silently as complete).
 */
class BlobReader extends Readable {
  private fh?: fs.FileHandle;
  private size = 0;
  private readonly hash?: Hash;

  constructor(
    private readonly opener: () => Promise<fs.FileHandle>,
    private readonly digest: string,
    private pos: number,
  ) {
    super({ highWaterMark: CHUNK });
    if (pos === 0) this.hash = createHash('sha256');
  }

  override _construct(cb: (err?: Error | null) => void): void {
    this.opener()
      .then(async (fh) => {
        this.fh = fh;
        this.size = (await fh.stat()).size;
      })
      .then(() => cb(), cb);
  }

  override _read(): void {
    const want = Math.max(1, Math.min(CHUNK, this.size - this.pos));
    const buf = Buffer.allocUnsafe(want);
    this.fh!.read(buf, 0, want, this.pos).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) return this.atEnd();
        this.pos += bytesRead;
        const chunk = bytesRead === want ? buf : buf.subarray(0, bytesRead);
        this.hash?.update(chunk);
        this.push(chunk);
      },
      (e: Error) => this.destroy(e),
    );
  }

  private atEnd(): void {
    const got = this.hash && 'sha256:' + this.hash.digest('hex');
    if (got && got !== this.digest) this.destroy(new SystemError(`blob ${this.digest} is damaged: its ${this.pos} bytes hash to ${got}`));
    else this.push(null);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const fh = this.fh;
    this.fh = undefined;
    if (!fh) return cb(err);
    fh.close().then(() => cb(err), () => cb(err));
  }
}

/** A write into ingest/: hashed as it goes, named only by a commit that matches what was expected. */
class FileWriter implements ContentWriter {
  readonly stream: Writable;
  private readonly hash = createHash('sha256');
  private size = 0;
  private closed = false;

  constructor(
    private readonly fh: fs.FileHandle,
    private readonly tmp: string,
    private readonly target: (digest: string) => string,
  ) {
    const append = async (chunks: Buffer[]): Promise<void> => {
      for (const c of chunks) {
        this.hash.update(c);
        this.size += c.length;
        for (let off = 0; off < c.length; ) off += (await fh.write(c, off, c.length - off)).bytesWritten;
      }
    };
    this.stream = new Writable({
      highWaterMark: CHUNK,
      write: (chunk: Buffer, _enc, cb) => void append([chunk]).then(() => cb(), cb),
      writev: (chunks, cb) => void append(chunks.map((c) => c.chunk as Buffer)).then(() => cb(), cb),
    });
  }

  async commit(expected: Expected = {}): Promise<ContentInfo> {
    if (this.closed) throw new SystemError('content writer already committed or aborted');
    try {
      if (!this.stream.writableEnded) this.stream.end();
      await finished(this.stream);
      const digest = 'sha256:' + this.hash.digest('hex');
      const size = this.size;
      if (expected.digest && expected.digest !== digest) {
        throw new InvalidParameter(`blob digest mismatch: expected ${expected.digest}, got ${digest} (${size} bytes); the blob was not stored`);
      }
      if (expected.size !== undefined && expected.size !== size) {
        throw new InvalidParameter(`blob size mismatch for ${digest}: expected ${expected.size} bytes, got ${size}; the blob was not stored`);
      }
      // The blob must be durable before it gets its name: a record naming it may follow at once.
      const synced = traceStart('blob: datasync');
      await this.fh.datasync();
      synced();
      await this.close();
      await fs.rename(this.tmp, this.target(digest));
      return { digest, size, createdAt: Date.now() };
    } finally {
      await this.abort();
    }
  }

  async abort(): Promise<void> {
    if (!this.stream.destroyed && !this.stream.writableFinished) this.stream.destroy();
    await this.close();
    await fs.rm(this.tmp, { force: true });
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }
}
