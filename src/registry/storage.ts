// The registry's storage: blobs in berth's content store (sha256, verified before they get their name),
// and per repository the links that say what the repository holds:
//
//   ROOT/content/sha256/<hex>                          blob data (layers, configs, manifests), shared by all repositories
//   ROOT/uploads/<uuid>/                               uploads in progress (uploads.ts)
//   ROOT/repositories/<name>/_layers/<hex>             a blob linked to the repository (empty file)
//   ROOT/repositories/<name>/_manifests/revisions/<hex> a manifest of the repository: JSON {mediaType, size, subject, …}
//   ROOT/repositories/<name>/_manifests/tags/<tag>     the digest the tag points at
//
// Every file is written atomically (temporary file, fsync, rename); a manifest's blobs and revision are
// written before its tag, so a crash never leaves a tag naming a missing manifest. The server is the only
// writer of a root while it runs: each repository's links are read into memory once and kept in step
// with every write, so reads need no file-system calls besides opening the blob.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readBytes } from '../content/content-store.js';
import { FileContentStore } from '../content/store.js';
import { sha256 } from '../image-spec/digest.js';
import { fsyncDir, writeFileAtomic } from '../lib/fsutil.js';
import { regError } from './errors.js';
import type { Descriptor, ParsedManifest } from './manifests.js';

export interface Revision {
  mediaType: string;
  size: number;
  /** Digest of the manifest's subject (the referrers API). */
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface RepoState {
  exists: boolean;
  /** hex digests of linked blobs → size */
  layers: Map<string, number>;
  revisions: Map<string, Revision>;
  tags: Map<string, string>;
  usage: number;
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  body: Buffer;
}

const hexOf = (digest: string): string => digest.slice('sha256:'.length);

/** A small lock: one write at a time per key, in order. */
class Locks {
  private readonly tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** Manifest bodies kept in memory (they are small and immutable), bounded by total bytes. */
class ManifestCache {
  private readonly map = new Map<string, Buffer>();
  private bytes = 0;
  constructor(private readonly limit: number) {}
  get(digest: string): Buffer | undefined {
    const b = this.map.get(digest);
    if (b) {
      this.map.delete(digest);
      this.map.set(digest, b);
    }
    return b;
  }
  set(digest: string, body: Buffer): void {
    if (this.map.has(digest) || body.length > this.limit) return;
    this.map.set(digest, body);
    this.bytes += body.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.limit) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }
  delete(digest: string): void {
    const b = this.map.get(digest);
    if (b) {
      this.map.delete(digest);
      this.bytes -= b.length;
    }
  }
}

export interface StorageOptions {
  /** Largest total size of the blobs linked to one repository, in bytes (0: no quota). */
  quotaPerRepo?: number;
}

export class RegistryStorage {
  readonly content: FileContentStore;
  readonly reposDir: string;
  private readonly repos = new Map<string, Promise<RepoState>>();
  private readonly locks = new Locks();
  private readonly manifests = new ManifestCache(64 * 1024 * 1024);
  private catalog?: Promise<Set<string>>;

  constructor(
    readonly root: string,
    private readonly opts: StorageOptions = {},
  ) {
    this.content = new FileContentStore(root);
    this.reposDir = path.join(root, 'repositories');
  }

  /** Make the layout; a writable server also clears what a crash left in the ingest folder. A read-only
   *  one changes nothing (another server may be writing to the same root). */
  async init(readOnly = false): Promise<void> {
    if (readOnly) {
      if (!(await this.content.hasLayout())) throw new Error(`${this.root} holds no registry content`);
      return;
    }
    await this.content.init();
    await fs.mkdir(this.reposDir, { recursive: true });
  }

  repoDir(name: string): string {
    return path.join(this.reposDir, ...name.split('/'));
  }

  private state(name: string): Promise<RepoState> {
    let p = this.repos.get(name);
    if (!p) {
      p = this.load(name);
      this.repos.set(name, p);
      p.catch(() => this.repos.delete(name));
    }
    return p;
  }

