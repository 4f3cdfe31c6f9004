// Image records (ROOT/images/<id>.json) and the tag index (ROOT/repositories.json).
// Written blob → record → tag, each atomically, so a crash leaves either the old state or the new.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readJsonIfExists, removeTempFiles, writeJsonAtomic } from '../../lib/fsutil.js';

export interface LayerRef {
  diffId: string;
  /** The blob in the content store (may be compressed). */
  digest: string;
  mediaType: string;
  size: number;
}

/** One image as stored in ROOT/images/<hex>.json. Its tags live in repositories.json. */
export interface StoredImage {
  /** "sha256:<config digest hex>": the image ID is the config blob's digest, as in Docker. */
  id: string;
  configDigest: string;
  /** Bottom → top. */
  layers: LayerRef[];
  /** The manifest blob it came with, when it came with one (OCI layouts, Docker 25 archives). */
  manifestDigest?: string;
  /** Normalised "docker.io/library/busybox@sha256:..." references. */
  repoDigests: string[];
  lastTagTime?: string;
  /** The image it was committed from (`commit`), as Docker's Parent. */
  parent?: string;
}

/** A stored image with its tags, as the images service hands it out. */
export interface ImageRecord extends StoredImage {
  /** Familiar "busybox:latest" form, as in RepoTags. */
  repoTags: string[];
}

export class ImageStore {
  private readonly records = new Map<string, StoredImage>();
  /** normalised reference → image ID */
  private tags: Record<string, string> = {};
  private readonly dir: string;
  private readonly tagsFile: string;

  constructor(root: string) {
    this.dir = path.join(root, 'images');
    this.tagsFile = path.join(root, 'repositories.json');
  }

  async load(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await removeTempFiles(this.dir);
    await removeTempFiles(path.dirname(this.tagsFile));
    for (const name of await fs.readdir(this.dir)) {
      if (!name.endsWith('.json')) continue;
      const rec = await readJsonIfExists<StoredImage>(path.join(this.dir, name));
      // Records written before configDigest was kept: the image ID is the config digest.
      if (rec) this.records.set(rec.id, { ...rec, configDigest: rec.configDigest ?? rec.id });
    }
    const tags = (await readJsonIfExists<Record<string, string>>(this.tagsFile)) ?? {};
    // A tag whose image record never made it to disk is dropped.
    this.tags = Object.fromEntries(Object.entries(tags).filter(([, id]) => this.records.has(id)));
  }

  get(id: string): StoredImage | undefined {
    return this.records.get(id);
  }

  all(): StoredImage[] {
    return [...this.records.values()];
  }

  async save(rec: StoredImage): Promise<void> {
    await writeJsonAtomic(path.join(this.dir, rec.id.replace('sha256:', '') + '.json'), rec);
    this.records.set(rec.id, rec);
  }

  async delete(id: string): Promise<void> {
    await fs.rm(path.join(this.dir, id.replace('sha256:', '') + '.json'), { force: true });
    this.records.delete(id);
  }

  idForTag(ref: string): string | undefined {
    return this.tags[ref];
  }

  /** Every tag, normalised ("docker.io/library/busybox:latest"). */
  allTags(): string[] {
    return Object.keys(this.tags);
  }

  tagsOf(id: string): string[] {
    return Object.keys(this.tags).filter((t) => this.tags[t] === id);
  }

  /** Tag changes one after another: each builds on the last one written (concurrent `tag`s lost updates). */
  private tagChanges: Promise<void> = Promise.resolve();

  setTags(changes: Record<string, string | undefined>): Promise<void> {
    const change = this.tagChanges.then(async () => {
      const next = { ...this.tags };
      for (const [ref, id] of Object.entries(changes)) {
        if (id) next[ref] = id;
        else delete next[ref];
      }
      await writeJsonAtomic(this.tagsFile, next);
      this.tags = next;
    });
    this.tagChanges = change.catch(() => undefined);
    return change;
  }
}