  private async load(name: string): Promise<RepoState> {
    const dir = this.repoDir(name);
    const st: RepoState = { exists: false, layers: new Map(), revisions: new Map(), tags: new Map(), usage: 0 };
    const isDir = await fs.stat(dir).then((s) => s.isDirectory(), () => false);
    if (!isDir) return st;
    const [layers, revisions, tags] = await Promise.all([readdir(path.join(dir, '_layers')), readdir(path.join(dir, '_manifests', 'revisions')), readdir(path.join(dir, '_manifests', 'tags'))]);
    st.exists = layers.length + revisions.length + tags.length > 0;
    await Promise.all(
      layers
        .filter((h) => /^[a-f0-9]{64}$/.test(h))
        .map(async (hex) => {
          const size = await this.content.info('sha256:' + hex).then((i) => i.size, () => -1);
          if (size < 0) return; // a link whose blob GC removed
          st.layers.set(hex, size);
          st.usage += size;
        }),
    );
    await Promise.all(
      revisions
        .filter((h) => /^[a-f0-9]{64}$/.test(h))
        .map(async (hex) => {
          const rev = await fs.readFile(path.join(dir, '_manifests', 'revisions', hex), 'utf8').then((t) => JSON.parse(t) as Revision, () => undefined);
          if (rev) st.revisions.set(hex, rev);
        }),
    );
    await Promise.all(
      tags
        .filter((t) => !t.startsWith('.'))
        .map(async (tag) => {
          const d = (await fs.readFile(path.join(dir, '_manifests', 'tags', tag), 'utf8').catch(() => '')).trim();
          if (/^sha256:[a-f0-9]{64}$/.test(d)) st.tags.set(tag, d);
        }),
    );
    return st;
  }

  /** Mark the repository as existing (its directories made) and in the catalog. */
  private async ensureRepo(name: string, st: RepoState): Promise<void> {
    if (st.exists) return;
    const dir = this.repoDir(name);
    await fs.mkdir(path.join(dir, '_layers'), { recursive: true });
    await fs.mkdir(path.join(dir, '_manifests', 'revisions'), { recursive: true });
    await fs.mkdir(path.join(dir, '_manifests', 'tags'), { recursive: true });
    st.exists = true;
    (await this.catalog)?.add(name);
  }

  /** What the repository holds (for GC): linked blob digests, manifests and tags. */
  async contents(name: string): Promise<{ layers: string[]; revisions: Map<string, Revision>; tags: Map<string, string> }> {
    const st = await this.state(name);
    return {
      layers: [...st.layers.keys()].map((h) => 'sha256:' + h),
      revisions: new Map([...st.revisions].map(([h, r]) => ['sha256:' + h, r])),
      tags: new Map(st.tags),
    };
  }

  async repoExists(name: string): Promise<boolean> {
    return (await this.state(name)).exists;
  }

  // ---- blobs ----

  /** Size of a blob linked to the repository, or undefined. */
  async linkedBlob(name: string, digest: string): Promise<number | undefined> {
    return (await this.state(name)).layers.get(hexOf(digest));
  }

  /** The repository's link to a blob no longer holds (GC removed the data): forget it. */
  async forgetBlob(name: string, digest: string): Promise<void> {
    const st = await this.state(name);
    const size = st.layers.get(hexOf(digest));
    if (size !== undefined) {
      st.layers.delete(hexOf(digest));
      st.usage -= size;
    }
    this.manifests.delete(digest);
  }

  async usage(name: string): Promise<number> {
    return (await this.state(name)).usage;
  }

  /** Throw DENIED when adding `size` bytes would take the repository over its quota. */
  async checkQuota(name: string, digest: string | undefined, size: number): Promise<void> {
    const quota = this.opts.quotaPerRepo ?? 0;
    if (!quota) return;
    const st = await this.state(name);
    if (digest && st.layers.has(hexOf(digest))) return;
    if (st.usage + size > quota) {
      throw regError('DENIED', `repository quota exceeded: ${name} uses ${st.usage} of ${quota} bytes, ${size} more refused`, { name, usage: st.usage, quota, size });
    }
  }

  /** Link a blob already in the content store to the repository. */
  async linkBlob(name: string, digest: string, size: number): Promise<void> {
    await this.locks.run(name, async () => {
      const st = await this.state(name);
      const hex = hexOf(digest);
      if (st.layers.has(hex)) return;
      await this.checkQuota(name, digest, size);
      await this.ensureRepo(name, st);
      const dir = path.join(this.repoDir(name), '_layers');
      await fs.writeFile(path.join(dir, hex), '');
      await fsyncDir(dir);
      st.layers.set(hex, size);
      st.usage += size;
    });
  }

  /** Move a verified upload's data into the store under its digest and link it. */
  async commitBlob(name: string, dataFile: string, digest: string, size: number): Promise<void> {
    await this.checkQuota(name, digest, size);
    await this.content.adoptVerifiedFile(dataFile, { digest, size });
    await this.linkBlob(name, digest, size);
  }

  /** Cross-repository mount: link `from`'s blob into `name`; false when `from` does not have it. */
  async mount(name: string, from: string, digest: string): Promise<boolean> {
    const size = await this.linkedBlob(from, digest);
    if (size === undefined) return false;
    if (!(await this.content.has(digest))) return false;
    await this.linkBlob(name, digest, size);
    return true;
  }

  async unlinkBlob(name: string, digest: string): Promise<void> {
    await this.locks.run(name, async () => {
      const st = await this.state(name);
      const hex = hexOf(digest);
      const size = st.layers.get(hex);
      if (size === undefined) throw regError('BLOB_UNKNOWN', undefined, { digest });
      await fs.rm(path.join(this.repoDir(name), '_layers', hex), { force: true });
      st.layers.delete(hex);
      st.usage -= size;
    });
  }

  // ---- manifests ----

  async resolveTag(name: string, tag: string): Promise<string | undefined> {
    return (await this.state(name)).tags.get(tag);
  }

  async revision(name: string, digest: string): Promise<Revision | undefined> {
    return (await this.state(name)).revisions.get(hexOf(digest));
  }

  /** A manifest of the repository by digest, or undefined. */
  async getManifest(name: string, digest: string): Promise<StoredManifest | undefined> {
    const rev = await this.revision(name, digest);
    if (!rev) return undefined;
    let body = this.manifests.get(digest);
    if (!body) {
      try {
        body = await readBytes(this.content, digest);
      } catch {
        return undefined;
      }
      this.manifests.set(digest, body);
    }
    return { digest, mediaType: rev.mediaType, body };
  }

  /** Store a validated manifest: every blob (and child manifest) it names must be in the repository. */
  async putManifest(name: string, body: Buffer, m: ParsedManifest, tag?: string): Promise<string> {
    const digest = sha256(body);
    return this.locks.run(name, async () => {
      const st = await this.state(name);
      for (const b of m.blobs) {
        if (!/^sha256:[a-f0-9]{64}$/.test(b.digest) || !st.layers.has(hexOf(b.digest))) {
          throw regError('MANIFEST_BLOB_UNKNOWN', `blob unknown to registry: ${b.digest}`, { digest: b.digest });
        }
      }
      for (const c of m.children) {
        if (!/^sha256:[a-f0-9]{64}$/.test(c.digest) || !st.revisions.has(hexOf(c.digest))) {
          throw regError('MANIFEST_BLOB_UNKNOWN', `manifest unknown to registry: ${c.digest}`, { digest: c.digest });
        }
      }
      const hex = hexOf(digest);
      if (!st.layers.has(hex)) await this.checkQuota(name, digest, body.length);
      await this.ensureRepo(name, st);
      const dir = this.repoDir(name);
      if (!(await this.content.has(digest))) await this.content.putBytes(body, digest);
      if (!st.layers.has(hex)) {
        await fs.writeFile(path.join(dir, '_layers', hex), '');
        st.layers.set(hex, body.length);
        st.usage += body.length;
      }
      const rev: Revision = { mediaType: m.mediaType, size: body.length };
      if (m.subject) rev.subject = m.subject.digest;
      if (m.artifactType) rev.artifactType = m.artifactType;
      if (m.annotations) rev.annotations = m.annotations;
      if (!st.revisions.has(hex)) {
        await writeFileAtomic(path.join(dir, '_manifests', 'revisions', hex), JSON.stringify(rev));
        st.revisions.set(hex, rev);
      }
      this.manifests.set(digest, body);
      if (tag !== undefined && st.tags.get(tag) !== digest) {
        await writeFileAtomic(path.join(dir, '_manifests', 'tags', tag), digest);
        st.tags.set(tag, digest);
      }
      return digest;
    });
  }

  /** Delete a manifest by digest: its revision and every tag pointing at it (blobs stay for GC). */
  async deleteManifest(name: string, digest: string): Promise<void> {
    await this.locks.run(name, async () => {
      const st = await this.state(name);
      const hex = hexOf(digest);
      if (!st.revisions.has(hex)) throw regError('MANIFEST_UNKNOWN', undefined, { digest });
      const dir = this.repoDir(name);
      for (const [tag, d] of [...st.tags]) {
        if (d !== digest) continue;
        await fs.rm(path.join(dir, '_manifests', 'tags', tag), { force: true });
        st.tags.delete(tag);
      }
      await fs.rm(path.join(dir, '_manifests', 'revisions', hex), { force: true });
      await fsyncDir(path.join(dir, '_manifests', 'revisions'));
      st.revisions.delete(hex);
    });
  }

  async deleteTag(name: string, tag: string): Promise<void> {
    await this.locks.run(name, async () => {
      const st = await this.state(name);
      if (!st.tags.has(tag)) throw regError('MANIFEST_UNKNOWN', undefined, { tag });
      await fs.rm(path.join(this.repoDir(name), '_manifests', 'tags', tag), { force: true });
      await fsyncDir(path.join(this.repoDir(name), '_manifests', 'tags'));
      st.tags.delete(tag);
    });
  }

  /** The repository's tags, sorted; undefined when the repository is unknown. */
  async tags(name: string): Promise<string[] | undefined> {
    const st = await this.state(name);
    if (!st.exists) return undefined;
    return [...st.tags.keys()].sort();
  }

  /** Manifests of the repository whose subject is `digest`, as descriptors. */
  async referrers(name: string, digest: string): Promise<Descriptor[]> {
    const st = await this.state(name);
    const out: Descriptor[] = [];
    for (const [hex, rev] of st.revisions) {
      if (rev.subject !== digest) continue;
      const d: Descriptor = { mediaType: rev.mediaType, digest: 'sha256:' + hex, size: rev.size };
      if (rev.artifactType) d.artifactType = rev.artifactType;
      if (rev.annotations) d.annotations = rev.annotations;
      out.push(d);
    }
    return out.sort((a, b) => (a.digest < b.digest ? -1 : 1));
  }

  /** Every repository name, sorted. */
  async repositories(): Promise<string[]> {
    this.catalog ??= this.walkRepos();
    return [...(await this.catalog)].sort();
  }

  private async walkRepos(): Promise<Set<string>> {
    const out = new Set<string>();
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      if (entries.some((e) => e.name === '_layers' || e.name === '_manifests') && prefix) out.add(prefix);
      await Promise.all(entries.filter((e) => e.isDirectory() && !e.name.startsWith('_')).map((e) => walk(path.join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name)));
    };
    await walk(this.reposDir, '');
    return out;
  }
}

async function readdir(dir: string): Promise<string[]> {
  return fs.readdir(dir).catch(() => []);
}
